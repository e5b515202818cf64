//! Reading a little Rust structure out of [lexed](crate::lex) code: paths such as
//! `crate::{money::ledger, social}`, `#[cfg(test)]` items, and `mod` declarations with the
//! file each one loads.
//!
//! Everything here works on *code* — comments and literal contents already blanked — so a
//! brace or a path inside a string or a comment is never seen. It is a scanner, not a
//! parser: it knows items by their keywords and braces, which is what these rules need.
//! Known limit: modules declared inside an inline `mod x { … }` are resolved as if written
//! in the file itself (kith declares none outside `#[cfg(test)]`).

use std::ops::Range;

use crate::lex::{is_word_start, word_end};

/// One segment of a path and the byte offset where it is written.
pub type Segment = (String, usize);

/// Every path written from `root` (`crate`, `super`, `std`, …) in `code`, expanded: a group
/// `crate::{a, b::{c, d}}` gives `crate::a`, `crate::b::c`, `crate::b::d`. A path is found
/// where `root` is a whole word not itself after `::`; `$crate` counts.
pub fn paths_from(code: &str, root: &str) -> Vec<Vec<Segment>> {
    let src = code.as_bytes();
    let mut out = Vec::new();
    for at in word_offsets(code, root) {
        let before = code[..at].trim_end();
        if before.ends_with("::") {
            continue; // a later segment of some other path (`super::super`)
        }
        out.extend(path_tree(src, at).0);
    }
    out
}

/// Offsets of `word` where it stands as a whole identifier.
pub fn word_offsets<'a>(code: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    let src = code.as_bytes();
    code.match_indices(word)
        .map(|(at, _)| at)
        .filter(move |&at| {
            let end = at + word.len();
            (at == 0 || !is_word_start(src[at - 1]))
                && (end == src.len() || !is_word_start(src[end]))
        })
}

/// Expands the path tree starting at `at` (a segment, or a `{` group) into its leaf paths;
/// returns them and where the tree ends.
fn path_tree(src: &[u8], mut at: usize) -> (Vec<Vec<Segment>>, usize) {
    let mut prefix: Vec<Segment> = Vec::new();
    loop {
        at = skip_space(src, at);
        match src.get(at) {
            Some(b'{') => {
                let (leaves, end) = group(src, at + 1);
                let paths = leaves
                    .into_iter()
                    .map(|leaf| prefix.iter().cloned().chain(leaf).collect())
                    .collect();
                return (paths, end);
            }
            Some(&b) if is_word_start(b) => {
                let end = word_end(src, at);
                prefix.push((String::from_utf8_lossy(&src[at..end]).into_owned(), at));
                let next = skip_space(src, end);
                if src[next..].starts_with(b"::") {
                    at = next + 2;
                } else {
                    return (vec![prefix], end);
                }
            }
            _ => return (vec![prefix], at), // `*`, `<T>` or the end of the path
        }
    }
}

/// The inside of a `{ … }` group opened just before `at`: comma-separated trees, each may
/// end in `as alias`. Returns the leaves and the offset after the closing `}`.
fn group(src: &[u8], mut at: usize) -> (Vec<Vec<Segment>>, usize) {
    let mut leaves = Vec::new();
    loop {
        at = skip_space(src, at);
        match src.get(at) {
            None => return (leaves, at),
            Some(b'}') => return (leaves, at + 1),
            Some(b',') => at += 1,
            Some(_) => {
                let (paths, end) = path_tree(src, at);
                leaves.extend(paths.into_iter().filter(|p| !p.is_empty()));
                // Skip what the tree did not take (`as alias`, `*`) up to `,` or `}`.
                at = end;
                while let Some(&b) = src.get(at) {
                    if b == b',' || b == b'}' {
                        break;
                    }
                    at += 1;
                }
            }
        }
    }
}

