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
});

pub(super) fn group_view(c: &mut dyn Conn, group_id: &str, now: i64) -> AppResult<Group> {
    let id = parse_id(group_id).ok_or(AppError::NotFound("group"))?;
    let r = c
        .query_opt(
            &format!(
                "SELECT {} FROM buy_groups g JOIN group_campaigns c ON c.id = g.campaign_id JOIN skus s ON s.id = c.sku_id
                 JOIN accounts a ON a.id = g.leader_id WHERE g.id = $1",
                GroupViewCols::LIST
            ),
            args![&id],
        )?
        .ok_or(AppError::NotFound("group"))?;
    let leader_id = r.text(GroupViewCols::leader_id)?;
    let members = c
        .query(
            "SELECT a.id, a.display_name, s.state FROM group_seats s JOIN accounts a ON a.id = s.account_id
             WHERE s.group_id = $1 AND s.state IN ('held', 'paid') ORDER BY s.joined_at, s.order_id",
            args![&id],
        )?
        .iter()
        .map(|m| {
            Ok(GroupMember {
                is_leader: m.text(0)? == leader_id,
                display_name: m.text(1)?,
                paid: m.text(2)? == "paid",
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
