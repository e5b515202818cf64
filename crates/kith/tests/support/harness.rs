//! `TestApp`: a running kith server on a random port, its clock, and helpers that read like
//! the product (`register_member`, `approved_merchant`, …).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use kith::config::{ServeArgs, Settings, StorageArgs};
use kith_app::App;
use kith_domain::{BoundedText, ManualClock, Password, Phone};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub(crate) const PASSWORD: &str = "correct horse battery";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    Sqlite,
    Postgres,
}

/// Runs one story on both engines: `both_engines!(story)` makes `story_sqlite` and
/// `story_postgres` tests. The PostgreSQL one needs `KITH_TEST_POSTGRES_URL`; without it
/// the test is skipped locally and fails under CI, where it must run.
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),+ $(,)?) => {
        $(
            $crate::paste_tests!($name);
        )+
    };
}

/// `both_engines_with!(setup; a, b)`: as [`both_engines!`], on servers whose flags
/// `setup(&mut ServeArgs)` changes first (the guards the default test server turns off).
#[macro_export]
macro_rules! both_engines_with {
    ($setup:ident; $($name:ident),+ $(,)?) => {
        $(
            $crate::paste_tests!(@with $name, super::$setup);
        )+
    };
}

#[macro_export]
macro_rules! paste_tests {
    ($name:ident) => {
        $crate::paste_tests!(@with $name, $crate::harness::defaults);
    };
    (@with $name:ident, $setup:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(
                    $crate::harness::TestApp::spawn_with($crate::harness::Engine::Sqlite, $setup)
                        .await
                        .expect("spawn"),
                )
                .await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) =
                    $crate::harness::TestApp::spawn_with($crate::harness::Engine::Postgres, $setup)
                        .await
                {
                    super::$name(app).await;
                }
            }
        }
    };
}

/// The `id` member of an answer.
pub(crate) fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// The test servers' flags as they are: no change.
pub(crate) fn defaults(_: &mut ServeArgs) {}

/// A directory removed when dropped.
pub(crate) struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub(crate) fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "kith-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: ManualClock,
    pub app: App,
    pub engine: Engine,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: TempDir,
    _pg: Option<kith_store::testing::TestDatabase>,
}

/// A logged-in account.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: String,
    pub token: String,
    pub login: String,
}

pub(crate) struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl std::fmt::Debug for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

impl Resp {
    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub(crate) fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {}",
            self.body
        );
        self.body
    }

    /// Asserts a problem document with this status and `field`.
    #[track_caller]
    pub(crate) fn problem(self, status: u16, field: Option<&str>) -> Value {
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = self.expect(status);
        assert_eq!(ct, "application/problem+json", "problem content type");
        assert_eq!(body["status"], status, "problem status member: {body}");
        assert!(
            body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("/problems/")),
            "problem type: {body}"
        );
        assert!(
            body["title"].is_string() && body["detail"].is_string(),
            "problem title/detail: {body}"
        );
        if let Some(f) = field {
            assert_eq!(body["field"], f, "problem field: {body}");
        }
        body
    }
}

static PHONE_SEQ: AtomicU32 = AtomicU32::new(0);

/// A fresh, valid mainland mobile number for this test process.
pub(crate) fn next_phone() -> String {
    format!("137{:08}", PHONE_SEQ.fetch_add(1, Ordering::Relaxed))
}

/// The opt-in test log: `KITH_TEST_LOG=debug` (any `tracing` filter, e.g.
/// `kith_app=debug,info`) makes the servers a test spawns log to the test's output, which
/// nextest shows for a failing test. Without it the tests are silent.
fn init_test_log() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("KITH_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
    });
}

impl TestApp {
    /// Starts a server. `None` when PostgreSQL is asked for but not configured (outside CI).
    pub(crate) async fn spawn(engine: Engine) -> Option<TestApp> {
        Self::spawn_with(engine, defaults).await
    }

