//! Group-buys (拼团) in the demo world, made through the use cases after the rest of the
//! world exists ([`crate::demo`] calls [`build`]): a campaign on each shop and one group in
//! each state a visitor should see —
//! - **running** at the liquor shop (三人团, 团长免单): opened three hours ago, 2 of 3
//!   seats paid, about 21 hours left;
//! - **succeeded** at the baby shop: three members paid, their orders are fulfilling;
//! - **failed** at the fruit shop: opened 30 hours ago with a 24-hour limit, two paid seats,
//!   the time ran out and both members were refunded to their wallets.
//!
//! Past moments use the same trick as the money-sharing story: an `App` whose clock runs
//! behind (same storage, same rules). The failed group's expiry job is run for that group
//! once the real clock is past it. Members are demo members [`RUNNING`], [`SUCCEEDED`] and
//! [`FAILED`] (leaders first); they pay with wallets topped up through the sandbox gateway's
//! signed callback, so nothing is left on them except the failed group's refunds.

use std::sync::Arc;

use kith_app::commerce::orders::Address;
use kith_app::group_buy::{Campaign, CampaignId, CampaignInput, GroupId, SeatInput};
use kith_app::platform::ids::MerchantId;
use kith_app::{App, AppError, Principal};
use kith_domain::Clock;
use kith_domain::order::DeliveryMethod;

use crate::demo::{DEMO_PASSWORD, member_phone};

/// Demo members (indices for [`member_phone`]) in the running group at the liquor shop:
/// the leader, then the member who joined. The third seat is free.
pub const RUNNING: [usize; 2] = [200, 201];
/// Demo members in the succeeded group at the baby shop, the leader first.
pub const SUCCEEDED: [usize; 3] = [203, 204, 205];
/// Demo members in the failed group at the fruit shop (refunded), the leader first.
pub const FAILED: [usize; 2] = [206, 207];

const HOUR_MS: i64 = 3600 * 1000;

fn e(err: AppError) -> anyhow::Error {
    anyhow::anyhow!("demo group-buy: {err}")
}

/// A clock `by_ms` behind another.
#[derive(Debug)]
struct Earlier {
    clock: Arc<dyn Clock>,
    by_ms: i64,
}

impl Clock for Earlier {
    fn now_ms(&self) -> i64 {
        self.clock.now_ms() - self.by_ms
    }
}

/// The app as it was `hours` ago (its own rate-limit windows).
fn hours_ago(app: &App, hours: i64) -> App {
    App {
        clock: Arc::new(Earlier {
            clock: app.clock.clone(),
            by_ms: hours * HOUR_MS,
        }),
        limits: Default::default(),
        ..app.clone()
    }
}

async fn login(app: &App, phone: &str) -> anyhow::Result<Principal> {
    let s = app.login(phone, DEMO_PASSWORD, "demo").await.map_err(e)?;
    Ok(Principal {
        account_id: s.account.id.to_string(),
        is_platform_admin: s.account.is_platform_admin,
    })
}

/// Tops up a wallet the way the sandbox gateway does (a signed callback), now.
async fn top_up(app: &App, who: &Principal, fen: i64) -> anyhow::Result<()> {
    let p = app.start_topup(who, fen).await.map_err(e)?;
    let body = serde_json::to_vec(&kith_app::commerce::payments::CallbackBody {
        event_id: format!("demo-{}", p.id),
        payment_id: p.id.to_string(),
        status: "succeeded".into(),
        amount_fen: fen,
    })?;
    let sig = kith_domain::signature::sign(
        app.config.sandbox_secret.as_bytes(),
        app.now_ms() / 1000,
        &body,
    );
    app.payment_callback("sandbox", &sig, &body)
        .await
        .map_err(e)?;
    Ok(())
}

/// The owner's shop and the SKU with `code` there: (owner, merchant id, SKU id).
async fn shop_sku(
    app: &App,
    owner_phone: &str,
    code: &str,
) -> anyhow::Result<(Principal, String, String)> {
    let (owner, mid, skus) = crate::demo::owner_shop(app, owner_phone).await?;
    let sku = skus
        .into_iter()
        .find(|s| s.code == code)
        .ok_or_else(|| anyhow::anyhow!("demo group-buy: no SKU {code}"))?;
    Ok((owner, mid.to_string(), sku.id.to_string()))
}

struct Terms {
    title: &'static str,
    group_price_fen: i64,
    leader_price_fen: Option<i64>,
}

