//! # Commerce: what is sold, to whom, and the life of an order
//!
//! Owns the catalog ([`catalog`]), stock per location ([`inventory`]), membership tiers and
//! tier prices ([`tiers`]), offline stores and clerks ([`stores`]), the cart ([`cart`]),
//! checkout and the order with its state machine ([`orders`]), shipping, pickup, delivery
//! and completion ([`fulfilment`]), the member's saved addresses ([`addresses`]), refunds ([`refunds`]), after-sale requests the buyer
//! starts ([`aftersale`], with its own tables: see its `mod.rs`), coupons ([`promotions`],
//! with its own tables: see its `mod.rs`), the
//! order lifecycle hooks ([`lifecycle`]), payments through the wallet or a gateway
//! ([`payments`]) and the shopper's read-only listings ([`browse`]).
//!
//! Writes: `categories`, `products`, `skus`, `sku_tier_prices`, `locations`, `stock`,
//! `stock_movements`, `tiers`, `member_tiers`, `stores`, `store_clerks`, `cart_items`,
//! `orders`, `order_lines`, `order_events`, `payments`, `gateway_events`, `refunds`,
//! `pickup_codes`, `tracking_events`, `member_addresses`; after-sales: `aftersale_terms`, `aftersale_requests`,
//! `aftersale_lines`, `aftersale_events`.
//!
//! Checkout bounds what one member may hold unpaid (`AppConfig::max_unpaid_orders`,
//! `max_unpaid_units_per_sku`), and a SKU not on sale answers buyers like an unknown one
//! (`catalog::sku_for_buyer`).
//!
//! Surface to group-buy (and later flash sales, 接龙 batches): `orders::place` (write an order
//! inside the caller's transaction), `orders::lock_order`, `lifecycle::OrderHook` (a kind of
//! order plugs in here instead of adding an `if` to orders), `catalog` lookups.
//!
//! Never: imports group-buy or any other kind of order; those register an
//! [`lifecycle::OrderHook`] when the [`crate::App`] is built. Money moves only through
//! [`crate::money::ledger`].

pub mod addresses;
pub mod aftersale;
pub mod browse;
pub mod cart;
pub mod catalog;
pub mod fulfilment;
pub mod inventory;
pub mod lifecycle;
pub mod orders;
pub mod payments;
pub mod promotions;
pub mod refunds;
mod store;
pub mod stores;
pub mod tiers;
pub mod tracking;
