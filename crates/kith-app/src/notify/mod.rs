//! # notify — the notification centre
//!
//! Tells a member what happened to them: their order was paid, shipped, delivered or
//! refunded; their group-buy filled or failed; commission became pending or available; a
//! withdrawal was paid or came back; someone signed up through their link, answered their
//! post or comment, answered their review, joined a community on their invite; their
//! application to open a shop was decided.
//!
//! **Owns** the tables `notifications`, `notification_preferences`,
//! `notification_deliveries`, `notify_cursor` and `notify_wechat_openids`; it is their only
//! writer.
//!
//! **Made from the outbox, exactly once.** [`make_notifications`] reads the outbox after
//! its own durable cursor (the `notify_cursor` row), the pattern of search's indexer
//! rather than webhook routing: routing marks each outbox row `dispatched_at`, a column
//! with one owner, and a second consumer must not share it. Unlike the search index
//! (one per server), notifications are shared rows, so the cursor is a row too, locked
//! `FOR UPDATE` in the round's transaction: servers take turns, and every notification of
//! a round is written **in the same transaction as the cursor's advance**. A crash before
//! the commit loses the round and the next one makes it again; after the commit the
//! cursor is past it. The unique key `(outbox_id, account_id, kind)` with
//! `ON CONFLICT DO NOTHING` makes a repeated event harmless, which the hole rule needs:
//! outbox ids come from a sequence, so on PostgreSQL a later id can commit before an
//! earlier one; the cursor moves only over consecutive ids (past a hole only after it
//! stayed open [`GAP_WAIT`]), and events above a hole are applied again each round
//! until it closes — changing nothing the second time.
//!
//! Who to tell is in the event's payload (the emitting use cases add the recipients their
//! webhook payloads lacked: new fields, never renamed ones), so a notification says what
//! was true when the thing happened and this context reads no other context's tables.
//!
//! **Words at the edge.** A notification stores its kind and the params of its sentence
//! (ids, amounts in fen, a reason), never sentences: [`render`] makes the title and body
//! in the reader's language when it is read (the API's `lang`, the page's language) and
//! in Chinese for outside channels. So one row serves zh and en readers and a wording fix
//! reaches old notifications too.
//!
//! **Preferences.** The in-app inbox is always on, for every kind: it is the member's
//! record of what happened to their orders and money, and costs them nothing until they
//! look. Outside channels (WeChat 订阅通知, SMS) interrupt, so they are off until the member
//! turns them on per kind.
//!
//! **Delivery is a job.** A notification that a member's preferences send outside gets one
//! `notification_deliveries` row per channel (unique `(notification_id, channel)`) and one
//! `notify.deliver` job in the delivery lane, both in the transaction that made the
//! notification. The job re-reads the row and does nothing unless it is still `pending`,
//! so a job run late or twice sends nothing twice; failures are retried with the queue's
//! backoff. The one window left is a server dying between WeChat's answer and the commit
//! that marks the row sent (WeChat's send takes no idempotency key).
//!
//! **Surface**: `App::my_notifications`, `unread_notifications`, `mark_notification_read`,
//! `mark_all_notifications_read`, `notification_preferences`, `set_notification_preferences`,
//! `set_wechat_openid` (for the WeChat sign-in to record the 公众号 openid of a member);
//! [`make_notifications`] (registered as an outbox consumer), the [`Deliver`] trait and
//! [`Channel`] for plugging in channels. The WeChat channel ([`wechat`]) and the SMS
//! channel ([`sms`], through the platform's SMS provider) are built in.
//!
//! **Never**: writes another context's tables, or sends outside from a request.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kith_store::Conn;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::events::jobs::{self, ClaimedJob, Job, JobError, JobRegistry, Lane};
use crate::platform::ids::{AccountId, new_id};
use crate::platform::page::{Page, PageRequest};
use crate::{App, AppError, AppResult, Principal};

pub mod sms;
mod store;
pub mod wechat;

pub use wechat::{WECHAT_API_BASE, WechatNotifyConfig};

/// Reads a `kind=TEMPLATE,kind=TEMPLATE` setting (`setting` names it in errors): the
/// template an outside channel sends for each kind; a kind without one is not sent there.
pub fn parse_templates(setting: &str, text: &str) -> AppResult<Vec<(Kind, String)>> {
    let mut list: Vec<(Kind, String)> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, t) = part.split_once('=').ok_or_else(|| {
            AppError::invalid(setting, format!("`{part}` is not kind=TEMPLATE_ID"))
        })?;
        let kind = Kind::parse(k.trim()).ok_or_else(|| {
            AppError::invalid(setting, format!("`{k}` is not a kind of notification"))
        })?;
        let t = t.trim();
        if t.is_empty()
            || t.len() > 128
            || !t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(AppError::invalid(
                setting,
                format!("`{t}` is not a template id"),
            ));
        }
        if list.iter().any(|(seen, _)| *seen == kind) {
            return Err(AppError::invalid(
                setting,
                format!("`{}` is given twice", kind.as_str()),
            ));
        }
        list.push((kind, t.to_owned()));
    }
    Ok(list)
}

fn template_of(templates: &[(Kind, String)], kind: Kind) -> Option<&str> {
    templates
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, t)| t.as_str())
}

pub use crate::platform::ids::NotificationId;

