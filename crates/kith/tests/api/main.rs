//! HTTP tests: each spawns the real server (the same `Application` as `kith serve`) on
//! port 0, against a fresh SQLite directory or a fresh PostgreSQL database, and talks to
//! it over HTTP. One binary, so the crate is linked once.

mod harness;

mod access;
mod accounts;
mod backup;
mod catalog;
mod commissions;
mod communities;
mod crash;
mod discovery;
mod feed;
mod group_buy;
mod hostile;
mod insight;
mod inventory;
mod limits;
mod matrix;
mod media;
mod merchants;
mod ops;
mod orders;
mod pages;
mod pages_console;
mod pages_group_buy;
mod pages_member;
mod posts;
mod privacy;
mod relationships;
mod reviews;
mod search;
mod sharing;
mod stores;
mod tiers;
mod web;
mod webhooks;
mod withdrawals;
