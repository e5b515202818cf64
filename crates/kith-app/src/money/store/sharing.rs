//! Share links (`share_links`, `share_link_merchants`), their `share_visits` and
//! `share_signups`, and `referrer_bindings`; with the reads of other contexts' rows that
//! say where a link earns (products, posts and their tags, communities, group-buy groups).

use kith_domain::commission::Binding;
use kith_store::{Conn, Row, args};

use crate::money::sharing::ReferrerBinding;
use crate::platform::ids::{AccountId, MerchantId};
use crate::{AppResult, rfc3339};

/// A link's row: (id, code, sharer_id, kind, target_id, created_at).
pub(in crate::money) fn share_link_row(c: &mut dyn Conn, id: &str) -> AppResult<Option<Row>> {
    Ok(c.query_opt(
        "SELECT id, code, sharer_id, kind, target_id, created_at FROM share_links WHERE id = $1",
        args![id],
    )?)
}

/// (merchant, channel) of each merchant a link earns at, by merchant id.
pub(in crate::money) fn link_merchant_channels(
    c: &mut dyn Conn,
    link_id: &str,
) -> AppResult<Vec<(String, String)>> {
    c.query(
        "SELECT merchant_id, channel FROM share_link_merchants WHERE link_id = $1 ORDER BY merchant_id",
        args![link_id],
    )?
    .iter()
    .map(|m| Ok((m.text(0)?, m.text(1)?)))
    .collect()
}

/// The merchants a link earns at, by id.
pub(in crate::money) fn link_merchants(c: &mut dyn Conn, link_id: &str) -> AppResult<Vec<String>> {
    Ok(c.query(
        "SELECT merchant_id FROM share_link_merchants WHERE link_id = $1 ORDER BY merchant_id",
        args![link_id],
    )?
    .iter()
    .map(|r| r.text(0))
    .collect::<Result<Vec<_>, _>>()?)
}

/// The merchant's (binding_mode, binding_days), when it has a plan.
pub(in crate::money) fn plan_binding(
    c: &mut dyn Conn,
    merchant_id: &str,
) -> AppResult<Option<(String, Option<i64>)>> {
    c.query_opt(
        "SELECT binding_mode, binding_days FROM commission_plans WHERE merchant_id = $1",
        args![merchant_id],
    )?
    .map(|r| Ok((r.text(0)?, r.opt_int(1)?)))
    .transpose()
}

/// `member`'s binding at `merchant_id`, expired or not.
pub(in crate::money) fn binding_of(
    c: &mut dyn Conn,
    merchant_id: &str,
    member: &str,
) -> AppResult<Option<Binding>> {
    c.query_opt(BINDING_OF, args![merchant_id, member])?
        .map(|r| Ok((r.text(0)?, r.opt_int(1)?)))
        .transpose()
}

const BINDING_OF: &str = "SELECT referrer_id, expires_at FROM referrer_bindings WHERE merchant_id = $1 AND member_id = $2";

/// Announces [`binding_of`] ([`Conn::prefetch`]).
pub(in crate::money) fn announce_binding_of(
    c: &mut dyn Conn,
    merchant_id: &str,
    member: &str,
) -> AppResult<()> {
    Ok(kith_store::prefetch!(c, BINDING_OF, merchant_id, member)?)
}

/// Binds the member anew over an expired binding; the WHERE re-checks it did expire.
/// Returns the rows changed (0 or 1).
pub(in crate::money) fn rebind_expired(
    c: &mut dyn Conn,
    merchant_id: &str,
    member: &str,
    referrer: &str,
    link_id: Option<&str>,
    now: i64,
    expires: Option<i64>,
) -> AppResult<u64> {
    Ok(c.execute(
        "UPDATE referrer_bindings SET referrer_id = $1, link_id = $2, bound_at = $3, expires_at = $4
             WHERE merchant_id = $5 AND member_id = $6 AND expires_at IS NOT NULL AND expires_at <= $3",
        args![referrer, link_id, now, expires, merchant_id, member],
    )?)
}

/// Binds the member for the first time. Returns the rows inserted (0 when a binding
/// appeared meanwhile).
pub(in crate::money) fn insert_binding(
    c: &mut dyn Conn,
    merchant_id: &str,
    member: &str,
    referrer: &str,
    link_id: Option<&str>,
    now: i64,
    expires: Option<i64>,
) -> AppResult<u64> {
    Ok(c.execute(
        "INSERT INTO referrer_bindings (merchant_id, member_id, referrer_id, link_id, bound_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (merchant_id, member_id) DO NOTHING",
        args![merchant_id, member, referrer, link_id, now, expires],
    )?)
}

/// The id of `sharer`'s link to the target, if there is one.
pub(in crate::money) fn find_link(
    c: &mut dyn Conn,
    sharer: &str,
    kind: &str,
    target: &str,
) -> AppResult<Option<String>> {
    Ok(c.query_opt(
        "SELECT id FROM share_links WHERE sharer_id = $1 AND kind = $2 AND target_id = $3",
        args![sharer, kind, target],
    )?
    .map(|r| r.text(0))
    .transpose()?)
}

