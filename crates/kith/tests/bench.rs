//! `kith bench checkout`, `groupbuy` and `flashsale` as CI runs them: each makes its own
//! data, exits 0, and ends with one `ratio <name> <value>` line per ratio, each positive. The hidden `tiny` scale keeps this
//! fast; the figures themselves are not asserted (a timed assertion is not a benchmark).

use std::process::Command;

struct Dir(std::path::PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `kith bench <name> --scale tiny --json` on SQLite in a temporary directory: the
/// JSON document just before the ratio lines, and the ratio names, each value checked to be
/// a positive number with three decimals.
fn run_bench(name: &str, ratio_count: usize) -> (serde_json::Value, Vec<String>) {
    let dir =
        Dir(std::env::temp_dir().join(format!("kith-bench-test-{name}-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(["bench", name, "--scale", "tiny", "--json"])
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
    assert!(lines.len() > ratio_count, "too little output:\n{stdout}");
    let ratios = &lines[lines.len() - ratio_count..];
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
        names.push(parts[1].to_owned());
    }
    // With --json, the figures come as one JSON object just before the ratio lines.
    let doc: serde_json::Value = serde_json::from_str(lines[lines.len() - ratio_count - 1])
        .expect("a JSON line before the ratios");
    assert_eq!(doc["bench"], name);
    assert_eq!(doc["engine"], "sqlite");
    (doc, names)
}

#[test]
fn bench_checkout_ends_with_ratio_lines() {
    let (doc, names) = run_bench("checkout", 2);
    assert_eq!(
        names,
        ["checkout_vs_raw_insert", "hot_sku_checkout_vs_raw_insert"]
    );
    assert!(doc["phases"]["raw_insert"]["per_second"].as_f64().unwrap() > 0.0);
}

/// `kith bench groupbuy` fills every group it opened (it checks that itself and fails
/// otherwise) and ends with its ratio against hot-SKU checkout.
#[test]
fn bench_groupbuy_ends_with_its_ratio() {
    let (doc, names) = run_bench("groupbuy", 1);
    assert_eq!(names, ["groupbuy_join_vs_hot_sku_checkout"]);
    let groups = doc["groups"].as_u64().unwrap();
    assert!(groups > 0);
    assert_eq!(
        doc["phases"]["group_join"]["count"].as_u64(),
        Some(2 * groups)
    );
    assert_eq!(
        doc["phases"]["join_attempts"]["count"].as_u64(),
        Some(4 * groups)
    );
}

/// `kith bench flashsale` sells exactly its quota (it checks that nothing oversold itself
/// and fails otherwise) and ends with its ratio against spread checkout.
#[test]
fn bench_flashsale_sells_its_quota_and_ends_with_its_ratio() {
    let (doc, names) = run_bench("flashsale", 1);
    assert_eq!(names, ["flashsale_vs_checkout"]);
    let quota = doc["quota"].as_u64().unwrap();
    assert!(quota > 0);
    assert_eq!(doc["phases"]["flash_sale"]["count"].as_u64(), Some(quota));
    assert_eq!(doc["oversold"].as_i64(), Some(0));
}
