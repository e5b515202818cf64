//! The group-buy context's rows: the column lists, decoders and locked reads of campaigns,
//! groups and seats. Locks are taken in the order a join takes them: campaign, then group,
//! then (in commerce) the order's stock.

use kith_domain::PromotionStatus;
use kith_domain::group_buy::{GroupState, GroupStatus};
use kith_store::{Conn, Row, args};

use crate::platform::ids::parse_id;
use crate::{AppError, AppResult, rfc3339};

/// The `group.expire` job: a group still gathering at its expiry fails (payload
use super::*;

kith_store::columns!(CampaignCols {
    "c.id" => id,
    "c.merchant_id" => merchant_id,
    "c.product_id" => product_id,
    "c.sku_id" => sku_id,
    "c.title" => title,
    "p.name" => product_name,
    "s.code" => sku_code,
    "s.list_price_fen" => list_price_fen,
    "c.group_price_fen" => group_price_fen,
    "c.leader_price_fen" => leader_price_fen,
    "c.group_size" => group_size,
    "c.duration_secs" => duration_secs,
    "c.starts_at" => starts_at,
    "c.ends_at" => ends_at,
    "c.stock_limit" => stock_limit,
    "c.seats_taken" => seats_taken,
    "c.per_member_limit" => per_member_limit,
    "c.commission" => commission,
    "c.leader_bp" => leader_bp,
    "c.status" => status,
    "c.created_at" => created_at,
    "p.images" => images,
});

pub(super) const CAMPAIGN_COLS: &str = CampaignCols::LIST;
pub(super) const CAMPAIGN_FROM: &str =
    "group_campaigns c JOIN products p ON p.id = c.product_id JOIN skus s ON s.id = c.sku_id";

pub(super) fn campaign_view(r: &Row, now: i64) -> AppResult<Campaign> {
    let (starts, ends, limit, taken, status) = (
        r.int(CampaignCols::starts_at)?,
        r.int(CampaignCols::ends_at)?,
        r.int(CampaignCols::stock_limit)?,
        r.int(CampaignCols::seats_taken)?,
        PromotionStatus::from_db(&r.text(CampaignCols::status)?)
            .ok_or_else(|| AppError::Internal("unknown campaign status".into()))?,
    );
    Ok(Campaign {
        id: CampaignId::from_row(r.text(CampaignCols::id)?),
        merchant_id: MerchantId::from_row(r.text(CampaignCols::merchant_id)?),
        product_id: ProductId::from_row(r.text(CampaignCols::product_id)?),
        sku_id: SkuId::from_row(r.text(CampaignCols::sku_id)?),
        title: r.text(CampaignCols::title)?,
        product_name: r.text(CampaignCols::product_name)?,
        image: crate::commerce::catalog::first_image(&r.text(CampaignCols::images)?)?,
        sku_code: r.text(CampaignCols::sku_code)?,
        list_price_fen: Fen::new(r.int(CampaignCols::list_price_fen)?),
        group_price_fen: Fen::new(r.int(CampaignCols::group_price_fen)?),
        leader_price_fen: r.opt_int(CampaignCols::leader_price_fen)?.map(Fen::new),
        group_size: r.int(CampaignCols::group_size)?,
        duration_secs: r.int(CampaignCols::duration_secs)?,
        starts_at: rfc3339(starts),
        ends_at: rfc3339(ends),
        stock_limit: limit,
        seats_taken: taken,
        seats_left: limit - taken,
        per_member_limit: r.int(CampaignCols::per_member_limit)?,
        commission: r.int(CampaignCols::commission)? != 0,
        leader_bp: r.int(CampaignCols::leader_bp)?,
        open_for_groups: status.is_active()
            && starts <= now
            && now < ends
            && taken + r.int(CampaignCols::group_size)? <= limit,
        status,
        created_at: rfc3339(r.int(CampaignCols::created_at)?),
    })
}

pub(super) fn load_campaign(c: &mut dyn Conn, id: &str, now: i64) -> AppResult<Campaign> {
    let id = parse_id(id).ok_or(AppError::NotFound("group-buy campaign"))?;
    let r = c
        .query_opt(
            &format!("SELECT {CAMPAIGN_COLS} FROM {CAMPAIGN_FROM} WHERE c.id = $1"),
            args![&id],
        )?
        .ok_or(AppError::NotFound("group-buy campaign"))?;
    campaign_view(&r, now)
}

/// A group row as the rules need it.
pub(super) struct GroupRow {
    pub(super) id: GroupId,
    pub(super) campaign_id: CampaignId,
    pub(super) merchant_id: String,
    pub(super) state: GroupState,
}

