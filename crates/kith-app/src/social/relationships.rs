//! Relationships between members: follows (a mutual follow is a friendship, the strong
//! tie), blocks, public profiles with counts, and the follower / following / friends /
//! mutual-friends lists.
//!
//! Blocking is symmetric in effect: when either of two members has blocked the other,
//! neither can follow the other, neither sees the other's profile or lists (404), neither
//! appears in lists the other reads, and a block removes the follows between them both
//! ways. Counts never include a relation across a block.

use kith_store::Conn;
use serde::Serialize;

use super::store::relationships::{
    account_exists, blocked_page, delete_block, delete_follow, delete_follows_between, follows,
    insert_block, insert_follow, mutual_friends_page, profile_counts, relations_page,
};
use crate::platform::ids::AccountId;
use crate::platform::page::{NIL_ID, Page, PageRequest};
use crate::social::media::MediaRef;
use crate::social::visibility::blocked_between;
use crate::{App, AppError, AppResult, Principal, platform::outbox};

/// A member as others see them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Profile {
    pub id: AccountId,
    pub display_name: String,
    /// Their picture, if they chose one.
    pub avatar: Option<MediaRef>,
    /// Members who follow this one.
    pub followers: i64,
    /// Members this one follows.
    pub following: i64,
    /// Mutual follows (好友).
    pub friends: i64,
    /// Whether the caller follows this member (false when anonymous).
    pub followed_by_me: bool,
    /// Whether this member follows the caller.
    pub follows_me: bool,
    pub is_friend: bool,
}

/// One entry of a follower / following / friends list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Person {
    pub id: AccountId,
    pub display_name: String,
    /// Their picture, if they chose one.
    pub avatar: Option<MediaRef>,
    /// When the relation began: the follow's time, or for friends the later of the two
    /// follows (when the tie became mutual).
    pub since: String,
}

fn require_account(c: &mut dyn Conn, id: &str) -> AppResult<()> {
    if account_exists(c, id)? {
        Ok(())
    } else {
        Err(AppError::NotFound("account"))
    }
}

/// 404 when the account does not exist or a block stands between it and the viewer: a
/// blocked member sees nothing of the blocker (and the blocker nothing of them).
fn require_visible(c: &mut dyn Conn, viewer: Option<&str>, id: &str) -> AppResult<()> {
    require_account(c, id)?;
    if let Some(v) = viewer
        && v != id
        && blocked_between(c, v, id)?
    {
        return Err(AppError::NotFound("account"));
    }
    Ok(())
}

fn refuse_self(who: &Principal, target: &str, what: &str) -> AppResult<()> {
    if who.account_id == target {
        Err(AppError::invalid(
            "account_id",
            format!("you cannot {what} yourself"),
        ))
    } else {
        Ok(())
    }
}

/// Which list of an account's relations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Followers,
    Following,
    Friends,
}

