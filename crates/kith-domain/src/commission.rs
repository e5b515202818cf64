//! Money sharing (经消合一): the pure rules of commission plans, attribution, referrer
//! binding and the split of an order's commission.
//!
//! - **Plans** have rates in basis points (1 bp = 0.01 %) for at most [`MAX_LEVELS`] levels
//!   above the buyer — a third level is refused (with the organiser that makes three tiers,
//!   the threshold of pyramid selling under 禁止传销条例) —, a self-purchase rebate, an
//!   optional commission on group-buy orders with a group-leader rate, and a cap on the sum
//!   of all rates (default [`DEFAULT_CAP_BP`], 30 %).
//! - **Attribution** ([`attribute`]): the last share link the buyer followed within the
//!   window (never the buyer's own), else the bound referrer, else no one.
//! - **Binding** ([`binding_decision`], [`check_no_cycle`]): never to oneself, never into a
//!   cycle, never silently moved (only an expired binding may be replaced).
//! - **Split** ([`split`]): per role, `⌊Σ line base × rate ⁄ 10 000⌋` — rounding down to the
//!   fen, the remainder stays with the merchant. The buyer never earns as L1 or L2 on their
//!   own purchase, only through the rebate.
//! - **Reversal** ([`reversal`]): a refund takes back commission in proportion to the goods
//!   refunded, cumulatively, so all refunds together take back exactly the commission when
//!   everything is refunded and never more.

use serde::{Deserialize, Serialize};

use crate::{DomainError, Fen};

/// Most levels above the buyer a plan may pay.
pub const MAX_LEVELS: usize = 2;
/// 100 % in basis points.
pub const FULL_BP: i64 = 10_000;
/// Default cap on the sum of a plan's rates: 30 %.
pub const DEFAULT_CAP_BP: i64 = 3_000;
/// Default attribution window (days) for share links.
pub const DEFAULT_WINDOW_DAYS: i64 = 7;
/// Default life of an expiring binding (days).
pub const DEFAULT_BINDING_DAYS: i64 = 30;

/// The rates that apply to one product (the plan's, or a product override's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Rates {
    /// `[L1, L2]` in basis points.
    pub levels_bp: [i64; MAX_LEVELS],
    pub rebate_bp: i64,
    pub group_leader_bp: i64,
}

impl Rates {
    /// Checks `levels` (at most two), every rate 0–100 %, and the sum within `cap_bp`.
    /// `prefix` names the fields (`""` or `"overrides[3]."`).
    pub fn parse(
        prefix: &str,
        levels: &[i64],
        rebate_bp: i64,
        group_leader_bp: i64,
        cap_bp: i64,
    ) -> Result<Self, DomainError> {
        if levels.len() > MAX_LEVELS {
            return Err(DomainError::invalid(
                format!("{prefix}levels_bp[{MAX_LEVELS}]"),
                "at most two levels above the buyer may earn commission (a third level is \
                 pyramid selling under 禁止传销条例)",
            ));
        }
        let rate = |field: String, v: i64| {
            if (0..=FULL_BP).contains(&v) {
                Ok(v)
            } else {
                Err(DomainError::invalid(
                    field,
                    "must be 0–10000 basis points (0–100 %)",
                ))
            }
        };
        let mut levels_bp = [0; MAX_LEVELS];
        for (i, v) in levels.iter().enumerate() {
            levels_bp[i] = rate(format!("{prefix}levels_bp[{i}]"), *v)?;
        }
        let rates = Self {
            levels_bp,
            rebate_bp: rate(format!("{prefix}rebate_bp"), rebate_bp)?,
            group_leader_bp: rate(format!("{prefix}group_leader_bp"), group_leader_bp)?,
        };
        if rates.sum_bp() > cap_bp {
            return Err(DomainError::invalid(
                format!("{prefix}levels_bp"),
                format!(
                    "the rates sum to {} bp, over the cap of {cap_bp} bp",
                    rates.sum_bp()
                ),
            ));
        }
        Ok(rates)
    }

    /// The sum of every rate: what one order can pay out at most, per fen of base.
    pub fn sum_bp(&self) -> i64 {
        self.levels_bp.iter().sum::<i64>() + self.rebate_bp + self.group_leader_bp
    }
}

/// How a member gets bound to a referrer at a merchant (锁客).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BindingMode {
    /// First touch binds for good (the default).
    Permanent,
    /// First touch binds for this many days; after that a new touch may bind again.
    Expiring { days: i64 },
    /// No binding: attribution is last touch only.
    None,
}

