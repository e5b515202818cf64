//! `kith bench http`: the whole checkout as a shop's client does it — put a SKU in the
//! cart, check out the cart to an address, pay from the wallet — over HTTP against a real
//! `kith serve` child process, from a load generator in this (separate) process.
//!
//! 1. **Seed** (through the use cases, as `kith bench checkout` does): a merchant with a
//!    commission plan, well-stocked ¥1 SKUs, one buyer per client with a topped-up wallet
//!    who followed a distributor's share link (so each payment books a commission). Each
//!    buyer signs in; the session tokens are what the clients send.
//! 2. **Serve**: `kith serve` on the same store (a fresh SQLite directory, or the empty
//!    PostgreSQL database given) on a free port, rate limits off.
//! 3. **Checkout**: `--clients` concurrent clients, one buyer each (a cart is per buyer),
//!    each taking the next order until the count is done: `PUT …/cart/items/{sku}`,
//!    `POST …/checkout` (the whole cart, shipping), `POST /orders/{id}/pay` (wallet). Timed
//!    after a warm-up; per-order latency is the three requests together.
//! 4. **The floor**: the same clients sending the cheapest authenticated write the API has
//!    — `PUT …/cart/items/{sku}` with the same quantity, one row committed — in the same run.
//!
//! Server CPU is read from `/proc/{pid}/stat` of the server process before and after each
//! timed phase; on PostgreSQL (when its processes are visible on this machine) the CPU of
//! every `postgres` process too. Statements, units of work and commits come from the
//! server's `/metrics` (`kith_db_*`). Afterwards the server is stopped and the bench checks
//! that every order it made is paid and that the ledger audit is clean.
//!
//! `KITH_BENCH_SERVER_LOG` sets the server's log filter (its log goes to stderr), e.g.
//! `kith_store::sql=trace` to see every statement an order sends.
//!
//! Memory: before the checkout, `N` members sign up over HTTP (1,000 at reference scale;
//! each hashes a password with argon2); the server's resident set is read from
//! `/proc/{pid}/status` when idle and after them.
//!
//! The output ends with `ratio http_checkout_vs_floor` (orders/s ÷ floor requests/s) and
//! `ratio rss_after_signups_vs_twice_idle` (twice the idle RSS ÷ the RSS after the sign-ups:
//! 1.0 = at the limit of 2× idle).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use kith_app::{App, AppConfig};
use kith_domain::{Clock, SystemClock};
use kith_store::{Db, DbConfig, args};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::{BUYERS, Bench, CheckoutArgs, PASSWORD, Scale, address, app_err, open_bench, seed};

#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    /// How much work each phase does.
    #[arg(long, value_enum, default_value = "small")]
    pub scale: Scale,
    /// Run on PostgreSQL. It must be an EMPTY, THROW-AWAY database: the bench creates
    /// kith's tables in it and leaves its data there.
    #[arg(long, env = "KITH_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// SQLite durability, as for `kith serve`: `normal` or `full`.
    #[arg(long, default_value = "normal")]
    pub sqlite_sync: String,
    /// Concurrent HTTP clients (each its own buyer), 1–64.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// The server's PostgreSQL connections, or SQLite read connections [default: as
    /// `kith serve`].
    #[arg(long)]
    pub pool_size: Option<usize>,
    /// Also print the figures as one JSON object (before the ratio lines).
    #[arg(long)]
    pub json: bool,
}

impl Scale {
    /// Sign-ups the memory phase makes.
    fn http_signups(self) -> usize {
        match self {
            Scale::Tiny => 20,
            Scale::Small => 200,
            Scale::Reference | Scale::Large => 1_000,
        }
    }

    /// (timed orders, timed floor requests, SKUs the orders spread over).
    fn http_sizes(self) -> (usize, usize, usize) {
        match self {
            Scale::Tiny => (60, 120, 8),
            Scale::Small => (2_000, 4_000, 256),
            Scale::Reference => (20_000, 40_000, 1_000),
            Scale::Large => (100_000, 200_000, 2_000),
        }
    }
}

