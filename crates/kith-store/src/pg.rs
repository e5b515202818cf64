//! PostgreSQL through the synchronous `postgres` client, run on tokio's blocking pool.
//!
//! The schema uses native `uuid`, `timestamptz`, `boolean` and `jsonb` columns. [`Value`]
//! converts by the column's type as PostgreSQL reports it: an id string binds to `uuid`, an
//! integer of Unix milliseconds binds to `timestamptz`, 0/1 to `boolean`. Sums must be cast
//! to `bigint` in SQL (`SUM` of a `bigint` is `numeric`, which we refuse to guess at).

use std::error::Error as StdError;

use bytes::{BufMut, BytesMut};
use postgres::error::SqlState;
use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use std::future::Future;

use tokio_postgres::tls::NoTlsStream;
use tokio_postgres::{Connection, NoTls, Socket, Statement};

use crate::conn::{Conn, Engine};
use crate::{Row, StoreError, Value};

type BoxError = Box<dyn StdError + Sync + Send>;

/// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01).
const PG_EPOCH_MS: i64 = 946_684_800_000;

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::TIMESTAMPTZ | Type::TIMESTAMP => {
                    let micros = i
                        .checked_sub(PG_EPOCH_MS)
                        .and_then(|v| v.checked_mul(1000))
                        .ok_or("timestamp out of range")?;
                    out.put_i64(micros);
                    Ok(IsNull::No)
                }
                _ => Err(format!("cannot bind an integer to {ty}").into()),
            },
            Value::Text(s) => match *ty {
                Type::UUID => {
                    let u = uuid::Uuid::parse_str(s)?;
                    out.put_slice(u.as_bytes());
                    Ok(IsNull::No)
                }
                Type::JSONB => {
                    out.put_u8(1);
                    out.put_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                _ => s.as_str().to_sql(ty, out),
            },
            Value::Bytes(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Checked per value in `to_sql`, where the mismatch can name both sides.
        true
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(match *ty {
            Type::BOOL => Value::Int(bool::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::TIMESTAMPTZ | Type::TIMESTAMP => {
                let micros = i64::from_sql(&Type::INT8, raw)?;
                Value::Int(micros.div_euclid(1000) + PG_EPOCH_MS)
            }
            Type::UUID => {
                let bytes: [u8; 16] = raw.try_into()?;
                Value::Text(uuid::Uuid::from_bytes(bytes).hyphenated().to_string())
            }
            Type::JSONB => {
                Value::Text(std::str::from_utf8(raw.get(1..).unwrap_or(&[]))?.to_owned())
            }
            Type::BYTEA => Value::Bytes(raw.to_vec()),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON | Type::UNKNOWN => {
                Value::Text(std::str::from_utf8(raw)?.to_owned())
            }
            ref other => {
                return Err(format!("column type {other} is not used by kith (cast it)").into());
            }
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Value::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// `{table}_{col}_{col}_key` from the violation's table and its detail
/// (`Key (merchant_id, account_id)=(…) already exists.`), so a primary key (named
/// `{table}_pkey` by PostgreSQL) and a unique index read the same as on SQLite.
fn unique_name(db: &postgres::error::DbError) -> Option<String> {
    let table = db.table()?;
    let detail = db.detail()?;
    let cols = detail.strip_prefix("Key (")?.split(")=").next()?;
    let cols: Vec<&str> = cols
        .split(',')
        .map(|c| c.trim().trim_matches('"'))
        .collect();
    Some(format!("{table}_{}_key", cols.join("_")))
}

pub(crate) fn map_err(e: postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        let msg = db.message().to_owned();
        return if *code == SqlState::UNIQUE_VIOLATION {
            StoreError::Unique {
                constraint: unique_name(db)
                    .unwrap_or_else(|| db.constraint().unwrap_or(&msg).to_owned()),
            }
        } else if *code == SqlState::FOREIGN_KEY_VIOLATION
            || *code == SqlState::CHECK_VIOLATION
            || *code == SqlState::NOT_NULL_VIOLATION
        {
            StoreError::Constraint {
                detail: db
                    .constraint()
                    .map_or(msg.clone(), |c| format!("{c}: {msg}")),
            }
        } else if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
        {
            StoreError::Retryable(msg)
        } else {
            StoreError::Other(format!("{}: {msg}", code.code()))
        };
    }
    if e.is_closed() {
        return StoreError::Unavailable(e.to_string());
    }
    let text = e.to_string();
    if text.contains("error connecting") || text.contains("connection") {
        StoreError::Unavailable(text)
    } else {
        StoreError::Other(text)
    }
}

/// A pooled connection: the client, the socket's connection task, the small runtime that
/// drives both on the calling (blocking) thread — as the synchronous `postgres` crate does,
/// so a round trip needs no hand-off to another thread — and the statements it has prepared.
/// Statements belong to their connection, so the cache lives beside it.
pub(crate) struct PgClient {
    client: tokio_postgres::Client,
    connection: Connection<Socket, NoTlsStream>,
    rt: tokio::runtime::Runtime,
    stmts: hashbrown::HashMap<String, Statement>,
    /// This connection's row of a sharded counter ([`Conn::shard`]).
    shard: i64,
}

/// The shard the next connection of this process takes: connections take them in turn,
/// starting from one the process id picks, so that two servers on one database do not
/// start on the same row.
fn next_shard() -> i64 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    (i64::from(std::process::id()) + i64::from(n)) % crate::conn::SHARDS
}

/// Opens a connection for the pool. Its transactions are read-only unless they say
/// otherwise (`default_transaction_read_only`, set at connection start, so it costs no
/// round trip): a read runs its statements without a transaction around them and must still
/// be unable to write, while a write starts `READ WRITE` explicitly. Options the URL gives
/// are kept. Call it on a blocking thread, not inside async code.
pub(crate) fn connect(url: &str) -> Result<PgClient, StoreError> {
    let mut cfg: tokio_postgres::Config = url.parse().map_err(map_err)?;
    const READ_ONLY: &str = "-c default_transaction_read_only=on";
    let options = match cfg.get_options() {
        Some(given) if !given.is_empty() => format!("{given} {READ_ONLY}"),
        _ => READ_ONLY.to_owned(),
    };
    cfg.options(&options);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| StoreError::Other(format!("a runtime for a PostgreSQL connection: {e}")))?;
    let (client, connection) = rt.block_on(cfg.connect(NoTls)).map_err(map_err)?;
    Ok(PgClient {
        client,
        connection,
        rt,
        stmts: hashbrown::HashMap::new(),
        shard: next_shard(),
    })
}

impl PgClient {
    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// One exchange with the server (counted in `stats`): the future `work` makes of the
    /// client, run on the connection's runtime while its connection task reads and writes
    /// the socket; a connection that ends first is [`StoreError::Unavailable`].
    fn round_trip<'c, T, Fut>(
        &'c mut self,
        work: impl FnOnce(&'c tokio_postgres::Client) -> Fut,
    ) -> Result<T, StoreError>
    where
        Fut: Future<Output = T> + 'c,
    {
        let PgClient {
            client,
            connection,
            rt,
            ..
        } = self;
        crate::stats::round_trip();
        let work = work(client);
        rt.block_on(async move {
            tokio::select! {
                biased;
                out = work => Ok(out),
                end = connection => Err(match end {
                    Ok(()) => StoreError::Unavailable("the PostgreSQL connection closed".into()),
                    Err(e) => map_err(e),
                }),
            }
        })
    }
}

/// Most statements one connection keeps prepared; beyond it a new one takes the place of
/// one of them (the set of distinct SQL strings in kith is small and fixed, so this is a
/// safety bound).
const STMT_CACHE_MAX: usize = 512;

/// Where a unit of work's transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tx {
    /// A read: no transaction; each statement is its own (read-only by the connection's
    /// default).
    None,
    /// A write that has sent nothing yet: `START TRANSACTION READ WRITE` goes with its
    /// first statement, in the same round trip — and a write that sends nothing costs none.
    Pending,
    /// Begun.
    Open,
}

/// A statement queued for the next exchange: a deferred write ([`Conn::execute_deferred`])
/// or a read announced ahead ([`Conn::prefetch`]), in the order the unit of work made them.
struct Queued {
    stmt: Statement,
    params: Vec<Value>,
    /// The SQL of an announced read, under which its answer is kept; `None` for a
    /// deferred write.
    ahead: Option<String>,
}

/// An announced read's answer, kept until asked for: its SQL, its values, its rows.
type Fetched = (String, Vec<Value>, Vec<tokio_postgres::Row>);

pub(crate) struct PgConn<'a> {
    pc: &'a mut PgClient,
    tx: Tx,
    /// Statements sent with the next statement or the commit: deferred writes, whose
    /// answer nobody waits for, and announced reads.
    queued: Vec<Queued>,
    /// Announced reads already answered and not yet asked for.
    fetched: Vec<Fetched>,
    /// A statement failed. PostgreSQL has then aborted the transaction: every later
    /// statement fails and COMMIT silently rolls back, so a unit of work that swallowed
    /// the error must not be reported as committed.
    pub(crate) failed: bool,
}

