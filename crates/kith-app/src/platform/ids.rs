//! Identifiers and secrets.
//!
//! Resource ids are UUID v7 (time-ordered, so new rows append to indexes). Secrets handed
//! to people (session tokens, invitation codes, webhook secrets) are 256 random bits,
//! URL-safe base64; only their SHA-256 is stored where we never need them back.

use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub fn new_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

/// Parses a client-supplied id; anything but a UUID is "not found" rather than a storage
/// error, so a bad id can never reach SQL as the wrong type.
pub fn parse_id(s: &str) -> Option<String> {
    uuid::Uuid::parse_str(s)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// A fresh secret with the given prefix (`kith_s_…` for sessions) so a leaked one is
/// recognisable in logs and secret scanners.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Declares a typed id: a UUID that names one kind of resource, so a group id cannot be
/// handed where a campaign id belongs. Built only by parsing (`parse`, `parse_or_404`),
/// by `new` (a fresh v7) or from a row the store returned (`from_row`). It serialises as
/// the plain string and reads as one (`Deref<Target = str>`, `Display`), so the wire
/// format and the SQL do not change; the store binds it as text.
macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// What the id names, as a 404 says it ("group not found").
            pub const WHAT: &'static str = $what;

            /// Parses a client-supplied id; anything but a UUID names nothing.
            pub fn parse(s: &str) -> Option<Self> {
                $crate::platform::ids::parse_id(s).map(Self)
            }

            /// Parses, answering a malformed id exactly as an unknown one (404).
            pub fn parse_or_404(s: &str) -> $crate::AppResult<Self> {
                Self::parse(s).ok_or($crate::AppError::NotFound($what))
            }

            /// A fresh id for a new row. (No `Default`: a default id would be a fresh one
            /// made where nobody asked for a new row.)
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self($crate::platform::ids::new_id())
            }

            /// An id read back from a row: storage holds only ids we wrote.
            #[allow(dead_code)]
            pub(crate) fn from_row(s: String) -> Self {
                Self(s)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                self == &other.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(concat!("is not a ", $what, " id"))
                })
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::Custom("uuid".into())))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl $crate::platform::ids::TypedId for $name {
            const WHAT: &'static str = $what;

            fn parse(s: &str) -> Option<Self> {
                $crate::platform::ids::parse_id(s).map(Self)
            }
        }

        impl From<&$name> for kith_store::Value {
            fn from(id: &$name) -> Self {
                kith_store::Value::from(id.as_str())
            }
        }
    };
}
/// What every typed id offers code that is generic over the kind of id, such as the HTTP
/// face's path extractor: the word a 404 uses and the parse that accepts only a UUID.
pub trait TypedId:
    Sized + Clone + Eq + std::fmt::Debug + std::fmt::Display + std::ops::Deref<Target = str>
{
    /// What the id names, as a 404 says it.
    const WHAT: &'static str;
    /// Parses a client-supplied id; anything but a UUID names nothing.
    fn parse(s: &str) -> Option<Self>;
}

// The ids of every context, declared here, in the lowest layer, so a view of one context
// may carry another's id (a commission names its order) without a dependency upward.

typed_id!(
    /// A person's account: a member, a merchant's manager, a store's clerk.
    AccountId,
    "account"
);
typed_id!(
    /// A merchant (a shop).
    MerchantId,
    "merchant"
);
typed_id!(
    /// An invitation to join a merchant's staff.
    InvitationId,
    "invitation"
);
typed_id!(
    /// An external identity (WeChat) linked to an account.
    IdentityId,
    "identity"
);
typed_id!(
    /// A product of a merchant's catalog.
    ProductId,
    "product"
);
typed_id!(
    /// One SKU of a product.
    SkuId,
    "sku"
);
typed_id!(
    /// A member tier (会员等级) of a merchant.
    TierId,
    "tier"
);
typed_id!(
    /// A merchant's store (a pickup point with stock).
    StoreId,
    "store"
);
typed_id!(
    /// An order.
    OrderId,
    "order"
);
typed_id!(
    /// A buyer's after-sale request.
    AftersaleId,
    "after-sale request"
);
typed_id!(
    /// A payment of an order.
    PaymentId,
    "payment"
);
typed_id!(
    /// A refund of an order.
    RefundId,
    "refund"
);
typed_id!(
    /// One of a member's saved addresses.
    AddressId,
    "address"
);
typed_id!(
    /// A coupon template of a merchant.
    CouponTemplateId,
    "coupon template"
);
typed_id!(
    /// A coupon a member holds.
    CouponId,
    "coupon"
);
typed_id!(
    /// A 满减 (threshold) activity.
    ActivityId,
    "activity"
);
typed_id!(
    /// A 秒杀 (flash sale).
    FlashSaleId,
    "flash sale"
);
typed_id!(
    /// A review of a product.
    ReviewId,
    "review"
);
typed_id!(
    /// A community.
    CommunityId,
    "community"
);
typed_id!(
    /// A community's invite link.
    InviteId,
    "invite"
);
typed_id!(
    /// A post.
    PostId,
    "post"
);
typed_id!(
    /// A comment on a post.
    CommentId,
    "comment"
);
typed_id!(
    /// A group-buy campaign.
    CampaignId,
    "group-buy campaign"
);
typed_id!(
    /// One group of a campaign.
    GroupId,
    "group"
);
typed_id!(
    /// A merchant's leader (团长), or a member's application to be one.
    LeaderId,
    "leader"
);
typed_id!(
    /// A 接龙 batch.
    BatchId,
    "batch"
);
typed_id!(
    /// A withdrawal of commission.
    WithdrawalId,
    "withdrawal"
);
typed_id!(
    /// A webhook endpoint.
    EndpointId,
    "webhook endpoint"
);
typed_id!(
    /// One webhook delivery.
    DeliveryId,
    "delivery"
);
typed_id!(
    /// One notification.
    NotificationId,
    "notification"
);

#[cfg(test)]
mod tests {
    use super::*;

    typed_id!(
        /// A test's id kind.
        ThingId,
        "thing"
    );

    #[test]
    fn typed_ids_parse_and_read_as_their_string() {
        let id = ThingId::new();
        assert_eq!(ThingId::parse(&id), Some(id.clone()));
        assert!(ThingId::parse("not-a-uuid").is_none());
        assert!(matches!(
            ThingId::parse_or_404("x"),
            Err(crate::AppError::NotFound("thing"))
        ));
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<ThingId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<ThingId>("\"nope\"").is_err());
    }

    #[test]
    fn ids_and_secrets() {
        let a = new_id();
        assert_eq!(parse_id(&a).as_deref(), Some(a.as_str()));
        assert_eq!(parse_id("not-a-uuid"), None);
        let s = new_secret("kith_s_");
        assert!(s.starts_with("kith_s_") && s.len() == 7 + 43);
        assert_ne!(s, new_secret("kith_s_"));
        assert_eq!(sha256_hex("abc").len(), 64);
    }
}
