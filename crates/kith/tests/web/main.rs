//! Page stories over plain HTTP with a cookie browser: member pages, console, group-buy pages.
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
#[path = "../support/web.rs"]
mod web;
#[path = "../support/wechat.rs"]
mod wechat;
#[path = "../support/worlds.rs"]
mod worlds;

mod pages;
mod pages_abuse;
mod pages_activities;
mod pages_addresses;
mod pages_aftersale;
mod pages_console;
mod pages_console_desk;
mod pages_coupons;
mod pages_flash;
mod pages_group_buy;
mod pages_home;
mod pages_leaders;
mod pages_member;
mod pages_notify;
mod pages_pictures;
mod pages_points;
mod pages_public;
mod pages_refusals;
mod pages_sms;
mod pages_words;
mod wechat_stories;
