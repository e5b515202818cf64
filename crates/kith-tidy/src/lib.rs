//! # kith-tidy
//!
//! Tests that keep kith's shape: the codemap names what exists, the faces hold no SQL, the
//! domain stays pure, kith-app's contexts depend one way, files stay a readable size, the
//! repository stands alone, and every test file runs.
//!
//! Each rule is a function over files in memory (a repo-relative path and its text) that
//! returns [`Problem`]s; they live in [`rules`], one module each, with unit tests that feed
//! them a small example breaking the rule. `tests/tidy.rs` runs the same functions over the
//! real tree, one `#[test]` per rule. The scanning is plain text work: [`lex`] blanks
//! comments and string contents, [`syntax`] reads paths, `#[cfg(test)]` items and `mod`
//! declarations out of what is left.
//!
//! Std only, no dependencies: it builds in seconds.

use std::fmt;
use std::fs;
use std::path::Path;

pub mod lex;
pub mod rules;
pub mod syntax;

/// kith-app's sources, where the bounded contexts live.
pub const APP_SRC: &str = "crates/kith-app/src";

/// A file of the repository: its path relative to the repository root, `/`-separated.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

impl SourceFile {
    pub fn new(path: &str, text: &str) -> Self {
        Self {
            path: path.to_owned(),
            text: text.to_owned(),
        }
    }
}

/// One breach of a rule: where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    /// 1-based; `None` when the problem is the file (or folder) as a whole.
    pub line: Option<usize>,
    pub message: String,
}

impl Problem {
    pub fn at(path: &str, line: usize, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            line: Some(line),
            message: message.into(),
        }
    }

    pub fn file(path: &str, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            line: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// Folders never read: build output, git's own, and what `.gitignore` keeps out of the
/// repository (fuzzing corpora and artifacts, local data). A folder named `target` or
/// `.git` is skipped at any depth.
const SKIPPED: &[&str] = &[
    "fuzz/corpus",
    "fuzz/artifacts",
    "fuzz/target",
    "fuzz/coverage",
    "kith-data",
    ".schemathesis",
];

/// The text files under `dir` (repo-relative; `""` for the whole repository), sorted by
/// path. Files that are not UTF-8 or hold a NUL byte are binary and left out. Symlinks are
/// not followed. Panics when the tree cannot be read: these are tests.
pub fn read_tree(root: &Path, dir: &str) -> Vec<SourceFile> {
    let mut files = Vec::new();
    walk(root, dir, &mut files);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn walk(root: &Path, dir: &str, files: &mut Vec<SourceFile>) {
    let full = root.join(dir);
    let entries =
        fs::read_dir(&full).unwrap_or_else(|e| panic!("tidy: cannot read {}: {e}", full.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("tidy: cannot read {}: {e}", full.display()));
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if dir.is_empty() {
            name.clone()
        } else {
            format!("{dir}/{name}")
        };
        let kind = entry
            .file_type()
            .unwrap_or_else(|e| panic!("tidy: {path}: {e}"));
        if kind.is_dir() {
            if name != "target" && name != ".git" && !SKIPPED.contains(&path.as_str()) {
                walk(root, &path, files);
            }
        } else if kind.is_file() && name != ".git" {
            let bytes = fs::read(entry.path()).unwrap_or_else(|e| panic!("tidy: {path}: {e}"));
            if let Ok(text) = String::from_utf8(bytes)
                && !text.contains('\0')
            {
                files.push(SourceFile { path, text });
            }
        }
    }
}

/// `1500` as `1,500`, for messages.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_read_as_path_line_message() {
        assert_eq!(
            Problem::at("a/b.rs", 3, "fix it").to_string(),
            "a/b.rs:3: fix it"
        );
        assert_eq!(Problem::file("a/", "add it").to_string(), "a/: add it");
        assert_eq!(
            [7, 1500, 1234567].map(thousands),
            ["7", "1,500", "1,234,567"]
        );
    }
}
