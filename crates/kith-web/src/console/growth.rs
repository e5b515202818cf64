//! How the shop grows through its members: the analytics dashboard (charts drawn as SVG by
//! [`crate::charts`]), the commission plan with product overrides, membership tiers, and
//! the merchant's distributors with their wallets and each order's commission split.

use super::*;

// --- insight, commission plan, tiers, distributors ---------------------------------------

/// Filters of the console's own templates: the shared ones, plus ratios and decimals.
mod filters {
    pub(super) use crate::pages::filters::*;

    /// A float, or a reference to one.
    pub(super) trait AsF64 {
        fn f(&self) -> f64;
    }
    impl AsF64 for f64 {
        fn f(&self) -> f64 {
            *self
        }
    }
    impl<T: AsF64 + ?Sized> AsF64 for &T {
        fn f(&self) -> f64 {
            (**self).f()
        }
    }

    /// A ratio (0–1) as a percentage: `0.3333` → `33.33 %`.
    pub(super) fn pct(v: impl AsF64, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::pct(v.f()))
    }

    /// A measure with up to two decimals, trailing zeros dropped.
    pub(super) fn dec(v: impl AsF64, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::dec(v.f()))
    }

    /// Basis points as a percentage: `1050` → `10.5`.
    pub(super) fn bp(v: impl AsFen, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::bp_percent(v.fen()))
    }
}

pub(super) fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{} %", dec((v * 10_000.0).round() / 100.0))
    } else {
        "—".to_owned()
    }
}

