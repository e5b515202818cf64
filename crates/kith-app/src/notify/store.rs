//! The notify context's rows: `notifications`, `notification_preferences`,
//! `notification_deliveries`, `notify_cursor` and `notify_wechat_openids` (and its read of
//! the outbox after its cursor). Every statement of the context is here, named for what
//! it does; the use cases in `mod.rs` and `wechat.rs` keep the rules.

use kith_store::{Conn, Row, Value, args};
use serde_json::Value as Json;

use super::{BATCH, Channel, Kind, Notification, NotificationId, render};
use crate::platform::ids::AccountId;
use crate::platform::page::{Direction, PageRequest};
use crate::{AppError, AppResult, rfc3339};

kith_store::columns!(NoteCols {
    "n.id" => id,
    "n.kind" => kind,
    "n.params" => params,
    "n.link" => link,
    "n.created_at" => created_at,
    "n.read_at" => read_at,
});

/// A notification row in the reader's language, with its time (for keyset paging).
fn from_row(r: &Row, en: bool) -> AppResult<(i64, Notification)> {
    let kind = Kind::parse(&r.text(NoteCols::kind)?)
        .ok_or_else(|| AppError::Internal("a notification of an unknown kind".into()))?;
    let params: Json = serde_json::from_str(&r.text(NoteCols::params)?).unwrap_or(Json::Null);
    let (title, body) = render(kind, &params, en);
    let at = r.int(NoteCols::created_at)?;
    Ok((
        at,
        Notification {
            id: NotificationId::from_row(r.text(NoteCols::id)?),
            kind,
            title,
            body,
            link: r.text(NoteCols::link)?,
            params,
            created_at: rfc3339(at),
            read_at: r.opt_int(NoteCols::read_at)?.map(rfc3339),
        },
    ))
}

/// One outbox event as the notification round reads it.
pub(super) struct OutboxEvent {
    pub(super) id: i64,
    pub(super) topic: String,
    pub(super) merchant_id: Option<String>,
    pub(super) payload: String,
    pub(super) created_at: i64,
}

/// The cursor's last outbox id, locked for the round.
pub(super) fn lock_cursor(c: &mut dyn Conn) -> AppResult<i64> {
    let cur = c.query_one(
        &format!(
            "SELECT last_id FROM notify_cursor WHERE name = 'notifications'{}",
            c.for_update()
        ),
        args![],
    )?;
    Ok(cur.int(0)?)
}

/// The next [`BATCH`] outbox events after `cursor`, in id order.
pub(super) fn outbox_after(c: &mut dyn Conn, cursor: i64) -> AppResult<Vec<OutboxEvent>> {
    c.query(
        &format!(
            "SELECT id, topic, merchant_id, payload, created_at FROM outbox WHERE id > $1 ORDER BY id LIMIT {BATCH}"
        ),
        args![cursor],
    )?
    .iter()
    .map(|ev| {
        Ok(OutboxEvent {
            id: ev.int(0)?,
            topic: ev.text(1)?,
            merchant_id: ev.opt_text(2)?,
            payload: ev.text(3)?,
            created_at: ev.int(4)?,
        })
    })
    .collect()
}

pub(super) fn advance_cursor(c: &mut dyn Conn, next: i64) -> AppResult<()> {
    c.execute(
        "UPDATE notify_cursor SET last_id = $1 WHERE name = 'notifications'",
        args![next],
    )?;
    Ok(())
}

/// Of `accounts`, those that exist (a notification goes only to a member who does).
pub(super) fn existing_accounts(
    c: &mut dyn Conn,
    accounts: &[&str],
) -> AppResult<std::collections::HashSet<String>> {
    let mut found = std::collections::HashSet::with_capacity(accounts.len());
    for chunk in accounts.chunks(MOST_ROWS) {
        // The list padded with its last id to a power of two: a handful of texts, each
        // prepared once.
        let width = chunk.len().next_power_of_two();
        let marks: Vec<String> = (1..=width).map(|n| format!("${n}")).collect();
        let params: Vec<Value> = (0..width)
            .map(|i| Value::from(chunk[i.min(chunk.len() - 1)]))
            .collect();
        for r in &c.query(
            &format!("SELECT id FROM accounts WHERE id IN ({})", marks.join(", ")),
            &params,
        )? {
            found.insert(r.text(0)?);
        }
    }
    Ok(found)
}

