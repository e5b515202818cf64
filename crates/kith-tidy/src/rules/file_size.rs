//! Rule 5, size: no Rust file of kith-app is longer than [`LIMIT`] lines. Past that a file
//! holds several concerns, and reading or reviewing it means scrolling past the others.

use crate::{Problem, SourceFile, thousands};

/// The most lines one kith-app file may have.
pub const LIMIT: usize = 1500;

/// Checks the `.rs` files among `files` against `limit`.
pub fn check(files: &[SourceFile], limit: usize) -> Vec<Problem> {
    files
        .iter()
        .filter(|f| f.path.ends_with(".rs"))
        .filter_map(|f| {
            let lines = f.text.lines().count();
            (lines > limit).then(|| {
                Problem::file(
                    &f.path,
                    format!(
                        "{} lines, over the limit of {}: split it into modules by use case or \
                         concern (a folder with a mod.rs), and name them in ARCHITECTURE.md",
                        thousands(lines),
                        thousands(limit)
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_limit_fails() {
        let files = [
            SourceFile::new(
                "crates/kith-app/src/social/posts.rs",
                &"fn f() {}\n".repeat(4),
            ),
            SourceFile::new(
                "crates/kith-app/src/social/media.rs",
                &"fn f() {}\n".repeat(3),
            ),
            SourceFile::new("crates/kith-app/src/social/notes.md", &"text\n".repeat(9)),
        ];
        let messages: Vec<String> = check(&files, 3).iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "crates/kith-app/src/social/posts.rs: 4 lines, over the limit of 3: split it into modules \
              by use case or concern (a folder with a mod.rs), and name them in ARCHITECTURE.md"
            ]
        );
    }
}
