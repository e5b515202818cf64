//! The embedded engine: SQLite in WAL mode through rusqlite.
//!
//! SQLite allows one writer at a time, so one connection on its own thread owns every
//! write. Writers queue closures to it; the thread takes whatever is queued (up to
//! [`GROUP_COMMIT_MAX`]), runs each in its own savepoint inside one `BEGIN IMMEDIATE`
//! transaction, commits once, and only then answers each caller. A closure that fails rolls
//! back to its savepoint and leaves the others' work intact. Reads run on separate
//! read-only connections and never wait for the writer; they read the file through a
//! memory map that outlives other connections' commits (`keep_map`).
//!
//! The WAL is copied back into the database file (checkpointed) by a thread of its own
//! with its own connection, not by the writer: SQLite's automatic checkpoint runs on the
//! connection that commits, and its copy and `fsync` held up every write queued behind it
//! (~6 % of the server's CPU in `kith bench http`, all on the one writer thread).

use std::path::Path;
use std::sync::mpsc;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::conn::{Conn, Engine};
use crate::{Row, StoreError, Value};

/// Most closures that share one commit. Bounds the latency a long batch adds to its first
/// caller.
pub const GROUP_COMMIT_MAX: usize = 64;

/// How much of the database file a connection reads through a memory map (SQLite's
/// `mmap_size`) instead of copying pages into its own 16 MB cache. Reads that
/// wander over a database far larger than the cache — a trusted-feed page searches each
/// followee's posts — then cost a memory access instead of a system call and a copy: on
/// `kith bench feed --scale reference`'s 600 MB database, a hundred readers'
/// first-window statements in turn took ~2.5 ms each instead of ~3.2 ms (the SQLite
/// shell). The mapped pages are the operating system's file cache, shared by every
/// connection. A read connection keeps its map when others commit (`keep_map`).
pub(crate) const MMAP_BYTES: u64 = 1 << 30;

pub(crate) struct SqliteConn<'c, 's> {
    pub(crate) conn: &'c Connection,
    /// A statement failed. As on PostgreSQL (where the transaction is then aborted), a
    /// unit of work that swallowed the error is not committed: both engines keep one rule.
    pub(crate) failed: bool,
    /// The writer's own prepared statements; `None` on a read connection, which uses the
    /// connection's statement cache.
    prepared: Option<&'s mut Prepared<'c>>,
}

impl<'c> SqliteConn<'c, '_> {
    /// A read connection's unit of work.
    pub(crate) fn new(conn: &'c Connection) -> Self {
        Self {
            conn,
            failed: false,
            prepared: None,
        }
    }
}

impl<'c, 's> SqliteConn<'c, 's> {
    /// A unit of work on the writer, with the writer's prepared statements.
    fn writer(conn: &'c Connection, prepared: &'s mut Prepared<'c>) -> Self {
        Self {
            conn,
            failed: false,
            prepared: Some(prepared),
        }
    }
}

/// The writer thread's prepared statements, by their SQL text as the caller wrote it, each
/// with where its placeholders take their values ([`placeholder_order`]). The writer runs
/// every write of the process, so its statements are found by one hash of the text and used
/// in place: rusqlite's cache, which the read connections use, takes a statement out and
/// puts it back on every use (two hashes, the text copied into a new key each time) and
/// the placeholders' names would be read again. When it holds [`PREPARED_MAX`] statements
/// a new one takes the place of one of them (kith's SQL is fixed text: its writes fit many
/// times over).
pub(crate) type Prepared<'c> = hashbrown::HashMap<Box<str>, (rusqlite::Statement<'c>, Vec<usize>)>;

/// Most statements the writer keeps prepared.
const PREPARED_MAX: usize = 512;

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Bytes(b) => ValueRef::Blob(b),
        }))
    }
}

