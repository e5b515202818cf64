//! # commerce/tracking — parcels followed through a tracking provider
//!
//! When an order ships with a carrier the provider follows (顺丰, 中通, 圆通, 申通, 韵达, 京东,
//! EMS, 极兔, 德邦) and the server has a provider account (`AppConfig::kuaidi100`), the
//! shipment's transaction also writes a pending subscription with a fresh random salt and
//! queues the `tracking.subscribe` job; the job asks the provider to follow the number and
//! push updates to `/api/v1/tracking/kuaidi100/{subscription_id}` ([`kuaidi100`] speaks the
//! protocol). A push is taken only when its `sign` is the MD5 of its `param` and that
//! subscription's salt, and its number and company are the subscription's; each event is
//! recorded once (`tracking_events`, keyed by number, time and words: the protocol signs no
//! timestamp, so a replayed push adds nothing), with the carrier's words for the buyer's
//! timeline; a 签收 moves a shipped order to delivered through
//! [`crate::commerce::fulfilment`]'s `apply_tracking`, as the sandbox carrier's callback does.
//!
//! A return an after-sale buyer ships back is followed the same way ([`follow_return`]): its
//! events are the request's (`tracking_events.aftersale_id`), not the order's timeline, and
//! its 签收 starts the merchant's receipt deadline (`aftersale::return_delivered`).
//!
//! **Owns** `tracking_subscriptions`; writes an order's `tracking_events` only through
//! `fulfilment::apply_tracking`, a return's itself. **Surface**: [`follow`] (called by `ship_order` in its
//! transaction), `App::kuaidi100_push`, `App::order_tracking`, the `tracking.subscribe` job.
//! **Never**: calls the provider inside a request, or moves an order except through
//! `apply_tracking`.

use std::sync::OnceLock;

use kith_store::Conn;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::commerce::fulfilment::{TrackingOutcome, apply_tracking};
use crate::events::jobs::{self, ClaimedJob, Job, JobError, JobRegistry, Lane};
use crate::platform::auth::{StaffNeed, require_staff};
use crate::platform::ids::{OrderId, new_id, new_secret, parse_id};
use crate::{App, AppConfig, AppError, AppResult, Principal};

pub mod kuaidi100;
mod store;

/// The provider's name in `tracking_subscriptions.provider`.
pub const PROVIDER: &str = "kuaidi100";
/// Where the provider pushes a subscription's updates, under the public URL.
pub const PUSH_PATH: &str = "/api/v1/tracking/kuaidi100";

/// One step of a parcel's journey, as the buyer's timeline shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TrackingEvent {
    pub carrier: String,
    /// `in_transit`, `out_for_delivery`, `delivered` or `exception`.
    pub status: String,
    /// The carrier's own words (【深圳市】快件已签收…), when the provider gave them.
    pub description: Option<String>,
    pub occurred_at: String,
}

pub(crate) fn register_jobs(jobs: &mut JobRegistry) {
    jobs.register::<Subscribe>();
}

/// Starts following a shipment, in the shipment's transaction: a pending subscription and
/// its job. Nothing when the server has no provider or the provider does not follow
/// `carrier` (the sandbox carrier, an unknown one).
pub(crate) fn follow(
    c: &mut dyn Conn,
    now: i64,
    config: &AppConfig,
    order_id: &str,
    carrier: &str,
    tracking_no: &str,
) -> AppResult<()> {
    subscribe_in(c, now, config, order_id, None, carrier, tracking_no)
}

/// Starts following an after-sale return's parcel, in the transaction that records its
/// shipment; its 签收 starts the merchant's receipt deadline (`aftersale::return_delivered`).
pub(crate) fn follow_return(
    c: &mut dyn Conn,
    now: i64,
    config: &AppConfig,
    order_id: &str,
    aftersale_id: &str,
    carrier: &str,
    tracking_no: &str,
) -> AppResult<()> {
    subscribe_in(
        c,
        now,
        config,
        order_id,
        Some(aftersale_id),
        carrier,
        tracking_no,
    )
}