pub(super) fn dec(v: f64) -> String {
    if !v.is_finite() {
        return "—".to_owned();
    }
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

pub(super) use crate::pages::bp_percent;

#[derive(Deserialize)]
pub(super) struct InsightQuery {
    days: Option<String>,
    community: Option<String>,
}

/// The analytics dashboard: every docs/PRODUCT.md §5 measure of the merchant over one window, as
/// SVG charts with the figures beside them in tables.
pub(super) async fn insight(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    Query(q): Query<InsightQuery>,
) -> WebResult<Response> {
    use kith_app::insight::{FunnelBy, InsightAccess, Window};
    let (who, shop) = shop(&c, &mid)?;
    let mid = shop.id.clone();
    let days = opt_int("days", q.days.as_deref().unwrap_or(""))?;
    let window = Window::parse(days)?;
    let acc = || InsightAccess::from(&who);
    let t = c.t.console();
    let energy = s.app.insight_communities(acc(), &mid, window).await?;
    let kol = s.app.insight_kol(acc(), &mid, None, window, 10).await?;
    let binding = s.app.insight_binding_tree(acc(), &mid).await?;
    let picked = q
        .community
        .and_then(|id| energy.iter().find(|e| e.community_id == id))
        .or_else(|| energy.first())
        .map(|e| e.community_id.clone());
    let invite = match picked {
        Some(cid) => {
            let tree = s.app.insight_fission(acc(), &mid, &cid).await?;
            let name = energy
                .iter()
                .find(|e| e.community_id == cid)
                .map(|e| e.name.clone())
                .unwrap_or_default();
            Some((cid, name, tree))
        }
        None => None,
    };
    let split = match &invite {
        Some((cid, _, _)) => Some(s.app.insight_split(acc(), &mid, cid, window).await?),
        None => None,
    };
    let repeat = s
        .app
        .insight_repeat_purchase(acc(), &mid, None, window)
        .await?;
    let referral = s.app.insight_referral(acc(), &mid, window).await?;
    let channels = s.app.insight_channels(acc(), &mid, window).await?;
    let funnel = s
        .app
        .insight_share_funnel(acc(), &mid, FunnelBy::Sharer, window, 10)
        .await?;
    let pool = s.app.insight_traffic_pool(acc(), &mid, window).await?;

    let energy_chart = charts::bars(
        t.energy,
        &energy
            .iter()
            .map(|e| Datum::new(&e.name, e.energy, dec(e.energy)))
            .collect::<Vec<_>>(),
        t.no_data,
    );
    // Each factor on its own scale: Q is 0–1, M a head count, C a mean degree.
    let factor = |title: &str, f: fn(&kith_app::insight::CommunityEnergy) -> f64| {
        charts::bars(
            title,
            &energy
                .iter()
                .map(|e| Datum::new(&e.name, f(e), dec(f(e))))
                .collect::<Vec<_>>(),
            t.no_data,
        )
    };
    let factor_charts = vec![
        factor(t.q, |e| e.q),
        factor(t.m, |e| e.m as f64),
        factor(t.c, |e| e.c),
    ];
    let kol_chart = charts::bars(
        t.kol,
        &kol.entries
            .iter()
            .map(|k| Datum::new(&k.display_name, k.influence, dec(k.influence)))
            .collect::<Vec<_>>(),
        t.no_data,
    );
    let tree_chart = |tree: &kith_app::insight::FissionTree, title: &str| {
        let gens: Vec<Datum> = tree
            .per_generation
            .iter()
            .enumerate()
            .map(|(g, n)| Datum::count(format!("{} {g}", t.generation), *n))
            .collect();
        charts::bars(title, &gens, t.no_data)
    };
    let drawn = |tree: &kith_app::insight::FissionTree| {
        charts::tree(
            &tree.drawn,
            tree.more_roots,
            |n| c.t.desk_more(&n),
            |n| c.t.desk_brought(&n),
            c.t.desk("tree_empty"),
        )
    };
    let binding_drawn = drawn(&binding);
    let invite_drawn = invite.as_ref().map(|(_, _, tree)| drawn(tree));
    let binding_chart = tree_chart(&binding, t.binding_tree);
    let invite_chart = invite
        .as_ref()
        .map(|(_, name, tree)| tree_chart(tree, &format!("{} · {name}", t.invite_tree)));
    let rates_chart = charts::bars(
        t.rates,
        &[
            Datum::new(t.repeat_rate, repeat.rate * 100.0, pct(repeat.rate)),
            Datum::new(
                t.order_referral_rate,
                referral.order_rate * 100.0,
                pct(referral.order_rate),
            ),
            Datum::new(
                t.member_referral_rate,
                referral.member_rate * 100.0,
                pct(referral.member_rate),
            ),
        ],
        t.no_data,
    );
    let channels_chart = if channels.orders == 0 {
        charts::empty("bars", t.channels, t.no_data)
    } else {
        charts::bars(
            t.channels,
            &channels
                .channels
                .iter()
                .map(|ch| {
                    Datum::new(
                        t.channel_word(&ch.channel),
                        ch.gmv_fen.get() as f64,
                        pages::yuan(ch.gmv_fen),
                    )
                })
                .collect::<Vec<_>>(),
            t.no_data,
        )
    };
    let sum = |f: fn(&kith_app::insight::FunnelRow) -> i64| funnel.rows.iter().map(f).sum::<i64>();
    let (visits, visitors, signups, orders, gmv) = (
        sum(|r| r.visits),
        sum(|r| r.visitors),
        sum(|r| r.signups),
        sum(|r| r.orders),
        sum(|r| r.gmv_fen.get()),
    );
    // Visits narrow to the people behind them, then to their orders. Sign-ups are not a
    // step: a member who already had an account orders without one, so they are said
    // beside the title (a step of 0 before 6 orders drew a funnel that widened).
    let funnel_chart = charts::funnel(
        &format!(
            "{} ({} {} · {} {})",
            t.funnel,
            t.gmv,
            pages::yuan(gmv),
            t.signups,
            signups
        ),
        &[
            Datum::count(t.visits, visits),
            Datum::count(t.visitors, visitors),
            Datum::count(t.orders, orders),
        ],
        t.no_data,
    );
    let pool_chart = charts::line(
        t.pool,
        &pool
            .series
            .iter()
            .map(|p| Datum::count(p.date.get(5..10).unwrap_or(&p.date), p.members))
            .collect::<Vec<_>>(),
        t.no_data,
    );
    Ok(render(&ConsoleInsight {
        c,
        shop,
        days: window.days,
        energy,
        energy_chart,
        factor_charts,
        kol,
        kol_chart,
        binding,
        binding_chart,
        binding_drawn,
        invite,
        invite_chart,
        invite_drawn,
        split,
        repeat,
        referral,
        rates_chart,
        channels,
        channels_chart,
        funnel,
        funnel_totals: (visits, signups, orders, gmv),
        funnel_chart,
        pool,
        pool_chart,
    })?
    .into_response())
}

#[derive(Template)]
#[template(path = "console/insight.html")]
pub(super) struct ConsoleInsight {
    c: Ctx,
    shop: Shop,
    days: i64,
    energy: Vec<kith_app::insight::CommunityEnergy>,
    energy_chart: Svg,
    /// Q, M and C per community, one chart each.
    factor_charts: Vec<Svg>,
    kol: kith_app::insight::KolRanking,
    kol_chart: Svg,
    binding: kith_app::insight::FissionTree,
    binding_chart: Svg,
    /// The community whose invite tree is shown: (id, name, tree).
    invite: Option<(
        kith_app::platform::ids::CommunityId,
        String,
        kith_app::insight::FissionTree,
    )>,
    invite_chart: Option<Svg>,
    /// The binding tree and the invite tree drawn as trees (nested lists).
    binding_drawn: Svg,
    invite_drawn: Option<Svg>,
    /// Proposed sub-communities of that community.
    split: Option<kith_app::insight::SplitSuggestion>,
    repeat: kith_app::insight::RepeatPurchase,
    referral: kith_app::insight::ReferralRate,
    rates_chart: Svg,
    channels: kith_app::insight::GmvByChannel,
    channels_chart: Svg,
    funnel: kith_app::insight::ShareFunnel,
    /// (visits, sign-ups, orders, GMV in fen) over the rows shown.
    funnel_totals: (i64, i64, i64, i64),
    funnel_chart: Svg,
    pool: kith_app::insight::TrafficPool,
    pool_chart: Svg,
}

/// The plan form's fields as typed (percentages and yuan), so a refused form comes back
/// with what was sent.
#[derive(Deserialize, Default, Clone)]
pub(super) struct PlanForm {
    #[serde(default)]
    l1: String,
    #[serde(default)]
    l2: String,
    #[serde(default)]
    rebate: String,
    #[serde(default)]
    group_buy_commission: Option<String>,
    #[serde(default)]
    group_leader: String,
    #[serde(default)]
    cap: String,
    #[serde(default)]
    binding_mode: String,
    #[serde(default)]
    binding_days: String,
    #[serde(default)]
    window_days: String,
    #[serde(default)]
    withdraw_min: String,
    #[serde(default)]
    withdraw_daily: String,
}

impl PlanForm {
    fn from_plan(p: &PlanView) -> Self {
        PlanForm {
            l1: bp_percent(p.levels_bp.first().copied().unwrap_or(0)),
            l2: bp_percent(p.levels_bp.get(1).copied().unwrap_or(0)),
            rebate: bp_percent(p.rebate_bp),
            group_buy_commission: p.group_buy_commission.then(|| "on".to_owned()),
            group_leader: bp_percent(p.group_leader_bp),
            cap: bp_percent(p.cap_bp),
            binding_mode: p.binding_mode.clone(),
            binding_days: p.binding_days.map(|d| d.to_string()).unwrap_or_default(),
            window_days: p.attribution_window_days.to_string(),
            withdraw_min: pages::yuan(p.withdraw_min_fen)
                .trim_start_matches('¥')
                .to_owned(),
            withdraw_daily: pages::yuan(p.withdraw_daily_limit_fen)
                .trim_start_matches('¥')
                .to_owned(),
        }
    }

    /// The defaults a merchant without a plan starts from.
    fn defaults() -> Self {
        PlanForm {
            l1: "0".into(),
            l2: "0".into(),
            rebate: "0".into(),
            group_buy_commission: None,
            group_leader: "0".into(),
            cap: "30".into(),
            binding_mode: "permanent".into(),
            binding_days: String::new(),
            window_days: "7".into(),
            withdraw_min: "10.00".into(),
            withdraw_daily: "5000.00".into(),
        }
    }

    fn input(&self) -> Result<PlanInput, AppError> {
        let l1 = parse_percent("l1", &self.l1)?;
        let l2 = parse_percent("l2", &self.l2)?;
        let cap = if self.cap.trim().is_empty() {
            None
        } else {
            Some(parse_percent("cap", &self.cap)?)
        };
        let yuan_opt = |field: &str, v: &str| -> Result<Option<i64>, AppError> {
            if v.trim().is_empty() {
                Ok(None)
            } else {
                parse_yuan(field, v).map(Some)
            }
        };
        Ok(PlanInput {
            levels_bp: if l2 == 0 { vec![l1] } else { vec![l1, l2] },
            rebate_bp: parse_percent("rebate", &self.rebate)?,
            group_buy_commission: self.group_buy_commission.is_some(),
            group_leader_bp: parse_percent("group_leader", &self.group_leader)?,
            cap_bp: cap,
            binding_mode: self.binding_mode.trim().to_owned(),
            // The days field is for an expiring binding only; left filled in while another
            // mode is chosen, it is not part of the plan.
            binding_days: if self.binding_mode.trim() == "expiring" {
                opt_int("binding_days", &self.binding_days)?
            } else {
                None
            },
            attribution_window_days: opt_int("window_days", &self.window_days)?,
            withdraw_min_fen: yuan_opt("withdraw_min", &self.withdraw_min)?,
            withdraw_daily_limit_fen: yuan_opt("withdraw_daily", &self.withdraw_daily)?,
        })
    }
}

/// The form field a use case's field name belongs to.
pub(super) fn plan_field(field: &str) -> &'static str {
    match field {
        "levels_bp[1]" | "l2" => "l2",
        f if f.starts_with("levels_bp") || f == "l1" => "l1",
        "rebate_bp" | "rebate" => "rebate",
        "group_leader_bp" | "group_leader" => "group_leader",
        "cap_bp" | "cap" => "cap",
        "binding_mode" => "binding_mode",
        "binding_days" => "binding_days",
        "attribution_window_days" | "window_days" => "window_days",
        "withdraw_min_fen" | "withdraw_min" => "withdraw_min",
        "withdraw_daily_limit_fen" | "withdraw_daily" => "withdraw_daily",
        _ => "",
    }
}

