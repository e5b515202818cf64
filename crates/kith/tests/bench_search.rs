//! `kith bench search` and `kith bench feed` as CI runs them: each makes its own data, exits
//! 0, and ends with one `ratio <name> <value>` line per ratio, each positive. The hidden `tiny` scale keeps this
//! fast; the figures themselves are not asserted (a timed assertion is not a benchmark).

use std::process::Command;

struct Dir(std::path::PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `kith bench <name> --scale tiny` in a temporary directory: stdout, stderr, and the
/// names of the last `ratio_count` lines, each checked to be `ratio <name> <value>` with a
/// positive value of three decimals.
fn run_tiny(name: &str, ratio_count: usize) -> (String, String, Vec<String>) {
    let dir =
        Dir(std::env::temp_dir().join(format!("kith-bench-{name}-test-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args(["bench", name, "--scale", "tiny"])
        .current_dir(&dir.0)
        .env_remove("KITH_DATABASE_URL")
        .env_remove("KITH_DATA_DIR")
        .env_remove("KITH_CONFIG")
        .output()
        .expect("run kith bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "kith bench {name} failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() > ratio_count, "too little output:\n{stdout}");
    let mut names = Vec::new();
    for line in &lines[lines.len() - ratio_count..] {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 3, "not `ratio <name> <value>`: {line:?}");
        assert_eq!(parts[0], "ratio", "{line:?}");
        assert!(
            parts[1]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "bad ratio name in {line:?}"
        );
        let (int, frac) = parts[2].split_once('.').expect("decimals");
        assert!(!int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()));
        assert!(frac.len() == 3 && frac.bytes().all(|b| b.is_ascii_digit()));
        assert!(parts[2].parse::<f64>().unwrap() > 0.0, "{line:?}");
        names.push(parts[1].to_owned());
    }
    (stdout, stderr, names)
}

#[test]
fn bench_search_ends_with_ratio_lines() {
    let (_, stderr, names) = run_tiny("search", 4);
    assert_eq!(
        names,
        [
            "index_vs_bare_tantivy",
            "friend_query_p50_vs_bare_tantivy",
            "friend_query_p99_vs_bare_tantivy",
            "segmentation_vs_jieba"
        ]
    );
    // The friend-scoped queries found something: the world is not empty.
    assert!(stderr.contains("friend-scoped query"), "{stderr}");
}

#[test]
fn bench_feed_ends_with_ratio_lines() {
    let (stdout, _, names) = run_tiny("feed", 2);
    assert_eq!(
        names,
        [
            "trusted_feed_p50_vs_bare_tantivy",
            "trusted_feed_p99_vs_bare_tantivy"
        ]
    );
    // The readers follow many people and see their posts: first and second pages ran.
    assert!(stdout.contains("trusted feed, first page"), "{stdout}");
}
