//! Throw-away databases for tests. Each PostgreSQL test gets its own database, dropped
//! afterwards, on the server `KITH_TEST_POSTGRES_URL` names (`.ci/run` sets it to the local
//! server). A SQLite test's store starts as a copy of a template file with every migration
//! applied, built once per migration set ([`crate::migrate::fingerprint`]): copying takes
//! milliseconds where migrating took ~0.2 s in a debug build. A PostgreSQL story's database
//! is likewise a copy of a migrated template database on the server (`CREATE DATABASE …
//! TEMPLATE`); the first copies after the template is made take ~0.6 s, later ones ~0.1 s.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::StoreError;

/// The PostgreSQL server tests may use, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("KITH_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// A fresh database for a test's PostgreSQL variant, or `None` (with a note on stderr) when
/// no test server is set — except under `CI`, where one must be, and this panics.
pub fn database_or_skip() -> Option<TestDatabase> {
    or_skip(TestDatabase::create)
}

/// As [`database_or_skip`], with every migration applied already.
pub fn migrated_database_or_skip() -> Option<TestDatabase> {
    or_skip(TestDatabase::migrated)
}

fn or_skip(create: fn(&str) -> Result<TestDatabase, StoreError>) -> Option<TestDatabase> {
    match postgres_url() {
        Some(url) => Some(create(&url).expect("create test database")),
        None if std::env::var("CI").is_ok() => panic!("KITH_TEST_POSTGRES_URL must be set in CI"),
        None => {
            eprintln!("skipped: set KITH_TEST_POSTGRES_URL to run the PostgreSQL variant");
            None
        }
    }
}

/// A fresh, empty database on the test server; dropped (with its connections) when this
/// guard is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

/// Replaces the database name in a `postgres://…/name?…` URL.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{db}?{q}"),
        None => format!("{host_part}/{db}"),
    }
}

// The sync client builds its own runtime, which must not happen on a thread that is
// already inside one (as every #[tokio::test] is): talk to the server on a plain thread.
fn on_server<T: Send + 'static>(
    url: &str,
    work: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error> + Send + 'static,
) -> Result<T, StoreError> {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).map_err(crate::pg::map_err)?;
        work(&mut c).map_err(crate::pg::map_err)
    })
    .join()
    .map_err(|_| StoreError::Other("admin thread panicked".into()))?
}

/// Runs admin statements one at a time on one connection (CREATE DATABASE refuses to
/// share a statement string).
fn admin(url: &str, statements: Vec<String>) -> Result<(), StoreError> {
    on_server(url, move |c| {
        statements.iter().try_for_each(|sql| c.batch_execute(sql))
    })
}

/// A name no other test process uses: `prefix_pid_seq_nanos`.
fn unique_name(prefix: &str) -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether a database of this name exists on the server.
fn database_exists(url: &str, name: &str) -> Result<bool, StoreError> {
    let name = name.to_owned();
    on_server(url, move |c| {
        c.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .map(|r| r.is_some())
    })
}

/// Applies every migration to the store `cfg` opens, on a runtime of its own (callers are
/// sync and may be inside a test's runtime), then runs `then` while it is still open.
fn migrate_then(
    cfg: crate::DbConfig,
    then: impl FnOnce() -> Result<(), StoreError> + Send + 'static,
) -> Result<(), StoreError> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        rt.block_on(async {
            let db = crate::Db::open(&cfg).await?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            crate::migrate::run(&db, now).await?;
            then()
        })
    })
    .join()
    .map_err(|_| StoreError::Other("template thread panicked".into()))?
}

/// The migrated template database on this server (`kith_tpl_<fingerprint>`), built on
/// first use. Concurrent test processes may each build one; the first to rename its build
/// to the template's name wins and the others drop theirs. Builds are named `kith_t_…` so
/// `.ci/run`'s sweep of leftovers takes a killed build too.
fn postgres_template(server_url: &str) -> Result<String, StoreError> {
    static TEMPLATE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    let mut known = TEMPLATE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(name) = known.as_ref() {
        return Ok(name.clone());
    }
    let name = format!("kith_tpl_{:016x}", crate::migrate::fingerprint());
    if !database_exists(server_url, &name)? {
        let build = unique_name("kith_t_build");
        admin(server_url, vec![format!("CREATE DATABASE {build}")])?;
        let cfg = crate::DbConfig {
            data_dir: PathBuf::new(),
            database_url: Some(with_database(server_url, &build)),
            pool_size: 1,
            sqlite_sync: crate::SqliteSync::Normal,
        };
        migrate_then(cfg, || Ok(()))?;
        // The store's pool closes its connections on a thread of its own: end them here,
        // for the rename needs the database unused.
        let renamed = admin(
            server_url,
            vec![
                format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{build}' AND pid <> pg_backend_pid()"
                ),
                format!("ALTER DATABASE {build} RENAME TO {name}"),
            ],
        );
        if renamed.is_err() {
            let _ = admin(
                server_url,
                vec![format!("DROP DATABASE IF EXISTS {build} WITH (FORCE)")],
            );
            if !database_exists(server_url, &name)? {
                return Err(renamed.expect_err("checked above"));
            }
        } else {
            drop_other_templates(server_url, &name);
        }
    }
    *known = Some(name.clone());
    Ok(name)
}