/// Outbox events read per round.
const BATCH: i64 = 500;
/// A hole in the outbox ids is waited for this long before the cursor moves past it.
const GAP_WAIT: Duration = Duration::from_secs(10);
/// Attempts of one outside delivery before it is failed for good.
const DELIVERY_ATTEMPTS: i64 = 8;

/// What a notification is about. The string is stored, so a kind is never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = NotificationKind)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    OrderPaid,
    OrderShipped,
    OrderDelivered,
    RefundDone,
    GroupJoined,
    GroupSucceeded,
    GroupFailed,
    CommissionPending,
    CommissionAvailable,
    WithdrawalPaid,
    WithdrawalReturned,
    ShareJoined,
    CommentReply,
    ReviewReply,
    InviteAccepted,
    MerchantDecided,
}

impl Kind {
    pub const ALL: [Kind; 16] = [
        Kind::OrderPaid,
        Kind::OrderShipped,
        Kind::OrderDelivered,
        Kind::RefundDone,
        Kind::GroupJoined,
        Kind::GroupSucceeded,
        Kind::GroupFailed,
        Kind::CommissionPending,
        Kind::CommissionAvailable,
        Kind::WithdrawalPaid,
        Kind::WithdrawalReturned,
        Kind::ShareJoined,
        Kind::CommentReply,
        Kind::ReviewReply,
        Kind::InviteAccepted,
        Kind::MerchantDecided,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::OrderPaid => "order_paid",
            Kind::OrderShipped => "order_shipped",
            Kind::OrderDelivered => "order_delivered",
            Kind::RefundDone => "refund_done",
            Kind::GroupJoined => "group_joined",
            Kind::GroupSucceeded => "group_succeeded",
            Kind::GroupFailed => "group_failed",
            Kind::CommissionPending => "commission_pending",
            Kind::CommissionAvailable => "commission_available",
            Kind::WithdrawalPaid => "withdrawal_paid",
            Kind::WithdrawalReturned => "withdrawal_returned",
            Kind::ShareJoined => "share_joined",
            Kind::CommentReply => "comment_reply",
            Kind::ReviewReply => "review_reply",
            Kind::InviteAccepted => "invite_accepted",
            Kind::MerchantDecided => "merchant_decided",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The kind's name in a language, for the preferences page.
    pub fn label(self, en: bool) -> &'static str {
        let (zh, e) = match self {
            Kind::OrderPaid => ("订单已支付", "Order paid"),
            Kind::OrderShipped => ("订单已发货", "Order shipped"),
            Kind::OrderDelivered => ("订单已送达/已自提", "Order delivered or picked up"),
            Kind::RefundDone => ("退款完成", "Refund done"),
            Kind::GroupJoined => ("参团", "Group joined"),
            Kind::GroupSucceeded => ("拼团成功", "Group succeeded"),
            Kind::GroupFailed => ("拼团失败", "Group failed"),
            Kind::CommissionPending => ("佣金待结算", "Commission pending"),
            Kind::CommissionAvailable => ("佣金可提现", "Commission available"),
            Kind::WithdrawalPaid => ("提现到账", "Withdrawal paid"),
            Kind::WithdrawalReturned => ("提现退回", "Withdrawal returned"),
            Kind::ShareJoined => ("有人通过你的链接注册", "Someone joined through your link"),
            Kind::CommentReply => ("评论回复", "Replies to your posts"),
            Kind::ReviewReply => ("商家回复评价", "Merchant replied to your review"),
            Kind::InviteAccepted => ("社群邀请被接受", "Community invite accepted"),
            Kind::MerchantDecided => ("开店申请结果", "Shop application decided"),
        };
        if en { e } else { zh }
    }
}

/// Where a notification may reach a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = NotificationChannel)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The inbox: always on.
    InApp,
    /// WeChat 公众号 订阅通知, to the member's openid.
    Wechat,
    /// An SMS template through the platform's SMS provider ([`sms::SmsChannel`]).
    Sms,
}

impl Channel {
    /// The channels outside kith, each delivered by a job.
    pub const OUTSIDE: [Channel; 2] = [Channel::Wechat, Channel::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::InApp => "in_app",
            Channel::Wechat => "wechat",
            Channel::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        [Channel::InApp, Channel::Wechat, Channel::Sms]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// One message on its way out of kith: what an adapter needs.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub notification_id: NotificationId,
    pub account_id: AccountId,
    pub kind: Kind,
    pub params: Json,
    /// The page the message links to, absolute (`AppConfig::public_url` + the link).
    pub url: String,
}

/// What an adapter made of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The channel took it.
    Sent,
    /// Nothing to send to (no address or template for this member or kind): recorded,
    /// never retried.
    Skipped(String),
    /// The channel refused for good (the member turned the messages off at WeChat):
    /// recorded with its code, never retried.
    Refused { code: i64, message: String },
    /// Try again later; the code is the channel's, when it gave one.
    Failed { code: Option<i64>, message: String },
}

/// A channel adapter: [`wechat::WechatChannel`] and [`sms::SmsChannel`] are built in;
/// [`NotifyState::add_channel`] plugs in others.
pub trait Deliver: Send + Sync + std::fmt::Debug {
    fn channel(&self) -> Channel;
    fn deliver<'a>(
        &'a self,
        app: &'a App,
        msg: &'a Outgoing,
    ) -> Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;
}

