//! `kith bench pages`: what the member app's main pages weigh and how long they take, as a
//! phone with an empty cache would fetch them, over HTTP against a real `kith serve --demo`
//! child process.
//!
//! 1. **The world**: the demo community (`kith serve --demo` on a fresh SQLite directory,
//!    or the empty PostgreSQL database given): three shops with pictures, 220 members with
//!    friendships, posts, reviews and orders. The world is the same at every scale; the
//!    scale sets how many times each page is fetched.
//! 2. **The pages**: the home page of a visitor, the home page of a demo member (the
//!    distributor: friends, a feed, the 好友推荐 shelf) and a product page as that member
//!    sees it (the first product of the first shop).
//! 3. **Weight**: each page's HTML, then every same-site file it references — stylesheets,
//!    scripts, the icon and every image, lazy ones included (an upper bound: a phone loads
//!    the lazy ones as they scroll into view) — each once, asking for `gzip, br` and
//!    counting the body bytes as served (compressed where the server compresses).
//!    Two budgets, stated here: the critical path (HTML + CSS + JS) within
//!    [`CRITICAL_BUDGET`], after Alex Russell's "Can You Afford It?" (170 KB for a page
//!    interactive within 5 s on a median phone over 3G, rounded down), and everything
//!    including pictures within [`TOTAL_BUDGET`].
//! 4. **Time**: the HTML alone, fetched `N` times round-robin with the floor — the same
//!    server's cheapest page-shaped answer, its content-hashed stylesheet served from
//!    memory — on one keep-alive connection, so drift on a shared machine touches both
//!    alike.
//!
//! The output ends with four ratios per page, each 1.0 at the limit and higher better:
//! `pages_<page>_critical_vs_budget` and `pages_<page>_weight_vs_budget` (budget ÷ bytes),
//! `pages_<page>_p50_vs_floor` and `pages_<page>_p99_vs_floor` (the floor's time ÷ the
//! page's).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use clap::Args;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::{Scale, TempDir};

/// Budget of a page's HTML, CSS and JavaScript, compressed as served.
pub const CRITICAL_BUDGET: u64 = 160 * 1024;
/// Budget of a page with everything it references, pictures included.
pub const TOTAL_BUDGET: u64 = 500 * 1024;

#[derive(Debug, Clone, Args)]
pub struct PagesArgs {
    /// How many times each page is fetched.
    #[arg(long, value_enum, default_value = "small")]
    pub scale: Scale,
    /// Run on PostgreSQL. It must be an EMPTY, THROW-AWAY database: the server fills it
    /// with the demo community and leaves it there.
    #[arg(long, env = "KITH_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Also print the figures as one JSON object (before the ratio lines).
    #[arg(long)]
    pub json: bool,
}

impl Scale {
    /// Timed fetches of each page (and of the floor).
    fn page_fetches(self) -> usize {
        match self {
            Scale::Tiny => 20,
            Scale::Small => 300,
            Scale::Reference => 2_000,
            Scale::Large => 10_000,
        }
    }
}

/// The `kith serve --demo` child; killed if the bench stops early.
struct Server {
    child: tokio::process::Child,
    base: String,
}

impl Server {
    async fn start(data_dir: &std::path::Path, database_url: Option<&str>) -> anyhow::Result<Self> {
        let exe = std::env::current_exe()?;
        let mut cmd = tokio::process::Command::new(exe);
        cmd.arg("serve")
            .arg("--demo")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .env_remove("KITH_CONFIG")
            .env(
                "RUST_LOG",
                std::env::var("KITH_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true);
        match database_url {
            Some(url) => {
                cmd.env("KITH_DATABASE_URL", url);
            }
            None => {
                cmd.env_remove("KITH_DATABASE_URL")
                    .arg("--data-dir")
                    .arg(data_dir);
            }
        }
        let mut child = cmd.spawn()?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        // The demo is built before the server says it is serving.
        let base = tokio::time::timeout(Duration::from_secs(600), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.split("serving on ").nth(1) {
                    let url = rest.split_whitespace().next().unwrap_or("");
                    return Ok(url.trim_end_matches('/').to_owned());
                }
            }
            anyhow::bail!("the server stopped before it was serving")
        })
        .await
        .map_err(|_| anyhow::anyhow!("the demo server did not start within 10 minutes"))??;
        // Keep its output flowing so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server { child, base })
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            // SAFETY: sends a signal to our own child, whose pid we hold and have not reaped.
            unsafe {
                libc::kill(pid as i32, libc::SIGTERM);
            }
        }
        match tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await {
            Ok(status) => anyhow::ensure!(status?.success(), "the server failed on stop"),
            Err(_) => {
                self.child.kill().await?;
                anyhow::bail!("the server did not stop within a minute of SIGTERM");
            }
        }
        Ok(())
    }
}