kith_store::columns!(GroupCols {
    id,
    campaign_id,
    merchant_id,
    leader_id,
    size,
    held_seats,
    paid_seats,
    status,
    expires_at,
});
pub(super) const GROUP_COLS: &str = GroupCols::LIST;

pub(super) fn group_row(r: &Row) -> AppResult<GroupRow> {
    Ok(GroupRow {
        id: GroupId::from_row(r.text(GroupCols::id)?),
        campaign_id: CampaignId::from_row(r.text(GroupCols::campaign_id)?),
        merchant_id: r.text(GroupCols::merchant_id)?,
        state: GroupState {
            leader: r.text(GroupCols::leader_id)?,
            size: r.int(GroupCols::size)?,
            held: r.int(GroupCols::held_seats)?,
            paid: r.int(GroupCols::paid_seats)?,
            status: GroupStatus::from_db(&r.text(GroupCols::status)?)
                .ok_or_else(|| AppError::Internal("unknown group status".into()))?,
            expires_at_ms: r.opt_int(GroupCols::expires_at)?,
        },
    })
}

/// Loads a group, locking it on PostgreSQL (seat changes serialise on the group's row).
pub(super) fn lock_group(c: &mut dyn Conn, group_id: &str) -> AppResult<GroupRow> {
    let sql = format!(
        "SELECT {GROUP_COLS} FROM buy_groups WHERE id = $1{}",
        c.for_update()
    );
    let r = c
        .query_opt(&sql, args![group_id])?
        .ok_or(AppError::NotFound("group"))?;
    group_row(&r)
}

kith_store::columns!(GroupViewCols {
    "g.id" => id,
    "g.campaign_id" => campaign_id,
    "g.merchant_id" => merchant_id,
    "c.title" => title,
    "c.product_id" => product_id,
    "c.group_price_fen" => group_price_fen,
    "s.list_price_fen" => list_price_fen,
    "g.status" => status,
    "g.size" => size,
    "g.paid_seats" => paid_seats,
    "g.held_seats" => held_seats,
    "g.leader_id" => leader_id,
    "a.display_name" => leader_name,
    "g.expires_at" => expires_at,
    "g.fail_reason" => fail_reason,
    "g.created_at" => created_at,
    "g.ended_at" => ended_at,
    "p.images" => images,
});

