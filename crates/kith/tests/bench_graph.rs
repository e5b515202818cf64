//! `kith bench graph` as CI runs it: it makes its own graph, exits 0, prints the figures
//! and ends with one `ratio <name> <value>` line. The hidden `tiny` scale keeps this fast;
//! the figures themselves are not asserted (a timed assertion is not a benchmark).

use std::process::Command;

#[test]
fn bench_graph_ends_with_its_ratio_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args([
            "bench",
            "graph",
            "--scale",
            "tiny",
            "--iterations",
            "5",
            "--json",
        ])
        .current_dir(std::env::temp_dir())
        .env_remove("KITH_DATABASE_URL")
        .env_remove("KITH_DATA_DIR")
        .env_remove("KITH_CONFIG")
        .output()
        .expect("run kith bench graph");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "kith bench graph failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("kith bench graph --scale tiny: 2000 members, 20000 edges"),
        "{stdout}"
    );
    for figure in [
        "snapshot build:",
        "pagerank (kith-graph, rayon):",
        "pagerank (minimal CSR loop",
        "label propagation:",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(figure)),
            "no {figure:?} in\n{stdout}"
        );
    }
    let last = lines.last().expect("output");
    let parts: Vec<&str> = last.split(' ').collect();
    assert_eq!(parts.len(), 3, "not `ratio <name> <value>`: {last:?}");
    assert_eq!(parts[..2], ["ratio", "pagerank_vs_minimal_csr"]);
    let (int, frac) = parts[2].split_once('.').expect("decimals");
    assert!(
        !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()),
        "{last:?}"
    );
    assert!(
        frac.len() == 3 && frac.bytes().all(|b| b.is_ascii_digit()),
        "{last:?}"
    );
    assert!(parts[2].parse::<f64>().unwrap() > 0.0, "{last:?}");
    let doc: serde_json::Value =
        serde_json::from_str(lines[lines.len() - 2]).expect("a JSON line before the ratio");
    assert_eq!(doc["bench"], "graph");
    assert_eq!(doc["members"], 2000);
    assert!(doc["pagerank_edges_per_s"].as_f64().unwrap() > 0.0);
    assert!(doc["communities"].as_u64().unwrap() >= 1);
}
