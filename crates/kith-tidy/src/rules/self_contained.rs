//! Rule 6, self-contained: no text file of the repository points at files outside it (the
//! product brief in a sibling `shared` folder). A clone holds only this repository, so such
//! a reference is a dead end for whoever reads it.

use crate::{Problem, SourceFile};

/// What a reference to the outside looks like. Spelled in pieces so that this file does not
/// refer to the outside itself.
pub fn outside_references() -> [String; 3] {
    let (shared, design) = ("shared", "DESIGN");
    [
        format!("../{shared}"),
        format!("{design}.md"),
        format!("{shared}/{design}"),
    ]
}

/// Checks every line of `files`.
pub fn check(files: &[SourceFile]) -> Vec<Problem> {
    let needles = outside_references();
    let mut problems = Vec::new();
    for file in files {
        for (index, line) in file.text.lines().enumerate() {
            if let Some(needle) = needles.iter().find(|n| line.contains(n.as_str())) {
                problems.push(Problem::at(
                    &file.path,
                    index + 1,
                    format!(
                        "refers to `{needle}`, outside the repository: point at a file inside \
                         it (ARCHITECTURE.md, README.md, a module's doc), or say it here"
                    ),
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_outside_the_repository_fails() {
        let [up, design, _] = outside_references();
        let files = [
            SourceFile::new(
                "README.md",
                &format!("# kith\n\nThe brief is `{up}/{design}`.\n"),
            ),
            SourceFile::new("crates/kith/src/lib.rs", "//! See ARCHITECTURE.md.\n"),
        ];
        let problems = check(&files);
        assert_eq!(problems.len(), 1);
        assert_eq!(
            (problems[0].path.as_str(), problems[0].line),
            ("README.md", Some(3))
        );
        assert!(
            problems[0]
                .message
                .starts_with(&format!("refers to `{up}`")),
            "{}",
            problems[0]
        );
    }
}