/// CPU time of processes, from `/proc`.
mod cpu {
    /// Clock ticks per second of `/proc/*/stat`'s times.
    pub(super) fn ticks_per_second() -> f64 {
        // SAFETY: sysconf reads a constant of the running system; no memory is shared.
        let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        if t > 0 { t as f64 } else { 100.0 }
    }

    /// (command name, user + system ticks of every thread, dead ones included).
    fn stat(pid: u32) -> Option<(String, u64)> {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (open, close) = (s.find('(')?, s.rfind(')')?);
        let comm = s.get(open + 1..close)?.to_owned();
        // After the name: state (field 3) … utime (14), stime (15).
        let fields: Vec<&str> = s.get(close + 1..)?.split_whitespace().collect();
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        Some((comm, utime + stime))
    }

    /// CPU seconds the process has used so far.
    pub(super) fn of(pid: u32) -> Option<f64> {
        stat(pid).map(|(_, t)| t as f64 / ticks_per_second())
    }

    /// The process's resident memory in bytes (`VmRSS`).
    pub(super) fn rss(pid: u32) -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// CPU seconds of every live `postgres` process on this machine, or None when there
    /// is none to see (a server elsewhere, or another namespace).
    pub(super) fn postgres() -> Option<f64> {
        let mut total = 0u64;
        let mut seen = false;
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            if let Some((comm, t)) = stat(pid)
                && comm == "postgres"
            {
                total += t;
                seen = true;
            }
        }
        seen.then(|| total as f64 / ticks_per_second())
    }
}

/// The `kith_db_*` counters of the server's `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
struct DbCounts {
    statements: f64,
    writes: f64,
    reads: f64,
    commits: f64,
    /// Exchanges with PostgreSQL (0 on SQLite).
    round_trips: f64,
}

impl DbCounts {
    async fn scrape(http: &reqwest::Client, base: &str) -> anyhow::Result<DbCounts> {
        let text = http
            .get(format!("{base}/metrics"))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let mut c = DbCounts::default();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((name, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(v) = value.parse::<f64>() else {
                continue;
            };
            match name {
                "kith_db_statements_total" => c.statements = v,
                "kith_db_commits_total" => c.commits = v,
                "kith_db_round_trips_total" => c.round_trips = v,
                "kith_db_units_total{kind=\"write\"}" => c.writes = v,
                "kith_db_units_total{kind=\"read\"}" => c.reads = v,
                _ => {}
            }
        }
        anyhow::ensure!(
            c.statements > 0.0,
            "the server's /metrics has no kith_db_statements_total"
        );
        Ok(c)
    }

    fn since(self, before: DbCounts, per: usize) -> DbCounts {
        let n = per.max(1) as f64;
        DbCounts {
            statements: (self.statements - before.statements) / n,
            writes: (self.writes - before.writes) / n,
            reads: (self.reads - before.reads) / n,
            commits: (self.commits - before.commits) / n,
            round_trips: (self.round_trips - before.round_trips) / n,
        }
    }
}

/// One timed phase over HTTP.
struct HttpPhase {
    name: &'static str,
    unit: &'static str,
    count: usize,
    seconds: f64,
    /// Milliseconds per unit, sorted.
    latencies: Vec<f64>,
    server_cpu: f64,
    postgres_cpu: Option<f64>,
    db: DbCounts,
}

impl HttpPhase {
    fn per_second(&self) -> f64 {
        self.count as f64 / self.seconds.max(1e-9)
    }

    fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i.min(self.latencies.len() - 1)]
    }

    /// Milliseconds of server CPU per unit.
    fn server_ms(&self) -> f64 {
        self.server_cpu * 1000.0 / self.count.max(1) as f64
    }

    fn postgres_ms(&self) -> Option<f64> {
        self.postgres_cpu
            .map(|s| s * 1000.0 / self.count.max(1) as f64)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "count": self.count, "unit": self.unit, "seconds": self.seconds,
            "per_second": self.per_second(),
            "p50_ms": self.percentile(0.5), "p99_ms": self.percentile(0.99),
            "server_cpu_ms_per_unit": self.server_ms(),
            "postgres_cpu_ms_per_unit": self.postgres_ms(),
            "statements_per_unit": self.db.statements,
            "writes_per_unit": self.db.writes,
            "reads_per_unit": self.db.reads,
            "commits_per_unit": self.db.commits,
            "round_trips_per_unit": self.db.round_trips,
        })
    }
}

