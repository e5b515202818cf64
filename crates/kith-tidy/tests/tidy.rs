//! The tidy tests: each reads the repository and holds it to one rule of kith's shape. The
//! rules themselves (and the examples that break them) are in `kith_tidy::rules`; a failure
//! lists each problem as `path:line: what to do`.

use std::path::PathBuf;

use kith_tidy::rules::{
    app_sql, codemap, context_cycles, faces_sql, file_size, pure_domain, schema_names,
    self_contained, test_modules,
};
use kith_tidy::{APP_SRC, Problem, SourceFile, read_tree};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &str) -> Vec<SourceFile> {
    read_tree(&root(), dir)
}

/// Fails with every problem, one per line, under the rule's name.
fn assert_none(rule: &str, problems: &[Problem], more: &str) {
    if problems.is_empty() {
        return;
    }
    let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
    panic!(
        "\ntidy: {rule}: {} problem(s)\n\n{}\n{more}",
        problems.len(),
        list.join("\n")
    );
}

/// ARCHITECTURE.md is where a newcomer finds things, so it names every crate, context,
/// module and web area, and nothing that is gone.
#[test]
fn codemap_names_every_crate_context_and_module() {
    let architecture = std::fs::read_to_string(root().join("ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md at the repository root");
    let paths: Vec<String> = files("crates").into_iter().map(|f| f.path).collect();
    assert_none("codemap", &codemap::check(&architecture, &paths), "");
}

/// The faces (HTTP and web pages) parse and render; queries in them would bypass the use
/// cases' authorisation and transactions.
#[test]
fn no_sql_in_the_faces() {
    let faces: Vec<SourceFile> = [
        "crates/kith-http/src",
        "crates/kith-web/src",
        "crates/kith-web/templates",
    ]
    .into_iter()
    .flat_map(files)
    .collect();
    assert_none("no SQL in the faces", &faces_sql::check(&faces), "");
}

/// The domain is pure rules over values, so it is tested without a database, a network or a
/// clock, and every layer may use it.
#[test]
fn the_domain_stays_pure() {
    let manifest = "crates/kith-domain/Cargo.toml";
    let text = std::fs::read_to_string(root().join(manifest)).expect("kith-domain's Cargo.toml");
    let mut problems = pure_domain::check_manifest(manifest, &text, pure_domain::ALLOWED);
    problems.extend(pure_domain::check_source(&files("crates/kith-domain/src")));
    assert_none("the domain stays pure", &problems, "");
}

/// A context's statements live in its store, so a use case reads as the rules it enforces
/// and every statement that touches a table is found in a few files.
#[test]
fn kith_app_sql_lives_in_the_stores() {
    assert_none("SQL in the stores", &app_sql::check(&files(APP_SRC)), "");
}

/// Contexts that depend on each other in a circle cannot be understood, changed or tested
/// one at a time; the layers in ARCHITECTURE.md only hold if every dependency points down.
#[test]
fn no_cycle_between_kith_app_contexts() {
    let graph = context_cycles::graph(&files(APP_SRC));
    let edges = format!("dependencies found between contexts:\n{graph}");
    assert_none(
        "no cycle between kith-app's contexts",
        &context_cycles::cycles(&graph),
        &edges,
    );
}

/// A file past this size holds several concerns; splitting keeps each one findable.
#[test]
fn kith_app_files_stay_small() {
    let problems = file_size::check(&files(APP_SRC), file_size::LIMIT);
    assert_none("kith-app file size", &problems, "");
}

/// A clone holds only this repository, so a reference to a file beside it is a dead end.
#[test]
fn the_repository_is_self_contained() {
    assert_none("self-contained", &self_contained::check(&files("")), "");
}

/// Cargo compiles only the test roots; a file no binary declares silently never runs.
#[test]
fn every_test_file_is_declared() {
    let dir = "crates/kith/tests";
    assert_none(
        "every test file runs",
        &test_modules::check(&files(dir), dir),
        "",
    );
}

/// The OpenAPI document keys schemas by name; two `ToSchema` types of one name make one of
/// them describe the other's answers.
#[test]
fn every_openapi_schema_has_its_own_name() {
    assert_none("schema names", &schema_names::check(&files("crates")), "");
}
