//! 社区团购: leaders (apply; the merchant's staff decide, set the level, suspend and
//! resume), choosing a leader (ranked nearby list, my leader, its history), 接龙 batches
//! (open, list, join, the 接龙 list), pick lists and consignments delivered. A leader
//! redeems pickup codes at their point through the clerk route
//! (`/api/v1/clerk/stores/{store_id}/pickups/redeem`, the point's `store_id`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::neighbourhood::{
    Batch, BatchInput, BatchItemInput, BatchTerms, Helper, JoinInput, JoinLine, JoinListEntry,
    Joined, Leader, LeaderChange, LeaderChoice, LeaderInput, LeaderProduct, LeaderProductInput,
    LeaderStatement, NearbyLeader, PickList,
};
use kith_domain::store::OpeningWindow;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiQuery, Auth, MaybeAuth};
use crate::ids::{AccountId, BatchId, LeaderId, MerchantId};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(apply, list_leaders))
        .routes(routes!(my_leaderships))
        .routes(routes!(approve))
        .routes(routes!(refuse))
        .routes(routes!(suspend))
        .routes(routes!(resume))
        .routes(routes!(set_level))
        .routes(routes!(nearby))
        .routes(routes!(choose, my_leader))
        .routes(routes!(my_leader_history))
        .routes(routes!(batch_terms, set_batch_terms))
        .routes(routes!(create_batch, list_batches))
        .routes(routes!(get_batch))
        .routes(routes!(join_batch, batch_joins))
        .routes(routes!(pick_lists))
        .routes(routes!(deliver))
        .routes(routes!(cut_off_now))
        .routes(routes!(leader_pick_list))
        .routes(routes!(add_helper, list_helpers))
        .routes(routes!(remove_helper))
        .routes(routes!(batch_statements))
        .routes(routes!(leader_products, set_leader_products))
        .routes(routes!(leader_open_batch, leader_batches))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaderBody {
    /// The pickup point's name (1–64 characters; unique among the merchant's stores).
    #[schema(min_length = 1, max_length = 64)]
    pub point_name: Option<String>,
    /// 4–200 characters.
    #[schema(min_length = 4, max_length = 200)]
    pub address: Option<String>,
    #[schema(minimum = -90, maximum = 90)]
    pub latitude: Option<f64>,
    #[schema(minimum = -180, maximum = 180)]
    pub longitude: Option<f64>,
    pub opening_hours: Option<Vec<OpeningWindow>>,
    /// Orders the point can hold at once, 1–10000 (default 100).
    #[schema(minimum = 1, maximum = 10000)]
    pub capacity: Option<i64>,
}

/// Apply to be the merchant's leader (团长) with a pickup point.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/leaders", tag = "neighbourhood", params(MerchantId),
    request_body = LeaderBody, security(("bearer" = [])),
    responses((status = 201, body = Leader), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "already applied or leading for this merchant", body = Problem), (status = 422, body = Problem)))]
async fn apply(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<LeaderBody>,
) -> ApiResult<(StatusCode, Json<Leader>)> {
    let input = LeaderInput {
        point_name: b.point_name,
        address: b.address,
        latitude: b.latitude,
        longitude: b.longitude,
        opening_hours: b.opening_hours,
        capacity: b.capacity,
    };
    Ok((
        StatusCode::CREATED,
        Json(s.app.apply_leader(&p, &mid, input).await?),
    ))
}

/// `?status=`: only leaders in this state.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LeaderQuery {
    /// `applied`, `approved`, `refused` or `suspended`.
    pub status: Option<String>,
}

/// The merchant's leaders and applications, newest first (staff).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/leaders", tag = "neighbourhood", params(MerchantId, LeaderQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Leader>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_leaders(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<LeaderQuery>,
) -> ApiResult<Json<Vec<Leader>>> {
    Ok(Json(
        s.app
            .merchant_leaders(&p, &mid, q.status.as_deref())
            .await?,
    ))
}

/// The caller's applications and leaderships, at every merchant.
#[utoipa::path(get, path = "/api/v1/me/leaderships", tag = "neighbourhood", security(("bearer" = [])),
    responses((status = 200, body = Vec<Leader>), (status = 401, body = Problem)))]
