//! Points (积分) in the pages: 我的积分 (the member's points at every shop, and one shop's
//! statement), and the console's points rule — refusals next to the field in the page's
//! words, what was typed kept. The cart offers the points a member may spend there
//! (`member::shop`).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kith_app::AppError;
use kith_app::loyalty::{PointsBalance, PointsLine, PointsSettings};
use serde::Deserialize;

use crate::console::shop;
use crate::member::{CursorQuery, page};
use crate::pages::{Shop, filters, parse_int};
use crate::{CsrfForm, Ctx, Web, WebError, WebResult, render, see};

pub fn routes() -> Router<Web> {
    Router::new()
        .route("/me/points", get(mine))
        .route("/me/points/{mid}", get(at_shop))
        .route("/console/{mid}/points", get(console).post(save))
}

/// The shop's rule in one line ("每消费 1 元得 1 积分，100 积分抵 1 元，最多抵扣 50%").
pub fn rule_words(c: &Ctx, s: &PointsSettings) -> String {
    c.t.pts()
        .rule_words
        .replace("{earn}", &s.earn_per_yuan.to_string())
        .replace("{ppy}", &s.points_per_yuan.to_string())
        .replace("{cap}", &s.cap_percent.to_string())
}

#[derive(Template)]
#[template(path = "loyalty/mine.html")]
pub struct MinePage {
    pub c: Ctx,
    pub balances: Vec<PointsBalance>,
}

async fn mine(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let balances = s.app.my_points(&who).await?;
    Ok(render(&MinePage { c, balances })?.into_response())
}

#[derive(Template)]
#[template(path = "loyalty/shop.html")]
pub struct ShopPage {
    pub c: Ctx,
    pub balance: PointsBalance,
    pub lines: Vec<PointsLine>,
    pub next: Option<String>,
}

async fn at_shop(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    Query(q): Query<CursorQuery>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let st = s
        .app
        .my_points_at(
            &who,
            &kith_app::platform::ids::MerchantId::parse_or_404(&mid)?,
            page(q.cursor.as_deref())?,
        )
        .await?;
    Ok(render(&ShopPage {
        c,
        balance: st.balance,
        lines: st.lines.items,
        next: st.lines.next_cursor,
    })?
    .into_response())
}

/// The rule as typed.
#[derive(Deserialize, Default, Clone)]
pub struct RuleForm {
    #[serde(default)]
    pub enabled: String,
    #[serde(default)]
    pub earn_per_yuan: String,
    #[serde(default)]
    pub points_per_yuan: String,
    #[serde(default)]
    pub cap_percent: String,
    #[serde(default)]
    pub expire_days: String,
    #[serde(default)]
    pub on_activity_orders: String,
}

impl RuleForm {
    fn of(s: &PointsSettings) -> Self {
        Self {
            enabled: if s.enabled {
                "on".into()
            } else {
                String::new()
            },
            earn_per_yuan: s.earn_per_yuan.to_string(),
            points_per_yuan: s.points_per_yuan.to_string(),
            cap_percent: s.cap_percent.to_string(),
            expire_days: s.expire_days.to_string(),
            on_activity_orders: if s.on_activity_orders {
                "on".into()
            } else {
                String::new()
            },
        }
    }

    fn input(&self) -> Result<PointsSettings, AppError> {
        Ok(PointsSettings {
            enabled: self.enabled == "on",
            earn_per_yuan: parse_int("earn_per_yuan", &self.earn_per_yuan)?,
            points_per_yuan: parse_int("points_per_yuan", &self.points_per_yuan)?,
            cap_percent: parse_int("cap_percent", self.cap_percent.trim().trim_end_matches('%'))?,
            expire_days: parse_int("expire_days", &self.expire_days)?,
            on_activity_orders: self.on_activity_orders == "on",
        })
    }
}

#[derive(Template)]
#[template(path = "loyalty/console.html")]
pub struct ConsolePage {
    pub c: Ctx,
    pub shop: Shop,
    pub form: RuleForm,
    /// A refused field and its words.
    pub bad: Option<(String, &'static str)>,
}

impl ConsolePage {
    /// The form's number fields: (name, label, what was typed).
    pub fn fields(&self) -> Vec<(&'static str, &'static str, &str)> {
        let p = self.c.t.pts();
        vec![
            (
                "earn_per_yuan",
                p.earn_per_yuan,
                self.form.earn_per_yuan.as_str(),
            ),
            (
                "points_per_yuan",
                p.points_per_yuan,
                self.form.points_per_yuan.as_str(),
            ),
            ("cap_percent", p.cap_percent, self.form.cap_percent.as_str()),
            ("expire_days", p.expire_days, self.form.expire_days.as_str()),
        ]
    }

    pub fn bad_at(&self, at: &str) -> Option<&str> {
        self.bad.as_ref().filter(|(f, _)| f == at).map(|(_, w)| *w)
    }
}

async fn console(State(s): State<Web>, c: Ctx, Path(mid): Path<String>) -> WebResult<Response> {
    let (_, shop) = shop(&c, &mid)?;
    let current = s.app.points_settings(&shop.id).await?;
    Ok(render(&ConsolePage {
        c,
        shop,
        form: RuleForm::of(&current),
        bad: None,
    })?
    .into_response())
}

async fn save(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<RuleForm>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let result = match f.input() {
        Ok(input) => s.app.set_points_settings(&who, &shop.id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see(format!("/console/{mid}/points?done=saved"))),
        Err(AppError::Invalid { field, .. }) => {
            let words = c.t.points_refusal(&field);
            let html = render(&ConsolePage {
                c,
                shop,
                form: f,
                bad: Some((field, words)),
            })?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
        }
        Err(e) => Err(WebError::App(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_rule_becomes_the_api_input() {
        let f = RuleForm {
            enabled: "on".into(),
            earn_per_yuan: " 2 ".into(),
            points_per_yuan: "100".into(),
            cap_percent: "30%".into(),
            expire_days: "365".into(),
            on_activity_orders: String::new(),
        };
        let i = f.input().unwrap();
        assert!(i.enabled);
        assert_eq!((i.earn_per_yuan, i.cap_percent), (2, 30));
        let bad = RuleForm {
            earn_per_yuan: "两".into(),
            ..f
        };
        assert!(
            matches!(bad.input(), Err(AppError::Invalid { field, .. }) if field == "earn_per_yuan")
        );
    }
}
