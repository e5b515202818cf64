//! The JSON API under `/api/v1`, one module per area. Handlers are thin: parse, call one
//! use case, shape the response. Each is annotated for the OpenAPI document, and routes
//! are registered through `utoipa_axum::routes!`, so a route cannot exist without its
//! documentation.

pub mod accounts;
pub mod merchants;
pub mod ops;
pub mod stores;
pub mod tiers;
pub mod webhooks;

use axum::http::StatusCode;

use crate::problem::{ApiError, Problem};

/// A path id that is not a UUID cannot name anything: 404, before it reaches storage.
pub fn path_id(raw: &str, what: &'static str) -> Result<String, ApiError> {
    kith_app::ids::parse_id(raw).ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("{what} not found"),
        )
        .into()
    })
}

/// Tags, in the order the reference page shows them.
pub const TAGS: &[(&str, &str)] = &[
    (
        "accounts",
        "Registering, logging in, the caller's own account",
    ),
    (
        "merchants",
        "Merchant applications, approval, profile, staff and invitations",
    ),
    ("tiers", "Membership tiers and the members who hold them"),
    ("stores", "Offline stores and their clerks"),
    ("webhooks", "Signed event deliveries to merchant endpoints"),
    ("ops", "Health, readiness, metrics and this document"),
];
