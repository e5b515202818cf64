//! `kith bench groupbuy`: group-buy joins under contention, against checkout in the same
//! run (docs/PRODUCT.md §7).
//!
//! 1. **the limit**: checkout + wallet payment on one hot SKU (`App::checkout` +
//!    `App::pay_with_wallet`) — the ordinary order a group-buy order is compared with: one
//!    SKU, so every order contends on one stock row, as every seat of a campaign does;
//! 2. **joins**: `App::join_group` + `App::pay_with_wallet` on one campaign. Groups of
//!    three were opened and paid by their leaders beforehand; every group gets four join
//!    attempts from four different members, taken in turn by the concurrent tasks, so
//!    attempts race for the last two seats of the same groups: two win (the second makes
//!    the group succeed and moves its three orders to fulfilment), two are refused. Each
//!    seat is taken by conditional updates on the campaign's row and the group's row.
//!
//! Reports joins per second (seats won and paid) and attempts per second, and ends with
//! `ratio groupbuy_join_vs_hot_sku_checkout` (paid joins/s ÷ paid hot-SKU orders/s).
//! Afterwards it checks the work really happened: every group succeeded with exactly three
//! paid seats and no seat was sold twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use kith_app::AppError;
use kith_app::group_buy::{CampaignInput, SeatInput};
use kith_domain::order::DeliveryMethod;
use kith_store::{StoreError, args};

use super::{
    CheckoutArgs, PRICE_FEN, Phase, address, app_err, buy, open_bench, print_phases, run_parallel,
    seed, timed,
};

/// Group size and the group price (below the SKUs' list price).
const SIZE: usize = 3;
const GROUP_PRICE_FEN: i64 = 80;
/// Join attempts per group: two of them win the two seats left after the leader's.
const ATTEMPTS_PER_GROUP: usize = 4;

fn seat() -> SeatInput {
    SeatInput {
        coupon_id: None,
        points: None,
        delivery: DeliveryMethod::Shipping,
        pickup_store_id: None,
        address: Some(address()),
    }
}

