//! Helpers a 团长 names: members who hand out orders and redeem pickup codes at the
//! leader's point, and only there. A helper is remembered in `leader_helpers` and, while
//! the leader is approved, is a `store_clerks` row of the point, so commerce's one
//! redemption path lets them redeem there and nowhere else (another point's desk: 403).
//! Suspending the leader takes every clerk row of the point away; resuming puts the
//! leader's and the helpers' back.

use kith_store::Conn;
use serde::Serialize;

use super::Leader;
use super::store::{self, load_leader, lock_leader};
use crate::platform::auth::{StaffNeed, require_staff};
use crate::platform::ids::parse_id;
use crate::platform::ids::{AccountId, LeaderId};
use crate::{App, AppError, AppResult, Principal, platform::outbox};
use kith_domain::neighbourhood::LeaderStatus;

/// A member a leader named to help at their point.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Helper {
    pub account_id: AccountId,
    pub display_name: String,
    pub added_at: String,
}

/// The leader, when the caller is that leader (anyone else: 404).
fn own_leader(c: &mut dyn Conn, who: &Principal, leader_id: &str) -> AppResult<Leader> {
    let l = lock_leader(c, leader_id)?;
    if l.account_id != who.account_id {
        return Err(AppError::NotFound("leader"));
    }
    Ok(l)
}

/// Makes a helper a clerk of the point (approved leaders only). Refused when the member
/// already clerks at another of the merchant's stores.
pub(super) fn clerk_helper(
    c: &mut dyn Conn,
    now: i64,
    l: &Leader,
    store: &str,
    account: &str,
) -> AppResult<()> {
    store::insert_clerk(c, store, &l.merchant_id, account, now).map_err(|e| {
        if e.is_unique_on("store_clerks", &["merchant_id", "account_id"])
            || e.is_unique_on("store_clerks", &["store_id", "account_id"])
        {
            AppError::conflict(
                "account_id",
                "this member already works at one of the merchant's stores or points",
            )
        } else {
            e.into()
        }
    })?;
    Ok(())
}

/// On resume: the helpers clerk at the point again (one who meanwhile clerks elsewhere
/// for the merchant is skipped, still listed).
pub(super) fn restore_helpers(
    c: &mut dyn Conn,
    now: i64,
    l: &Leader,
    store: &str,
) -> AppResult<()> {
    store::restore_helper_clerks(c, store, &l.merchant_id, &l.id, now)?;
    Ok(())
}

impl App {
    /// The leader's helpers (the leader, or the merchant's staff).
    pub async fn leader_helpers(
        &self,
        who: &Principal,
        leader_id: &LeaderId,
    ) -> AppResult<Vec<Helper>> {
        let (who, lid) = (who.clone(), leader_id.to_owned());
        self.db
            .read(move |c| {
                let l = load_leader(c, &lid)?;
                if l.account_id != who.account_id {
                    require_staff(c, &who, &l.merchant_id, StaffNeed::AnyStaff)
                        .map_err(|_| AppError::NotFound("leader"))?;
                }
                store::helpers_of(c, &l.id)
            })
            .await
    }

    /// The leader names a member to help at their point: from now on they may redeem
    /// pickup codes there (and only there). Naming the same member again changes nothing.
    pub async fn add_leader_helper(
        &self,
        who: &Principal,
        leader_id: &LeaderId,
        account_id: &str,
    ) -> AppResult<Vec<Helper>> {
        let now = self.now_ms();
        let aid = parse_id(account_id)
            .ok_or_else(|| AppError::invalid("account_id", "is not a member id"))?;
        let (who, lid) = (who.clone(), leader_id.to_owned());
        self.db
            .write(move |c| {
                let l = own_leader(c, &who, &lid)?;
                let status = l.status;
                if !matches!(status, LeaderStatus::Approved | LeaderStatus::Suspended) {
                    return Err(AppError::state(format!(
                        "a leader who is {} has no point to help at",
                        l.status
                    )));
                }
                if aid == l.account_id {
                    return Err(AppError::invalid(
                        "account_id",
                        "you cannot be your own helper",
                    ));
                }
                if !store::account_exists(c, &aid)? {
                    return Err(AppError::invalid("account_id", "is not a member"));
                }
                let known = store::is_helper(c, &l.id, &aid)?;
                if !known {
                    if status == LeaderStatus::Approved {
                        let store = l.store_id.clone().ok_or_else(|| {
                            AppError::Internal("approved leader without a point".into())
                        })?;
                        clerk_helper(c, now, &l, &store, &aid)?;
                    }
                    store::insert_helper(c, &l.id, &aid, now)?;
                    outbox::emit(
                        c,
                        now,
                        "leader.helper_added",
                        Some(&l.merchant_id),
                        &l.id,
                        &serde_json::json!({
                            "leader_id": l.id, "account_id": aid,
                        }),
                    )?;
                }
                store::helpers_of(c, &l.id)
            })
            .await
    }

    /// As [`App::add_leader_helper`], naming the member by their phone or email (the
    /// leader's page): 422 on `login` when no member has it.
    pub async fn add_leader_helper_by_login(
        &self,
        who: &Principal,
        leader_id: &LeaderId,
        login: &str,
    ) -> AppResult<Vec<Helper>> {
        let login = login.trim().to_owned();
        let (me, lid) = (who.account_id.clone(), leader_id.to_owned());
        let aid = self
            .db
            .read(move |c| {
                // Only the leader may look members up here.
                let l = load_leader(c, &lid)?;
                if l.account_id != me {
                    return Err(AppError::NotFound("leader"));
                }
                store::account_by_login(c, &login)?
                    .ok_or_else(|| AppError::invalid("login", "no member has this phone or email"))
            })
            .await?;
        self.add_leader_helper(who, leader_id, &aid).await
    }

    /// The leader removes a helper: they redeem nothing at the point any more.
    pub async fn remove_leader_helper(
        &self,
        who: &Principal,
        leader_id: &LeaderId,
        account_id: &str,
    ) -> AppResult<Vec<Helper>> {
        let now = self.now_ms();
        let aid = parse_id(account_id).ok_or(AppError::NotFound("helper"))?;
        let (who, lid) = (who.clone(), leader_id.to_owned());
        self.db
            .write(move |c| {
                let l = own_leader(c, &who, &lid)?;
                if !store::delete_helper(c, &l.id, &aid)? {
                    return Err(AppError::NotFound("helper"));
                }
                if let Some(point) = &l.store_id {
                    store::delete_clerk(c, point, &aid)?;
                }
                outbox::emit(
                    c,
                    now,
                    "leader.helper_removed",
                    Some(&l.merchant_id),
                    &l.id,
                    &serde_json::json!({
                        "leader_id": l.id, "account_id": aid,
                    }),
                )?;
                store::helpers_of(c, &l.id)
            })
            .await
    }
}