/// A notification as [`insert_notifications`] writes it.
pub(super) struct NewNotification<'a> {
    pub id: &'a str,
    pub account_id: &'a str,
    pub outbox_id: i64,
    pub kind: Kind,
    pub params: &'a str,
    pub link: &'a str,
    pub at: i64,
}

/// Writes notifications, many to a statement; returns the ids of those written (one an
/// event already made for the member, of its kind, is left out).
pub(super) fn insert_notifications(
    c: &mut dyn Conn,
    rows: &[NewNotification<'_>],
) -> AppResult<Vec<String>> {
    let mut written = Vec::with_capacity(rows.len());
    for chunk in power_of_two_chunks(rows) {
        let mut values = Vec::with_capacity(chunk.len());
        let mut params: Vec<Value> = Vec::with_capacity(7 * chunk.len());
        for (i, n) in chunk.iter().enumerate() {
            let marks: Vec<String> = (1 + 7 * i..=7 + 7 * i).map(|n| format!("${n}")).collect();
            values.push(format!("({})", marks.join(", ")));
            params.extend([
                Value::from(n.id),
                Value::from(n.account_id),
                Value::from(n.outbox_id),
                Value::from(n.kind.as_str()),
                Value::from(n.params),
                Value::from(n.link),
                Value::from(n.at),
            ]);
        }
        for r in &c.query(
            &format!(
                "INSERT INTO notifications (id, account_id, outbox_id, kind, params, link, created_at)
                 VALUES {} ON CONFLICT (outbox_id, account_id, kind) DO NOTHING RETURNING id",
                values.join(", ")
            ),
            &params,
        )? {
            written.push(r.text(0)?);
        }
    }
    Ok(written)
}

/// Most rows (or ids) in one statement of the batched writes and reads above. Their
/// texts differ by row count, and every text is a statement SQLite's writer prepares and
/// keeps: a count per round would prepare a new one almost every round (and fill its map
/// of kept statements). Counts are powers of two up to this, six texts in all.
const MOST_ROWS: usize = 32;

/// `rows` in chunks whose sizes are powers of two, each as large as it can be, up to
/// [`MOST_ROWS`]: 35 rows go as 32, 2 and 1.
fn power_of_two_chunks<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let take = 1 << rest.len().min(MOST_ROWS).ilog2();
        let (chunk, tail) = rest.split_at(take);
        rest = tail;
        Some(chunk)
    })
}

/// Queues one pending delivery; false when the notification already has one on `ch`.
pub(super) fn insert_delivery(
    c: &mut dyn Conn,
    id: &str,
    notification_id: &str,
    ch: Channel,
    now: i64,
) -> AppResult<bool> {
    let inserted = c.execute(
        "INSERT INTO notification_deliveries (id, notification_id, channel, status, attempts, created_at)
         VALUES ($1, $2, $3, 'pending', 0, $4)
         ON CONFLICT (notification_id, channel) DO NOTHING",
        args![id, notification_id, ch.as_str(), now],
    )?;
    Ok(inserted == 1)
}

/// The (kind, channel) pairs a member turned on (unknown words skipped).
pub(super) fn enabled_preferences(
    c: &mut dyn Conn,
    account: &str,
) -> AppResult<Vec<(Kind, Channel)>> {
    let rows = c.query(
        "SELECT kind, channel FROM notification_preferences WHERE account_id = $1 AND enabled = $2",
        args![account, true],
    )?;
    let mut on = Vec::with_capacity(rows.len());
    for r in &rows {
        if let (Some(k), Some(ch)) = (Kind::parse(&r.text(0)?), Channel::parse(&r.text(1)?)) {
            on.push((k, ch));
        }
    }
    Ok(on)
}

