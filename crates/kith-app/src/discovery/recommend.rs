//! Trust discovery beyond search: social proof on a product, product recommendations from
//! friends, people the member may know, and the member's discovery privacy setting.
//!
//! - **Social proof** ([`App::social_proof`]): how many of my friends bought the product
//!   (paid and not cancelled; the same count product search ranks by, one rule:
//!   [`crate::discovery::search::friend_purchases_of_1`]), the names of up to three of
//!   them — only friends whose `show_purchases_to_friends` setting is on (the default):
//!   the setting hides a name, it does not take the purchase out of the count —, its
//!   reviews with friends' first, and friends' posts that tag it (through the one
//!   visibility rule).
//! - **Recommended products** ([`App::recommended_products`]): active products that two or
//!   more friends recommend. A friend recommends a product by having bought it and rated
//!   it ≥ 4, by a post tagging it, or by liking a post tagging it — only signals the member
//!   may see count (posts through the visibility rule; reviews are public). Ranked by the
//!   number of recommending friends, then by signal strength (review 3, post 2, like 1),
//!   with the reason "N 位好友推荐".
//! - **People you may know** ([`App::people_you_may_know`]): friends of friends and fellow
//!   members of the member's communities, not yet followed, nobody blocked either way;
//!   ranked by `2 × mutual friends + shared communities`.
//!
//! Blocks cut both ways everywhere here: a blocked member is never counted or named.

use std::collections::{HashMap, HashSet};

use kith_domain::Fen;
use kith_store::{Value, args, placeholders};
use serde::Serialize;

use crate::discovery::search::{Circle, FRIENDS_OF_1, friend_purchases_of_1, no_block_with_1};
use crate::platform::ids::{AccountId, MerchantId, ProductId, ReviewId};
use crate::social::posts::{PersonRef, Post, query_posts};
use crate::{App, AppError, AppResult, Principal, platform::outbox, rfc3339};

/// Most names shown on "friends who bought it".
pub const MAX_NAMES: usize = 3;
/// Most items in each list here.
pub const MAX_ITEMS: i64 = 20;

/// The caller's discovery privacy settings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq, Eq)]
pub struct DiscoverySettings {
    /// Whether friends may see the caller's name among "friends who bought it" (on by
    /// default). The count of friends who bought includes everyone either way.
    pub show_purchases_to_friends: bool,
}

/// A review as social proof shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProofReview {
    pub id: ReviewId,
    pub author: PersonRef,
    pub rating: i64,
    pub body: String,
    /// Written by one of the caller's friends.
    pub by_friend: bool,
    pub created_at: String,
}

/// Why the caller might trust a product.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SocialProof {
    pub product_id: ProductId,
    /// Friends who bought it (paid orders, not cancelled).
    pub friends_bought: i64,
    /// Up to three of them, only friends who allow it; most recent buyers first.
    pub friend_names: Vec<PersonRef>,
    /// "3 位好友买过", or empty when no friend bought it.
    pub summary: String,
    /// Its visible reviews, friends' first, then newest first (at most 20).
    pub reviews: Vec<ProofReview>,
    /// Friends' posts that tag it, newest first (at most 20), that the caller may see.
    pub friend_posts: Vec<Post>,
}

/// A product recommended by friends.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecommendedProduct {
    pub product_id: ProductId,
    pub merchant_id: MerchantId,
    pub name: String,
    #[schema(value_type = Option<i64>)]
    pub min_price_fen: Option<Fen>,
    /// How many friends recommend it (at least 2).
    pub friends: i64,
    /// "3 位好友推荐".
    pub reason: String,
    /// Up to three of the recommending friends.
    pub friend_names: Vec<PersonRef>,
}

/// Someone the caller may know.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SuggestedPerson {
    pub person: PersonRef,
    pub mutual_friends: i64,
    pub shared_communities: i64,
    /// "2 位共同好友 · 同在 1 个社群".
    pub reason: String,
}

/// A list of suggestions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Suggestions<T> {
    pub items: Vec<T>,
}

// Columns of a review as social proof shows it (then `fr`: by one of the caller's friends).
kith_store::columns!(ProofCols {
    "rv.id" => id,
    "rv.author_id" => author_id,
    "a.display_name" => author_name,
    "rv.rating" => rating,
    "rv.body" => body,
    "rv.created_at" => created_at,
});

