//! Cursor pagination. A cursor is opaque to clients: URL-safe base64 of the sort key of the
//! last item returned (`created_at_ms|id`), so pages stay stable while rows are added.

use base64::Engine as _;
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
}
