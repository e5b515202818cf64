//! The platform admin's 商户结算 page: every approved shop's settled balance (who owes
//! whom) and the form that records a settling-up made outside kith — refusals in words
//! beside their field, what was typed kept.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kith_app::AppError;
use kith_app::money::settlement::{SettleUpDirection, SettleUpInput, SettlementRow};
use serde::Deserialize;

use crate::console::settlement::Owed;
use crate::pages::{parse_yuan, yuan};
use crate::{CsrfForm, Ctx, Web, WebResult, render, see};

#[derive(Deserialize, Default)]
pub(super) struct SettleUpForm {
    #[serde(default)]
    merchant_id: String,
    #[serde(default)]
    direction: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reference: String,
}

/// One shop's balance in words and 元.
pub(super) struct Row {
    id: kith_app::platform::ids::MerchantId,
    name: String,
    state: Owed,
    settled: String,
    pending: String,
    direct: String,
}

#[derive(Template)]
#[template(path = "staff/settlements.html")]
pub(super) struct AdminSettlements {
    c: Ctx,
    rows: Vec<Row>,
    f: SettleUpForm,
    /// The refused field and why, in the page's words.
    error: Option<(&'static str, &'static str)>,
}

impl AdminSettlements {
    fn bad(&self, field: &str) -> &'static str {
        match &self.error {
            Some((f, _)) if *f == field => "true",
            _ => "false",
        }
    }

    fn said(&self, field: &str) -> Option<&'static str> {
        self.error.filter(|(f, _)| *f == field).map(|(_, w)| w)
    }
}

fn row(r: SettlementRow) -> Row {
    Row {
        state: Owed::of(r.settled_fen.get()),
        settled: yuan(r.settled_fen.get().abs()),
        pending: yuan(r.pending_fen),
        direct: yuan(r.direct_held_fen),
        id: r.merchant_id,
        name: r.name,
    }
}

async fn page(
    s: &Web,
    c: Ctx,
    f: SettleUpForm,
    error: Option<(&'static str, &'static str)>,
    status: StatusCode,
) -> WebResult<Response> {
    let rows = s
        .app
        .settlement_overview(c.principal()?)
        .await?
        .into_iter()
        .map(row)
        .collect();
    Ok((status, render(&AdminSettlements { c, rows, f, error })?).into_response())
}

pub(super) async fn settlements(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    page(&s, c, SettleUpForm::default(), None, StatusCode::OK).await
}

pub(super) async fn settle_up(
    State(s): State<Web>,
    c: Ctx,
    CsrfForm(f): CsrfForm<SettleUpForm>,
) -> WebResult<Response> {
    let t = c.t.settle();
    let refuse = |field: &'static str, why: &'static str| Some((field, why));
    let direction = match f.direction.as_str() {
        "platform_paid" => Some(SettleUpDirection::PlatformPaid),
        "merchant_paid" => Some(SettleUpDirection::MerchantPaid),
        _ => None,
    };
    let amount = parse_yuan("amount", &f.amount).ok().filter(|a| *a > 0);
    let error = if f.merchant_id.is_empty() {
        refuse("merchant_id", t.no_shop)
    } else if amount.is_none() {
        refuse("amount", t.bad_amount)
    } else {
        None
    };
    let (Some(direction), Some(amount), None) = (direction, amount, error) else {
        let error = error.or(refuse("direction", t.no_direction));
        return page(&s, c, f, error, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let input = SettleUpInput {
        direction,
        amount_fen: amount,
        reference: f.reference.clone(),
    };
    let (unfit, conflict) = (StatusCode::UNPROCESSABLE_ENTITY, StatusCode::CONFLICT);
    let (error, status) = match s
        .app
        .record_settle_up(c.principal()?, &f.merchant_id, input)
        .await
    {
        Ok(_) => return Ok(see("/admin/settlements?done=settled_up")),
        Err(AppError::Invalid { field, .. }) if field == "reference" => {
            (refuse("reference", t.bad_reference), unfit)
        }
        Err(AppError::Invalid { .. }) => (refuse("amount", t.bad_amount), unfit),
        Err(AppError::Conflict { field: Some(f), .. }) if f == "reference" => {
            (refuse("reference", t.reference_recorded), conflict)
        }
        Err(AppError::Conflict { .. }) => (refuse("amount", t.more_than_owed), conflict),
        Err(AppError::NotFound(_)) => (refuse("merchant_id", t.no_shop), unfit),
        Err(e) => return Err(e.into()),
    };
    page(&s, c, f, error, status).await
}