impl BindingMode {
    pub fn parse(mode: &str, days: Option<i64>) -> Result<Self, DomainError> {
        match (mode, days) {
            ("permanent", None) => Ok(Self::Permanent),
            ("none", None) => Ok(Self::None),
            ("expiring", None) => Ok(Self::Expiring {
                days: DEFAULT_BINDING_DAYS,
            }),
            ("expiring", Some(d)) if (1..=3650).contains(&d) => Ok(Self::Expiring { days: d }),
            ("expiring", Some(_)) => Err(DomainError::invalid("binding_days", "must be 1–3650")),
            ("permanent" | "none", Some(_)) => Err(DomainError::invalid(
                "binding_days",
                "only an expiring binding has days",
            )),
            _ => Err(DomainError::invalid(
                "binding_mode",
                "must be permanent, expiring or none",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Permanent => "permanent",
            Self::Expiring { .. } => "expiring",
            Self::None => "none",
        }
    }

    pub fn days(self) -> Option<i64> {
        match self {
            Self::Expiring { days } => Some(days),
            _ => None,
        }
    }
}

/// A merchant's commission plan, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub rates: Rates,
    pub cap_bp: i64,
    /// Whether group-buy orders earn commission (issue 7 reads it).
    pub group_buy_commission: bool,
    pub binding: BindingMode,
    pub window_days: i64,
    pub withdraw_min_fen: i64,
    pub withdraw_daily_limit_fen: i64,
}

/// What a merchant sends to set its plan.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub levels_bp: Vec<i64>,
    pub rebate_bp: i64,
    pub group_buy_commission: bool,
    pub group_leader_bp: i64,
    pub cap_bp: Option<i64>,
    pub binding_mode: String,
    pub binding_days: Option<i64>,
    pub attribution_window_days: Option<i64>,
    pub withdraw_min_fen: Option<i64>,
    pub withdraw_daily_limit_fen: Option<i64>,
}

impl Plan {
    pub fn parse(input: &PlanInput) -> Result<Self, DomainError> {
        let cap_bp = input.cap_bp.unwrap_or(DEFAULT_CAP_BP);
        if !(0..=FULL_BP).contains(&cap_bp) {
            return Err(DomainError::invalid(
                "cap_bp",
                "must be 0–10000 basis points",
            ));
        }
        let rates = Rates::parse(
            "",
            &input.levels_bp,
            input.rebate_bp,
            input.group_leader_bp,
            cap_bp,
        )?;
        let window_days = input.attribution_window_days.unwrap_or(DEFAULT_WINDOW_DAYS);
        if !(1..=365).contains(&window_days) {
            return Err(DomainError::invalid(
                "attribution_window_days",
                "must be 1–365",
            ));
        }
        let withdraw_min_fen = input.withdraw_min_fen.unwrap_or(1_000);
        if !(1..=100_000_000).contains(&withdraw_min_fen) {
            return Err(DomainError::invalid(
                "withdraw_min_fen",
                "must be 1–100000000",
            ));
        }
        let withdraw_daily_limit_fen = input.withdraw_daily_limit_fen.unwrap_or(500_000);
        if !(withdraw_min_fen..=1_000_000_000).contains(&withdraw_daily_limit_fen) {
            return Err(DomainError::invalid(
                "withdraw_daily_limit_fen",
                "must be at least withdraw_min_fen and at most 1000000000",
            ));
        }
        Ok(Self {
            rates,
            cap_bp,
            group_buy_commission: input.group_buy_commission,
            binding: BindingMode::parse(&input.binding_mode, input.binding_days)?,
            window_days,
            withdraw_min_fen,
            withdraw_daily_limit_fen,
        })
    }
}

/// How an order came to its first beneficiary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A share link of a product, a community invite or a post by someone not its author.
    Share,
    /// A post with product tags, shared by its author (content credit).
    Content,
    /// A group-buy share link (issue 7).
    GroupBuy,
    /// No link in the window: the buyer's bound referrer.
    Referrer,
    /// No one.
    None,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Self::Share,
        Self::Content,
        Self::GroupBuy,
        Self::Referrer,
        Self::None,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Share => "share",
            Self::Content => "content",
            Self::GroupBuy => "group_buy",
            Self::Referrer => "referrer",
            Self::None => "none",
        }
    }
    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A share link the buyer followed (for attribution).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    pub sharer: String,
    pub channel: Channel,
    pub at_ms: i64,
    pub link_id: Option<String>,
}

