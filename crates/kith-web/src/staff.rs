//! The clerk's page (redeem a pickup code, the store's orders waiting for pickup) and the
//! platform admin's page (merchant applications to approve or reject). Access is the use
//! cases': a clerk of another store, or a member who is not an admin, gets 403.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kith_app::merchants::Merchant;
use kith_app::orders::Order;
use kith_app::page::PageRequest;
use kith_domain::MerchantStatus;
use serde::Deserialize;

use crate::pages;
use crate::{CsrfForm, Ctx, Web, WebResult, render, see};

pub fn routes() -> Router<Web> {
    Router::new()
        .route("/clerk/{sid}", get(clerk))
        .route("/clerk/{sid}/redeem", post(redeem))
        .route("/admin", get(admin))
        .route("/admin/merchants/{mid}/approve", post(approve))
        .route("/admin/merchants/{mid}/reject", post(reject))
}

async fn clerk_page(s: &Web, c: Ctx, sid: &str, redeemed: Option<Order>) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let store = s.app.clerk_store(&who, sid).await?;
    let pickups = s.app.store_pickups(&who, sid).await?;
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
    let order = s.app.redeem_pickup(c.principal()?, &sid, &f.code).await?;
    clerk_page(&s, c, &sid, Some(order)).await
}

async fn all_with(s: &Web, c: &Ctx, status: MerchantStatus) -> WebResult<Vec<Merchant>> {
    Ok(s.app
        .list_merchants(c.principal()?, Some(status), PageRequest::first(100))
        .await?
        .items)
}

async fn admin(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    let pending = all_with(&s, &c, MerchantStatus::Pending).await?;
    let approved = all_with(&s, &c, MerchantStatus::Approved).await?;
    Ok(render(&pages::AdminPage {
        c,
        pending,
        approved,
    })?
    .into_response())
}

#[derive(Deserialize)]
struct Empty {}

async fn approve(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    s.app
        .decide_merchant(c.principal()?, &mid, true, None)
        .await?;
    Ok(see("/admin"))
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
    s.app
        .decide_merchant(c.principal()?, &mid, false, f.reason)
        .await?;
    Ok(see("/admin"))
}
