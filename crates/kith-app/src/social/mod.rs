//! # Social: the graph and the content on it
//!
//! Owns follows and blocks ([`relationships`]), communities with roles and announcements
//! ([`communities`]) and their invite links ([`invites`]), posts with images, tags, likes, comments, shares and
//! reports ([`posts`]), verified-purchase reviews ([`reviews`]), uploaded images
//! ([`media`]), and the one rule that decides who sees a post ([`visibility`]).
//!
//! Writes: `follows`, `blocks`, `communities`, `community_members`, `community_invites`,
//! `community_announcements`, `community_member_events`, `posts`, `post_images`, `post_tags`,
//! `post_likes`, `post_shares`, `comments`, `reports`, `reviews`, `media`, `media_uploads`.
//!
//! Surface: [`visibility`] (applied inside every query that lists posts, here and in
//! discovery), `posts::query_posts` and the post/person views that discovery ranks,
//! `media` ownership checks (`media::uploaded_by`, `media::uploaded_by_staff_of`,
//! `media::media_id_of_path`, used by commerce for product images), and
//! `invites::usable_invite` (whether an invite code still works, used by money's referral
//! binding).
//!
//! Every statement the context runs is in `store` (one file per area, with the read models:
//! column lists, decoders, the post queries); the use-case files call them by name.
//!
//! Never: money or orders. A review reads whether the author bought the product (a read of
//! commerce's tables in SQL), but social never moves stock or money.

pub mod communities;
pub mod invites;
pub mod media;
pub mod posts;
pub mod relationships;
pub mod reviews;
mod store;
pub mod visibility;