/// Fetches over one keep-alive connection, as a browser tab does.
struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    /// GETs `path` (as the member whose session `cookie` is, or a visitor) asking for
    /// compression: the body as served.
    async fn get(&self, path: &str, cookie: Option<&str>) -> anyhow::Result<Vec<u8>> {
        let mut req = self
            .http
            .get(format!("{}{path}", self.base))
            .header("accept-encoding", "gzip, br")
            .header("accept", "text/html,*/*");
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let res = req.send().await?;
        anyhow::ensure!(res.status().is_success(), "GET {path}: {}", res.status());
        Ok(res.bytes().await?.to_vec())
    }
}

/// One page's weight: (HTML bytes, CSS + JS bytes, other bytes — the icon and pictures),
/// and how many files it referenced.
#[derive(Debug, Clone, Copy, Default)]
struct Weight {
    html: u64,
    code: u64,
    pictures: u64,
    files: usize,
}

impl Weight {
    fn critical(&self) -> u64 {
        self.html + self.code
    }

    fn total(&self) -> u64 {
        self.html + self.code + self.pictures
    }
}

/// The value of attribute `name` in the tag `tag` (its text between `<` and `>`).
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    tag[at..].split('"').next()
}

/// The same-site files a page references: (path, is CSS or JS).
fn referenced(html: &str) -> Vec<(String, bool)> {
    let mut out = BTreeSet::new();
    for chunk in html.split('<').skip(1) {
        let tag = chunk.split('>').next().unwrap_or("");
        let (found, code) = if tag.starts_with("script ") {
            (attr(tag, "src"), true)
        } else if tag.starts_with("img ") {
            (attr(tag, "src"), false)
        } else if tag.starts_with("link ") {
            match attr(tag, "rel") {
                Some("stylesheet") => (attr(tag, "href"), true),
                Some("icon") => (attr(tag, "href"), false),
                _ => (None, false),
            }
        } else {
            (None, false)
        };
        if let Some(path) = found.filter(|p| p.starts_with('/') && !p.starts_with("//")) {
            out.insert((path.replace("&amp;", "&"), code));
        }
    }
    out.into_iter().collect()
}

/// A page's weight as a browser with an empty cache fetches it.
async fn weigh(client: &Client, path: &str, cookie: Option<&str>) -> anyhow::Result<Weight> {
    let html = client.get(path, cookie).await?;
    let mut w = Weight {
        html: html.len() as u64,
        ..Weight::default()
    };
    for (file, code) in referenced(&String::from_utf8_lossy(&html)) {
        let n = client.get(&file, cookie).await?.len() as u64;
        if code {
            w.code += n;
        } else {
            w.pictures += n;
        }
        w.files += 1;
    }
    Ok(w)
}

/// Milliseconds, sorted, and their percentiles.
struct Times(Vec<f64>);

impl Times {
    fn percentile(&self, p: f64) -> f64 {
        super::search::percentile(&self.0, p)
    }
}

/// The first `href` in `html` that starts with `prefix` (up to its closing quote).
fn first_link(html: &str, prefix: &str) -> Option<String> {
    let key = format!("href=\"{prefix}");
    let at = html.find(&key)? + "href=\"".len();
    html[at..].split('"').next().map(str::to_owned)
}

