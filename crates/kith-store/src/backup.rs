//! Online backup and restore of the embedded SQLite store.
//!
//! - [`snapshot_sqlite`] copies a database that may be in use by a running server:
//!   `VACUUM INTO` reads inside one read transaction, so the copy is a consistent snapshot
//!   of one committed state (WAL lets the server keep writing meanwhile), and the copy is
//!   a plain, compacted database file without a WAL.
//! - [`restore_sqlite`] puts a snapshot back as a data directory's `kith.db`, only when no
//!   kith process has that directory open: every [`Db`](crate::Db) on SQLite holds a
//!   *shared* lock on `kith.lock` beside the database for its lifetime, and restore needs
//!   the *exclusive* one.
//!
//! Both check the file they produce or consume: `PRAGMA integrity_check` must say `ok`
//! and its schema version must be one this binary knows. PostgreSQL is backed up with its
//! own tools (`pg_dump`/`pg_restore`), which are consistent online already.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::StoreError;
use crate::migrate::MIGRATIONS;

/// What a snapshot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub schema_version: i64,
    pub bytes: u64,
}

fn unavailable(what: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(what.to_string())
}

/// The lock file that marks a SQLite data directory as in use.
pub fn lock_path(db_path: &Path) -> PathBuf {
    db_path.with_extension("lock")
}

/// Takes the shared "in use" lock on the database at `db_path`; held until dropped.
pub(crate) fn lock_shared(db_path: &Path) -> Result<File, StoreError> {
    let path = lock_path(db_path);
    let file = open_lock(&path)?;
    match file.try_lock_shared() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(unavailable(format!(
            "{} is being restored; try again when the restore has finished",
            db_path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(unavailable(format!("lock {}: {e}", path.display())))
        }
    }
}

fn open_lock(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| unavailable(format!("open {}: {e}", path.display())))
}

/// Checks a database file: intact, and at a schema version this binary can run.
pub fn verify_sqlite(path: &Path) -> Result<SnapshotInfo, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| unavailable(format!("open {}: {e}", path.display())))?;
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| unavailable(format!("check {}: {e}", path.display())))?;
    if check != "ok" {
        return Err(unavailable(format!(
            "{} is damaged: {check}",
            path.display()
        )));
    }
    let version: Option<i64> = conn
        .query_row("SELECT max(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .map_err(|e| unavailable(format!("{} is not a kith database: {e}", path.display())))?;
    let version = version.unwrap_or(0);
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if version > known {
        return Err(unavailable(format!(
            "{} is at schema version {version}, newer than this kith ({known}); use a newer kith",
            path.display()
        )));
    }
    let bytes = std::fs::metadata(path)
        .map_err(|e| unavailable(format!("stat {}: {e}", path.display())))?
        .len();
    Ok(SnapshotInfo {
        schema_version: version,
        bytes,
    })
}

/// Writes a consistent copy of the live database at `src` to `dest` (which must not
/// exist), then verifies the copy.
pub fn snapshot_sqlite(src: &Path, dest: &Path) -> Result<SnapshotInfo, StoreError> {
    if !src.is_file() {
        return Err(unavailable(format!("no database at {}", src.display())));
    }
    if dest.exists() {
        return Err(unavailable(format!("{} already exists", dest.display())));
    }
    // Read-only: a backup never writes to the live store (no CREATE: a wrong path must
    // not leave an empty database behind).
    let conn = Connection::open_with_flags(
        src,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| unavailable(format!("open {}: {e}", src.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(|e| unavailable(e.to_string()))?;
    let target = dest
        .to_str()
        .ok_or_else(|| unavailable(format!("{} is not valid UTF-8", dest.display())))?;
    conn.execute("VACUUM INTO ?1", [target])
        .map_err(|e| unavailable(format!("copy to {}: {e}", dest.display())))?;
    drop(conn);
    File::open(dest)
        .and_then(|f| f.sync_all())
        .map_err(|e| unavailable(format!("sync {}: {e}", dest.display())))?;
    verify_sqlite(dest)
}

/// Replaces `db_path` (a data directory's `kith.db`) with the snapshot at `snapshot`.
/// Refused while any kith process has the store open. The old WAL and shared-memory
/// files are removed first: their frames belong to the old database.
pub fn restore_sqlite(snapshot: &Path, db_path: &Path) -> Result<SnapshotInfo, StoreError> {
    let info = verify_sqlite(snapshot)?;
    if let Some(dir) = db_path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| unavailable(format!("create {}: {e}", dir.display())))?;
    }
    let lock = open_lock(&lock_path(db_path))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(unavailable(format!(
                "a kith process has {} open; stop it before restoring",
                db_path.display()
            )));
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(unavailable(format!("lock {}: {e}", db_path.display())));
        }
    }
    let tmp = db_path.with_extension("db.restoring");
    let _ = std::fs::remove_file(&tmp);
    std::fs::copy(snapshot, &tmp)
        .and_then(|_| File::open(&tmp)?.sync_all())
        .map_err(|e| unavailable(format!("copy to {}: {e}", tmp.display())))?;
    for suffix in ["db-wal", "db-shm"] {
        let side = db_path.with_extension(suffix);
        match std::fs::remove_file(&side) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(unavailable(format!("remove {}: {e}", side.display()))),
        }
    }
    std::fs::rename(&tmp, db_path)
        .map_err(|e| unavailable(format!("move into {}: {e}", db_path.display())))?;
    if let Some(dir) = db_path.parent()
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
    drop(lock);
    Ok(info)
}