/// A client's buyer: their session token.
type Token = Arc<str>;

#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
struct Paid {
    order: Option<PaidOrder>,
}

#[derive(Deserialize)]
struct PaidOrder {
    status: String,
}

/// The server child process; killed if the bench stops early.
struct Server {
    child: tokio::process::Child,
    pid: u32,
    base: String,
}

impl Server {
    async fn start(args: &HttpArgs, data_dir: Option<&PathBuf>) -> anyhow::Result<Server> {
        let exe = std::env::current_exe()?;
        let mut cmd = tokio::process::Command::new(exe);
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .env("KITH_CHECKOUTS_PER_MINUTE", "0")
            .env("KITH_SHARES_PER_MINUTE", "0")
            // The memory phase signs many members up from one address, as no real client
            // would: no challenge, no cap, no SMS code.
            .env("KITH_SIGNUP_CHALLENGE_AFTER", "0")
            .env("KITH_SIGNUP_DEVICE_CHALLENGE_AFTER", "0")
            .env("KITH_SIGNUPS_PER_HOUR", "0")
            .env("KITH_SIGNUP_PHONE_CODE", "false")
            .env("KITH_SQLITE_SYNC", &args.sqlite_sync)
            .env(
                "RUST_LOG",
                std::env::var("KITH_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true);
        match (&args.database_url, data_dir) {
            (Some(url), _) => {
                cmd.env("KITH_DATABASE_URL", url);
            }
            (None, Some(dir)) => {
                cmd.env_remove("KITH_DATABASE_URL")
                    .arg("--data-dir")
                    .arg(dir);
            }
            (None, None) => anyhow::bail!("the server needs a data directory or a database"),
        }
        if let Some(n) = args.pool_size {
            cmd.env("KITH_POOL_SIZE", n.to_string());
        }
        let mut child = cmd.spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| anyhow::anyhow!("the server exited at once"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = tokio::time::timeout(Duration::from_secs(120), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.split("serving on ").nth(1) {
                    let url = rest.split_whitespace().next().unwrap_or("");
                    return Ok(url.trim_end_matches('/').to_owned());
                }
            }
            anyhow::bail!("the server stopped before it was serving")
        })
        .await
        .map_err(|_| anyhow::anyhow!("the server did not start within 2 minutes"))??;
        // Keep reading its output so it never blocks on a full pipe; pass it on to stderr
        // (its log: warnings, or what KITH_BENCH_SERVER_LOG asks for, e.g.
        // `kith_store::sql=trace` for every statement).
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("server: {line}");
            }
        });
        Ok(Server { child, pid, base })
    }

    /// Asks the server to stop (SIGTERM: it finishes what it is doing) and waits.
    async fn stop(mut self) -> anyhow::Result<()> {
        // SAFETY: sends a signal to our own child, whose pid we hold and have not reaped.
        unsafe {
            libc::kill(self.pid as i32, libc::SIGTERM);
        }
        match tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                anyhow::ensure!(status.success(), "the server exited with {status}");
            }
            Err(_) => {
                self.child.kill().await?;
                anyhow::bail!("the server did not stop within a minute of SIGTERM");
            }
        }
        Ok(())
    }
}

