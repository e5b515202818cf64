//! After-sale pages: the buyer's 申请售后 form (from the order and from each line), a
//! request's progress with the return address once agreed and the return's tracking form;
//! the console's queue with deadlines in Beijing time and the agree / refuse / confirm-receipt
//! forms (money actions need a ticked confirmation, no JavaScript); the platform admin's
//! arbitration page. A refusal comes back on the same page, next to the form, with what was
//! typed kept and the use case's words, as 409 or 422.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kith_app::AppError;
use kith_app::commerce::aftersale::{
    AftersaleRequest, DecideAftersale, LineAmount, LineQuantity, LineReceipt, OpenAftersale,
};
use kith_app::commerce::inventory::Location;
use kith_app::commerce::orders::Order;
use kith_app::platform::ids::{AftersaleId, MerchantId, OrderId};
use serde::Deserialize;

use crate::console::shop;
use crate::pages::{Empty, Shop, filters};
use crate::{CsrfForm, Ctx, Web, WebError, WebResult, render, see};

pub fn routes() -> Router<Web> {
    Router::new()
        .route(
            "/orders/{id}/aftersale",
            get(new_form)
                .post(open)
                // Up to six photos of the size a single upload may have.
                .layer(axum::extract::DefaultBodyLimit::max(
                    MAX_PHOTOS * kith_app::social::media::MAX_UPLOAD_BYTES + 64 * 1024,
                )),
        )
        .route("/aftersales/{rid}", get(request_page))
        .route("/aftersales/{rid}/return", post(ship_return))
        .route("/aftersales/{rid}/cancel", post(cancel))
        .route("/aftersales/{rid}/dispute", post(dispute))
        .route("/console/{mid}/aftersales", get(queue))
        .route("/console/{mid}/aftersales/terms", post(save_terms))
        .route("/console/{mid}/aftersales/{rid}/agree", post(agree))
        .route("/console/{mid}/aftersales/{rid}/refuse", post(refuse))
        .route("/console/{mid}/aftersales/{rid}/receive", post(receive))
        .route("/admin/aftersales", get(arbitration))
        .route("/admin/aftersales/{rid}/decide", post(decide))
}

/// A refusal shown on the page: (field at fault, the use case's words, status). Anything
/// else (not found, forbidden, storage) is an error page.
type Refusal = (String, String, StatusCode);

fn refusal(c: &Ctx, e: AppError) -> Result<Refusal, WebError> {
    match e {
        AppError::Invalid { ref field, .. } => Ok((
            field.clone(),
            c.t.refusal(&e).unwrap_or_default(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        AppError::Conflict { ref field, .. } => Ok((
            field.clone().unwrap_or_default(),
            c.t.refusal(&e).unwrap_or_default(),
            StatusCode::CONFLICT,
        )),
        other => Err(other.into()),
    }
}

fn with_status(status: StatusCode, html: axum::response::Html<String>) -> Response {
    (status, html).into_response()
}

/// The fields a form was sent with, as typed.
type Fields = HashMap<String, String>;

fn field<'a>(f: &'a Fields, k: &str) -> &'a str {
    f.get(k).map_or("", String::as_str)
}

// --- the buyer ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "aftersale/new.html")]
pub struct NewPage {
    pub c: Ctx,
    pub o: Order,
    /// (line_no, product · SKU, units left, the typed quantity).
    pub lines: Vec<(i64, String, i64, String)>,
    pub kind: String,
    pub reason: String,
    pub description: String,
    pub reasons: &'static [&'static str],
    pub error: Option<Refusal>,
}

impl NewPage {
    pub fn bad(&self, f: &str) -> bool {
        self.error.as_ref().is_some_and(|(e, _, _)| e == f)
    }
}

#[derive(Deserialize)]
struct LineQuery {
    line: Option<i64>,
}