    /// Starts a server whose flags `setup` changes first. The test servers turn off the
    /// guards against automation a story would trip by accident (every test member signs
    /// up from 127.0.0.1, and stories move the clock by weeks): sign-up challenges and the
    /// session idle timeout. The stories about those guards turn them back on here.
    pub(crate) async fn spawn_with(
        engine: Engine,
        setup: impl FnOnce(&mut ServeArgs),
    ) -> Option<TestApp> {
        init_test_log();
        let dir = TempDir::new();
        let pg = match engine {
            Engine::Sqlite => {
                kith_store::testing::sqlite_from_template(&dir.0).expect("migrated SQLite");
                None
            }
            Engine::Postgres => Some(kith_store::testing::migrated_database_or_skip()?),
        };
        let mut args = ServeArgs {
            storage: StorageArgs {
                data_dir: Some(dir.0.clone()),
                database_url: pg.as_ref().map(|d| d.url.clone()),
                pool_size: Some(8),
                // Never pick up a developer's kith.toml.
                config: Some(write_empty_config(&dir)),
                ..Default::default()
            },
            listen: Some("127.0.0.1:0".parse().expect("addr")),
            webhook_allow_private: Some(true),
            workers: Some(false),
            sandbox_payments: Some(true),
            signup_challenge_after: Some(0),
            signup_device_challenge_after: Some(0),
            signups_per_hour: Some(0),
            session_idle_hours: Some(0),
            // The CDN the catalog stories' product images come from.
            image_hosts: Some("img.example.com".into()),
            // Codes go to the console provider, which keeps them for the stories to read.
            sms_provider: Some("console".into()),
            // Stories register by password freely; the phone-code sign-up has its own.
            signup_phone_code: Some(false),
            ..Default::default()
        };
        setup(&mut args);
        let settings = Settings::resolve(&args).expect("settings");
        let clock = ManualClock::starting_now();
        let server = kith::Application::build_with_clock(&settings, Arc::new(clock.clone()))
            .await
            .expect("build server");
        let base = format!("http://{}", server.local_addr());
        let app = server.app().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(server.run_until(async {
            let _ = rx.await;
        }));
        Some(TestApp {
            base,
            client: reqwest::Client::new(),
            clock,
            app,
            engine,
            shutdown: Some(tx),
            server: Some(handle),
            _dir: dir,
            _pg: pg,
        })
    }

