//! `kith bench …`: benchmarks that make their own data and report each figure as a ratio
//! to a limit measured in the same run, on the same engine and sync mode (docs/PRODUCT.md §7).
//!
//! `kith bench checkout` measures, at one concurrency (default 32 tasks):
//! 1. **the limit**: single-row `INSERT` transactions per second through the same storage
//!    layer (`Db::write`, one statement into a scratch table `bench_raw`);
//! 2. **checkout**: orders per second for `App::checkout` + `App::pay_with_wallet`, one
//!    SKU per order, spread over many SKUs (little contention on stock rows). The merchant
//!    has a commission plan and every buyer followed a distributor's share link, so each
//!    checkout snapshots an attribution and an L1 + L2 chain, and each payment books the
//!    commission on the ledger (one more entry, touching the two distributors' rows);
//! 3. **hot SKU**: the same with every order on one SKU (contention on one stock row).
//!
//! Each phase runs a fixed count after a short warm-up and reports wall-time rates. The
//! output ends with one `ratio <name> <value>` line per ratio (orders/s ÷ raw tx/s).
//!
//! Data: SQLite in a fresh temporary directory (removed afterwards) unless `--data-dir`
//! names one to keep; or PostgreSQL with `--database-url`, which must be an **empty,
//! throw-away database**: the bench creates kith's tables (migrations) and `bench_raw` in
//! it, fills them, and leaves them there. Seed data is made through the use cases.

