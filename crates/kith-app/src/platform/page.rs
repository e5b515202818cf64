//! Cursor pagination. A cursor is opaque to clients: URL-safe base64 of the sort key of the
//! last item returned (`created_at_ms|id`), so pages stay stable while rows are added.
//!
//! Lists sorted by a `(time, id)` key page the same way (keyset paging):
//!
//! ```ignore
//! let k = page.keyset(Direction::OldestFirst, "m.joined_at", "m.account_id", 2);
//! let sql = format!("… WHERE m.community_id = $1 AND {} ORDER BY m.joined_at, m.account_id LIMIT ${}", k.sql, k.next);
//! let mut params = args![&id].to_vec();
//! params.extend(k.args);
//! params.push(page.fetch().into());
//! let rows = c.query(&sql, &params)?.iter().map(|r| Ok((r.int(MemberCols::joined_at)?, member(r)?))).collect::<AppResult<Vec<_>>>()?;
//! Ok(Page::from_keyed(rows, page.limit, |m| &m.account_id))
//! ```
//!
//! [`PageRequest::keyset`] gives the condition, the same SQL on both engines whichever page
//! is asked for; [`PageRequest::fetch`] how many rows to ask for (one more than the page, to
//! know whether another follows); [`Page::from_keyed`] turns the `(time, item)` rows into the
//! page and its next cursor. A list keyed by a unique number alone (ledger postings, stock
//! movements) passes an empty id column and an empty id.

use base64::Engine as _;
use kith_store::Value;
use serde::Serialize;

use crate::AppError;

pub const DEFAULT_LIMIT: i64 = 20;
/// The smallest id, used as the id half of a key that sorts before every row. Ids are
/// UUIDs, and PostgreSQL binds them as such, so it must be one.
pub const NIL_ID: &str = "00000000-0000-0000-0000-000000000000";
/// No page is larger: bounds the work and the response size of every list endpoint.
pub const MAX_LIMIT: i64 = 100;

#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub limit: i64,
    /// Sort key after which the page starts, decoded.
    pub after: Option<(i64, String)>,
}

impl PageRequest {
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, AppError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(
                decode(c)
                    .ok_or_else(|| AppError::invalid("cursor", "is not a cursor from this API"))?,
            ),
        };
        Ok(Self { limit, after })
    }

    pub fn first(limit: i64) -> Self {
        Self { limit, after: None }
    }

    /// Key to compare with in SQL when there is no cursor: before every real key in an
    /// ascending `(created_at, id)` order (kith stores no time before 1970, and -1 stays
    /// inside PostgreSQL's timestamp range where `i64::MIN` would not).
    pub fn after_key(&self) -> (i64, String) {
        match &self.after {
            // Lists that bind the id to a uuid column get a UUID or the nil one.
            Some((ms, id)) if crate::platform::ids::parse_id(id).is_some() => (*ms, id.clone()),
            Some((ms, _)) => (*ms, NIL_ID.to_owned()),
            None => (-1, NIL_ID.to_owned()),
        }
    }
}

/// Which way a keyset-paged list runs over its `(time, id)` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `ORDER BY time, id`: each page continues with later keys.
    OldestFirst,
    /// `ORDER BY time DESC, id DESC`: each page continues with earlier keys.
    NewestFirst,
}

/// The condition that starts a page after its cursor, and the values it binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyset {
    /// A parenthesised condition to AND into the `WHERE` clause.
    pub sql: String,
    /// The values of the placeholders it uses, in order from the `at` it was given.
    pub args: Vec<Value>,
    /// The first placeholder number after those (where the `LIMIT` usually goes).
    pub next: usize,
}

impl PageRequest {
    /// How many rows to fetch: one more than the page, which only says whether another
    /// page follows ([`Page::from_keyed`] drops it).
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// The keyset condition of this page over `time` and `id` (column expressions), its
    /// placeholders numbered from `$at`. The SQL is the same on every page, so each engine
    /// prepares one statement:
    ///
    /// - oldest first, `(time > $at OR (time = $at AND id > $at+1))`, bound to
    ///   [`after_key`](Self::after_key) (on the first page a key before every row);
    /// - newest first, `($at = 1 OR time < $at+1 OR (time = $at+1 AND id < $at+2))`: `$at`
    ///   is 1 on the first page (which takes every row, whatever its time) and 0 after it.
    ///
    /// With an empty `id` the list is keyed by `time` alone (a unique number such as an
    /// identity column), and the id half and its placeholder are left out. Ids bind as
    /// UUIDs on PostgreSQL: a cursor's id that is not one becomes [`NIL_ID`].
    pub fn keyset(&self, dir: Direction, time: &str, id: &str, at: usize) -> Keyset {
        let mut args = Vec::with_capacity(3);
        let (op, key) = match dir {
            Direction::OldestFirst => (">", at),
            Direction::NewestFirst => {
                args.push(Value::from(self.after.is_none()));
                ("<", at + 1)
            }
        };
        let (ms, after_id) = match (dir, &self.after) {
            (Direction::NewestFirst, None) => (0, NIL_ID.to_owned()),
            _ => self.after_key(),
        };
        args.push(Value::from(ms));
        let by_time = format!("{time} {op} ${key}");
        let cond = if id.is_empty() {
            by_time
        } else {
            args.push(Value::from(after_id));
            format!("{by_time} OR ({time} = ${key} AND {id} {op} ${})", key + 1)
        };
        let sql = match dir {
            Direction::OldestFirst => format!("({cond})"),
            Direction::NewestFirst => format!("(${at} = 1 OR {cond})"),
        };
        let next = at + args.len();
        Keyset { sql, args, next }
    }
}