impl App {
    /// The caller follows `target`. Idempotent: following again changes nothing. Refused
    /// for oneself (422), an unknown account (404), and across a block either way (403).
    pub async fn follow(&self, who: &Principal, target: &AccountId) -> AppResult<()> {
        refuse_self(who, target, "follow")?;
        let now = self.now_ms();
        let (me, target) = (who.account_id.clone(), target.clone());
        self.db
            .write(move |c| {
                require_account(c, &target)?;
                if blocked_between(c, &me, &target)? {
                    return Err(AppError::Forbidden(
                        "a block between you and this member prevents following".into(),
                    ));
                }
                if insert_follow(c, &me, &target, now)? {
                    let friends = follows(c, &target, &me)?;
                    outbox::emit(
                        c,
                        now,
                        "follow.created",
                        None,
                        &target,
                        &serde_json::json!({ "follower_id": me, "followee_id": target, "friends": friends }),
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// The caller stops following `target` (nothing happens if they did not follow).
    pub async fn unfollow(&self, who: &Principal, target: &AccountId) -> AppResult<()> {
        refuse_self(who, target, "unfollow")?;
        let now = self.now_ms();
        let (me, target) = (who.account_id.clone(), target.clone());
        self.db
            .write(move |c| {
                require_account(c, &target)?;
                if delete_follow(c, &me, &target)? {
                    outbox::emit(
                        c,
                        now,
                        "follow.removed",
                        None,
                        &target,
                        &serde_json::json!({ "follower_id": me, "followee_id": target }),
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// The caller blocks `target`: the follows between them are removed both ways, and
    /// from now on neither sees or interacts with the other. Idempotent.
    pub async fn block(&self, who: &Principal, target: &AccountId) -> AppResult<()> {
        refuse_self(who, target, "block")?;
        let now = self.now_ms();
        let (me, target) = (who.account_id.clone(), target.clone());
        self.db
            .write(move |c| {
                require_account(c, &target)?;
                let blocked = insert_block(c, &me, &target, now)?;
                let unfollowed = delete_follows_between(c, &me, &target)?;
                if blocked {
                    outbox::emit(
                        c,
                        now,
                        "block.created",
                        None,
                        &target,
                        &serde_json::json!({ "blocker_id": me, "blocked_id": target, "follows_removed": unfollowed }),
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// The caller lifts their block of `target` (follows removed by it stay removed).
    pub async fn unblock(&self, who: &Principal, target: &AccountId) -> AppResult<()> {
        refuse_self(who, target, "unblock")?;
        let now = self.now_ms();
        let (me, target) = (who.account_id.clone(), target.clone());
        self.db
            .write(move |c| {
                require_account(c, &target)?;
                if delete_block(c, &me, &target)? {
                    outbox::emit(
                        c,
                        now,
                        "block.removed",
                        None,
                        &target,
                        &serde_json::json!({ "blocker_id": me, "blocked_id": target }),
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// A member's public profile with counts, and how they relate to the caller.
    pub async fn profile(&self, viewer: Option<&Principal>, id: &AccountId) -> AppResult<Profile> {
        let (viewer, id) = (viewer.map(|p| p.account_id.clone()), id.clone());
        self.db
            .read(move |c| {
                require_visible(c, viewer.as_deref(), &id)?;
                let (display_name, followers, following, friends, avatar) = profile_counts(c, &id)?;
                let (followed_by_me, follows_me) = match viewer.as_deref() {
                    Some(v) if v != id.as_str() => (follows(c, v, &id)?, follows(c, &id, v)?),
                    _ => (false, false),
                };
                Ok(Profile {
                    id: id.clone(),
                    display_name,
                    avatar: avatar.map(|m| MediaRef::of(&m)),
                    followers,
                    following,
                    friends,
                    followed_by_me,
                    follows_me,
                    is_friend: followed_by_me && follows_me,
                })
            })
            .await
    }

    /// Followers, followees or friends of `id`, newest relation first. Accounts in a block
    /// with the viewer are left out; the whole list is 404 across a block.
    pub async fn relations(
        &self,
        viewer: Option<&Principal>,
        id: &AccountId,
        which: Relation,
        page: PageRequest,
    ) -> AppResult<Page<Person>> {
        let (viewer, id) = (viewer.map(|p| p.account_id.clone()), id.clone());
        self.db
            .read(move |c| {
                require_visible(c, viewer.as_deref(), &id)?;
                let v = viewer.as_deref().unwrap_or(NIL_ID);
                relations_page(c, &id, v, which, &page)
            })
            .await
    }

    /// Friends the caller and `id` have in common, newest (caller's) friendship first.
    pub async fn mutual_friends(
        &self,
        who: &Principal,
        id: &AccountId,
        page: PageRequest,
    ) -> AppResult<Page<Person>> {
        let (me, id) = (who.account_id.clone(), id.clone());
        self.db
            .read(move |c| {
                require_visible(c, Some(&me), &id)?;
                mutual_friends_page(c, &id, &me, &page)
            })
            .await
    }

    /// The members the caller has blocked, most recent first (`since` = when).
    pub async fn blocked_accounts(
        &self,
        who: &Principal,
        page: PageRequest,
    ) -> AppResult<Page<Person>> {
        let me = who.account_id.clone();
        self.db.read(move |c| blocked_page(c, &me, &page)).await
    }
}
