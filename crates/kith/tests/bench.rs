//! `kith bench checkout` as CI runs it: it makes its own data, exits 0, and ends with one
//! `ratio <name> <value>` line per ratio, each positive. The hidden `tiny` scale keeps this
//! fast; the figures themselves are not asserted (a timed assertion is not a benchmark).

use std::process::Command;

struct Dir(std::path::PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn bench_checkout_ends_with_ratio_lines() {
    let dir = Dir(std::env::temp_dir().join(format!("kith-bench-test-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(["bench", "checkout", "--scale", "tiny", "--json"])
        // Inside the temp dir, on SQLite: no developer database or settings are touched.
        .current_dir(&dir.0)
        .env_remove("KITH_DATABASE_URL")
        .env_remove("KITH_DATA_DIR")
        .env_remove("KITH_CONFIG")
        .output()
        .expect("run kith bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "kith bench failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 3, "too little output:\n{stdout}");
    let ratios = &lines[lines.len() - 2..];
    let mut names = Vec::new();
    for line in ratios {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 3, "not `ratio <name> <value>`: {line:?}");
        assert_eq!(parts[0], "ratio", "{line:?}");
        assert!(
            !parts[1].is_empty()
                && parts[1]
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
            "bad ratio name in {line:?}"
        );
        let (int, frac) = parts[2]
            .split_once('.')
            .unwrap_or_else(|| panic!("no decimals in {line:?}"));
        assert!(
            !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()),
            "{line:?}"
        );
        assert!(
            frac.len() == 3 && frac.bytes().all(|b| b.is_ascii_digit()),
            "{line:?}"
        );
        let value: f64 = parts[2].parse().unwrap();
        assert!(value > 0.0, "ratio not positive: {line:?}");
        names.push(parts[1]);
    }
    assert_eq!(
        names,
        ["checkout_vs_raw_insert", "hot_sku_checkout_vs_raw_insert"]
    );
    // With --json, the figures come as one JSON object just before the ratio lines.
    let doc: serde_json::Value =
        serde_json::from_str(lines[lines.len() - 3]).expect("a JSON line before the ratios");
    assert_eq!(doc["bench"], "checkout");
    assert_eq!(doc["engine"], "sqlite");
    assert!(doc["phases"]["raw_insert"]["per_second"].as_f64().unwrap() > 0.0);
}
