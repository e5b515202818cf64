// Tests

/// An [`App`] on a throw-away SQLite database with one approved merchant, and a tiny
/// HTTP receiver; shared with the job tests.
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use kith_domain::{Clock, ManualClock};
use kith_store::testing::TestDatabase;
use kith_store::{Db, SqliteSync, args};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{App, AppConfig, Principal};

pub(crate) fn app_with(db: Db, clock: ManualClock, config: AppConfig) -> App {
    App::new(db, Arc::new(clock), config)
}

/// A test world: an [`App`] on a fresh database with one approved merchant owned by
/// `owner`. Fields drop in order, so the app goes before the storage guards.
pub(crate) struct TestEnv {
    pub app: App,
    pub clock: ManualClock,
    pub owner: Principal,
    pub merchant_id: crate::platform::ids::MerchantId,
    _storage: Storage,
}

/// What to clean up after a test.
enum Storage {
    SqliteDir(PathBuf),
    Postgres { _guard: PgGuard },
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Storage::SqliteDir(dir) = self {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Holds one clone of a PostgreSQL [`Db`] so that the last clone is dropped here, on a
/// plain thread: the synchronous client closes its connections by blocking on its own
/// runtime, which panics on a thread that drives async tasks. Then the database goes.
pub(crate) struct PgGuard {
    db: Option<Db>,
    _database: TestDatabase,
}

impl Drop for PgGuard {
    fn drop(&mut self) {
        if let Some(db) = self.db.take() {
            let _ = std::thread::spawn(move || drop(db)).join();
        }
    }
}

pub(crate) fn test_config() -> AppConfig {
    AppConfig {
        webhook_allow_private: true,
        ..Default::default()
    }
}

impl TestEnv {
    pub(crate) async fn new() -> Self {
        Self::sqlite(test_config()).await
    }

    pub(crate) async fn sqlite(config: AppConfig) -> Self {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "kith-app-test-{}-{}-{nanos}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        kith_store::testing::sqlite_from_template(&dir).unwrap();
        let db = Db::open_sqlite(&dir.join("kith.db"), SqliteSync::Normal, 2)
            .await
            .unwrap();
        Self::on(db, config, Storage::SqliteDir(dir)).await
    }

    /// The same world on a fresh PostgreSQL database, when `KITH_TEST_POSTGRES_URL`
    /// names a server; `None` (the test is skipped) otherwise.
    pub(crate) async fn postgres(config: AppConfig) -> Option<Self> {
        let Some(url) = kith_store::testing::postgres_url() else {
            eprintln!("KITH_TEST_POSTGRES_URL is not set; skipping a PostgreSQL test");
            return None;
        };
        let database = TestDatabase::migrated(&url).unwrap();
        let db = Db::connect_postgres(&database.url, 4).await.unwrap();
        let guard = PgGuard {
            db: Some(db.clone()),
            _database: database,
        };
        Some(Self::on(db, config, Storage::Postgres { _guard: guard }).await)
    }

    async fn on(db: Db, config: AppConfig, storage: Storage) -> Self {
        let clock = ManualClock::new(1_700_000_000_000);
        kith_store::migrate::run(&db, clock.now_ms()).await.unwrap();
        let app = app_with(db, clock.clone(), config);
        let mut env = Self {
            app,
            clock,
            owner: principal(""),
            merchant_id: crate::platform::ids::MerchantId::new(),
            _storage: storage,
        };
        let (owner, merchant_id) = env.add_merchant("approved").await;
        env.owner = owner;
        env.merchant_id = merchant_id;
        env
    }

    /// A fresh account with no role anywhere.
    pub(crate) async fn add_account(&self) -> Principal {
        let id = crate::platform::ids::new_id();
        let now = self.app.now_ms();
        let acc = id.clone();
        self.app
            .db
            .write(move |c| {
                c.execute(
                    "INSERT INTO accounts (id, email, password_hash, display_name, is_platform_admin, created_at)
                     VALUES ($1, $2, 'x', 'Test', $3, $4)",
                    args![&acc, format!("{acc}@example.test"), false, now],
                )
            })
            .await
            .unwrap();
        principal(&id)
    }

    /// A merchant in `status` with a fresh account as its owner.
    pub(crate) async fn add_merchant(
        &self,
        status: &str,
    ) -> (Principal, crate::platform::ids::MerchantId) {
        let owner = self.add_account().await;
        let merchant_id = crate::platform::ids::MerchantId::new();
        let now = self.app.now_ms();
        let (m, o, s) = (
            merchant_id.clone(),
            owner.account_id.clone(),
            status.to_owned(),
        );
        self.app
            .db
            .write(move |c| {
                c.execute(
                    "INSERT INTO merchants (id, name, status, owner_account_id, applied_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $5)",
                    args![&m, format!("shop {m}"), &s, &o, now],
                )?;
                c.execute(
                    "INSERT INTO merchant_staff (merchant_id, account_id, role, added_at)
                     VALUES ($1, $2, 'owner', $3)",
                    args![&m, &o, now],
                )
            })
            .await
            .unwrap();
        (owner, merchant_id)
    }

    /// Writes an outbox event, as a use case would; returns its id.
    pub(crate) async fn emit(
        &self,
        topic: &str,
        merchant_id: Option<&str>,
        payload: serde_json::Value,
    ) -> i64 {
        let now = self.app.now_ms();
        let (topic, merchant_id) = (topic.to_owned(), merchant_id.map(str::to_owned));
        self.app
            .db
            .write(move |c| {
                crate::platform::outbox::emit(
                    c,
                    now,
                    &topic,
                    merchant_id.as_deref(),
                    "agg-1",
                    &payload,
                )?;
                // The newest row: this one (these tests write one event at a time).
                c.query_one("SELECT MAX(id) FROM outbox", &[])?.int(0)
            })
            .await
            .unwrap()
    }
}

fn principal(id: &str) -> Principal {
    Principal {
        account_id: id.to_owned(),
        is_platform_admin: false,
    }
}

/// One request the receiver saw.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// A raw HTTP/1.1 server on 127.0.0.1 that answers with the queued statuses, then 200,
/// and records every request.
pub(crate) struct Receiver {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub(crate) async fn start(statuses: Vec<u16>) -> Self {
        Self::start_with_location(statuses, None).await
    }

    /// [`Receiver::start`] whose answers carry `Location: location` (a redirect).
    pub(crate) async fn start_with_location(statuses: Vec<u16>, location: Option<String>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/kith", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Mutex::new(VecDeque::from(statuses)));
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (seen, statuses, location) = (seen.clone(), statuses.clone(), location.clone());
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut sock).await else {
                        return;
                    };
                    seen.lock().unwrap().push(req);
                    let status = statuses.lock().unwrap().pop_front().unwrap_or(200);
                    let body = if status < 300 {
                        "ok"
                    } else {
                        "receiver says no"
                    };
                    let location = location
                        .as_deref()
                        .map(|l| format!("Location: {l}\r\n"))
                        .unwrap_or_default();
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\n{location}Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(answer.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Self {
            url,
            requests,
            task,
        }
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Received {
        headers,
        body: buf[head_end..head_end + len].to_vec(),
    })
}
