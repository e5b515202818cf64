//! Process-wide counts of the work the storage layer did: statements sent, units of work
//! run (reads and writes), and commits that reached the disk or server. They cost one
//! relaxed atomic add each; the server publishes them on `/metrics`, and `kith bench http`
//! reads them there to print how many statements and transactions an order takes.
//!
//! A statement is one `execute`/`query` or one `execute_batch` call (a batch may hold
//! several SQL statements; kith's business code never sends one). On SQLite, queued writes
//! share a commit (group commit), so `commits` is lower than `writes` under load.

use std::sync::atomic::{AtomicU64, Ordering};

static STATEMENTS: AtomicU64 = AtomicU64::new(0);
static READS: AtomicU64 = AtomicU64::new(0);
static WRITES: AtomicU64 = AtomicU64::new(0);
static COMMITS: AtomicU64 = AtomicU64::new(0);
static ROUND_TRIPS: AtomicU64 = AtomicU64::new(0);
static MAPS_KEPT: AtomicU64 = AtomicU64::new(0);
static MAPS_DROPPED: AtomicU64 = AtomicU64::new(0);

/// The counts since the process started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Statements sent through [`crate::Conn`] (inside units of work).
    pub statements: u64,
    /// Read-only units of work ([`crate::Db::read`]), counting retries.
    pub reads: u64,
    /// Read-write units of work ([`crate::Db::write`]), counting retries.
    pub writes: u64,
    /// Transactions committed (on SQLite one commit may carry many writes).
    pub commits: u64,
    /// Exchanges with the PostgreSQL server: each one waits for the server once, however
    /// many statements it carries (the deferred ones, a write's `BEGIN`, its `COMMIT`).
    /// Zero on SQLite, which is in the process.
    pub round_trips: u64,
    /// SQLite read transactions that began after another connection's commit and kept
    /// their connection's memory map of the database file (the keep-map VFS, `keep_map.rs`).
    pub maps_kept: u64,
    /// Those that dropped it (the file had shrunk or outgrown the map, or its size could not
    /// be read) and mapped it again.
    pub maps_dropped: u64,
}

/// The counts so far.
pub fn counters() -> Counters {
    Counters {
        statements: STATEMENTS.load(Ordering::Relaxed),
        reads: READS.load(Ordering::Relaxed),
        writes: WRITES.load(Ordering::Relaxed),
        commits: COMMITS.load(Ordering::Relaxed),
        round_trips: ROUND_TRIPS.load(Ordering::Relaxed),
        maps_kept: MAPS_KEPT.load(Ordering::Relaxed),
        maps_dropped: MAPS_DROPPED.load(Ordering::Relaxed),
    }
}

/// Counts a statement; at `RUST_LOG=kith_store::sql=trace` also logs its SQL (to see
/// what a request sends).
pub(crate) fn statement(sql: &str) {
    tracing::trace!(target: "kith_store::sql", "{sql}");
    STATEMENTS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn unit(read_only: bool) {
    if read_only {
        READS.fetch_add(1, Ordering::Relaxed);
    } else {
        WRITES.fetch_add(1, Ordering::Relaxed);
    }
}

pub(crate) fn commit() {
    COMMITS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn round_trip() {
    ROUND_TRIPS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn map_kept() {
    MAPS_KEPT.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn map_dropped() {
    MAPS_DROPPED.fetch_add(1, Ordering::Relaxed);
}
