//! [`Db`]: the handle every service holds. Cloning is cheap; all clones share the engine.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;

use rusqlite::Connection;

use crate::conn::{Conn, Engine};
use crate::pg::{PgClient, PgConn, Tx};
use crate::pool::Pool;
pub use crate::sqlite::SqliteSync;
use crate::sqlite::{self, SqliteConn, WriteJob};
use crate::{StoreError, TxError};

/// How to reach storage. Exactly one engine: PostgreSQL when `database_url` is set,
/// otherwise SQLite in `data_dir`.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// `postgres://…`; `None` for the embedded SQLite default.
    pub database_url: Option<String>,
    /// Where the SQLite file (`kith.db`) lives; created if missing.
    pub data_dir: PathBuf,
    pub sqlite_sync: SqliteSync,
    /// PostgreSQL connections, or SQLite read connections for [`Db::read`] (opened when
    /// first needed). Writes on SQLite always go through the one writer thread.
    pub pool_size: usize,
}

/// Times a unit of work is retried after a serialization failure or deadlock before the
/// error reaches the caller.
const MAX_RETRIES: u32 = 5;

#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

enum Inner {
    Sqlite {
        path: PathBuf,
        sync: SqliteSync,
        /// The shared "in use" lock on `kith.lock`: restore waits for every holder to go.
        _lock: std::fs::File,
        writer: mpsc::Sender<WriteJob>,
        /// Read-only connections, each reading the file through a memory map it keeps
        /// across other connections' commits (`keep_map`).
        readers: Pool<Connection>,
    },
    Postgres {
        url: String,
        pool: Pool<PgClient>,
    },
}

impl Drop for Inner {
    /// A pooled PostgreSQL connection owns the small runtime that drives it, and dropping a
    /// runtime panics on an async worker thread; close idle clients on a plain thread instead.
    fn drop(&mut self) {
        if let Inner::Postgres { pool, .. } = self {
            let idle = pool.take_idle();
            if !idle.is_empty() {
                let _ = std::thread::Builder::new()
                    .name("kith-pg-close".into())
                    .spawn(move || drop(idle));
            }
        }
    }
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({})", self.engine().as_str())
    }
}

impl Db {
    pub async fn open(cfg: &DbConfig) -> Result<Db, StoreError> {
        match &cfg.database_url {
            Some(url) => Self::connect_postgres(url, cfg.pool_size).await,
            None => {
                std::fs::create_dir_all(&cfg.data_dir).map_err(|e| {
                    StoreError::Unavailable(format!("create {}: {e}", cfg.data_dir.display()))
                })?;
                Self::open_sqlite(
                    &cfg.data_dir.join("kith.db"),
                    cfg.sqlite_sync,
                    cfg.pool_size,
                )
                .await
            }
        }
    }

    pub async fn open_sqlite(
        path: &Path,
        sync: SqliteSync,
        readers: usize,
    ) -> Result<Db, StoreError> {
        let path = path.to_owned();
        let lock = crate::backup::lock_shared(&path)?;
        let p = path.clone();
        let (conn, checkpointer) = tokio::task::spawn_blocking(move || {
            Ok::<_, StoreError>((
                sqlite::open(&p, false, sync)?,
                sqlite::open(&p, false, sync)?,
            ))
        })
        .await
        .map_err(|e| StoreError::Other(e.to_string()))??;
        let writer = sqlite::spawn_writer(conn, checkpointer)?;
        Ok(Db {
            inner: Arc::new(Inner::Sqlite {
                path,
                sync,
                _lock: lock,
                writer,
                readers: Pool::new(readers.clamp(1, 64)),
            }),
        })
    }

    pub async fn connect_postgres(url: &str, pool_size: usize) -> Result<Db, StoreError> {
        let db = Db {
            inner: Arc::new(Inner::Postgres {
                url: url.to_owned(),
                pool: Pool::new(pool_size.clamp(1, 256)),
            }),
        };
        // Fail at start, not at the first request, when the server is unreachable.
        db.ping().await?;
        Ok(db)
    }