pub mod feed;
pub mod flashsale;
pub mod graph;
pub mod groupbuy;
pub mod http;
pub mod pages;
pub mod search;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use clap::{Args, Subcommand, ValueEnum};
use kith_app::commerce::catalog::{NewSku, ProductInput};
use kith_app::commerce::inventory::{Adjustment, MAX_ADJUSTMENT};
use kith_app::commerce::orders::{Address, CheckoutInput};
use kith_app::commerce::payments::{CallbackBody, CallbackOutcome, MAX_TOPUP_FEN};
use kith_app::money::sharing::LinkKind;
use kith_app::platform::accounts::Registration;
use kith_app::platform::merchants::MerchantInput;
use kith_app::{App, AppConfig, AppError, Principal};
use kith_domain::commission::PlanInput;
use kith_domain::order::DeliveryMethod;
use kith_domain::{BoundedText, Clock, Password, Phone, SystemClock};
use kith_store::{Db, DbConfig, Engine, SqliteSync, StoreError, args};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Checkout + wallet payment throughput, and on one hot SKU, against raw insert
    /// transactions per second on the same engine.
    Checkout(CheckoutArgs),
    /// The insight graph: snapshot build, PageRank against a minimal CSR power iteration
    /// over the same arrays, label propagation.
    Graph(graph::GraphArgs),
    /// A 限时秒杀 on one hot SKU under many concurrent buyers (paid flash orders), against
    /// checkout + payment spread over many SKUs in the same run; checks nothing oversold.
    Flashsale(CheckoutArgs),
    /// Group-buy joins (and their payments) under contention for the last seats of
    /// groups, against checkout + payment on one hot SKU in the same run.
    Groupbuy(CheckoutArgs),
    /// Search on a synthetic Chinese world: indexing against bare tantivy, friend-scoped
    /// query p50/p99 against the bare index unscoped, segmentation against jieba-rs.
    Search(search::SearchArgs),
    /// The trust-ranked feed of members following 500 people: first and second page p50/p99
    /// against a bare tantivy top-20 query in the same run.
    Feed(feed::FeedArgs),
    /// The whole checkout over HTTP (cart, checkout, wallet payment) against a real `kith
    /// serve`, from N concurrent clients, against the same server's cheapest authenticated
    /// write; server CPU and statements per order.
    Http(http::HttpArgs),
    /// The home (visitor and member) and product pages against a real `kith serve --demo`:
    /// bytes with everything they reference against stated budgets, time against the same
    /// server's static stylesheet.
    Pages(pages::PagesArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scale {
    /// For the test suite only.
    #[value(hide = true)]
    Tiny,
    /// A smoke run: well under a minute.
    Small,
    Reference,
    Large,
}

impl Scale {
    fn name(self) -> &'static str {
        match self {
            Scale::Tiny => "tiny",
            Scale::Small => "small",
            Scale::Reference => "reference",
            Scale::Large => "large",
        }
    }

    /// (raw inserts, orders per checkout phase, SKUs in the spread phase). The raw phase
    /// does 20× the orders: on SQLite a group-committed insert costs a few µs, and the
    /// limit should be timed over a span long enough to be more than scheduler noise.
    fn sizes(self) -> (usize, usize, usize) {
        match self {
            Scale::Tiny => (2_000, 100, 32),
            Scale::Small => (20_000, 1_000, 256),
            Scale::Reference => (200_000, 10_000, 1_000),
            Scale::Large => (1_000_000, 50_000, 2_000),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct CheckoutArgs {
    /// How much work each phase does.
    #[arg(long, value_enum, default_value = "small")]
    pub scale: Scale,
    /// Run on PostgreSQL. It must be an EMPTY, THROW-AWAY database: the bench creates
    /// kith's tables and `bench_raw` in it and leaves its data there.
    #[arg(long, env = "KITH_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Keep the SQLite data in this directory (it must not hold a kith.db yet) instead
    /// of a temporary one that is removed afterwards.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// SQLite durability, as for `kith serve`: `normal` or `full`.
    #[arg(long, default_value = "normal")]
    pub sqlite_sync: String,
    /// Concurrent tasks in every phase.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// PostgreSQL connections, or SQLite read connections [default: as `kith serve`: 16 / 4].
    #[arg(long)]
    pub pool_size: Option<usize>,
    /// Also print the figures as one JSON object (before the ratio lines).
    #[arg(long)]
    pub json: bool,
}

pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Checkout(args) => checkout(args).await,
        BenchCommand::Graph(args) => tokio::task::spawn_blocking(move || graph::run(args)).await?,
        BenchCommand::Search(args) => search::run(args).await,
        BenchCommand::Feed(args) => feed::run(args).await,
        BenchCommand::Groupbuy(args) => groupbuy::run(args).await,
        BenchCommand::Flashsale(args) => flashsale::run(args).await,
        BenchCommand::Http(args) => http::run(args).await,
        BenchCommand::Pages(args) => pages::run(args).await,
    }
}

/// Price of every bench SKU: ¥1, so a modest wallet pays for many orders.
pub(crate) const PRICE_FEN: i64 = 100;
pub(crate) const BUYERS: usize = 64;
const PASSWORD: &str = "kith-bench-2026";

/// The temporary data directory, removed when the bench ends (also on error).
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    /// A fresh directory `kith-bench-{name}-{pid}-{nanos}` under the system's temp dir.
    pub(crate) fn new(name: &str) -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "kith-bench-{name}-{}-{nanos:09}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("create {}: {e}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn app_err(what: &'static str) -> impl Fn(AppError) -> anyhow::Error {
    move |e| anyhow::anyhow!("{what}: {e}")
}

/// Runs `f(0..count)` on `concurrency` tasks that each take the next index until none are
/// left; stops early on the first error. Results come back in index order.
pub(crate) async fn run_parallel<T, F, Fut>(
    count: usize,
    concurrency: usize,
    f: F,
) -> anyhow::Result<Vec<T>>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..concurrency.clamp(1, count.max(1)) {
        let (f, next) = (f.clone(), next.clone());
        set.spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                match f(i).await {
                    Ok(v) => out.push((i, v)),
                    Err(e) => {
                        next.store(count, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
            Ok(out)
        });
    }
    let mut all = Vec::with_capacity(count);
    let mut first_err = None;
    while let Some(joined) = set.join_next().await {
        match joined.map_err(anyhow::Error::from).and_then(|r| r) {
            Ok(part) => all.extend(part),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, v)| v).collect())
}

/// One timed phase.
pub(crate) struct Phase {
    pub name: &'static str,
    pub unit: &'static str,
    pub count: usize,
    pub seconds: f64,
}

impl Phase {
    pub(crate) fn per_second(&self) -> f64 {
        self.count as f64 / self.seconds.max(1e-9)
    }

