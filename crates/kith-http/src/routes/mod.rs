//! The JSON API under `/api/v1`, one module per area. Handlers are thin: parse, call one
//! use case, shape the response. Each is annotated for the OpenAPI document, and routes
//! are registered through `utoipa_axum::routes!`, so a route cannot exist without its
//! documentation.
//!
//! Ids in a path are typed extractors from [`crate::ids`] (`oid: OrderId`), named in the
//! handler's signature and in its `params(...)`: a non-UUID id is a 404 before the handler
//! runs, and the document says `format: uuid`.

pub mod accounts;
pub mod activities;
pub mod addresses;
pub mod aftersales;
pub mod catalog;
pub mod commissions;
pub mod communities;
pub mod coupons;
pub mod discovery;
pub mod group_buy;
pub mod insight;
pub mod inventory;
pub mod media;
pub mod merchants;
pub mod neighbourhood;
pub mod notifications;
pub mod ops;
pub mod orders;
pub mod payments;
pub mod points;
pub mod posts;
pub mod rails;
pub mod reconcile;
pub mod relationships;
pub mod reviews;
pub mod sandbox_payouts;
pub mod search;
pub mod settlement;
pub mod sharing;
pub mod stores;
pub mod tiers;
pub mod tracking;
pub mod webhooks;

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
    (
        "coupons",
        "Coupon templates, claiming coupons and the coupons a member holds",
    ),
    (
        "activities",
        "满减 / 满折 activities (tiered order discounts by spend, applied by checkout itself) and 限时秒杀 flash sales",
    ),
    (
        "points",
        "积分: the shop's points rule, and the points a member holds, earns, spends and sees expire",
    ),
    ("stores", "Offline stores and their clerks"),
    (
        "relationships",
        "Follows, friends (mutual follows), blocks and public profiles",
    ),
    (
        "communities",
        "Communities: join policies, invite links, roles, moderation, announcements, sub-communities",
    ),
    (
        "catalog",
        "Categories, products, SKUs and their prices per membership tier",
    ),
    (
        "inventory",
        "Stock locations, stock levels, adjustments and their history",
    ),
    ("webhooks", "Signed event deliveries to merchant endpoints"),
    (
        "posts",
        "Posts, likes, comments, shares, reports, moderation and the feed",
    ),
    ("media", "Image uploads (JPEG, PNG, WebP) and their files"),
    (
        "reviews",
        "Verified-purchase reviews, merchant replies and product ratings",
    ),
    (
        "orders",
        "Cart, checkout, orders and their fulfilment: shipping, tracking, store pickup, refunds",
    ),
    (
        "aftersales",
        "After-sales the buyer starts (仅退款 / 退货退款): requests, the merchant's answer, returns, deadlines, arbitration",
    ),
    (
        "payments",
        "Wallet, gateway payments and their signed callbacks, carrier callbacks, the ledger audit",
    ),
    (
        "sandbox",
        "The sandbox payment gateway served by kith for demos and tests",
    ),
    (
        "sharing",
        "Share links, following them, signing up through them, referrer bindings",
    ),
    (
        "group-buy",
        "Group-buy (拼团) campaigns, groups that fill by sharing, exact seats, automatic refunds of failed groups",
    ),
    (
        "neighbourhood",
        "社区团购: leaders (团长) and their pickup points, choosing a leader ranked by friends and distance, 接龙 batches with a cut-off, pick lists, consignments",
    ),
    (
        "commissions",
        "Commission plans, order attribution, distributor wallets and centre, withdrawals",
    ),
    (
        "insight",
        "Community insight for a merchant's staff: energy, repeat purchases, fission trees, KOL ranking, the traffic pool, split suggestions",
    ),
    (
        "search",
        "Search scoped to friends, follows, communities or everyone, ranked by text relevance × social closeness × recency × engagement; the who view",
    ),
    (
        "discovery",
        "The trust-ranked feed, social proof on products, recommendations from friends, people you may know",
    ),
    (
        "notifications",
        "The caller's notifications: inbox, unread count, marking read, preferences per kind and channel",
    ),
    ("ops", "Health, readiness, metrics and this document"),
];
