//! The shop's people at a desk: its members as a table (searched by name or phone, the
//! phone masked), the member picker's suggestions (`members/search`, JSON for
//! `static/member-picker.js`; without JavaScript the picker is a search form that lists
//! the matches as choices), and the withdrawals its distributors asked for. Who counts as a
//! member, and what a search may match, is the use case's (`App::shop_members`,
//! `MemberQuery`); these handlers only parse and draw.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kith_app::AppError;
use kith_app::commerce::browse::{MemberQuery, ShopMember};
use kith_app::money::withdrawals::Withdrawal;
use serde::{Deserialize, Serialize};

use super::shop;
use crate::pages::{Shop, filters};
use crate::{Ctx, Web, WebResult, render};

/// Rows the members page lists (the CSV file holds them all).
pub(super) const PAGE_MEMBERS: usize = 200;
/// Suggestions the picker shows at once.
pub(super) const PICKS: usize = 10;

#[derive(Deserialize, Default)]
pub(super) struct SearchQuery {
    #[serde(default)]
    pub(super) q: String,
}

/// What a member picker shows: the search as typed, whether it was refused, and the
/// members to choose from (the shop's latest when nothing is typed).
pub(crate) struct Picker {
    pub q: String,
    pub refused: bool,
    pub found: Vec<ShopMember>,
    /// The id of the page's GET form the search box belongs to.
    pub search_form: &'static str,
}

impl Picker {
    /// The shop's members matching `q`, at most [`PICKS`]; a refused search keeps what
    /// was typed and lists nobody.
    pub(crate) async fn find(
        s: &Web,
        c: &Ctx,
        shop: &Shop,
        q: &str,
        search_form: &'static str,
    ) -> WebResult<Picker> {
        let who = c.principal()?;
        let (refused, found) = match MemberQuery::parse(q) {
            Ok(query) => (
                false,
                s.app.shop_members(who, &shop.id, &query, PICKS).await?,
            ),
            Err(AppError::Invalid { .. }) => (true, Vec::new()),
            Err(e) => return Err(e.into()),
        };
        Ok(Picker {
            q: q.trim().to_owned(),
            refused,
            found,
            search_form,
        })
    }
}

#[derive(Template)]
#[template(path = "console/members.html")]
pub(super) struct ConsoleMembers {
    c: Ctx,
    shop: Shop,
    q: String,
    refused: bool,
    rows: Vec<ShopMember>,
    /// More matched than the page lists.
    capped: bool,
}

/// `GET /console/{mid}/members?q=`: the shop's members, or those matching the search.
pub(super) async fn members(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    Query(q): Query<SearchQuery>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let (refused, mut rows) = match MemberQuery::parse(&q.q) {
        Ok(query) => (
            false,
            s.app
                .shop_members(&who, &shop.id, &query, PAGE_MEMBERS + 1)
                .await?,
        ),
        Err(AppError::Invalid { .. }) => (true, Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let capped = rows.len() > PAGE_MEMBERS;
    rows.truncate(PAGE_MEMBERS);
    let html = render(&ConsoleMembers {
        c,
        shop,
        q: q.q.trim().to_owned(),
        refused,
        rows,
        capped,
    })?;
    if refused {
        Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
    } else {
        Ok(html.into_response())
    }
}

/// One suggestion of the member picker.
#[derive(Serialize)]
struct Pick {
    id: String,
    name: String,
    /// Masked as the shop may see it.
    phone: String,
    tier: Option<String>,
}

/// `GET /console/{mid}/members/search?q=`: up to [`PICKS`] of the shop's members matching
/// `q`, as JSON for the picker (staff only; a refused search is 422).
pub(super) async fn search(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    Query(q): Query<SearchQuery>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let query = MemberQuery::parse(&q.q)?;
    let picks: Vec<Pick> = s
        .app
        .shop_members(&who, &shop.id, &query, PICKS)
        .await?
        .into_iter()
        .map(|m| Pick {
            id: m.account_id.to_string(),
            name: m.display_name,
            phone: m.phone_masked,
            tier: m.tier_name,
        })
        .collect();
    Ok(([(header::CACHE_CONTROL, "no-store")], axum::Json(picks)).into_response())
}

/// A withdrawal with the name of who asked for it.
pub(crate) struct WithdrawalView {
    pub w: Withdrawal,
    pub member: String,
}

/// The withdrawals with their members' names.
pub(crate) async fn named(s: &Web, list: Vec<Withdrawal>) -> WebResult<Vec<WithdrawalView>> {
    let mut ids: Vec<String> = Vec::new();
    for w in &list {
        if !ids.iter().any(|id| *id == w.account_id) {
            ids.push(w.account_id.to_string());
        }
    }
    let mut names = Vec::new();
    for chunk in ids.chunks(200) {
        names.extend(s.app.display_names(chunk).await?);
    }
    Ok(list
        .into_iter()
        .map(|w| {
            let member = names
                .iter()
                .find(|(id, _)| *id == w.account_id)
                .map_or_else(String::new, |(_, n)| n.clone());
            WithdrawalView { w, member }
        })
        .collect())
}

#[derive(Template)]
#[template(path = "console/withdrawals.html")]
pub(super) struct ConsoleWithdrawals {
    c: Ctx,
    shop: Shop,
    rows: Vec<WithdrawalView>,
}

/// `GET /console/{mid}/withdrawals`: the withdrawals asked for at this shop, newest first.
pub(super) async fn withdrawals(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let list = s.app.merchant_withdrawals(&who, &shop.id).await?;
    let rows = named(&s, list).await?;
    Ok(render(&ConsoleWithdrawals { c, shop, rows })?.into_response())
}

#[derive(Template)]
#[template(path = "console/coupon_member.html")]
pub(super) struct CouponToMember {
    c: Ctx,
    shop: Shop,
    template_id: String,
    template_name: String,
    picker: Picker,
}

/// `GET /console/{mid}/coupons/{tid}/to-member?q=`: one coupon of a template to one member
/// chosen with the picker; the form posts to the coupons' own issue action.
pub(super) async fn coupon_to_member(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, tid)): Path<(String, String)>,
    Query(q): Query<SearchQuery>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let template = s
        .app
        .list_coupon_templates(&who, &shop.id)
        .await?
        .into_iter()
        .find(|t| t.id == tid && t.status.is_active())
        .ok_or(AppError::NotFound("coupon template"))?;
    let picker = Picker::find(&s, &c, &shop, &q.q, "coupon-pick-search").await?;
    Ok(render(&CouponToMember {
        c,
        shop,
        template_id: template.id.to_string(),
        template_name: template.name,
        picker,
    })?
    .into_response())
}
