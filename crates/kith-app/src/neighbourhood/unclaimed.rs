//! Unclaimed 接龙 orders: N days after a consignment is delivered to a 团长's point, the
//! orders nobody picked up follow the merchant's rule — `refund` (the pickup code is voided
//! and the order refunded in full through the provider that took the money) or `keep` (the
//! order keeps waiting at the point). Either way `order.unclaimed` is emitted (webhooks carry
//! it; the notification centre has no kind for it yet). The days are fixed when the
//! consignment is delivered; refund-or-keep is read when the deadline comes.
//!
//! A pickup racing the deadline: the code is voided by a conditional update
//! (`redeemed_at IS NULL`), the redemption sets `redeemed_at` by one too; exactly one of
//! them wins, and the loser changes nothing.
//!
//! Writes `batch_terms`; through commerce's refund path `refunds`, `pickup_codes`.

use kith_domain::order::OrderStatus;
use kith_store::Conn;
use serde::{Deserialize, Serialize};

use super::store;
use crate::commerce::orders::{self, Actor};
use crate::events::jobs::{ClaimedJob, Job, JobError};
use crate::platform::auth::{StaffNeed, require_staff};
use crate::platform::ids::MerchantId;
use crate::platform::outbox;
use crate::{App, AppError, AppResult, Principal};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// A merchant's rule for orders nobody picked up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchTerms {
    /// Days after delivery to the point, 1–30 (default 7).
    #[schema(minimum = 1, maximum = 30)]
    pub unclaimed_days: i64,
    /// `refund` (default: refunded in full, the code voided) or `keep` (the order keeps
    /// waiting at the point).
    #[schema(schema_with = rules)]
    pub unclaimed_rule: String,
}

fn rules() -> utoipa::openapi::Object {
    crate::platform::schema::one_of(&["refund", "keep"])
}

impl Default for BatchTerms {
    fn default() -> Self {
        Self {
            unclaimed_days: 7,
            unclaimed_rule: "refund".to_owned(),
        }
    }
}

pub(super) fn terms(c: &mut dyn Conn, merchant_id: &str) -> AppResult<BatchTerms> {
    Ok(store::batch_terms(c, merchant_id)?
        .map(|(unclaimed_days, unclaimed_rule)| BatchTerms {
            unclaimed_days,
            unclaimed_rule,
        })
        .unwrap_or_default())
}

/// When a consignment delivered at `now` is looked at for unclaimed orders.
pub(super) fn deadline(c: &mut dyn Conn, merchant_id: &str, now: i64) -> AppResult<i64> {
    Ok(now + terms(c, merchant_id)?.unclaimed_days * DAY_MS)
}

/// The `batch.unclaimed` job: a consignment's deadline came (payload `{"batch_id",
/// "leader_id"}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnclaimedConsignment {
    pub batch_id: String,
    pub leader_id: String,
}

impl Job for UnclaimedConsignment {
    const KIND: &'static str = "batch.unclaimed";
    const MAX_ATTEMPTS: i64 = 5;

    async fn run(self, app: &App, _attempt: &ClaimedJob) -> Result<(), JobError> {
        Ok(unclaimed_consignment(app, &self.batch_id, &self.leader_id).await?)
    }
}

/// Applies the merchant's rule to the consignment's orders still waiting for pickup. Run
/// twice, it finds nothing left to do for a refunded order and reminds again for a kept one.
pub async fn unclaimed_consignment(app: &App, batch_id: &str, leader_id: &str) -> AppResult<()> {
    let now = app.now_ms();
    let lc = app.lifecycle.clone();
    let (bid, lid) = (batch_id.to_owned(), leader_id.to_owned());
    app.db
        .write(move |c| {
            let mid = store::batch_merchant(c, &bid)?.ok_or(AppError::NotFound("batch"))?;
            let rule = terms(c, &mid)?.unclaimed_rule;
            let waiting = store::waiting_for_pickup(c, &bid, &lid)?;
            for oid in waiting {
                lc.lock(c, &oid, kith_domain::OrderKind::Batch)?;
                let o = orders::lock_order(c, &oid)?;
                if o.status != OrderStatus::ReadyForPickup {
                    continue;
                }
                if rule == "refund" {
                    // The code dies first: a pickup that won the race keeps its order.
                    if !store::void_pickup_code(c, &oid, now)? {
                        continue;
                    }
                    crate::commerce::refunds::refund_everything(
                        c,
                        &lc,
                        now,
                        &o,
                        "超时未提货，按商家规则退款",
                        Actor::System,
                    )?;
                }
                outbox::emit(
                    c,
                    now,
                    "order.unclaimed",
                    Some(&mid),
                    &oid,
                    &serde_json::json!({
                        "order_id": oid, "batch_id": bid, "leader_id": lid, "rule": rule, "buyer_id": o.buyer_id,
                    }),
                )?;
            }
            Ok(())
        })
        .await
}

impl App {
    /// The merchant's rule for unclaimed 接龙 orders (the defaults when never set), to its
    /// staff.
    pub async fn batch_terms(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
    ) -> AppResult<BatchTerms> {
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .read(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                terms(c, &mid)
            })
            .await
    }

    /// The merchant's staff set the rule for unclaimed 接龙 orders.
    pub async fn set_batch_terms(
        &self,
        who: &Principal,
        merchant_id: &MerchantId,
        input: BatchTerms,
    ) -> AppResult<BatchTerms> {
        let now = self.now_ms();
        let (who, mid) = (who.clone(), merchant_id.to_owned());
        self.db
            .write(move |c| {
                require_staff(c, &who, &mid, StaffNeed::AnyStaff)?;
                if !(1..=30).contains(&input.unclaimed_days) {
                    return Err(AppError::invalid("unclaimed_days", "must be 1–30"));
                }
                if !matches!(input.unclaimed_rule.as_str(), "refund" | "keep") {
                    return Err(AppError::invalid(
                        "unclaimed_rule",
                        "must be refund or keep",
                    ));
                }
                store::upsert_batch_terms(
                    c,
                    &mid,
                    input.unclaimed_days,
                    &input.unclaimed_rule,
                    now,
                )?;
                Ok(input.clone())
            })
            .await
    }
}