/// A refused form: the field it names (as the form calls it) and why.
pub(super) struct FormError {
    pub field: String,
    pub reason: String,
}

impl FormError {
    /// Whether the error is about `field` (for `aria-invalid`).
    pub(super) fn on(&self, field: &str) -> bool {
        self.field == field
    }
}

#[derive(Template)]
#[template(path = "console/commissions.html")]
pub(super) struct ConsoleCommissions {
    c: Ctx,
    shop: Shop,
    has_plan: bool,
    f: PlanForm,
    error: Option<FormError>,
    saved: bool,
    /// (product id, name) of the merchant's products.
    products: Vec<(String, String)>,
    /// Each override with its product's name.
    overrides: Vec<(String, kith_app::money::commissions::ProductOverride)>,
}

impl ConsoleCommissions {
    /// Whether the refused form's error is about `field`.
    fn bad(&self, field: &str) -> bool {
        self.error.as_ref().is_some_and(|e| e.on(field))
    }

    fn modes(&self) -> &'static [&'static str] {
        &["permanent", "expiring", "none"]
    }

    fn mode_is(&self, m: &str) -> bool {
        self.f.binding_mode == m
    }
}

#[derive(Deserialize, Default)]
pub(super) struct SavedQuery {
    saved: Option<String>,
}

