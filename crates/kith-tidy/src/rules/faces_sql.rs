//! Rule 2, no SQL in the faces: no string literal of kith-http or kith-web, and no line of
//! a kith-web template, holds SQL (`SELECT … FROM`, `INSERT INTO`, `UPDATE <table> SET`,
//! `DELETE FROM`, `CREATE TABLE`, keywords in upper case). Comments do not count.

use crate::lex::{lex, line_at};
use crate::{Problem, SourceFile};

/// Checks Rust files (their string literals) and templates (their lines outside `{# #}`
/// and `<!-- -->` comments).
pub fn check(files: &[SourceFile]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for file in files {
        if file.path.ends_with(".rs") {
            for literal in lex(&file.text).literals {
                if let Some((at, what)) = find_sql(&literal.text) {
                    let line = literal.line + line_at(literal.text.as_bytes(), at) - 1;
                    problems.push(problem(&file.path, line, what));
                }
            }
        } else {
            let text = without_template_comments(&file.text);
            for (index, line) in text.lines().enumerate() {
                if let Some((_, what)) = find_sql(line) {
                    problems.push(problem(&file.path, index + 1, what));
                }
            }
        }
    }
    problems
}

fn problem(path: &str, line: usize, what: &str) -> Problem {
    Problem::at(
        path,
        line,
        format!(
            "SQL in a face (`{what}`): the faces parse requests and render answers; put the \
             query in a kith-app use case (or kith-store) and call that"
        ),
    )
}

/// The first SQL statement in `text`: the offset of its first keyword and what it is.
pub fn find_sql(text: &str) -> Option<(usize, &'static str)> {
    let words: Vec<(usize, &str)> = words(text).collect();
    let word = |i: usize| words.get(i).map_or("", |&(_, w)| w);
    for (i, &(at, w)) in words.iter().enumerate() {
        let found = match w {
            "SELECT" if words[i + 1..].iter().any(|&(_, w)| w == "FROM") => "SELECT … FROM",
            "INSERT" if word(i + 1) == "INTO" => "INSERT INTO",
            "UPDATE" if word(i + 2) == "SET" && !word(i + 1).is_empty() => "UPDATE … SET",
            "DELETE" if word(i + 1) == "FROM" => "DELETE FROM",
            "CREATE" if word(i + 1) == "TABLE" => "CREATE TABLE",
            _ => continue,
        };
        return Some((at, found));
    }
    None
}

/// The words (runs of letters, digits and `_`) of `text`, with their offsets.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(move |w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
}

/// The template with askama `{# … #}` and HTML `<!-- … -->` comments blanked (newlines kept).
fn without_template_comments(text: &str) -> String {
    let mut out = text.as_bytes().to_vec();
    for (open, close) in [("{#", "#}"), ("<!--", "-->")] {
        let mut from = 0;
        while let Some(start) = text[from..].find(open).map(|s| s + from) {
            let end = text[start..]
                .find(close)
                .map_or(text.len(), |e| start + e + close.len());
            crate::lex::blank(&mut out, start..end);
            from = end;
        }
    }
    String::from_utf8(out).expect("blanking keeps UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_statements_are_recognised_and_prose_is_not() {
        let found = |t: &str| find_sql(t).map(|(_, what)| what);
        assert_eq!(
            found("SELECT id, name\n FROM members"),
            Some("SELECT … FROM")
        );
        assert_eq!(found("insert into t"), None);
        assert_eq!(found("UPDATE stock SET on_hand = 1"), Some("UPDATE … SET"));
        assert_eq!(found("DELETE FROM carts"), Some("DELETE FROM"));
        assert_eq!(found("Select a store from the list"), None);
        assert_eq!(found("UPDATE SET"), None);
    }

    #[test]
    fn sql_in_a_face_fails_with_its_line_but_comments_do_not() {
        let files = [
            SourceFile::new(
                "crates/kith-web/src/member.rs",
                "// SELECT * FROM posts: a comment\nfn f() {\n    let q = \"\n        SELECT id\n        FROM posts\";\n}\n",
            ),
            SourceFile::new(
                "crates/kith-web/templates/cart.html",
                "<p>{{ t.cart }}</p>\n{# DELETE FROM carts #}\n<p>INSERT INTO carts</p>\n",
            ),
            SourceFile::new(
                "crates/kith-http/src/lib.rs",
                "/// INSERT INTO x\nconst A: &str = r#\"CREATE TABLE t\"#;",
            ),
        ];
        let messages: Vec<String> = check(&files)
            .iter()
            .map(|p| format!("{}:{:?}", p.path, p.line))
            .collect();
        assert_eq!(
            messages,
            [
                "crates/kith-web/src/member.rs:Some(4)",
                "crates/kith-web/templates/cart.html:Some(3)",
                "crates/kith-http/src/lib.rs:Some(2)",
            ]
        );
    }
}
