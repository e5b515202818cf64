//! Rule 1, the codemap: ARCHITECTURE.md names, in backticks, every crate (`` `crates/kith-web` ``),
//! every kith-app context folder (`` `commerce/` ``) and module (`` `commerce/orders.rs` ``,
//! `` `events/webhooks/` ``, paths relative to `crates/kith-app/src`), and every area folder of
//! kith-web (`` `kith-web/src/pages/` ``). It also holds kith-app to its layout — only `lib.rs`
//! at the top, a `mod.rs` in every folder — and refuses codemap entries for kith-app paths,
//! crates or kith-web folders that no longer exist.

use std::collections::{BTreeMap, BTreeSet};

use crate::{APP_SRC, Problem};

const WEB_SRC: &str = "crates/kith-web/src";

/// Checks ARCHITECTURE.md's text against `paths`: the repo-relative paths of the files
/// under `crates/`.
pub fn check(architecture: &str, paths: &[String]) -> Vec<Problem> {
    let named = backticked(architecture);
    let is_named = |span: &str| named.contains_key(span);
    let mut problems = Vec::new();

    let crates: BTreeSet<&str> = paths
        .iter()
        .filter_map(|p| p.strip_prefix("crates/")?.strip_suffix("/Cargo.toml"))
        .filter(|name| !name.contains('/'))
        .collect();
    for name in &crates {
        let span = format!("crates/{name}");
        if !is_named(&span) && !is_named(&format!("{span}/")) {
            problems.push(Problem::file(
                &span,
                format!("add `{span}` to ARCHITECTURE.md's codemap (a section saying what the crate owns)"),
            ));
        }
    }

    let app: BTreeSet<&str> = paths
        .iter()
        .filter_map(|p| p.strip_prefix(APP_SRC)?.strip_prefix('/'))
        .filter(|p| p.ends_with(".rs"))
        .collect();
    let mut folders = BTreeSet::new();
    for file in &app {
        let parts: Vec<&str> = file.split('/').collect();
        for depth in 1..parts.len() {
            folders.insert(parts[..depth].join("/"));
        }
        let path = format!("{APP_SRC}/{file}");
        if parts.len() == 1 && *file != "lib.rs" {
            problems.push(Problem::file(
                &path,
                format!(
                    "kith-app keeps only lib.rs at its top: move `{file}` into its context's \
                     folder (e.g. `commerce/{file}`) and declare it in that folder's mod.rs"
                ),
            ));
        } else if parts.len() > 1 && !file.ends_with("/mod.rs") && !is_named(file) {
            problems.push(Problem::file(
                &path,
                format!(
                    "add `{file}` to ARCHITECTURE.md's kith-app codemap (what it owns, in a line)"
                ),
            ));
        }
    }
    for folder in &folders {
        let path = format!("{APP_SRC}/{folder}/");
        if !app.contains(format!("{folder}/mod.rs").as_str()) {
            problems.push(Problem::file(
                &path,
                "give the folder a mod.rs saying what it owns, its surface, and what it must never touch",
            ));
        }
        if !is_named(&format!("{folder}/")) {
            problems.push(Problem::file(
                &path,
                format!("add `{folder}/` to ARCHITECTURE.md's kith-app codemap"),
            ));
        }
    }

    let web_folders: BTreeSet<&str> = paths
        .iter()
        .filter_map(|p| p.strip_prefix(WEB_SRC)?.strip_prefix('/')?.split_once('/'))
        .map(|(folder, _)| folder)
        .collect();
    for folder in &web_folders {
        let span = format!("kith-web/src/{folder}/");
        if !is_named(&span) {
            problems.push(Problem::file(
                &format!("{WEB_SRC}/{folder}/"),
                format!("add `{span}` to ARCHITECTURE.md's kith-web section (what the area holds)"),
            ));
        }
    }

    // Entries that point at nothing: a codemap that lies is worse than none.
    let contexts: BTreeSet<&str> = app
        .iter()
        .filter_map(|f| f.split_once('/'))
        .map(|(ctx, _)| ctx)
        .collect();
    for (span, &line) in &named {
        let stale = if let Some(name) = span.strip_prefix("crates/") {
            let name = name.strip_suffix('/').unwrap_or(name);
            !name.contains('/') && !crates.contains(name)
        } else if let Some(folder) = span.strip_prefix("kith-web/src/") {
            folder
                .strip_suffix('/')
                .is_some_and(|f| !f.contains('/') && !web_folders.contains(f))
        } else if span
            .split_once('/')
            .is_some_and(|(ctx, _)| contexts.contains(ctx))
        {
            let exists = match span.strip_suffix('/') {
                Some(folder) => folders.contains(folder),
                None => app.contains(span.as_str()),
            };
            (span.ends_with(".rs") || span.ends_with('/')) && !exists
        } else {
            false
        };
        if stale {
            problems.push(Problem::at(
                "ARCHITECTURE.md",
                line,
                format!(
                    "`{span}` is in the codemap but does not exist: update or remove the entry"
                ),
            ));
        }
    }
    problems
}