/// The attribution of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub channel: Channel,
    pub beneficiary: Option<String>,
    pub link_id: Option<String>,
}

impl Attribution {
    /// A group-buy seat's order came through 拼团, whatever touch led to it: its channel is
    /// `GroupBuy` with the same beneficiary and link — except a post's content credit,
    /// which stays `Content` so the post's author still earns as its author.
    pub fn through_group_buy(mut self) -> Self {
        if self.channel != Channel::Content {
            self.channel = Channel::GroupBuy;
        }
        self
    }
}

/// docs/PRODUCT.md §4: the latest touch within the window that is not the buyer's own link; else
/// the bound referrer (if the binding is live); else no one. `touches` may be in any order.
pub fn attribute(
    buyer: &str,
    now_ms: i64,
    window_ms: i64,
    touches: &[Touch],
    referrer: Option<&str>,
) -> Attribution {
    let last = touches
        .iter()
        .filter(|t| t.sharer != buyer && t.at_ms <= now_ms && now_ms - t.at_ms <= window_ms)
        .max_by_key(|t| t.at_ms);
    if let Some(t) = last {
        return Attribution {
            channel: t.channel,
            beneficiary: Some(t.sharer.clone()),
            link_id: t.link_id.clone(),
        };
    }
    match referrer.filter(|r| *r != buyer) {
        Some(r) => Attribution {
            channel: Channel::Referrer,
            beneficiary: Some(r.to_owned()),
            link_id: None,
        },
        None => Attribution {
            channel: Channel::None,
            beneficiary: None,
            link_id: None,
        },
    }
}

/// A member's live binding: (referrer, expires at in ms, if it expires).
pub type Binding = (String, Option<i64>);

/// Whether a touch by `referrer` binds `member` under `mode`. `Ok(true)`: bind (or rebind
/// an expired binding); `Ok(false)`: leave as is (already bound and live, or mode none).
/// `Err` only for a binding to oneself. The cycle check is [`check_no_cycle`].
pub fn binding_decision(
    mode: BindingMode,
    member: &str,
    referrer: &str,
    existing: Option<&Binding>,
    now_ms: i64,
) -> Result<bool, DomainError> {
    if member == referrer {
        return Err(DomainError::invalid(
            "referrer",
            "a member cannot be bound to themselves",
        ));
    }
    if mode == BindingMode::None {
        return Ok(false);
    }
    Ok(match existing {
        None => true,
        Some((_, Some(expires))) => now_ms >= *expires,
        Some((_, None)) => false,
    })
}

/// Refuses binding `member` to `referrer` when `member` is `referrer` or one of the
/// referrer's ancestors (`referrer_ancestors`: the referrer's referrer, theirs, … upwards).
pub fn check_no_cycle(
    member: &str,
    referrer: &str,
    referrer_ancestors: &[String],
) -> Result<(), DomainError> {
    if member == referrer {
        return Err(DomainError::invalid(
            "referrer",
            "a member cannot be bound to themselves",
        ));
    }
    if referrer_ancestors.iter().any(|a| a == member) {
        return Err(DomainError::invalid(
            "referrer",
            "binding would make a cycle: the referrer is already below this member",
        ));
    }
    Ok(())
}

/// The part a beneficiary plays in an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Rebate,
    L1,
    L2,
    GroupLeader,
}

impl Role {
    pub const ALL: [Role; 4] = [Self::Rebate, Self::L1, Self::L2, Self::GroupLeader];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rebate => "rebate",
            Self::L1 => "l1",
            Self::L2 => "l2",
            Self::GroupLeader => "group_leader",
        }
    }
    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Who may earn on one order: the buyer (rebate, if a distributor), L1 and L2 above them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub rebate: Option<String>,
    pub l1: Option<String>,
    pub l2: Option<String>,
}

/// The beneficiary chain of `buyer`: L1 is the attributed member, L2 is L1's bound
/// referrer. Neither may be the buyer (a member never earns commission on their own
/// purchase except the rebate), and L2 never repeats L1.
pub fn chain(
    buyer: &str,
    buyer_is_distributor: bool,
    attributed: Option<&str>,
    l1_referrer: Option<&str>,
) -> Chain {
    let l1 = attributed.filter(|a| *a != buyer).map(str::to_owned);
    let l2 = match &l1 {
        Some(l1) => l1_referrer
            .filter(|r| *r != buyer && *r != l1.as_str())
            .map(str::to_owned),
        None => None,
    };
    Chain {
        rebate: buyer_is_distributor.then(|| buyer.to_owned()),
        l1,
        l2,
    }
}