async fn new_page(
    s: &Web,
    c: Ctx,
    oid: &str,
    typed: Option<&Fields>,
    only_line: Option<i64>,
    error: Option<Refusal>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let o = s.app.get_order(&who, &OrderId::parse_or_404(oid)?).await?;
    if o.buyer_id != who.account_id {
        return Err(AppError::NotFound("order").into());
    }
    let lines = o
        .lines
        .iter()
        .map(|l| {
            let left = l.quantity - l.refunded_quantity;
            let typed_qty = match typed {
                Some(f) => field(f, &format!("qty_{}", l.line_no)).to_owned(),
                None if only_line.is_none_or(|n| n == l.line_no) => left.to_string(),
                None => "0".to_owned(),
            };
            (
                l.line_no,
                format!("{} · {}", l.product_name, l.sku_code),
                left,
                typed_qty,
            )
        })
        .collect();
    let status = error.as_ref().map(|e| e.2);
    let html = render(&NewPage {
        kind: typed.map_or("refund_only", |f| field(f, "kind")).to_owned(),
        reason: typed.map_or("damaged", |f| field(f, "reason")).to_owned(),
        description: typed.map_or("", |f| field(f, "description")).to_owned(),
        c,
        o,
        lines,
        reasons: &kith_domain::aftersale::REASONS,
        error,
    })?;
    Ok(match status {
        Some(st) => with_status(st, html),
        None => html.into_response(),
    })
}

/// 申请售后: the form, with every line (or only `?line=`) filled with what is left.
async fn new_form(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    Query(q): Query<LineQuery>,
) -> WebResult<Response> {
    new_page(&s, c, &id, None, q.line, None).await
}

/// Photos a request may carry (the API's limit too).
const MAX_PHOTOS: usize = 6;

/// The 申请售后 form as sent (`multipart/form-data`): its text fields, and the photos chosen
/// (empty file inputs skipped). The CSRF token is checked here, as `CsrfForm` does for
/// url-encoded forms.
async fn read_open_form(
    headers: &axum::http::HeaderMap,
    mut form: axum::extract::Multipart,
) -> WebResult<(Fields, Vec<Vec<u8>>)> {
    let mut fields = Fields::new();
    let mut photos = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| AppError::invalid("form", e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "photos" {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| AppError::invalid("photos", e.body_text()))?;
            if !bytes.is_empty() {
                photos.push(bytes.to_vec());
            }
            continue;
        }
        let text = field
            .text()
            .await
            .map_err(|e| AppError::invalid(name.clone(), e.body_text()))?;
        fields.insert(name, text);
    }
    match kith_http::extract::session_token(headers) {
        Some((t, _))
            if fields.get("csrf").map(String::as_str) == Some(crate::csrf_token(&t).as_str()) => {}
        _ => return Err(WebError::Csrf),
    }
    Ok((fields, photos))
}

