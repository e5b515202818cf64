//! Rule 7, every test file runs: each `.rs` file in a folder of `crates/kith/tests` is
//! declared as a module by a test binary (`tests/<dir>/main.rs` and what it declares, or a
//! `#[path]` from another binary). Cargo builds only the roots; a file nobody declares is
//! never compiled, so its tests silently never run.

use std::collections::BTreeSet;

use crate::lex::lex;
use crate::syntax::{mod_decls, module_files, owns_dir};
use crate::{Problem, SourceFile};

/// Checks the files under `tests_dir` (repo-relative, e.g. `crates/kith/tests`).
pub fn check(files: &[SourceFile], tests_dir: &str) -> Vec<Problem> {
    let prefix = format!("{tests_dir}/");
    let files: Vec<&SourceFile> = files
        .iter()
        .filter(|f| f.path.starts_with(&prefix) && f.path.ends_with(".rs"))
        .collect();
    let exists: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let is_root = |path: &str| {
        let rel = &path[prefix.len()..];
        !rel.contains('/') || rel.matches('/').count() == 1 && rel.ends_with("/main.rs")
    };

    // Everything reachable from the roots through `mod` declarations.
    let mut reached: BTreeSet<&str> = exists.iter().copied().filter(|p| is_root(p)).collect();
    let mut todo: Vec<&str> = reached.iter().copied().collect();
    while let Some(path) = todo.pop() {
        let text = &files.iter().find(|f| f.path == path).expect("listed").text;
        for decl in mod_decls(&lex(text).code, text)
            .into_iter()
            .filter(|d| !d.inline)
        {
            let owns = is_root(path) || owns_dir(path);
            let candidates = module_files(path, owns, &decl);
            if let Some(child) = candidates
                .iter()
                .find_map(|c| exists.get(c.as_str()).copied())
                && reached.insert(child)
            {
                todo.push(child);
            }
        }
    }

    exists
        .iter()
        .filter(|p| !reached.contains(*p))
        .map(|path| {
            let (dir, name) = path.rsplit_once('/').expect("under tests_dir");
            let (module, parent_dir) = match name {
                "mod.rs" => dir.rsplit_once('/').map(|(up, m)| (m, up)).expect("a folder"),
                _ => (name.trim_end_matches(".rs"), dir),
            };
            let parent = if parent_dir.matches('/').count() == prefix.matches('/').count() {
                format!("{parent_dir}/main.rs")
            } else {
                format!("{parent_dir}.rs (or {parent_dir}/mod.rs)")
            };
            Problem::file(
                path,
                format!("no test binary declares this file, so its tests never run: add `mod {module};` to {parent}"),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_undeclared_test_file_fails() {
        let files = [
            SourceFile::new("t/demo.rs", "#[path = \"api/harness.rs\"]\nmod harness;"),
            SourceFile::new(
                "t/api/main.rs",
                "mod harness;\nmod orders;\n// mod posts;\n",
            ),
            SourceFile::new("t/api/harness.rs", ""),
            SourceFile::new("t/api/orders.rs", "mod refunds;"),
            SourceFile::new("t/api/orders/refunds.rs", ""),
            SourceFile::new("t/api/posts.rs", ""),
            SourceFile::new("t/api/shop/mod.rs", ""),
            SourceFile::new("t/api/orders/tiers.rs", ""),
            SourceFile::new("t/stray/helpers.rs", ""),
        ];
        let messages: Vec<String> = check(&files, "t").iter().map(ToString::to_string).collect();
        let tail = "no test binary declares this file, so its tests never run: add";
        assert_eq!(
            messages,
            [
                format!(
                    "t/api/orders/tiers.rs: {tail} `mod tiers;` to t/api/orders.rs (or t/api/orders/mod.rs)"
                ),
                format!("t/api/posts.rs: {tail} `mod posts;` to t/api/main.rs"),
                format!("t/api/shop/mod.rs: {tail} `mod shop;` to t/api/main.rs"),
                format!("t/stray/helpers.rs: {tail} `mod helpers;` to t/stray/main.rs"),
            ]
        );
    }
}