    /// The phase as the `--json` document gives it.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "count": self.count, "unit": self.unit, "seconds": self.seconds, "per_second": self.per_second(),
        })
    }
}

/// Prints the phases as a table: name, count, unit, seconds, per second.
pub(crate) fn print_phases(phases: &[&Phase]) {
    println!();
    println!(
        "{:<18} {:>7} {:>6} {:>9} {:>11}",
        "phase", "count", "unit", "seconds", "per second"
    );
    for p in phases {
        println!(
            "{:<18} {:>7} {:>6} {:>9.3} {:>11.1}",
            p.name,
            p.count,
            p.unit,
            p.seconds,
            p.per_second()
        );
    }
}

/// Runs `warmup` untimed operations, then `count` timed ones, at `concurrency`.
pub(crate) async fn timed<F, Fut>(
    name: &'static str,
    unit: &'static str,
    warmup: usize,
    count: usize,
    concurrency: usize,
    f: F,
) -> anyhow::Result<Phase>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let f = Arc::new(f);
    let g = f.clone();
    run_parallel(warmup, concurrency, move |i| g(i)).await?;
    let start = Instant::now();
    run_parallel(count, concurrency, move |i| f(warmup + i)).await?;
    let seconds = start.elapsed().as_secs_f64();
    eprintln!("  {name}: {count} {unit} in {seconds:.3} s");
    Ok(Phase {
        name,
        unit,
        count,
        seconds,
    })
}

/// What the seed made.
pub(crate) struct World {
    pub admin: Principal,
    pub owner: Principal,
    pub merchant: String,
    pub skus: Vec<String>,
    pub hot_sku: String,
    pub buyers: Vec<Principal>,
}

/// The storage a bench runs on, migrated, with an app whose rate limits are off.
pub(crate) struct Bench {
    pub db: Db,
    pub app: App,
    pub engine: &'static str,
    pub sync_mode: String,
    pub pool_size: usize,
    _temp: Option<TempDir>,
}