/// Inserts a link; false when either unique rule (the code, or sharer and target) stopped it.
pub(in crate::money) fn insert_link(
    c: &mut dyn Conn,
    id: &str,
    code: &str,
    sharer: &str,
    kind: &str,
    target: &str,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "INSERT INTO share_links (id, code, sharer_id, kind, target_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT DO NOTHING",
        args![id, code, sharer, kind, target, now],
    )? == 1)
}

pub(in crate::money) fn insert_link_merchant(
    c: &mut dyn Conn,
    link_id: &str,
    merchant_id: &str,
    channel: &str,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO share_link_merchants (link_id, merchant_id, channel) VALUES ($1, $2, $3)",
        args![link_id, merchant_id, channel],
    )?;
    Ok(())
}

pub(in crate::money) fn insert_visit(
    c: &mut dyn Conn,
    id: &str,
    link_id: &str,
    visitor: Option<&str>,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO share_visits (id, link_id, visitor_id, at) VALUES ($1, $2, $3, $4)",
        args![id, link_id, visitor, now],
    )?;
    Ok(())
}

/// (id, sharer) of the link with this code.
pub(in crate::money) fn link_by_code(
    c: &mut dyn Conn,
    code: &str,
) -> AppResult<Option<(String, String)>> {
    c.query_opt(
        "SELECT id, sharer_id FROM share_links WHERE code = $1",
        args![code],
    )?
    .map(|r| Ok((r.text(0)?, r.text(1)?)))
    .transpose()
}

/// The merchant of a community that exists (none for a community of no merchant).
pub(in crate::money) fn community_merchant(
    c: &mut dyn Conn,
    community_id: &str,
) -> AppResult<Option<String>> {
    Ok(c.query_one(
        "SELECT merchant_id FROM communities WHERE id = $1",
        args![community_id],
    )?
    .opt_text(0)?)
}

/// A community's merchant (inner none: of no merchant); none when there is no such community.
pub(in crate::money) fn find_community_merchant(
    c: &mut dyn Conn,
    community_id: &str,
) -> AppResult<Option<Option<String>>> {
    c.query_opt(
        "SELECT merchant_id FROM communities WHERE id = $1",
        args![community_id],
    )?
    .map(|r| Ok(r.opt_text(0)?))
    .transpose()
}

/// The merchant of an active product.
pub(in crate::money) fn active_product_merchant(
    c: &mut dyn Conn,
    product_id: &str,
) -> AppResult<Option<String>> {
    c.query_opt(
        "SELECT merchant_id FROM products WHERE id = $1 AND status = 'active'",
        args![product_id],
    )?
    .map(|r| Ok(r.text(0)?))
    .transpose()
}

/// The author of a post that exists.
pub(in crate::money) fn post_author(c: &mut dyn Conn, post_id: &str) -> AppResult<String> {
    Ok(
        c.query_one("SELECT author_id FROM posts WHERE id = $1", args![post_id])?
            .text(0)?,
    )
}

/// The merchants whose products a post tags.
pub(in crate::money) fn post_tag_merchants(
    c: &mut dyn Conn,
    post_id: &str,
) -> AppResult<Vec<String>> {
    c.query(
        "SELECT DISTINCT merchant_id FROM post_tags WHERE post_id = $1",
        args![post_id],
    )?
    .iter()
    .map(|r| Ok(r.text(0)?))
    .collect()
}

/// The merchant of a group-buy group that is still gathering.
pub(in crate::money) fn gathering_group_merchant(
    c: &mut dyn Conn,
    group_id: &str,
) -> AppResult<Option<String>> {
    c.query_opt(
        "SELECT merchant_id FROM buy_groups WHERE id = $1 AND status IN ('opening', 'forming')",
        args![group_id],
    )?
    .map(|r| Ok(r.text(0)?))
    .transpose()
}

pub(in crate::money) fn insert_signup(
    c: &mut dyn Conn,
    account_id: &str,
    link_id: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO share_signups (account_id, link_id, at) VALUES ($1, $2, $3)",
        args![account_id, link_id, now],
    )?;
    Ok(())
}

/// The ids of the sharer's last 200 links, newest first.
pub(in crate::money) fn sharer_links(c: &mut dyn Conn, sharer: &str) -> AppResult<Vec<String>> {
    Ok(c.query(
        "SELECT id FROM share_links WHERE sharer_id = $1 ORDER BY created_at DESC, id LIMIT 200",
        args![sharer],
    )?
    .iter()
    .map(|r| r.text(0))
    .collect::<Result<Vec<_>, _>>()?)
}

/// The member's bindings with each referrer's display name, oldest first.
pub(in crate::money) fn member_bindings(
    c: &mut dyn Conn,
    member: &str,
) -> AppResult<Vec<ReferrerBinding>> {
    c.query(
        "SELECT b.merchant_id, b.referrer_id, a.display_name, b.bound_at, b.expires_at
         FROM referrer_bindings b JOIN accounts a ON a.id = b.referrer_id
         WHERE b.member_id = $1 ORDER BY b.bound_at, b.merchant_id",
        args![member],
    )?
    .iter()
    .map(|r| {
        Ok(ReferrerBinding {
            merchant_id: MerchantId::from_row(r.text(0)?),
            referrer_id: AccountId::from_row(r.text(1)?),
            referrer_name: r.text(2)?,
            bound_at: rfc3339(r.int(3)?),
            expires_at: r.opt_int(4)?.map(rfc3339),
        })
    })
    .collect()
}
