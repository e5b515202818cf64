//! Ids in the path, as typed extractors. `oid: OrderId` in a handler's signature is the
//! `{order_id}` segment of its route, already checked to be a UUID (and normalised to its
//! hyphenated lower-case form); `params(OrderId)` in its `#[utoipa::path]` documents that
//! same parameter with `format: uuid`. A segment that is not a UUID — or not even UTF-8
//! once percent-decoded (`%FF%FE`) — cannot name anything: 404 problem, "order not found",
//! before storage is asked.
//!
//! Each kind of id is declared once below with its parameter name and the word its 404
//! uses. Several kinds share a name when the route gives the same kind of object a
//! different role: `{account_id}` is an `AccountId` on a profile, a `ManagerId` under
//! `/staff/` and a `ClerkId` under `/clerks/`, and each answers with its own word.
//!
//! The value inside is kith-app's typed id of that kind (`kith_app::platform::ids::OrderId`
//! for `{order_id}`, `AccountId` for all three `{account_id}` roles): the extractor derefs
//! to it, and it derefs to `str`, so `&oid` goes to a use case taking either.

use std::fmt;
use std::ops::Deref;

use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams};
use axum::http::StatusCode;
use axum::http::request::Parts;
use utoipa::IntoParams;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};

use kith_app::platform::ids::{self as app, TypedId};

use crate::problem::{self, ApiError, Problem};

/// A kind of id in a path: where it sits in a route and what a bad one is called.
pub trait IdKind {
    /// The parameter's name in route templates: `order_id` in `/orders/{order_id}`.
    const PARAM: &'static str;
    /// The object it names, for the 404: "order" → "order not found".
    const WHAT: &'static str;
    /// The use cases' typed id this segment is.
    type Value: TypedId;
}

/// A UUID from the path segment named `K::PARAM`, as the use cases take it.
pub struct Id<K: IdKind> {
    value: K::Value,
}

impl<K: IdKind> Id<K> {
    pub fn as_str(&self) -> &str {
        &self.value
    }

    pub fn into_inner(self) -> K::Value {
        self.value
    }

    /// The id in `raw`, or the 404 this kind answers for a path naming nothing.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        match K::Value::parse(raw) {
            Some(value) => Ok(Self { value }),
            None => Err(not_found::<K>()),
        }
    }
}

fn not_found<K: IdKind>() -> ApiError {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        format!("{} not found", K::WHAT),
    )
    .into()
}

impl<K: IdKind> Deref for Id<K> {
    type Target = K::Value;

    fn deref(&self) -> &K::Value {
        &self.value
    }
}

impl<K: IdKind> AsRef<str> for Id<K> {
    fn as_ref(&self) -> &str {
        &self.value
    }
}

impl<K: IdKind> Clone for Id<K> {
    fn clone(&self) -> Self {
        Self {
            value: self.value.clone(),
        }
    }
}

impl<K: IdKind> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<K: IdKind> Eq for Id<K> {}

impl<K: IdKind> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.value, f)
    }
}

impl<K: IdKind> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.value, f)
    }
}

impl<K: IdKind, S: Send + Sync> FromRequestParts<S> for Id<K> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = match RawPathParams::from_request_parts(parts, state).await {
            Ok(params) => params
                .iter()
                .find(|(name, _)| *name == K::PARAM)
                .map(|(_, value)| value.to_owned()),
            // Some segment of the path is not UTF-8 once percent-decoded, and axum then
            // keeps none of them: read this one from the path itself. Not UTF-8 → no id.
            Err(RawPathParamsRejection::InvalidUtf8InPathParam(_)) => {
                return match raw_segment(parts, K::PARAM) {
                    Some(Some(raw)) => Self::parse(&raw),
                    Some(None) => Err(not_found::<K>()),
                    None => Err(missing::<K>(parts)),
                };
            }
            Err(_) => None,
        };
        match raw {
            Some(raw) => Self::parse(&raw),
            None => Err(missing::<K>(parts)),
        }
    }
}

/// A handler asked for an id its route does not have: a bug of ours, not the client's.
fn missing<K: IdKind>(parts: &Parts) -> ApiError {
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map_or("?", MatchedPath::as_str);
    problem::internal(&format_args!("route {route} has no {{{}}}", K::PARAM)).into()
}

