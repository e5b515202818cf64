//! # kith-store
//!
//! The two storage engines behind one small interface.
//!
//! ## Layout
//! - [`value`]: the values that cross the boundary ([`Value`], [`Row`]) and their decoding.
//! - [`conn`]: the [`Conn`] trait — execute and query plain SQL inside one transaction.
//! - [`sqlite`]: the embedded engine. One writer connection on its own thread owns every
//!   write; queued writes share a commit (group commit), each in its own savepoint. A few
//!   read-only connections serve reads in parallel (WAL).
//! - [`pg`]: PostgreSQL through the synchronous `postgres` client on the blocking pool, with
//!   a small connection pool, per-connection statement cache, and retry of serialization
//!   failures.
//! - [`migrate`]: the per-engine migration folders, applied in order, each in its own
//!   transaction, without advisory locks (CockroachDB has none).
//! - [`testing`]: fresh throw-away PostgreSQL databases for tests.
//!
//! ## Why one SQL dialect for rules
//! Business code is written once against [`Conn`] with `$1`-style placeholders; the SQLite
//! adapter rewrites them to `?1`. The PostgreSQL schema uses native `uuid`, `timestamptz`
//! and `boolean` columns, and [`Value`] converts to and from them by the column's type, so
//! rules see the same integers (Unix milliseconds, 0/1) and strings on both engines. Where
//! an engine needs different SQL (row locks), code asks [`Conn::engine`].
//!
//! Architecture invariant: this crate knows no business rule. It moves rows.

pub mod backup;
pub mod conn;
pub mod error;
pub mod migrate;
pub mod pg;
pub mod sqlite;
pub mod testing;
pub mod value;

mod db;
mod pool;

pub use conn::{Conn, Engine};
pub use db::{Db, DbConfig, SqliteSync};
pub use error::{StoreError, TxError};
pub use value::{FromValue, Row, Value};

/// Builds a `&[Value]` parameter list: `args![id, name, now]`.
#[macro_export]
macro_rules! args {
    () => { &[] as &[$crate::Value] };
    ($($x:expr),+ $(,)?) => { &[$($crate::Value::from($x)),+] as &[$crate::Value] };
}