/// One keyset page of a member's notifications, newest first (one more than the page).
pub(super) fn member_notifications(
    c: &mut dyn Conn,
    me: &str,
    page: &PageRequest,
    en: bool,
) -> AppResult<Vec<(i64, Notification)>> {
    let k = page.keyset(Direction::NewestFirst, "n.created_at", "n.id", 2);
    let mut params: Vec<Value> = vec![Value::from(me)];
    params.extend(k.args);
    params.push(Value::from(page.fetch()));
    let rows = c.query(
        &format!(
            "SELECT {} FROM notifications n WHERE n.account_id = $1 AND {}
             ORDER BY n.created_at DESC, n.id DESC LIMIT ${}",
            NoteCols::LIST,
            k.sql,
            k.next
        ),
        &params,
    )?;
    rows.iter().map(|r| from_row(r, en)).collect()
}

pub(super) fn count_unread(c: &mut dyn Conn, me: &str) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT COUNT(*) FROM notifications WHERE account_id = $1 AND read_at IS NULL",
        args![me],
    )?
    .int(0)?)
}

/// Marks one of the member's notifications read, unless it is already.
pub(super) fn mark_read(
    c: &mut dyn Conn,
    id: &NotificationId,
    me: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE notifications SET read_at = $1 WHERE id = $2 AND account_id = $3 AND read_at IS NULL",
        args![now, id, me],
    )?;
    Ok(())
}

/// One of the member's notifications (None for another member's or an unknown id).
pub(super) fn member_notification(
    c: &mut dyn Conn,
    id: &NotificationId,
    me: &str,
    en: bool,
) -> AppResult<Option<Notification>> {
    c.query_opt(
        &format!(
            "SELECT {} FROM notifications n WHERE n.id = $1 AND n.account_id = $2",
            NoteCols::LIST
        ),
        args![id, me],
    )?
    .map(|r| Ok(from_row(&r, en)?.1))
    .transpose()
}

/// Marks every unread notification of the member read; returns how many.
pub(super) fn mark_all_read(c: &mut dyn Conn, me: &str, now: i64) -> AppResult<i64> {
    Ok(c.execute(
        "UPDATE notifications SET read_at = $1 WHERE account_id = $2 AND read_at IS NULL",
        args![now, me],
    )? as i64)
}

/// Every stored choice of a member: (kind, channel, enabled), words unparsed.
pub(super) fn member_preferences(
    c: &mut dyn Conn,
    me: &str,
) -> AppResult<Vec<(String, String, bool)>> {
    c.query(
        "SELECT kind, channel, enabled FROM notification_preferences WHERE account_id = $1",
        args![me],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.bool(2)?)))
    .collect()
}

pub(super) fn upsert_preference(
    c: &mut dyn Conn,
    me: &str,
    kind: Kind,
    ch: Channel,
    enabled: bool,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO notification_preferences (account_id, kind, channel, enabled, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (account_id, kind, channel) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
        args![me, kind.as_str(), ch.as_str(), enabled, now],
    )?;
    Ok(())
}

pub(super) fn upsert_wechat_openid(
    c: &mut dyn Conn,
    account: &AccountId,
    openid: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO notify_wechat_openids (account_id, openid, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (account_id) DO UPDATE SET openid = excluded.openid",
        args![account, openid, now],
    )?;
    Ok(())
}

/// The openid recorded for the member with `set_wechat_openid`, if any.
pub(super) fn recorded_openid(c: &mut dyn Conn, account: &str) -> AppResult<Option<String>> {
    Ok(c.query_opt(
        "SELECT openid FROM notify_wechat_openids WHERE account_id = $1",
        args![account],
    )?
    .map(|r| r.text(0))
    .transpose()?)
}