fn names(c: &mut dyn kith_store::Conn, ids: &[String]) -> AppResult<HashMap<String, PersonRef>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let params: Vec<Value> = ids.iter().map(Value::from).collect();
    let mut out = HashMap::new();
    for r in c.query(
        &format!(
            "SELECT id, display_name FROM accounts WHERE id IN ({})",
            placeholders(1, ids.len())
        ),
        &params,
    )? {
        let id = r.text(0)?;
        out.insert(
            id.clone(),
            PersonRef {
                id: AccountId::from_row(id),
                display_name: r.text(1)?,
            },
        );
    }
    Ok(out)
}

impl App {
    /// The caller's discovery settings (defaults when never set).
    pub async fn discovery_settings(&self, who: &Principal) -> AppResult<DiscoverySettings> {
        let me = who.account_id.clone();
        self.db
            .read(move |c| {
                let show = c
                    .query_opt(
                        "SELECT show_purchases_to_friends FROM discovery_settings WHERE account_id = $1",
                        args![&me],
                    )?
                    .map(|r| r.int(0))
                    .transpose()?
                    .is_none_or(|v| v != 0);
                Ok(DiscoverySettings {
                    show_purchases_to_friends: show,
                })
            })
            .await
    }

    /// Changes the caller's discovery settings.
    pub async fn set_discovery_settings(
        &self,
        who: &Principal,
        s: DiscoverySettings,
    ) -> AppResult<DiscoverySettings> {
        let me = who.account_id.clone();
        let now = self.now_ms();
        self.db
            .write(move |c| {
                c.execute(
                    "INSERT INTO discovery_settings (account_id, show_purchases_to_friends, updated_at)
                     VALUES ($1, $2, $3)
                     ON CONFLICT (account_id) DO UPDATE
                     SET show_purchases_to_friends = excluded.show_purchases_to_friends, updated_at = excluded.updated_at",
                    args![&me, s.show_purchases_to_friends, now],
                )?;
                outbox::emit(
                    c,
                    now,
                    "discovery.settings_changed",
                    None,
                    &me,
                    &serde_json::json!({ "account_id": me, "show_purchases_to_friends": s.show_purchases_to_friends }),
                )?;
                Ok::<_, AppError>(s.clone())
            })
            .await
    }

