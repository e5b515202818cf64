//! `kith bench flashsale`: a 限时秒杀 on one hot SKU under many concurrent buyers, against
//! checkout spread over many SKUs in the same run (docs/PRODUCT.md §7, issue 19).
//!
//! 1. **the limit**: checkout + wallet payment spread over the seeded SKUs
//!    (`App::checkout` + `App::pay_with_wallet`) — the multi-SKU rate of `bench checkout`;
//! 2. **the flash sale**: one slot on one SKU with a quota of the phase's order count
//!    (1,000 at small scale, 10,000 at reference); 20 % more attempts than the quota race
//!    for it (`App::buy_flash_sale`, then the wallet payment of each order won). Every
//!    attempt contends on the slot's row (its quota, taken by one conditional update) and
//!    the SKU's stock row; the extra attempts are refused `flash_sold_out`.
//!
//! Reports paid flash orders per second and attempts per second, and ends with
//! `ratio flashsale_vs_checkout` (paid flash orders/s ÷ paid spread checkouts/s).
//! Afterwards it checks that nothing oversold: exactly the quota was won and paid, the
//! slot's `sold` equals its quota and no more orders carry the slot than the quota.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use kith_app::AppError;
use kith_app::commerce::promotions::flash::{FlashOrderInput, NewFlashSale, NewFlashSlot};
use kith_domain::order::DeliveryMethod;
use kith_store::{StoreError, args};

use super::{
    CheckoutArgs, PRICE_FEN, Phase, address, app_err, buy, open_bench, print_phases, run_parallel,
    seed, timed,
};

/// The flash price (below the SKUs' list price).
const FLASH_PRICE_FEN: i64 = 60;