/// Opens the bench's storage: a fresh SQLite directory, or the (empty) PostgreSQL
/// database given.
pub(crate) async fn open_bench(args: &CheckoutArgs) -> anyhow::Result<Bench> {
    let sync = match args.sqlite_sync.as_str() {
        "normal" => SqliteSync::Normal,
        "full" => SqliteSync::Full,
        other => anyhow::bail!("--sqlite-sync must be `normal` or `full`, not `{other}`"),
    };
    let database_url = args.database_url.clone().filter(|u| !u.trim().is_empty());
    let pool_size = args
        .pool_size
        .unwrap_or(if database_url.is_some() { 16 } else { 4 });
    // Storage: a fresh SQLite directory, or the (empty) PostgreSQL database given.
    let mut _temp = None;
    let data_dir = match (&database_url, &args.data_dir) {
        (Some(_), _) => PathBuf::from("unused"),
        (None, Some(dir)) => {
            anyhow::ensure!(
                !dir.join("kith.db").exists(),
                "{} already holds a kith.db; the bench needs a fresh directory",
                dir.display()
            );
            dir.clone()
        }
        (None, None) => {
            let temp = TempDir::new("checkout")?;
            let dir = temp.0.clone();
            _temp = Some(temp);
            dir
        }
    };
    let db = Db::open(&DbConfig {
        database_url: database_url.clone(),
        data_dir,
        sqlite_sync: sync,
        pool_size,
    })
    .await
    .map_err(|e| anyhow::anyhow!("open storage: {e}"))?;
    let (engine, sync_mode) = match db.engine() {
        Engine::Sqlite => (
            "sqlite",
            format!(
                "WAL, synchronous={}",
                if sync == SqliteSync::Full {
                    "FULL"
                } else {
                    "NORMAL"
                }
            ),
        ),
        Engine::Postgres => {
            let tables = db
                .read(|c| {
                    c.query_one(
                        "SELECT COUNT(*)::bigint FROM information_schema.tables WHERE table_schema = current_schema()",
                        args![],
                    )?
                    .int(0)
                })
                .await?;
            anyhow::ensure!(
                tables == 0,
                "{} is not empty ({tables} tables). The bench needs an empty, throw-away \
                 database: it creates kith's tables and fills them with bench data. Create \
                 one (`CREATE DATABASE kith_bench`) and drop it afterwards.",
                db.describe()
            );
            let sc = db
                .read(|c| c.query_one("SHOW synchronous_commit", args![])?.text(0))
                .await?;
            ("postgres", format!("synchronous_commit={sc}"))
        }
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    kith_store::migrate::run(&db, clock.now_ms())
        .await
        .map_err(|e| anyhow::anyhow!("migrate {}: {e}", db.describe()))?;
    // Rate limits are per member and per minute, hoarding limits per member; a benchmark
    // is one runaway client whose buyers leave many orders unpaid.
    let config = AppConfig {
        checkouts_per_minute: 0,
        shares_per_minute: 0,
        max_unpaid_orders: 0,
        max_unpaid_units_per_sku: 0,
        ..AppConfig::default()
    };
    let app = App::new(db.clone(), clock, config);
    Ok(Bench {
        db,
        app,
        engine,
        sync_mode,
        pool_size,
        _temp,
    })
}

async fn checkout(args: CheckoutArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let (raw_count, order_count, sku_count) = args.scale.sizes();
    let concurrency = args.concurrency.clamp(1, 1024);
    let warm_raw = (raw_count / 20).max(2 * concurrency);
    let warm_orders = (order_count / 20).max(2 * concurrency);
    let bench = open_bench(&args).await?;
    let (db, app, engine, sync_mode, pool_size) = (
        bench.db.clone(),
        bench.app.clone(),
        bench.engine,
        bench.sync_mode.clone(),
        bench.pool_size,
    );
    println!(
        "kith bench checkout: scale {}, {} ({sync_mode}), {concurrency} concurrent tasks, pool {pool_size}",
        args.scale.name(),
        db.describe()
    );

    // Seed, through the use cases.
    let seed_start = Instant::now();
    let orders_total = 2 * (order_count + warm_orders);
    let world = seed(&app, sku_count, orders_total, concurrency, BUYERS).await?;
    let seed_secs = seed_start.elapsed().as_secs_f64();
    println!(
        "seed: 1 merchant, {} SKUs + 1 hot SKU, {} buyers with topped-up wallets ({seed_secs:.1} s)",
        world.skus.len(),
        world.buyers.len()
    );

    // 1. The limit: one-row insert transactions through Db::write.
    db.write(|c| {
        c.execute_batch("CREATE TABLE bench_raw (id BIGINT PRIMARY KEY, v TEXT NOT NULL)")
    })
    .await
    .map_err(|e| anyhow::anyhow!("create bench_raw: {e}"))?;
    let raw_db = db.clone();
    let raw = timed(
        "raw_insert",
        "tx",
        warm_raw,
        raw_count,
        concurrency,
        move |i| {
            let db = raw_db.clone();
            async move {
                db.write(move |c| {
                    c.execute(
                        "INSERT INTO bench_raw (id, v) VALUES ($1, $2)",
                        args![i as i64, format!("bench row {i}")],
                    )
                })
                .await
                .map(|_| ())
                .map_err(|e: StoreError| anyhow::anyhow!("raw insert: {e}"))
            }
        },
    )
    .await?;

    // 2. Checkout + pay, spread over many SKUs; 3. the same on one hot SKU.
    let world = Arc::new(world);
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

    // The work really happened: every order is there and the hot SKU holds them all.
    let hot_sku = world.hot_sku.clone();
    let (orders, hot_reserved, shares) = db
        .read(move |c| {
            let n = c
                .query_one(
                    "SELECT COUNT(*) FROM orders WHERE paid_at IS NOT NULL",
                    args![],
                )?
                .int(0)?;
            let shares = c
                .query_one(
                    "SELECT COUNT(*) FROM order_commissions WHERE state = 'pending'",
                    args![],
                )?
                .int(0)?;
            let r = c
                .query_one(
                    "SELECT reserved FROM stock WHERE sku_id = $1",
                    args![&hot_sku],
                )?
                .int(0)?;
            Ok::<_, StoreError>((n, r, shares))
        })
        .await?;
    anyhow::ensure!(
        orders as usize == orders_total && hot_reserved as usize == order_count + warm_orders,
        "expected {orders_total} paid orders and {} reserved on the hot SKU, found {orders} and {hot_reserved}",
        order_count + warm_orders
    );
    anyhow::ensure!(
        shares as usize == 2 * orders_total,
        "expected an L1 and an L2 commission booked on each of {orders_total} orders, found {shares}"
    );

    let phases = [&raw, &spread, &hot];
    print_phases(&phases);
    let ratio_spread = spread.per_second() / raw.per_second();
    let ratio_hot = hot.per_second() / raw.per_second();
    let total_secs = started.elapsed().as_secs_f64();
    println!(
        "(each order is two transactions: checkout with attribution and its commission chain, then pay from the \
         wallet, booking the commission; whole run {total_secs:.1} s)"
    );
    println!();
    if args.json {
        let doc = serde_json::json!({
            "bench": "checkout",
            "scale": args.scale.name(),
            "engine": engine,
            "storage": db.describe(),
            "sync": sync_mode,
            "concurrency": concurrency,
            "pool_size": pool_size,
            "skus": world.skus.len(),
            "buyers": world.buyers.len(),
            "seed_seconds": seed_secs,
            "total_seconds": total_secs,
            "phases": {
                "raw_insert": raw.json(),
                "checkout": spread.json(),
                "hot_sku_checkout": hot.json(),
            },
            "ratios": {
                "checkout_vs_raw_insert": ratio_spread,
                "hot_sku_checkout_vs_raw_insert": ratio_hot,
            },
        });
        println!("{doc}");
    }
    println!("ratio checkout_vs_raw_insert {ratio_spread:.3}");
    println!("ratio hot_sku_checkout_vs_raw_insert {ratio_hot:.3}");
    Ok(())
}

pub(crate) fn address() -> Address {
    Address {
        name: "王小美".into(),
        phone: "13912345678".into(),
        province: "贵州省".into(),
        city: "贵阳市".into(),
        district: "观山湖区".into(),
        detail: "林城东路 88 号 3 栋".into(),
    }
}

/// One order of one unit of `sku`, paid from the buyer's wallet.
pub(crate) async fn buy(
    app: &App,
    merchant: &str,
    buyer: &Principal,
    sku: &str,
) -> anyhow::Result<()> {
    let order = app
        .checkout(
            buyer,
            &crate::typed(merchant),
            CheckoutInput {
                coupon_id: None,
                points: None,
                delivery: DeliveryMethod::Shipping,
                pickup_store_id: None,
                address: Some(address()),
                address_id: None,
                items: Some(vec![(sku.to_owned(), 1)]),
            },
        )
        .await
        .map_err(app_err("checkout"))?;
    app.pay_with_wallet(buyer, &order.id)
        .await
        .map_err(app_err("pay with wallet"))?;
    Ok(())
}

/// A platform admin, one approved merchant whose SKUs cost ¥1 and are well stocked in its
/// warehouse, and `BUYERS` members whose wallets cover `orders_total` orders between them.
pub(crate) async fn seed(
    app: &App,
    sku_count: usize,
    orders_total: usize,
    concurrency: usize,
    buyer_count: usize,
) -> anyhow::Result<World> {
    let t = Instant::now();
    let admin = app
        .create_account(
            Some(Phone::parse("13800000000")?),
            None,
            Password::parse(PASSWORD)?,
            BoundedText::parse("name", "基准管理员", 1, 32)?,
            true,
        )
        .await
        .map_err(app_err("create admin"))?;
    let admin = Principal {
        account_id: admin.id.to_string(),
        is_platform_admin: true,
    };
    let owner = member(app.clone(), "13800000001".into(), "基准商户店主".into()).await?;
    let merchant = app
        .apply_merchant(
            &owner,
            MerchantInput {
                name: Some("基准测试商户".into()),
                description: Some("kith bench checkout 的测试商户。".into()),
                contact_phone: Some("13800000001".into()),
                ..Default::default()
            },
        )
        .await
        .map_err(app_err("apply merchant"))?
        .id;
    app.decide_merchant(&admin, &merchant, true, None)
        .await
        .map_err(app_err("approve merchant"))?;
    let t = step("admin, owner and merchant", t);

    // Products of up to 100 SKUs each, plus one product holding the hot SKU.
    let per_product = kith_app::commerce::catalog::MAX_SKUS_PER_PRODUCT as usize;
    let products = sku_count.div_ceil(per_product) + 1;
    let (a, o, m) = (app.clone(), owner.clone(), merchant.clone());
    let product_ids = run_parallel(products, concurrency, move |p| {
        let (app, owner, merchant) = (a.clone(), o.clone(), m.clone());
        async move {
            let name = if p + 1 == products {
                "热卖单品".to_owned()
            } else {
                format!("基准商品 {p}")
            };
            let product = app
                .create_product(
                    &owner,
                    &merchant,
                    ProductInput {
                        name: Some(name),
                        description: Some("bench".into()),
                        ..Default::default()
                    },
                )
                .await
                .map_err(app_err("create product"))?;
            Ok(product.id)
        }
    })
    .await?;
    let product_ids = Arc::new(product_ids);
    let (a, o, m, pids) = (
        app.clone(),
        owner.clone(),
        merchant.clone(),
        product_ids.clone(),
    );
    // SKU `sku_count` (the last) is the hot one, alone in the last product.
    let skus = run_parallel(sku_count + 1, concurrency, move |i| {
        let (app, owner, merchant, pids) = (a.clone(), o.clone(), m.clone(), pids.clone());
        async move {
            let product = if i == sku_count {
                &pids[pids.len() - 1]
            } else {
                &pids[i / per_product]
            };
            let sku = app
                .add_sku(
                    &owner,
                    &merchant,
                    product,
                    NewSku {
                        code: format!("BENCH-{i:05}"),
                        attrs: None,
                        weight_g: None,
                        list_price_fen: PRICE_FEN,
                    },
                )
                .await
                .map_err(app_err("add SKU"))?;
            Ok(sku.id)
        }
    })
    .await?;
    for pid in product_ids.iter() {
        app.set_product_status(&owner, &merchant, pid, "active")
            .await
            .map_err(app_err("activate product"))?;
    }
    let warehouse = app
        .list_locations(&owner, &merchant)
        .await
        .map_err(app_err("list locations"))?
        .into_iter()
        .find(|l| l.kind == "warehouse")
        .ok_or_else(|| anyhow::anyhow!("the merchant has no warehouse"))?
        .id;
    let t = step("products and SKUs", t);
    let skus = Arc::new(skus);
    let (a, o, m, s) = (app.clone(), owner.clone(), merchant.clone(), skus.clone());
    run_parallel(skus.len(), concurrency, move |i| {
        let (app, owner, merchant, skus, warehouse) = (
            a.clone(),
            o.clone(),
            m.clone(),
            s.clone(),
            warehouse.clone(),
        );
        async move {
            app.adjust_stock(
                &owner,
                &merchant,
                Adjustment {
                    sku_id: skus[i].to_string(),
                    location_id: warehouse,
                    delta: MAX_ADJUSTMENT,
                    note: Some("基准入库".into()),
                },
            )
            .await
            .map_err(app_err("stock in"))?;
            Ok(())
        }
    })
    .await?;
    let t = step("stock", t);

    // Buyers, only as many as needed. Each registration hashes a password with argon2
    // (~20 ms of CPU and ~19 MiB of memory each), so no more at once than there are cores.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let a = app.clone();
    let buyers = run_parallel(buyer_count, cores, move |i| {
        member(a.clone(), format!("139{i:08}"), format!("基准买家{i}"))
    })
    .await?;
    let t = step("buyers registered", t);
    // Each topped up through a signed sandbox gateway callback.
    let per_buyer_fen = (orders_total.div_ceil(buyer_count) as i64 + 2) * PRICE_FEN;
    let (a, b) = (app.clone(), Arc::new(buyers));
    let bs = b.clone();
    run_parallel(buyer_count, concurrency, move |i| {
        let (app, buyers) = (a.clone(), bs.clone());
        async move {
            let mut left = per_buyer_fen;
            while left > 0 {
                let amount = left.min(MAX_TOPUP_FEN);
                top_up(&app, &buyers[i], amount).await?;
                left -= amount;
            }
            Ok(())
        }
    })
    .await?;
    let t = step("wallets topped up", t);
    let buyers = Arc::try_unwrap(b).unwrap_or_else(|b| (*b).clone());

    // Money sharing: a commission plan (L1 10 %, L2 5 %, rebate 2 %), a distributor bound
    // to another, and every buyer following the first one's share link — so each order is
    // attributed (a share visit in the window, a bound referrer), carries an L1 and an L2
    // share, and its payment books the commission on the ledger.
    app.set_commission_plan(
        &owner,
        &merchant,
        PlanInput {
            levels_bp: vec![1000, 500],
            rebate_bp: 200,
            group_buy_commission: false,
            group_leader_bp: 0,
            cap_bp: None,
            binding_mode: "permanent".into(),
            binding_days: None,
            attribution_window_days: None,
            withdraw_min_fen: None,
            withdraw_daily_limit_fen: None,
        },
    )
    .await
    .map_err(app_err("commission plan"))?;
    let upline = member(app.clone(), "13700000001".into(), "基准上线".into()).await?;
    let sharer = member(app.clone(), "13700000002".into(), "基准分享者".into()).await?;
    let product = product_ids[0].clone();
    let up_link = app
        .create_share_link(&upline, LinkKind::Product, &product)
        .await
        .map_err(app_err("share link"))?;
    app.visit_share_link(Some(&sharer), &up_link.code)
        .await
        .map_err(app_err("visit"))?;
    let link = app
        .create_share_link(&sharer, LinkKind::Product, &product)
        .await
        .map_err(app_err("share link"))?;
    for b in &buyers {
        app.visit_share_link(Some(b), &link.code)
            .await
            .map_err(app_err("visit"))?;
    }
    step("commission plan, distributors, share visits", t);

    let mut skus = Arc::try_unwrap(skus).unwrap_or_else(|a| (*a).clone());
    let hot_sku = skus.pop().expect("the hot SKU");
    Ok(World {
        admin,
        owner,
        merchant: merchant.to_string(),
        skus: skus.iter().map(ToString::to_string).collect(),
        hot_sku: hot_sku.to_string(),
        buyers,
    })
}

/// Registers a member; the principal acting as them.
async fn member(app: App, phone: String, name: String) -> anyhow::Result<Principal> {
    let a = app
        .register_unproven(Registration {
            phone: Some(phone),
            email: None,
            password: PASSWORD.into(),
            display_name: name,
            code: None,
        })
        .await
        .map_err(app_err("register"))?;
    Ok(Principal {
        account_id: a.id.to_string(),
        is_platform_admin: false,
    })
}

/// Prints how long a seed step took (to stderr: progress, not figures).
fn step(what: &str, since: Instant) -> Instant {
    eprintln!("  seed: {what} ({:.2} s)", since.elapsed().as_secs_f64());
    Instant::now()
}

/// Tops up a wallet as the sandbox gateway does: a pending payment, then its signed
/// `succeeded` callback.
async fn top_up(app: &App, who: &Principal, amount_fen: i64) -> anyhow::Result<()> {
    let payment = app
        .start_topup(who, amount_fen)
        .await
        .map_err(app_err("start top-up"))?;
    let body = serde_json::to_vec(&CallbackBody {
        event_id: format!("bench_{}", payment.id),
        payment_id: payment.id.to_string(),
        status: "succeeded".into(),
        amount_fen,
    })?;
    let sig = kith_domain::signature::sign(
        app.config.sandbox_secret.as_bytes(),
        app.now_ms() / 1000,
        &body,
    );
    let outcome = app
        .payment_callback("sandbox", &sig, &body)
        .await
        .map_err(app_err("top-up callback"))?;
    anyhow::ensure!(
        outcome == CallbackOutcome::Applied,
        "top-up callback was {outcome:?}, not applied"
    );
    Ok(())
}