/// Opens the request, with the photos chosen uploaded as the buyer's own images; a
/// refusal comes back on the form with what was typed (the photos must be chosen again:
/// a browser never refills a file input).
async fn open(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    form: axum::extract::Multipart,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let (f, photo_bytes) = read_open_form(&headers, form).await?;
    let photos_refused = |c: &Ctx, key: &str| {
        (
            "photos".to_owned(),
            c.t.af(key).to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    if photo_bytes.len() > MAX_PHOTOS {
        let r = photos_refused(&c, "too_many_photos");
        return new_page(&s, c, &id, Some(&f), None, Some(r)).await;
    }
    let mut photos = Vec::with_capacity(photo_bytes.len());
    for bytes in photo_bytes {
        match s.app.upload_media(&who, bytes).await {
            Ok(m) => photos.push(m.id),
            Err(AppError::Invalid { .. }) => {
                let r = photos_refused(&c, "photo_refused");
                return new_page(&s, c, &id, Some(&f), None, Some(r)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut lines = Vec::new();
    let mut bad = None;
    let mut keys: Vec<&String> = f.keys().filter(|k| k.starts_with("qty_")).collect();
    keys.sort();
    for k in keys {
        let line_no: i64 = k[4..].parse().unwrap_or(0);
        match f[k].trim().parse::<i64>() {
            Ok(0) => {}
            Ok(q) => lines.push(LineQuantity {
                line_no,
                quantity: q,
            }),
            Err(_) => bad = Some(k.clone()),
        }
    }
    let result = match bad {
        Some(k) => Err(AppError::invalid(k, "must be a whole number")),
        None => {
            s.app
                .open_aftersale(
                    &who,
                    &OrderId::parse_or_404(&id)?,
                    OpenAftersale {
                        kind: field(&f, "kind").to_owned(),
                        reason: field(&f, "reason").to_owned(),
                        description: field(&f, "description").to_owned(),
                        photos,
                        lines,
                    },
                )
                .await
        }
    };
    match result {
        Ok(r) => Ok(see(format!("/aftersales/{}", r.id))),
        Err(e) => {
            let mut r = refusal(&c, e)?;
            // `lines[0].quantity` is typed in the first line's quantity box.
            if r.0.starts_with("lines") {
                r.0 = "lines".to_owned();
            }
            new_page(&s, c, &id, Some(&f), None, Some(r)).await
        }
    }
}

#[derive(Template)]
#[template(path = "aftersale/request.html")]
pub struct RequestPage {
    pub c: Ctx,
    pub r: AftersaleRequest,
    pub is_buyer: bool,
    pub typed: Fields,
    pub error: Option<Refusal>,
}

impl RequestPage {
    pub fn bad(&self, f: &str) -> bool {
        self.error.as_ref().is_some_and(|(e, _, _)| e == f)
    }
    pub fn typed(&self, k: &str) -> &str {
        field(&self.typed, k)
    }
}

async fn request_view(
    s: &Web,
    c: Ctx,
    rid: &str,
    typed: Fields,
    error: Option<Refusal>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let r = s
        .app
        .get_aftersale(&who, &AftersaleId::parse_or_404(rid)?)
        .await?;
    let status = error.as_ref().map(|e| e.2);
    let is_buyer = r.buyer_id == who.account_id;
    let html = render(&RequestPage {
        c,
        r,
        is_buyer,
        typed,
        error,
    })?;
    Ok(match status {
        Some(st) => with_status(st, html),
        None => html.into_response(),
    })
}

/// A request's progress, to its buyer, the merchant's staff or a platform admin.
async fn request_page(
    State(s): State<Web>,
    c: Ctx,
    Path(rid): Path<String>,
) -> WebResult<Response> {
    request_view(&s, c, &rid, Fields::new(), None).await
}

async fn after(
    s: &Web,
    c: Ctx,
    rid: &str,
    f: Fields,
    result: Result<AftersaleRequest, AppError>,
) -> WebResult<Response> {
    match result {
        Ok(_) => Ok(see(format!("/aftersales/{rid}"))),
        Err(e) => {
            let r = refusal(&c, e)?;
            request_view(s, c, rid, f, Some(r)).await
        }
    }
}

async fn ship_return(
    State(s): State<Web>,
    c: Ctx,
    Path(rid): Path<String>,
    CsrfForm(f): CsrfForm<Fields>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let res = s
        .app
        .ship_aftersale_return(
            &who,
            &AftersaleId::parse_or_404(&rid)?,
            field(&f, "carrier").trim(),
            field(&f, "tracking_no").trim(),
        )
        .await;
    after(&s, c, &rid, f, res).await
}

async fn cancel(
    State(s): State<Web>,
    c: Ctx,
    Path(rid): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let res = s
        .app
        .cancel_aftersale(&who, &AftersaleId::parse_or_404(&rid)?)
        .await;
    after(&s, c, &rid, Fields::new(), res).await
}

async fn dispute(
    State(s): State<Web>,
    c: Ctx,
    Path(rid): Path<String>,
    CsrfForm(f): CsrfForm<Fields>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let res = s
        .app
        .dispute_aftersale(&who, &AftersaleId::parse_or_404(&rid)?, field(&f, "note"))
        .await;
    after(&s, c, &rid, f, res).await
}

// --- the console ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "aftersale/queue.html")]
pub struct QueuePage {
    pub c: Ctx,
    pub shop: Shop,
    pub state: String,
    pub states: Vec<&'static str>,
    pub list: Vec<AftersaleRequest>,
    pub locations: Vec<Location>,
    /// The terms form as sent and its refusal, when it was refused. (The requests' forms
    /// refuse through the shared layer, [`crate::refusal`].)
    pub terms_failed: Option<(Fields, Refusal)>,
    /// The shop's after-sale terms (deadlines, return address, coupons back on refunds).
    pub terms: kith_app::commerce::aftersale::AftersaleTerms,
}

impl QueuePage {
    /// The terms form's value of `k`: what was typed after a refusal, else the saved term.
    pub fn term(&self, k: &str) -> String {
        if let Some((f, _)) = &self.terms_failed {
            return field(f, k).to_owned();
        }
        match k {
            "answer_hours" => self.terms.answer_hours.to_string(),
            "ship_days" => self.terms.ship_days.to_string(),
            "receive_days" => self.terms.receive_days.to_string(),
            "return_address" => self.terms.return_address.clone(),
            _ => String::new(),
        }
    }

    /// Why the terms form was refused, in words.
    pub fn terms_error(&self) -> Option<&str> {
        self.terms_failed.as_ref().map(|(_, r)| r.1.as_str())
    }
}

#[derive(Deserialize)]
struct StateQuery {
    state: Option<String>,
}

async fn queue_page(
    s: &Web,
    c: Ctx,
    mid: &str,
    state: Option<String>,
    terms_failed: Option<(Fields, Refusal)>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, mid)?;
    let m = MerchantId::parse_or_404(mid)?;
    let list = s
        .app
        .merchant_aftersales(&who, &m, state.as_deref())
        .await?;
    let locations = s.app.list_locations(&who, &m).await?;
    let terms = s.app.aftersale_terms(&who, &m).await?;
    let status = terms_failed.as_ref().map(|(_, r)| r.2);
    let html = render(&QueuePage {
        c,
        shop,
        state: state.unwrap_or_default(),
        states: kith_domain::aftersale::State::ALL
            .iter()
            .map(|s| s.as_str())
            .collect(),
        list,
        locations,
        terms_failed,
        terms,
    })?;
    Ok(match status {
        Some(st) => with_status(st, html),
        None => html.into_response(),
    })
}

/// The merchant's queue, the nearest deadline first.
async fn queue(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    Query(q): Query<StateQuery>,
) -> WebResult<Response> {
    queue_page(&s, c, &mid, q.state.filter(|s| !s.is_empty()), None).await
}

/// A row form's answer: back to the queue, or the refusal through the shared layer
/// ([`crate::refusal`]), which re-draws the queue with the words beside the refused field
/// of that request's form and what was typed kept.
fn answered(
    mid: &str,
    done: &str,
    result: Result<AftersaleRequest, AppError>,
) -> WebResult<Response> {
    result?;
    Ok(see(format!("/console/{mid}/aftersales?done={done}")))
}

fn confirmed(f: &Fields) -> Result<(), AppError> {
    if field(f, "confirm") == "on" {
        Ok(())
    } else {
        Err(AppError::invalid("confirm", "tick the confirmation first"))
    }
}

async fn agree(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, rid)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<Fields>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let res = match confirmed(&f) {
        Ok(()) => {
            let address = Some(field(&f, "return_address").to_owned()).filter(|a| !a.is_empty());
            s.app
                .agree_aftersale(&who, &shop.id, &AftersaleId::parse_or_404(&rid)?, address)
                .await
        }
        Err(e) => Err(e),
    };
    answered(&mid, "aftersale_agreed", res)
}

async fn refuse(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, rid)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<Fields>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let res = s
        .app
        .refuse_aftersale(
            &who,
            &shop.id,
            &AftersaleId::parse_or_404(&rid)?,
            field(&f, "reason"),
        )
        .await;
    answered(&mid, "aftersale_refused", res)
}

async fn receive(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, rid)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<Fields>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let parse = || -> Result<Vec<LineReceipt>, AppError> {
        confirmed(&f)?;
        let mut keys: Vec<&String> = f.keys().filter(|k| k.starts_with("received_")).collect();
        keys.sort();
        keys.into_iter()
            .map(|k| {
                let n = &k["received_".len()..];
                let num = |name: &str| {
                    field(&f, name)
                        .trim()
                        .parse::<i64>()
                        .map_err(|_| AppError::invalid(name, "must be a whole number"))
                };
                Ok(LineReceipt {
                    line_no: n.parse().unwrap_or(0),
                    received: num(k)?,
                    damaged: num(&format!("damaged_{n}"))?,
                })
            })
            .collect()
    };
    let res = match parse() {
        Ok(lines) => {
            s.app
                .receive_aftersale_return(
                    &who,
                    &shop.id,
                    &AftersaleId::parse_or_404(&rid)?,
                    lines,
                    field(&f, "location_id"),
                )
                .await
        }
        Err(e) => Err(e),
    };
    answered(&mid, "aftersale_received", res)
}

// --- the platform admin -------------------------------------------------------------------

#[derive(Template)]
#[template(path = "aftersale/arbitration.html")]
pub struct ArbitrationPage {
    pub c: Ctx,
    pub list: Vec<AftersaleRequest>,
}

/// Disputed requests with both sides' words and photos.
async fn arbitration(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    let list = s.app.disputed_aftersales(c.principal()?).await?;
    Ok(render(&ArbitrationPage { c, list })?.into_response())
}

async fn decide(
    State(s): State<Web>,
    c: Ctx,
    Path(rid): Path<String>,
    CsrfForm(f): CsrfForm<Fields>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let parse = || -> Result<DecideAftersale, AppError> {
        confirmed(&f)?;
        let mut lines = Vec::new();
        let mut amounts = Vec::new();
        if field(&f, "outcome") == "part" {
            // Money per line (元) when any is typed: the buyer keeps the goods; otherwise
            // units per line.
            let mut yuan: Vec<&String> = f
                .keys()
                .filter(|k| k.starts_with("yuan_") && !f[*k].trim().is_empty())
                .collect();
            yuan.sort();
            for k in yuan {
                let fen = kith_domain::money::Fen::parse_yuan(f[k].trim())
                    .filter(|v| v.get() > 0)
                    .ok_or_else(|| {
                        AppError::invalid(k.as_str(), "请填写大于 0 的金额（元，最多两位小数）")
                    })?;
                amounts.push(LineAmount {
                    line_no: k[5..].parse().unwrap_or(0),
                    amount_fen: fen.get(),
                });
            }
            let mut keys: Vec<&String> = f.keys().filter(|k| k.starts_with("qty_")).collect();
            keys.sort();
            for k in keys.into_iter().filter(|_| amounts.is_empty()) {
                let q: i64 = f[k]
                    .trim()
                    .parse()
                    .map_err(|_| AppError::invalid(k.as_str(), "must be a whole number"))?;
                if q > 0 {
                    lines.push(LineQuantity {
                        line_no: k[4..].parse().unwrap_or(0),
                        quantity: q,
                    });
                }
            }
        }
        Ok(DecideAftersale {
            outcome: field(&f, "outcome").to_owned(),
            lines,
            amounts,
            note: field(&f, "note").to_owned(),
        })
    };
    let res = match parse() {
        Ok(d) => {
            s.app
                .decide_aftersale(&who, &AftersaleId::parse_or_404(&rid)?, d)
                .await
        }
        Err(e) => Err(e),
    };
    // A refusal goes through the shared layer, as the queue's row forms do.
    res?;
    Ok(see("/admin/aftersales?done=aftersale_decided"))
}

/// The console's 售后规则 form: deadlines, return address, coupons back on full refunds.
async fn save_terms(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<Fields>,
) -> WebResult<Response> {
    let number = |k: &str| -> Result<i64, AppError> {
        field(&f, k)
            .trim()
            .parse()
            .map_err(|_| AppError::invalid(k, "请填写整数"))
    };
    let parsed = || -> Result<kith_app::commerce::aftersale::AftersaleTerms, AppError> {
        Ok(kith_app::commerce::aftersale::AftersaleTerms {
            answer_hours: number("answer_hours")?,
            ship_days: number("ship_days")?,
            receive_days: number("receive_days")?,
            return_address: field(&f, "return_address").to_owned(),
            return_coupon: field(&f, "return_coupon") == "on",
        })
    };
    let res = match parsed() {
        Ok(t) => {
            s.app
                .set_aftersale_terms(c.principal()?, &MerchantId::parse_or_404(&mid)?, t)
                .await
        }
        Err(e) => Err(e),
    };
    match res {
        Ok(_) => Ok(see(format!("/console/{mid}/aftersales?done=saved"))),
        Err(e) => {
            let r = refusal(&c, e)?;
            queue_page(&s, c, &mid, None, Some((f, r))).await
        }
    }
}