pub(super) async fn commissions_page(
    s: &Web,
    c: Ctx,
    mid: &str,
    form: Option<(PlanForm, FormError)>,
    saved: bool,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, mid)?;
    let plan = match s.app.commission_plan(&shop.id).await {
        Ok(p) => Some(p),
        Err(AppError::NotFound("commission plan")) => None,
        Err(e) => return Err(e.into()),
    };
    let products: Vec<(String, String)> = s
        .app
        .list_products(Some(&who), &shop.id, None, PageRequest::first(100))
        .await?
        .items
        .into_iter()
        .map(|p| (p.id.to_string(), p.name))
        .collect();
    let overrides = plan
        .as_ref()
        .map(|p| {
            p.overrides
                .iter()
                .map(|o| {
                    let name = products
                        .iter()
                        .find(|(id, _)| *id == o.product_id)
                        .map_or_else(|| o.product_id.to_string(), |(_, n)| n.clone());
                    (name, o.clone())
                })
                .collect()
        })
        .unwrap_or_default();
    let has_plan = plan.is_some();
    let refused = form.is_some();
    let (f, error) = match form {
        Some((f, e)) => (f, Some(e)),
        None => (
            plan.as_ref()
                .map_or_else(PlanForm::defaults, PlanForm::from_plan),
            None,
        ),
    };
    let page = ConsoleCommissions {
        c,
        shop,
        has_plan,
        f,
        error,
        saved,
        products,
        overrides,
    };
    let html = render(&page)?;
    if refused {
        Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
    } else {
        Ok(html.into_response())
    }
}

