//! Group-buy (拼团): campaigns (merchant staff), groups (open, join, the public group page
//! data, joinable groups), and a member's seats.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::commerce::orders::Address;
use kith_app::group_buy::{Campaign, CampaignInput, Group, MySeat, Seat, SeatInput};
use kith_domain::order::DeliveryMethod;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, Auth};
use crate::ids::{CampaignId, GroupId, MerchantId};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_campaign, list_campaigns))
        .routes(routes!(get_campaign))
        .routes(routes!(end_campaign))
        .routes(routes!(open_group, joinable_groups))
        .routes(routes!(get_group))
        .routes(routes!(join_group))
        .routes(routes!(my_groups))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignBody {
    pub sku_id: String,
    /// Defaults to the product's name (1–60 characters).
    #[schema(min_length = 1, max_length = 60)]
    pub title: Option<String>,
    /// 2–100.
    #[schema(minimum = 2, maximum = 100)]
    pub group_size: i64,
    /// At most the SKU's list price.
    #[schema(minimum = 0)]
    pub group_price_fen: i64,
    /// Leave out: the leader pays the group price; 0: the leader is free (团长免单).
    #[schema(minimum = 0)]
    pub leader_price_fen: Option<i64>,
    /// How long a group gathers once its leader paid: 600 s – 7 days; default 24 h.
    #[schema(minimum = 600, maximum = 604_800)]
    pub duration_secs: Option<i64>,
    /// RFC 3339; default now.
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    /// RFC 3339: after it no new groups open (gathering groups run to their expiry).
    #[schema(format = DateTime)]
    pub ends_at: String,
    /// Seats (units) the campaign may sell: at least the group size.
    #[schema(minimum = 2)]
    pub stock_limit: i64,
    /// Seats one member may hold in the campaign; default 1.
    #[schema(minimum = 1)]
    pub per_member_limit: Option<i64>,
    /// Whether orders earn commission; default: the plan's `group_buy_commission`.
    pub commission: Option<bool>,
    /// The group leader's commission rate on members' orders; default: the plan's.
    #[schema(minimum = 0, maximum = 10000)]
    pub leader_bp: Option<i64>,
}

/// Start a group-buy campaign on one of the merchant's SKUs (owner or manager).
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/group-campaigns", tag = "group-buy", params(MerchantId),
    request_body = CampaignBody, security(("bearer" = [])),
    responses((status = 201, body = Campaign), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_campaign(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    ApiJson(b): ApiJson<CampaignBody>,
) -> ApiResult<(StatusCode, Json<Campaign>)> {
    let input = CampaignInput {
        sku_id: b.sku_id,
        title: b.title,
        group_size: b.group_size,
        group_price_fen: b.group_price_fen,
        leader_price_fen: b.leader_price_fen,
        duration_secs: b.duration_secs,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        stock_limit: b.stock_limit,
        per_member_limit: b.per_member_limit,
        commission: b.commission,
        leader_bp: b.leader_bp,
    };
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_group_campaign(&p, &mid, input).await?),
    ))
}

/// A merchant's group-buy campaigns, newest first (public).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/group-campaigns", tag = "group-buy", params(MerchantId),
    responses((status = 200, body = Vec<Campaign>), (status = 404, body = Problem)))]
async fn list_campaigns(
    State(s): State<AppState>,
    mid: MerchantId,
) -> ApiResult<Json<Vec<Campaign>>> {
    Ok(Json(s.app.group_campaigns(&mid).await?))
}

/// A group-buy campaign (public).
#[utoipa::path(get, path = "/api/v1/group-campaigns/{campaign_id}", tag = "group-buy", params(CampaignId),
    responses((status = 200, body = Campaign), (status = 404, body = Problem)))]
async fn get_campaign(State(s): State<AppState>, id: CampaignId) -> ApiResult<Json<Campaign>> {
    Ok(Json(s.app.group_campaign(&id).await?))
}

