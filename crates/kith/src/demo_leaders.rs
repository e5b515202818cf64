//! 社区团购 in the demo world, made through the use cases after the rest of it exists
//! ([`crate::demo`] calls [`build`]): at the fruit shop a 团长 ([`LEADER`]) runs the point
//! 幸福里驿站 with a helper ([`HELPER`]); an open 接龙 batch (明日褚橙接龙, cut-off in 20
//! hours) has joins from [`JOINERS`], each paid from a wallet topped up through the sandbox
//! gateway's signed callback — so a visitor sees the 接龙 list, the countdown, the join
//! form, and (as the 团长) the point, its helper, the desk and the form for a batch of
//! their own (the shop lets its 团长 sell the oranges); the shop sees [`APPLICANT`]'s
//! application waiting for its answer.

use kith_app::neighbourhood::{
    BatchInput, BatchItemInput, JoinInput, JoinLine, LeaderInput, LeaderProductInput,
};
use kith_app::{App, AppError, Principal};
use kith_domain::store::OpeningWindow;

use crate::demo::{DEMO_PASSWORD, member_phone};

/// The demo member who leads the fruit shop's point.
pub const LEADER: usize = 210;
/// The member the 团长 named as helper at the point.
pub const HELPER: usize = 216;
/// Members who joined the open batch (1, 2, 1, 2, 1 units).
pub const JOINERS: [usize; 5] = [211, 212, 213, 214, 215];
/// A member whose application to lead a point waits for the fruit shop's answer.
pub const APPLICANT: usize = 217;
/// The open batch's title.
pub const BATCH_TITLE: &str = "明日褚橙接龙";

const HOUR_MS: i64 = 3600 * 1000;

fn e(err: AppError) -> anyhow::Error {
    anyhow::anyhow!("demo 社区团购: {err}")
}

async fn login(app: &App, i: usize) -> anyhow::Result<Principal> {
    let s = app
        .login(&member_phone(i), DEMO_PASSWORD, "demo")
        .await
        .map_err(e)?;
    Ok(Principal {
        account_id: s.account.id.to_string(),
        is_platform_admin: s.account.is_platform_admin,
    })
}

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

/// Makes the demo's 团长, point, helper and open batch (see the module docs).
pub(crate) async fn build(app: &App) -> anyhow::Result<()> {
    let (owner, mid, skus) = crate::demo::owner_shop(app, "13800000006").await?;
    let sku = skus
        .into_iter()
        .find(|s| s.code == "ORANGE-5")
        .ok_or_else(|| anyhow::anyhow!("demo 社区团购: no SKU ORANGE-5"))?;

    let leader = login(app, LEADER).await?;
    let hours = (1..=7)
        .map(|weekday| OpeningWindow {
            weekday,
            opens: "08:00".into(),
            closes: "21:00".into(),
        })
        .collect();
    let l = app
        .apply_leader(
            &leader,
            &mid,
            LeaderInput {
                point_name: Some("幸福里驿站".into()),
                address: Some("幸福里小区 3 栋楼下便利店".into()),
                latitude: Some(30.2741),
                longitude: Some(120.1551),
                opening_hours: Some(hours),
                capacity: Some(80),
            },
        )
        .await
        .map_err(e)?;
    app.approve_leader(&owner, &l.id, 0).await.map_err(e)?;
    // What the shop lets its 团长 sell in batches of their own: the oranges, at no less than
    // 七折 and at most 200 boxes a batch.
    app.set_leader_products(
        &owner,
        &mid,
        vec![LeaderProductInput {
            sku_id: sku.id.to_string(),
            floor_price_fen: sku.list_price_fen.get() * 7 / 10,
            max_quantity: 200,
        }],
    )
    .await
    .map_err(e)?;
    // A neighbour asks to open a second point; the shop has not answered yet.
    let applicant = login(app, APPLICANT).await?;
    app.apply_leader(
        &applicant,
        &mid,
        LeaderInput {
            point_name: Some("桂花苑自提点".into()),
            address: Some("桂花苑小区北门快递柜旁".into()),
            latitude: Some(30.2790),
            longitude: Some(120.1602),
            opening_hours: Some(
                (1..=7)
                    .map(|weekday| OpeningWindow {
                        weekday,
                        opens: "09:00".into(),
                        closes: "20:00".into(),
                    })
                    .collect(),
            ),
            capacity: Some(40),
        },
    )
    .await
    .map_err(e)?;
    let helper = login(app, HELPER).await?;
    app.add_leader_helper(&leader, &l.id, &helper.account_id)
        .await
        .map_err(e)?;

    let now = app.now_ms();
    let pickup_date = kith_app::rfc3339(now + 32 * HOUR_MS)[..10].to_owned();
    let b = app
        .create_batch(
            &owner,
            &mid,
            BatchInput {
                title: BATCH_TITLE.into(),
                starts_at: None,
                cutoff_at: kith_app::rfc3339(now + 20 * HOUR_MS),
                pickup_date,
                min_total_units: Some(5),
                items: vec![BatchItemInput {
                    sku_id: sku.id.to_string(),
                    price_fen: sku.list_price_fen.get() * 8 / 10,
                    per_member_limit: 3,
                    quantity_limit: 60,
                }],
            },
        )
        .await
        .map_err(e)?;
    for (n, i) in JOINERS.into_iter().enumerate() {
        let who = login(app, i).await?;
        app.choose_leader(&who, &mid, &l.id).await.map_err(e)?;
        let j = app
            .join_batch(
                &who,
                &b.id,
                JoinInput {
                    items: vec![JoinLine {
                        sku_id: sku.id.to_string(),
                        quantity: 1 + (n as i64 % 2),
                    }],
                },
            )
            .await
            .map_err(e)?;
        top_up(app, &who, j.order.total_fen.get()).await?;
        app.pay_with_wallet(&who, &j.order.id).await.map_err(e)?;
    }
    Ok(())
}