// Columns of a delivery with its notification (`d`, `n`).
kith_store::columns!(PendingCols {
    "d.status" => status,
    "d.channel" => channel,
    "n.id" => notification_id,
    "n.account_id" => account_id,
    "n.kind" => kind,
    "n.params" => params,
    "n.link" => link,
});

/// A delivery with its notification, as the delivery job reads it.
pub(super) struct DeliveryRow {
    pub(super) status: String,
    pub(super) channel: Channel,
    pub(super) notification_id: NotificationId,
    pub(super) account_id: AccountId,
    pub(super) kind: Kind,
    pub(super) params: Json,
    pub(super) link: String,
}

pub(super) fn delivery(c: &mut dyn Conn, id: &str) -> AppResult<Option<DeliveryRow>> {
    let Some(r) = c.query_opt(
        &format!(
            "SELECT {} FROM notification_deliveries d
             JOIN notifications n ON n.id = d.notification_id WHERE d.id = $1",
            PendingCols::LIST
        ),
        args![id],
    )?
    else {
        return Ok(None);
    };
    let channel = Channel::parse(&r.text(PendingCols::channel)?)
        .ok_or_else(|| AppError::Internal("a delivery to an unknown channel".into()))?;
    let kind = Kind::parse(&r.text(PendingCols::kind)?)
        .ok_or_else(|| AppError::Internal("a notification of an unknown kind".into()))?;
    Ok(Some(DeliveryRow {
        status: r.text(PendingCols::status)?,
        channel,
        notification_id: NotificationId::from_row(r.text(PendingCols::notification_id)?),
        account_id: AccountId::from_row(r.text(PendingCols::account_id)?),
        kind,
        params: serde_json::from_str(&r.text(PendingCols::params)?).unwrap_or(Json::Null),
        link: r.text(PendingCols::link)?,
    }))
}

/// Ends a pending delivery; false when it was not pending (a second run changes nothing).
pub(super) fn settle_delivery(
    c: &mut dyn Conn,
    id: &str,
    status: &str,
    code: Option<i64>,
    error: Option<&str>,
    finished: Option<i64>,
) -> AppResult<bool> {
    Ok(c.execute(
        "UPDATE notification_deliveries SET status = $1, attempts = attempts + 1, error_code = $2, last_error = $3, finished_at = $4
         WHERE id = $5 AND status = 'pending'",
        args![status, code, error, finished, id],
    )? == 1)
}

/// A member's latest 200 deliveries, newest first.
pub(super) fn member_deliveries(
    c: &mut dyn Conn,
    me: &str,
) -> AppResult<Vec<super::DeliveryRecord>> {
    c.query(
        "SELECT n.id, n.kind, d.channel, d.status, d.attempts, d.error_code
         FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id
         WHERE n.account_id = $1 ORDER BY d.created_at DESC, d.id DESC LIMIT 200",
        args![me],
    )?
    .iter()
    .map(|r| {
        Ok(super::DeliveryRecord {
            notification_id: NotificationId::from_row(r.text(0)?),
            kind: r.text(1)?,
            channel: r.text(2)?,
            status: r.text(3)?,
            attempts: r.int(4)?,
            error_code: r.opt_int(5)?,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::{MOST_ROWS, power_of_two_chunks};

    #[test]
    fn chunks_are_powers_of_two_in_order_covering_every_row() {
        for n in 0..200usize {
            let rows: Vec<usize> = (0..n).collect();
            let chunks: Vec<&[usize]> = power_of_two_chunks(&rows).collect();
            let sizes: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
            assert!(
                sizes.iter().all(|s| s.is_power_of_two() && *s <= MOST_ROWS),
                "{n}: {sizes:?}"
            );
            assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{n}: {sizes:?}");
            assert_eq!(chunks.concat(), rows, "{n}: every row once, in order");
            // Below the largest chunk, each size at most once: n's binary digits.
            assert_eq!(
                sizes.iter().filter(|s| **s < MOST_ROWS).count(),
                (n % MOST_ROWS).count_ones() as usize
            );
        }
    }
}
