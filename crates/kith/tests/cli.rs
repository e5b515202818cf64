//! The `kith` binary as an operator meets it: `serve` prints its URL, answers, and exits
//! cleanly on SIGTERM; `--demo` fills an empty store once; `migrate` and
//! `admin create-admin` work on both engines.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Dir(std::path::PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("kith-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn kith(dir: &Dir) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kith"));
    // Run inside the temp dir so no developer kith.toml or ./kith-data is touched.
    c.current_dir(&dir.0)
        .env_remove("KITH_DATABASE_URL")
        .env_remove("KITH_DATA_DIR")
        .env_remove("KITH_CONFIG");
    c
}

/// Starts `kith serve …` and waits for the line with its URL. The caller owns the child
/// and reaps it with `terminate`; a panic before that leaves the process to the test
/// harness's own teardown, which is what we want from a failing test.
#[allow(clippy::zombie_processes)]
fn serve(dir: &Dir, extra: &[&str]) -> (Child, String, Vec<String>) {
    let mut child = kith(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn kith serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let line = lines
            .next()
            .expect("kith serve exited before printing its URL")
            .unwrap();
        if let Some(rest) = line.strip_prefix("kith is serving on ") {
            let url = rest
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_owned();
            return (child, url, seen);
        }
        seen.push(line);
    }
    panic!("no URL printed; saw {seen:?}");
}

fn get(url: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::get(url).await.expect("GET");
        (r.status().as_u16(), r.text().await.unwrap())
    })
}

