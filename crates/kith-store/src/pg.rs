//! PostgreSQL through the synchronous `postgres` client, run on tokio's blocking pool.
//!
//! The schema uses native `uuid`, `timestamptz`, `boolean` and `jsonb` columns. [`Value`]
//! converts by the column's type as PostgreSQL reports it: an id string binds to `uuid`, an
//! integer of Unix milliseconds binds to `timestamptz`, 0/1 to `boolean`. Sums must be cast
//! to `bigint` in SQL (`SUM` of a `bigint` is `numeric`, which we refuse to guess at).

use std::collections::HashMap;
use std::error::Error as StdError;

use bytes::{BufMut, BytesMut};
use postgres::error::SqlState;
use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use postgres::{GenericClient, Statement};

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

/// A connection for the pool. Its transactions are read-only unless they say otherwise
/// (`default_transaction_read_only`, set at connection start, so it costs no round trip):
/// a read runs its statements without a transaction around them and must still be unable
/// to write, while a write starts `READ WRITE` explicitly. Options the URL gives are kept.
pub(crate) fn connect(url: &str) -> Result<postgres::Client, StoreError> {
    let mut cfg: postgres::Config = url.parse().map_err(map_err)?;
    const READ_ONLY: &str = "-c default_transaction_read_only=on";
    let options = match cfg.get_options() {
        Some(given) if !given.is_empty() => format!("{given} {READ_ONLY}"),
        _ => READ_ONLY.to_owned(),
    };
    cfg.options(&options);
    cfg.connect(postgres::NoTls).map_err(map_err)
}

/// A pooled client and the statements it has prepared. Statements belong to their
/// connection, so the cache lives beside it.
pub(crate) struct PgClient {
    pub(crate) client: postgres::Client,
    pub(crate) stmts: HashMap<String, Statement>,
}

/// Most statements one connection keeps prepared; beyond it the cache is cleared (the
/// set of distinct SQL strings in kith is small and fixed, so this is a safety bound).
const STMT_CACHE_MAX: usize = 512;

/// A unit of work's connection: a transaction for a write, the client itself for a read
/// (each statement its own transaction; see `Db::read`).
pub(crate) struct PgConn<'a, C: GenericClient> {
    pub(crate) tx: &'a mut C,
    pub(crate) stmts: &'a mut HashMap<String, Statement>,
    /// A statement failed. PostgreSQL has then aborted the transaction: every later
    /// statement fails and COMMIT silently rolls back, so a unit of work that swallowed
    /// the error must not be reported as committed.
    pub(crate) failed: bool,
}

impl<C: GenericClient> PgConn<'_, C> {
    fn statement(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let stmt = self.tx.prepare(sql).map_err(map_err)?;
        if self.stmts.len() >= STMT_CACHE_MAX {
            self.stmts.clear();
        }
        self.stmts.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }
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

impl<C: GenericClient> Conn for PgConn<'_, C> {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        crate::stats::statement(sql);
        let stmt = self.statement(sql).inspect_err(|_| self.failed = true)?;
        match self.tx.execute(&stmt, &refs(params)) {
            Ok(n) => Ok(n),
            // Refused before sending: the transaction is untouched.
            Err(e) if names_no_row(&e) => Err(StoreError::NotFound),
            Err(e) => {
                self.failed = true;
                Err(map_err(e))
            }
        }
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        crate::stats::statement(sql);
        let res = self
            .statement(sql)
            .and_then(|stmt| match self.tx.query(&stmt, &refs(params)) {
                Err(e) if names_no_row(&e) => Ok(Vec::new()),
                other => other.map_err(map_err),
            });
        self.failed |= res.is_err();
        let rows = res?;
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

    fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        crate::stats::statement(sql);
        let res = self.tx.batch_execute(sql).map_err(map_err);
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
