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

/// `$start, $start+1, …` for an `IN (…)` list of `n` values.
fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
