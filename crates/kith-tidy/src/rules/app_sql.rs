//! Rule 9, SQL in a context's store: inside kith-app, a string literal holding SQL (as rule 2
//! recognises it) appears only in a context's `store.rs` or in a file under a `store/` folder.
//! The use cases then read as the rules they enforce (who may, in what order, which event
//! follows) and call named reads and writes; a reader looking for every statement that
//! touches a table finds them in a handful of files. Test code (`#[cfg(test)]` items,
//! `tests.rs`, `test_support.rs`) may hold SQL to set up or inspect rows.

use crate::lex::{lex, line_at};
use crate::rules::faces_sql::find_sql;
use crate::syntax::cfg_test_items;
use crate::{Problem, SourceFile};

/// True when `path` may hold SQL: a store module or test support.
pub fn is_store(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "store.rs"
        || path.contains("/store/")
        || name == "tests.rs"
        || name == "test_support.rs"
}

/// Checks kith-app's `.rs` files.
pub fn check(files: &[SourceFile]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for file in files {
        if !file.path.ends_with(".rs") || is_store(&file.path) {
            continue;
        }
        let lexed = lex(&file.text);
        let test_lines: Vec<(usize, usize)> = cfg_test_items(&lexed.code)
            .into_iter()
            .map(|r| {
                (
                    line_at(lexed.code.as_bytes(), r.start),
                    line_at(lexed.code.as_bytes(), r.end.saturating_sub(1)),
                )
            })
            .collect();
        for literal in lexed.literals {
            if test_lines
                .iter()
                .any(|&(from, to)| from <= literal.line && literal.line <= to)
            {
                continue;
            }
            if let Some((at, what)) = find_sql(&literal.text) {
                let line = literal.line + line_at(literal.text.as_bytes(), at) - 1;
                problems.push(Problem::at(
                    &file.path,
                    line,
                    format!(
                        "SQL outside a store (`{what}`): give the statement a name in the \
                         context's store.rs (or store/ folder) and call it from here"
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
    fn sql_belongs_in_a_store_and_tests_may_hold_it() {
        let files = [
            SourceFile::new(
                "crates/kith-app/src/money/store.rs",
                "const A: &str = \"SELECT id FROM plans\";\n",
            ),
            SourceFile::new(
                "crates/kith-app/src/commerce/store/catalog.rs",
                "const A: &str = \"DELETE FROM skus\";\n",
            ),
            SourceFile::new(
                "crates/kith-app/src/money/ledger.rs",
                "fn f() {}\n// SELECT a FROM b in a comment\nconst A: &str = \"UPDATE ledger SET x = 1\";\n#[cfg(test)]\nmod tests {\n    const B: &str = \"SELECT id FROM postings\";\n}\n",
            ),
            SourceFile::new(
                "crates/kith-app/src/events/webhooks/tests.rs",
                "const A: &str = \"INSERT INTO webhooks\";\n",
            ),
        ];
        let found: Vec<String> = check(&files)
            .iter()
            .map(|p| format!("{}:{:?}", p.path, p.line))
            .collect();
        assert_eq!(found, ["crates/kith-app/src/money/ledger.rs:Some(3)"]);
    }
}