/// One beneficiary's part of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub role: Role,
    pub beneficiary: String,
    pub rate_bp: i64,
    pub base: Fen,
    pub amount: Fen,
}

/// `⌊amount × num ⁄ den⌋` without overflow (den > 0).
fn mul_div_floor(amount: i64, num: i64, den: i64) -> i64 {
    let v = i128::from(amount) * i128::from(num) / i128::from(den);
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Splits an order's commission. `lines` are (goods paid for the line after discounts,
/// the rates for its product); shipping is never part of the base. Per role the amount is
/// `⌊Σ base × rate ⁄ 10 000⌋`; roles without a beneficiary or with zero amount are left
/// out. Bases must not be negative.
pub fn split(lines: &[(Fen, Rates)], chain: &Chain) -> Vec<Share> {
    let base: i64 = lines.iter().map(|(b, _)| b.get().max(0)).sum();
    type RateOf = fn(&Rates) -> i64;
    let roles: [(Role, Option<&String>, RateOf); 3] = [
        (Role::Rebate, chain.rebate.as_ref(), |r| r.rebate_bp),
        (Role::L1, chain.l1.as_ref(), |r| r.levels_bp[0]),
        (Role::L2, chain.l2.as_ref(), |r| r.levels_bp[1]),
    ];
    let mut out = Vec::new();
    for (role, who, rate) in roles {
        let Some(who) = who else { continue };
        let weighted: i128 = lines
            .iter()
            .map(|(b, r)| i128::from(b.get().max(0)) * i128::from(rate(r)))
            .sum();
        let amount = i64::try_from(weighted / i128::from(FULL_BP)).unwrap_or(0);
        if amount > 0 {
            // The effective rate, for statements: the same for every line unless overridden.
            let rate_bp = if base > 0 {
                i64::try_from(weighted / i128::from(base)).unwrap_or(0)
            } else {
                0
            };
            out.push(Share {
                role,
                beneficiary: who.clone(),
                rate_bp,
                base: Fen::new(base),
                amount: Fen::new(amount),
            });
        }
    }
    out
}

/// What a refund takes back of a commission of `amount` on a goods base of `base`, when
/// the goods refunded so far go from `refunded_before` to `refunded_after`:
/// `⌊amount × after ⁄ base⌋ − ⌊amount × before ⁄ base⌋`. Cumulative, so the reversals of
/// every refund of an order add up to `⌊amount × refunded ⁄ base⌋` — the whole commission
/// when everything is refunded, never more.
pub fn reversal(amount: i64, base: i64, refunded_before: i64, refunded_after: i64) -> i64 {
    if base <= 0 || amount <= 0 {
        return 0;
    }
    let before = refunded_before.clamp(0, base);
    let after = refunded_after.clamp(before, base);
    mul_div_floor(amount, after, base) - mul_div_floor(amount, before, base)
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_group_buy_order_is_attributed_to_the_group_buy_channel() {
        let at = |channel, beneficiary: Option<&str>| Attribution {
            channel,
            beneficiary: beneficiary.map(str::to_owned),
            link_id: None,
        };
        for (from, to) in [
            (Channel::None, Channel::GroupBuy),
            (Channel::Referrer, Channel::GroupBuy),
            (Channel::Share, Channel::GroupBuy),
            (Channel::GroupBuy, Channel::GroupBuy),
            (Channel::Content, Channel::Content),
        ] {
            let got = at(from, Some("friend")).through_group_buy();
            assert_eq!(got, at(to, Some("friend")), "{from:?}");
        }
        assert_eq!(
            at(Channel::None, None).through_group_buy().beneficiary,
            None
        );
    }

    use super::*;
    use proptest::prelude::*;

    fn field(e: DomainError) -> String {
        match e {
            DomainError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    fn input(levels: Vec<i64>) -> PlanInput {
        PlanInput {
            levels_bp: levels,
            rebate_bp: 200,
            group_buy_commission: false,
            group_leader_bp: 0,
            cap_bp: None,
            binding_mode: "permanent".into(),
            binding_days: None,
            attribution_window_days: None,
            withdraw_min_fen: None,
            withdraw_daily_limit_fen: None,
        }
    }

    #[test]
    fn a_third_level_is_refused() {
        let e = Plan::parse(&input(vec![1000, 500, 100])).unwrap_err();
        assert_eq!(field(e), "levels_bp[2]");
        let ok = Plan::parse(&input(vec![1000, 500])).unwrap();
        assert_eq!(ok.rates.levels_bp, [1000, 500]);
        assert_eq!(ok.cap_bp, DEFAULT_CAP_BP);
        assert_eq!(ok.window_days, 7);
    }

    #[test]
    fn rates_over_the_cap_are_refused() {
        assert_eq!(
            field(Plan::parse(&input(vec![2000, 900])).unwrap_err()),
            "levels_bp"
        );
        let mut i = input(vec![1000]);
        i.cap_bp = Some(1200);
        assert!(Plan::parse(&i).is_ok());
        i.rebate_bp = 201;
        assert!(Plan::parse(&i).is_err());
        i.cap_bp = Some(10_001);
        assert_eq!(field(Plan::parse(&i).unwrap_err()), "cap_bp");
        let mut n = input(vec![-1]);
        n.rebate_bp = 0;
        assert_eq!(field(Plan::parse(&n).unwrap_err()), "levels_bp[0]");
    }

    #[test]
    fn binding_modes_parse() {
        assert_eq!(
            BindingMode::parse("expiring", None),
            Ok(BindingMode::Expiring { days: 30 })
        );
        assert!(BindingMode::parse("permanent", Some(3)).is_err());
        assert!(BindingMode::parse("forever", None).is_err());
        assert!(BindingMode::parse("expiring", Some(0)).is_err());
    }

    #[test]
    fn attribution_prefers_the_last_link_in_the_window() {
        let t = |s: &str, at| Touch {
            sharer: s.into(),
            channel: Channel::Share,
            at_ms: at,
            link_id: None,
        };
        let day = 86_400_000;
        let touches = [t("a", 0), t("b", day), t("buyer", 2 * day)];
        let got = attribute("buyer", 3 * day, 7 * day, &touches, Some("r"));
        assert_eq!(got.beneficiary.as_deref(), Some("b"));
        // Out of the window: the bound referrer.
        let got = attribute("buyer", 9 * day, 7 * day, &touches, Some("r"));
        assert_eq!(got.channel, Channel::Referrer);
        assert_eq!(got.beneficiary.as_deref(), Some("r"));
        assert_eq!(
            attribute("buyer", 9 * day, 7 * day, &touches, None).channel,
            Channel::None
        );
    }

    #[test]
    fn bindings_never_to_self_never_a_cycle_never_moved() {
        let p = BindingMode::Permanent;
        assert!(binding_decision(p, "a", "a", None, 0).is_err());
        assert_eq!(binding_decision(p, "a", "b", None, 0), Ok(true));
        let bound: Binding = ("c".into(), None);
        assert_eq!(binding_decision(p, "a", "b", Some(&bound), 0), Ok(false));
        let expiring: Binding = ("c".into(), Some(100));
        let e = BindingMode::Expiring { days: 1 };
        assert_eq!(
            binding_decision(e, "a", "b", Some(&expiring), 99),
            Ok(false)
        );
        assert_eq!(
            binding_decision(e, "a", "b", Some(&expiring), 100),
            Ok(true)
        );
        assert_eq!(
            binding_decision(BindingMode::None, "a", "b", None, 0),
            Ok(false)
        );
        // B is bound to A: A can never be bound to B or anyone below B.
        assert!(check_no_cycle("a", "b", &["a".into()]).is_err());
        assert!(check_no_cycle("a", "c", &["b".into(), "a".into()]).is_err());
        assert!(check_no_cycle("a", "c", &["b".into()]).is_ok());
    }

    #[test]
    fn the_buyer_earns_only_the_rebate() {
        let c = chain("me", true, Some("me"), Some("x"));
        assert_eq!(c.l1, None);
        assert_eq!(c.l2, None);
        assert_eq!(c.rebate.as_deref(), Some("me"));
        let c = chain("me", false, Some("a"), Some("me"));
        assert_eq!(c.l1.as_deref(), Some("a"));
        assert_eq!(c.l2, None);
        assert_eq!(c.rebate, None);
    }

    #[test]
    fn split_rounds_down_per_role() {
        let r = Rates {
            levels_bp: [1000, 500],
            rebate_bp: 200,
            group_leader_bp: 0,
        };
        let c = chain("b", true, Some("l1"), Some("l2"));
        let s = split(&[(Fen::new(9_999), r)], &c);
        let amounts: Vec<_> = s.iter().map(|s| (s.role, s.amount.get())).collect();
        assert_eq!(
            amounts,
            vec![(Role::Rebate, 199), (Role::L1, 999), (Role::L2, 499)]
        );
    }

    fn rates() -> impl Strategy<Value = Rates> {
        (0i64..=3000, 0i64..=3000, 0i64..=3000, 0i64..=3000)
            .prop_filter_map("within the cap", |(a, b, c, d)| {
                Rates::parse("", &[a, b], c, d, DEFAULT_CAP_BP).ok()
            })
    }

    proptest! {
        #[test]
        fn commission_never_exceeds_the_cap_nor_goes_negative(
            lines in prop::collection::vec((0i64..10_000_000, rates()), 1..8),
            dist in any::<bool>(), has_l1 in any::<bool>(), has_l2 in any::<bool>(),
        ) {
            let lines: Vec<(Fen, Rates)> = lines.into_iter().map(|(b, r)| (Fen::new(b), r)).collect();
            let base: i64 = lines.iter().map(|(b, _)| b.get()).sum();
            let c = chain("buyer", dist, has_l1.then_some("a"), has_l2.then_some("b"));
            let shares = split(&lines, &c);
            let total: i64 = shares.iter().map(|s| s.amount.get()).sum();
            prop_assert!(total <= i64::try_from(i128::from(base) * i128::from(DEFAULT_CAP_BP) / 10_000).unwrap());
            prop_assert!(shares.iter().all(|s| s.amount.get() > 0));
            prop_assert!(shares.len() <= 3);
            // Nobody but the rebate is the buyer; no level beyond two exists at all.
            prop_assert!(shares.iter().all(|s| s.role == Role::Rebate || s.beneficiary != "buyer"));
        }

        #[test]
        fn reversals_add_up_to_at_most_the_commission(
            amount in 0i64..1_000_000, base in 1i64..10_000_000,
            cuts in prop::collection::vec(0i64..10_000_000, 0..6),
        ) {
            let mut refunded = 0i64;
            let mut reversed = 0i64;
            for cut in cuts {
                let after = (refunded + cut).min(base);
                let r = reversal(amount, base, refunded, after);
                prop_assert!(r >= 0);
                reversed += r;
                refunded = after;
                prop_assert!(reversed <= amount);
            }
            // Refunding the rest takes back exactly what is left.
            reversed += reversal(amount, base, refunded, base);
            prop_assert_eq!(reversed, amount);
        }

        #[test]
        fn attribution_never_credits_the_buyer(
            touches in prop::collection::vec((0usize..3, 0i64..1_000), 0..6),
            referrer in prop::option::of(0usize..3), now in 0i64..2_000,
        ) {
            let names = ["buyer", "a", "b"];
            let ts: Vec<Touch> = touches.iter().map(|(w, at)| Touch {
                sharer: names[*w].into(), channel: Channel::Share, at_ms: *at, link_id: None,
            }).collect();
            let got = attribute("buyer", now, 500, &ts, referrer.map(|r| names[r]));
            prop_assert_ne!(got.beneficiary.as_deref(), Some("buyer"));
            if got.channel == Channel::Share {
                let best = ts.iter().filter(|t| t.sharer != "buyer" && t.at_ms <= now && now - t.at_ms <= 500).map(|t| t.at_ms).max();
                prop_assert!(best.is_some());
            }
        }

        #[test]
        fn no_binding_ever_makes_a_cycle(edges in prop::collection::vec((0usize..6, 0usize..6), 0..30)) {
            // Build a forest by the rules; then walking up from anyone ends without repeats.
            let mut parent: [Option<usize>; 6] = [None; 6];
            for (m, r) in edges {
                let mut ancestors = Vec::new();
                let mut at = parent[r];
                while let Some(p) = at {
                    ancestors.push(p.to_string());
                    at = parent[p];
                }
                let existing = parent[m].map(|p| (p.to_string(), None));
                let ok = binding_decision(BindingMode::Permanent, &m.to_string(), &r.to_string(), existing.as_ref(), 0)
                    .ok()
                    .filter(|b| *b)
                    .and_then(|_| check_no_cycle(&m.to_string(), &r.to_string(), &ancestors).ok());
                if ok.is_some() {
                    prop_assert!(parent[m].is_none(), "a binding was moved");
                    parent[m] = Some(r);
                }
            }
            for start in 0..6 {
                let mut seen = [false; 6];
                let mut at = Some(start);
                while let Some(n) = at {
                    prop_assert!(!seen[n], "cycle through {}", n);
                    seen[n] = true;
                    at = parent[n];
                }
            }
        }
    }
}