pub async fn run(args: HttpArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let (count, floor_count, sku_count) = args.scale.http_sizes();
    let clients = args.clients.clamp(1, BUYERS);
    let warm = (count / 10).max(2 * clients);
    let floor_warm = (floor_count / 10).max(2 * clients);

    // 1. Seed through the use cases, then let the server have the store.
    let bench = open_bench(&CheckoutArgs {
        scale: args.scale,
        database_url: args.database_url.clone(),
        data_dir: None,
        sqlite_sync: args.sqlite_sync.clone(),
        concurrency: 16,
        pool_size: None,
        json: false,
    })
    .await?;
    let (engine, sync_mode) = (bench.engine, bench.sync_mode.clone());
    let describe = bench.db.describe();
    let data_dir = bench._temp.as_ref().map(|t| t.0.clone());
    let seed_start = Instant::now();
    // Clients take orders as fast as each goes, so one buyer may make several times the
    // average: every wallet covers four times its share.
    let world = seed(&bench.app, sku_count, 4 * (warm + count), 16, clients).await?;
    let mut tokens = Vec::with_capacity(clients);
    for i in 0..clients {
        let s = bench
            .app
            .login(&format!("139{i:08}"), PASSWORD, "127.0.0.1")
            .await
            .map_err(app_err("sign in"))?;
        tokens.push(Token::from(s.token));
    }
    println!(
        "kith bench http: scale {}, {describe} ({sync_mode}), {clients} clients; seed {:.1} s",
        args.scale.name(),
        seed_start.elapsed().as_secs_f64()
    );
    let admin = world.admin.clone();
    let (merchant, skus, floor_sku) = (world.merchant.clone(), world.skus.clone(), world.hot_sku);
    let Bench { db, app, _temp, .. } = bench;
    drop(app);
    drop(db);

    // 2. The server.
    let server = Server::start(&args, data_dir.as_ref()).await?;
    let base = server.base.clone();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .tcp_nodelay(true)
        .build()?;
    let clients = tokens;
    let ctx = Arc::new(Load {
        http: http.clone(),
        base: base.clone(),
        merchant,
        skus,
        floor_sku,
        body_checkout: serde_json::to_vec(&serde_json::json!({
            "delivery": "shipping", "address": address(),
        }))?,
    });

    // Memory: resident set when idle, then after sign-ups (each hashes a password with
    // argon2, ~19 MiB of working memory).
    let signups = args.scale.http_signups();
    let rss_idle = cpu::rss(server.pid)
        .ok_or_else(|| anyhow::anyhow!("cannot read the server's memory from /proc"))?;
    let signup_start = Instant::now();
    {
        let (http, base) = (http.clone(), base.clone());
        super::run_parallel(signups, clients.len(), move |i| {
            let (http, base) = (http.clone(), base.clone());
            async move {
                let res = http
                    .post(format!("{base}/api/v1/accounts"))
                    .json(&serde_json::json!({
                        "phone": format!("150{i:08}"), "password": PASSWORD,
                        "display_name": format!("注册{i}"),
                    }))
                    .send()
                    .await?;
                let status = res.status();
                anyhow::ensure!(
                    status.as_u16() == 201,
                    "sign-up {i}: {status} {}",
                    res.text().await?
                );
                Ok(())
            }
        })
        .await?;
    }
    let signup_secs = signup_start.elapsed().as_secs_f64();
    // Let the server settle (its pools idle) before reading.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = cpu::rss(server.pid)
        .ok_or_else(|| anyhow::anyhow!("cannot read the server's memory from /proc"))?;
    eprintln!("  signups: {signups} in {signup_secs:.3} s");

    // 3. Checkout, then 4. the floor.
    let order_ids = Arc::new(std::sync::Mutex::new(Vec::with_capacity(warm + count)));
    let checkout = {
        let (ctx, ids) = (ctx.clone(), order_ids.clone());
        phase(
            "http_checkout",
            "orders",
            &server,
            &http,
            warm,
            count,
            &clients,
            engine == "postgres",
            move |client, i| {
                let (ctx, ids) = (ctx.clone(), ids.clone());
                async move {
                    let id = ctx.order(&client, i).await?;
                    ids.lock().expect("order ids").push(id);
                    Ok(())
                }
            },
        )
        .await?
    };
    let floor = {
        let ctx = ctx.clone();
        phase(
            "floor_cart_put",
            "req",
            &server,
            &http,
            floor_warm,
            floor_count,
            &clients,
            engine == "postgres",
            move |client, _| {
                let ctx = ctx.clone();
                async move { ctx.floor(&client).await }
            },
        )
        .await?
    };
    server.stop().await?;

    // The work really happened: every order made is paid, and the books balance.
    let ids = order_ids.lock().expect("order ids").clone();
    let verify = Db::open(&DbConfig {
        database_url: args.database_url.clone(),
        data_dir: data_dir.clone().unwrap_or_else(|| PathBuf::from("unused")),
        sqlite_sync: kith_store::SqliteSync::Normal,
        pool_size: 2,
    })
    .await?;
    let paid = verify
        .read(|c| {
            c.query_one(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM orders WHERE status = 'fulfilling'",
                args![],
            )?
            .int(0)
        })
        .await?;
    anyhow::ensure!(
        ids.len() == warm + count && paid == ids.len() as i64,
        "{} orders were made but {paid} are paid",
        ids.len()
    );
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let audit = App::new(verify.clone(), clock, AppConfig::default())
        .ledger_audit(&admin)
        .await
        .map_err(app_err("ledger audit"))?;
    anyhow::ensure!(
        audit.unbalanced_entries.is_empty()
            && audit.mismatched_accounts.is_empty()
            && audit.total_fen == kith_domain::Fen::ZERO,
        "the ledger audit is not clean: {audit:?}"
    );
    drop(verify);
    drop(_temp);

    print_http(&[&checkout, &floor]);
    println!(
        "checked: {} orders made over HTTP, all paid; ledger audit clean ({} entries)",
        ids.len(),
        audit.entries
    );
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "memory: server RSS {:.1} MiB idle, {:.1} MiB after {signups} sign-ups ({:.1} s)",
        mib(rss_idle),
        mib(rss_after),
        signup_secs
    );
    let ratio = checkout.per_second() / floor.per_second().max(1e-9);
    // The limit is twice the idle resident set: 1.0 = at it, higher = below it.
    let rss_ratio = (2 * rss_idle) as f64 / rss_after.max(1) as f64;
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "http", "scale": args.scale.name(), "engine": engine,
                "sync": sync_mode, "clients": clients.len(),
                "checkout": checkout.json(), "floor": floor.json(),
                "memory": { "rss_idle_bytes": rss_idle, "rss_after_signups_bytes": rss_after, "signups": signups },
                "ratios": { "http_checkout_vs_floor": ratio, "rss_after_signups_vs_twice_idle": rss_ratio },
            })
        );
    }
    println!("ratio http_checkout_vs_floor {ratio:.3}");
    println!("ratio rss_after_signups_vs_twice_idle {rss_ratio:.3}");
    Ok(())
}

