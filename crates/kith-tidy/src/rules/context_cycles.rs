//! Rule 4, no cycle between kith-app's contexts. A context is a folder of
//! `crates/kith-app/src`; context A depends on B when a file of A names B by a path —
//! `crate::b::…`, a `use crate::{b, …}` group (nested groups too), or `super::…::b` climbing
//! to the crate root. Comments, string literals and `#[cfg(test)]` code (inline test modules
//! and files declared under `#[cfg(test)]`) do not count: test support may cross. `lib.rs`
//! is the composition root and may depend on everything.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use crate::lex::{Lines, blank, lex};
use crate::syntax::{cfg_test_items, mod_decls, module_files, owns_dir, paths_from};
use crate::{APP_SRC, Problem, SourceFile};

/// Where a dependency between two contexts is first written, and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uses {
    pub path: String,
    pub line: usize,
    pub count: usize,
}

/// The dependencies between contexts: `(from, to)` → where.
#[derive(Debug, Default)]
pub struct Graph {
    pub edges: BTreeMap<(String, String), Uses>,
}

/// Builds the graph from kith-app's files (repo-relative paths; others are ignored).
pub fn graph(files: &[SourceFile]) -> Graph {
    let prefix = format!("{APP_SRC}/");
    let app: Vec<(&str, &SourceFile)> = files
        .iter()
        .filter_map(|f| Some((f.path.strip_prefix(&prefix)?, f)))
        .filter(|(rel, _)| rel.ends_with(".rs"))
        .collect();
    let contexts: BTreeSet<&str> = app
        .iter()
        .filter_map(|(rel, _)| rel.split_once('/'))
        .map(|(ctx, _)| ctx)
        .collect();
    let test_only = test_only_modules(&app);

    let mut graph = Graph::default();
    for (rel, file) in &app {
        let Some((from, _)) = rel.split_once('/') else {
            continue;
        }; // lib.rs
        let module = rel
            .strip_suffix("/mod.rs")
            .or(rel.strip_suffix(".rs"))
            .unwrap_or(rel);
        if test_only
            .iter()
            .any(|t| module == t || module.starts_with(&format!("{t}/")))
        {
            continue;
        }
        let code = without_cfg_test(&lex(&file.text).code);
        let lines = Lines::new(&code);
        // How many `super`s reach the crate root: `commerce/orders.rs` is two deep.
        let depth = rel.split('/').count() - usize::from(rel.ends_with("/mod.rs"));
        let crate_paths = paths_from(&code, "crate")
            .into_iter()
            .map(|p| p.get(1).cloned());
        let super_paths = paths_from(&code, "super").into_iter().map(|p| {
            let supers = p.iter().take_while(|(s, _)| s == "super").count();
            if supers == depth {
                p.get(depth).cloned()
            } else {
                None
            }
        });
        for (to, at) in crate_paths.chain(super_paths).flatten() {
            if to != from && contexts.contains(to.as_str()) {
                let uses = graph.edges.entry((from.to_owned(), to)).or_insert(Uses {
                    path: file.path.clone(),
                    line: lines.line(at),
                    count: 0,
                });
                uses.count += 1;
            }
        }
    }
    graph
}

/// Modules declared under `#[cfg(test)]`, as paths relative to `APP_SRC` without `.rs`
/// (`insight/tests`): the file itself and everything in its folder is test code.
fn test_only_modules(app: &[(&str, &SourceFile)]) -> Vec<String> {
    let mut out = Vec::new();
    for (rel, file) in app {
        for decl in mod_decls(&lex(&file.text).code, &file.text) {
            if decl.cfg_test {
                for candidate in module_files(rel, owns_dir(rel), &decl) {
                    let module = candidate
                        .strip_suffix("/mod.rs")
                        .or(candidate.strip_suffix(".rs"));
                    out.extend(module.map(|m| m.trim_start_matches('/').to_owned()));
                }
            }
        }
    }
    out
}

fn without_cfg_test(code: &str) -> String {
    let mut bytes = code.as_bytes().to_vec();
    for item in cfg_test_items(code) {
        blank(&mut bytes, item);
    }
    String::from_utf8(bytes).expect("blanking keeps UTF-8")
}

/// One problem per group of contexts that depend on each other in a circle, showing one
/// such circle with where each of its steps is written.
pub fn cycles(graph: &Graph) -> Vec<Problem> {
    let nodes: BTreeSet<&str> = graph
        .edges
        .keys()
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .collect();
    let reach = |from: &str| reachable(graph, from);
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    for &start in &nodes {
        if seen.contains(start) {
            continue;
        }
        let forward = reach(start);
        let group: BTreeSet<&str> = nodes
            .iter()
            .copied()
            .filter(|n| forward.contains(n) && reach(n).contains(start))
            .collect();
        seen.extend(group.iter().copied());
        if group.len() < 2 {
            continue;
        }
        let circle = shortest_circle(graph, start, &group);
        let steps: Vec<String> = circle
            .windows(2)
            .map(|w| {
                let uses = &graph.edges[&(w[0].to_owned(), w[1].to_owned())];
                format!("      {} → {}: {}:{}", w[0], w[1], uses.path, uses.line)
            })
            .collect();
        let first = &graph.edges[&(circle[0].to_owned(), circle[1].to_owned())];
        problems.push(Problem::at(
            &first.path,
            first.line,
            format!(
                "kith-app's contexts depend on each other in a circle: {}\n{}\n    \
                 (contexts in it: {}). Contexts depend one way (ARCHITECTURE.md's layers): \
                 break the step that points up — move the code down, or let the lower context \
                 offer a hook or registry that the higher one fills in lib.rs",
                circle.join(" → "),
                steps.join("\n"),
                group.into_iter().collect::<Vec<_>>().join(", "),
            ),
        ));
    }
    problems
}