    pub(crate) async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        Self::read(res).await
    }

    pub(crate) async fn read(res: reqwest::Response) -> Resp {
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(reqwest::Method::GET, path, token, None).await
    }
    pub(crate) async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(reqwest::Method::POST, path, token, Some(body))
            .await
    }
    pub(crate) async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(reqwest::Method::PATCH, path, token, Some(body))
            .await
    }
    pub(crate) async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(reqwest::Method::PUT, path, token, Some(body))
            .await
    }
    pub(crate) async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(reqwest::Method::DELETE, path, token, None)
            .await
    }

    pub(crate) async fn login(&self, login: &str, password: &str) -> Resp {
        self.post(
            "/api/v1/sessions",
            None,
            json!({ "login": login, "password": password }),
        )
        .await
    }

    /// The last SMS code the console provider sent to `phone`.
    pub(crate) fn last_sms_code(&self, phone: &str) -> Option<String> {
        self.app
            .sms
            .recent()
            .into_iter()
            .rev()
            .find(|m| m.to == phone)
            .and_then(|m| {
                m.message
                    .params
                    .into_iter()
                    .find(|(k, _)| k == "code")
                    .map(|(_, v)| v)
            })
    }

    /// Registers a member with a fresh phone number and logs them in (proving the number
    /// with its SMS code when the server asks sign-ups to).
    pub(crate) async fn register_member(&self, name: &str) -> User {
        let phone = next_phone();
        let mut body = json!({ "phone": phone, "password": PASSWORD, "display_name": name });
        let first = self.post("/api/v1/accounts", None, body.clone()).await;
        let acct = if first.status == 422 && first.body["field"] == "code" {
            self.post(
                "/api/v1/auth/sms-codes",
                None,
                json!({ "phone": phone, "purpose": "login" }),
            )
            .await
            .expect(202);
            body["code"] = json!(self.last_sms_code(&phone).expect("a sign-up code"));
            self.post("/api/v1/accounts", None, body).await.expect(201)
        } else {
            first.expect(201)
        };
        let s = self.login(&phone, PASSWORD).await.expect(201);
        User {
            id: acct["id"].as_str().expect("id").to_owned(),
            token: s["token"].as_str().expect("token").to_owned(),
            login: phone,
        }
    }

    /// A platform admin, made the way `kith admin create-admin` makes one.
    pub(crate) async fn admin(&self) -> User {
        let phone = next_phone();
        self.app
            .create_account(
                Some(Phone::parse(&phone).expect("phone")),
                None,
                Password::parse(PASSWORD).expect("password"),
                BoundedText::parse("name", "平台管理员", 1, 32).expect("name"),
                true,
            )
            .await
            .expect("create admin");
        let s = self.login(&phone, PASSWORD).await.expect(201);
        User {
            id: s["account"]["id"].as_str().expect("id").to_owned(),
            token: s["token"].as_str().expect("token").to_owned(),
            login: phone,
        }
    }

    /// A member who applied and was approved: (owner, merchant id).
    pub(crate) async fn approved_merchant(&self, name: &str) -> (User, String) {
        let owner = self.register_member(&format!("{name}老板")).await;
        let m = self
            .post(
                "/api/v1/merchants",
                Some(&owner.token),
                json!({ "name": name, "description": "测试商家" }),
            )
            .await
            .expect(201);
        let id = m["id"].as_str().expect("id").to_owned();
        let admin = self.admin().await;
        self.post(
            &format!("/api/v1/merchants/{id}/approve"),
            Some(&admin.token),
            json!({}),
        )
        .await
        .expect(200);
        (owner, id)
    }

    /// A store of the merchant: its id.
    pub(crate) async fn store(&self, owner: &User, merchant_id: &str, name: &str) -> String {
        let s = self
            .post(
                &format!("/api/v1/merchants/{merchant_id}/stores"),
                Some(&owner.token),
                json!({ "name": name, "address": "贵州省贵阳市观山湖区林城东路 88 号", "latitude": 26.647, "longitude": 106.63,
                        "opening_hours": [{ "weekday": 1, "opens": "09:00", "closes": "21:00" }] }),
            )
            .await
            .expect(201);
        s["id"].as_str().expect("id").to_owned()
    }

    /// A member who accepted a clerk invitation to `store_id`.
    pub(crate) async fn clerk(&self, owner: &User, merchant_id: &str, store_id: &str) -> User {
        let clerk = self.register_member("店员").await;
        let inv = self
            .post(
                &format!("/api/v1/merchants/{merchant_id}/stores/{store_id}/clerk-invitations"),
                Some(&owner.token),
                json!({}),
            )
            .await
            .expect(201);
        self.post(
            "/api/v1/invitations/accept",
            Some(&clerk.token),
            json!({ "code": inv["code"] }),
        )
        .await
        .expect(200);
        clerk
    }

    /// Stops the server the way SIGTERM does and waits for it.
    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.expect("server task").expect("server result");
        }
    }
}

