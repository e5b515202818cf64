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

        impl From<&$name> for kith_store::Value {
            fn from(id: &$name) -> Self {
                kith_store::Value::from(id.as_str())
            }
        }
    };
}
pub(crate) use typed_id;

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