pub(super) fn group_view(c: &mut dyn Conn, group_id: &str, now: i64) -> AppResult<Group> {
    let id = parse_id(group_id).ok_or(AppError::NotFound("group"))?;
    let r = c
        .query_opt(
            &format!(
                "SELECT {} FROM buy_groups g JOIN group_campaigns c ON c.id = g.campaign_id JOIN skus s ON s.id = c.sku_id JOIN products p ON p.id = c.product_id
                 JOIN accounts a ON a.id = g.leader_id WHERE g.id = $1",
                GroupViewCols::LIST
            ),
            args![&id],
        )?
        .ok_or(AppError::NotFound("group"))?;
    let leader_id = r.text(GroupViewCols::leader_id)?;
    let members = c
        .query(
            "SELECT a.id, a.display_name, s.state, a.avatar_media_id FROM group_seats s JOIN accounts a ON a.id = s.account_id
             WHERE s.group_id = $1 AND s.state IN ('held', 'paid') ORDER BY s.joined_at, s.order_id",
            args![&id],
        )?
        .iter()
        .map(|m| {
            Ok(GroupMember {
                is_leader: m.text(0)? == leader_id,
                display_name: m.text(1)?,
                paid: m.text(2)? == "paid",
                avatar: m
                    .opt_text(3)?
                    .map(|id| crate::platform::pictures::MediaRef::of(&id)),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let status = GroupStatus::from_db(&r.text(GroupViewCols::status)?)
        .ok_or_else(|| AppError::Internal("unknown group status".into()))?;
    let (size, held) = (
        r.int(GroupViewCols::size)?,
        r.int(GroupViewCols::held_seats)?,
    );
    let expires = r.opt_int(GroupViewCols::expires_at)?;
    Ok(Group {
        id: GroupId::from_row(r.text(GroupViewCols::id)?),
        campaign_id: CampaignId::from_row(r.text(GroupViewCols::campaign_id)?),
        merchant_id: MerchantId::from_row(r.text(GroupViewCols::merchant_id)?),
        title: r.text(GroupViewCols::title)?,
        product_id: ProductId::from_row(r.text(GroupViewCols::product_id)?),
        image: crate::commerce::catalog::first_image(&r.text(GroupViewCols::images)?)?,
        group_price_fen: Fen::new(r.int(GroupViewCols::group_price_fen)?),
        list_price_fen: Fen::new(r.int(GroupViewCols::list_price_fen)?),
        status,
        size,
        paid_seats: r.int(GroupViewCols::paid_seats)?,
        held_seats: held,
        seats_left: if status.is_over() { 0 } else { size - held },
        leader_id: AccountId::from_row(leader_id),
        leader_name: r.text(GroupViewCols::leader_name)?,
        expires_at: expires.map(rfc3339),
        seconds_left: expires.map(|e| ((e - now) / 1000).max(0)),
        members,
        fail_reason: r.opt_text(GroupViewCols::fail_reason)?,
        created_at: rfc3339(r.int(GroupViewCols::created_at)?),
        ended_at: r.opt_int(GroupViewCols::ended_at)?.map(rfc3339),
    })
}

/// The live seat of an order: (group id, seat state).
pub(super) fn seat_of(c: &mut dyn Conn, order_id: &str) -> AppResult<Option<(String, String)>> {
    c.query_opt(
        "SELECT group_id, state FROM group_seats WHERE order_id = $1 AND state IN ('held', 'paid')",
        args![order_id],
    )?
    .map(|r| Ok((r.text(0)?, r.text(1)?)))
    .transpose()
}

/// A campaign as the merchant sets it up.
pub(super) struct NewCampaign<'a> {
    pub id: &'a str,
    pub merchant_id: &'a str,
    pub product_id: &'a str,
    pub sku_id: &'a str,
    pub title: &'a str,
    pub terms: &'a kith_domain::group_buy::CampaignTerms,
    pub commission: bool,
}

pub(super) fn insert_campaign(c: &mut dyn Conn, now: i64, n: &NewCampaign<'_>) -> AppResult<()> {
    let terms = n.terms;
    c.execute(
        "INSERT INTO group_campaigns (id, merchant_id, product_id, sku_id, title, group_size, group_price_fen, leader_price_fen,
                        duration_secs, starts_at, ends_at, stock_limit, seats_taken, per_member_limit, commission, leader_bp, status, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $13, $14, $15, 'active', $16, $16)",
        args![n.id, n.merchant_id, n.product_id, n.sku_id, n.title, terms.group_size,
              terms.group_price.get(), terms.leader_price.map(Fen::get), terms.duration_secs, terms.starts_at_ms,
              terms.ends_at_ms, terms.stock_limit, terms.per_member_limit, n.commission, terms.leader_bp, now],
    )?;
    Ok(())
}

pub(super) fn end_campaign(c: &mut dyn Conn, now: i64, id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE group_campaigns SET status = 'ended', updated_at = $1 WHERE id = $2",
        args![now, id],
    )?;
    Ok(())
}

/// A merchant's campaigns, newest first (at most 100).
pub(super) fn merchant_campaigns(
    c: &mut dyn Conn,
    merchant_id: &str,
    now: i64,
) -> AppResult<Vec<Campaign>> {
    c.query(
        &format!("SELECT {CAMPAIGN_COLS} FROM {CAMPAIGN_FROM} WHERE c.merchant_id = $1 ORDER BY c.created_at DESC, c.id LIMIT 100"),
        args![merchant_id],
    )?
    .iter()
    .map(|r| campaign_view(r, now))
    .collect()
}

/// The campaign's groups that can be joined now, closest to completion first.
pub(super) fn joinable_group_ids(
    c: &mut dyn Conn,
    campaign_id: &str,
    now: i64,
    limit: i64,
) -> AppResult<Vec<String>> {
    Ok(c
        .query(
            "SELECT id FROM buy_groups WHERE campaign_id = $1 AND status = 'forming' AND held_seats < size AND expires_at > $2
                         ORDER BY size - held_seats, expires_at, id LIMIT $3",
            args![campaign_id, now, limit],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>, _>>()?)
}

/// The campaign a group belongs to.
pub(super) fn group_campaign_id(c: &mut dyn Conn, group_id: &str) -> AppResult<Option<String>> {
    c.query_opt(
        "SELECT campaign_id FROM buy_groups WHERE id = $1",
        args![group_id],
    )?
    .map(|r| r.text(0))
    .transpose()
    .map_err(Into::into)
}

/// The member's seats, newest first (at most 100): (group, order, state).
/// The group `member`'s seat of `order_id` is in, if the order took a seat.
pub(super) fn group_of_order(
    c: &mut dyn Conn,
    member: &str,
    order_id: &str,
) -> AppResult<Option<String>> {
    Ok(c.query_opt(
        "SELECT group_id FROM group_seats WHERE order_id = $1 AND account_id = $2",
        args![order_id, member],
    )?
    .map(|r| r.text(0))
    .transpose()?)
}

pub(super) fn member_seats(
    c: &mut dyn Conn,
    member: &str,
) -> AppResult<Vec<(String, String, String)>> {
    c.query(
        "SELECT group_id, order_id, state FROM group_seats WHERE account_id = $1 ORDER BY joined_at DESC, order_id LIMIT 100",
        args![member],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?, r.text(2)?)))
    .collect()
}