fn reachable<'a>(graph: &'a Graph, from: &str) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_owned()];
    while let Some(node) = todo.pop() {
        for (a, b) in graph.edges.keys() {
            if *a == node && seen.insert(b.as_str()) {
                todo.push(b.clone());
            }
        }
    }
    seen
}

/// The shortest walk `start → … → start` inside `group` (breadth first).
fn shortest_circle<'a>(graph: &'a Graph, start: &'a str, group: &BTreeSet<&str>) -> Vec<&'a str> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut todo = VecDeque::from([start]);
    while let Some(node) = todo.pop_front() {
        for (a, b) in graph.edges.keys() {
            if a != node || !group.contains(b.as_str()) {
                continue;
            }
            if b == start {
                let mut circle = vec![start, node];
                let mut at = node;
                while at != start {
                    at = came_from[at];
                    circle.push(at);
                }
                circle.reverse(); // start → … → node → start
                return circle;
            }
            if !came_from.contains_key(b.as_str()) {
                came_from.insert(b, a);
                todo.push_back(b);
            }
        }
    }
    vec![start]
}

impl fmt::Display for Graph {
    /// One line per dependency: `commerce → money  (12 uses; first crates/…/orders.rs:40)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for ((from, to), uses) in &self.edges {
            let plural = if uses.count == 1 { "" } else { "s" };
            writeln!(
                f,
                "  {from} → {to}  ({} use{plural}; first {}:{})",
                uses.count, uses.path, uses.line
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(files: &[(&str, &str)]) -> Vec<SourceFile> {
        files
            .iter()
            .map(|(p, t)| SourceFile::new(&format!("{APP_SRC}/{p}"), t))
            .collect()
    }

    fn edges(graph: &Graph) -> Vec<String> {
        graph
            .edges
            .iter()
            .map(|((a, b), u)| {
                format!("{a}->{b}@{}:{}", u.path.rsplit('/').next().unwrap(), u.line)
            })
            .collect()
    }

    #[test]
    fn references_make_edges_but_comments_tests_and_lib_rs_do_not() {
        let files = app(&[
            ("lib.rs", "use crate::{commerce, money};"),
            (
                "commerce/mod.rs",
                "//! Calls [`crate::social`].\npub mod orders;\n#[cfg(test)]\nmod tests;",
            ),
            (
                "commerce/orders.rs",
                "use crate::{\n    platform::{auth, page},\n    money::ledger,\n};\n\
                 fn f() { super::super::events::jobs::enqueue(); }\n\
                 #[cfg(test)]\nmod tests { use crate::group_buy::x; }",
            ),
            ("commerce/tests.rs", "use crate::group_buy::seats;"),
            (
                "events/webhooks/urls.rs",
                "fn f() { super::super::super::platform::ids::new(); let s = \"crate::money\"; }",
            ),
            ("money/mod.rs", "pub(crate) fn f() {}"),
            ("platform/mod.rs", ""),
            ("group_buy/mod.rs", ""),
            ("social/mod.rs", ""),
        ]);
        let graph = graph(&files);
        assert_eq!(
            edges(&graph),
            [
                "commerce->events@orders.rs:5",
                "commerce->money@orders.rs:3",
                "commerce->platform@orders.rs:2",
                "events->platform@urls.rs:1",
            ]
        );
        assert_eq!(cycles(&graph), []);
    }

    #[test]
    fn a_cycle_fails_naming_each_step() {
        let files = app(&[
            ("commerce/orders.rs", "use crate::money::ledger;"),
            (
                "money/commissions.rs",
                "\n\nfn f() -> crate::social::X { todo!() }",
            ),
            (
                "social/posts.rs",
                "use crate::{platform, commerce::orders::Order};",
            ),
            ("platform/mod.rs", ""),
        ]);
        let graph = graph(&files);
        let problems = cycles(&graph);
        assert_eq!(problems.len(), 1);
        let message = problems[0].to_string();
        assert!(
            message.starts_with(
                "crates/kith-app/src/commerce/orders.rs:1: kith-app's contexts depend on each other \
                 in a circle: commerce → money → social → commerce\n      \
                 commerce → money: crates/kith-app/src/commerce/orders.rs:1\n      \
                 money → social: crates/kith-app/src/money/commissions.rs:3\n      \
                 social → commerce: crates/kith-app/src/social/posts.rs:1\n"
            ),
            "{message}"
        );
        assert!(
            graph.to_string().contains(
                "  social → platform  (1 use; first crates/kith-app/src/social/posts.rs:1)"
            )
        );
    }
}