/// The segment of the request path where `{name}` sits in the matched route, percent-
/// decoded: `None` if the route has no such parameter, `Some(None)` if it is not UTF-8.
fn raw_segment(parts: &Parts, name: &str) -> Option<Option<String>> {
    let template = parts.extensions.get::<MatchedPath>()?.as_str();
    let index = template.split('/').position(|segment| {
        segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) == Some(name)
    })?;
    let raw = parts.uri.path().split('/').nth(index)?;
    Some(
        percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned()),
    )
}

/// The documented parameter: the name in the route, in the path, a UUID.
impl<K: IdKind> IntoParams for Id<K> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            ParameterBuilder::new()
                .name(K::PARAM)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::Custom("uuid".to_owned()))),
                ))
                .build(),
        ]
    }
}

macro_rules! id_kinds {
    ($( $(#[$doc:meta])* $alias:ident: $kind:ident = $param:literal, $what:literal => $value:ident; )+) => {
        /// The kinds of id, one marker type each; handlers use the aliases (`OrderId`).
        pub mod kind {
            $(
                $(#[$doc])*
                pub enum $kind {}

                impl super::IdKind for $kind {
                    const PARAM: &'static str = $param;
                    const WHAT: &'static str = $what;
                    type Value = super::app::$value;
                }
            )+
        }

        $(
            #[doc = concat!("`{", $param, "}`; a bad one answers 404 \"", $what, " not found\".")]
            pub type $alias = Id<kind::$kind>;
        )+

        /// Every declared `(parameter, word)`, for the tests.
        #[cfg(test)]
        const KINDS: &[(&str, &str)] = &[$(($param, $what)),+];
    };
}

id_kinds! {
    AccountId: Account = "account_id", "account" => AccountId;
    /// A merchant's staff member (`/merchants/{merchant_id}/staff/{account_id}`).
    ManagerId: Manager = "account_id", "manager" => AccountId;
    /// A store's clerk (`/stores/{store_id}/clerks/{account_id}`).
    ClerkId: Clerk = "account_id", "clerk" => AccountId;
    /// A distributor (`/distributors/{member_id}`).
    MemberId: Member = "member_id", "member" => AccountId;
    MerchantId: Merchant = "merchant_id", "merchant" => MerchantId;
    /// The merchant a product is looked up under for its social proof: a bad one answers
    /// like a product of another merchant does, "product not found".
    ProductMerchantId: ProductMerchant = "merchant_id", "product" => MerchantId;
    ProductId: Product = "product_id", "product" => ProductId;
    SkuId: Sku = "sku_id", "sku" => SkuId;
    TierId: Tier = "tier_id", "tier" => TierId;
    StoreId: Store = "store_id", "store" => StoreId;
    /// A merchant's staff invitation.
    InvitationId: Invitation = "invitation_id", "invitation" => InvitationId;
    OrderId: Order = "order_id", "order" => OrderId;
    /// A buyer's after-sale request.
    AftersaleId: Aftersale = "aftersale_id", "after-sale request" => AftersaleId;
    PaymentId: Payment = "payment_id", "payment" => PaymentId;
    RefundId: Refund = "refund_id", "refund" => RefundId;
    ReviewId: Review = "review_id", "review" => ReviewId;
    CommunityId: Community = "community_id", "community" => CommunityId;
    /// A community's invite link.
    InviteId: Invite = "invite_id", "invite" => InviteId;
    PostId: Post = "post_id", "post" => PostId;
    CommentId: Comment = "comment_id", "comment" => CommentId;
    CampaignId: Campaign = "campaign_id", "group-buy campaign" => CampaignId;
    GroupId: Group = "group_id", "group" => GroupId;
    /// A merchant's leader (团长) or a member's application to be one.
    LeaderId: Leader = "leader_id", "leader" => LeaderId;
    /// A 接龙 batch.
    BatchId: Batch = "batch_id", "batch" => BatchId;
    WithdrawalId: Withdrawal = "withdrawal_id", "withdrawal" => WithdrawalId;
    EndpointId: WebhookEndpoint = "endpoint_id", "webhook endpoint" => EndpointId;
    /// A webhook delivery.
    DeliveryId: Delivery = "delivery_id", "delivery" => DeliveryId;
    /// An external identity (WeChat) linked to the caller's account.
    IdentityId: Identity = "identity_id", "identity" => IdentityId;
    NotificationId: Notification = "notification_id", "notification" => NotificationId;
    CouponTemplateId: CouponTemplate = "template_id", "coupon template" => CouponTemplateId;
    CouponId: Coupon = "coupon_id", "coupon" => CouponId;
    ActivityId: ThresholdActivity = "activity_id", "activity" => ActivityId;
    FlashSaleId: FlashSale = "sale_id", "flash sale" => FlashSaleId;
    /// One of the caller's saved addresses.
    AddressId: Address = "address_id", "address" => AddressId;
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, header};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn two(m: MerchantId, o: OrderId) -> String {
        format!("{m} {o}")
    }

    async fn call(uri: &str) -> (StatusCode, String, String) {
        let app = Router::new().route("/m/{merchant_id}/o/{order_id}", get(two));
        let res = app
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let ct = res
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, ct, String::from_utf8_lossy(&body).into_owned())
    }

    const M: &str = "0190a7c2-5a4e-7cc1-8f4b-2d1e0c9b8a71";
    const O: &str = "0190A7C2-5A4E-7CC1-8F4B-2D1E0C9B8A72";

    #[tokio::test]
    async fn ids_are_read_by_name_and_normalised() {
        let (s, _, body) = call(&format!("/m/{M}/o/{O}")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(body, format!("{M} {}", O.to_ascii_lowercase()));
    }

    #[tokio::test]
    async fn a_bad_id_is_its_kinds_404_leftmost_first() {
        for (uri, what) in [
            (format!("/m/nope/o/{O}"), "merchant"),
            (format!("/m/{M}/o/nope"), "order"),
            ("/m/nope/o/nope".to_owned(), "merchant"),
            // Not UTF-8 once decoded: axum keeps no parameter, the segments are read raw.
            (format!("/m/{M}/o/%FF%FE"), "order"),
            (format!("/m/%FF%FE/o/{O}"), "merchant"),
            ("/m/nope/o/%FF".to_owned(), "merchant"),
            ("/m/%FF/o/nope".to_owned(), "merchant"),
        ] {
            let (s, ct, body) = call(&uri).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{uri}");
            assert_eq!(ct, "application/problem+json", "{uri}");
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["type"], "/problems/not-found", "{uri}");
            assert_eq!(v["title"], "Not found", "{uri}");
            assert_eq!(v["detail"], format!("{what} not found"), "{uri}");
        }
        // A percent-encoded UUID is still that UUID.
        let (s, _, _) = call(&format!("/m/{}/o/{O}", M.replace('-', "%2D"))).await;
        assert_eq!(s, StatusCode::OK);
    }

    #[tokio::test]
    async fn an_id_its_route_lacks_is_our_bug() {
        let app = Router::new().route("/x/{order_id}", get(two));
        let res = app
            .oneshot(Request::get(format!("/x/{M}")).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn documented_as_a_uuid_under_its_name() {
        let p = OrderId::into_params(|| None);
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v,
            serde_json::json!([{ "name": "order_id", "in": "path", "required": true,
                "schema": { "type": "string", "format": "uuid" } }])
        );
    }

    /// Every `{name}` of every route is documented once, as a path parameter; every id
    /// parameter of a kind declared here is documented as a UUID.
    #[test]
    fn every_route_documents_its_path_parameters() {
        let doc = serde_json::to_value(crate::openapi()).unwrap();
        let mut ids = 0;
        for (template, ops) in doc["paths"].as_object().unwrap() {
            let names: Vec<&str> = template
                .split('{')
                .skip(1)
                .filter_map(|s| s.split('}').next())
                .collect();
            for (method, op) in ops.as_object().unwrap() {
                let documented: Vec<&serde_json::Value> = op["parameters"]
                    .as_array()
                    .map(|ps| ps.iter().filter(|p| p["in"] == "path").collect())
                    .unwrap_or_default();
                for name in &names {
                    let n = documented.iter().filter(|p| p["name"] == *name).count();
                    assert_eq!(n, 1, "{method} {template}: {{{name}}} documented {n} times");
                    let p = documented.iter().find(|p| p["name"] == *name).unwrap();
                    if KINDS.iter().any(|(param, _)| param == name) {
                        assert_eq!(p["schema"]["format"], "uuid", "{method} {template}: {name}");
                        ids += 1;
                    }
                }
            }
        }
        assert!(ids > 150, "{ids} id parameters");
    }
}