fn write_empty_config(dir: &TempDir) -> std::path::PathBuf {
    let p = dir.0.join("kith.toml");
    std::fs::write(&p, "").expect("write config");
    p
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl TestApp {
    /// A member who accepted the owner's manager invitation to `merchant_id`.
    pub(crate) async fn manager(&self, owner: &User, merchant_id: &str) -> User {
        let manager = self.register_member("店长").await;
        let inv = self
            .post(
                &format!("/api/v1/merchants/{merchant_id}/invitations"),
                Some(&owner.token),
                json!({}),
            )
            .await
            .expect(201);
        self.post(
            "/api/v1/invitations/accept",
            Some(&manager.token),
            json!({ "code": inv["code"] }),
        )
        .await
        .expect(200);
        manager
    }

    /// `GET /api/v1/me` as `user`.
    pub(crate) async fn me(&self, user: &User) -> Value {
        self.get("/api/v1/me", Some(&user.token)).await.expect(200)
    }

    /// Walks the paged list at `path` `limit` items at a time, following `next_cursor` to
    /// the end, and checks the pages against the whole list as one page of 100 shows it:
    /// the same items (named by the JSON pointer `id`) in the same order, none twice and
    /// none missing, no page over `limit`. Returns the ids page by page.
    pub(crate) async fn assert_pages_cover(
        &self,
        path: &str,
        token: Option<&str>,
        limit: i64,
        id: &str,
    ) -> Vec<Vec<String>> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let ids = |page: &Value| -> Vec<String> {
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|item| {
                    item.pointer(id)
                        .and_then(Value::as_str)
                        .unwrap_or_else(|| panic!("{id} in {item}"))
                        .to_owned()
                })
                .collect()
        };
        let whole = self
            .get(&format!("{path}{sep}limit=100"), token)
            .await
            .expect(200);
        assert_eq!(whole["next_cursor"], Value::Null, "more than 100 in {path}");
        let whole = ids(&whole);
        let mut pages: Vec<Vec<String>> = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = self
                .get(&format!("{path}{sep}limit={limit}&cursor={cursor}"), token)
                .await
                .expect(200);
            let items = ids(&page);
            assert!(
                items.len() as i64 <= limit,
                "{path}: page of {}",
                items.len()
            );
            pages.push(items);
            match page["next_cursor"].as_str() {
                Some(c) => cursor = c.to_owned(),
                None => break,
            }
            assert!(pages.len() <= whole.len(), "{path}: paging does not end");
        }
        assert_eq!(pages.concat(), whole, "{path} paged by {limit}");
        pages
    }
}

/// A shipping address that passes validation.
pub(crate) fn address() -> Value {
    json!({ "name": "王小美", "phone": "13912345678", "province": "贵州省", "city": "贵阳市", "district": "观山湖区", "detail": "林城东路 88 号 3 栋" })
}

/// Money and callbacks, as the outside world (a payer, a gateway, a carrier) does them.
impl TestApp {
    /// Confirms a sandbox payment the way a payer does: on the gateway's page. The status.
    pub(crate) async fn confirm_on_sandbox(&self, payment_id: &str, outcome: &str) -> u16 {
        let r = self
            .client
            .post(format!("{}/sandbox/pay/{payment_id}/confirm", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("outcome={outcome}"))
            .send()
            .await
            .expect("confirm");
        r.status().as_u16()
    }

    /// Tops up `u`'s wallet through the sandbox gateway's page and its signed callback.
    pub(crate) async fn top_up(&self, u: &User, fen: i64) {
        let p = self
            .post(
                "/api/v1/me/wallet/topups",
                Some(&u.token),
                json!({ "amount_fen": fen }),
            )
            .await
            .expect(201);
        let pay_url = p["pay_url"].as_str().expect("pay_url");
        assert!(pay_url.contains("/sandbox/pay/"));
        // The gateway page shows the payment; confirming redirects back to it.
        let page = self
            .client
            .get(pay_url)
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("page body");
        assert!(page.contains("模拟支付（演示）"), "{page}");
        let status = self
            .confirm_on_sandbox(p["id"].as_str().expect("id"), "succeeded")
            .await;
        assert!(matches!(status, 200 | 303), "{status}");
    }

    /// Lets the refunds in flight reach their provider and come back: runs due jobs (the
    /// sandbox answers a refund through its signed callback from a job, as a gateway
    /// would) until no refund of `order_id` is `requested`; returns the order's refunds.
    /// Panics if one is still in flight after a few rounds.
    pub(crate) async fn settle_refunds(
        &self,
        merchant_id: &str,
        order_id: &str,
        token: &str,
    ) -> Value {
        for _ in 0..5 {
            kith_app::events::jobs::run_once(&self.app, "test-refunds")
                .await
                .expect("run jobs");
            let refunds = self
                .get(
                    &format!("/api/v1/merchants/{merchant_id}/orders/{order_id}/refunds"),
                    Some(token),
                )
                .await
                .expect(200);
            let open = refunds
                .as_array()
                .expect("refunds")
                .iter()
                .any(|r| r["status"] == "requested");
            if !open {
                return refunds;
            }
        }
        panic!("a refund of order {order_id} is still requested");
    }

    /// A `Kith-Signature` header over `body`, made now with the sandbox secret.
    pub(crate) fn sign(&self, body: &[u8]) -> String {
        use kith_domain::Clock;
        kith_domain::signature::sign(
            self.app.config.sandbox_secret.as_bytes(),
            self.clock.now_ms() / 1000,
            body,
        )
    }

    /// POSTs `body` with a signature (`None`: a valid one), as a gateway or carrier does.
    pub(crate) async fn signed_post(
        &self,
        path: &str,
        body: &Value,
        signature: Option<String>,
    ) -> Resp {
        let bytes = serde_json::to_vec(body).expect("json");
        let sig = signature.unwrap_or_else(|| self.sign(&bytes));
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .header("kith-signature", sig)
            .body(bytes)
            .send()
            .await
            .expect("signed post");
        Self::read(r).await
    }
}

impl TestApp {
    /// The server's data directory (SQLite file, media).
    pub(crate) fn data_dir(&self) -> &std::path::Path {
        &self._dir.0
    }
}

impl TestApp {
    /// The PostgreSQL URL of this app's database, when it runs on PostgreSQL.
    pub(crate) fn database_url(&self) -> Option<&str> {
        self._pg.as_ref().map(|d| d.url.as_str())
    }