fn terminate(mut child: Child) -> std::process::ExitStatus {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "kith did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_answers_and_stops_on_sigterm() {
    let dir = Dir::new("serve");
    let (child, url, _) = serve(&dir, &[]);
    let (status, body) = get(&format!("{url}/readyz"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("sqlite"));
    assert!(
        dir.0.join("kith-data/kith.db").exists(),
        "default data dir is ./kith-data"
    );
    // A plain server takes no play money: the sandbox gateway is off unless asked for.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{url}/api/v1/payments/sandbox/callback"))
            .header("kith-signature", "t=1,v1=00")
            .body("{}")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(status, 404, "sandbox callbacks are not served");
    // Nor does its login page point at demo logins that do not exist.
    let (status, page) = get(&format!("{url}/login"));
    assert_eq!(status, 200);
    assert!(!page.contains("demo-hint"), "{page}");
    let status = terminate(child);
    assert!(status.success(), "graceful exit, got {status}");
}

#[test]
fn demo_fills_an_empty_store_once_and_prints_logins() {
    let dir = Dir::new("demo");
    let (child, url, printed) = serve(&dir, &["--demo"]);
    assert!(
        printed.iter().any(|l| l.contains("13800000000")),
        "demo logins printed: {printed:?}"
    );
    let (status, body) = get(&format!(
        "{url}/api/v1/merchants/00000000-0000-0000-0000-000000000000"
    ));
    assert_eq!(status, 404, "{body}");
    let (status, page) = get(&format!("{url}/login"));
    assert_eq!(status, 200);
    assert!(
        page.contains("id=\"demo-hint\""),
        "the demo's login page says where its logins are"
    );
    assert!(terminate(child).success());
    // A second start keeps the data and does not duplicate it (it would hit unique phones).
    let (child, _, printed) = serve(&dir, &["--demo"]);
    assert!(printed.iter().any(|l| l.contains("13800000000")));
    assert!(terminate(child).success());
}

fn migrate_and_create_admin(dir: &Dir, storage: &[&str]) {
    let out = kith(dir).arg("migrate").args(storage).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = format!("schema version {}", kith_store::migrate::MIGRATIONS.len());
    assert!(String::from_utf8_lossy(&out.stdout).contains(&want));
    let out = kith(dir)
        .args(["admin", "create-admin", "--login", "ops@example.com"])
        .args(storage)
        .env("KITH_ADMIN_PASSWORD", "a long admin secret")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Twice: refused, with the reason, and a failing exit code.
    let out = kith(dir)
        .args(["admin", "create-admin", "--login", "ops@example.com"])
        .args(storage)
        .env("KITH_ADMIN_PASSWORD", "a long admin secret")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already registered"));
    // A weak password never reaches storage.
    let out = kith(dir)
        .args(["admin", "create-admin", "--login", "ops2@example.com"])
        .args(storage)
        .env("KITH_ADMIN_PASSWORD", "short")
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn migrate_and_create_admin_on_sqlite() {
    let dir = Dir::new("admin-sqlite");
    migrate_and_create_admin(&dir, &["--data-dir", "store"]);
    assert!(dir.0.join("store/kith.db").exists());
}

#[test]
fn migrate_and_create_admin_on_postgres() {
    let Some(db) = kith_store::testing::database_or_skip() else {
        return;
    };
    let dir = Dir::new("admin-pg");
    migrate_and_create_admin(&dir, &["--database-url", &db.url]);
}

#[test]
fn bad_settings_are_refused_at_start() {
    let dir = Dir::new("bad");
    std::fs::write(dir.0.join("kith.toml"), "listen = 42\n").unwrap();
    let out = kith(&dir).args(["serve"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("kith.toml"));
    let out = kith(&dir)
        .args([
            "serve",
            "--sqlite-sync",
            "sometimes",
            "--config",
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sqlite_sync"));
}

fn run_ok(dir: &Dir, args: &[&str]) -> String {
    let out = kith(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "kith {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn run_err(dir: &Dir, args: &[&str]) -> String {
    let out = kith(dir).args(args).output().unwrap();
    assert!(!out.status.success(), "kith {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn backup_of_a_running_server_restores_into_a_working_store() {
    let dir = Dir::new("backup");
    let (child, url, _) = serve(&dir, &[]);
    // Other commands may open the store beside a running server.
    let out = kith(&dir)
        .args(["admin", "create-admin", "--login", "ops@example.com"])
        .env("KITH_ADMIN_PASSWORD", "a long admin secret")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let printed = run_ok(&dir, &["backup", "--out", "b1"]);
    assert!(printed.contains("backup written to b1"), "{printed}");
    assert!(dir.0.join("b1/kith.db").exists());
    // Not over a backup already there, and not over the store the server has open.
    assert!(run_err(&dir, &["backup", "--out", "b1"]).contains("not empty"));
    let refused = run_err(&dir, &["restore", "--from", "b1", "--force"]);
    assert!(refused.contains("stop it"), "{refused}");
    let (status, _) = get(&format!("{url}/readyz"));
    assert_eq!(status, 200, "the live store is untouched");
    assert!(terminate(child).success());

    let printed = run_ok(&dir, &["restore", "--from", "b1", "--data-dir", "restored"]);
    assert!(printed.contains("restored b1 into restored"), "{printed}");
    assert!(
        run_err(&dir, &["restore", "--from", "b1", "--data-dir", "restored"]).contains("--force")
    );
    assert!(
        run_err(&dir, &["restore", "--from", "nowhere", "--data-dir", "x"])
            .contains("not a kith backup")
    );
    // The restored store has the admin: creating it again is refused.
    let out = kith(&dir)
        .args([
            "admin",
            "create-admin",
            "--login",
            "ops@example.com",
            "--data-dir",
            "restored",
        ])
        .env("KITH_ADMIN_PASSWORD", "a long admin secret")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("already registered"));
    // And a server runs on it.
    let (child, url, _) = serve(&dir, &["--data-dir", "restored"]);
    let (status, _) = get(&format!("{url}/readyz"));
    assert_eq!(status, 200);
    assert!(terminate(child).success());
    // A damaged snapshot is refused before anything is replaced.
    std::fs::write(
        dir.0.join("b1/kith.db"),
        b"not a database at all, not even close",
    )
    .unwrap();
    let damaged = run_err(
        &dir,
        &[
            "restore",
            "--from",
            "b1",
            "--data-dir",
            "restored",
            "--force",
        ],
    );
    assert!(damaged.contains("kith.db"), "{damaged}");
    assert!(run_ok(&dir, &["migrate", "--data-dir", "restored"]).contains("schema version"));
}

#[test]
fn backup_names_pg_dump_for_postgres() {
    let dir = Dir::new("backup-pg");
    let err = run_err(
        &dir,
        &[
            "backup",
            "--out",
            "b",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ],
    );
    assert!(err.contains("pg_dump"), "{err}");
}
