//! # kith-store
//!
//! The two storage engines behind one small interface.
//!
//! ## Layout
//! - [`value`]: the values that cross the boundary ([`Value`], [`Row`]) and their decoding.
//! - [`conn`]: the [`Conn`] trait — execute and query plain SQL inside one transaction.
//! - [`sqlite`]: the embedded engine. One writer connection on its own thread owns every
//!   write; queued writes share a commit (group commit), each in its own savepoint; a thread
//!   of its own checkpoints the WAL. A few read-only connections serve reads in parallel
//!   (WAL), each through a memory map of the file that it keeps across other connections'
//!   commits: they open with the keep-map VFS (`keep_map`), SQLite's `unix` VFS with that
//!   one change.
//! - [`pg`]: PostgreSQL through `tokio-postgres`, each pooled connection driven on the
//!   blocking pool by a small runtime of its own, with a small connection pool,
//!   per-connection statement cache, and retry of serialization failures.
//! - [`migrate`]: the per-engine migration folders, applied in order, each in its own
//!   transaction, without advisory locks (CockroachDB has none).
//! - [`stats`]: process-wide counts of statements, units of work, commits and SQLite maps
//!   kept or dropped (for `/metrics` and the benchmarks).
//! - [`testing`]: fresh throw-away PostgreSQL databases for tests.
//!
//! ## Why one SQL dialect for rules
//! Business code is written once against [`Conn`] with `$1`-style placeholders; SQLite
//! takes the same text (`$1` is a parameter it names "$1", bound by that name). The
//! PostgreSQL schema uses native `uuid`, `timestamptz` and `boolean` columns, and [`Value`]
//! converts to and from them by the column's type, so rules see the same integers (Unix
//! milliseconds, 0/1) and strings on both engines. Where an engine needs different SQL
//! (row locks), code asks [`Conn::engine`].
//!
//! Architecture invariant: this crate knows no business rule. It moves rows.

pub mod backup;
pub mod conn;
pub mod error;
pub mod migrate;
pub mod pg;
pub mod sqlite;
pub mod stats;
pub mod testing;
pub mod value;

mod db;
mod keep_map;
mod pool;

pub use conn::{Conn, Engine};
pub use db::{Db, DbConfig, SqliteSync};
pub use error::{StoreError, TxError};
pub use value::{FromValue, Row, Value};

/// `$start, $start+1, …` for an `IN (…)` list of `n` values.
pub fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Builds a `&[Value]` parameter list: `args![id, name, now]`.
#[macro_export]
macro_rules! args {
    () => { &[] as &[$crate::Value] };
    ($($x:expr),+ $(,)?) => { &[$($crate::Value::from($x)),+] as &[$crate::Value] };
}

/// Announces a read ([`Conn::prefetch`]) — `prefetch!(c, SQL, value, …)` — building its
/// values only where announcing saves something ([`Conn::pipelines`]: PostgreSQL), so on
/// SQLite an announcement costs a branch, not copies of its values.
#[macro_export]
macro_rules! prefetch {
    ($c:expr, $sql:expr, $($x:expr),+ $(,)?) => {{
        let c: &mut dyn $crate::Conn = $c;
        if c.pipelines() {
            c.prefetch($sql, $crate::args![$($x),+])
        } else {
            Ok(())
        }
    }};
}