async fn my_leaderships(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Vec<Leader>>> {
    Ok(Json(s.app.my_leaderships(&p).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelBody {
    /// The leader's commission rate in basis points: with the plan's levels and rebate,
    /// within its cap.
    #[schema(minimum = 0, maximum = 10000)]
    pub rate_bp: i64,
}

/// Approve an application at a level: the point becomes a store, the leader its clerk.
#[utoipa::path(post, path = "/api/v1/leaders/{leader_id}/approve", tag = "neighbourhood", params(LeaderId),
    request_body = LevelBody, security(("bearer" = [])),
    responses((status = 200, body = Leader), (status = 401, body = Problem), (status = 404, description = "no such leader, or another merchant's", body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn approve(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: LeaderId,
    ApiJson(b): ApiJson<LevelBody>,
) -> ApiResult<Json<Leader>> {
    Ok(Json(s.app.approve_leader(&p, &id, b.rate_bp).await?))
}

/// Refuse an application.
#[utoipa::path(post, path = "/api/v1/leaders/{leader_id}/refuse", tag = "neighbourhood", params(LeaderId),
    security(("bearer" = [])),
    responses((status = 200, body = Leader), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn refuse(State(s): State<AppState>, Auth(p): Auth, id: LeaderId) -> ApiResult<Json<Leader>> {
    Ok(Json(s.app.refuse_leader(&p, &id).await?))
}

/// Suspend a leader: no joins at their point, no redemptions there.
#[utoipa::path(post, path = "/api/v1/leaders/{leader_id}/suspend", tag = "neighbourhood", params(LeaderId),
    security(("bearer" = [])),
    responses((status = 200, body = Leader), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn suspend(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: LeaderId,
) -> ApiResult<Json<Leader>> {
    Ok(Json(s.app.suspend_leader(&p, &id).await?))
}

/// Resume a suspended leader.
#[utoipa::path(post, path = "/api/v1/leaders/{leader_id}/resume", tag = "neighbourhood", params(LeaderId),
    security(("bearer" = [])),
    responses((status = 200, body = Leader), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn resume(State(s): State<AppState>, Auth(p): Auth, id: LeaderId) -> ApiResult<Json<Leader>> {
    Ok(Json(s.app.resume_leader(&p, &id).await?))
}

/// Set a leader's level (commission rate).
#[utoipa::path(put, path = "/api/v1/leaders/{leader_id}/level", tag = "neighbourhood", params(LeaderId),
    request_body = LevelBody, security(("bearer" = [])),
    responses((status = 200, body = Leader), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn set_level(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: LeaderId,
    ApiJson(b): ApiJson<LevelBody>,
) -> ApiResult<Json<Leader>> {
    Ok(Json(s.app.set_leader_level(&p, &id, b.rate_bp).await?))
}

/// `?latitude=&longitude=`: the caller's position (both or neither).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PositionQuery {
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// The merchant's leaders the caller may choose: friends who pick up there first, then
/// members of the caller's communities, then the nearest.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/leaders/nearby", tag = "neighbourhood", params(MerchantId, PositionQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<NearbyLeader>), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn nearby(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiQuery(q): ApiQuery<PositionQuery>,
) -> ApiResult<Json<Vec<NearbyLeader>>> {
    let position = match (q.latitude, q.longitude) {
        (Some(a), Some(b)) => Some((a, b)),
        (None, None) => None,
        (None, _) => {
            return Err(
                kith_app::AppError::invalid("latitude", "is required with longitude").into(),
            );
        }
        (_, None) => {
            return Err(
                kith_app::AppError::invalid("longitude", "is required with latitude").into(),
            );
        }
    };
    Ok(Json(s.app.nearby_leaders(&p, &mid, position).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChooseBody {
    pub leader_id: String,
}

/// Choose (or change) the caller's leader at this merchant; every change is recorded.
#[utoipa::path(put, path = "/api/v1/merchants/{merchant_id}/my-leader", tag = "neighbourhood", params(MerchantId),
    request_body = ChooseBody, security(("bearer" = [])),
    responses((status = 200, body = LeaderChoice), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "the leader is suspended", body = Problem), (status = 422, body = Problem)))]
async fn choose(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<ChooseBody>,
) -> ApiResult<Json<LeaderChoice>> {
    Ok(Json(s.app.choose_leader(&p, &mid, &b.leader_id).await?))
}

/// The caller's leader at this merchant (`null`: none chosen yet).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/my-leader", tag = "neighbourhood", params(MerchantId),
    security(("bearer" = [])),
    responses((status = 200, body = Option<LeaderChoice>), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn my_leader(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<Option<LeaderChoice>>> {
    Ok(Json(s.app.my_leader(&p, &mid).await?))
}

/// Every choice and change of the caller's leader at this merchant, oldest first.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/my-leader/history", tag = "neighbourhood", params(MerchantId),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<LeaderChange>), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn my_leader_history(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<Vec<LeaderChange>>> {
    Ok(Json(s.app.my_leader_history(&p, &mid).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchItemBody {
    pub sku_id: String,
    /// The batch price: more than 0, at most the list price.
    pub price_fen: i64,
    /// Units one member may take, 1–999.
    pub per_member_limit: i64,
    /// Units the batch may sell, 1–100000.
    pub quantity_limit: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// 1–60 characters.
    #[schema(min_length = 1, max_length = 60)]
    pub title: String,
    /// RFC 3339; default now.
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    /// RFC 3339: joins close; orders are fixed (or the batch fails) then.
    #[schema(format = DateTime)]
    pub cutoff_at: String,
    /// YYYY-MM-DD (Beijing), on or after the cut-off's day.
    #[schema(format = Date)]
    pub pickup_date: String,
    /// Paid units needed at the cut-off, else the batch fails and is refunded (default 0).
    #[schema(minimum = 0)]
    pub min_total_units: Option<i64>,
    pub items: Vec<BatchItemBody>,
}

/// Open a 接龙 batch (owner or manager).
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/batches", tag = "neighbourhood", params(MerchantId),
    request_body = BatchBody, security(("bearer" = [])),
    responses((status = 201, body = Batch), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_batch(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<BatchBody>,
) -> ApiResult<(StatusCode, Json<Batch>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_batch(&p, &mid, b.into_input()).await?),
    ))
}

impl BatchBody {
    fn into_input(self) -> BatchInput {
        BatchInput {
            title: self.title,
            starts_at: self.starts_at,
            cutoff_at: self.cutoff_at,
            pickup_date: self.pickup_date,
            min_total_units: self.min_total_units,
            items: self
                .items
                .into_iter()
                .map(|i| BatchItemInput {
                    sku_id: i.sku_id,
                    price_fen: i.price_fen,
                    per_member_limit: i.per_member_limit,
                    quantity_limit: i.quantity_limit,
                })
                .collect(),
        }
    }
}

/// A merchant's 接龙 batches, newest first (public).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/batches", tag = "neighbourhood", params(MerchantId),
    responses((status = 200, body = Vec<Batch>), (status = 404, body = Problem)))]
async fn list_batches(State(s): State<AppState>, mid: MerchantId) -> ApiResult<Json<Vec<Batch>>> {
    Ok(Json(s.app.batches(&mid).await?))
}

/// A 接龙 batch (public): items with units left, the countdown to its cut-off.
#[utoipa::path(get, path = "/api/v1/batches/{batch_id}", tag = "neighbourhood", params(BatchId),
    responses((status = 200, body = Batch), (status = 404, body = Problem)))]
async fn get_batch(State(s): State<AppState>, id: BatchId) -> ApiResult<Json<Batch>> {
    Ok(Json(s.app.batch(&id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinItemBody {
    pub sku_id: String,
    /// 1–999.
    #[schema(minimum = 1, maximum = 999)]
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinBody {
    #[schema(min_items = 1, max_items = 20)]
    pub items: Vec<JoinItemBody>,
}

/// Join a batch: an order at the caller's chosen leader's point, to pay before the cut-off.
/// Refused (409, with the reason) after the cut-off, at a suspended leader's point, without
/// a chosen leader, over the units left or the member's limit.
#[utoipa::path(post, path = "/api/v1/batches/{batch_id}/joins", tag = "neighbourhood", params(BatchId),
    request_body = JoinBody, security(("bearer" = [])),
    responses((status = 201, body = Joined), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn join_batch(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: BatchId,
    ApiJson(b): ApiJson<JoinBody>,
) -> ApiResult<(StatusCode, Json<Joined>)> {
    let input = JoinInput {
        items: b
            .items
            .into_iter()
            .map(|i| JoinLine {
                sku_id: i.sku_id,
                quantity: i.quantity,
            })
            .collect(),
    };
    Ok((
        StatusCode::CREATED,
        Json(s.app.join_batch(&p, &id, input).await?),
    ))
}

/// The 接龙 list in join order; names only to the member, their friends and the staff.
#[utoipa::path(get, path = "/api/v1/batches/{batch_id}/joins", tag = "neighbourhood", params(BatchId),
    responses((status = 200, body = Vec<JoinListEntry>), (status = 404, body = Problem)))]
async fn batch_joins(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    id: BatchId,
) -> ApiResult<Json<Vec<JoinListEntry>>> {
    Ok(Json(s.app.batch_joins(p.as_ref(), &id).await?))
}

/// Pick lists of a batch, one per leader (staff).
#[utoipa::path(get, path = "/api/v1/batches/{batch_id}/pick-lists", tag = "neighbourhood", params(BatchId),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<PickList>), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn pick_lists(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: BatchId,
) -> ApiResult<Json<Vec<PickList>>> {
    Ok(Json(s.app.batch_pick_lists(&p, &id).await?))
}

/// Mark a leader's consignment of a fixed batch delivered: its orders are ready for pickup
/// (codes issued, buyers told). Repeating it changes nothing.
#[utoipa::path(post, path = "/api/v1/batches/{batch_id}/leaders/{leader_id}/delivered", tag = "neighbourhood", params(BatchId, LeaderId),
    security(("bearer" = [])),
    responses((status = 200, body = PickList), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn deliver(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: BatchId,
    lid: LeaderId,
) -> ApiResult<Json<PickList>> {
    Ok(Json(s.app.deliver_consignment(&p, &id, &lid).await?))
}

/// Close an open batch now (截单) instead of at its cut-off: the merchant's staff for any
/// batch of the shop, a leader for one they opened. It is fixed (paid units reach the
/// minimum) or fails and refunds, exactly as at the cut-off; unpaid joins are cancelled.
#[utoipa::path(post, path = "/api/v1/batches/{batch_id}/cutoff", tag = "neighbourhood", params(BatchId),
    security(("bearer" = [])),
    responses((status = 200, body = Batch), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn cut_off_now(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: BatchId,
) -> ApiResult<Json<Batch>> {
    Ok(Json(s.app.cut_off_batch_now(&p, &id).await?))
}

/// A leader's own pick list for a batch.
#[utoipa::path(get, path = "/api/v1/leaders/{leader_id}/batches/{batch_id}/pick-list", tag = "neighbourhood", params(LeaderId, BatchId),
    security(("bearer" = [])),
    responses((status = 200, body = PickList), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn leader_pick_list(
    State(s): State<AppState>,
    Auth(p): Auth,
    lid: LeaderId,
    id: BatchId,
) -> ApiResult<Json<PickList>> {
    Ok(Json(s.app.leader_pick_list(&p, &lid, &id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelperBody {
    /// The member to name as a helper at the leader's point.
    pub account_id: String,
}

/// The leader names a helper: a member who may redeem pickup codes at the leader's point
/// (and only there). Idempotent.
#[utoipa::path(post, path = "/api/v1/leaders/{leader_id}/helpers", tag = "neighbourhood", params(LeaderId),
    request_body = HelperBody, security(("bearer" = [])),
    responses((status = 200, body = Vec<Helper>), (status = 401, body = Problem), (status = 404, description = "not the caller's leadership", body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_helper(
    State(s): State<AppState>,
    Auth(p): Auth,
    lid: LeaderId,
    ApiJson(b): ApiJson<HelperBody>,
) -> ApiResult<Json<Vec<Helper>>> {
    Ok(Json(
        s.app.add_leader_helper(&p, &lid, &b.account_id).await?,
    ))
}

/// The leader's helpers (the leader, or the merchant's staff).
#[utoipa::path(get, path = "/api/v1/leaders/{leader_id}/helpers", tag = "neighbourhood", params(LeaderId),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Helper>), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn list_helpers(
    State(s): State<AppState>,
    Auth(p): Auth,
    lid: LeaderId,
) -> ApiResult<Json<Vec<Helper>>> {
    Ok(Json(s.app.leader_helpers(&p, &lid).await?))
}

/// The leader removes a helper: they redeem nothing at the point any more.
#[utoipa::path(delete, path = "/api/v1/leaders/{leader_id}/helpers/{account_id}", tag = "neighbourhood", params(LeaderId, AccountId),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Helper>), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn remove_helper(
    State(s): State<AppState>,
    Auth(p): Auth,
    lid: LeaderId,
    aid: AccountId,
) -> ApiResult<Json<Vec<Helper>>> {
    Ok(Json(s.app.remove_leader_helper(&p, &lid, &aid).await?))
}

/// A batch's statements per leader — orders, units, GMV, refunds, pickup rate, the leader's
/// commission by state (to the fen of their balances): all of them for the merchant's
/// staff, their own for a leader.
#[utoipa::path(get, path = "/api/v1/batches/{batch_id}/statements", tag = "neighbourhood", params(BatchId),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<LeaderStatement>), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn batch_statements(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: BatchId,
) -> ApiResult<Json<Vec<LeaderStatement>>> {
    Ok(Json(s.app.batch_statements(&p, &id).await?))
}

/// Staff: the rule for 接龙 orders nobody picked up (days after delivery; refund or keep).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/batch-terms", tag = "neighbourhood",
    params(MerchantId), security(("bearer" = [])),
    responses((status = 200, body = BatchTerms), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn batch_terms(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<BatchTerms>> {
    Ok(Json(s.app.batch_terms(&p, &mid).await?))
}

/// Staff: set the rule for 接龙 orders nobody picked up, applied when each consignment's
/// deadline comes.
#[utoipa::path(put, path = "/api/v1/merchants/{merchant_id}/batch-terms", tag = "neighbourhood",
    params(MerchantId), request_body = BatchTerms, security(("bearer" = [])),
    responses((status = 200, body = BatchTerms), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_batch_terms(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<BatchTerms>,
) -> ApiResult<Json<BatchTerms>> {
    Ok(Json(s.app.set_batch_terms(&p, &mid, b).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaderProductsBody {
    /// The whole list (at most 100; empty: leaders open no batches).
    #[schema(max_items = 100)]
    pub items: Vec<LeaderProductInput>,
}

/// What the merchant lets its leaders sell in the batches they open: for its staff and its
/// approved leaders.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/leader-products", tag = "neighbourhood",
    params(MerchantId), security(("bearer" = [])),
    responses((status = 200, body = Vec<LeaderProduct>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn leader_products(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
) -> ApiResult<Json<Vec<LeaderProduct>>> {
    Ok(Json(s.app.leader_products(&p, &mid).await?))
}

/// Staff: set what leaders may sell — each SKU with the lowest batch price and the most
/// units per batch. Batches already open keep their terms.
#[utoipa::path(put, path = "/api/v1/merchants/{merchant_id}/leader-products", tag = "neighbourhood",
    params(MerchantId), request_body = LeaderProductsBody, security(("bearer" = [])),
    responses((status = 200, body = Vec<LeaderProduct>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_leader_products(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<LeaderProductsBody>,
) -> ApiResult<Json<Vec<LeaderProduct>>> {
    Ok(Json(s.app.set_leader_products(&p, &mid, b.items).await?))
}

/// The leader opens a 接龙 at their own point, of products the merchant allows (at or above
/// each floor price, within each most-units). Its orders are picked up at that point.
#[utoipa::path(post, path = "/api/v1/leaders/{leader_id}/batches", tag = "neighbourhood", params(LeaderId),
    request_body = BatchBody, security(("bearer" = [])),
    responses((status = 201, body = Batch), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "the point is not approved, or the merchant is not trading", body = Problem),
              (status = 422, body = Problem)))]
async fn leader_open_batch(
    State(s): State<AppState>,
    Auth(p): Auth,
    lid: LeaderId,
    ApiJson(b): ApiJson<BatchBody>,
) -> ApiResult<(StatusCode, Json<Batch>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.leader_open_batch(&p, &lid, b.into_input()).await?),
    ))
}

/// The batches a leader opened, newest first: for the leader and the merchant's staff.
#[utoipa::path(get, path = "/api/v1/leaders/{leader_id}/batches", tag = "neighbourhood", params(LeaderId),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Batch>), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn leader_batches(
    State(s): State<AppState>,
    Auth(p): Auth,
    lid: LeaderId,
) -> ApiResult<Json<Vec<Batch>>> {
    Ok(Json(s.app.leader_batches(&p, &lid).await?))
}