/// Where each placeholder of `stmt` takes its value: `order[i]` is the index in the values
/// of placeholder `i + 1`. SQLite reads `$1` as a parameter *named* "$1" (its tokenizer
/// already skips string literals, quoted names and comments) and numbers named parameters
/// in the order they first appear, so each parameter's name says which value it takes; the
/// SQL text is prepared as written, the same text PostgreSQL gets. As on PostgreSQL, no
/// number may be skipped: `$1`…`$n`, each at least once.
fn placeholder_order(stmt: &rusqlite::Statement<'_>) -> Result<Vec<usize>, StoreError> {
    let count = stmt.parameter_count();
    (1..=count)
        .map(|index| {
            let name = stmt.parameter_name(index).unwrap_or("?");
            // `$01` would be a second name for the first value (SQLite tells names apart by
            // their text); only the plain number is taken.
            let number = name
                .strip_prefix('$')
                .filter(|n| !n.starts_with('0'))
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| {
                    StoreError::Other(format!("placeholder {name} is not of the form $n"))
                })?;
            if (1..=count).contains(&number) {
                Ok(number - 1)
            } else {
                Err(StoreError::Other(format!(
                    "placeholder {name} is not one of $1..${count}: a number is skipped"
                )))
            }
        })
        .collect()
}

/// Binds `params` in `order` ([`placeholder_order`]). Every value must be taken.
fn bind(
    stmt: &mut rusqlite::Statement<'_>,
    order: &[usize],
    params: &[Value],
) -> Result<(), StoreError> {
    if order.len() != params.len() {
        return Err(StoreError::Other(format!(
            "the statement has {} distinct placeholders, {} values were given",
            order.len(),
            params.len()
        )));
    }
    for (index, &value) in order.iter().enumerate() {
        stmt.raw_bind_parameter(index + 1, &params[value])
            .map_err(map_err)?;
    }
    Ok(())
}

pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg) => {
            let msg = msg.clone().unwrap_or_else(|| e.to_string());
            match f.code {
                ErrorCode::ConstraintViolation => match f.extended_code {
                    // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
                    2067 | 1555 => StoreError::Unique { constraint: msg },
                    _ => StoreError::Constraint { detail: msg },
                },
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Retryable(msg),
                ErrorCode::CannotOpen | ErrorCode::NotADatabase | ErrorCode::ReadOnly => {
                    StoreError::Unavailable(msg)
                }
                _ => StoreError::Other(msg),
            }
        }
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
        _ => StoreError::Other(e.to_string()),
    }
}

impl Conn for SqliteConn<'_, '_> {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        crate::stats::statement(sql);
        let res = self.execute_inner(sql, params);
        self.failed |= res.is_err();
        res
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        crate::stats::statement(sql);
        let res = self.query_inner(sql, params);
        self.failed |= res.is_err();
        res
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        crate::stats::statement(sql);
        let res = self.conn.execute_batch(sql).map_err(map_err);
        self.failed |= res.is_err();
        res
    }
}