/// Declares a read model's column list once, with a name for every position, so a decoder
/// reads `r.int(OrderCols::total_fen)` instead of counting to `r.int(10)` in a list kept
/// elsewhere. Adding, removing or reordering a column then changes one list, and every
/// decoder follows it.
///
/// Plain columns: `columns!(pub(crate) OrderCols { id, merchant_id, status });` gives
/// `OrderCols::LIST == "id, merchant_id, status"` and `OrderCols::status == 2`.
/// Expressions (joins, aliases): `columns!(CampaignCols { "c.id" => id, "p.name" => product_name });`.
#[macro_export]
macro_rules! columns {
    ($vis:vis $name:ident { $c0:ident $(, $c:ident)* $(,)? }) => {
        $vis struct $name;
        impl $name {
            /// The columns, in order, for a `SELECT`.
            #[allow(dead_code)]
            $vis const LIST: &'static str = concat!(stringify!($c0) $(, ", ", stringify!($c))*);
            /// How many columns: the position of a column selected after the list.
            #[allow(dead_code)]
            $vis const LEN: usize = [stringify!($c0) $(, stringify!($c))*].len();
        }
        $crate::__column_positions!($vis $name, 0usize; $c0 $(, $c)*);
    };
    ($vis:vis $name:ident { $s0:literal => $c0:ident $(, $s:literal => $c:ident)* $(,)? }) => {
        $vis struct $name;
        impl $name {
            /// The column expressions, in order, for a `SELECT`.
            #[allow(dead_code)]
            $vis const LIST: &'static str = concat!($s0 $(, ", ", $s)*);
            /// How many columns: the position of a column selected after the list.
            #[allow(dead_code)]
            $vis const LEN: usize = [$s0 $(, $s)*].len();
        }
        $crate::__column_positions!($vis $name, 0usize; $c0 $(, $c)*);
    };
}

/// One `usize` constant per column of a [`columns!`] list, its position.
#[doc(hidden)]
#[macro_export]
macro_rules! __column_positions {
    ($vis:vis $name:ident, $n:expr; ) => {};
    ($vis:vis $name:ident, $n:expr; $c:ident $(, $rest:ident)*) => {
        #[allow(non_upper_case_globals, dead_code)]
        impl $name {
            $vis const $c: usize = $n;
        }
        $crate::__column_positions!($vis $name, $n + 1usize; $($rest),*);
    };
}

/// Lets one kept prepared statement go to make room for another (both engines' caches):
/// each time the next in the map's order after the last one let go (the map's order is
/// the keys' hashes', so this is no particular statement, and not the same slot every
/// time). Emptying the whole map instead would make every statement of the next units of
/// work a new preparation at once.
pub(crate) fn evict_one<K: Clone + Eq + std::hash::Hash, V>(kept: &mut hashbrown::HashMap<K, V>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static TURN: AtomicUsize = AtomicUsize::new(0);
    if kept.is_empty() {
        return;
    }
    let n = TURN.fetch_add(1, Ordering::Relaxed) % kept.len();
    if let Some(k) = kept.keys().nth(n).cloned() {
        kept.remove(&k);
    }
}

#[cfg(test)]
mod evict_tests {
    /// A full cache lets exactly one statement go at a time, and not the same one every
    /// time it fills up again.
    #[test]
    fn one_at_a_time_and_not_always_the_same() {
        let mut kept: hashbrown::HashMap<u32, ()> = (0..8).map(|k| (k, ())).collect();
        let mut gone = std::collections::BTreeSet::new();
        for _ in 0..8 {
            super::evict_one(&mut kept);
            assert_eq!(kept.len(), 7);
            let missing = (0..8).find(|k| !kept.contains_key(k)).unwrap();
            gone.insert(missing);
            kept.insert(missing, ());
        }
        assert!(gone.len() > 1, "always the same statement: {gone:?}");
    }
}

#[cfg(test)]
mod columns_tests {
    crate::columns!(Plain {
        id,
        merchant_id,
        status
    });
    crate::columns!(Joined { "c.id" => id, "p.name" => product_name, "s.code" => sku_code });

    #[test]
    fn positions_follow_the_list() {
        assert_eq!(Plain::LIST, "id, merchant_id, status");
        assert_eq!((Plain::id, Plain::merchant_id, Plain::status), (0, 1, 2));
        assert_eq!(Joined::LIST, "c.id, p.name, s.code");
        assert_eq!(
            (Joined::id, Joined::product_name, Joined::sku_code),
            (0, 1, 2)
        );
        assert_eq!((Plain::LEN, Joined::LEN), (3, 3));
    }
}
