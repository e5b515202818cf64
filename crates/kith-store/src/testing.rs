//! Throw-away PostgreSQL databases for tests: each test gets its own, dropped afterwards.
//! The server comes from `KITH_TEST_POSTGRES_URL` (`.ci/run` sets it to the local server).

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
    match postgres_url() {
        Some(url) => Some(TestDatabase::create(&url).expect("create test database")),
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
// already inside one (as every #[tokio::test] is): run admin statements on a plain thread.
fn admin(url: &str, sql: String) -> Result<(), StoreError> {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).map_err(crate::pg::map_err)?;
        c.batch_execute(&sql).map_err(crate::pg::map_err)
    })
    .join()
    .map_err(|_| StoreError::Other("admin thread panicked".into()))?
}

impl TestDatabase {
    pub fn create(server_url: &str) -> Result<Self, StoreError> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let name = format!(
            "kith_t_{}_{}_{nanos}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        admin(server_url, format!("CREATE DATABASE {name}"))?;
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
        if let Err(e) = admin(&self.admin_url, sql) {
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