/// Stop a campaign: no new groups or seats; groups already gathering fail at their expiry
/// unless they fill.
#[utoipa::path(post, path = "/api/v1/group-campaigns/{campaign_id}/end", tag = "group-buy", params(CampaignId),
    security(("bearer" = [])),
    responses((status = 200, body = Campaign), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn end_campaign(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: CampaignId,
) -> ApiResult<Json<Campaign>> {
    Ok(Json(s.app.end_group_campaign(&p, &id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeatBody {
    pub delivery: DeliveryMethod,
    /// Required for pickup: a store of the merchant that has the stock.
    pub pickup_store_id: Option<String>,
    /// Required for shipping.
    pub address: Option<Address>,
    /// One of the buyer's coupons at this merchant; only a template that allows 拼团
    /// (`allow_group_buy`) is taken, otherwise 409 `coupon_not_for_group_buy`.
    pub coupon_id: Option<String>,
    /// Points to spend, at most, if the shop lets 拼团 orders take points (409
    /// `points_not_for_activity` otherwise; `points` when the buyer holds fewer).
    #[schema(minimum = 0)]
    pub points: Option<i64>,
}

impl From<SeatBody> for SeatInput {
    fn from(b: SeatBody) -> Self {
        SeatInput {
            coupon_id: b.coupon_id,
            points: b.points,
            delivery: b.delivery,
            pickup_store_id: b.pickup_store_id,
            address: b.address,
        }
    }
}

/// Open a group as its leader: the group and the leader's order to pay (at the leader
/// price). The group becomes joinable, and its clock starts, once that order is paid; an
/// unpaid leader's order lapses with the group.
#[utoipa::path(post, path = "/api/v1/group-campaigns/{campaign_id}/groups", tag = "group-buy", params(CampaignId),
    request_body = SeatBody, security(("bearer" = [])),
    responses((status = 201, body = Seat), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "campaign not running, sold out, out of stock, or the member's limit reached", body = Problem),
              (status = 422, body = Problem)))]
async fn open_group(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: CampaignId,
    ApiJson(b): ApiJson<SeatBody>,
) -> ApiResult<(StatusCode, Json<Seat>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.open_group(&p, &id, b.into()).await?),
    ))
}

/// Groups of a campaign that can be joined now, closest to completion first (public).
#[utoipa::path(get, path = "/api/v1/group-campaigns/{campaign_id}/groups", tag = "group-buy", params(CampaignId),
    responses((status = 200, body = Vec<Group>), (status = 404, body = Problem)))]
async fn joinable_groups(State(s): State<AppState>, id: CampaignId) -> ApiResult<Json<Vec<Group>>> {
    Ok(Json(s.app.joinable_groups(&id).await?))
}

/// A group (public): seats paid and left, members' display names, time remaining.
#[utoipa::path(get, path = "/api/v1/groups/{group_id}", tag = "group-buy", params(GroupId),
    responses((status = 200, body = Group), (status = 404, body = Problem)))]
async fn get_group(State(s): State<AppState>, id: GroupId) -> ApiResult<Json<Group>> {
    Ok(Json(s.app.group(&id).await?))
}

/// Join a gathering group: a seat and its order to pay (at the group price), payable until
/// the group's expiry. Refused (409, with the reason) when the group is full, expired,
/// over, not yet opened, led by the caller, already joined, or the member's limit is reached.
#[utoipa::path(post, path = "/api/v1/groups/{group_id}/join", tag = "group-buy", params(GroupId),
    request_body = SeatBody, security(("bearer" = [])),
    responses((status = 201, body = Seat), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
async fn join_group(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: GroupId,
    ApiJson(b): ApiJson<SeatBody>,
) -> ApiResult<(StatusCode, Json<Seat>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.join_group(&p, &id, b.into()).await?),
    ))
}

/// The caller's group-buy seats, newest first.
#[utoipa::path(get, path = "/api/v1/me/groups", tag = "group-buy", security(("bearer" = [])),
    responses((status = 200, body = Vec<MySeat>), (status = 401, body = Problem)))]
async fn my_groups(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Vec<MySeat>>> {
    Ok(Json(s.app.my_groups(&p).await?))
}
