//! `kith bench checkout`, `groupbuy`, `flashsale`, `http` and `pages` as CI runs them: each makes its own
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
    run_bench_on(name, ratio_count, None)
}

/// As [`run_bench`], on the PostgreSQL database `database_url` when given.
fn run_bench_on(
    name: &str,
    ratio_count: usize,
    database_url: Option<&str>,
) -> (serde_json::Value, Vec<String>) {
    let dir =
        Dir(std::env::temp_dir().join(format!("kith-bench-test-{name}-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kith"));
    cmd.args(["bench", name, "--scale", "tiny", "--json"])
        // Inside the temp dir, on SQLite: no developer database or settings are touched.
        .current_dir(&dir.0)
        .env_remove("KITH_DATABASE_URL")
        .env_remove("KITH_DATA_DIR")
        .env_remove("KITH_CONFIG");
    if let Some(url) = database_url {
        cmd.args(["--database-url", url]);
    }
    let out = cmd.output().expect("run kith bench");
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
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
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
    let engine = if database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(doc["engine"], engine);
    (doc, names)
}

/// `kith bench http` drives a real `kith serve` over HTTP: the orders it made are all paid
/// and the ledger audit is clean (it checks both itself and fails otherwise), the server's
/// statement counts reach it through `/metrics`, and it ends with its two ratios.
fn check_http_bench(doc: &serde_json::Value, names: &[String]) {
    assert_eq!(
        names,
        ["http_checkout_vs_floor", "rss_after_signups_vs_twice_idle"]
    );
    let checkout = &doc["checkout"];
    assert_eq!(checkout["count"].as_u64(), Some(60));
    // Cart, checkout and payment: at least one write each, and many statements.
    assert!(
        checkout["writes_per_unit"].as_f64().unwrap() >= 3.0,
        "{doc}"
    );
    assert!(
        checkout["statements_per_unit"].as_f64().unwrap() > 10.0,
        "{doc}"
    );
    assert!(
        checkout["server_cpu_ms_per_unit"].as_f64().unwrap() > 0.0,
        "{doc}"
    );
    let floor = &doc["floor"];
    assert!(floor["writes_per_unit"].as_f64().unwrap() >= 1.0, "{doc}");
    assert!(doc["memory"]["rss_idle_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn bench_http_checks_its_orders_and_ends_with_its_ratios() {
    let (doc, names) = run_bench("http", 2);
    check_http_bench(&doc, &names);
    assert!(doc["checkout"]["postgres_cpu_ms_per_unit"].is_null());
}

#[test]
fn bench_http_on_postgres() {
    let Some(db) = kith_store::testing::database_or_skip() else {
        return;
    };
    let (doc, names) = run_bench_on("http", 2, Some(&db.url));
    check_http_bench(&doc, &names);
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

/// `kith bench pages` serves the demo and weighs the home (visitor and member) and a
/// product page with what they reference, then times them against the server's
/// stylesheet: four ratios per page, in a fixed order, with the figures behind them.
#[test]
fn bench_pages_weighs_and_times_the_home_and_a_product() {
    let (doc, names) = run_bench("pages", 12);
    let mut expected = Vec::new();
    for page in ["home_visitor", "home_member", "product"] {
        for what in [
            "critical_vs_budget",
            "weight_vs_budget",
            "p50_vs_floor",
            "p99_vs_floor",
        ] {
            expected.push(format!("pages_{page}_{what}"));
        }
        let p = &doc["pages"][page];
        // Every page is HTML that references the stylesheet and scripts at least.
        assert!(p["html_bytes"].as_u64().unwrap() > 1_000, "{doc}");
        assert!(p["code_bytes"].as_u64().unwrap() > 1_000, "{doc}");
        assert!(p["files"].as_u64().unwrap() >= 3, "{doc}");
        assert!(p["p50_ms"].as_f64().unwrap() > 0.0, "{doc}");
    }
    assert_eq!(names, expected);
    // The product page and the member's home show the demo's pictures.
    assert!(
        doc["pages"]["product"]["picture_bytes"].as_u64().unwrap() > 0,
        "{doc}"
    );
    assert_eq!(doc["fetches"].as_u64(), Some(20));
    assert!(doc["floor"]["p50_ms"].as_f64().unwrap() > 0.0);
}
