//! Lists of posts: an author's posts, a community's posts, and the basic feed. Each is
//! newest first with a stable cursor on `(created_at, id)`: posts added while a reader
//! pages are newer than every key already handed out, so the next page continues exactly
//! where the last one stopped, without duplicates or gaps.
//!
//! Every list runs through [`crate::posts::newest_first`], which applies the one
//! visibility rule inside its SQL.

use kith_store::{Value, args};

use crate::page::{Page, PageRequest};
use crate::posts::{Post, newest_first};
use crate::visibility::{blocked_between, viewer_id};
use crate::{App, AppError, AppResult, Principal};

impl App {
    /// An author's posts that the reader may see; 404 when there is no such account or a
    /// block stands between the two.
    pub async fn account_posts(
        &self,
        who: Option<&Principal>,
        account_id: &str,
        page: PageRequest,
    ) -> AppResult<Page<Post>> {
        let viewer = viewer_id(who.map(|p| p.account_id.as_str())).to_owned();
        let aid = account_id.to_owned();
        self.db
            .read(move |c| {
                c.query_opt("SELECT 1 FROM accounts WHERE id = $1", args![&aid])?
                    .ok_or(AppError::NotFound("account"))?;
                // As on the profile: a block hides each from the other entirely.
                if viewer != aid && blocked_between(c, &viewer, &aid)? {
                    return Err(AppError::NotFound("account"));
                }
                newest_first(
                    c,
                    &viewer,
                    "p.author_id = $2",
                    vec![Value::from(&aid)],
                    &page,
                )
            })
            .await
    }

    /// A community's posts, for its active members: 404 when there is no such community,
    /// 401 for the anonymous, 403 for everyone else.
    pub async fn community_posts(
        &self,
        who: Option<&Principal>,
        community_id: &str,
        page: PageRequest,
    ) -> AppResult<Page<Post>> {
        let who = who.cloned();
        let cid = community_id.to_owned();
        self.db
            .read(move |c| {
                c.query_opt("SELECT 1 FROM communities WHERE id = $1", args![&cid])?
                    .ok_or(AppError::NotFound("community"))?;
                let Some(p) = &who else {
                    return Err(AppError::Unauthenticated(
                        "log in to read a community's posts".into(),
                    ));
                };
                let member = c
                    .query_opt(
                        "SELECT 1 FROM community_members WHERE community_id = $1 AND account_id = $2 AND state = 'active'",
                        args![&cid, &p.account_id],
                    )?
                    .is_some();
                if !member {
                    return Err(AppError::Forbidden(
                        "only the community's members read its posts".into(),
                    ));
                }
                newest_first(
                    c,
                    &p.account_id,
                    "p.visibility = 'community' AND p.community_id = $2",
                    vec![Value::from(&cid)],
                    &page,
                )
            })
            .await
    }

    /// The caller's feed: their own posts, posts of people they follow (as far as each
    /// post's visibility allows) and posts of communities they are an active member of,
    /// newest first.
    pub async fn feed(&self, who: &Principal, page: PageRequest) -> AppResult<Page<Post>> {
        let me = who.account_id.clone();
        self.db
            .read(move |c| {
                newest_first(
                    c,
                    &me,
                    "p.author_id = $1
                     OR EXISTS (SELECT 1 FROM follows fo WHERE fo.follower_id = $1 AND fo.followee_id = p.author_id)
                     OR (p.visibility = 'community' AND EXISTS
                          (SELECT 1 FROM community_members fm
                           WHERE fm.community_id = p.community_id AND fm.account_id = $1 AND fm.state = 'active'))",
                    Vec::new(),
                    &page,
                )
            })
            .await
    }
}