    /// Social proof on a product of a merchant for the caller; 404 when the merchant has
    /// no such product, or only a draft of it.
    pub async fn social_proof(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        product_id: &ProductId,
    ) -> AppResult<SocialProof> {
        let me = who.account_id.clone();
        let pid = product_id.clone();
        let mid = merchant_id.clone();
        self.db
            .read(move |c| {
                c.query_opt(
                    "SELECT 1 FROM products WHERE id = $1 AND merchant_id = $2 AND status <> 'draft'",
                    args![&pid, &mid],
                )?
                .ok_or(AppError::NotFound("product"))?;
                // Every friend who bought it counts (the one rule, shared with search);
                // only those who allow it are named.
                let buyers = c.query(
                    &format!(
                        "SELECT fb.buyer_id, MAX(fb.bought_at) AS last_at,
                                MAX(CASE WHEN ds.show_purchases_to_friends IS NULL OR ds.show_purchases_to_friends THEN 1 ELSE 0 END)
                         FROM ({}) fb
                         LEFT JOIN discovery_settings ds ON ds.account_id = fb.buyer_id
                         WHERE fb.product_id = $2
                         GROUP BY fb.buyer_id
                         ORDER BY last_at DESC, fb.buyer_id",
                        friend_purchases_of_1()
                    ),
                    args![&me, &pid],
                )?;
                let friends_bought = buyers.len() as i64;
                let mut named = Vec::new();
                for r in &buyers {
                    if r.int(2)? != 0 && named.len() < MAX_NAMES {
                        named.push(r.text(0)?);
                    }
                }
                let by_id = names(c, &named)?;
                let friend_names = named.iter().filter_map(|i| by_id.get(i).cloned()).collect();
                let mut reviews = Vec::new();
                for r in c.query(
                    &format!(
                        "SELECT {}, CASE WHEN rv.author_id IN ({FRIENDS_OF_1}) THEN 1 ELSE 0 END AS fr
                         FROM reviews rv JOIN accounts a ON a.id = rv.author_id
                         WHERE rv.product_id = $2 AND rv.hidden_at IS NULL AND {}
                         ORDER BY fr DESC, rv.created_at DESC, rv.id DESC LIMIT {MAX_ITEMS}",
                        ProofCols::LIST,
                        no_block_with_1("rv.author_id")
                    ),
                    args![&me, &pid],
                )? {
                    reviews.push(ProofReview {
                        id: ReviewId::from_row(r.text(ProofCols::id)?),
                        author: PersonRef {
                            id: AccountId::from_row(r.text(ProofCols::author_id)?),
                            display_name: r.text(ProofCols::author_name)?,
                        },
                        rating: r.int(ProofCols::rating)?,
                        body: r.text(ProofCols::body)?,
                        created_at: rfc3339(r.int(ProofCols::created_at)?),
                        // `fr`, right after the review's columns.
                        by_friend: r.int(ProofCols::created_at + 1)? != 0,
                    });
                }
                let friend_posts = query_posts(
                    c,
                    &me,
                    &format!(
                        "p.author_id IN ({FRIENDS_OF_1}) AND EXISTS (SELECT 1 FROM post_tags t JOIN skus s ON s.id = t.sku_id
                                  WHERE t.post_id = p.id AND s.product_id = $2)"
                    ),
                    vec![Value::from(&pid)],
                    &format!("ORDER BY p.created_at DESC, p.id DESC LIMIT {MAX_ITEMS}"),
                )?
                .into_iter()
                .map(|(_, p)| p)
                .collect();
                Ok(SocialProof {
                    product_id: pid.clone(),
                    friends_bought,
                    friend_names,
                    summary: if friends_bought > 0 {
                        format!("{friends_bought} 位好友买过")
                    } else {
                        String::new()
                    },
                    reviews,
                    friend_posts,
                })
            })
            .await
    }

    /// Products two or more friends recommend (see the module docs).
    pub async fn recommended_products(
        &self,
        who: &Principal,
    ) -> AppResult<Suggestions<RecommendedProduct>> {
        let me = who.account_id.clone();
        self.db
            .read(move |c| {
                let visible = crate::social::visibility::post_visible("$1");
                // (product, friend, strength)
                let sql = format!(
                    "SELECT rv.product_id, rv.author_id, 3 FROM reviews rv
                      WHERE rv.rating >= 4 AND rv.hidden_at IS NULL AND rv.author_id IN ({FRIENDS_OF_1})
                     UNION ALL
                     SELECT s.product_id, p.author_id, 2 FROM posts p
                       JOIN post_tags t ON t.post_id = p.id JOIN skus s ON s.id = t.sku_id
                      WHERE p.author_id IN ({FRIENDS_OF_1}) AND {visible}
                     UNION ALL
                     SELECT s.product_id, l.account_id, 1 FROM post_likes l
                       JOIN posts p ON p.id = l.post_id
                       JOIN post_tags t ON t.post_id = p.id JOIN skus s ON s.id = t.sku_id
                      WHERE l.account_id IN ({FRIENDS_OF_1}) AND {visible}"
                );
                let mut per_product: HashMap<String, HashMap<String, i64>> = HashMap::new();
                for r in c.query(&sql, args![&me])? {
                    let strength = per_product
                        .entry(r.text(0)?)
                        .or_default()
                        .entry(r.text(1)?)
                        .or_insert(0);
                    *strength = (*strength).max(r.int(2)?);
                }
                // Blocked friends do not count (a block may stand without an unfollow).
                let blocked: HashSet<String> = c
                    .query(
                        "SELECT blocked_id FROM blocks WHERE blocker_id = $1
                         UNION SELECT blocker_id FROM blocks WHERE blocked_id = $1",
                        args![&me],
                    )?
                    .iter()
                    .map(|r| r.text(0))
                    .collect::<Result<_, _>>()?;
                let mut ranked: Vec<(String, i64, i64, Vec<String>)> = per_product
                    .into_iter()
                    .filter_map(|(product, friends)| {
                        let mut fs: Vec<(String, i64)> = friends
                            .into_iter()
                            .filter(|(f, _)| !blocked.contains(f))
                            .collect();
                        if fs.len() < 2 {
                            return None;
                        }
                        fs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                        let strength = fs.iter().map(|f| f.1).sum();
                        let n = fs.len() as i64;
                        Some((
                            product,
                            n,
                            strength,
                            fs.into_iter().take(MAX_NAMES).map(|f| f.0).collect(),
                        ))
                    })
                    .collect();
                ranked.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
                let ids: Vec<String> = ranked.iter().map(|r| r.0.clone()).collect();
                let mut products: HashMap<String, (String, String, Option<i64>)> = HashMap::new();
                for chunk in ids.chunks(500) {
                    let params: Vec<Value> = chunk.iter().map(Value::from).collect();
                    for r in c.query(
                        &format!(
                            "SELECT pr.id, pr.merchant_id, pr.name,
                                    (SELECT MIN(s.list_price_fen) FROM skus s WHERE s.product_id = pr.id)
                             FROM products pr WHERE pr.status = 'active' AND pr.id IN ({})",
                            placeholders(1, chunk.len())
                        ),
                        &params,
                    )? {
                        products.insert(r.text(0)?, (r.text(1)?, r.text(2)?, r.opt_int(3)?));
                    }
                }
                ranked.retain(|r| products.contains_key(&r.0));
                ranked.truncate(MAX_ITEMS as usize);
                let all_names: Vec<String> = ranked.iter().flat_map(|r| r.3.clone()).collect();
                let people = names(c, &all_names)?;
                let items = ranked
                    .into_iter()
                    .filter_map(|(pid, n, _, fs)| {
                        let (merchant_id, name, min_price_fen) = products.remove(&pid)?;
                        Some(RecommendedProduct {
                            product_id: ProductId::from_row(pid),
                            merchant_id: MerchantId::from_row(merchant_id),
                            name,
                            min_price_fen: min_price_fen.map(Fen::new),
                            friends: n,
                            reason: format!("{n} 位好友推荐"),
                            friend_names: fs.iter().filter_map(|f| people.get(f).cloned()).collect(),
                        })
                    })
                    .collect();
                Ok(Suggestions { items })
            })
            .await
    }

    /// People the caller may know: friends of friends and fellow community members.
    pub async fn people_you_may_know(
        &self,
        who: &Principal,
    ) -> AppResult<Suggestions<SuggestedPerson>> {
        let me = who.account_id.clone();
        self.db
            .read(move |c| {
                let circle = Circle::load(c, Some(&me))?;
                let mut mutual: HashMap<String, i64> = HashMap::new();
                for r in c.query(
                    &format!(
                        "SELECT g1.followee_id, COUNT(DISTINCT g1.follower_id) FROM follows g1
                         JOIN follows g2 ON g2.follower_id = g1.followee_id AND g2.followee_id = g1.follower_id
                         WHERE g1.follower_id IN ({FRIENDS_OF_1})
                         GROUP BY g1.followee_id"
                    ),
                    args![&me],
                )? {
                    mutual.insert(r.text(0)?, r.int(1)?);
                }
                let mut shared: HashMap<String, i64> = HashMap::new();
                for r in c.query(
                    "SELECT m2.account_id, COUNT(*) FROM community_members m1
                     JOIN community_members m2 ON m2.community_id = m1.community_id AND m2.state = 'active'
                     WHERE m1.account_id = $1 AND m1.state = 'active'
                     GROUP BY m2.account_id",
                    args![&me],
                )? {
                    shared.insert(r.text(0)?, r.int(1)?);
                }
                let candidates: HashSet<&String> = mutual.keys().chain(shared.keys()).collect();
                let mut ranked: Vec<(String, i64, i64)> = candidates
                    .into_iter()
                    .filter(|x| {
                        **x != me
                            && !circle.friends.contains(*x)
                            && !circle.followees.contains(*x)
                            && !circle.blocked.contains(*x)
                    })
                    .map(|x| {
                        (
                            x.clone(),
                            mutual.get(x).copied().unwrap_or(0),
                            shared.get(x).copied().unwrap_or(0),
                        )
                    })
                    .collect();
                ranked.sort_by(|a, b| {
                    (2 * b.1 + b.2)
                        .cmp(&(2 * a.1 + a.2))
                        .then(b.1.cmp(&a.1))
                        .then(a.0.cmp(&b.0))
                });
                ranked.truncate(MAX_ITEMS as usize);
                let ids: Vec<String> = ranked.iter().map(|r| r.0.clone()).collect();
                let people = names(c, &ids)?;
                let items = ranked
                    .into_iter()
                    .filter_map(|(id, m, s)| {
                        let mut reason = Vec::new();
                        if m > 0 {
                            reason.push(format!("{m} 位共同好友"));
                        }
                        if s > 0 {
                            reason.push(format!("同在 {s} 个社群"));
                        }
                        Some(SuggestedPerson {
                            person: people.get(&id)?.clone(),
                            mutual_friends: m,
                            shared_communities: s,
                            reason: reason.join(" · "),
                        })
                    })
                    .collect();
                Ok(Suggestions { items })
            })
            .await
    }
}
