//! The clerk's page (redeem a pickup code, the store's orders waiting for pickup) and the
//! platform admin's page (merchant applications to approve or reject, withdrawals to
//! approve or reject with a reason; shops' settled balances and recording a settling-up,
//! [`settlement`]). Access is the use cases': a clerk of another store, or
//! a member who is not an admin, gets 403.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kith_app::commerce::orders::Order;
use kith_app::money::withdrawals::Withdrawal;
use kith_app::platform::ids::MerchantId;
use kith_app::platform::merchants::Merchant;
use kith_app::platform::page::PageRequest;
use kith_domain::MerchantStatus;
use serde::Deserialize;

mod settlement;

use crate::pages::{self, Empty};
use crate::{CsrfForm, Ctx, Web, WebResult, render, see};

pub fn routes() -> Router<Web> {
    Router::new()
        .route("/clerk/{sid}", get(clerk))
        .route("/clerk/{sid}/redeem", post(redeem))
        .route("/admin", get(admin))
        .route("/admin/merchants/{mid}/approve", post(approve))
        .route("/admin/merchants/{mid}/reject", post(reject))
        .route("/admin/withdrawals.csv", get(withdrawals_csv))
        .route("/admin/withdrawals/{wid}/approve", post(approve_withdrawal))
        .route("/admin/withdrawals/{wid}/reject", post(reject_withdrawal))
        .route(
            "/admin/settlements",
            get(settlement::settlements).post(settlement::settle_up),
        )
}

async fn clerk_page(s: &Web, c: Ctx, sid: &str, redeemed: Option<Order>) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let store = s
        .app
        .clerk_store(&who, &kith_app::platform::ids::StoreId::parse_or_404(sid)?)
        .await?;
    let pickups = s
        .app
        .store_pickups(&who, &kith_app::platform::ids::StoreId::parse_or_404(sid)?)
        .await?;
    Ok(render(&pages::ClerkPage {
        c,
        store,
        pickups,
        redeemed,
    })?
    .into_response())
}

async fn clerk(State(s): State<Web>, c: Ctx, Path(sid): Path<String>) -> WebResult<Response> {
    clerk_page(&s, c, &sid, None).await
}

#[derive(Deserialize)]
struct RedeemForm {
    #[serde(default)]
    code: String,
}

async fn redeem(
    State(s): State<Web>,
    c: Ctx,
    Path(sid): Path<String>,
    CsrfForm(f): CsrfForm<RedeemForm>,
) -> WebResult<Response> {
    // A scanned QR code types its whole text (`kith:pickup:{order}:{code}`): the code is
    // its last part.
    let code = f.code.rsplit(':').next().unwrap_or_default();
    let who = c.principal()?;
    let store = kith_app::platform::ids::StoreId::parse_or_404(&sid)?;
    let order = s.app.redeem_pickup(who, &store, code).await?;
    clerk_page(&s, c, &sid, Some(order)).await
}

async fn all_with(s: &Web, c: &Ctx, status: MerchantStatus) -> WebResult<Vec<Merchant>> {
    Ok(s.app
        .list_merchants(c.principal()?, Some(status), PageRequest::first(100))
        .await?
        .items)
}

/// A withdrawal waiting for the admin, with who asked and at which merchant.
pub struct WithdrawalRow {
    pub w: Withdrawal,
    pub member: String,
    pub merchant: String,
}

/// The withdrawals waiting for the admin, named (the page's table and its CSV file).
async fn waiting_withdrawals(
    s: &Web,
    c: &Ctx,
    approved: &[Merchant],
) -> WebResult<Vec<WithdrawalRow>> {
    let list = s.app.pending_withdrawals(c.principal()?).await?;
    let named = crate::console::members::named(s, list).await?;
    Ok(named
        .into_iter()
        .map(|n| {
            let merchant = approved
                .iter()
                .find(|m| m.id == n.w.merchant_id)
                .map_or_else(|| n.w.merchant_id.to_string(), |m| m.name.clone());
            WithdrawalRow {
                w: n.w,
                member: n.member,
                merchant,
            }
        })
        .collect())
}

/// `GET /admin/withdrawals.csv`: the withdrawals waiting for a decision, as CSV.
async fn withdrawals_csv(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    use crate::console::{csv_error, csv_file, defuse};
    use crate::pages::{beijing, yuan_plain};
    let approved = all_with(&s, &c, MerchantStatus::Approved).await?;
    let rows = waiting_withdrawals(&s, &c, &approved).await?;
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let header_row = if c.lang == crate::i18n::Lang::Zh {
        ["会员", "商家", "金额(元)", "申请时间"]
    } else {
        ["Member", "Shop", "Amount (¥)", "Requested"]
    };
    w.write_record(header_row).map_err(csv_error)?;
    for r in &rows {
        let row = [
            r.member.clone(),
            r.merchant.clone(),
            yuan_plain(r.w.amount_fen),
            beijing(&r.w.requested_at),
        ];
        w.write_record(row.iter().map(|c| defuse(c)))
            .map_err(csv_error)?;
    }
    csv_file(w, "withdrawals-waiting.csv")
}

async fn admin(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    let pending = all_with(&s, &c, MerchantStatus::Pending).await?;
    let approved = all_with(&s, &c, MerchantStatus::Approved).await?;
    let withdrawals = waiting_withdrawals(&s, &c, &approved).await?;
    let recon = s
        .app
        .platform_reconciliations(c.principal()?)
        .await?
        .into_iter()
        .map(|r| crate::console::reconcile::row(c.t, r))
        .collect();
    Ok(render(&pages::AdminPage {
        c,
        pending,
        approved,
        withdrawals,
        recon,
    })?
    .into_response())
}

async fn approve(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let who = c.principal()?;
    who.require_platform_admin()?;
    let mid = MerchantId::parse_or_404(&mid)?;
    s.app.decide_merchant(who, &mid, true, None).await?;
    Ok(see("/admin?done=approved"))
}

#[derive(Deserialize)]
struct RejectForm {
    reason: Option<String>,
}

async fn reject(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<RejectForm>,
) -> WebResult<Response> {
    let who = c.principal()?;
    who.require_platform_admin()?;
    let mid = MerchantId::parse_or_404(&mid)?;
    s.app.decide_merchant(who, &mid, false, f.reason).await?;
    Ok(see("/admin?done=rejected"))
}

async fn approve_withdrawal(
    State(s): State<Web>,
    c: Ctx,
    Path(wid): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let who = c.principal()?;
    who.require_platform_admin()?;
    let wid = kith_app::platform::ids::WithdrawalId::parse_or_404(&wid)?;
    let w = s.app.approve_withdrawal(who, &wid).await?;
    // The sandbox gateway pays out on its own page (a real provider reports by itself).
    if w.payout_ref
        .as_deref()
        .is_some_and(|r| r.starts_with("sandbox:"))
    {
        return Ok(see(format!("/sandbox/payouts/{}", w.id)));
    }
    Ok(see("/admin?done=approved"))
}

#[derive(Deserialize)]
struct RejectWithdrawalForm {
    #[serde(default)]
    reason: String,
}

async fn reject_withdrawal(
    State(s): State<Web>,
    c: Ctx,
    Path(wid): Path<String>,
    CsrfForm(f): CsrfForm<RejectWithdrawalForm>,
) -> WebResult<Response> {
    let who = c.principal()?;
    who.require_platform_admin()?;
    let wid = kith_app::platform::ids::WithdrawalId::parse_or_404(&wid)?;
    s.app.reject_withdrawal(who, &wid, &f.reason).await?;
    Ok(see("/admin?done=rejected"))
}
