//! The catalog side of commerce's rows: categories, products, SKUs and their tier prices
//! ([`catalog`]), locations, stock and its movements ([`inventory`]), tiers and the tier each
//! member holds ([`tiers`]), offline stores and their clerks ([`stores`]), members' saved
//! addresses ([`addresses`]), cart lines ([`cart`]) and the read-only listings of the web
//! pages ([`browse`]). Column lists and decoders live beside the statements that use them;
//! transactions stay with the use cases that call these.

pub(super) mod addresses;
pub(super) mod browse;
pub(super) mod cart;
pub(super) mod catalog;
pub(super) mod inventory;
pub(super) mod stores;
pub(super) mod tiers;

/// The tier code a member holds at a merchant, as a scalar subquery (NULL: none), for a
/// statement that reads it beside other things: `member_tier!("m.id", "$2")` names the
/// merchant and the member by what the statement has for them.
macro_rules! member_tier {
    ($merchant:literal, $member:literal) => {
        concat!(
            "(SELECT t.code FROM member_tiers mt JOIN tiers t ON t.id = mt.tier_id WHERE mt.merchant_id = ",
            $merchant,
            " AND mt.account_id = ",
            $member,
            ")"
        )
    };
}
pub(in crate::commerce) use member_tier;

/// `$start, $start+1, …` for an `IN (…)` list of `n` values.
fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
