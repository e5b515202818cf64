//! The one interface rules are written against.

use crate::{Row, StoreError, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// How many rows a sharded counter ([`Conn::shard`]) may be kept in.
pub const SHARDS: i64 = 32;

/// A connection inside a unit of work. Everything a write does through it commits or rolls
/// back together (one transaction); a read is one transaction on SQLite and statement by
/// statement on PostgreSQL (see `Db::read`). SQL uses `$1, $2, …` placeholders on both
/// engines.
///
/// A statement error ends the unit of work: return it (mapped as you like). On
/// PostgreSQL a failed statement aborts the transaction, so carrying on after one is
/// refused at commit rather than silently losing the earlier writes. Where a conflict is
/// expected, avoid the error instead (`ON CONFLICT … DO NOTHING`, a conditional UPDATE).
pub trait Conn {
    fn engine(&self) -> Engine;

    /// Runs one statement; returns the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError>;

    /// Runs a statement whose answer this unit of work does not look at: no row count, and
    /// an error it meets ends the unit of work at the next statement or the commit, where
    /// it is reported. SQLite runs it at once; PostgreSQL sends it with the next statement
    /// or the commit, in the same round trip. For appends whose only failure would be a bug
    /// or a lost connection (events, outbox rows, ledger postings) — never where a conflict
    /// is expected and answered.
    fn execute_deferred(&mut self, sql: &str, params: &[Value]) -> Result<(), StoreError> {
        self.execute(sql, params).map(|_| ())
    }

    /// Runs one statement and returns all its rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError>;

    /// Announces a read this unit of work is about to make, so that several independent
    /// reads cost one round trip. PostgreSQL queues it and sends it with the next exchange
    /// (in the order announced, after the deferred statements before it); a later
    /// [`Conn::query`] with the same SQL and values answers from it. SQLite does nothing
    /// (it has no round trips). Answers never differ between engines: announced reads are
    /// good only until the next statement that was not announced — a query, an execute, a
    /// deferred statement, a batch or the commit — which forgets every announced read not
    /// yet asked for (unsent ones are then not sent at all), so a read is never answered
    /// from before one of the unit's own writes. So announce the reads you make next, then
    /// make them; a read announced and never made is only wasted work. An error of an
    /// announced read ends the unit of work at the exchange that sent it, as a deferred
    /// statement's does. Announced reads run in the order announced, so a locking read
    /// announced before the read it guards still runs first.
    fn prefetch(&mut self, _sql: &str, _params: &[Value]) -> Result<(), StoreError> {
        Ok(())
    }

    /// Whether announcing reads ([`Conn::prefetch`]) saves anything: true where statements
    /// are round trips (PostgreSQL). Lets a caller skip building an announcement
    /// ([`crate::prefetch!`]).
    fn pipelines(&self) -> bool {
        false
    }

    /// Which of [`SHARDS`] rows of a counter many transactions add to (a pooled balance)
    /// this connection's transactions use: on PostgreSQL a number given to each connection
    /// as it opens, in turn, so connections of one process open at the same time (up to
    /// [`SHARDS`] of them) add to different rows and never wait on each other's row lock;
    /// 0 on SQLite, whose one writer has no row locks to wait on.
    fn shard(&self) -> i64 {
        0
    }

    /// Runs several statements without parameters (migrations).
    fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError>;

    /// At most one row.
    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, StoreError> {
        let mut rows = self.query(sql, params)?;
        match rows.len() {
            0 => Ok(None),
            1 => Ok(rows.pop()),
            n => Err(StoreError::Other(format!(
                "expected at most one row, got {n}"
            ))),
        }
    }

    /// Exactly one row, or [`StoreError::NotFound`].
    fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Row, StoreError> {
        self.query_opt(sql, params)?.ok_or(StoreError::NotFound)
    }

    /// `FOR UPDATE` on PostgreSQL; nothing on SQLite, whose single writer already holds
    /// the database for the whole transaction. Append to a SELECT that must lock its rows.
    fn for_update(&self) -> &'static str {
        match self.engine() {
            Engine::Postgres => " FOR UPDATE",
            Engine::Sqlite => "",
        }
    }

    /// `FOR UPDATE SKIP LOCKED` on PostgreSQL, for leasing work among several servers.
    fn for_update_skip_locked(&self) -> &'static str {
        match self.engine() {
            Engine::Postgres => " FOR UPDATE SKIP LOCKED",
            Engine::Sqlite => "",
        }
    }
}