    pub fn engine(&self) -> Engine {
        match &*self.inner {
            Inner::Sqlite { .. } => Engine::Sqlite,
            Inner::Postgres { .. } => Engine::Postgres,
        }
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| c.query_one("SELECT 1", &[]).map(|_| ()))
            .await
    }

    /// Runs `f` in one read-write transaction. It commits when `f` returns `Ok` and rolls
    /// back when it returns `Err`. On PostgreSQL a serialization failure or deadlock runs
    /// `f` again (up to 5 times), so `f` must not have effects outside the transaction.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnMut(&mut dyn Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: TxError,
    {
        match &*self.inner {
            Inner::Sqlite { writer, .. } => sqlite_write(writer, f).await,
            Inner::Postgres { .. } => self.pg_run(f, false).await,
        }
    }

    /// Runs `f` on a read connection: in one transaction on SQLite (a consistent snapshot),
    /// statement by statement on PostgreSQL, where READ COMMITTED gives each statement its own
    /// snapshot inside a transaction too (`pg_read`).
    ///
    /// On SQLite the connection reads the database file through a memory map and keeps it
    /// when other connections commit (`keep_map`): a read that wanders over many pages (a
    /// trusted-feed page, a page of search results) costs memory accesses, not a system call
    /// and a copy per page, and a read of a few rows by key (a session) costs no more than
    /// with plain reads.
    pub async fn read<T, E, F>(&self, mut f: F) -> Result<T, E>
    where
        F: FnMut(&mut dyn Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: TxError,
    {
        let (path, sync, readers) = match &*self.inner {
            Inner::Sqlite {
                path,
                sync,
                readers,
                ..
            } => (path, sync, readers),
            Inner::Postgres { .. } => return self.pg_run(f, true).await,
        };
        let (lease, idle) = readers.checkout().await;
        let (path, sync, db) = (path.clone(), *sync, self.clone());
        tokio::task::spawn_blocking(move || {
            let _lease = lease;
            let conn = match idle {
                Some(c) => c,
                None => sqlite::open(&path, true, sync)?,
            };
            sqlite::control(&conn, "BEGIN").map_err(sqlite::map_err)?;
            crate::stats::unit(true);
            let mut sc = SqliteConn::new(&conn);
            let out = match f(&mut sc) {
                Ok(_) if sc.failed => Err(E::from(swallowed())),
                other => other,
            };
            let _ = sqlite::control(&conn, "ROLLBACK");
            if let Inner::Sqlite { readers, .. } = &*db.inner {
                readers.give_back(conn);
            }
            out
        })
        .await
        .unwrap_or_else(|e| Err(E::from(StoreError::Other(format!("read task failed: {e}")))))
    }

    async fn pg_run<T, E, F>(&self, mut f: F, read_only: bool) -> Result<T, E>
    where
        F: FnMut(&mut dyn Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: TxError,
    {
        let Inner::Postgres { pool, url } = &*self.inner else {
            unreachable!("pg_run on a SQLite Db")
        };
        let (lease, idle) = pool.checkout().await;
        let (url, inner) = (url.clone(), self.inner.clone());
        tokio::task::spawn_blocking(move || {
            let _lease = lease;
            let mut pc = match idle {
                Some(c) if !c.is_closed() => c,
                _ => crate::pg::connect(&url)?,
            };
            let out = if read_only {
                pg_read(&mut pc, &mut f)
            } else {
                pg_write(&mut pc, &mut f)
            };
            if let Inner::Postgres { pool, .. } = &*inner
                && !pc.is_closed()
            {
                pool.give_back(pc);
            }
            out
        })
        .await
        .unwrap_or_else(|e| {
            Err(E::from(StoreError::Other(format!(
                "storage task failed: {e}"
            ))))
        })
    }

    /// Where the data lives, for logs and `kith status`: the SQLite file, or the
    /// PostgreSQL URL without its password.
    pub fn describe(&self) -> String {
        match &*self.inner {
            Inner::Sqlite { path, .. } => format!("sqlite:{}", path.display()),
            Inner::Postgres { url, .. } => crate::pg::describe_url(url),
        }
    }

    /// The SQLite file, if this is the embedded engine (backups use it).
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &*self.inner {
            Inner::Sqlite { path, .. } => Some(path),
            Inner::Postgres { .. } => None,
        }
    }
}

