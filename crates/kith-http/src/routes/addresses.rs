//! The caller's address book (收货地址): saved shipping addresses, one the default, chosen at
//! checkout by `address_id`. Only the owner reads or changes them; another member's id is a
//! 404 like an unknown one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kith_app::commerce::addresses::{AddressInput, SavedAddress};
use kith_app::commerce::orders::Address;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, Auth};
use crate::ids::AddressId;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_addresses, add_address))
        .routes(routes!(update_address, delete_address))
}

/// An address to save. The district must be one of the city's and the city one of the
/// province's (mainland China's regions, as the pages' picker offers them; municipalities
/// have `市辖区` as their city): 422 naming the first part that does not fit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    /// 收货人.
    #[schema(min_length = 1, max_length = 32)]
    pub name: String,
    #[schema(pattern = "^(\\+86|0086|86)?1[3-9][0-9]{9}$")]
    pub phone: String,
    #[schema(min_length = 1, max_length = 32, example = "贵州省")]
    pub province: String,
    #[schema(min_length = 1, max_length = 32, example = "贵阳市")]
    pub city: String,
    #[schema(min_length = 1, max_length = 32, example = "观山湖区")]
    pub district: String,
    #[schema(min_length = 1, max_length = 200)]
    pub detail: String,
    /// `true` makes it the default (the one preselected at checkout); the first address
    /// saved is the default whatever this says, and there is always one while any is kept.
    pub is_default: Option<bool>,
}

impl AddressBody {
    fn input(self) -> AddressInput {
        AddressInput {
            address: Address {
                name: self.name,
                phone: self.phone,
                province: self.province,
                city: self.city,
                district: self.district,
                detail: self.detail,
            },
            is_default: self.is_default,
        }
    }
}

/// The caller's saved addresses, the default first.
#[utoipa::path(get, path = "/api/v1/me/addresses", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Vec<SavedAddress>), (status = 401, body = Problem)))]
async fn list_addresses(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<SavedAddress>>> {
    Ok(Json(s.app.my_addresses(&p).await?))
}

/// Save an address (at most 20). Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/me/addresses", tag = "accounts", request_body = AddressBody, security(("bearer" = [])),
    responses((status = 201, body = SavedAddress), (status = 401, body = Problem),
        (status = 409, description = "`addresses`: 20 are saved already", body = Problem),
        (status = 422, body = Problem)))]
async fn add_address(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(b): ApiJson<AddressBody>,
) -> ApiResult<(StatusCode, Json<SavedAddress>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.add_address(&p, b.input()).await?),
    ))
}

/// Replace one of the caller's addresses.
#[utoipa::path(put, path = "/api/v1/me/addresses/{address_id}", tag = "accounts", params(AddressId),
    request_body = AddressBody, security(("bearer" = [])),
    responses((status = 200, body = SavedAddress), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn update_address(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: AddressId,
    ApiJson(b): ApiJson<AddressBody>,
) -> ApiResult<Json<SavedAddress>> {
    Ok(Json(s.app.update_address(&p, &id, b.input()).await?))
}

/// Delete one of the caller's addresses (orders keep their own copy). Deleting the default
/// makes the most recently changed one left the default.
#[utoipa::path(delete, path = "/api/v1/me/addresses/{address_id}", tag = "accounts", params(AddressId),
    security(("bearer" = [])),
    responses((status = 204, description = "deleted"), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn delete_address(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: AddressId,
) -> ApiResult<StatusCode> {
    s.app.delete_address(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
