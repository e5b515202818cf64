//! A 团长's own 接龙 on the pages: the console's 团长可开团商品 (what leaders may sell, each
//! with its floor price and most units per batch: add or change one, remove one) and the
//! leader's 开接龙 form and 我开的接龙 list on 我的自提点. Refusals come back inline, in
//! Chinese, next to the field, keeping what was typed.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kith_app::AppError;
use kith_app::neighbourhood::{LeaderProduct, LeaderProductInput};
use serde::Deserialize;

use super::{BatchForm, form_field, leaders_view, my_points_view};
use crate::console::shop;
use crate::pages::{Empty, parse_int, parse_yuan};
use crate::{CsrfForm, Ctx, Web, WebError, WebResult, see};

/// One product's allowance as typed on the console's form.
#[derive(Deserialize, Default, Clone)]
pub struct AllowForm {
    #[serde(default)]
    pub sku_id: String,
    #[serde(default)]
    pub floor: String,
    #[serde(default)]
    pub max: String,
}

/// The use case's refusal of an allowance in the console's words: (form field, words).
fn allowance_words(field: &str, reason: &str) -> (String, String) {
    let (at, words) = if field.ends_with("floor_price_fen") {
        ("floor", "最低团购价需大于 0 元，且不高于原价".to_owned())
    } else if field.ends_with("max_quantity") {
        ("max", "每团最多件数需为 1–100000 的整数".to_owned())
    } else if field.ends_with("sku_id") {
        ("sku_id", "请选择本店在售的商品".to_owned())
    } else if field == "items" {
        ("sku_id", "最多允许 100 种商品".to_owned())
    } else {
        ("sku_id", reason.to_owned())
    };
    (at.to_owned(), words)
}

fn inputs(list: Vec<LeaderProduct>) -> Vec<LeaderProductInput> {
    list.into_iter()
        .map(|p| LeaderProductInput {
            sku_id: p.sku_id.to_string(),
            floor_price_fen: p.floor_price_fen.get(),
            max_quantity: p.max_quantity,
        })
        .collect()
}

/// Adds a product to what leaders may sell, or changes its floor and most units.
pub(super) async fn save_allowed(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<AllowForm>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let sku = f.sku_id.trim().to_owned();
    let result = async {
        let floor = parse_yuan("items.floor_price_fen", &f.floor)?;
        let max = parse_int("items.max_quantity", &f.max)?;
        let mut items = inputs(s.app.leader_products(&who, &shop.id).await?);
        match items.iter_mut().find(|i| i.sku_id == sku) {
            Some(i) => {
                i.floor_price_fen = floor;
                i.max_quantity = max;
            }
            None => items.push(LeaderProductInput {
                sku_id: sku.clone(),
                floor_price_fen: floor,
                max_quantity: max,
            }),
        }
        s.app.set_leader_products(&who, &shop.id, items).await
    }
    .await;
    match result {
        Ok(_) => Ok(see(format!("/console/{mid}/leaders?done=saved"))),
        Err(AppError::Invalid { field, reason }) => {
            let e = allowance_words(&field, &reason);
            leaders_view(&s, c, &mid, None, Some((f, e))).await
        }
        Err(e) => Err(WebError::App(e)),
    }
}

/// Removes a product from what leaders may sell (open batches keep their terms).
pub(super) async fn remove_allowed(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, sku)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let mut items = inputs(s.app.leader_products(&who, &shop.id).await?);
    items.retain(|i| i.sku_id != sku);
    s.app.set_leader_products(&who, &shop.id, items).await?;
    Ok(see(format!("/console/{mid}/leaders?done=removed")))
}

/// A leader's 开接龙 form refused: at which point, what was typed, the form field the
/// refusal is about ("" for the whole form), its words and the answer's status.
pub struct BatchRefusal {
    pub leader_id: String,
    pub form: BatchForm,
    pub field: String,
    pub words: String,
    pub status: StatusCode,
}

/// The use case's refusal of a batch (a leader's, or the merchant's from the console) in
/// the page's words.
pub(super) fn batch_words(field: &str, reason: &str) -> String {
    let floor = reason
        .find('¥')
        .map(|i| reason[i..].to_owned())
        .unwrap_or_default();
    match field {
        "title" => "请填写 1–60 字的标题".to_owned(),
        "cutoff_at" | "starts_at" => "截止时间需晚于现在，且不晚于提货日".to_owned(),
        "pickup_date" => "提货日期不能早于截止那天".to_owned(),
        "min_total_units" | "min_total" => "成团最少件数需为 0–1000000 的整数".to_owned(),
        "items[0].sku_id" | "items" => "请选择商家允许团长开团的商品".to_owned(),
        "items[0].price_fen" | "price" if reason.contains("floor") => {
            format!("团购价不能低于商家底价 {floor}")
        }
        "items[0].price_fen" | "price" => "团购价需大于 0 元，且不高于原价".to_owned(),
        "items[0].per_member_limit" | "per_member" => "每人限购需为 1–999 的整数".to_owned(),
        "items[0].quantity_limit" | "quantity_limit" if reason.contains("most") => {
            "超过了商家允许的每团最多件数".to_owned()
        }
        "items[0].quantity_limit" | "quantity_limit" => "总量需为 1–100000 的整数".to_owned(),
        _ => reason.to_owned(),
    }
}

/// The leader's 开接龙 form: a batch at their own point, then its 接龙 page to share.
pub(super) async fn open_batch(
    State(s): State<Web>,
    c: Ctx,
    Path(lid): Path<String>,
    CsrfForm(f): CsrfForm<BatchForm>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let result = match f.input() {
        Ok(input) => {
            s.app
                .leader_open_batch(
                    &who,
                    &kith_app::platform::ids::LeaderId::parse_or_404(&lid)?,
                    input,
                )
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(b) => Ok(see(format!("/batches/{}?done=created", b.id))),
        Err(AppError::Invalid { field, reason }) => {
            let refusal = BatchRefusal {
                leader_id: lid,
                form: f,
                field: form_field(&field).to_owned(),
                words: batch_words(&field, &reason),
                status: StatusCode::UNPROCESSABLE_ENTITY,
            };
            my_points_view(&s, c, None, Some(refusal)).await
        }
        Err(AppError::Conflict { reason, .. }) => {
            let words = if reason.contains("suspended") {
                "你的自提点已被商家暂停，现在不能开接龙".to_owned()
            } else {
                format!("现在不能开接龙：{reason}")
            };
            let refusal = BatchRefusal {
                leader_id: lid,
                form: f,
                field: String::new(),
                words,
                status: StatusCode::CONFLICT,
            };
            my_points_view(&s, c, None, Some(refusal)).await
        }
        Err(e) => Err(WebError::App(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_in_chinese_with_the_floor() {
        assert_eq!(
            batch_words(
                "items[0].price_fen",
                "is below the merchant's floor price of ¥35.00"
            ),
            "团购价不能低于商家底价 ¥35.00"
        );
        assert_eq!(
            allowance_words("items[2].max_quantity", "must be 1–100000").0,
            "max"
        );
        assert_eq!(
            allowance_words("items.floor_price_fen", "must be an amount").0,
            "floor"
        );
    }
}