pub async fn run(args: CheckoutArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let (_, order_count, sku_count) = args.scale.sizes();
    let concurrency = args.concurrency.clamp(1, 1024);
    let warm_orders = (order_count / 20).max(2 * concurrency);
    let quota = order_count;
    let attempts = quota + quota / 5;
    // A member buys at most 100 units of a sale: enough members that the quota fits.
    let per_member = kith_domain::flash_sale::MAX_PER_MEMBER;
    let buyers = super::BUYERS.max(attempts.div_ceil(per_member as usize / 2));
    let bench = open_bench(&args).await?;
    let (db, app) = (bench.db.clone(), bench.app.clone());
    println!(
        "kith bench flashsale: scale {}, {} ({}), {concurrency} concurrent tasks, pool {}",
        args.scale.name(),
        db.describe(),
        bench.sync_mode,
        bench.pool_size
    );

    let seed_start = Instant::now();
    let orders_total = warm_orders + order_count + attempts + buyers;
    let world = Arc::new(seed(&app, sku_count, orders_total, concurrency, buyers).await?);
    let now = app.now_ms();
    let sale = app
        .create_flash_sale(
            &world.owner,
            &kith_app::platform::ids::MerchantId::parse_or_404(&world.merchant)?,
            NewFlashSale {
                name: "基准整点秒杀".into(),
                sku_id: world.hot_sku.clone(),
                price_fen: FLASH_PRICE_FEN,
                per_member_limit: Some(per_member),
                per_order_limit: Some(1),
                unpaid_timeout_minutes: Some(30),
                allow_coupons: false,
                slots: vec![NewFlashSlot {
                    starts_at: kith_app::rfc3339(now - 1_000),
                    ends_at: kith_app::rfc3339(now + 24 * 3_600_000),
                    quota: quota as i64,
                }],
            },
        )
        .await
        .map_err(app_err("create flash sale"))?;
    let seed_secs = seed_start.elapsed().as_secs_f64();
    println!(
        "seed: 1 merchant, {} SKUs, {} members, a flash sale of {quota} on the hot SKU ({seed_secs:.1} s)",
        world.skus.len(),
        world.buyers.len()
    );

    // 1. The limit: checkout + pay spread over many SKUs.
    let spread = {
        let (app, w) = (app.clone(), world.clone());
        timed(
            "checkout",
            "orders",
            warm_orders,
            order_count,
            concurrency,
            move |i| {
                let (app, w) = (app.clone(), w.clone());
                async move {
                    let sku = &w.skus[i % w.skus.len()];
                    buy(&app, &w.merchant, &w.buyers[i % w.buyers.len()], sku).await
                }
            },
        )
        .await?
    };

    // 2. The race for the flash sale's quota.
    let won = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let race_start = Instant::now();
    {
        let (app, w, sid, won, refused) = (
            app.clone(),
            world.clone(),
            sale.id.clone(),
            won.clone(),
            refused.clone(),
        );
        run_parallel(attempts, concurrency, move |i| {
            let (app, w, sid, won, refused) = (
                app.clone(),
                w.clone(),
                sid.clone(),
                won.clone(),
                refused.clone(),
            );
            async move {
                let member = &w.buyers[i % w.buyers.len()];
                let input = FlashOrderInput {
                    quantity: 1,
                    delivery: DeliveryMethod::Shipping,
                    pickup_store_id: None,
                    address: Some(address()),
                    coupon_id: None,
                    points: None,
                };
                match app.buy_flash_sale(member, &sid, input).await {
                    Ok(o) => {
                        app.pay_with_wallet(member, &o.id)
                            .await
                            .map_err(app_err("pay for a flash order"))?;
                        won.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(AppError::Conflict { .. }) => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => return Err(anyhow::anyhow!("flash order: {e}")),
                }
                Ok(())
            }
        })
        .await?;
    }
    let race_secs = race_start.elapsed().as_secs_f64();
    let (won, refused) = (won.load(Ordering::Relaxed), refused.load(Ordering::Relaxed));
    eprintln!(
        "  flash_sale: {attempts} attempts ({won} won, {refused} refused) in {race_secs:.3} s"
    );
    let flash = Phase {
        name: "flash_sale",
        unit: "orders",
        count: won,
        seconds: race_secs,
    };
    let tries = Phase {
        name: "flash_attempts",
        unit: "tries",
        count: attempts,
        seconds: race_secs,
    };

    // Nothing oversold: the slot sold exactly its quota, as many orders carry it, all paid.
    let sid = sale.id.clone();
    let (sold, orders, paid) = db
        .read(move |c| {
            let r = c.query_one(
                "SELECT (SELECT CAST(SUM(sold) AS BIGINT) FROM flash_slots WHERE sale_id = $1),
                        (SELECT CAST(COUNT(*) AS BIGINT) FROM orders o JOIN flash_slots l ON l.id = o.flash_slot_id WHERE l.sale_id = $1),
                        (SELECT CAST(COUNT(*) AS BIGINT) FROM orders o JOIN flash_slots l ON l.id = o.flash_slot_id WHERE l.sale_id = $1 AND o.paid_at IS NOT NULL)",
                args![&sid],
            )?;
            Ok::<_, StoreError>((r.int(0)?, r.int(1)?, r.int(2)?))
        })
        .await?;
    anyhow::ensure!(
        won == quota && refused == attempts - quota,
        "expected {quota} orders won and {} refused, found {won} won, {refused} refused",
        attempts - quota
    );
    anyhow::ensure!(
        sold as usize == quota && orders as usize == quota && paid as usize == quota,
        "oversold: quota {quota}, slot sold {sold}, {orders} orders carry the slot, {paid} paid"
    );

    print_phases(&[&spread, &flash, &tries]);
    let ratio = flash.per_second() / spread.per_second();
    let total_secs = started.elapsed().as_secs_f64();
    println!(
        "(a flash order won is two transactions: the order taking quota, member count and stock, then the \
         wallet payment; a refused attempt is one; flash price {FLASH_PRICE_FEN} fen vs list {PRICE_FEN}; \
         0 oversold; whole run {total_secs:.1} s)"
    );
    println!();
    if args.json {
        let doc = serde_json::json!({
            "bench": "flashsale",
            "scale": args.scale.name(),
            "engine": bench.engine,
            "storage": db.describe(),
            "sync": bench.sync_mode,
            "concurrency": concurrency,
            "pool_size": bench.pool_size,
            "quota": quota,
            "members": world.buyers.len(),
            "seed_seconds": seed_secs,
            "total_seconds": total_secs,
            "phases": {
                "checkout": spread.json(),
                "flash_sale": flash.json(),
                "flash_attempts": tries.json(),
            },
            "oversold": sold - quota as i64,
            "ratios": { "flashsale_vs_checkout": ratio },
        });
        println!("{doc}");
    }
    println!("ratio flashsale_vs_checkout {ratio:.3}");
    Ok(())
}