/// Templates of earlier migration sets are of no more use once a new one is built.
fn drop_other_templates(server_url: &str, keep: &str) {
    let keep = keep.to_owned();
    let stale = on_server(server_url, move |c| {
        c.query(
            "SELECT datname FROM pg_database \
             WHERE datname LIKE 'kith\\_tpl\\_%' AND datname <> $1",
            &[&keep],
        )
        .map(|rows| {
            rows.iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
        })
    })
    .unwrap_or_default();
    for db in stale {
        let _ = admin(
            server_url,
            vec![format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")],
        );
    }
}

/// Migrates a new SQLite store at `dir/kith.db` and snapshots it to `dest`.
fn build_sqlite_template(dir: PathBuf, dest: PathBuf) -> Result<(), StoreError> {
    let cfg = crate::DbConfig {
        data_dir: dir.clone(),
        database_url: None,
        pool_size: 1,
        sqlite_sync: crate::SqliteSync::Normal,
    };
    migrate_then(cfg, move || {
        crate::backup::snapshot_sqlite(&dir.join("kith.db"), &dest).map(|_| ())
    })
}

/// Puts a migrated SQLite database at `data_dir/kith.db`, copied from a template file in
/// the temp directory that is built on first use (a concurrent build is harmless: each
/// writes its own file and renames it into place).
pub fn sqlite_from_template(data_dir: &Path) -> Result<(), StoreError> {
    let io = |what: &str, e: std::io::Error| StoreError::Unavailable(format!("{what}: {e}"));
    let template = std::env::temp_dir().join(format!(
        "kith-test-template-{:016x}.db",
        crate::migrate::fingerprint()
    ));
    if !template.is_file() {
        let build = std::env::temp_dir().join(unique_name("kith-test-template-build"));
        std::fs::create_dir_all(&build).map_err(|e| io("create template dir", e))?;
        let copy = build.join("template.db");
        let placed = build_sqlite_template(build.clone(), copy.clone())
            .and_then(|()| std::fs::rename(&copy, &template).map_err(|e| io("place template", e)));
        let _ = std::fs::remove_dir_all(&build);
        placed?;
        // Templates of earlier migration sets are of no more use.
        if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
            for e in entries.flatten() {
                let file = e.file_name();
                let file = file.to_string_lossy();
                if file.starts_with("kith-test-template-")
                    && file.ends_with(".db")
                    && e.path() != template
                {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
    std::fs::create_dir_all(data_dir).map_err(|e| io("create data dir", e))?;
    std::fs::copy(&template, data_dir.join("kith.db")).map_err(|e| io("copy template", e))?;
    Ok(())
}

impl TestDatabase {
    /// A fresh, empty database (the migration stories start from nothing).
    pub fn create(server_url: &str) -> Result<Self, StoreError> {
        Self::create_from(server_url, None)
    }

    /// A fresh database with every migration applied, copied from the server's template:
    /// ~0.1 s where creating and migrating took ~0.4 s of the server's CPU.
    pub fn migrated(server_url: &str) -> Result<Self, StoreError> {
        let template = postgres_template(server_url)?;
        Self::create_from(server_url, Some(&template))
    }

    fn create_from(server_url: &str, template: Option<&str>) -> Result<Self, StoreError> {
        let name = unique_name("kith_t");
        let create = match template {
            Some(t) => format!("CREATE DATABASE {name} TEMPLATE {t}"),
            None => format!("CREATE DATABASE {name}"),
        };
        // A test database need not outlive a crash of the server: commits do not wait for
        // the WAL to reach the disk (what a story sees is the same; its commits are faster).
        admin(
            server_url,
            vec![
                create,
                format!("ALTER DATABASE {name} SET synchronous_commit = off"),
            ],
        )?;
        Ok(Self {
            url: with_database(server_url, &name),
            admin_url: server_url.to_owned(),
            name,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = admin(&self.admin_url, vec![sql]) {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_database_name() {
        use super::with_database;
        assert_eq!(
            with_database("postgres://u@h:5432/test", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