fn subscribe_in(
    c: &mut dyn Conn,
    now: i64,
    config: &AppConfig,
    order_id: &str,
    aftersale_id: Option<&str>,
    carrier: &str,
    tracking_no: &str,
) -> AppResult<()> {
    if config.kuaidi100.is_none() {
        return Ok(());
    }
    let Some(company) = kuaidi100::company_code(carrier) else {
        return Ok(());
    };
    let id = new_id();
    let salt = new_secret("");
    if store::insert(
        c,
        now,
        &id,
        PROVIDER,
        carrier,
        company,
        tracking_no,
        order_id,
        aftersale_id,
        &salt,
    )? {
        jobs::enqueue(
            c,
            now,
            &Subscribe {
                subscription_id: id,
            },
            now,
        )?;
    }
    Ok(())
}

/// Asks the provider to follow one shipment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subscribe {
    pub subscription_id: String,
}

impl Job for Subscribe {
    const KIND: &'static str = "tracking.subscribe";
    const MAX_ATTEMPTS: i64 = 8;
    const LANE: Lane = Lane::Delivery;

    async fn run(self, app: &App, _attempt: &ClaimedJob) -> Result<(), JobError> {
        subscribe(app, self.subscription_id).await
    }
}

fn client() -> Option<&'static reqwest::Client> {
    static CLIENT: OnceLock<Option<reqwest::Client>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(15))
                .user_agent(concat!("kith-tracking/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| tracing::error!(error = %e, "cannot build the tracking HTTP client"))
                .ok()
        })
        .as_ref()
}

async fn subscribe(app: &App, id: String) -> Result<(), JobError> {
    let Some(cfg) = app.config.kuaidi100.clone() else {
        return Ok(());
    };
    let i = id.clone();
    let Some(sub) = app.db.read(move |c| store::get(c, &i)).await? else {
        return Ok(());
    };
    if sub.status != "pending" {
        return Ok(());
    }
    let callback = format!("{}{PUSH_PATH}/{}", app.config.public_url, sub.id);
    let form = kuaidi100::subscribe_form(
        &cfg.key,
        &sub.company,
        &sub.tracking_no,
        &callback,
        &sub.salt,
    );
    let client = client().ok_or_else(|| JobError::Outside("no HTTP client".into()))?;
    let answer = client
        .post(format!("{}/poll", cfg.api_base.trim_end_matches('/')))
        .form(&form)
        .send()
        .await
        .map_err(|e| JobError::Outside(format!("快递100: {e}")))?;
    let body = answer
        .bytes()
        .await
        .map_err(|e| JobError::Outside(format!("快递100: {e}")))?;
    let now = app.now_ms();
    match kuaidi100::subscribe_outcome(&body) {
        kuaidi100::SubscribeOutcome::Subscribed => {
            app.db
                .write(move |c| store::set_status(c, now, &id, "subscribed", None))
                .await?;
            Ok(())
        }
        kuaidi100::SubscribeOutcome::Refused(why) => {
            tracing::warn!(subscription = %id, reason = %why, "快递100 refused a subscription");
            app.db
                .write(move |c| store::set_status(c, now, &id, "failed", Some(&why)))
                .await?;
            Ok(())
        }
        kuaidi100::SubscribeOutcome::Retry(why) => Err(JobError::Outside(why)),
    }
}

/// The event id of one pushed event: its subscription, its time and a digest of its
/// words — per subscription, so two orders sharing a reused number each record their own.
fn event_id(sub_id: &str, e: &kuaidi100::Event) -> String {
    let mut h = Md5::new();
    h.update(e.context.as_bytes());
    let words = hex::encode(h.finalize());
    format!("kuaidi100:{sub_id}:{}:{}", e.time.trim(), &words[..16])
}

