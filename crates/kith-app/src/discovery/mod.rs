//! # Discovery: finding what friends trust
//!
//! Owns full-text search ranked by text and social closeness ([`search`]), the trust-ranked
//! feed ([`feed`]), social proof, recommendations and people you may know
//! ([`recommend`]), and the home page's other shelves — categories across the shops,
//! people to follow, communities to join ([`home`]).
//!
//! Writes: `discovery_settings` (a member's privacy setting for being shown as a buyer);
//! the search index (outside the database, rebuilt from the store).
//!
//! Surface: the App's use cases only; nothing else in kith-app calls discovery.
//!
//! Its statements are in `store` (one file per area); the use-case files call them by name.
//!
//! Never: decides visibility itself. Every post it lists goes through
//! [`crate::social::visibility`], the one rule, inside the query.

pub mod feed;
pub mod home;
pub mod recommend;
pub mod search;
mod store;
