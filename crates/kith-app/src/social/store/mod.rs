//! The social context's rows: follows and blocks, communities with their members,
//! invites, announcements and membership history, posts with images, tags, likes,
//! comments, shares and reports, reviews, and uploaded media. Every statement the
//! context runs is here, one file per area; the use-case files call them by name.
//! `read_models` holds the column lists and decoders the areas share, and `visibility`
//! the SQL of the one rule that decides who sees a post.

pub(super) mod communities;
pub(super) mod invites;
pub(super) mod media;
pub(super) mod posts;
mod read_models;
pub(super) mod relationships;
pub(super) mod reviews;
pub(super) mod visibility;

pub(crate) use read_models::*;
