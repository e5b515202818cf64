//! The shelves of a shop app's home page, beside the feed and the friends' recommendations
//! ([`crate::discovery::recommend`]):
//!
//! - **Categories** ([`App::home_categories`]): merchants file products under categories of
//!   their own; the home shows the category *names* that have products on show (active, of
//!   an approved merchant) in any shop, by how many, each with its newest product's picture.
//!   [`App::category_products`] lists one name's products across the shops, newest first.
//!   Both are public: a visitor browses them as a member does.
//! - **People to follow** ([`App::people_to_follow`]): the people the member may know
//!   (friends of friends, fellow community members), then — for a newcomer who has none —
//!   the most followed members, with their follower counts. Never the member, someone
//!   already followed, a platform admin or anyone across a block.
//! - **Communities to join** ([`App::communities_to_join`]): top-level communities that
//!   take members (open or by approval) and the member is not in, those with friends in
//!   them first, then the largest; a shop's community only while the shop trades.

use kith_domain::{BoundedText, Fen};
use serde::Serialize;

use super::store::home::{category_products, category_tiles, joinable_communities, most_followed};
use crate::platform::ids::{CommunityId, MerchantId, ProductId};
use crate::platform::page::{Direction, Page, PageRequest};
use crate::social::posts::PersonRef;
use crate::{App, AppResult, Principal};

/// Most category tiles on the home page.
pub const MAX_TILES: i64 = 12;

/// A category name with products on show, as a tile on the home page.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryTile {
    pub name: String,
    /// Products on show under this name, in every shop.
    pub products: i64,
    /// The picture of its newest product that has one.
    pub image: Option<String>,
}

/// A product on show, as a card in a list.
#[derive(Debug, Clone, Serialize)]
pub struct ProductCard {
    pub id: ProductId,
    pub merchant_id: MerchantId,
    pub shop_name: String,
    pub name: String,
    /// The first of its images.
    pub image: Option<String>,
    /// Its lowest list price (none before it has a SKU).
    pub min_price_fen: Option<Fen>,
    /// 已售: units bought, less those refunded.
    pub sold: i64,
}

/// Someone to follow, and why.
#[derive(Debug, Clone, Serialize)]
pub struct PersonToFollow {
    pub person: PersonRef,
    pub mutual_friends: i64,
    pub shared_communities: i64,
    /// How many follow them (only counted for the most followed, when the member has no
    /// one they may know; 0 otherwise).
    pub followers: i64,
}

/// A community the member may join.
#[derive(Debug, Clone, Serialize)]
pub struct CommunitySuggestion {
    pub id: CommunityId,
    pub name: String,
    pub description: String,
    /// `open` or `approval`.
    pub join_policy: String,
    /// The shop that runs it, if one does.
    pub shop_name: Option<String>,
    pub member_count: i64,
    /// The member's friends among its active members.
    pub friends_in_it: i64,
}

impl App {
    /// The category names with products on show, most products first (at most
    /// [`MAX_TILES`]).
    pub async fn home_categories(&self) -> AppResult<Vec<CategoryTile>> {
        self.db.read(|c| category_tiles(c, MAX_TILES)).await
    }

    /// The products on show filed under the category name `name` in any shop, newest
    /// first; a name of 1–32 characters (as categories are named), else 422.
    pub async fn category_products(
        &self,
        name: &str,
        page: PageRequest,
    ) -> AppResult<Page<ProductCard>> {
        let name = BoundedText::parse("category", name, 1, 32)?
            .as_str()
            .to_owned();
        let after = page.keyset(Direction::NewestFirst, "p.created_at", "p.id", 2);
        let (limit, fetch) = (page.limit, page.fetch());
        self.db
            .read(move |c| {
                let rows = category_products(c, &name, &after, fetch)?;
                Ok(Page::from_keyed(rows, limit, |p| p.id.as_str()))
            })
            .await
    }

    /// Up to `limit` people for the member to follow: those they may know, then the most
    /// followed (see the module docs).
    pub async fn people_to_follow(
        &self,
        who: &Principal,
        limit: usize,
    ) -> AppResult<Vec<PersonToFollow>> {
        let mut out: Vec<PersonToFollow> = self
            .people_you_may_know(who)
            .await?
            .items
            .into_iter()
            .take(limit)
            .map(|s| PersonToFollow {
                person: s.person,
                mutual_friends: s.mutual_friends,
                shared_communities: s.shared_communities,
                followers: 0,
            })
            .collect();
        if out.len() < limit {
            let me = who.account_id.clone();
            // Enough to fill up after skipping those already listed.
            let want = (2 * limit) as i64;
            let popular = self.db.read(move |c| most_followed(c, &me, want)).await?;
            for (person, followers) in popular {
                if out.len() >= limit {
                    break;
                }
                if out.iter().any(|p| p.person.id == person.id) {
                    continue;
                }
                out.push(PersonToFollow {
                    person,
                    mutual_friends: 0,
                    shared_communities: 0,
                    followers,
                });
            }
        }
        Ok(out)
    }

    /// Up to `limit` communities the member may join (see the module docs).
    pub async fn communities_to_join(
        &self,
        who: &Principal,
        limit: usize,
    ) -> AppResult<Vec<CommunitySuggestion>> {
        let me = who.account_id.clone();
        self.db
            .read(move |c| joinable_communities(c, &me, limit as i64))
            .await
    }
}