pub async fn run(args: PagesArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let fetches = args.scale.page_fetches();
    let database_url = args.database_url.clone().filter(|u| !u.trim().is_empty());
    let engine = if database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let dir = TempDir::new("pages")?;

    // 1. The demo world, served.
    let seed_start = Instant::now();
    let server = Server::start(&dir.0, database_url.as_deref()).await?;
    let seed_secs = seed_start.elapsed().as_secs_f64();
    println!(
        "kith bench pages: scale {}, {engine}, the demo world; {fetches} fetches of each page; demo built and served in {seed_secs:.1} s",
        args.scale.name(),
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let client = Client {
        http: http.clone(),
        base: server.base.clone(),
    };

    // 2. The member's session and the pages.
    let login = http
        .post(format!("{}/api/v1/sessions", server.base))
        .json(&serde_json::json!({
            "login": crate::demo::member_phone(crate::demo::DISTRIBUTOR),
            "password": crate::demo::DEMO_PASSWORD,
        }))
        .send()
        .await?;
    anyhow::ensure!(
        login.status().as_u16() == 201,
        "sign in: {}",
        login.status()
    );
    let token = login.json::<serde_json::Value>().await?["token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("sign in: no token"))?
        .to_owned();
    let cookie = format!("kith_session={token}");
    let shops = String::from_utf8_lossy(&client.get("/shops", None).await?).into_owned();
    let shop = first_link(&shops, "/shops/").ok_or_else(|| anyhow::anyhow!("no shop listed"))?;
    let shop_page = String::from_utf8_lossy(&client.get(&shop, None).await?).into_owned();
    let product = first_link(&shop_page, &format!("{shop}/products/"))
        .ok_or_else(|| anyhow::anyhow!("no product on {shop}"))?;
    let floor_path = first_link(&shops, "/static/kith.")
        .ok_or_else(|| anyhow::anyhow!("no stylesheet linked"))?;
    let pages: [(&str, String, Option<&str>); 3] = [
        ("home_visitor", "/".to_owned(), None),
        ("home_member", "/".to_owned(), Some(cookie.as_str())),
        ("product", product.clone(), Some(cookie.as_str())),
    ];

    // 3. Weight.
    let mut weights = Vec::new();
    for (_, path, cookie) in &pages {
        weights.push(weigh(&client, path, *cookie).await?);
    }
    // The member's home must be the member's (a lost session would weigh the visitor's).
    let member_home = String::from_utf8_lossy(&client.get("/", Some(&cookie)).await?).into_owned();
    anyhow::ensure!(
        member_home.contains("action=\"/logout\""),
        "the member's session was not taken"
    );

    // 4. Time: the floor and every page, round-robin; a warm-up round first.
    let warm = (fetches / 10).max(2);
    let mut floor = Vec::with_capacity(fetches);
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(fetches); pages.len()];
    for round in 0..warm + fetches {
        let t = Instant::now();
        client.get(&floor_path, None).await?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if round >= warm {
            floor.push(ms);
        }
        for (i, (_, path, cookie)) in pages.iter().enumerate() {
            let t = Instant::now();
            client.get(path, *cookie).await?;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            if round >= warm {
                times[i].push(ms);
            }
        }
    }
    server.stop().await?;
    drop(dir);
    let sorted = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        Times(v)
    };
    let floor = sorted(floor);
    let times: Vec<Times> = times.into_iter().map(sorted).collect();

    let kib = |b: u64| b as f64 / 1024.0;
    println!(
        "floor {floor_path}: p50 {:.2} ms, p99 {:.2} ms",
        floor.percentile(0.5),
        floor.percentile(0.99)
    );
    println!(
        "budgets: HTML + CSS + JS {:.0} KiB, everything {:.0} KiB",
        kib(CRITICAL_BUDGET),
        kib(TOTAL_BUDGET)
    );
    let mut ratios = Vec::new();
    let mut figures = serde_json::Map::new();
    for (((name, path, _), w), t) in pages.iter().zip(&weights).zip(&times) {
        println!(
            "{name:<13} {path}: HTML {:.1} KiB + CSS/JS {:.1} KiB + pictures {:.1} KiB ({} files) = {:.1} KiB; p50 {:.2} ms, p99 {:.2} ms",
            kib(w.html),
            kib(w.code),
            kib(w.pictures),
            w.files,
            kib(w.total()),
            t.percentile(0.5),
            t.percentile(0.99),
        );
        let critical = CRITICAL_BUDGET as f64 / w.critical().max(1) as f64;
        let total = TOTAL_BUDGET as f64 / w.total().max(1) as f64;
        let p50 = floor.percentile(0.5) / t.percentile(0.5).max(1e-9);
        let p99 = floor.percentile(0.99) / t.percentile(0.99).max(1e-9);
        figures.insert(
            (*name).to_owned(),
            serde_json::json!({
                "path": path, "html_bytes": w.html, "code_bytes": w.code,
                "picture_bytes": w.pictures, "files": w.files,
                "p50_ms": t.percentile(0.5), "p99_ms": t.percentile(0.99),
            }),
        );
        ratios.push((format!("pages_{name}_critical_vs_budget"), critical));
        ratios.push((format!("pages_{name}_weight_vs_budget"), total));
        ratios.push((format!("pages_{name}_p50_vs_floor"), p50));
        ratios.push((format!("pages_{name}_p99_vs_floor"), p99));
    }
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "pages", "scale": args.scale.name(), "engine": engine,
                "fetches": fetches,
                "budgets": { "critical_bytes": CRITICAL_BUDGET, "total_bytes": TOTAL_BUDGET },
                "floor": { "path": floor_path, "p50_ms": floor.percentile(0.5), "p99_ms": floor.percentile(0.99) },
                "pages": figures,
                "ratios": ratios.iter().map(|(n, v)| (n.clone(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
            })
        );
    }
    for (name, value) in ratios {
        println!("ratio {name} {value:.3}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{attr, first_link, referenced};

    #[test]
    fn finds_what_a_page_references() {
        let html = r#"<link rel="icon" href="/static/icon.1.svg"><link rel="stylesheet" href="/static/kith.2.css">
<meta property="og:image" content="/media/x"><script src="/static/htmx.3.js" defer></script>
<img class="cover" src="/media/a/thumb" alt=""><img src="https://elsewhere.example/b.png">
<img src="/media/a/thumb"><a href="/shops/1">shop</a>"#;
        assert_eq!(
            referenced(html),
            vec![
                ("/media/a/thumb".to_owned(), false),
                ("/static/htmx.3.js".to_owned(), true),
                ("/static/icon.1.svg".to_owned(), false),
                ("/static/kith.2.css".to_owned(), true),
            ]
        );
        assert_eq!(attr("img src=\"/x\" alt=\"\"", "alt"), Some(""));
        assert_eq!(first_link(html, "/shops/").as_deref(), Some("/shops/1"));
    }
}