/// The group and the state of the seat an order holds, if it holds one.
pub(super) fn seat_group(c: &mut dyn Conn, order_id: &str) -> AppResult<Option<(String, String)>> {
    c.query_opt(
        "SELECT g.id, s.state FROM group_seats s JOIN buy_groups g ON g.id = s.group_id WHERE s.order_id = $1",
        args![order_id],
    )?
    .map(|r| Ok((r.text(0)?, r.text(1)?)))
    .transpose()
}

pub(super) fn set_seat_paid(c: &mut dyn Conn, now: i64, order_id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE group_seats SET state = 'paid', paid_at = $1 WHERE order_id = $2",
        args![now, order_id],
    )?;
    Ok(())
}

pub(super) fn campaign_duration_secs(c: &mut dyn Conn, campaign_id: &str) -> AppResult<i64> {
    Ok(c.query_one(
        "SELECT duration_secs FROM group_campaigns WHERE id = $1",
        args![campaign_id],
    )?
    .int(0)?)
}

/// The leader's seat is paid: the group is forming until `expires`.
pub(super) fn open_group(
    c: &mut dyn Conn,
    now: i64,
    group_id: &str,
    expires: i64,
) -> AppResult<()> {
    c.execute(
        "UPDATE buy_groups SET paid_seats = paid_seats + 1, status = 'forming', opened_at = $1, expires_at = $2 WHERE id = $3",
        args![now, expires, group_id],
    )?;
    Ok(())
}

pub(super) fn add_paid_seat(c: &mut dyn Conn, group_id: &str) -> AppResult<()> {
    c.execute(
        "UPDATE buy_groups SET paid_seats = paid_seats + 1 WHERE id = $1",
        args![group_id],
    )?;
    Ok(())
}

/// The forming group succeeds; false when it was no longer forming.
pub(super) fn set_succeeded(c: &mut dyn Conn, now: i64, group_id: &str) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE buy_groups SET status = 'succeeded', ended_at = $1 WHERE id = $2 AND status = 'forming'",
        args![now, group_id],
    )?;
    Ok(n > 0)
}

/// Whether the campaign earns commission, and the leader's rate.
pub(super) fn campaign_commission(c: &mut dyn Conn, campaign_id: &str) -> AppResult<(i64, i64)> {
    let campaign = c.query_one(
        "SELECT commission, leader_bp FROM group_campaigns WHERE id = $1",
        args![campaign_id],
    )?;
    Ok((campaign.int(0)?, campaign.int(1)?))
}

/// The group's paid seats, in the order they were paid: (order, member).
pub(super) fn paid_seats(c: &mut dyn Conn, group_id: &str) -> AppResult<Vec<(String, String)>> {
    c.query(
        "SELECT order_id, account_id FROM group_seats WHERE group_id = $1 AND state = 'paid' ORDER BY paid_at, order_id",
        args![group_id],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?)))
    .collect()
}

pub(super) fn set_seat_state(c: &mut dyn Conn, order_id: &str, state: &str) -> AppResult<()> {
    c.execute(
        "UPDATE group_seats SET state = $1 WHERE order_id = $2",
        args![state, order_id],
    )?;
    Ok(())
}

/// A seat of the group is free again (`was_paid`: 1 when it had been paid).
pub(super) fn release_seat(c: &mut dyn Conn, group_id: &str, was_paid: i64) -> AppResult<()> {
    c.execute(
        "UPDATE buy_groups SET held_seats = held_seats - 1, paid_seats = paid_seats - $1 WHERE id = $2",
        args![was_paid, group_id],
    )?;
    Ok(())
}

/// Who paid a seat of the group, and when.
pub(super) fn payers(c: &mut dyn Conn, group_id: &str) -> AppResult<Vec<(String, i64)>> {
    c.query(
        "SELECT account_id, paid_at FROM group_seats WHERE group_id = $1 AND state = 'paid'",
        args![group_id],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)?)))
    .collect()
}