/// The centre's memory in this process.
#[derive(Debug, Default)]
pub struct NotifyState {
    /// Since when the lowest hole above the cursor has been open.
    gap_since: Mutex<Option<Instant>>,
    /// Adapters besides WeChat (which comes from `AppConfig::wechat_notify`).
    extra: Mutex<Vec<Arc<dyn Deliver>>>,
    /// The WeChat access token, shared by every attempt of this process.
    pub(crate) wechat_token: wechat::TokenCache,
}

impl NotifyState {
    /// Plugs in an adapter for a channel the built-in ones do not cover.
    pub fn add_channel(&self, d: Arc<dyn Deliver>) {
        if let Ok(mut v) = self.extra.lock() {
            v.push(d);
        }
    }

    fn adapter(&self, app: &App, ch: Channel) -> Option<Arc<dyn Deliver>> {
        if ch == Channel::Wechat {
            return app
                .config
                .wechat_notify
                .as_ref()
                .map(|_| Arc::new(wechat::WechatChannel) as Arc<dyn Deliver>);
        }
        if ch == Channel::Sms && sms::available(app) {
            return Some(Arc::new(sms::SmsChannel));
        }
        self.extra
            .lock()
            .ok()?
            .iter()
            .find(|d| d.channel() == ch)
            .cloned()
    }

    fn gap_expired(&self) -> bool {
        self.gap_since
            .lock()
            .ok()
            .and_then(|g| *g)
            .is_some_and(|t| t.elapsed() >= GAP_WAIT)
    }

    fn set_gap(&self, open: bool) {
        if let Ok(mut g) = self.gap_since.lock() {
            if open {
                g.get_or_insert_with(Instant::now);
            } else {
                *g = None;
            }
        }
    }
}

pub(crate) fn register_jobs(jobs: &mut JobRegistry) {
    jobs.register::<DeliverNotification>();
    jobs.consume_outbox("notify", |app: App| async move {
        make_notifications(&app).await
    });
}

// ---------------------------------------------------------------------------------------
// From events to notifications

/// One notification an event makes.
#[derive(Debug, Clone, PartialEq)]
pub struct Made {
    pub account_id: String,
    pub kind: Kind,
    pub params: Json,
    pub link: String,
}

fn s<'a>(p: &'a Json, k: &str) -> Option<&'a str> {
    p.get(k).and_then(Json::as_str)
}