pub async fn run(args: CheckoutArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let (_, order_count, _) = args.scale.sizes();
    let concurrency = args.concurrency.clamp(1, 1024);
    let warm_orders = (order_count / 20).max(2 * concurrency);
    let groups = (order_count / ATTEMPTS_PER_GROUP).max(1);
    let attempts = groups * ATTEMPTS_PER_GROUP;
    // Each member holds at most 100 seats of a campaign: enough members that every
    // member's seats fit (leading groups/n groups, and trying for a seat in 4·groups/n).
    let buyers = super::BUYERS.max((5 * groups).div_ceil(90));
    let bench = open_bench(&args).await?;
    let (db, app) = (bench.db.clone(), bench.app.clone());
    println!(
        "kith bench groupbuy: scale {}, {} ({}), {concurrency} concurrent tasks, pool {}",
        args.scale.name(),
        db.describe(),
        bench.sync_mode,
        bench.pool_size
    );

    let seed_start = Instant::now();
    // Wallets: each member's share of the hot-SKU orders, plus the groups it may lead and
    // every seat it may win (it tries in four groups per `buyers` groups).
    let per_member = (warm_orders + order_count).div_ceil(buyers) + 5 * groups.div_ceil(buyers) + 1;
    let orders_total = per_member * buyers;
    let world = Arc::new(seed(&app, 1, orders_total, concurrency, buyers).await?);
    let campaign_sku = world.skus[0].clone();
    let campaign = app
        .create_group_campaign(
            &world.owner,
            &kith_app::platform::ids::MerchantId::parse_or_404(&world.merchant)?,
            CampaignInput {
                sku_id: campaign_sku,
                title: Some("基准三人团".into()),
                group_size: SIZE as i64,
                group_price_fen: GROUP_PRICE_FEN,
                leader_price_fen: None,
                duration_secs: None,
                starts_at: None,
                ends_at: kith_app::rfc3339(app.now_ms() + 7 * 24 * 3600 * 1000),
                stock_limit: kith_domain::group_buy::MAX_STOCK_LIMIT,
                per_member_limit: Some(kith_domain::group_buy::MAX_PER_MEMBER),
                commission: Some(false),
                leader_bp: Some(0),
            },
        )
        .await
        .map_err(app_err("create campaign"))?;
    // The groups, opened and paid by their leaders (member g % n leads group g).
    let (a, w, cid) = (app.clone(), world.clone(), campaign.id.clone());
    let group_ids = Arc::new(
        run_parallel(groups, concurrency, move |g| {
            let (app, w, cid) = (a.clone(), w.clone(), cid.clone());
            async move {
                let leader = &w.buyers[g % w.buyers.len()];
                let s = app
                    .open_group(leader, &cid, seat())
                    .await
                    .map_err(app_err("open group"))?;
                app.pay_with_wallet(leader, &s.order.id)
                    .await
                    .map_err(app_err("leader pays"))?;
                Ok(s.group.id)
            }
        })
        .await?,
    );
    let seed_secs = seed_start.elapsed().as_secs_f64();
    println!(
        "seed: 1 merchant, {} members, a campaign of {groups} groups of {SIZE} opened and paid by their leaders ({seed_secs:.1} s)",
        world.buyers.len()
    );

    // 1. The limit: checkout + pay on one hot SKU.
    let hot = {
        let (app, w) = (app.clone(), world.clone());
        timed(
            "hot_sku_checkout",
            "orders",
            warm_orders,
            order_count,
            concurrency,
            move |i| {
                let (app, w) = (app.clone(), w.clone());
                async move {
                    buy(&app, &w.merchant, &w.buyers[i % w.buyers.len()], &w.hot_sku).await
                }
            },
        )
        .await?
    };

    // 2. Join attempts racing for the last seats: attempt i goes to group i / 4, from the
    // four members after its leader.
    let won = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let join_start = Instant::now();
    {
        let (app, w, ids, won, refused) = (
            app.clone(),
            world.clone(),
            group_ids.clone(),
            won.clone(),
            refused.clone(),
        );
        run_parallel(attempts, concurrency, move |i| {
            let (app, w, ids, won, refused) = (
                app.clone(),
                w.clone(),
                ids.clone(),
                won.clone(),
                refused.clone(),
            );
            async move {
                let g = i / ATTEMPTS_PER_GROUP;
                let n = w.buyers.len();
                let member = &w.buyers[(g + 1 + i % ATTEMPTS_PER_GROUP) % n];
                match app.join_group(member, &ids[g], seat()).await {
                    Ok(s) => {
                        app.pay_with_wallet(member, &s.order.id)
                            .await
                            .map_err(app_err("pay for a seat"))?;
                        won.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(AppError::Conflict { .. }) => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => return Err(anyhow::anyhow!("join: {e}")),
                }
                Ok(())
            }
        })
        .await?;
    }
    let join_secs = join_start.elapsed().as_secs_f64();
    let (won, refused) = (won.load(Ordering::Relaxed), refused.load(Ordering::Relaxed));
    eprintln!(
        "  group_join: {attempts} attempts ({won} won, {refused} refused) in {join_secs:.3} s"
    );
    let joins = Phase {
        name: "group_join",
        unit: "seats",
        count: won,
        seconds: join_secs,
    };
    let tries = Phase {
        name: "join_attempts",
        unit: "tries",
        count: attempts,
        seconds: join_secs,
    };

    // The work really happened: every group succeeded with exactly SIZE paid seats.
    let cid = campaign.id.clone();
    let (succeeded, paid_seats, over) = db
        .read(move |c| {
            let r = c.query_one(
                "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(paid_seats), 0) AS BIGINT),
                        CAST(COALESCE(SUM(CASE WHEN paid_seats > size THEN 1 ELSE 0 END), 0) AS BIGINT)
                 FROM buy_groups WHERE campaign_id = $1 AND status = 'succeeded'",
                args![&cid],
            )?;
            Ok::<_, StoreError>((r.int(0)?, r.int(1)?, r.int(2)?))
        })
        .await?;
    anyhow::ensure!(
        over == 0 && succeeded as usize == groups && paid_seats as usize == SIZE * groups,
        "expected {groups} succeeded groups with {} paid seats, found {succeeded} with {paid_seats} ({over} over size)",
        SIZE * groups
    );
    anyhow::ensure!(
        won == (SIZE - 1) * groups && refused == attempts - won,
        "expected {} seats won and the rest refused, found {won} won, {refused} refused",
        (SIZE - 1) * groups
    );

    print_phases(&[&hot, &joins, &tries]);
    let ratio = joins.per_second() / hot.per_second();
    let total_secs = started.elapsed().as_secs_f64();
    println!(
        "(a seat won is two transactions: the join placing its order, then the wallet payment — every \
         third one making its group succeed; a refused attempt is one; group price {GROUP_PRICE_FEN} fen \
         vs list {PRICE_FEN}; whole run {total_secs:.1} s)"
    );
    println!();
    if args.json {
        let doc = serde_json::json!({
            "bench": "groupbuy",
            "scale": args.scale.name(),
            "engine": bench.engine,
            "storage": db.describe(),
            "sync": bench.sync_mode,
            "concurrency": concurrency,
            "pool_size": bench.pool_size,
            "groups": groups,
            "members": world.buyers.len(),
            "seed_seconds": seed_secs,
            "total_seconds": total_secs,
            "phases": {
                "hot_sku_checkout": hot.json(),
                "group_join": joins.json(),
                "join_attempts": tries.json(),
            },
            "ratios": { "groupbuy_join_vs_hot_sku_checkout": ratio },
        });
        println!("{doc}");
    }
    println!("ratio groupbuy_join_vs_hot_sku_checkout {ratio:.3}");
    Ok(())
}