/// What every client shares.
struct Load {
    http: reqwest::Client,
    base: String,
    merchant: String,
    skus: Vec<String>,
    floor_sku: String,
    body_checkout: Vec<u8>,
}

impl Load {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Vec<u8>,
        expect: u16,
    ) -> anyhow::Result<Vec<u8>> {
        let res = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = res.status().as_u16();
        let body = res.bytes().await?.to_vec();
        anyhow::ensure!(
            status == expect,
            "{path}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        Ok(body)
    }

    /// One order: cart, checkout, wallet payment. Its id.
    async fn order(&self, token: &str, i: usize) -> anyhow::Result<String> {
        let sku = &self.skus[i % self.skus.len()];
        self.send(
            reqwest::Method::PUT,
            &format!("/api/v1/merchants/{}/cart/items/{sku}", self.merchant),
            token,
            br#"{"quantity":1}"#.to_vec(),
            200,
        )
        .await?;
        let body = self
            .send(
                reqwest::Method::POST,
                &format!("/api/v1/merchants/{}/checkout", self.merchant),
                token,
                self.body_checkout.clone(),
                201,
            )
            .await?;
        let order: Created = serde_json::from_slice(&body)?;
        let body = self
            .send(
                reqwest::Method::POST,
                &format!("/api/v1/orders/{}/pay", order.id),
                token,
                br#"{"provider":"wallet"}"#.to_vec(),
                200,
            )
            .await?;
        let paid: Paid = serde_json::from_slice(&body)?;
        let status = paid.order.map(|o| o.status).unwrap_or_default();
        anyhow::ensure!(
            status == "fulfilling",
            // A paid shipping order goes straight to the merchant to send.
            "order {} is {status:?} after paying",
            order.id
        );
        Ok(order.id)
    }

    /// The floor: one cart line set to the quantity it already has (one row written).
    async fn floor(&self, token: &str) -> anyhow::Result<()> {
        self.send(
            reqwest::Method::PUT,
            &format!(
                "/api/v1/merchants/{}/cart/items/{}",
                self.merchant, self.floor_sku
            ),
            token,
            br#"{"quantity":1}"#.to_vec(),
            200,
        )
        .await?;
        Ok(())
    }
}