/// The notifications one outbox event makes: who to tell, what, and where it links. An
/// event without the fields (written before they were added) makes none.
pub fn made_from(topic: &str, merchant_id: Option<&str>, p: &Json) -> Vec<Made> {
    let one = |who: Option<&str>, kind: Kind, params: Json, link: String| -> Vec<Made> {
        who.map(|w| Made {
            account_id: w.to_owned(),
            kind,
            params,
            link,
        })
        .into_iter()
        .collect()
    };
    let order = |kind: Kind, extra: Json| -> Vec<Made> {
        let Some(oid) = s(p, "order_id") else {
            return Vec::new();
        };
        let mut params = serde_json::json!({ "order_id": oid });
        if let (Some(o), Json::Object(e)) = (params.as_object_mut(), extra) {
            o.extend(e);
        }
        one(s(p, "buyer_id"), kind, params, format!("/orders/{oid}"))
    };
    let many = |key: &str, kind: Kind, params: Json, link: String| -> Vec<Made> {
        p.get(key)
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .map(|w| Made {
                        account_id: w.to_owned(),
                        kind,
                        params: params.clone(),
                        link: link.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    match topic {
        "order.paid" => order(Kind::OrderPaid, serde_json::json!({})),
        "order.shipped" => order(Kind::OrderShipped, serde_json::json!({})),
        "order.delivered" => order(
            Kind::OrderDelivered,
            serde_json::json!({ "picked_up": false }),
        ),
        "order.picked_up" => order(
            Kind::OrderDelivered,
            serde_json::json!({ "picked_up": true }),
        ),
        "order.refunded" => order(Kind::RefundDone, serde_json::json!({ "full": true })),
        "order.partially_refunded" => order(
            Kind::RefundDone,
            serde_json::json!({ "full": false, "amount_fen": p.get("amount_fen") }),
        ),
        "group.joined" => {
            let Some(gid) = s(p, "group_id") else {
                return Vec::new();
            };
            let link = format!("/groups/{gid}");
            let member = s(p, "member_id");
            let leader = s(p, "leader_id");
            let seats =
                serde_json::json!({ "paid_seats": p.get("paid_seats"), "size": p.get("size") });
            let mut out = one(
                member,
                Kind::GroupJoined,
                serde_json::json!({ "group_id": gid, "role": "member", "seats": seats }),
                link.clone(),
            );
            if leader.is_some() && leader != member {
                out.extend(one(
                    leader,
                    Kind::GroupJoined,
                    serde_json::json!({ "group_id": gid, "role": "leader", "seats": seats }),
                    link,
                ));
            }
            out
        }
        "group.succeeded" | "group.failed" => {
            let Some(gid) = s(p, "group_id") else {
                return Vec::new();
            };
            let (kind, params) = if topic == "group.succeeded" {
                (Kind::GroupSucceeded, serde_json::json!({ "group_id": gid }))
            } else {
                (
                    Kind::GroupFailed,
                    serde_json::json!({ "group_id": gid, "reason": p.get("reason") }),
                )
            };
            many("member_ids", kind, params, format!("/groups/{gid}"))
        }
        "commission.pending" | "commission.available" => {
            let Some(oid) = s(p, "order_id") else {
                return Vec::new();
            };
            let kind = if topic == "commission.pending" {
                Kind::CommissionPending
            } else {
                Kind::CommissionAvailable
            };
            p.get("beneficiaries")
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|b| {
                            Some(Made {
                                account_id: s(b, "member_id")?.to_owned(),
                                kind,
                                params: serde_json::json!({ "order_id": oid, "amount_fen": b.get("amount_fen") }),
                                link: format!("/me/commissions/{oid}"),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default()
        }
        "withdrawal.paid" | "withdrawal.failed" | "withdrawal.rejected" => {
            let kind = if topic == "withdrawal.paid" {
                Kind::WithdrawalPaid
            } else {
                Kind::WithdrawalReturned
            };
            one(
                s(p, "member_id"),
                kind,
                serde_json::json!({
                    "withdrawal_id": p.get("withdrawal_id"), "amount_fen": p.get("amount_fen"),
                    "rejected": topic == "withdrawal.rejected",
                }),
                "/me/wallet".to_owned(),
            )
        }
        "share.signed_up" => one(
            s(p, "referrer_id"),
            Kind::ShareJoined,
            serde_json::json!({ "account_id": p.get("account_id"), "display_name": p.get("display_name") }),
            "/me/team".to_owned(),
        ),
        "comment.created" => {
            let (Some(pid), Some(author)) = (s(p, "post_id"), s(p, "author_id")) else {
                return Vec::new();
            };
            let link = format!("/posts/{pid}");
            let mut out = Vec::new();
            // A reply tells the comment's author first; the post's author hears of every
            // comment (once, when they wrote both).
            if let Some(parent) = s(p, "parent_author_id").filter(|w| *w != author) {
                out.extend(one(
                    Some(parent),
                    Kind::CommentReply,
                    serde_json::json!({ "post_id": pid, "comment_id": p.get("comment_id"), "reply": true }),
                    link.clone(),
                ));
            }
            if let Some(post_author) = s(p, "post_author_id")
                .filter(|w| *w != author && Some(*w) != s(p, "parent_author_id"))
            {
                out.extend(one(
                    Some(post_author),
                    Kind::CommentReply,
                    serde_json::json!({ "post_id": pid, "comment_id": p.get("comment_id"), "reply": false }),
                    link,
                ));
            }
            out
        }
        "review.replied" => {
            let (Some(mid), Some(pid)) = (merchant_id, s(p, "product_id")) else {
                return Vec::new();
            };
            one(
                s(p, "author_id"),
                Kind::ReviewReply,
                serde_json::json!({ "review_id": p.get("review_id"), "product_id": pid, "merchant_id": mid }),
                format!("/shops/{mid}/products/{pid}"),
            )
        }
        "community.joined" if s(p, "via") == Some("invite") => {
            let Some(cid) = s(p, "community_id") else {
                return Vec::new();
            };
            one(
                s(p, "invited_by").filter(|w| Some(*w) != s(p, "account_id")),
                Kind::InviteAccepted,
                serde_json::json!({ "community_id": cid, "account_id": p.get("account_id") }),
                format!("/communities/{cid}"),
            )
        }
        "merchant.approved" | "merchant.rejected" => {
            let Some(mid) = s(p, "merchant_id") else {
                return Vec::new();
            };
            let approved = topic == "merchant.approved";
            one(
                s(p, "owner_account_id"),
                Kind::MerchantDecided,
                serde_json::json!({
                    "merchant_id": mid, "approved": approved, "name": p.get("name"), "reason": p.get("reason"),
                }),
                if approved {
                    format!("/console/{mid}")
                } else {
                    "/console/apply".to_owned()
                },
            )
        }
        _ => Vec::new(),
    }
}

/// One round: makes the notifications of the outbox events after the cursor, queues their
/// outside deliveries, and moves the cursor — one transaction. Returns how many events
/// were new to the cursor (0: idle).
pub async fn make_notifications(app: &App) -> AppResult<usize> {
    let now = app.now_ms();
    let gap_expired = app.notify.gap_expired();
    let wechat_on = app.config.wechat_notify.is_some();
    let state = app.notify.clone();
    let (moved, hole) = app
        .db
        .write(move |c| {
            let cursor = store::lock_cursor(c)?;
            let events = store::outbox_after(c, cursor)?;
            let mut next = cursor;
            let mut hole = false;
            let mut made = Vec::new();
            for ev in &events {
                let id = ev.id;
                if !hole {
                    if id == next + 1 || gap_expired {
                        next = id;
                    } else {
                        hole = true;
                    }
                }
                let payload: Json = serde_json::from_str(&ev.payload).unwrap_or(Json::Null);
                made.extend(
                    made_from(&ev.topic, ev.merchant_id.as_deref(), &payload)
                        .into_iter()
                        .map(|m| (id, ev.created_at, m)),
                );
            }
            insert_all(c, &made, wechat_on, now)?;
            if next != cursor {
                store::advance_cursor(c, next)?;
            }
            Ok::<_, AppError>(((next - cursor) as usize, hole))
        })
        .await?;
    state.set_gap(hole);
    Ok(moved)
}

/// Writes the round's notifications (each `(outbox id, event time, what it makes)`) — one
/// statement for whether their members exist and multi-row inserts for the rows (32, 16,
/// …, 1 rows each: `store::insert_notifications`), not one statement each — and,
/// for each that is new (an event already made for the member, of its kind, is not
/// written again), the outside deliveries the member's preferences ask for.
fn insert_all(
    c: &mut dyn Conn,
    made: &[(i64, i64, Made)],
    wechat_on: bool,
    now: i64,
) -> AppResult<()> {
    if made.is_empty() {
        return Ok(());
    }
    let mut members: Vec<&str> = made.iter().map(|(_, _, m)| m.account_id.as_str()).collect();
    members.sort_unstable();
    members.dedup();
    let existing = store::existing_accounts(c, &members)?;
    let ids: Vec<String> = made.iter().map(|_| new_id()).collect();
    let params: Vec<String> = made.iter().map(|(_, _, m)| m.params.to_string()).collect();
    let rows: Vec<store::NewNotification<'_>> = made
        .iter()
        .zip(&ids)
        .zip(&params)
        .filter(|(((_, _, m), _), _)| existing.contains(&m.account_id))
        .map(
            |(((outbox_id, at, m), id), params)| store::NewNotification {
                id,
                account_id: &m.account_id,
                outbox_id: *outbox_id,
                kind: m.kind,
                params,
                link: &m.link,
                at: *at,
            },
        )
        .collect();
    let written: std::collections::HashSet<String> =
        store::insert_notifications(c, &rows)?.into_iter().collect();
    let mut prefs = Prefs::default();
    for n in rows.iter().filter(|n| written.contains(n.id)) {
        deliveries(c, &mut prefs, n.id, n.account_id, n.kind, wechat_on, now)?;
    }
    Ok(())
}

/// Queues the outside deliveries of a new notification that the member's preferences ask
/// for.
fn deliveries(
    c: &mut dyn Conn,
    prefs: &mut Prefs,
    id: &str,
    account_id: &str,
    kind: Kind,
    wechat_on: bool,
    now: i64,
) -> AppResult<()> {
    for ch in Channel::OUTSIDE {
        if ch == Channel::Wechat && !wechat_on {
            continue;
        }
        if !prefs.enabled(c, account_id, kind, ch)? {
            continue;
        }
        let did = new_id();
        if store::insert_delivery(c, &did, id, ch, now)? {
            jobs::enqueue_keyed(
                c,
                now,
                &DeliverNotification { delivery_id: did },
                now,
                DELIVERY_ATTEMPTS,
                Some(jobs::Keys {
                    tenant: ch.as_str(),
                    target: ch.as_str(),
                }),
            )?;
        }
    }
    Ok(())
}

/// The members' outside-channel choices, read once per member per round (a round makes
/// many notifications for the same few members: a buyer, a shop's owner, its sharers).
#[derive(Default)]
struct Prefs(std::collections::HashMap<String, Vec<(Kind, Channel)>>);

impl Prefs {
    /// Whether the member sends `kind` to `ch` (outside channels are off unless chosen).
    fn enabled(
        &mut self,
        c: &mut dyn Conn,
        account: &str,
        kind: Kind,
        ch: Channel,
    ) -> AppResult<bool> {
        if ch == Channel::InApp {
            return Ok(true);
        }
        if !self.0.contains_key(account) {
            let on = store::enabled_preferences(c, account)?;
            self.0.insert(account.to_owned(), on);
        }
        Ok(self
            .0
            .get(account)
            .is_some_and(|on| on.contains(&(kind, ch))))
    }
}

// ---------------------------------------------------------------------------------------
// Words

/// `2026-12-04 16:05` in Beijing time (UTC+8), for outside channels.
pub fn beijing_minutes(ms: i64) -> String {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// `¥12.34` from fen (the domain's one money formatter).
pub fn yuan(fen: i64) -> String {
    kith_domain::Fen::new(fen).to_string()
}

/// The title and body of a notification in a language (`en` or Chinese).
pub fn render(kind: Kind, p: &Json, en: bool) -> (String, String) {
    let fen = |k: &str| {
        p.get(k)
            .and_then(Json::as_i64)
            .map(yuan)
            .unwrap_or_default()
    };
    let flag = |k: &str| p.get(k).and_then(Json::as_bool).unwrap_or(false);
    let text = |k: &str| p.get(k).and_then(Json::as_str).unwrap_or("").to_owned();
    let short = |k: &str| {
        let t = text(k);
        t.chars().take(8).collect::<String>()
    };
    let (zt, zb, et, eb): (String, String, String, String) = match kind {
        Kind::OrderPaid => (
            "订单已支付".into(),
            format!("订单 {} 已支付,商家会尽快为你备货。", short("order_id")),
            "Order paid".into(),
            format!(
                "Order {} is paid; the shop will prepare it.",
                short("order_id")
            ),
        ),
        Kind::OrderShipped => (
            "订单已发货".into(),
            format!("订单 {} 已发货,请留意收货。", short("order_id")),
            "Order shipped".into(),
            format!("Order {} is on its way.", short("order_id")),
        ),
        Kind::OrderDelivered if flag("picked_up") => (
            "订单已自提".into(),
            format!("订单 {} 已在门店提货。", short("order_id")),
            "Order picked up".into(),
            format!("Order {} was picked up at the store.", short("order_id")),
        ),
        Kind::OrderDelivered => (
            "订单已送达".into(),
            format!("订单 {} 已送达。", short("order_id")),
            "Order delivered".into(),
            format!("Order {} was delivered.", short("order_id")),
        ),
        Kind::RefundDone if flag("full") => (
            "退款完成".into(),
            format!("订单 {} 已全额退款。", short("order_id")),
            "Refund done".into(),
            format!("Order {} was refunded in full.", short("order_id")),
        ),
        Kind::RefundDone => (
            "退款完成".into(),
            format!("订单 {} 已退款 {}。", short("order_id"), fen("amount_fen")),
            "Refund done".into(),
            format!(
                "{} of order {} was refunded.",
                fen("amount_fen"),
                short("order_id")
            ),
        ),
        Kind::GroupJoined if text("role") == "leader" => (
            "有人参加了你的拼团".into(),
            "又有一位成员加入了你发起的拼团。".into(),
            "Someone joined your group".into(),
            "Another member joined the group you opened.".into(),
        ),
        Kind::GroupJoined => (
            "参团成功".into(),
            "你已加入拼团,人满即成团。".into(),
            "You joined a group".into(),
            "You are in the group; it succeeds when it fills.".into(),
        ),
        Kind::GroupSucceeded => (
            "拼团成功".into(),
            "你参加的拼团已成团,订单将尽快发货。".into(),
            "Group succeeded".into(),
            "Your group filled; your order goes to fulfilment.".into(),
        ),
        Kind::GroupFailed => (
            "拼团失败".into(),
            "你参加的拼团未能成团,已支付的款项原路退回。".into(),
            "Group failed".into(),
            "Your group did not fill; what you paid is refunded.".into(),
        ),
        Kind::CommissionPending => (
            "佣金待结算".into(),
            format!("你分享的订单已支付,佣金 {} 待结算。", fen("amount_fen")),
            "Commission pending".into(),
            format!(
                "An order you shared was paid: {} commission is pending.",
                fen("amount_fen")
            ),
        ),
        Kind::CommissionAvailable => (
            "佣金可提现".into(),
            format!("佣金 {} 已结算,可以提现了。", fen("amount_fen")),
            "Commission available".into(),
            format!(
                "{} commission is now available to withdraw.",
                fen("amount_fen")
            ),
        ),
        Kind::WithdrawalPaid => (
            "提现到账".into(),
            format!("你的提现 {} 已打款。", fen("amount_fen")),
            "Withdrawal paid".into(),
            format!("Your withdrawal of {} was paid out.", fen("amount_fen")),
        ),
        Kind::WithdrawalReturned if flag("rejected") => (
            "提现被驳回".into(),
            format!(
                "你的提现 {} 未获批准,金额已退回可提现余额。",
                fen("amount_fen")
            ),
            "Withdrawal rejected".into(),
            format!(
                "Your withdrawal of {} was rejected; the money is back in your balance.",
                fen("amount_fen")
            ),
        ),
        Kind::WithdrawalReturned => (
            "提现退回".into(),
            format!(
                "你的提现 {} 打款失败,金额已退回可提现余额。",
                fen("amount_fen")
            ),
            "Withdrawal returned".into(),
            format!(
                "The payout of {} failed; the money is back in your balance.",
                fen("amount_fen")
            ),
        ),
        Kind::ShareJoined => (
            "新成员通过你的链接加入".into(),
            format!("{} 通过你的分享注册了。", text("display_name")),
            "Someone joined through your link".into(),
            format!("{} signed up through your share.", text("display_name")),
        ),
        Kind::CommentReply if flag("reply") => (
            "有人回复了你的评论".into(),
            "你的评论收到了新回复。".into(),
            "New reply to your comment".into(),
            "Someone replied to your comment.".into(),
        ),
        Kind::CommentReply => (
            "有人评论了你的帖子".into(),
            "你的帖子收到了新评论。".into(),
            "New comment on your post".into(),
            "Someone commented on your post.".into(),
        ),
        Kind::ReviewReply => (
            "商家回复了你的评价".into(),
            "商家回复了你的商品评价。".into(),
            "The shop answered your review".into(),
            "The shop replied to your product review.".into(),
        ),
        Kind::InviteAccepted => (
            "邀请已被接受".into(),
            "有人通过你的邀请加入了社群。".into(),
            "Invite accepted".into(),
            "Someone joined the community on your invite.".into(),
        ),
        Kind::MerchantDecided if flag("approved") => (
            "开店申请已通过".into(),
            format!("你的店铺「{}」已通过审核,可以开始经营了。", text("name")),
            "Shop approved".into(),
            format!("Your shop “{}” was approved.", text("name")),
        ),
        Kind::MerchantDecided => (
            "开店申请未通过".into(),
            format!("你的店铺「{}」未通过审核:{}", text("name"), text("reason")),
            "Shop application rejected".into(),
            format!(
                "Your shop “{}” was not approved: {}",
                text("name"),
                text("reason")
            ),
        ),
    };
    if en { (et, eb) } else { (zt, zb) }
}

// ---------------------------------------------------------------------------------------
// The inbox

/// A notification as its recipient reads it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: NotificationId,
    pub kind: Kind,
    pub title: String,
    pub body: String,
    /// The page of the thing (an order, a group, the wallet…), a path on this server.
    pub link: String,
    /// The sentence's values (ids, amounts in fen), for clients that word it themselves.
    #[schema(value_type = Object)]
    pub params: Json,
    pub created_at: String,
    pub read_at: Option<String>,
}

/// A member's choices for one kind.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, PartialEq, Eq)]
pub struct Preference {
    pub kind: Kind,
    /// Always true: the inbox keeps every notification.
    pub in_app: bool,
    pub wechat: bool,
    pub sms: bool,
}

/// What a member may choose, and what they chose.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Preferences {
    pub items: Vec<Preference>,
    /// Whether this server sends WeChat messages at all (a 公众号 is configured).
    pub wechat_available: bool,
    /// Whether the member has a WeChat openid kith may send to.
    pub wechat_linked: bool,
    /// Whether this server sends SMS notifications (an SMS provider is plugged in).
    pub sms_available: bool,
}

/// One kind's new choice; omitted channels keep theirs.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferenceChange {
    pub kind: String,
    pub in_app: Option<bool>,
    pub wechat: Option<bool>,
    pub sms: Option<bool>,
}

impl App {
    /// The caller's notifications, newest first, keyset paged.
    pub async fn my_notifications(
        &self,
        who: &Principal,
        page: PageRequest,
        en: bool,
    ) -> AppResult<Page<Notification>> {
        let me = who.account_id.clone();
        self.db
            .read(move |c| {
                let items = store::member_notifications(c, &me, &page, en)?;
                Ok(Page::from_keyed(items, page.limit, |n| &n.id))
            })
            .await
    }

    /// How many of the caller's notifications are unread (one indexed count).
    pub async fn unread_notifications(&self, who: &Principal) -> AppResult<i64> {
        let me = who.account_id.clone();
        self.db.read(move |c| store::count_unread(c, &me)).await
    }

    /// Marks one of the caller's notifications read (again: no change). Another member's
    /// answers 404, as an unknown id does.
    pub async fn mark_notification_read(
        &self,
        who: &Principal,
        id: &NotificationId,
        en: bool,
    ) -> AppResult<Notification> {
        let id = id.clone();
        let now = self.now_ms();
        let me = who.account_id.clone();
        self.db
            .write(move |c| {
                store::mark_read(c, &id, &me, now)?;
                store::member_notification(c, &id, &me, en)?
                    .ok_or(AppError::NotFound("notification"))
            })
            .await
    }

    /// Marks every unread notification of the caller read; returns how many.
    pub async fn mark_all_notifications_read(&self, who: &Principal) -> AppResult<i64> {
        let now = self.now_ms();
        let me = who.account_id.clone();
        self.db
            .write(move |c| store::mark_all_read(c, &me, now))
            .await
    }

    /// The caller's choices per kind and channel.
    pub async fn notification_preferences(&self, who: &Principal) -> AppResult<Preferences> {
        let me = who.account_id.clone();
        let wechat_available = self.config.wechat_notify.is_some();
        let sms_available = self.notify.adapter(self, Channel::Sms).is_some();
        let notify_app = self.config.wechat_notify.as_ref().map(|w| w.app_id.clone());
        self.db
            .read(move |c| {
                let rows = store::member_preferences(c, &me)?;
                let mut items: Vec<Preference> = Kind::ALL
                    .into_iter()
                    .map(|kind| Preference {
                        kind,
                        in_app: true,
                        wechat: false,
                        sms: false,
                    })
                    .collect();
                for (kind, ch, enabled) in &rows {
                    let (Some(kind), Some(ch)) = (Kind::parse(kind), Channel::parse(ch)) else {
                        continue;
                    };
                    if let Some(p) = items.iter_mut().find(|p| p.kind == kind) {
                        match ch {
                            Channel::Wechat => p.wechat = *enabled,
                            Channel::Sms => p.sms = *enabled,
                            Channel::InApp => {}
                        }
                    }
                }
                let wechat_linked = match &notify_app {
                    Some(app_id) => wechat::openid_in(c, &me, app_id)?.is_some(),
                    None => false,
                };
                Ok(Preferences {
                    items,
                    wechat_available,
                    wechat_linked,
                    sms_available,
                })
            })
            .await
    }

    /// Changes the caller's choices. The inbox cannot be turned off (422 on `in_app`).
    pub async fn set_notification_preferences(
        &self,
        who: &Principal,
        changes: Vec<PreferenceChange>,
    ) -> AppResult<Preferences> {
        if changes.len() > Kind::ALL.len() * 2 {
            return Err(AppError::invalid("preferences", "too many entries"));
        }
        let mut parsed = Vec::with_capacity(changes.len());
        for (i, ch) in changes.into_iter().enumerate() {
            let kind = Kind::parse(&ch.kind).ok_or_else(|| {
                AppError::invalid(
                    format!("preferences[{i}].kind"),
                    "is not a kind of notification",
                )
            })?;
            if ch.in_app == Some(false) {
                return Err(AppError::invalid(
                    format!("preferences[{i}].in_app"),
                    "the inbox keeps every notification and cannot be turned off",
                ));
            }
            parsed.push((kind, ch.wechat, ch.sms));
        }
        let now = self.now_ms();
        let me = who.account_id.clone();
        self.db
            .write(move |c| {
                for (kind, wechat, sms) in &parsed {
                    for (ch, v) in [(Channel::Wechat, wechat), (Channel::Sms, sms)] {
                        let Some(v) = v else { continue };
                        store::upsert_preference(c, &me, *kind, ch, *v, now)?;
                    }
                }
                Ok::<_, AppError>(())
            })
            .await?;
        self.notification_preferences(who).await
    }

    /// Records the 公众号 openid WeChat messages to `account_id` go to. Called by the
    /// WeChat sign-in when it learns the openid (`snsapi_base` / `snsapi_userinfo`); kith
    /// never makes one up, and a member without one is not sent WeChat messages.
    pub async fn set_wechat_openid(&self, account_id: &AccountId, openid: &str) -> AppResult<()> {
        let openid = openid.trim().to_owned();
        if openid.is_empty()
            || openid.len() > 128
            || !openid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(AppError::invalid("openid", "is not a WeChat openid"));
        }
        let now = self.now_ms();
        let account = account_id.clone();
        self.db
            .write(move |c| store::upsert_wechat_openid(c, &account, &openid, now))
            .await
    }
}

// ---------------------------------------------------------------------------------------
// Delivery

/// Sends one notification to one outside channel (`notification_deliveries` row).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliverNotification {
    pub delivery_id: String,
}

impl Job for DeliverNotification {
    const KIND: &'static str = "notify.deliver";
    const MAX_ATTEMPTS: i64 = DELIVERY_ATTEMPTS;
    const LANE: Lane = Lane::Delivery;

    async fn run(self, app: &App, attempt: &ClaimedJob) -> Result<(), JobError> {
        deliver(app, &self.delivery_id, attempt).await
    }
}

/// A delivery as the job reads it.
struct Pending {
    status: String,
    channel: Channel,
    msg: Outgoing,
}

async fn load(app: &App, delivery_id: &str) -> AppResult<Option<Pending>> {
    let id = delivery_id.to_owned();
    let base = app.config.public_url.trim_end_matches('/').to_owned();
    app.db
        .read(move |c| {
            let Some(r) = store::delivery(c, &id)? else {
                return Ok(None);
            };
            Ok(Some(Pending {
                status: r.status,
                channel: r.channel,
                msg: Outgoing {
                    notification_id: r.notification_id,
                    account_id: r.account_id,
                    kind: r.kind,
                    params: r.params,
                    url: format!("{base}{}", r.link),
                },
            }))
        })
        .await
}

/// Ends a pending delivery (only a pending one: a second run changes nothing).
async fn settle(
    app: &App,
    delivery_id: &str,
    status: &'static str,
    code: Option<i64>,
    error: Option<String>,
) -> AppResult<bool> {
    let now = app.now_ms();
    let id = delivery_id.to_owned();
    app.db
        .write(move |c| {
            let finished = (status != "pending").then_some(now);
            store::settle_delivery(c, &id, status, code, error.as_deref(), finished)
        })
        .await
}

async fn deliver(app: &App, delivery_id: &str, attempt: &ClaimedJob) -> Result<(), JobError> {
    let Some(p) = load(app, delivery_id).await? else {
        return Ok(());
    };
    if p.status != "pending" {
        // Sent, refused or ended already: never twice.
        return Ok(());
    }
    let Some(adapter) = app.notify.adapter(app, p.channel) else {
        settle(
            app,
            delivery_id,
            "skipped",
            None,
            Some(format!(
                "the {} channel is not configured",
                p.channel.as_str()
            )),
        )
        .await?;
        return Ok(());
    };
    match adapter.deliver(app, &p.msg).await {
        Outcome::Sent => {
            settle(app, delivery_id, "sent", None, None).await?;
            Ok(())
        }
        Outcome::Skipped(why) => {
            settle(app, delivery_id, "skipped", None, Some(why)).await?;
            Ok(())
        }
        Outcome::Refused { code, message } => {
            settle(app, delivery_id, "refused", Some(code), Some(message)).await?;
            Ok(())
        }
        Outcome::Failed { code, message } => {
            let last = attempt.is_last_attempt();
            settle(
                app,
                delivery_id,
                if last { "failed" } else { "pending" },
                code,
                Some(message.clone()),
            )
            .await?;
            Err(JobError::Outside(message))
        }
    }
}

/// A member's deliveries, newest first: for tests and support.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub notification_id: NotificationId,
    pub kind: String,
    pub channel: String,
    pub status: String,
    pub attempts: i64,
    pub error_code: Option<i64>,
}

impl App {
    /// The outside deliveries of the caller's notifications (status, attempts, the
    /// channel's last error code).
    pub async fn my_notification_deliveries(
        &self,
        who: &Principal,
    ) -> AppResult<Vec<DeliveryRecord>> {
        let me = who.account_id.clone();
        self.db
            .read(move |c| store::member_deliveries(c, &me))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_and_renders_in_both_languages() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
            let (zt, zb) = render(
                k,
                &serde_json::json!({ "amount_fen": 1234, "order_id": "abc" }),
                false,
            );
            let (et, eb) = render(
                k,
                &serde_json::json!({ "amount_fen": 1234, "order_id": "abc" }),
                true,
            );
            assert!(!zt.is_empty() && !zb.is_empty() && !et.is_empty() && !eb.is_empty());
            assert_ne!(zt, et);
        }
        assert_eq!(yuan(1234), "¥12.34");
        assert_eq!(yuan(-5), "-¥0.05");
    }

    #[test]
    fn a_comment_tells_the_post_author_and_the_answered_once_each() {
        let p = serde_json::json!({
            "comment_id": "c", "post_id": "p", "author_id": "a",
            "post_author_id": "b", "parent_author_id": "b",
        });
        let made = made_from("comment.created", None, &p);
        assert_eq!(made.len(), 1);
        assert_eq!(made[0].account_id, "b");
        let own = serde_json::json!({ "post_id": "p", "author_id": "a", "post_author_id": "a" });
        assert!(made_from("comment.created", None, &own).is_empty());
        // An event from before the recipients were added makes nothing.
        assert!(
            made_from(
                "withdrawal.paid",
                None,
                &serde_json::json!({ "withdrawal_id": "w" })
            )
            .is_empty()
        );
    }
}
