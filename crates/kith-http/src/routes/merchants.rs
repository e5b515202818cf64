use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::platform::merchants::{
    CommerceSettings, Invitation, Merchant, MerchantInput, StaffMember,
};
use kith_app::platform::page::Page;
use kith_domain::MerchantStatus;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiQuery, Auth, MaybeAuth, PageParams};
use crate::ids::{InvitationId, ManagerId, MerchantId};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(apply, list))
        .routes(routes!(get_one, update))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(list_staff))
        .routes(routes!(remove_staff))
        .routes(routes!(invite_manager, list_invitations))
        .routes(routes!(revoke_invitation))
        .routes(routes!(accept_invitation))
        .routes(routes!(get_settings, put_settings))
}

/// Staff: the merchant's commerce settings (shipping fee rule, order clocks).
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/settings", tag = "merchants", params(MerchantId), security(("bearer" = [])),
    responses((status = 200, body = CommerceSettings), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_settings(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: MerchantId,
) -> ApiResult<Json<CommerceSettings>> {
    Ok(Json(s.app.commerce_settings(&p, &id).await?))
}

/// Staff: replace the commerce settings (send every field). Orders already placed keep
/// their deadlines.
#[utoipa::path(put, path = "/api/v1/merchants/{merchant_id}/settings", tag = "merchants", params(MerchantId),
    request_body = CommerceSettings, security(("bearer" = [])),
    responses((status = 200, body = CommerceSettings), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_settings(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: MerchantId,
    ApiJson(b): ApiJson<CommerceSettings>,
) -> ApiResult<Json<CommerceSettings>> {
    Ok(Json(s.app.set_commerce_settings(&p, &id, b).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MerchantBody {
    /// 2–64 characters; unique among pending and approved merchants.
    #[schema(min_length = 2, max_length = 64)]
    pub name: Option<String>,
    /// Up to 2000 characters.
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// A mainland mobile number for the platform to reach the merchant.
    #[schema(pattern = "^(\\+86|0086|86)?1[3-9][0-9]{9}$")]
    pub contact_phone: Option<String>,
    /// The shop's logo: the id of an image someone on its staff uploaded
    /// (`POST /api/v1/media`); `""` removes it.
    #[schema(max_length = 64)]
    pub logo_media_id: Option<String>,
    /// The shop page's banner, a wide image uploaded by its staff; `""` removes it.
    #[schema(max_length = 64)]
    pub banner_media_id: Option<String>,
}

impl From<MerchantBody> for MerchantInput {
    fn from(b: MerchantBody) -> Self {
        Self {
            name: b.name,
            description: b.description,
            contact_phone: b.contact_phone,
            logo_media_id: b.logo_media_id,
            banner_media_id: b.banner_media_id,
        }
    }
}

/// Apply to open a merchant. The applicant becomes its owner; it trades once approved.
#[utoipa::path(post, path = "/api/v1/merchants", tag = "merchants", request_body = MerchantBody, security(("bearer" = [])),
    responses((status = 201, body = Merchant), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn apply(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(b): ApiJson<MerchantBody>,
) -> ApiResult<(StatusCode, Json<Merchant>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.apply_merchant(&p, b.into()).await?),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListMerchantsQuery {
    /// Only merchants in this state (`pending` for the review queue).
    pub status: Option<MerchantStatus>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Platform admins: merchants by status, oldest application first.
#[utoipa::path(get, path = "/api/v1/merchants", tag = "merchants", params(ListMerchantsQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Merchant>), (status = 403, body = Problem)))]
async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<ListMerchantsQuery>,
) -> ApiResult<Json<Page<Merchant>>> {
    let page = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    }
    .parse()?;
    Ok(Json(s.app.list_merchants(&p, q.status, page).await?))
}

/// A merchant's profile: public once approved; before that, staff and admins only.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}", tag = "merchants", params(MerchantId),
    responses((status = 200, body = Merchant), (status = 404, body = Problem)))]
async fn get_one(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    id: MerchantId,
) -> ApiResult<Json<Merchant>> {
    Ok(Json(s.app.get_merchant(p.as_ref(), &id).await?))
}

/// Staff: change the profile. Fields left out are unchanged.
#[utoipa::path(patch, path = "/api/v1/merchants/{merchant_id}", tag = "merchants", params(MerchantId),
    request_body = MerchantBody, security(("bearer" = [])),
    responses((status = 200, body = Merchant), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: MerchantId,
    ApiJson(b): ApiJson<MerchantBody>,
) -> ApiResult<Json<Merchant>> {
    Ok(Json(s.app.update_merchant(&p, &id, b.into()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// Required to reject (shown to the applicant); optional to approve.
    pub reason: Option<String>,
}

/// Platform admins: approve a pending application.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/approve", tag = "merchants", params(MerchantId),
    request_body = DecisionBody, security(("bearer" = [])),
    responses((status = 200, body = Merchant), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "not pending", body = Problem)))]
async fn approve(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: MerchantId,
    ApiJson(b): ApiJson<DecisionBody>,
) -> ApiResult<Json<Merchant>> {
    Ok(Json(s.app.decide_merchant(&p, &id, true, b.reason).await?))
}

/// Platform admins: reject a pending application with a reason.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/reject", tag = "merchants", params(MerchantId),
    request_body = DecisionBody, security(("bearer" = [])),
    responses((status = 200, body = Merchant), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn reject(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: MerchantId,
    ApiJson(b): ApiJson<DecisionBody>,
) -> ApiResult<Json<Merchant>> {
    Ok(Json(s.app.decide_merchant(&p, &id, false, b.reason).await?))
}

/// Staff: the merchant's owner and managers.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/staff", tag = "merchants", params(MerchantId), security(("bearer" = [])),
    responses((status = 200, body = Vec<StaffMember>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_staff(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: MerchantId,
) -> ApiResult<Json<Vec<StaffMember>>> {
    Ok(Json(s.app.list_staff(&p, &id).await?))
}

/// The owner removes a manager.
#[utoipa::path(delete, path = "/api/v1/merchants/{merchant_id}/staff/{account_id}", tag = "merchants",
    params(MerchantId, ManagerId), security(("bearer" = [])),
    responses((status = 204, description = "removed"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn remove_staff(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    aid: ManagerId,
) -> ApiResult<StatusCode> {
    s.app.remove_staff(&p, &mid, &aid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The owner invites a manager. The response carries the one-time `code` to pass on.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/invitations", tag = "merchants", params(MerchantId), security(("bearer" = [])),
    responses((status = 201, body = Invitation), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn invite_manager(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: MerchantId,
) -> ApiResult<(StatusCode, Json<Invitation>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.invite_manager(&p, &id).await?),
    ))
}

/// Staff: the merchant's invitations (manager and clerk), newest first, without codes.
#[utoipa::path(get, path = "/api/v1/merchants/{merchant_id}/invitations", tag = "merchants", params(MerchantId), security(("bearer" = [])),
    responses((status = 200, body = Vec<Invitation>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_invitations(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: MerchantId,
) -> ApiResult<Json<Vec<Invitation>>> {
    Ok(Json(s.app.list_invitations(&p, &id).await?))
}

/// Withdraw an unused invitation.
#[utoipa::path(post, path = "/api/v1/merchants/{merchant_id}/invitations/{invitation_id}/revoke", tag = "merchants",
    params(MerchantId, InvitationId), security(("bearer" = [])),
    responses((status = 200, body = Invitation), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn revoke_invitation(
    State(s): State<AppState>,
    Auth(p): Auth,
    mid: MerchantId,
    iid: InvitationId,
) -> ApiResult<Json<Invitation>> {
    Ok(Json(s.app.revoke_invitation(&p, &mid, &iid).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    /// The code from the invitation.
    pub code: String,
}

/// Accept an invitation: become a manager of the merchant, or a clerk of the store.
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "merchants", request_body = AcceptBody, security(("bearer" = [])),
    responses((status = 200, body = Invitation), (status = 404, body = Problem), (status = 409, description = "used, withdrawn, expired, or already staff", body = Problem)))]
async fn accept_invitation(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(b): ApiJson<AcceptBody>,
) -> ApiResult<Json<Invitation>> {
    Ok(Json(s.app.accept_invitation(&p, &b.code).await?))
}