impl SqliteConn<'_, '_> {
    /// Runs `run` on the statement for `sql`, its placeholders bound to `params`: the
    /// writer's own prepared statement, or one from the connection's cache.
    fn with_statement<T>(
        &mut self,
        sql: &str,
        params: &[Value],
        run: impl FnOnce(&mut rusqlite::Statement<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self.prepared.as_deref_mut() {
            Some(prepared) => {
                if prepared.len() >= PREPARED_MAX && !prepared.contains_key(sql) {
                    crate::evict_one(prepared);
                }
                let (stmt, order) = match prepared.entry_ref(sql) {
                    hashbrown::hash_map::EntryRef::Occupied(found) => found.into_mut(),
                    hashbrown::hash_map::EntryRef::Vacant(slot) => {
                        // Kept long: SQLite is told so (as rusqlite's cache tells it).
                        let stmt = self
                            .conn
                            .prepare_with_flags(sql, rusqlite::PrepFlags::SQLITE_PREPARE_PERSISTENT)
                            .map_err(map_err)?;
                        let order = placeholder_order(&stmt)?;
                        slot.insert((stmt, order))
                    }
                };
                let answer = bind(stmt, order, params).and_then(|()| run(stmt));
                // Bound values hold memory from the connection's pool for small allocations
                // (lookaside) until freed; left bound in dozens of idle statements they
                // emptied it, and SQLite's allocations went to malloc instead (callgrind: an
                // order's two units of work +5 %, against −7 % with this).
                stmt.clear_bindings();
                answer
            }
            None => {
                let mut stmt = self.conn.prepare_cached(sql).map_err(map_err)?;
                let order = placeholder_order(&stmt)?;
                bind(&mut stmt, &order, params)?;
                run(&mut stmt)
            }
        }
    }

    fn execute_inner(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        self.with_statement(sql, params, |stmt| {
            stmt.raw_execute().map(|n| n as u64).map_err(map_err)
        })
    }

    fn query_inner(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        self.with_statement(sql, params, |stmt| {
            let ncols = stmt.column_count();
            let mut rows = stmt.raw_query();
            let mut out = Vec::new();
            while let Some(r) = rows.next().map_err(map_err)? {
                out.push(row_of(r, ncols)?);
            }
            Ok(out)
        })
    }
}

/// One SQLite row's `ncols` columns as owned [`Value`]s.
fn row_of(r: &rusqlite::Row<'_>, ncols: usize) -> Result<Row, StoreError> {
    let mut vals = Vec::with_capacity(ncols);
    for i in 0..ncols {
        vals.push(match r.get_ref(i).map_err(map_err)? {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Int(i),
            ValueRef::Real(f) => {
                return Err(StoreError::Decode(format!(
                    "column {i} is a float ({f}); kith stores no floats"
                )));
            }
            ValueRef::Text(t) => Value::Text(match std::str::from_utf8(t) {
                Ok(text) => text.to_owned(),
                Err(_) => String::from_utf8_lossy(t).into_owned(),
            }),
            ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
        });
    }
    Ok(Row(vals))
}

/// How hard SQLite syncs to disk. `Normal` in WAL mode survives a crash of the process
/// (every commit is in the WAL); `Full` also survives power loss, at a cost per commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSync {
    #[default]
    Normal,
    Full,
}

pub(crate) fn open(
    path: &Path,
    read_only: bool,
    sync: SqliteSync,
) -> Result<Connection, StoreError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI
    };
    // A reader keeps its map across other connections' commits (see `keep_map`); the writer
    // and the checkpointer keep SQLite's own behaviour.
    let conn = match crate::keep_map::name() {
        Some(vfs) if read_only => Connection::open_with_flags_and_vfs(path, flags, vfs),
        _ => Connection::open_with_flags(path, flags),
    }
    .map_err(map_err)?;
    let sync = match sync {
        SqliteSync::Normal => "NORMAL",
        SqliteSync::Full => "FULL",
    };
    let mut pragmas = format!(
        "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = {sync}; \
         PRAGMA cache_size = -16000; PRAGMA temp_store = MEMORY; PRAGMA mmap_size = {MMAP_BYTES};"
    );
    if !read_only {
        pragmas.push_str(" PRAGMA journal_mode = WAL;");
    }
    conn.execute_batch(&pragmas).map_err(map_err)?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

/// One queued unit of work. It runs inside the batch's transaction and hands back whether
/// it succeeded and a callback that delivers its result once the commit's fate is known.
pub(crate) type WriteJob = Box<
    dyn FnOnce(&mut SqliteConn<'_, '_>) -> (bool, Box<dyn FnOnce(Result<(), StoreError>) + Send>)
        + Send,
>;

