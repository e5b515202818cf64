//! The home page as a shop app's: the search bar and the categories on top for everyone;
//! for a member the 好友推荐 shelf, then — when their feed is still empty — people to
//! follow and communities to join, then the feed; for a visitor what kith is and the open
//! shops. A category's page lists its products across the shops; following someone from
//! the home page comes back to it.

use askama::Template;
use kith_app::discovery::home::{CategoryTile, CommunitySuggestion, PersonToFollow, ProductCard};
use kith_app::discovery::recommend::RecommendedProduct;
use kith_app::social::posts::Post;

use crate::pages::filters;

use super::*;

/// People and communities suggested to a newcomer, at most.
const SUGGESTIONS: usize = 6;

#[derive(Template)]
#[template(path = "member/feed.html")]
pub(super) struct FeedPage {
    pub(super) c: Ctx,
    pub(super) categories: Vec<CategoryTile>,
    pub(super) recommended: Vec<RecommendedProduct>,
    /// The first page of the feed is empty: show people and communities instead.
    pub(super) newcomer: bool,
    pub(super) people: Vec<PersonToFollow>,
    pub(super) communities: Vec<CommunitySuggestion>,
    pub(super) posts: Vec<Post>,
    pub(super) next: Option<String>,
}

#[derive(Template)]
#[template(path = "member/home.html")]
pub(super) struct VisitorHomePage {
    pub(super) c: Ctx,
    pub(super) categories: Vec<CategoryTile>,
    pub(super) shops: Vec<kith_app::commerce::browse::ShopCard>,
}

#[derive(Template)]
#[template(path = "member/category.html")]
pub(super) struct CategoryPage {
    pub(super) c: Ctx,
    pub(super) categories: Vec<CategoryTile>,
    pub(super) name: String,
    pub(super) products: Vec<ProductCard>,
    pub(super) next: Option<String>,
}

pub(super) async fn home(
    State(s): State<Web>,
    c: Ctx,
    Query(q): Query<CursorQuery>,
) -> WebResult<Response> {
    let first = q.cursor.as_deref().is_none_or(str::is_empty);
    // A visitor without an account is shown what kith is and the open shops, not a wall.
    let Some(who) = c.viewer.as_ref().map(|v| v.principal.clone()) else {
        let categories = s.app.home_categories().await?;
        let shops = s.app.trading_merchants().await?;
        return Ok(render(&VisitorHomePage {
            c,
            categories,
            shops,
        })?
        .into_response());
    };
    let p = s.app.feed(&who, page(q.cursor.as_deref())?).await?;
    // The shelves are on the first page only; later pages are more of the feed.
    let (categories, recommended) = if first {
        (
            s.app.home_categories().await?,
            s.app.recommended_products(&who).await?.items,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let newcomer = first && p.items.is_empty();
    let (people, communities) = if newcomer {
        (
            s.app.people_to_follow(&who, SUGGESTIONS).await?,
            s.app.communities_to_join(&who, SUGGESTIONS).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(render(&FeedPage {
        c,
        categories,
        recommended,
        newcomer,
        people,
        communities,
        posts: p.items,
        next: p.next_cursor,
    })?
    .into_response())
}

/// A category's products across the shops, newest first; public like the shops.
pub(super) async fn category(
    State(s): State<Web>,
    c: Ctx,
    Path(name): Path<String>,
    Query(q): Query<CursorQuery>,
) -> WebResult<Response> {
    let list = s
        .app
        .category_products(&name, page(q.cursor.as_deref())?)
        .await
        // A name no category could have is a page that does not exist.
        .map_err(|e| match e {
            AppError::Invalid { .. } => AppError::NotFound("category"),
            e => e,
        })?;
    let categories = s.app.home_categories().await?;
    Ok(render(&CategoryPage {
        c,
        categories,
        name,
        products: list.items,
        next: list.next_cursor,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub(super) struct FollowForm {
    back: Option<String>,
}

/// Follows someone suggested on the home page and comes back to it, saying so.
pub(super) async fn follow(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<FollowForm>,
) -> WebResult<Response> {
    let id = AccountId::parse_or_404(&id)?;
    s.app.follow(c.principal()?, &id).await?;
    let back = local(f.back.as_deref(), "/");
    let sep = if back.contains('?') { '&' } else { '?' };
    Ok(see(format!("{back}{sep}done=followed")))
}
