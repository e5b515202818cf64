//! Cursor pagination. A cursor is opaque to clients: URL-safe base64 of the sort key of the
//! last item returned (`created_at_ms|id`), so pages stay stable while rows are added.

use base64::Engine as _;
use serde::Serialize;

use crate::AppError;

pub const DEFAULT_LIMIT: i64 = 20;
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
        self.after.clone().unwrap_or((-1, String::new()))
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
    ((-1..=253_402_300_799_999).contains(&ms) && id.len() <= 64).then(|| (ms, id.to_owned()))
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
        let c = encode_cursor(42, "abc");
        let p = PageRequest::parse(Some(5), Some(&c)).unwrap();
        assert_eq!(p.after, Some((42, "abc".into())));
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(MAX_LIMIT + 1), None).is_err());
        assert!(PageRequest::parse(None, Some("!!")).is_err());
        let page = Page::from_rows(vec![1, 2, 3], 2, |i| (*i, i.to_string()));
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor, Some(encode_cursor(2, "2")));
    }
}