/// After a checkpoint, the checkpointer waits this long before the next, so a busy writer's
/// commits are copied back in batches (one `fsync` of the database file each), not one by
/// one.
const CHECKPOINT_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// Starts the writer thread on `conn` and the checkpointer thread on `checkpointer` (a
/// second read-write connection to the same file). The writer's own automatic checkpoint is
/// turned off; after each commit it tells the checkpointer, which runs a `PASSIVE`
/// checkpoint (it never blocks the writer or a reader) and pauses [`CHECKPOINT_PAUSE`].
/// Once the WAL has been copied back and no reader still reads it, SQLite starts it again
/// from the beginning at the next write, so it stays as small as before. Both threads end
/// when the last sender of jobs is dropped.
pub(crate) fn spawn_writer(
    conn: Connection,
    checkpointer: Connection,
) -> Result<mpsc::Sender<WriteJob>, StoreError> {
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(map_err)?;
    // One pending tick is enough: commits while a checkpoint runs are all covered by the next.
    let (tick, ticks) = mpsc::sync_channel::<()>(1);
    let checkpoints = std::thread::Builder::new()
        .name("kith-sqlite-checkpoint".into())
        .spawn(move || checkpoint_loop(checkpointer, ticks))
        .map_err(|e| StoreError::Other(format!("spawn checkpoint thread: {e}")))?;
    let (tx, rx) = mpsc::channel::<WriteJob>();
    std::thread::Builder::new()
        .name("kith-sqlite-writer".into())
        .spawn(move || {
            writer_loop(conn, rx, &tick);
            drop(tick);
            let _ = checkpoints.join();
        })
        .map_err(|e| StoreError::Other(format!("spawn writer thread: {e}")))?;
    Ok(tx)
}

fn checkpoint_loop(conn: Connection, ticks: mpsc::Receiver<()>) {
    // A tick taken during the pause is remembered here, not lost.
    let mut asked = false;
    loop {
        if !asked && ticks.recv().is_err() {
            return;
        }
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            // Busy (another checkpoint, e.g. a backup's) or an I/O error: the next commit
            // asks again; the WAL only grows meanwhile.
            tracing::warn!(error = %map_err(e), "sqlite checkpoint failed");
        }
        // The pause ends at once when the writer is gone, so the connection closes with it.
        asked = false;
        let until = std::time::Instant::now() + CHECKPOINT_PAUSE;
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            match ticks.recv_timeout(left) {
                Ok(()) => asked = true,
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

/// Runs one statement of transaction control (`BEGIN`, `SAVEPOINT`, `COMMIT`…) from the
/// connection's statement cache: parsed once a connection, not once a unit of work.
pub(crate) fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// Undoes the current job's work and ends its savepoint; the batch's transaction goes on.
fn undo_job(conn: &Connection) -> rusqlite::Result<()> {
    control(conn, "ROLLBACK TO job")?;
    control(conn, "RELEASE job")
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<WriteJob>, tick: &mpsc::SyncSender<()>) {
    let mut prepared = Prepared::default();
    // Ends when every sender (every Db clone) is dropped.
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < GROUP_COMMIT_MAX {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut done = Vec::with_capacity(batch.len());
        if let Err(e) = control(&conn, "BEGIN IMMEDIATE") {
            // Dropping the jobs drops their answer channels: each caller sees the failure.
            tracing::error!(error = %map_err(e), "sqlite writer could not begin a transaction");
            continue;
        }
        for job in batch {
            if control(&conn, "SAVEPOINT job").is_err() {
                continue;
            }
            crate::stats::unit(false);
            let mut sc = SqliteConn::writer(&conn, &mut prepared);
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut sc)));
            match outcome {
                Ok((true, deliver)) => {
                    let _ = control(&conn, "RELEASE job");
                    done.push(deliver);
                }
                Ok((false, deliver)) => {
                    let _ = undo_job(&conn);
                    done.push(deliver);
                }
                Err(_) => {
                    // The caller's channel is dropped with the job; it sees the failure.
                    tracing::error!("a write closure panicked; its work was rolled back");
                    let _ = undo_job(&conn);
                }
            }
        }
        let commit = control(&conn, "COMMIT").map_err(map_err);
        if commit.is_err() {
            let _ = control(&conn, "ROLLBACK");
        } else {
            crate::stats::commit();
            // Full: a checkpoint is already asked for.
            let _ = tick.try_send(());
        }
        for deliver in done {
            deliver(commit.clone());
        }
    }
}