pub(super) fn set_leader(c: &mut dyn Conn, group_id: &str, leader: &str) -> AppResult<()> {
    c.execute(
        "UPDATE buy_groups SET leader_id = $1 WHERE id = $2",
        args![leader, group_id],
    )?;
    Ok(())
}

/// The group fails with `reason`; false when it was over already.
pub(super) fn set_failed(
    c: &mut dyn Conn,
    now: i64,
    group_id: &str,
    reason: &str,
) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE buy_groups SET status = 'failed', ended_at = $1, fail_reason = $2 WHERE id = $3 AND status IN ('opening', 'forming')",
        args![now, reason, group_id],
    )?;
    Ok(n > 0)
}

/// The campaign gets back the seats of the group.
pub(super) fn return_group_seats(
    c: &mut dyn Conn,
    now: i64,
    group_id: &str,
    campaign_id: &str,
) -> AppResult<()> {
    c.execute(
        "UPDATE group_campaigns SET seats_taken = seats_taken - (SELECT size FROM buy_groups WHERE id = $1), updated_at = $2 WHERE id = $3",
        args![group_id, now, campaign_id],
    )?;
    Ok(())
}

/// The group's live seats (held or paid), in the order they were taken: (order, member).
pub(super) fn live_seats(c: &mut dyn Conn, group_id: &str) -> AppResult<Vec<(String, String)>> {
    c.query(
        "SELECT order_id, account_id FROM group_seats WHERE group_id = $1 AND state IN ('held', 'paid') ORDER BY joined_at, order_id",
        args![group_id],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?)))
    .collect()
}

/// Locks the campaign's row (PostgreSQL); `None` when there is no such campaign.
pub(super) fn lock_campaign_row(c: &mut dyn Conn, campaign_id: &str) -> AppResult<Option<()>> {
    Ok(c.query_opt(
        &format!(
            "SELECT id FROM group_campaigns WHERE id = $1{}",
            c.for_update()
        ),
        args![campaign_id],
    )?
    .map(|_| ()))
}

/// Takes a whole group's seats from the campaign for a new group; false when the campaign
/// is not active and running now, or has not that many seats left.
pub(super) fn take_group_seats(c: &mut dyn Conn, now: i64, campaign_id: &str) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE group_campaigns SET seats_taken = seats_taken + group_size, updated_at = $1
                 WHERE id = $2 AND status = 'active' AND seats_taken + group_size <= stock_limit AND starts_at <= $1 AND ends_at > $1",
        args![now, campaign_id],
    )?;
    Ok(n > 0)
}

pub(super) fn insert_group(
    c: &mut dyn Conn,
    now: i64,
    id: &str,
    campaign_id: &str,
    merchant_id: &str,
    leader: &str,
    size: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO buy_groups (id, campaign_id, merchant_id, leader_id, size, held_seats, paid_seats, status, created_at)
                 VALUES ($1, $2, $3, $4, $5, 1, 0, 'opening', $6)",
        args![id, campaign_id, merchant_id, leader, size, now],
    )?;
    Ok(())
}

/// Whether `member` holds a live seat in the group.
pub(super) fn in_group(c: &mut dyn Conn, group_id: &str, member: &str) -> AppResult<bool> {
    Ok(c
        .query_opt(
            "SELECT 1 FROM group_seats WHERE group_id = $1 AND account_id = $2 AND state IN ('held', 'paid')",
            args![group_id, member],
        )?
        .is_some())
}

/// Holds one more seat of the forming group; false when it is full, over or expired.
pub(super) fn hold_seat(c: &mut dyn Conn, now: i64, group_id: &str) -> AppResult<bool> {
    let n = c.execute(
        "UPDATE buy_groups SET held_seats = held_seats + 1 WHERE id = $1 AND status = 'forming' AND held_seats < size AND expires_at > $2",
        args![group_id, now],
    )?;
    Ok(n > 0)
}

/// The member's live seats in the campaign.
pub(super) fn member_live_seats(
    c: &mut dyn Conn,
    campaign_id: &str,
    member: &str,
) -> AppResult<i64> {
    Ok(c
        .query_one(
            "SELECT COUNT(*) FROM group_seats WHERE campaign_id = $1 AND account_id = $2 AND state IN ('held', 'paid')",
            args![campaign_id, member],
        )?
        .int(0)?)
}

pub(super) fn insert_seat(
    c: &mut dyn Conn,
    now: i64,
    order_id: &str,
    group_id: &str,
    campaign_id: &str,
    member: &str,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO group_seats (order_id, group_id, campaign_id, account_id, state, joined_at) VALUES ($1, $2, $3, $4, 'held', $5)",
        args![order_id, group_id, campaign_id, member, now],
    )?;
    Ok(())
}