pub(super) async fn commissions(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    Query(q): Query<SavedQuery>,
) -> WebResult<Response> {
    commissions_page(&s, c, &mid, None, q.saved.is_some()).await
}

/// Saves the plan (the owner only: the use case decides). A refused value comes back on
/// the form with 422 and the field's message; anything else is an error page.
pub(super) async fn save_plan(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<PlanForm>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let merchant = kith_app::platform::ids::MerchantId::parse_or_404(&mid)?;
    let result = match f.input() {
        Ok(input) => s
            .app
            .set_commission_plan(&who, &merchant, input)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(see(format!("/console/{mid}/commissions?saved=1"))),
        Err(AppError::Invalid { field, reason }) => {
            let words = c.t.refusal_of(
                crate::i18n::refusals::RefusalKind::Invalid,
                Some(&field),
                &reason,
            );
            let e = FormError {
                field: plan_field(&field).to_owned(),
                reason: words,
            };
            commissions_page(&s, c, &mid, Some((f, e)), false).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub(super) struct OverrideForm {
    #[serde(default)]
    product_id: String,
    #[serde(default)]
    l1: String,
    #[serde(default)]
    l2: String,
    #[serde(default)]
    rebate: String,
    #[serde(default)]
    group_leader: String,
}

pub(super) async fn save_override(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<OverrideForm>,
) -> WebResult<Response> {
    let l1 = parse_percent("l1", &f.l1)?;
    let l2 = parse_percent("l2", &f.l2)?;
    let who = c.principal()?;
    let merchant = kith_app::platform::ids::MerchantId::parse_or_404(&mid)?;
    s.app
        .set_commission_override(
            who,
            &merchant,
            &f.product_id,
            if l2 == 0 { vec![l1] } else { vec![l1, l2] },
            parse_percent("rebate", &f.rebate)?,
            parse_percent("group_leader", &f.group_leader)?,
        )
        .await?;
    Ok(see(format!("/console/{mid}/commissions?saved=1")))
}

#[derive(Template)]
#[template(path = "console/tiers.html")]
pub(super) struct ConsoleTiers {
    c: Ctx,
    shop: Shop,
    tiers: Vec<kith_app::commerce::tiers::Tier>,
    members: Vec<kith_app::commerce::tiers::MemberTier>,
    /// The member to give a tier to: the shop's latest, or those the search found.
    picker: super::members::Picker,
}

pub(super) async fn tiers(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    Query(q): Query<super::members::SearchQuery>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let tiers = s.app.list_tiers(Some(&who), &shop.id).await?;
    let members = s
        .app
        .list_tier_members(&who, &shop.id, PageRequest::first(100))
        .await?
        .items;
    let picker = super::members::Picker::find(&s, &c, &shop, &q.q, "tier-pick-search").await?;
    Ok(render(&ConsoleTiers {
        c,
        shop,
        tiers,
        members,
        picker,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub(super) struct TierForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    rank: String,
}

pub(super) async fn create_tier(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<TierForm>,
) -> WebResult<Response> {
    let rank = parse_int("rank", &f.rank)?;
    s.app
        .create_tier(
            c.principal()?,
            &kith_app::platform::ids::MerchantId::parse_or_404(&mid)?,
            f.code.trim(),
            &f.name,
            rank,
        )
        .await?;
    Ok(see(format!("/console/{mid}/tiers?done=created")))
}

pub(super) async fn update_tier(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, tid)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<TierForm>,
) -> WebResult<Response> {
    let rank = opt_int("rank", &f.rank)?;
    let name = Some(f.name.as_str()).filter(|n| !n.trim().is_empty());
    s.app
        .update_tier(
            c.principal()?,
            &kith_app::platform::ids::MerchantId::parse_or_404(&mid)?,
            &kith_app::platform::ids::TierId::parse_or_404(&tid)?,
            name,
            rank,
        )
        .await?;
    Ok(see(format!("/console/{mid}/tiers?done=saved")))
}

pub(super) async fn delete_tier(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, tid)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    s.app
        .delete_tier(
            c.principal()?,
            &kith_app::platform::ids::MerchantId::parse_or_404(&mid)?,
            &kith_app::platform::ids::TierId::parse_or_404(&tid)?,
        )
        .await?;
    Ok(see(format!("/console/{mid}/tiers?done=deleted")))
}

#[derive(Deserialize)]
pub(super) struct AssignForm {
    #[serde(default)]
    account_id: String,
    #[serde(default)]
    tier_code: String,
}

pub(super) async fn assign_tier(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<AssignForm>,
) -> WebResult<Response> {
    let code = Some(f.tier_code.trim()).filter(|t| !t.is_empty());
    s.app
        .assign_tier(
            c.principal()?,
            &kith_app::platform::ids::MerchantId::parse_or_404(&mid)?,
            &kith_app::platform::ids::AccountId::parse_or_404(f.account_id.trim())?,
            code,
        )
        .await?;
    Ok(see(format!("/console/{mid}/tiers?done=saved")))
}

#[derive(Template)]
#[template(path = "console/distributors.html")]
pub(super) struct ConsoleDistributors {
    c: Ctx,
    shop: Shop,
    rows: Vec<kith_app::commerce::browse::DistributorRow>,
    chart: Svg,
}

pub(super) async fn distributors(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let rows = s.app.merchant_distributors(&who, &shop.id).await?;
    let t = c.t.console();
    let chart = charts::bars(
        t.distributors,
        &rows
            .iter()
            .filter(|r| r.total_fen() > kith_domain::Fen::ZERO)
            .take(10)
            .map(|r| {
                Datum::new(
                    &r.display_name,
                    r.total_fen().get() as f64,
                    pages::yuan(r.total_fen()),
                )
            })
            .collect::<Vec<_>>(),
        t.no_data,
    );
    Ok(render(&ConsoleDistributors {
        c,
        shop,
        rows,
        chart,
    })?
    .into_response())
}

#[derive(Template)]
#[template(path = "console/distributor.html")]
pub(super) struct ConsoleDistributor {
    c: Ctx,
    shop: Shop,
    name: String,
    wallet: kith_app::money::commissions::CommissionWallet,
}

/// One distributor's commission wallet at this merchant: balances and the statement (the
/// use case lets the merchant's staff read it).
pub(super) async fn distributor(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, aid)): Path<(String, String)>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let member = kith_app::platform::ids::AccountId::parse_or_404(&aid)?;
    let wallet = s
        .app
        .commission_wallet(&who, &member, &shop.id, PageRequest::first(100))
        .await?;
    let name = s
        .app
        .display_names(std::slice::from_ref(&aid))
        .await?
        .pop()
        .map(|(_, n)| n)
        .ok_or(AppError::NotFound("account"))?;
    Ok(render(&ConsoleDistributor {
        c,
        shop,
        name,
        wallet,
    })?
    .into_response())
}

/// An order's commission split as the console shows it.
pub struct Split {
    pub channel: String,
    pub review_reason: Option<String>,
    /// Each share with its beneficiary's name.
    pub shares: Vec<(String, kith_app::money::commissions::CommissionShare)>,
}

impl Split {
    /// A rate in basis points as a percentage.
    pub fn percent(&self, bp: &i64) -> String {
        bp_percent(*bp)
    }
}

/// The commission split of an order, with the beneficiaries' names.
pub(super) async fn order_split(s: &Web, who: &Principal, oid: &str) -> WebResult<Split> {
    let oid = kith_app::platform::ids::OrderId::parse_or_404(oid)?;
    let oc = s.app.order_commission(who, &oid).await?;
    let ids: Vec<String> = oc
        .shares
        .iter()
        .map(|x| x.beneficiary_id.to_string())
        .collect();
    let names = s.app.display_names(&ids).await?;
    let name_of = |id: &str| {
        names
            .iter()
            .find(|(i, _)| i == id)
            .map_or_else(|| id.to_owned(), |(_, n)| n.clone())
    };
    let channel = serde_json::to_value(oc.channel)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    Ok(Split {
        channel,
        review_reason: oc.review_reason,
        shares: oc
            .shares
            .into_iter()
            .map(|x| (name_of(&x.beneficiary_id), x))
            .collect(),
    })
}