/// Every backticked span of a Markdown text and the first line it is on. Fenced code
/// blocks are skipped; a span does not cross a line.
fn backticked(markdown: &str) -> BTreeMap<String, usize> {
    let mut spans = BTreeMap::new();
    let mut in_fence = false;
    for (index, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let pieces: Vec<&str> = line.split('`').collect();
        // Odd pieces are inside backticks; the last one is unclosed when the count is even.
        for piece in pieces
            .iter()
            .skip(1)
            .step_by(2)
            .take((pieces.len() - 1) / 2)
        {
            spans.entry(piece.trim().to_owned()).or_insert(index + 1);
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: &[&str]) -> Vec<String> {
        list.iter().map(|p| p.to_string()).collect()
    }

    const TREE: &[&str] = &[
        "crates/kith-app/Cargo.toml",
        "crates/kith-app/src/lib.rs",
        "crates/kith-app/src/commerce/mod.rs",
        "crates/kith-app/src/commerce/orders.rs",
        "crates/kith-app/src/events/mod.rs",
        "crates/kith-app/src/events/webhooks/mod.rs",
        "crates/kith-app/src/events/webhooks/urls.rs",
        "crates/kith-web/Cargo.toml",
        "crates/kith-web/src/lib.rs",
        "crates/kith-web/src/member/mod.rs",
    ];

    const COMPLETE: &str = "### `crates/kith-app`\n- `commerce/` — `commerce/orders.rs`\n\
        - `events/` — `events/webhooks/` (`events/webhooks/urls.rs`)\n\
        ### `crates/kith-web`\n`kith-web/src/member/`\n```\n`not/a/span.rs`\n```\n";

    #[test]
    fn a_complete_codemap_passes() {
        assert_eq!(check(COMPLETE, &paths(TREE)), []);
    }

    #[test]
    fn missing_modules_folders_crates_and_web_areas_are_named() {
        let architecture = "### `crates/kith-app`\n- `commerce/`\n";
        let messages: Vec<String> = check(architecture, &paths(TREE))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            messages,
            [
                "crates/kith-web: add `crates/kith-web` to ARCHITECTURE.md's codemap (a section saying what the crate owns)",
                "crates/kith-app/src/commerce/orders.rs: add `commerce/orders.rs` to ARCHITECTURE.md's kith-app codemap (what it owns, in a line)",
                "crates/kith-app/src/events/webhooks/urls.rs: add `events/webhooks/urls.rs` to ARCHITECTURE.md's kith-app codemap (what it owns, in a line)",
                "crates/kith-app/src/events/: add `events/` to ARCHITECTURE.md's kith-app codemap",
                "crates/kith-app/src/events/webhooks/: add `events/webhooks/` to ARCHITECTURE.md's kith-app codemap",
                "crates/kith-web/src/member/: add `kith-web/src/member/` to ARCHITECTURE.md's kith-web section (what the area holds)",
            ]
        );
    }

    #[test]
    fn flat_files_folders_without_mod_rs_and_stale_entries_fail() {
        let mut tree = paths(TREE);
        tree.push("crates/kith-app/src/cart.rs".into());
        tree.push("crates/kith-app/src/social/posts.rs".into());
        let architecture = format!(
            "{COMPLETE}`social/` `social/posts.rs` `commerce/refunds.rs` `crates/kith-gone`\n"
        );
        let messages: Vec<String> = check(&architecture, &tree)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            messages,
            [
                "crates/kith-app/src/cart.rs: kith-app keeps only lib.rs at its top: move `cart.rs` into its context's folder (e.g. `commerce/cart.rs`) and declare it in that folder's mod.rs",
                "crates/kith-app/src/social/: give the folder a mod.rs saying what it owns, its surface, and what it must never touch",
                "ARCHITECTURE.md:9: `commerce/refunds.rs` is in the codemap but does not exist: update or remove the entry",
                "ARCHITECTURE.md:9: `crates/kith-gone` is in the codemap but does not exist: update or remove the entry",
            ]
        );
    }
}