fn decode(c: &str) -> Option<(i64, String)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (ms, id) = s.split_once('|')?;
    let ms: i64 = ms.parse().ok()?;
    // Our keys are times between 1970 and 9999 and ids of at most 64 characters; anything
    // else was not made by us (and could not be bound as a PostgreSQL timestamp).
    // The id half is made of UUIDs (hex and hyphens), or empty for lists keyed by a
    // number alone; anything else was forged.
    let ok_id = id.len() <= 80 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    ((-1..=253_402_300_799_999).contains(&ms) && ok_id).then(|| (ms, id.to_owned()))
}

pub fn encode_cursor(ms: i64, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{ms}|{id}"))
}

/// One page of items and the cursor of the next page, if there is one.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in order: the extra row only says
    /// that another page exists. `key` gives each item's sort key.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> (i64, String)) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| {
                let (ms, id) = key(r);
                encode_cursor(ms, &id)
            })
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }

    /// Builds a page from up to [`PageRequest::fetch`] rows of `(time, item)` in the list's
    /// order (the `time` half of a [`PageRequest::keyset`] key): keeps `limit` items and, if
    /// a row was left over, the cursor of the last one kept, from its time and `id_of` it
    /// (`""` for a list keyed by the number alone).
    pub fn from_keyed(rows: Vec<(i64, T)>, limit: i64, id_of: impl Fn(&T) -> &str) -> Self {
        let page = Page::from_rows(rows, limit, |(ms, item)| (*ms, id_of(item).to_owned()));
        Self {
            items: page.items.into_iter().map(|(_, item)| item).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_limits_are_capped() {
        let id = "01a203a4-7da9-7351-873c-1b2e0e1c155c";
        let c = encode_cursor(42, id);
        let p = PageRequest::parse(Some(5), Some(&c)).unwrap();
        assert_eq!(p.after, Some((42, id.into())));
        assert!(
            PageRequest::parse(None, Some(&encode_cursor(42, "x'; --"))).is_err(),
            "ids are hex"
        );
        assert_eq!(PageRequest::first(5).after_key().1, NIL_ID);
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(MAX_LIMIT + 1), None).is_err());
        assert!(PageRequest::parse(None, Some("!!")).is_err());
        let page = Page::from_rows(vec![1, 2, 3], 2, |i| (*i, String::new()));
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor, Some(encode_cursor(2, "")));
    }

    #[test]
    fn keyset_conditions_in_both_directions() {
        let id = "01a203a4-7da9-7351-873c-1b2e0e1c155c";
        let first = PageRequest::first(10);
        let after = PageRequest::parse(Some(10), Some(&encode_cursor(42, id))).unwrap();
        assert_eq!(first.fetch(), 11);

        let k = first.keyset(Direction::OldestFirst, "t", "x.id", 3);
        assert_eq!(k.sql, "(t > $3 OR (t = $3 AND x.id > $4))");
        assert_eq!(k.args, vec![Value::from(-1), Value::from(NIL_ID)]);
        assert_eq!(k.next, 5);
        let k = after.keyset(Direction::OldestFirst, "t", "x.id", 3);
        assert_eq!(k.args, vec![Value::from(42), Value::from(id)]);

        let k = first.keyset(Direction::NewestFirst, "t", "x.id", 2);
        assert_eq!(k.sql, "($2 = 1 OR t < $3 OR (t = $3 AND x.id < $4))");
        assert_eq!(
            k.args,
            vec![Value::from(1), Value::from(0), Value::from(NIL_ID)]
        );
        assert_eq!(k.next, 5);
        let k = after.keyset(Direction::NewestFirst, "t", "x.id", 2);
        assert_eq!(
            k.args,
            vec![Value::from(0), Value::from(42), Value::from(id)]
        );

        // Keyed by a number alone: no id half.
        let k = first.keyset(Direction::OldestFirst, "e.id", "", 2);
        assert_eq!((k.sql.as_str(), k.next), ("(e.id > $2)", 3));
        assert_eq!(k.args, vec![Value::from(-1)]);
        let numbered = PageRequest::parse(Some(10), Some(&encode_cursor(7, ""))).unwrap();
        let k = numbered.keyset(Direction::NewestFirst, "m.id", "", 2);
        assert_eq!((k.sql.as_str(), k.next), ("($2 = 1 OR m.id < $3)", 4));
        assert_eq!(k.args, vec![Value::from(0), Value::from(7)]);

        // An id half that is no UUID cannot reach a uuid column.
        let odd = PageRequest::parse(Some(10), Some(&encode_cursor(5, "abc"))).unwrap();
        let k = odd.keyset(Direction::NewestFirst, "t", "id", 1);
        assert_eq!(k.args[2], Value::from(NIL_ID));
    }

    #[test]
    fn keyed_rows_become_a_page_without_their_keys() {
        let rows = vec![(10, "a"), (10, "b"), (20, "c")];
        let page = Page::from_keyed(rows.clone(), 2, |s| s);
        assert_eq!(page.items, vec!["a", "b"]);
        assert_eq!(page.next_cursor, Some(encode_cursor(10, "b")));
        let page = Page::from_keyed(rows.clone(), 3, |s| s);
        assert_eq!((page.items.len(), page.next_cursor), (3, None));
        let page = Page::from_keyed(rows, 1, |_| "");
        assert_eq!(page.next_cursor, Some(encode_cursor(10, "")));
    }

    /// Pages a small table with ties in its times through every limit, in both directions,
    /// by `(time, id)` and by a number alone: each row comes once, in the list's order.
    async fn pages_cover_every_row_once(env: crate::events::webhooks::test_support::TestEnv) {
        use kith_store::{Engine, args};

        use crate::AppResult;

        // (time, id, number); ids out of time order so ties are broken by the id alone.
        let rows: Vec<(i64, String, i64)> = [
            (1_000, "0f", 5),
            (2_000, "3a", 1),
            (2_000, "0b", 7),
            (2_000, "c1", 2),
            (3_000, "77", 3),
            (5_000, "a0", 6),
            (5_000, "1e", 4),
        ]
        .into_iter()
        .map(|(t, b, n)| (t, format!("{b}000000-0000-7000-8000-000000000000"), n))
        .collect();
        let seed = rows.clone();
        env.app
            .db
            .write(move |c| {
                let ddl = match c.engine() {
                    Engine::Sqlite => "CREATE TABLE paged (t INTEGER NOT NULL, id TEXT NOT NULL, n INTEGER NOT NULL)",
                    Engine::Postgres => "CREATE TABLE paged (t timestamptz NOT NULL, id uuid NOT NULL, n bigint NOT NULL)",
                };
                c.execute(ddl, args![])?;
                for (t, id, n) in &seed {
                    c.execute("INSERT INTO paged (t, id, n) VALUES ($1, $2, $3)", args![*t, id, *n])?;
                }
                AppResult::Ok(())
            })
            .await
            .unwrap();

        for dir in [Direction::OldestFirst, Direction::NewestFirst] {
            for by_id in [true, false] {
                let mut want = rows.clone();
                if by_id {
                    want.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
                } else {
                    want.sort_by_key(|r| r.2);
                }
                if dir == Direction::NewestFirst {
                    want.reverse();
                }
                let want: Vec<String> = want.into_iter().map(|r| r.1).collect();
                for limit in 1..=8 {
                    let mut got = Vec::new();
                    let mut cursor: Option<String> = None;
                    loop {
                        let page = PageRequest::parse(Some(limit), cursor.as_deref()).unwrap();
                        let p = env
                            .app
                            .db
                            .read(move |c| {
                                let (time, id) = if by_id { ("t", "id") } else { ("n", "") };
                                let k = page.keyset(dir, time, id, 1);
                                let desc = if dir == Direction::NewestFirst { " DESC" } else { "" };
                                let order = if by_id {
                                    format!("t{desc}, id{desc}")
                                } else {
                                    format!("n{desc}")
                                };
                                let mut params = k.args;
                                params.push(page.fetch().into());
                                let rows = c.query(
                                    &format!(
                                        "SELECT {time}, id FROM paged WHERE {} ORDER BY {order} LIMIT ${}",
                                        k.sql, k.next
                                    ),
                                    &params,
                                )?;
                                let rows = rows
                                    .iter()
                                    .map(|r| Ok((r.int(0)?, r.text(1)?)))
                                    .collect::<AppResult<Vec<_>>>()?;
                                AppResult::Ok(Page::from_keyed(rows, page.limit, |row| {
                                    if by_id { row.as_str() } else { "" }
                                }))
                            })
                            .await
                            .unwrap();
                        assert!(p.items.len() as i64 <= limit);
                        got.extend(p.items);
                        match p.next_cursor {
                            Some(c) => cursor = Some(c),
                            None => break,
                        }
                    }
                    assert_eq!(got, want, "{dir:?}, by id {by_id}, limit {limit}");
                }
            }
        }
    }

    #[tokio::test]
    async fn pages_cover_every_row_once_on_sqlite() {
        use crate::events::webhooks::test_support::TestEnv;
        pages_cover_every_row_once(TestEnv::sqlite(crate::AppConfig::default()).await).await;
    }

    #[tokio::test]
    async fn pages_cover_every_row_once_on_postgres() {
        use crate::events::webhooks::test_support::TestEnv;
        if let Some(env) = TestEnv::postgres(crate::AppConfig::default()).await {
            pages_cover_every_row_once(env).await;
        }
    }
}