/// Runs `warmup` untimed units, then `count` timed ones, each client taking the next index
/// until none are left; measures the server's CPU and storage work over the timed part.
#[allow(clippy::too_many_arguments)]
async fn phase<F, Fut>(
    name: &'static str,
    unit: &'static str,
    server: &Server,
    http: &reqwest::Client,
    warmup: usize,
    count: usize,
    clients: &[Token],
    on_postgres: bool,
    f: F,
) -> anyhow::Result<HttpPhase>
where
    F: Fn(Token, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let f = Arc::new(f);
    drive(clients, warmup, 0, f.clone()).await?;
    let (cpu0, pg0) = (cpu::of(server.pid), cpu::postgres());
    let db0 = DbCounts::scrape(http, &server.base).await?;
    let start = Instant::now();
    let mut latencies = drive(clients, count, warmup, f).await?;
    let seconds = start.elapsed().as_secs_f64();
    let db1 = DbCounts::scrape(http, &server.base).await?;
    let (cpu1, pg1) = (cpu::of(server.pid), cpu::postgres());
    latencies.sort_by(f64::total_cmp);
    eprintln!("  {name}: {count} {unit} in {seconds:.3} s");
    Ok(HttpPhase {
        name,
        unit,
        count,
        seconds,
        latencies,
        server_cpu: match (cpu0, cpu1) {
            (Some(a), Some(b)) => b - a,
            _ => anyhow::bail!("cannot read the server's CPU time from /proc"),
        },
        postgres_cpu: pg0.zip(pg1).map(|(a, b)| b - a).filter(|_| on_postgres),
        // Two scrapes of /metrics are inside the window: negligible next to the phase.
        db: db1.since(db0, count),
    })
}

/// Each client takes the next of `count` indices (offset by `first`) until none are left;
/// the latencies of the units in milliseconds. Stops at the first error.
async fn drive<F, Fut>(
    clients: &[Token],
    count: usize,
    first: usize,
    f: Arc<F>,
) -> anyhow::Result<Vec<f64>>
where
    F: Fn(Token, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    for client in clients {
        let (f, next, client) = (f.clone(), next.clone(), client.clone());
        set.spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let t = Instant::now();
                if let Err(e) = f(client.clone(), first + i).await {
                    next.store(count, Ordering::Relaxed);
                    return Err(e);
                }
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            Ok(lat)
        });
    }
    let mut all = Vec::with_capacity(count);
    while let Some(joined) = set.join_next().await {
        all.extend(joined??);
    }
    Ok(all)
}

fn print_http(phases: &[&HttpPhase]) {
    println!();
    println!(
        "{:<16} {:>7} {:>6} {:>8} {:>9} {:>8} {:>8} {:>9} {:>8} {:>6} {:>6} {:>6} {:>6}",
        "phase",
        "count",
        "unit",
        "seconds",
        "per sec",
        "p50 ms",
        "p99 ms",
        "srv ms/u",
        "pg ms/u",
        "stmt/u",
        "wr/u",
        "rd/u",
        "rt/u"
    );
    for p in phases {
        println!(
            "{:<16} {:>7} {:>6} {:>8.3} {:>9.1} {:>8.2} {:>8.2} {:>9.3} {:>8} {:>6.1} {:>6.2} {:>6.2} {:>6.1}",
            p.name,
            p.count,
            p.unit,
            p.seconds,
            p.per_second(),
            p.percentile(0.5),
            p.percentile(0.99),
            p.server_ms(),
            p.postgres_ms()
                .map_or_else(|| "-".to_owned(), |m| format!("{m:.3}")),
            p.db.statements,
            p.db.writes,
            p.db.reads,
            p.db.round_trips,
        );
    }
}