    /// Stops serving but keeps the store (directory, database) and the in-process `app`,
    /// so another server process can take over the same store. The search index is a
    /// server's own (one writer per directory): this app lets go of it.
    pub(crate) async fn halt(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.expect("server task").expect("server result");
        }
        self.app.search = kith_app::discovery::search::SearchHandle::default();
    }
}

/// A `kith serve` child process on a [`TestApp`]'s store (see [`TestApp::serve_process`]).
pub(crate) struct ServerProcess {
    pub child: std::process::Child,
    pub base: String,
    /// Its standard output: the URL line and the log.
    pub log: std::path::PathBuf,
}

impl TestApp {
    /// Starts `kith serve` as a separate process on this app's store (call [`Self::halt`]
    /// first), with the sandbox gateway on and `extra` flags; its output goes to files in
    /// `log_dir` named after `tag`. Returns once it has printed its URL.
    pub(crate) fn serve_process(
        &self,
        log_dir: &std::path::Path,
        tag: &str,
        extra: &[&str],
    ) -> ServerProcess {
        use std::time::{Duration, Instant};
        let out_path = log_dir.join(format!("serve-{tag}.out"));
        let err_path = log_dir.join(format!("serve-{tag}.err"));
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kith"));
        cmd.current_dir(self.data_dir())
            .env_remove("KITH_DATABASE_URL")
            .env_remove("KITH_DATA_DIR")
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--sandbox-payments",
                "true",
            ])
            .arg("--config")
            .arg(self.data_dir().join("kith.toml"))
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(extra)
            .stdout(std::fs::File::create(&out_path).expect("stdout file"))
            .stderr(std::fs::File::create(&err_path).expect("stderr file"))
            .stdin(std::process::Stdio::null());
        if let Some(url) = self.database_url() {
            cmd.args(["--database-url", url]);
        }
        let mut child = cmd.spawn().expect("spawn kith serve");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let printed = std::fs::read_to_string(&out_path).unwrap_or_default();
            if let Some(rest) = printed
                .lines()
                .find_map(|l| l.strip_prefix("kith is serving on "))
            {
                let base = rest
                    .split_whitespace()
                    .next()
                    .expect("url")
                    .trim_end_matches('/')
                    .to_owned();
                return ServerProcess {
                    child,
                    base,
                    log: out_path,
                };
            }
            let exited = child.try_wait().expect("try_wait").is_some();
            assert!(
                !exited && Instant::now() < deadline,
                "kith serve did not start: {}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