/// What one exchange with the server answered for the statement it was sent for.
enum Answer {
    Rows(Vec<tokio_postgres::Row>),
    Count(u64),
    Done,
}

/// The statement an exchange is sent for.
enum Last<'s> {
    Query(&'s Statement, &'s [Value]),
    Execute(&'s Statement, &'s [Value]),
    Batch(&'s str),
    /// Nothing of its own: the exchange only sends what is queued.
    Nothing,
}

impl<'a> PgConn<'a> {
    pub(crate) fn new(pc: &'a mut PgClient, tx: Tx) -> Self {
        PgConn {
            pc,
            tx,
            queued: Vec::new(),
            fetched: Vec::new(),
            failed: false,
        }
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(s) = self.pc.stmts.get(sql) {
            return Ok(s.clone());
        }
        let stmt = self
            .pc
            .round_trip(|client| client.prepare(sql))?
            .map_err(map_err)?;
        if self.pc.stmts.len() >= STMT_CACHE_MAX {
            crate::evict_one(&mut self.pc.stmts);
        }
        self.pc.stmts.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }

    /// One round trip: the `BEGIN` a write still owes, the queued statements, then
    /// `last`, all written before any answer is read (tokio-postgres pipelines requests
    /// whose futures are polled together). Every answer is awaited; the first error in the
    /// order they were sent is the one returned. Announced reads' answers are kept in
    /// `fetched`.
    fn exchange(&mut self, last: Last<'_>) -> Result<Answer, StoreError> {
        let begin = self.tx == Tx::Pending;
        let queued = std::mem::take(&mut self.queued);
        for q in &queued {
            if let Some(sql) = &q.ahead {
                crate::stats::statement(sql);
            }
        }
        let queued_refs: Vec<Vec<&(dyn ToSql + Sync)>> =
            queued.iter().map(|q| refs(&q.params)).collect();
        let last_refs = match &last {
            Last::Query(_, p) | Last::Execute(_, p) => refs(p),
            Last::Batch(_) | Last::Nothing => Vec::new(),
        };
        let (queued_ref, queued_refs, last_refs) = (&queued, &queued_refs, &last_refs);
        let (begun, sent, answer) = self.pc.round_trip(|client| async move {
            let begin = async {
                if begin {
                    client.batch_execute("START TRANSACTION READ WRITE").await
                } else {
                    Ok(())
                }
            };
            let sent = futures_util::future::join_all(queued_ref.iter().zip(queued_refs).map(
                |(q, params)| async move {
                    if q.ahead.is_some() {
                        client.query(&q.stmt, params).await.map(Answer::Rows)
                    } else {
                        client.execute(&q.stmt, params).await.map(Answer::Count)
                    }
                },
            ));
            let last = async {
                match last {
                    Last::Query(stmt, _) => client.query(stmt, last_refs).await.map(Answer::Rows),
                    Last::Execute(stmt, _) => {
                        client.execute(stmt, last_refs).await.map(Answer::Count)
                    }
                    Last::Batch(sql) => client.batch_execute(sql).await.map(|()| Answer::Done),
                    Last::Nothing => Ok(Answer::Done),
                }
            };
            tokio::join!(begin, sent, last)
        })?;
        if begin {
            // Sent, so begun on the server even if a later statement failed: a rollback
            // must follow.
            self.tx = Tx::Open;
        }
        begun.map_err(map_err)?;
        for (q, r) in queued.into_iter().zip(sent) {
            match (q.ahead, r) {
                (Some(sql), Ok(Answer::Rows(rows))) => self.fetched.push((sql, q.params, rows)),
                // A text that is no UUID matches nothing, as on SQLite (refused before
                // sending: nothing else is touched).
                (Some(sql), Err(e)) if names_no_row(&e) => {
                    self.fetched.push((sql, q.params, Vec::new()))
                }
                (_, Err(e)) => return Err(map_err(e)),
                _ => {}
            }
        }
        answer.map_err(|e| {
            if names_no_row(&e) {
                StoreError::NotFound
            } else {
                map_err(e)
            }
        })
    }

