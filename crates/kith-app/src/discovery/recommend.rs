//! Trust discovery beyond search: social proof on a product, product recommendations from
//! friends, people the member may know, and the member's discovery privacy setting.
//!
//! - **Social proof** ([`App::social_proof`]): how many of my friends bought the product
//!   (paid and not cancelled; the same count product search ranks by, one rule:
//!   `friend_purchases_of_1` in discovery's store), the names of up to three of
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

use serde::Serialize;

use super::store::recommend::{
    ProductFacts, active_products, blocked_either_way, friend_buyers, friend_posts_tagging,
    friend_signals, mutual_friend_counts, names, product_listed, proof_reviews,
    shared_community_counts, show_purchases_setting, upsert_settings,
};
use crate::discovery::search::Circle;
use crate::platform::ids::{MerchantId, ProductId, ReviewId};
use crate::social::posts::{PersonRef, Post};
use crate::{App, AppError, AppResult, Principal, platform::outbox};

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
    /// Its picture: the first of its images, if it has any.
    pub image: Option<String>,
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

impl App {
    /// The caller's discovery settings (defaults when never set).
    pub async fn discovery_settings(&self, who: &Principal) -> AppResult<DiscoverySettings> {
        let me = who.account_id.clone();
        self.db
            .read(move |c| {
                let show = show_purchases_setting(c, &me)?.is_none_or(|v| v != 0);
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
                upsert_settings(c, &me, s.show_purchases_to_friends, now)?;
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
                if !product_listed(c, &pid, &mid)? {
                    return Err(AppError::NotFound("product"));
                }
                let buyers = friend_buyers(c, &me, &pid)?;
                let friends_bought = buyers.len() as i64;
                let mut named = Vec::new();
                for (buyer, may_name) in &buyers {
                    if *may_name && named.len() < MAX_NAMES {
                        named.push(buyer.clone());
                    }
                }
                let by_id = names(c, &named)?;
                let friend_names = named.iter().filter_map(|i| by_id.get(i).cloned()).collect();
                let reviews = proof_reviews(c, &me, &pid)?;
                let friend_posts = friend_posts_tagging(c, &me, &pid)?;
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
                // (product, friend, strength)
                let mut per_product: HashMap<String, HashMap<String, i64>> = HashMap::new();
                for (product, friend, s) in friend_signals(c, &me)? {
                    let strength = per_product
                        .entry(product)
                        .or_default()
                        .entry(friend)
                        .or_insert(0);
                    *strength = (*strength).max(s);
                }
                // Blocked friends do not count (a block may stand without an unfollow).
                let blocked = blocked_either_way(c, &me)?;
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
                let mut products: HashMap<String, ProductFacts> = HashMap::new();
                for chunk in ids.chunks(500) {
                    products.extend(active_products(c, chunk)?);
                }
                ranked.retain(|r| products.contains_key(&r.0));
                ranked.truncate(MAX_ITEMS as usize);
                let all_names: Vec<String> = ranked.iter().flat_map(|r| r.3.clone()).collect();
                let people = names(c, &all_names)?;
                let items = ranked
                    .into_iter()
                    .filter_map(|(pid, n, _, fs)| {
                        let (merchant_id, name, min_price_fen, image) = products.remove(&pid)?;
                        Some(RecommendedProduct {
                            product_id: ProductId::from_row(pid),
                            merchant_id: MerchantId::from_row(merchant_id),
                            name,
                            min_price_fen: min_price_fen.map(Fen::new),
                            image,
                            friends: n,
                            reason: format!("{n} 位好友推荐"),
                            friend_names: fs
                                .iter()
                                .filter_map(|f| people.get(f).cloned())
                                .collect(),
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
                let mutual = mutual_friend_counts(c, &me)?;
                let shared = shared_community_counts(c, &me)?;
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