impl App {
    /// A push from 快递100 for one subscription: verified against that subscription's salt,
    /// its number and company checked, each event recorded once, a 签收 delivering the
    /// order. 404 for an unknown subscription, 401 for a wrong signature, 422 for a push
    /// that is not the protocol's or names another number.
    pub async fn kuaidi100_push(
        &self,
        subscription_id: &str,
        param: &str,
        sign: &str,
    ) -> AppResult<TrackingOutcome> {
        let id = parse_id(subscription_id).ok_or(AppError::NotFound("tracking subscription"))?;
        if param.len() > 512 * 1024 {
            return Err(AppError::invalid("param", "is too large"));
        }
        let now = self.now_ms();
        let (param, sign) = (param.to_owned(), sign.to_owned());
        self.db
            .write(move |c| {
                let sub = store::get(c, &id)?.ok_or(AppError::NotFound("tracking subscription"))?;
                if !kuaidi100::verify(&param, &sub.salt, &sign) {
                    tracing::warn!(subscription = %sub.id, "refused a 快递100 push: wrong sign");
                    return Err(AppError::Unauthenticated("push refused: wrong sign".into()));
                }
                let push: kuaidi100::Push = serde_json::from_str(&param)
                    .map_err(|e| AppError::invalid("param", e.to_string()))?;
                let last = push.last_result;
                if last.nu.trim() != sub.tracking_no {
                    return Err(AppError::invalid("param", "names another tracking number"));
                }
                if !last.com.is_empty() && last.com != sub.company {
                    return Err(AppError::invalid("param", "names another company"));
                }
                let newest = last.data.first().map(|e| e.time.clone());
                let mut outcome = TrackingOutcome::Duplicate;
                // Oldest first, so the timeline and the delivery happen in order.
                for e in last.data.iter().rev().take(200) {
                    let status = match &e.status_code {
                        Some(code) if !code.is_empty() => kuaidi100::kith_status(code),
                        _ if Some(&e.time) == newest.as_ref() => {
                            kuaidi100::kith_status(&last.state)
                        }
                        _ => "in_transit",
                    };
                    let at = kuaidi100::beijing_ms(&e.time).unwrap_or(now);
                    let words: String = e.context.chars().take(500).collect();
                    let eid = event_id(&sub.id, e);
                    let step = match &sub.aftersale_id {
                        // A return's parcel: its own timeline; its 签收 starts the receipt
                        // deadline.
                        Some(aid) => {
                            if !store::insert_return_event(
                                c, now, &sub, aid, &eid, status, at, &words,
                            )? {
                                TrackingOutcome::Duplicate
                            } else if status == "delivered" {
                                crate::commerce::aftersale::return_delivered(c, now, aid, at)?;
                                TrackingOutcome::Delivered
                            } else {
                                TrackingOutcome::Recorded
                            }
                        }
                        None => apply_tracking(
                            c,
                            now,
                            Some(&sub.order_id),
                            &sub.carrier,
                            &eid,
                            &sub.tracking_no,
                            status,
                            at,
                            Some(&words),
                        )?,
                    };
                    match step {
                        TrackingOutcome::Duplicate => {}
                        TrackingOutcome::Delivered => outcome = TrackingOutcome::Delivered,
                        TrackingOutcome::Recorded => {
                            if outcome == TrackingOutcome::Duplicate {
                                outcome = TrackingOutcome::Recorded;
                            }
                        }
                    }
                }
                if push.status == "abort" {
                    tracing::info!(subscription = %sub.id, "快递100 stopped following a number");
                }
                Ok(outcome)
            })
            .await
    }

    /// An order's parcel timeline, oldest first: for its buyer and the merchant's staff;
    /// 404 for anyone else.
    pub async fn order_tracking(
        &self,
        who: &Principal,
        order_id: &OrderId,
    ) -> AppResult<Vec<TrackingEvent>> {
        let oid = order_id.to_string();
        let who = who.clone();
        self.db
            .read(move |c| {
                let (buyer, merchant) =
                    store::order_parties(c, &oid)?.ok_or(AppError::NotFound("order"))?;
                if buyer != who.account_id
                    && require_staff(c, &who, &merchant, StaffNeed::AnyStaff).is_err()
                {
                    return Err(AppError::NotFound("order"));
                }
                store::events(c, &oid)
            })
            .await
    }
}
