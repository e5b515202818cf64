//! The discovery context's statements: the reads that rank the feed, back social proof,
//! recommendations and search, and feed the search index, and the one row discovery
//! writes (`discovery_settings`). The SQL pieces they share — who the viewer's friends
//! are, blocks either way, "friends who bought it" — are here too.

pub(super) mod feed;
pub(super) mod home;
pub(super) mod recommend;
pub(super) mod search;

use kith_store::{Value, placeholders};

use crate::commerce::orders::BOUGHT;

/// Placeholders from `$start` for an `IN (…)` list of `ids`, and their values. The list is
/// padded to a power of two (at least 8) by repeating its last id — which changes nothing
/// an `IN` matches — so the statements built on it come in a few shapes that stay in each
/// connection's prepared-statement cache, instead of one shape per list length.
pub(in crate::discovery) fn in_list<'a>(
    start: usize,
    ids: impl IntoIterator<Item = &'a str>,
) -> (String, Vec<Value>) {
    let mut values: Vec<Value> = ids.into_iter().map(Value::from).collect();
    if let Some(last) = values.last().cloned() {
        let n = values.len().max(8).next_power_of_two();
        values.resize(n, last);
    }
    (placeholders(start, values.len()), values)
}

/// The friends of the account bound at `$1`: mutual follows.
pub(in crate::discovery) const FRIENDS_OF_1: &str = "SELECT f1.followee_id FROM follows f1
    JOIN follows f2 ON f2.follower_id = f1.followee_id AND f2.followee_id = f1.follower_id
    WHERE f1.follower_id = $1";

/// No block stands between the account bound at `$1` and `who` (an SQL expression),
/// whichever of them blocked the other.
pub(in crate::discovery) fn no_block_with_1(who: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM blocks b
           WHERE (b.blocker_id = $1 AND b.blocked_id = {who}) OR (b.blocker_id = {who} AND b.blocked_id = $1))"
    )
}

/// "Friends who bought it", the one rule behind both product search's `friends_bought`
/// and social proof's: rows `(product_id, buyer_id, bought_at)`, one per order line in
/// which a friend of the account bound at `$1` bought a product (an order in [`BOUGHT`]),
/// with no block between the two either way — a block normally ends the friendship, but
/// one may stand without an unfollow (a follow racing the block), and blocks cut both
/// ways everywhere in discovery. A friend who turned `show_purchases_to_friends` off is
/// counted all the same: the setting only keeps their name off the list
/// ([`crate::discovery::recommend`]). Callers filter by `product_id` and count distinct
/// `buyer_id`s.
pub(in crate::discovery) fn friend_purchases_of_1() -> String {
    format!(
        "SELECT s.product_id, o.buyer_id, o.created_at AS bought_at FROM orders o
           JOIN order_lines l ON l.order_id = o.id JOIN skus s ON s.id = l.sku_id
          WHERE o.status IN {BOUGHT} AND o.buyer_id IN ({FRIENDS_OF_1}) AND {}",
        no_block_with_1("o.buyer_id")
    )
}
