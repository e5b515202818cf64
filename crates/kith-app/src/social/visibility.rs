//! Who may see a post: the one rule every endpoint that returns posts, comments, likes,
//! counts or (later) search results applies, as SQL inside its query, so nothing invisible
//! is ever loaded, counted or highlighted.
//!
//! A post is visible to a viewer when it is not deleted, not hidden by a moderator (its
//! author still sees it), neither of the two has blocked the other, and its visibility
//! allows: `public` — everyone, signed in or not; `followers` — the author's followers;
//! `friends` — mutual follows (好友, the strong ties); `community` — active members of its
//! community. The author always sees their own post. Anonymous viewers are the nil id,
//! which follows no one and belongs nowhere.

use crate::platform::page::NIL_ID;
pub(crate) use crate::social::store::visibility::{blocked_between, can_see_post, post_visible};

/// The viewer id to bind for an optional principal.
pub fn viewer_id(viewer: Option<&str>) -> &str {
    viewer.unwrap_or(NIL_ID)
}
