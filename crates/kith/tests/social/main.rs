//! Social and discovery stories: relationships, communities, posts, the feed, media, reviews, search, social proof, privacy.
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

mod communities;
mod discovery;
mod feed;
mod media;
mod pictures;
mod posts;
mod privacy;
mod relationships;
mod reviews;
mod search;
