//! The console's 满减 / 满折 activities: the list with each activity's tiers, window (Beijing
//! time), paid orders and what it gave (pause, resume, end with a confirmation), and the
//! form that creates one — refusals next to the field in the page's words, what was typed
//! kept.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kith_app::AppError;
use kith_app::commerce::promotions::Move;
use kith_app::commerce::promotions::activities::{
    ActivityTier, NewThresholdActivity, ThresholdActivity,
};
use serde::Deserialize;

use crate::console::shop;
use crate::pages::{Shop, filters, parse_int, parse_yuan};
use crate::{CsrfForm, Ctx, Web, WebError, WebResult, render, see};

/// Tiers the form offers.
pub const FORM_TIERS: usize = 3;

/// A new activity as typed. Tier rows arrive as `min_<n>` / `amount_<n>` (n = 1–3), product
/// checkboxes as `p_<product id>=on`; dates from the date picker.
#[derive(Deserialize, Default, Clone)]
pub struct ActivityForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub starts: String,
    #[serde(default)]
    pub ends: String,
    #[serde(flatten)]
    pub rest: HashMap<String, String>,
}

impl ActivityForm {
    fn fresh() -> Self {
        Self {
            kind: "fixed".into(),
            ..Default::default()
        }
    }

    /// What was typed in tier row `n` (1-based): (threshold, amount).
    pub fn tier(&self, n: &usize) -> (&str, &str) {
        let get = |k: String| self.rest.get(&k).map_or("", String::as_str);
        (get(format!("min_{n}")), get(format!("amount_{n}")))
    }

    pub fn rows(&self) -> std::ops::RangeInclusive<usize> {
        1..=FORM_TIERS
    }

    pub fn ticked(&self, product_id: &str) -> bool {
        super::is_ticked(&self.rest, product_id)
    }

    fn input(&self) -> Result<NewThresholdActivity, AppError> {
        let percent = self.kind == "percent";
        let mut tiers = Vec::new();
        for n in self.rows() {
            let (min, amount) = self.tier(&n);
            if min.trim().is_empty() && amount.trim().is_empty() {
                continue;
            }
            let field = |what: &str| format!("tiers[{}].{what}", tiers.len());
            let min_spend_fen = parse_yuan(&field("min_spend_fen"), min)?;
            let amount = if percent {
                parse_int(&field("amount"), amount.trim().trim_end_matches('%'))?
            } else {
                parse_yuan(&field("amount"), amount)?
            };
            tiers.push(ActivityTier {
                min_spend_fen,
                amount,
            });
        }
        // A day from the date picker starts at midnight and ends at 23:59:59 China time.
        let day = |s: &str, end: bool| {
            let s = s.trim();
            match (s.len(), end) {
                (10, false) => format!("{s}T00:00:00+08:00"),
                (10, true) => format!("{s}T23:59:59+08:00"),
                _ => s.to_owned(),
            }
        };
        let products = super::ticked_products(&self.rest);
        Ok(NewThresholdActivity {
            name: self.name.trim().to_owned(),
            kind: self.kind.clone(),
            tiers,
            product_ids: (!products.is_empty()).then_some(products),
            starts_at: (!self.starts.trim().is_empty()).then(|| day(&self.starts, false)),
            ends_at: day(&self.ends, true),
        })
    }
}

#[derive(Template)]
#[template(path = "promotions/activities.html")]
pub struct ActivitiesPage {
    pub c: Ctx,
    pub shop: Shop,
    pub activities: Vec<ThresholdActivity>,
    /// The shop's products, for the scope's checkboxes: (id, name).
    pub products: Vec<(String, String)>,
    /// Now, RFC 3339, to tell an activity not yet started from one that is over.
    pub now: String,
    pub form: ActivityForm,
    /// A refused creation: (form field, words).
    pub bad: Option<(&'static str, String)>,
    /// A refused action on one activity: (activity id, words).
    pub row_error: Option<(String, String)>,
}

impl ActivitiesPage {
    pub fn bad_at(&self, at: &str) -> Option<&str> {
        self.bad
            .as_ref()
            .filter(|(f, _)| *f == at)
            .map(|(_, w)| w.as_str())
    }

    pub fn row_error_for(&self, id: &str) -> Option<&str> {
        self.row_error
            .as_ref()
            .filter(|(a, _)| a == id)
            .map(|(_, w)| w.as_str())
    }