    /// Ends a write: `COMMIT` with whatever is still deferred, in one round trip. A write
    /// that never sent anything has nothing to commit.
    pub(crate) fn commit(&mut self) -> Result<(), StoreError> {
        self.forget_ahead();
        if self.tx == Tx::Pending && self.queued.is_empty() {
            return Ok(());
        }
        let res = self.exchange(Last::Batch("COMMIT")).map(|_| ());
        self.tx = Tx::None;
        res
    }

    /// Ends a write that failed: `ROLLBACK` if it began (deferred statements are dropped).
    pub(crate) fn rollback(&mut self) {
        self.queued.clear();
        self.fetched.clear();
        if self.tx == Tx::Open {
            // A rollback that fails leaves a connection the pool must not keep: it is
            // closed when the socket is gone, and `is_closed` tells.
            let _ = self
                .pc
                .round_trip(|client| client.batch_execute("ROLLBACK"));
        }
        self.tx = Tx::None;
    }

    /// Forgets the announced reads not yet asked for (a statement that was not announced
    /// is being made: see [`Conn::prefetch`]); unsent ones are not sent.
    fn forget_ahead(&mut self) {
        self.fetched.clear();
        self.queued.retain(|q| q.ahead.is_none());
    }

    /// The answer of an announced read of `sql` with `params`, sending the queue first if
    /// it is still there; `None` when no such read was announced.
    fn take_fetched(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> Result<Option<Vec<tokio_postgres::Row>>, StoreError> {
        let queued = self
            .queued
            .iter()
            .any(|q| q.ahead.as_deref() == Some(sql) && q.params == params);
        if queued {
            self.exchange(Last::Nothing)
                .inspect_err(|_| self.failed = true)?;
        }
        Ok(self
            .fetched
            .iter()
            .position(|(s, p, _)| s == sql && p == params)
            .map(|i| self.fetched.swap_remove(i).2))
    }
}

/// Rows as the engine-neutral [`Row`]s.
fn decode(rows: &[tokio_postgres::Row]) -> Result<Vec<Row>, StoreError> {
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    r.try_get::<_, Value>(i)
                        .map_err(|e| StoreError::Decode(format!("column {i}: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Row)
        })
        .collect()
}

/// A text that is not a UUID, bound where a `uuid` is expected. It can name no row: a read
/// finds nothing (as on SQLite, where the text simply matches nothing) and a write is
/// [`StoreError::NotFound`], instead of an internal error. The client refuses it before
/// sending, so the transaction itself is untouched.
fn names_no_row(e: &postgres::Error) -> bool {
    std::error::Error::source(e).is_some_and(|s| s.downcast_ref::<uuid::Error>().is_some())
}

fn refs(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl Conn for PgConn<'_> {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        self.forget_ahead();
        crate::stats::statement(sql);
        let res = self
            .statement(sql)
            .and_then(|stmt| self.exchange(Last::Execute(&stmt, params)));
        match res {
            Ok(Answer::Count(n)) => Ok(n),
            Ok(_) => unreachable!("an execute answers a count"),
            // Refused before sending: the transaction is untouched.
            Err(StoreError::NotFound) => Err(StoreError::NotFound),
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }

    fn execute_deferred(&mut self, sql: &str, params: &[Value]) -> Result<(), StoreError> {
        if self.tx == Tx::None {
            // A read has no commit to carry it.
            return self.execute(sql, params).map(|_| ());
        }
        self.forget_ahead();
        crate::stats::statement(sql);
        let stmt = self.statement(sql).inspect_err(|_| self.failed = true)?;
        self.queued.push(Queued {
            stmt,
            params: params.to_vec(),
            ahead: None,
        });
        Ok(())
    }

    fn pipelines(&self) -> bool {
        true
    }

    fn shard(&self) -> i64 {
        self.pc.shard
    }

    fn prefetch(&mut self, sql: &str, params: &[Value]) -> Result<(), StoreError> {
        let stmt = self.statement(sql).inspect_err(|_| self.failed = true)?;
        self.queued.push(Queued {
            stmt,
            params: params.to_vec(),
            ahead: Some(sql.to_owned()),
        });
        Ok(())
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        if let Some(rows) = self.take_fetched(sql, params)? {
            return decode(&rows);
        }
        self.forget_ahead();
        crate::stats::statement(sql);
        let res = self
            .statement(sql)
            .and_then(|stmt| self.exchange(Last::Query(&stmt, params)));
        let rows = match res {
            Ok(Answer::Rows(rows)) => rows,
            Ok(_) => unreachable!("a query answers rows"),
            // A text that is no UUID matches nothing, as on SQLite.
            Err(StoreError::NotFound) => Vec::new(),
            Err(e) => {
                self.failed = true;
                return Err(e);
            }
        };
        decode(&rows)
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.forget_ahead();
        crate::stats::statement(sql);
        let res = self.exchange(Last::Batch(sql)).map(|_| ());
        self.failed |= res.is_err();
        res
    }
}

/// `postgres://user:secret@host/db?password=…` or `host=… password=…` → the same without
/// the password, for logs.
pub(crate) fn describe_url(url: &str) -> String {
    match url.parse::<postgres::Config>() {
        Ok(cfg) => {
            let hosts: Vec<String> = cfg
                .get_hosts()
                .iter()
                .map(|h| match h {
                    postgres::config::Host::Tcp(name) => name.clone(),
                    #[cfg(unix)]
                    postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .collect();
            let port = cfg.get_ports().first().copied().unwrap_or(5432);
            let secret = if cfg.get_password().is_some() {
                ":***"
            } else {
                ""
            };
            format!(
                "postgres://{}{secret}@{}:{port}/{}",
                cfg.get_user().unwrap_or(""),
                hosts.join(","),
                cfg.get_dbname().unwrap_or("")
            )
        }
        Err(_) => "postgres://<unparseable url>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn describe_never_shows_a_password() {
        for url in [
            "postgres://kith:s3cret@db:5432/kith",
            "postgres://postgres@127.0.0.1:5432/test?password=s3cret",
            "host=db user=kith password=s3cret dbname=kith",
        ] {
            let d = super::describe_url(url);
            assert!(!d.contains("s3cret"), "{d}");
            assert!(d.contains("kith") || d.contains("test"), "{d}");
        }
    }
}
