//! `kith backup` and `kith restore` for the embedded SQLite store.
//!
//! A backup is a directory: `kith.db`, a consistent snapshot of the database taken while
//! the server may be running (see [`kith_store::backup`]), and `media/`, the uploaded
//! files. Media files are written before the rows that name them and never changed, so
//! copying them *after* the snapshot gives every row of the snapshot its file.
//!
//! Restore refuses while any kith process has the target directory open, and refuses to
//! overwrite an existing store unless told to (`--force`).
//!
//! PostgreSQL is backed up with its own tools: `pg_dump --format=custom` (consistent
//! while kith runs) and `pg_restore` into an empty database.

use std::path::{Path, PathBuf};

use crate::config::Settings;

/// What one backup or restore copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub schema_version: i64,
    pub database_bytes: u64,
    pub media_files: u64,
}

impl std::fmt::Display for Copied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "schema version {}, database {} bytes, {} media files",
            self.schema_version, self.database_bytes, self.media_files
        )
    }
}

fn sqlite_only(settings: &Settings, what: &str) -> anyhow::Result<PathBuf> {
    anyhow::ensure!(
        settings.db.database_url.is_none(),
        "`kith {what}` is for the embedded SQLite store; for PostgreSQL use pg_dump --format=custom \
         (consistent while kith runs) and pg_restore into an empty database"
    );
    Ok(settings.db.data_dir.clone())
}

/// Copies the store of `settings` (running or not) into the new directory `out`.
pub fn backup(settings: &Settings, out: &Path) -> anyhow::Result<Copied> {
    let data_dir = sqlite_only(settings, "backup")?;
    anyhow::ensure!(
        !out.exists() || std::fs::read_dir(out)?.next().is_none(),
        "{} exists and is not empty; a backup goes into a new directory",
        out.display()
    );
    std::fs::create_dir_all(out)?;
    let info =
        kith_store::backup::snapshot_sqlite(&data_dir.join("kith.db"), &out.join("kith.db"))?;
    let media_files = copy_tree(&settings.app.media_dir, &out.join("media"))?;
    Ok(Copied {
        schema_version: info.schema_version,
        database_bytes: info.bytes,
        media_files,
    })
}

/// Restores the backup directory `from` as the store of `settings`.
pub fn restore(settings: &Settings, from: &Path, force: bool) -> anyhow::Result<Copied> {
    let data_dir = sqlite_only(settings, "restore")?;
    let snapshot = from.join("kith.db");
    anyhow::ensure!(
        snapshot.is_file(),
        "{} is not a kith backup (no kith.db in it)",
        from.display()
    );
    let target = data_dir.join("kith.db");
    anyhow::ensure!(
        force || !target.exists(),
        "{} already holds a store; pass --force to replace it",
        data_dir.display()
    );
    let info = kith_store::backup::restore_sqlite(&snapshot, &target)?;
    let media_files = copy_tree(&from.join("media"), &settings.app.media_dir)?;
    Ok(Copied {
        schema_version: info.schema_version,
        database_bytes: info.bytes,
        media_files,
    })
}

/// Copies regular files under `from` into `to`, keeping relative paths; a missing `from`
/// copies nothing. Returns the number of files.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<u64> {
    if !from.is_dir() {
        return Ok(0);
    }
    let mut count = 0;
    let mut stack = vec![from.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let rel = path.strip_prefix(from)?;
                let dest = to.join(rel);
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::copy(&path, &dest)?;
                count += 1;
            }
        }
    }
    Ok(count)
}
