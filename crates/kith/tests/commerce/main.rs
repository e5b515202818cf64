//! Commerce stories: catalog, stock, tiers, stores, merchants, orders and group-buy.
//!
//! Each story spawns the real server (the same `Application` as `kith serve`) on port 0,
//! against a fresh SQLite directory or a fresh PostgreSQL database, and talks to it over
//! HTTP. The harness and the shared worlds live in `tests/support/`, compiled into each
//! binary from one source.

// Shared by every test binary; each uses a part of it.
#[path = "../support/builders.rs"]
mod builders;
#[allow(dead_code)]
#[path = "../support/harness.rs"]
mod harness;
#[path = "../support/worlds.rs"]
mod worlds;

mod activities;
mod addresses;
mod aftersale;
mod catalog;
mod coupons;
mod flash_sales;
mod group_buy;
mod inventory;
mod leaders;
mod merchants;
mod orders;
mod points;
mod stores;
mod tiers;
mod tracking;