async fn campaign(
    app: &App,
    (owner, mid, sku): &(Principal, String, String),
    t: Terms,
) -> anyhow::Result<Campaign> {
    let ends = kith_app::rfc3339(app.now_ms() + 30 * 24 * HOUR_MS);
    app.create_group_campaign(
        owner,
        &MerchantId::parse_or_404(mid).map_err(e)?,
        CampaignInput {
            sku_id: sku.clone(),
            title: Some(t.title.into()),
            group_size: 3,
            group_price_fen: t.group_price_fen,
            leader_price_fen: t.leader_price_fen,
            duration_secs: None,
            starts_at: None,
            ends_at: ends,
            stock_limit: 300,
            per_member_limit: Some(1),
            commission: Some(false),
            leader_bp: Some(0),
        },
    )
    .await
    .map_err(e)
}

/// Demo member `i`, their seat's delivery (shipped to their demo address).
async fn seat_of(app: &App, i: usize) -> anyhow::Result<(Principal, SeatInput)> {
    let phone = member_phone(i);
    let who = login(app, &phone).await?;
    let me = app.me(&who).await.map_err(e)?;
    let input = SeatInput {
        coupon_id: None,
        points: None,
        delivery: DeliveryMethod::Shipping,
        pickup_store_id: None,
        address: Some(Address {
            name: me.account.display_name,
            phone,
            province: "浙江省".into(),
            city: "杭州市".into(),
            district: "西湖区".into(),
            detail: format!("文三路 {} 号", 300 + i),
        }),
    };
    Ok((who, input))
}

/// Opens (`group` None) or joins a group as demo member `i` at `at`'s time and pays for the
/// seat from the wallet, topped up just enough now. The group's id.
async fn seat(
    app: &App,
    at: &App,
    i: usize,
    campaign_id: &CampaignId,
    group: Option<&GroupId>,
) -> anyhow::Result<GroupId> {
    let (who, input) = seat_of(app, i).await?;
    let s = match group {
        None => at.open_group(&who, campaign_id, input).await,
        Some(g) => at.join_group(&who, g, input).await,
    }
    .map_err(e)?;
    if s.order.total_fen.get() > 0 {
        top_up(app, &who, s.order.total_fen.get()).await?;
    }
    at.pay_with_wallet(&who, &s.order.id).await.map_err(e)?;
    Ok(s.group.id)
}

/// Makes the demo's group-buys (see the module docs).
pub(crate) async fn build(app: &App) -> anyhow::Result<()> {
    // Running: the liquor shop's 三人团 with the leader free, two of three seats paid.
    let liquor = shop_sku(app, "13800000001", "JX05-500").await?;
    // Campaigns start a day back, so groups opened hours ago are inside their window.
    let yesterday = hours_ago(app, 24);
    let k = campaign(
        &yesterday,
        &liquor,
        Terms {
            title: "五年窖藏三人团 · 团长免单",
            group_price_fen: 15_900,
            leader_price_fen: Some(0),
        },
    )
    .await?;
    let gid = seat(app, &hours_ago(app, 3), RUNNING[0], &k.id, None).await?;
    seat(app, &hours_ago(app, 2), RUNNING[1], &k.id, Some(&gid)).await?;

    // Succeeded: three mothers filled the baby shop's group this morning.
    let baby = shop_sku(app, "13800000002", "DIAPER-M").await?;
    let k = campaign(
        &yesterday,
        &baby,
        Terms {
            title: "纸尿裤三人团",
            group_price_fen: 9_900,
            leader_price_fen: Some(8_900),
        },
    )
    .await?;
    let gid = seat(app, &hours_ago(app, 6), SUCCEEDED[0], &k.id, None).await?;
    seat(app, &hours_ago(app, 5), SUCCEEDED[1], &k.id, Some(&gid)).await?;
    seat(app, &hours_ago(app, 4), SUCCEEDED[2], &k.id, Some(&gid)).await?;

    // Failed: the fruit shop's campaign started 30 hours ago; a group of two paid seats
    // waited its 24 hours for a third and failed; both were refunded.
    let fruit = shop_sku(app, "13800000006", "ORANGE-5").await?;
    let then = hours_ago(app, 30);
    let k = campaign(
        &then,
        &fruit,
        Terms {
            title: "褚橙三人团",
            group_price_fen: 7_900,
            leader_price_fen: None,
        },
    )
    .await?;
    let gid = seat(app, &then, FAILED[0], &k.id, None).await?;
    seat(app, &hours_ago(app, 29), FAILED[1], &k.id, Some(&gid)).await?;
    kith_app::group_buy::expire_group(app, gid.clone())
        .await
        .map_err(|m| anyhow::anyhow!("demo group-buy: expiring {gid}: {m}"))?;
    Ok(())
}