    /// The names of the products an activity names.
    pub fn scope_names(&self, a: &ThresholdActivity) -> String {
        match &a.product_ids {
            None => self.c.t.promo().whole_shop.to_owned(),
            Some(ids) => ids
                .iter()
                .filter_map(|id| self.products.iter().find(|(p, _)| p == id))
                .map(|(_, name)| name.as_str())
                .collect::<Vec<_>>()
                .join("、"),
        }
    }
}

async fn view(
    s: &Web,
    c: Ctx,
    mid: &str,
    form: Option<ActivityForm>,
    bad: Option<(&'static str, String)>,
    row_error: Option<(String, String)>,
) -> WebResult<axum::response::Html<String>> {
    let (who, shop) = shop(&c, mid)?;
    let activities = s
        .app
        .list_threshold_activities(
            &who,
            &kith_app::platform::ids::MerchantId::parse_or_404(mid)?,
        )
        .await?;
    let products = super::shop_products(s, &who, mid).await?;
    render(&ActivitiesPage {
        now: kith_app::rfc3339(s.app.now_ms()),
        c,
        shop,
        activities,
        products,
        form: form.unwrap_or_else(ActivityForm::fresh),
        bad,
        row_error,
    })
}

/// The console's activities page.
pub(super) async fn page(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    Ok(view(&s, c, &mid, None, None, None).await?.into_response())
}

/// Creates an activity; a refusal comes back next to its field with what was typed.
pub(super) async fn create(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<ActivityForm>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let result = match f.input() {
        Ok(input) => s.app.create_threshold_activity(&who, &shop.id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see(format!("/console/{mid}/activities?done=created"))),
        Err(AppError::Invalid { field, reason }) => {
            let bad = c.t.activity_form_refusal(&field, &reason);
            let html = view(&s, c, &mid, Some(f), Some(bad), None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
        }
        Err(e) => Err(WebError::App(e)),
    }
}

/// Pauses, resumes or ends an activity; an illegal move shows on its row.
pub(super) async fn act(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, aid, action)): Path<(String, String, String)>,
    CsrfForm(_): CsrfForm<crate::pages::Empty>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let m = super::move_of(&action)?;
    let done = match m {
        Move::Pause => "activity_paused",
        Move::Resume => "resumed",
        Move::End => "activity_ended",
    };
    match s
        .app
        .move_threshold_activity(
            &who,
            &shop.id,
            &kith_app::platform::ids::ActivityId::parse_or_404(&aid)?,
            m,
        )
        .await
    {
        Ok(_) => Ok(see(format!("/console/{mid}/activities?done={done}"))),
        Err(AppError::Conflict { .. }) => {
            let words = super::move_refused(&c);
            let html = view(&s, c, &mid, None, None, Some((aid, words))).await?;
            Ok((StatusCode::CONFLICT, html).into_response())
        }
        Err(e) => Err(WebError::App(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_form_becomes_the_api_input() {
        let mut f = ActivityForm::fresh();
        f.name = " 年货节 ".into();
        f.ends = "2026-12-31".into();
        for (k, v) in [
            ("min_1", "199"),
            ("amount_1", "20"),
            ("min_2", ""),
            ("amount_2", ""),
            ("min_3", "399"),
            ("amount_3", "50"),
        ] {
            f.rest.insert(k.into(), v.into());
        }
        f.rest.insert("p_b".into(), "on".into());
        let i = f.input().unwrap();
        assert_eq!(i.name, "年货节");
        assert_eq!(
            i.tiers,
            vec![
                ActivityTier {
                    min_spend_fen: 19_900,
                    amount: 2_000
                },
                ActivityTier {
                    min_spend_fen: 39_900,
                    amount: 5_000
                },
            ]
        );
        assert_eq!(i.ends_at, "2026-12-31T23:59:59+08:00");
        assert_eq!(i.starts_at, None);
        assert_eq!(i.product_ids, Some(vec!["b".to_owned()]));
        f.kind = "percent".into();
        f.rest.insert("amount_1".into(), "10%".into());
        f.rest.insert("amount_3".into(), "x".into());
        match f.input() {
            Err(AppError::Invalid { field, .. }) => assert_eq!(field, "tiers[1].amount"),
            other => panic!("{:?}", other.map(|i| i.tiers)),
        }
    }
}
