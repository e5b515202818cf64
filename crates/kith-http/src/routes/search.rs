//! Search: posts, products, communities and people, scoped to the caller's circle and
//! ranked by text relevance and social closeness; the "who" view.
//!
//! Ranking of posts: `score = bm25 × closeness × recency × engagement`, where closeness is
//! 3 for a friend (or the searcher), 2 for a fellow member of one of the searcher's
//! communities, 1.5 for a friend of a friend and 1 otherwise; recency is
//! `1 / (1 + age_days / 30)`; engagement is `1 + ln(1 + likes + 2·comments + 3·shares) / 4`.
//! Products rank by `bm25 × (1 + ½·friends who bought it)`, communities by
//! `bm25 × (1 + ½·friends who are members)`, people by `bm25 × closeness`.

use axum::Json;
use axum::extract::State;
use kith_app::discovery::search::{SearchQuery, SearchResults, WhoResults};
use kith_app::platform::page::PageRequest;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiQuery, Auth, MaybeAuth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(who))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// What to look for: Chinese, English, digits, mixed (1–200 characters). Words are
    /// matched as words; quotes, `AND`, `field:` and other operators are plain text.
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
    /// `friends`, `following`, `communities` (my communities) or `everyone` (default).
    /// Anything but `everyone` needs a logged-in caller. Applies to posts and people.
    pub scope: Option<String>,
    /// `posts` (default), `products`, `communities` or `people`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub target: Option<String>,
    /// Items per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

/// Search. Only what the caller may see is matched, counted, ranked or highlighted: a
/// post hidden from them (its visibility, a block either way, moderation) answers as if
/// it did not exist. Results are the best 300 text matches, ranked (see the tag's
/// description for the formula); `total` counts those the caller may see.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchParams),
    responses((status = 200, body = SearchResults),
              (status = 401, description = "a scope other than everyone without logging in", body = Problem),
              (status = 422, description = "empty or over-long q, unknown scope or type, bad limit or cursor", body = Problem)))]
async fn search(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ApiQuery(q): ApiQuery<SearchParams>,
) -> ApiResult<Json<SearchResults>> {
    let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
    let query = SearchQuery::parse(
        q.q.as_deref(),
        q.scope.as_deref(),
        q.target.as_deref(),
        page,
    )?;
    Ok(Json(s.app.search(p.as_ref(), query).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WhoParams {
    /// What to look for (1–200 characters).
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
    /// `friends` (default), `following`, `communities` or `everyone`.
    pub scope: Option<String>,
    /// People to return, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// The "who" view: people (by default the caller's friends) who wrote posts matching `q`
/// that the caller may see, closest first, each with their latest matching post and how
/// many of their posts matched — someone to talk to about it.
#[utoipa::path(get, path = "/api/v1/search/who", tag = "search", params(WhoParams), security(("bearer" = [])),
    responses((status = 200, body = WhoResults), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn who(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<WhoParams>,
) -> ApiResult<Json<WhoResults>> {
    let page = PageRequest::parse(q.limit, None)?;
    let query = SearchQuery::parse(
        q.q.as_deref(),
        Some(q.scope.as_deref().unwrap_or("friends")),
        None,
        page,
    )?;
    let limit = query.page.limit as usize;
    Ok(Json(s.app.search_who(&p, query, limit).await?))
}