fn skip_space(src: &[u8], mut at: usize) -> usize {
    while src.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// The byte ranges of items under `#[cfg(test)]` (the attribute through the item's `;` or
/// closing `}`), and the whole file if it starts with `#![cfg(test)]`.
pub fn cfg_test_items(code: &str) -> Vec<Range<usize>> {
    let src = code.as_bytes();
    let mut out = Vec::new();
    for (at, _) in code.match_indices('#') {
        let Some(attr) = attribute_at(src, at) else {
            continue;
        };
        if squeezed(&code[attr.clone()]) == "#![cfg(test)]" {
            return std::iter::once(0..code.len()).collect(); // the whole file
        }
        if squeezed(&code[attr.clone()]) != "#[cfg(test)]" {
            continue;
        }
        let mut end = attr.end;
        // Further attributes of the same item.
        while let Some(next) = attribute_at(src, skip_space(src, end)) {
            end = next.end;
        }
        out.push(at..item_end(src, end));
    }
    out
}

/// `#[…]` or `#![…]` starting at `at`: its range, brackets included.
fn attribute_at(src: &[u8], at: usize) -> Option<Range<usize>> {
    let open = match src.get(at..)? {
        [b'#', b'[', ..] => at + 1,
        [b'#', b'!', b'[', ..] => at + 2,
        _ => return None,
    };
    Some(at..matching_close(src, open)? + 1)
}

/// The offset of the bracket closing the one at `open` (`(`, `[` or `{`).
fn matching_close(src: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &b) in src.iter().enumerate().skip(open) {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The end of the item starting at `at`: after its first `;` outside brackets, or after the
/// `}` closing its first `{`.
fn item_end(src: &[u8], at: usize) -> usize {
    let mut depth = 0usize;
    for (i, &b) in src.iter().enumerate().skip(at) {
        match b {
            b'{' if depth == 0 => return matching_close(src, i).map_or(src.len(), |c| c + 1),
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            b';' if depth == 0 => return i + 1,
            _ => {}
        }
    }
    src.len()
}

/// `text` without whitespace, to compare attributes however they are spaced.
fn squeezed(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A `mod name;` or `mod name { … }` declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModDecl {
    pub name: String,
    /// Byte offset of the `mod` keyword.
    pub offset: usize,
    /// `mod name { … }`: its items are in this file.
    pub inline: bool,
    /// Under `#[cfg(test)]`: test code.
    pub cfg_test: bool,
    /// The file named by `#[path = "…"]`, as written.
    pub path_attr: Option<String>,
}

/// The `mod` declarations of a file: `code` is its lexed code, `text` the original (for the
/// string of a `#[path]` attribute).
pub fn mod_decls(code: &str, text: &str) -> Vec<ModDecl> {
    let src = code.as_bytes();
    let mut out = Vec::new();
    for at in word_offsets(code, "mod") {
        let name_at = skip_space(src, at + 3);
        if !src.get(name_at).is_some_and(|&b| is_word_start(b)) {
            continue; // `mod $name` in a macro
        }
        let name_end = word_end(src, name_at);
        let inline = match src.get(skip_space(src, name_end)) {
            Some(b';') => false,
            Some(b'{') => true,
            _ => continue,
        };
        let mut decl = ModDecl {
            name: code[name_at..name_end].to_owned(),
            offset: at,
            inline,
            cfg_test: false,
            path_attr: None,
        };
        for attr in attributes_before(src, at) {
            let squeezed = squeezed(&code[attr.clone()]);
            if squeezed == "#[cfg(test)]" {
                decl.cfg_test = true;
            } else if squeezed.starts_with("#[path=") {
                // The literal's contents are blank in `code`; read them from `text`.
                let quote = code[attr.clone()].find('"').map(|q| q + attr.start + 1);
                let close = quote.and_then(|q| code[q..].find('"').map(|c| c + q));
                if let (Some(q), Some(c)) = (quote, close) {
                    decl.path_attr = Some(text[q..c].to_owned());
                }
            }
        }
        out.push(decl);
    }
    out
}

/// The attributes written before the item whose keyword is at `at`, after skipping a
/// visibility (`pub`, `pub(crate)`).
fn attributes_before(src: &[u8], at: usize) -> Vec<Range<usize>> {
    let mut end = back_space(src, at);
    if end > 0
        && src[end - 1] == b')'
        && let Some(open) = matching_open(src, end - 1)
    {
        end = back_space(src, open);
    }
    if src[..end].ends_with(b"pub") {
        end = back_space(src, end - 3);
    }
    let mut attrs = Vec::new();
    while end > 0 && src[end - 1] == b']' {
        let Some(open) = matching_open(src, end - 1) else {
            break;
        };
        let hash = if open >= 1 && src[open - 1] == b'#' {
            open - 1
        } else {
            break;
        };
        attrs.push(hash..end);
        end = back_space(src, hash);
    }
    attrs
}

fn back_space(src: &[u8], mut at: usize) -> usize {
    while at > 0 && src[at - 1].is_ascii_whitespace() {
        at -= 1;
    }
    at
}

/// The offset of the bracket opening the one closed at `close`.
fn matching_open(src: &[u8], close: usize) -> Option<usize> {
    let mut depth = 0usize;
    for i in (0..=close).rev() {
        match src[i] {
            b')' | b']' | b'}' => depth += 1,
            b'(' | b'[' | b'{' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The files `decl` (written in `parent`, repo-relative) may load, in the order rustc tries
/// them. `parent_owns_dir`: `parent` is a crate root or a `mod.rs`, so its children sit
/// beside it rather than in a folder named after it.
pub fn module_files(parent: &str, parent_owns_dir: bool, decl: &ModDecl) -> Vec<String> {
    let dir = parent.rsplit_once('/').map_or("", |(dir, _)| dir);
    if let Some(path) = &decl.path_attr {
        return vec![normalize(&format!("{dir}/{path}"))];
    }
    let base = if parent_owns_dir {
        dir.to_owned()
    } else {
        format!("{dir}/{}", file_stem(parent))
    };
    vec![
        format!("{base}/{}.rs", decl.name),
        format!("{base}/{}/mod.rs", decl.name),
    ]
}

/// Whether `path`'s modules live in its own folder: `mod.rs`, `lib.rs`, `main.rs`.
pub fn owns_dir(path: &str) -> bool {
    matches!(
        path.rsplit('/').next(),
        Some("mod.rs" | "lib.rs" | "main.rs")
    )
}

fn file_stem(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_suffix(".rs").unwrap_or(name)
}

/// Resolves `.` and `..` in a `/`-separated path.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::lex;

    fn names(paths: Vec<Vec<Segment>>) -> Vec<String> {
        paths
            .into_iter()
            .map(|p| p.into_iter().map(|(s, _)| s).collect::<Vec<_>>().join("::"))
            .collect()
    }

    #[test]
    fn path_groups_expand_to_their_leaves() {
        let code = "use crate::{money::{ledger, sharing as s}, social, *};\n\
                    let x = crate :: commerce::orders::place();\n\
                    pub(crate) fn f() {}\nuse super::super::events;";
        assert_eq!(
            names(paths_from(code, "crate")),
            [
                "crate::money::ledger",
                "crate::money::sharing",
                "crate::social",
                "crate::commerce::orders::place",
                "crate"
            ]
        );
        assert_eq!(names(paths_from(code, "super")), ["super::super::events"]);
    }

    #[test]
    fn cfg_test_items_cover_the_whole_item() {
        let code = "fn a() {}\n#[cfg(test)]\n#[allow(x)]\nmod tests { fn b() { {} } }\n\
                    #[cfg(test)] use x::y;\nfn c() {}";
        let spans = cfg_test_items(code);
        let covered: Vec<&str> = spans.iter().map(|r| &code[r.clone()]).collect();
        assert_eq!(
            covered,
            [
                "#[cfg(test)]\n#[allow(x)]\nmod tests { fn b() { {} } }",
                "#[cfg(test)] use x::y;"
            ]
        );
    }

    #[test]
    fn mod_declarations_with_attributes_and_their_files() {
        let text = "mod a;\n#[cfg(test)]\npub(crate) mod tests;\n#[path = \"../h.rs\"] mod h;\n\
                    mod inline { }\nmacro_rules! m { () => { mod $n {} } }";
        let decls = mod_decls(&lex(text).code, text);
        let summary: Vec<_> = decls
            .iter()
            .map(|d| (d.name.as_str(), d.inline, d.cfg_test, d.path_attr.clone()))
            .collect();
        assert_eq!(
            summary,
            [
                ("a", false, false, None),
                ("tests", false, true, None),
                ("h", false, false, Some("../h.rs".into())),
                ("inline", true, false, None),
            ]
        );
        assert_eq!(
            module_files("t/api/main.rs", true, &decls[0]),
            ["t/api/a.rs", "t/api/a/mod.rs"]
        );
        assert_eq!(
            module_files("s/x/orders.rs", false, &decls[0]),
            ["s/x/orders/a.rs", "s/x/orders/a/mod.rs"]
        );
        assert_eq!(module_files("t/api/main.rs", true, &decls[2]), ["t/h.rs"]);
    }
}