/// A read on PostgreSQL: the statements go straight to the client, with no `BEGIN` and
/// `COMMIT` around them. At PostgreSQL's READ COMMITTED each statement of a transaction
/// sees its own snapshot anyway, so the transaction bought a read nothing but two more
/// round trips (ARCHITECTURE: "Where the time goes for an order"). A read still cannot
/// write: every connection starts with `default_transaction_read_only` on
/// ([`crate::pg::connect`]), so each statement's own transaction is read-only, and only
/// [`pg_write`] opens one that is not.
fn pg_read<T, E, F>(pc: &mut PgClient, f: &mut F) -> Result<T, E>
where
    F: FnMut(&mut dyn Conn) -> Result<T, E>,
    E: TxError,
{
    let mut conn = PgConn::new(pc, Tx::None);
    crate::stats::unit(true);
    match f(&mut conn) {
        Ok(_) if conn.failed => Err(E::from(swallowed())),
        other => other,
    }
}

/// A write on PostgreSQL: one transaction, `READ WRITE` (the connection's default is
/// read-only, `pg::connect`), begun with its first statement and committed with its last
/// deferred ones when `f` returns `Ok`; a serialization failure or deadlock runs `f` again.
fn pg_write<T, E, F>(pc: &mut PgClient, f: &mut F) -> Result<T, E>
where
    F: FnMut(&mut dyn Conn) -> Result<T, E>,
    E: TxError,
{
    let mut attempt = 0;
    loop {
        let mut conn = PgConn::new(pc, Tx::Pending);
        crate::stats::unit(false);
        let res = match f(&mut conn) {
            Ok(_) if conn.failed => Err(E::from(swallowed())),
            Ok(v) => conn
                .commit()
                .map(|()| {
                    crate::stats::commit();
                    v
                })
                .map_err(E::from),
            Err(e) => Err(e),
        };
        let res = res.inspect_err(|_| conn.rollback());
        match res {
            Err(e) if e.is_retryable() && attempt < MAX_RETRIES => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(2u64 << attempt));
            }
            other => break other,
        }
    }
}

/// A unit of work returned Ok after one of its statements failed: refused on both
/// engines (see [`Conn`]), because PostgreSQL would have silently rolled it back.
fn swallowed() -> StoreError {
    StoreError::Other(
        "a statement failed inside this unit of work and its error was not returned; a statement error ends the transaction".into(),
    )
}

async fn sqlite_write<T, E, F>(writer: &mpsc::Sender<WriteJob>, mut f: F) -> Result<T, E>
where
    F: FnMut(&mut dyn Conn) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: TxError,
{
    let (tx, rx) = tokio::sync::oneshot::channel::<Result<T, E>>();
    let job: WriteJob = Box::new(move |conn: &mut SqliteConn<'_, '_>| {
        let res = match f(conn) {
            Ok(_) if conn.failed => Err(E::from(swallowed())),
            other => other,
        };
        let ok = res.is_ok();
        let deliver: Box<dyn FnOnce(Result<(), StoreError>) + Send> =
            Box::new(move |commit: Result<(), StoreError>| {
                let out = match (commit, res) {
                    (Ok(()), res) => res,
                    (Err(e), Ok(_)) => Err(E::from(e)),
                    (Err(_), Err(e)) => Err(e),
                };
                let _ = tx.send(out);
            });
        (ok, deliver)
    });
    writer.send(job).map_err(|_| {
        E::from(StoreError::Unavailable(
            "the SQLite writer has stopped".into(),
        ))
    })?;
    rx.await.unwrap_or_else(|_| {
        Err(E::from(StoreError::Other(
            "the write was abandoned (it panicked or its transaction could not begin)".into(),
        )))
    })
}
