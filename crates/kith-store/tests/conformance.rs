//! Storage conformance: the same stories run against the embedded SQLite engine and against
//! PostgreSQL, through the one `Conn` interface, on the real schema.
//!
//! Every story `async fn story(db: Db)` becomes two tests, `story_sqlite` and
//! `story_postgres`. Each gets a fresh database (a temp dir for SQLite, a throw-away
//! database from `KITH_TEST_POSTGRES_URL` for PostgreSQL) that is already migrated; the
//! harness checks that migrating is idempotent. Without `KITH_TEST_POSTGRES_URL` the
//! PostgreSQL tests are skipped, unless `CI` is set, in which case they fail.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use kith_store::migrate::{self, MIGRATIONS};
use kith_store::testing::{TestDatabase, postgres_url};
use kith_store::{Conn, Db, Engine, Row, SqliteSync, StoreError, Value, args};

/// A realistic "now": 2024-11-30T20:53:20.123Z, with milliseconds that must survive.
const NOW: i64 = 1_733_000_000_123;

// ---------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------

/// A directory under the system temp dir, removed when dropped (also when a story panics).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "kith-conformance-{}-{}-{nanos}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn migration_names() -> Vec<&'static str> {
    MIGRATIONS.iter().map(|m| m.name).collect()
}

/// Migrates a fresh database, and checks that migrating again changes nothing.
async fn migrate_fresh(db: &Db) {
    let first = migrate::run(db, NOW).await.expect("first migrate::run");
    assert_eq!(
        first,
        migration_names(),
        "a fresh database gets every migration"
    );
    let second = migrate::run(db, NOW + 1)
        .await
        .expect("second migrate::run");
    assert!(
        second.is_empty(),
        "migrate::run is not idempotent: the second run applied {second:?}"
    );
}

async fn open_sqlite(dir: &TempDir) -> Db {
    Db::open_sqlite(&dir.0.join("kith.db"), SqliteSync::Normal, 4)
        .await
        .expect("open SQLite")
}

async fn on_sqlite<F, Fut>(story: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = TempDir::new();
    let db = open_sqlite(&dir).await;
    migrate_fresh(&db).await;
    story(db).await;
    drop(dir);
}

/// The PostgreSQL server to test against; `None` means skip (after saying so).
fn postgres_server() -> Option<String> {
    match postgres_url() {
        Some(url) => Some(url),
        None if std::env::var_os("CI").is_some() => {
            panic!(
                "CI is set but KITH_TEST_POSTGRES_URL is not: PostgreSQL conformance must run in CI"
            )
        }
        None => {
            eprintln!("skipping: KITH_TEST_POSTGRES_URL is not set");
            None
        }
    }
}

async fn on_postgres<F, Fut>(story: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(server) = postgres_server() else {
        return;
    };
    let tdb = TestDatabase::create(&server).expect("create a test database");
    let db = Db::connect_postgres(&tdb.url, 8)
        .await
        .expect("connect to the test database");
    migrate_fresh(&db).await;
    // The story owns (and drops) the last `Db` clone on a runtime worker thread, which is
    // exactly where the synchronous client used to panic.
    story(db).await;
    drop(tdb);
}

macro_rules! conformance {
    ($($story:ident => $sqlite:ident, $postgres:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $sqlite() {
            on_sqlite($story).await
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $postgres() {
            on_postgres($story).await
        }
    )*};
}

conformance! {
    values_round_trip => values_round_trip_sqlite, values_round_trip_postgres;
    constraint_violations => constraint_violations_sqlite, constraint_violations_postgres;
    unique_on_matches_exactly_the_columns => unique_on_matches_exactly_the_columns_sqlite, unique_on_matches_exactly_the_columns_postgres;
    primary_key_violation_is_unique_on_its_columns => primary_key_violation_is_unique_on_its_columns_sqlite, primary_key_violation_is_unique_on_its_columns_postgres;
    err_rolls_back_ok_commits => err_rolls_back_ok_commits_sqlite, err_rolls_back_ok_commits_postgres;
    concurrent_writes_isolate_failures => concurrent_writes_isolate_failures_sqlite, concurrent_writes_isolate_failures_postgres;
    panicking_closure_rolls_back => panicking_closure_rolls_back_sqlite, panicking_closure_rolls_back_postgres;
    a_batch_outlives_its_failed_first_write => a_batch_outlives_its_failed_first_write_sqlite, a_batch_outlives_its_failed_first_write_postgres;
    conditional_update_never_oversells => conditional_update_never_oversells_sqlite, conditional_update_never_oversells_postgres;
    reads_see_committed_not_uncommitted => reads_see_committed_not_uncommitted_sqlite, reads_see_committed_not_uncommitted_postgres;
    read_transaction_refuses_writes => read_transaction_refuses_writes_sqlite, read_transaction_refuses_writes_postgres;
    reads_see_each_commit_and_run_many_at_once => reads_see_each_commit_and_run_many_at_once_sqlite, reads_see_each_commit_and_run_many_at_once_postgres;
    deferred_statements_commit_or_fail_with_their_unit => deferred_statements_commit_or_fail_with_their_unit_sqlite, deferred_statements_commit_or_fail_with_their_unit_postgres;
    announced_reads_answer_as_reads_do => announced_reads_answer_as_reads_do_sqlite, announced_reads_answer_as_reads_do_postgres;
    ok_means_committed_after_a_swallowed_error => ok_means_committed_after_a_swallowed_error_sqlite, ok_means_committed_after_a_swallowed_error_postgres;
    placeholders => placeholders_sqlite, placeholders_postgres;
    placeholders_after_apostrophe_in_comment => placeholders_after_apostrophe_in_comment_sqlite, placeholders_after_apostrophe_in_comment_postgres;
    skip_locked_leasing => skip_locked_leasing_sqlite, skip_locked_leasing_postgres;
    migrations => migrations_sqlite, migrations_postgres;
    follows_keep_their_rows_and_rules_through_0034 => follows_keep_their_rows_and_rules_through_0034_sqlite, follows_keep_their_rows_and_rules_through_0034_postgres;
    ping_and_describe => ping_and_describe_sqlite, ping_and_describe_postgres;
    a_malformed_id_names_no_row => a_malformed_id_names_no_row_sqlite, a_malformed_id_names_no_row_postgres;
}

/// A path id that is not a UUID reaching a query (the web pages pass them through) finds
/// nothing on either engine, and leaves the transaction usable — never an internal error.
async fn a_malformed_id_names_no_row(db: Db) {
    let found = db
        .write(|c| {
            let rows = c.query("SELECT id FROM accounts WHERE id = $1", args!["not-a-uuid"])?;
            let one = c.query_opt("SELECT id FROM accounts WHERE id = $1", args!["../../etc"])?;
            // The transaction goes on.
            let n = c.query_one("SELECT COUNT(*) FROM accounts", &[])?.int(0)?;
            Ok::<_, StoreError>((rows.len(), one.is_none(), n))
        })
        .await
        .expect("no error");
    assert_eq!(found, (0, true, 0));
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn new_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

/// Exact comparison of a row with the values expected, variant by variant.
#[track_caller]
fn assert_row(row: &Row, expected: Vec<Value>) {
    assert_eq!(format!("{row:?}"), format!("Row({expected:?})"));
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

fn deliberate() -> StoreError {
    StoreError::Other("deliberate failure".into())
}

fn is_deliberate(e: &StoreError) -> bool {
    matches!(e, StoreError::Other(m) if m == "deliberate failure")
}

const INSERT_ACCOUNT: &str = "INSERT INTO accounts \
     (id, phone, email, password_hash, display_name, is_platform_admin, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

fn add_account(
    c: &mut dyn Conn,
    id: &str,
    email: Option<&str>,
    phone: Option<&str>,
) -> Result<u64, StoreError> {
    c.execute(
        INSERT_ACCOUNT,
        args![id, phone, email, "hash", "someone", false, NOW],
    )
}

async fn account(db: &Db, email: &str) -> String {
    let id = new_id();
    let (i, e) = (id.clone(), email.to_owned());
    db.write(move |c| add_account(c, &i, Some(&e), None))
        .await
        .unwrap_or_else(|e| panic!("insert account {email}: {e:?}"));
    id
}

async fn try_merchant(
    db: &Db,
    owner: &str,
    name: &str,
    status: &str,
) -> Result<String, StoreError> {
    let id = new_id();
    let (i, o, n, s) = (
        id.clone(),
        owner.to_owned(),
        name.to_owned(),
        status.to_owned(),
    );
    db.write(move |c| {
        c.execute(
            "INSERT INTO merchants (id, name, status, owner_account_id, applied_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
            args![&i, &n, &s, &o, NOW],
        )
    })
    .await?;
    Ok(id)
}

async fn try_tier(db: &Db, merchant: &str, code: &str, rank: i64) -> Result<String, StoreError> {
    let id = new_id();
    let (i, m, k) = (id.clone(), merchant.to_owned(), code.to_owned());
    db.write(move |c| {
        c.execute(
            "INSERT INTO tiers (id, merchant_id, code, name, rank, created_at) \
             VALUES ($1, $2, $3, $3, $4, $5)",
            args![&i, &m, &k, rank, NOW],
        )
    })
    .await?;
    Ok(id)
}

const INSERT_LOGIN_FAILURE: &str =
    "INSERT INTO login_failures (login_key, client_addr, at) VALUES ($1, $2, $3)";

fn add_login_failure(c: &mut dyn Conn, key: &str) -> Result<u64, StoreError> {
    c.execute(INSERT_LOGIN_FAILURE, args![key, "127.0.0.1", NOW])
}

async fn count(db: &Db, sql: &'static str, params: Vec<Value>) -> i64 {
    db.read(move |c| c.query_one(sql, &params)?.int(0))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
}

/// Every login failure's key.
async fn login_keys(db: &Db) -> BTreeSet<String> {
    db.read(|c| {
        c.query("SELECT login_key FROM login_failures", &[])?
            .iter()
            .map(|r| r.text(0))
            .collect()
    })
    .await
    .unwrap()
}

async fn login_failures_with_key(db: &Db, key: &str) -> i64 {
    count(
        db,
        "SELECT COUNT(*) FROM login_failures WHERE login_key = $1",
        vec![key.into()],
    )
    .await
}

async fn add_job(db: &Db, attempts: i64, run_at: i64) -> String {
    let id = new_id();
    let i = id.clone();
    db.write(move |c| {
        c.execute(
            "INSERT INTO jobs (id, kind, payload, status, run_at, attempts, max_attempts, created_at) \
             VALUES ($1, 'test', $2, 'queued', $3, $4, 100, $5)",
            args![&i, "{}", run_at, attempts, NOW],
        )
    })
    .await
    .expect("insert job");
    id
}

// ---------------------------------------------------------------------------------------
// Stories
// ---------------------------------------------------------------------------------------

/// uuid, text/NULL, boolean, timestamptz, jsonb, bytea and aggregates come back exactly.
async fn values_round_trip(db: Db) {
    let (admin, plain, early) = (new_id(), new_id(), new_id());
    let name = "张三 O'Brien $1";
    {
        let (a, p, e) = (admin.clone(), plain.clone(), early.clone());
        db.write(move |c| {
            c.execute(
                INSERT_ACCOUNT,
                args![&a, None::<&str>, "admin@example.com", "h", name, true, NOW],
            )?;
            c.execute(
                INSERT_ACCOUNT,
                args![
                    &p,
                    "+8613800000000",
                    None::<&str>,
                    "h",
                    "plain",
                    false,
                    0i64
                ],
            )?;
            c.execute(
                INSERT_ACCOUNT,
                args![
                    &e,
                    None::<&str>,
                    "early@example.com",
                    "h",
                    "early",
                    false,
                    -1i64
                ],
            )?;
            Ok::<_, StoreError>(())
        })
        .await
        .expect("insert accounts");
    }

    let rows = db
        .read(|c| {
            c.query(
                "SELECT id, phone, email, display_name, is_platform_admin, created_at \
                 FROM accounts ORDER BY created_at DESC",
                &[],
            )
        })
        .await
        .expect("read accounts");
    assert_eq!(rows.len(), 3);
    assert_row(
        &rows[0],
        vec![
            Value::Text(admin.clone()),
            Value::Null,
            Value::Text("admin@example.com".into()),
            Value::Text(name.into()),
            Value::Int(1),
            Value::Int(NOW),
        ],
    );
    assert_row(
        &rows[1],
        vec![
            Value::Text(plain.clone()),
            Value::Text("+8613800000000".into()),
            Value::Null,
            Value::Text("plain".into()),
            Value::Int(0),
            Value::Int(0),
        ],
    );
    assert_row(
        &rows[2],
        vec![
            Value::Text(early.clone()),
            Value::Null,
            Value::Text("early@example.com".into()),
            Value::Text("early".into()),
            Value::Int(0),
            Value::Int(-1),
        ],
    );
    assert!(rows[0].bool(4).unwrap());
    assert!(!rows[1].bool(4).unwrap());
    assert_eq!(rows[0].opt_text(1).unwrap(), None);
    assert_eq!(
        rows[1].opt_text(1).unwrap().as_deref(),
        Some("+8613800000000")
    );
    assert_eq!(rows[0].int(5).unwrap(), NOW);
    // Ids come back as lowercase hyphenated text, whatever the column type.
    let id = rows[0].text(0).unwrap();
    assert_eq!(id, id.to_lowercase());
    assert_eq!(
        uuid::Uuid::parse_str(&id).unwrap().hyphenated().to_string(),
        id
    );

    // Parameters bind to the column types: uuid, boolean, timestamptz.
    let a = admin.clone();
    let by_id = db
        .read(move |c| {
            c.query_one("SELECT display_name FROM accounts WHERE id = $1", args![&a])?
                .text(0)
        })
        .await
        .unwrap();
    assert_eq!(by_id, name);
    let ids = |sql: &'static str, params: Vec<Value>| {
        let db = db.clone();
        async move {
            db.read(move |c| {
                c.query(sql, &params)?
                    .iter()
                    .map(|r| r.text(0))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        }
    };
    assert_eq!(
        ids(
            "SELECT id FROM accounts WHERE is_platform_admin = $1",
            vec![true.into()]
        )
        .await,
        vec![admin.clone()]
    );
    assert_eq!(
        ids(
            "SELECT id FROM accounts WHERE is_platform_admin = $1 ORDER BY created_at",
            vec![false.into()]
        )
        .await,
        vec![early.clone(), plain.clone()]
    );
    assert_eq!(
        ids(
            "SELECT id FROM accounts WHERE created_at = $1",
            vec![0i64.into()]
        )
        .await,
        vec![plain.clone()]
    );
    assert_eq!(
        ids(
            "SELECT id FROM accounts WHERE created_at < $1",
            vec![0i64.into()]
        )
        .await,
        vec![early.clone()]
    );
    assert_eq!(
        ids(
            "SELECT id FROM accounts WHERE created_at > $1",
            vec![(NOW - 1).into()]
        )
        .await,
        vec![admin.clone()]
    );
    let max = db
        .read(|c| c.query_one("SELECT MAX(created_at), COUNT(*) FROM accounts", &[]))
        .await
        .unwrap();
    assert_row(&max, vec![Value::Int(NOW), Value::Int(3)]);

    // jsonb: the text comes back as the same JSON (PostgreSQL may reorder keys).
    let payload = r#"{"zeta":[1,2.5,{"nested":null}],"alpha":"quote \" and 'apostrophe' and $1","unicode":"茶 ü","neg":-7,"flag":true,"big":9007199254740993}"#;
    let big: i64 = 9_007_199_254_740_993; // not representable as a double
    let job = new_id();
    {
        let j = job.clone();
        db.write(move |c| {
            c.execute(
                "INSERT INTO jobs (id, kind, payload, status, run_at, attempts, max_attempts, created_at) \
                 VALUES ($1, 'k', $2, 'queued', $3, $4, $5, $3)",
                args![&j, payload, NOW, big, i64::MAX],
            )
        })
        .await
        .expect("insert job");
    }
    let j = job.clone();
    let row = db
        .read(move |c| {
            c.query_one(
                "SELECT payload, attempts, max_attempts, run_at, lease_owner FROM jobs WHERE id = $1",
                args![&j],
            )
        })
        .await
        .unwrap();
    assert_eq!(json(&row.text(0).unwrap()), json(payload));
    assert_eq!(row.int(1).unwrap(), big);
    assert_eq!(row.int(2).unwrap(), i64::MAX);
    assert_eq!(row.int(3).unwrap(), NOW);
    assert_eq!(row.opt_text(4).unwrap(), None);

    // jsonb array and a boolean column's DEFAULT.
    let merchant = try_merchant(&db, &admin, "Tea", "approved").await.unwrap();
    let topics = r#"["order.paid","member.joined"]"#;
    let endpoint = new_id();
    {
        let (e, m) = (endpoint.clone(), merchant.clone());
        db.write(move |c| {
            c.execute(
                "INSERT INTO webhook_endpoints (id, merchant_id, url, secret, topics, created_at) \
                 VALUES ($1, $2, 'https://example.com/hook', 's', $3, $4)",
                args![&e, &m, topics, NOW],
            )
        })
        .await
        .expect("insert webhook endpoint");
    }
    let row = db
        .read(|c| {
            c.query_one(
                "SELECT active, topics, description FROM webhook_endpoints",
                &[],
            )
        })
        .await
        .unwrap();
    assert_eq!(format!("{:?}", row.get::<i64>(0)), "Ok(1)");
    assert!(row.bool(0).unwrap());
    assert_eq!(json(&row.text(1).unwrap()), json(topics));
    assert_eq!(row.text(2).unwrap(), "");

    // bytea: arbitrary bytes, empty bytes and NULL stay distinct.
    let body: Vec<u8> = vec![0, 1, 2, 0xff, 0, b'\'', b'\\', 0x80, b'$', b'1'];
    {
        let body = body.clone();
        db.write(move |c| {
            let sql = "INSERT INTO idempotency_keys \
                 (scope, idem_key, request_hash, response_status, response_type, response_body, created_at, expires_at) \
                 VALUES ($1, $2, 'rh', $3, 'application/octet-stream', $4, $5, $6)";
            c.execute(sql, args!["s", "k1", 200, body.clone(), NOW, NOW + 86_400_000])?;
            c.execute(sql, args!["s", "k2", 201, Vec::<u8>::new(), NOW, NOW + 86_400_000])?;
            c.execute(sql, args!["s", "k3", None::<i64>, None::<Vec<u8>>, NOW, NOW + 86_400_000])?;
            Ok::<_, StoreError>(())
        })
        .await
        .expect("insert idempotency keys");
    }
    let rows = db
        .read(|c| {
            c.query(
                "SELECT idem_key, response_body, response_status, expires_at \
                 FROM idempotency_keys ORDER BY idem_key",
                &[],
            )
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_row(
        &rows[0],
        vec![
            Value::Text("k1".into()),
            Value::Bytes(body.clone()),
            Value::Int(200),
            Value::Int(NOW + 86_400_000),
        ],
    );
    assert_row(
        &rows[1],
        vec![
            Value::Text("k2".into()),
            Value::Bytes(vec![]),
            Value::Int(201),
            Value::Int(NOW + 86_400_000),
        ],
    );
    assert_row(
        &rows[2],
        vec![
            Value::Text("k3".into()),
            Value::Null,
            Value::Null,
            Value::Int(NOW + 86_400_000),
        ],
    );
    assert_eq!(rows[0].get::<Vec<u8>>(1).unwrap(), body);
    assert_eq!(rows[2].get::<Option<Vec<u8>>>(1).unwrap(), None);

    // Aggregates decode as integers; an empty SUM is NULL.
    let agg = db
        .read(|c| {
            c.query_one(
                "SELECT COUNT(*), CAST(SUM(response_status) AS bigint), COUNT(response_body) \
                 FROM idempotency_keys",
                &[],
            )
        })
        .await
        .unwrap();
    assert_row(&agg, vec![Value::Int(3), Value::Int(401), Value::Int(2)]);
    let empty = db
        .read(|c| {
            c.query_one(
                "SELECT COUNT(*), CAST(SUM(response_status) AS bigint), \
                 CAST(COALESCE(SUM(response_status), 0) AS bigint) \
                 FROM idempotency_keys WHERE scope = $1",
                args!["nobody"],
            )
        })
        .await
        .unwrap();
    assert_row(&empty, vec![Value::Int(0), Value::Null, Value::Int(0)]);
    assert_eq!(empty.opt_int(1).unwrap(), None);
}

/// Unique, foreign-key, check and not-null violations map to the same errors on both
/// engines, and the failed writes leave nothing behind.
async fn constraint_violations(db: Db) {
    let a = account(&db, "a@example.com").await;
    let b = account(&db, "b@example.com").await;

    // accounts(email)
    let dup = new_id();
    let err = db
        .write(move |c| add_account(c, &dup, Some("a@example.com"), None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unique { .. }), "{err:?}");
    assert!(err.is_unique_on("accounts", &["email"]), "{err:?}");
    assert!(!err.is_unique_on("accounts", &["phone"]), "{err:?}");

    // accounts(phone)
    let p1 = new_id();
    db.write(move |c| add_account(c, &p1, None, Some("+8613900000000")))
        .await
        .unwrap();
    let p2 = new_id();
    let err = db
        .write(move |c| add_account(c, &p2, None, Some("+8613900000000")))
        .await
        .unwrap_err();
    assert!(err.is_unique_on("accounts", &["phone"]), "{err:?}");
    assert!(!err.is_unique_on("accounts", &["email"]), "{err:?}");

    // The partial unique index merchants(name) WHERE status <> 'rejected'.
    let m1 = try_merchant(&db, &a, "Tea House", "approved")
        .await
        .unwrap();
    let err = try_merchant(&db, &b, "Tea House", "pending")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unique { .. }), "{err:?}");
    assert!(err.is_unique_on("merchants", &["name"]), "{err:?}");
    assert!(
        !err.is_unique_on("merchants", &["owner_account_id"]),
        "{err:?}"
    );
    try_merchant(&db, &b, "Tea House", "rejected")
        .await
        .expect("a rejected merchant does not hold its name");
    // The partial unique index merchants(owner_account_id) WHERE status = 'pending'.
    let m2 = try_merchant(&db, &b, "Other", "pending").await.unwrap();
    let err = try_merchant(&db, &b, "Third", "pending").await.unwrap_err();
    assert!(
        err.is_unique_on("merchants", &["owner_account_id"]),
        "{err:?}"
    );
    assert!(!err.is_unique_on("merchants", &["name"]), "{err:?}");

    // The composite tiers(merchant_id, code) and tiers(merchant_id, rank).
    try_tier(&db, &m1, "gold", 1).await.unwrap();
    let err = try_tier(&db, &m1, "gold", 2).await.unwrap_err();
    assert!(
        err.is_unique_on("tiers", &["merchant_id", "code"]),
        "{err:?}"
    );
    assert!(
        !err.is_unique_on("tiers", &["merchant_id", "rank"]),
        "{err:?}"
    );
    let err = try_tier(&db, &m1, "silver", 1).await.unwrap_err();
    assert!(
        err.is_unique_on("tiers", &["merchant_id", "rank"]),
        "{err:?}"
    );
    assert!(
        !err.is_unique_on("tiers", &["merchant_id", "code"]),
        "{err:?}"
    );
    try_tier(&db, &m2, "gold", 1)
        .await
        .expect("the same code at another merchant");

    // Foreign keys.
    let err = try_tier(&db, &new_id(), "orphan", 3).await.unwrap_err();
    assert!(matches!(err, StoreError::Constraint { .. }), "{err:?}");
    let err = try_merchant(&db, &new_id(), "Ghost", "pending")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Constraint { .. }), "{err:?}");

    // CHECK constraints.
    let err = try_merchant(&db, &a, "Bogus", "bogus").await.unwrap_err();
    assert!(matches!(err, StoreError::Constraint { .. }), "{err:?}");
    let err = try_tier(&db, &m1, "platinum", 5000).await.unwrap_err();
    assert!(matches!(err, StoreError::Constraint { .. }), "{err:?}");
    let nobody = new_id();
    let err = db
        .write(move |c| add_account(c, &nobody, None, None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Constraint { .. }),
        "accounts_login_present: {err:?}"
    );

    // NOT NULL.
    let unnamed = new_id();
    let err = db
        .write(move |c| {
            c.execute(
                INSERT_ACCOUNT,
                args![
                    &unnamed,
                    None::<&str>,
                    "unnamed@example.com",
                    "h",
                    None::<&str>,
                    false,
                    NOW
                ],
            )
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Constraint { .. }), "{err:?}");

    // Only the successful writes are there.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM accounts", vec![]).await, 3);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM merchants", vec![]).await,
        3
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM tiers", vec![]).await, 2);
}

/// `is_unique_on(table, cols)` names one constraint: a violation of (merchant_id, code) is
/// not a violation "on code" or "on merchant_id" (PostgreSQL already answers so).
async fn unique_on_matches_exactly_the_columns(db: Db) {
    let a = account(&db, "a@example.com").await;
    let m = try_merchant(&db, &a, "Tea House", "approved")
        .await
        .unwrap();
    try_tier(&db, &m, "gold", 1).await.unwrap();
    let err = try_tier(&db, &m, "gold", 2).await.unwrap_err();
    assert!(
        err.is_unique_on("tiers", &["merchant_id", "code"]),
        "{err:?}"
    );
    assert!(
        !err.is_unique_on("tiers", &["code"]),
        "a (merchant_id, code) violation must not count as a violation on tiers(code): {err:?}"
    );
    assert!(!err.is_unique_on("tiers", &["merchant_id"]), "{err:?}");
}

/// A primary-key violation is a unique violation on the key's columns on both engines
/// (kith-app asks `is_unique_on("merchant_staff", &["merchant_id", "account_id"])` and
/// `is_unique_on("store_clerks", &["store_id", "account_id"])`, both primary keys).
async fn primary_key_violation_is_unique_on_its_columns(db: Db) {
    let insert = |key: &'static str| {
        let db = db.clone();
        async move {
            db.write(move |c| {
                c.execute(
                    "INSERT INTO idempotency_keys (scope, idem_key, request_hash, created_at, expires_at) \
                     VALUES ('scope', $1, 'rh', $2, $2)",
                    args![key, NOW],
                )
            })
            .await
        }
    };
    insert("k").await.unwrap();
    let err = insert("k").await.unwrap_err();
    assert!(matches!(err, StoreError::Unique { .. }), "{err:?}");
    assert!(
        err.is_unique_on("idempotency_keys", &["scope", "idem_key"]),
        "primary key (scope, idem_key): {err:?}"
    );

    let id = account(&db, "a@example.com").await;
    let err = db
        .write(move |c| add_account(c, &id, Some("other@example.com"), None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unique { .. }), "{err:?}");
    assert!(
        err.is_unique_on("accounts", &["id"]),
        "primary key (id): {err:?}"
    );
}

/// A closure that returns `Err` leaves nothing; one that returns `Ok` commits everything.
async fn err_rolls_back_ok_commits(db: Db) {
    let err = db
        .write(|c| {
            add_login_failure(c, "doomed")?;
            add_login_failure(c, "doomed")?;
            Err::<(), _>(deliberate())
        })
        .await
        .unwrap_err();
    assert!(
        is_deliberate(&err),
        "the closure's own error comes back: {err:?}"
    );
    assert_eq!(login_failures_with_key(&db, "doomed").await, 0);

    // A statement error after successful statements rolls back those too.
    let err = db
        .write(|c| {
            add_login_failure(c, "half")?;
            c.execute(
                "INSERT INTO sessions (token_hash, account_id, created_at, expires_at) \
                 VALUES ('t', $1, $2, $2)",
                args![new_id(), NOW],
            )?;
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Constraint { .. }), "{err:?}");
    assert_eq!(login_failures_with_key(&db, "half").await, 0);

    let n = db
        .write(|c| {
            add_login_failure(c, "kept")?;
            add_login_failure(c, "kept")?;
            Ok::<_, StoreError>(7)
        })
        .await
        .unwrap();
    assert_eq!(n, 7, "the closure's value comes back");
    assert_eq!(login_failures_with_key(&db, "kept").await, 2);
}

/// 100 concurrent writes, every third failing after it inserted (alternately by returning
/// an error and by a foreign-key violation): exactly the successful ones are visible. On
/// SQLite they share group commits, so this is the savepoint isolation.
async fn concurrent_writes_isolate_failures(db: Db) {
    let mut tasks = Vec::new();
    for i in 0..100u32 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let res = db
                .write(move |c| {
                    add_login_failure(c, &format!("k{i}"))?;
                    add_login_failure(c, &format!("k{i}-again"))?;
                    match (i % 3, i % 2) {
                        (0, 0) => Err(deliberate()),
                        (0, _) => {
                            add_session_for_no_account(c)?;
                            Ok(i)
                        }
                        _ => Ok(i),
                    }
                })
                .await;
            (i, res)
        }));
    }
    let mut expected = BTreeSet::new();
    for t in tasks {
        let (i, res) = t.await.expect("write task");
        match (i % 3, i % 2) {
            (0, 0) => assert!(
                matches!(&res, Err(e) if is_deliberate(e)),
                "write {i}: {res:?}"
            ),
            (0, _) => assert!(
                matches!(&res, Err(StoreError::Constraint { .. })),
                "write {i}: {res:?}"
            ),
            _ => {
                assert_eq!(res.as_ref().ok(), Some(&i), "write {i}: {res:?}");
                expected.insert(format!("k{i}"));
                expected.insert(format!("k{i}-again"));
            }
        }
    }
    let seen = login_keys(&db).await;
    assert_eq!(expected.len(), 132);
    assert_eq!(seen, expected);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM sessions", vec![]).await, 0);
}

/// What one queued write of a batch does, after inserting its key.
#[derive(Clone, Copy, Debug)]
enum Then {
    Keep,
    Fail,
    Violate,
    Panic,
}

/// Writes queued together while the writer is busy, in a known order, each inserting its
/// key and then keeping it or failing (an error returned, a constraint violated, a panic).
/// On SQLite they share one group commit, so a failure — first in the batch, last, or
/// several in a row — must roll back its own work alone and leave the writes around it to
/// commit. On PostgreSQL each write is its own transaction and the same outcomes hold.
/// (`concurrent_writes_isolate_failures` mixes failures into batches at random; this one
/// fixes where they fall.)
async fn a_batch_outlives_its_failed_first_write(db: Db) {
    use Then::*;
    let batches: [&[Then]; 5] = [
        &[Fail, Keep, Keep],
        &[Panic, Keep, Violate, Keep],
        &[Keep, Fail, Keep],
        &[Violate, Fail, Panic, Keep, Fail],
        &[Fail, Violate],
    ];
    let mut expected = BTreeSet::new();
    for (b, batch) in batches.iter().enumerate() {
        // Hold the writer in a write of its own until the batch is queued behind it.
        let (open, gate) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = std::sync::mpsc::channel::<()>();
        let held = tokio::spawn({
            let db = db.clone();
            let key = format!("gate{b}");
            async move {
                db.write(move |c| {
                    let _ = started_tx.send(());
                    let _ = gate.recv();
                    add_login_failure(c, &key)
                })
                .await
            }
        });
        tokio::task::spawn_blocking(move || started.recv())
            .await
            .expect("wait")
            .expect("the holding write starts");
        expected.insert(format!("gate{b}"));
        // `join_all` polls the writes in order on its first poll, so they queue in order;
        // the gate opens once all of them are queued.
        let writes = batch.iter().enumerate().map(|(i, then)| {
            let (db, key, then) = (db.clone(), format!("b{b}w{i}"), *then);
            Box::pin(async move {
                db.write(move |c| {
                    add_login_failure(c, &key)?;
                    match then {
                        Keep => Ok(()),
                        Fail => Err(deliberate()),
                        Violate => add_session_for_no_account(c),
                        Panic => panic!("deliberate panic in a write closure (conformance test)"),
                    }
                })
                .await
            }) as std::pin::Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>>
        });
        let mut all: Vec<_> = writes.collect();
        all.push(Box::pin(async move {
            open.send(()).expect("the holding write waits");
            Ok(())
        }));
        let results = futures_util::future::join_all(all).await;
        held.await
            .expect("holding task")
            .expect("the holding write commits");
        for (i, (then, res)) in batch.iter().zip(&results).enumerate() {
            match then {
                Keep => {
                    assert!(res.is_ok(), "batch {b} write {i}: {res:?}");
                    expected.insert(format!("b{b}w{i}"));
                }
                Fail => assert!(
                    matches!(res, Err(e) if is_deliberate(e)),
                    "batch {b} write {i}: {res:?}"
                ),
                Violate => assert!(
                    matches!(res, Err(StoreError::Constraint { .. })),
                    "batch {b} write {i}: {res:?}"
                ),
                Panic => assert!(res.is_err(), "batch {b} write {i}: {res:?}"),
            }
        }
    }
    let seen = login_keys(&db).await;
    assert_eq!(expected.len(), 5 + 7);
    assert_eq!(seen, expected);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM sessions", vec![]).await, 0);
}

/// A session for no account: a foreign-key violation.
fn add_session_for_no_account(c: &mut dyn Conn) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $3)",
        args![new_id(), new_id(), NOW],
    )?;
    Ok(())
}

/// A closure that panics after writing is rolled back, its caller gets an error, and the
/// engine keeps working (more panics than PostgreSQL pool slots, then a normal write).
async fn panicking_closure_rolls_back(db: Db) {
    for i in 0..10 {
        let res = db
            .write(move |c| -> Result<(), StoreError> {
                add_login_failure(c, &format!("panic{i}"))?;
                panic!("deliberate panic in a write closure (conformance test)");
            })
            .await;
        assert!(res.is_err(), "a panicking write returned {res:?}");
    }
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM login_failures WHERE login_key LIKE 'panic%'",
            vec![]
        )
        .await,
        0
    );
    tokio::time::timeout(
        Duration::from_secs(30),
        db.write(|c| add_login_failure(c, "alive")),
    )
    .await
    .expect("a write after panics hangs")
    .expect("a write after panics");
    assert_eq!(login_failures_with_key(&db, "alive").await, 1);
}

/// 200 concurrent `x = x - 1 WHERE x >= 1` against x = 50: exactly 50 succeed, each sees a
/// distinct remaining count, and x ends at 0.
async fn conditional_update_never_oversells(db: Db) {
    let job = add_job(&db, 50, NOW).await;
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (db, job) = (db.clone(), job.clone());
        tasks.push(tokio::spawn(async move {
            db.write(move |c| {
                let n = c.execute(
                    "UPDATE jobs SET attempts = attempts - 1 WHERE id = $1 AND attempts >= 1",
                    args![&job],
                )?;
                let left = c
                    .query_one("SELECT attempts FROM jobs WHERE id = $1", args![&job])?
                    .int(0)?;
                Ok::<_, StoreError>((n, left))
            })
            .await
        }));
    }
    let mut won = Vec::new();
    let mut lost = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok((1, left)) => won.push(left),
            Ok((0, left)) => {
                assert_eq!(left, 0, "a refused decrement saw {left} left");
                lost += 1;
            }
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    won.sort_unstable();
    assert_eq!(
        won,
        (0..50).collect::<Vec<i64>>(),
        "each success saw a distinct count"
    );
    assert_eq!(lost, 150);
    let j = job.clone();
    let left = db
        .read(move |c| {
            c.query_one("SELECT attempts FROM jobs WHERE id = $1", args![&j])?
                .int(0)
        })
        .await
        .unwrap();
    assert_eq!(left, 0);
}

/// A read sees what committed and never what has not: from inside an open write (its
/// statements done, not yet committed) a concurrent read on another connection sees
/// nothing of it, and must not block on it either.
async fn reads_see_committed_not_uncommitted(db: Db) {
    async fn read_count(db: &Db, key: &'static str) -> Result<i64, StoreError> {
        match tokio::time::timeout(Duration::from_secs(10), login_failures_count(db, key)).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Other(
                "a read blocked behind an uncommitted write".into(),
            )),
        }
    }
    async fn login_failures_count(db: &Db, key: &'static str) -> Result<i64, StoreError> {
        db.read(move |c| {
            c.query_one(
                "SELECT COUNT(*) FROM login_failures WHERE login_key = $1",
                args![key],
            )?
            .int(0)
        })
        .await
    }

    // Write, then read: visible.
    db.write(|c| add_login_failure(c, "plain")).await.unwrap();
    assert_eq!(login_failures_with_key(&db, "plain").await, 1);

    // Inside an open write: the write sees itself, a concurrent read does not.
    let handle = tokio::runtime::Handle::current();
    let (h, reader) = (handle.clone(), db.clone());
    let (own, other) = db
        .write(move |c| {
            add_login_failure(c, "in-flight")?;
            let own = c
                .query_one(
                    "SELECT COUNT(*) FROM login_failures WHERE login_key = 'in-flight'",
                    &[],
                )?
                .int(0)?;
            let other = h.block_on(read_count(&reader, "in-flight"))?;
            Ok::<_, StoreError>((own, other))
        })
        .await
        .unwrap();
    assert_eq!(own, 1, "a write sees its own rows");
    assert_eq!(other, 0, "a read saw an uncommitted row");
    assert_eq!(login_failures_with_key(&db, "in-flight").await, 1);

    // A failed write is invisible while open and after.
    let (h, reader) = (handle.clone(), db.clone());
    let err = db
        .write(move |c| {
            add_login_failure(c, "ghost")?;
            let other = h.block_on(read_count(&reader, "ghost"))?;
            if other != 0 {
                return Err(StoreError::Other(format!(
                    "a read saw {other} uncommitted rows"
                )));
            }
            Err::<(), _>(deliberate())
        })
        .await
        .unwrap_err();
    assert!(is_deliberate(&err), "{err:?}");
    assert_eq!(login_failures_with_key(&db, "ghost").await, 0);
}

/// `Db::read` is for reading: a write inside it must fail and leave nothing behind (SQLite
/// reads use read-only connections; PostgreSQL should open the transaction READ ONLY).
async fn read_transaction_refuses_writes(db: Db) {
    let res = db.read(|c| add_login_failure(c, "written-in-read")).await;
    let visible = login_failures_with_key(&db, "written-in-read").await;
    assert!(
        res.is_err() && visible == 0,
        "a write inside Db::read returned {res:?} and {visible} row(s) are now visible"
    );
}

/// A read sees each commit right after it (on SQLite that is when a reading connection's
/// cache is emptied and it asks to drop its memory map), and many answer at once. On SQLite
/// every read connection reads through the map.
async fn reads_see_each_commit_and_run_many_at_once(db: Db) {
    for i in 0..20 {
        let key = format!("seen{i}");
        let k = key.clone();
        db.write(move |c| add_login_failure(c, &k)).await.unwrap();
        assert_eq!(
            login_failures_with_key(&db, &key).await,
            1,
            "read {i} after its commit"
        );
    }
    let many: Vec<_> = (0..40)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                db.read(|c| {
                    let n = c
                        .query_one("SELECT COUNT(*) FROM login_failures", &[])?
                        .int(0)?;
                    let mapped = match c.engine() {
                        Engine::Sqlite => c.query_one("PRAGMA mmap_size", &[])?.int(0)? > 0,
                        Engine::Postgres => true,
                    };
                    Ok::<_, StoreError>((n, mapped))
                })
                .await
            })
        })
        .collect();
    for t in many {
        assert_eq!(t.await.expect("read task").expect("read"), (20, true));
    }
}

/// Defers inserting account `id` with the email the story's first account already has.
fn defer_account_taken_email(c: &mut dyn Conn, id: &str) -> Result<(), StoreError> {
    c.execute_deferred(
        INSERT_ACCOUNT,
        args![
            id,
            None::<&str>,
            "deferred@example.com",
            "hash",
            "someone",
            false,
            NOW
        ],
    )
}

const COUNT_FAILURES: &str = "SELECT COUNT(*) FROM login_failures WHERE login_key = $1";

fn failures(c: &mut dyn Conn, key: &str) -> Result<i64, StoreError> {
    c.query_one(COUNT_FAILURES, args![key])?.int(0)
}

/// Round trips to PostgreSQL so far (0 on SQLite). Each test runs in its own process
/// under nextest, so nothing else counts meanwhile.
fn round_trips() -> u64 {
    kith_store::stats::counters().round_trips
}

/// Announces two counts and asks for them in the other order: the answers and the round
/// trips they took.
fn two_announced(c: &mut dyn Conn) -> Result<((i64, i64), u64), StoreError> {
    // Prepared on this connection first: a statement new to it costs a round trip.
    failures(c, "ahead-warm")?;
    let before = round_trips();
    c.prefetch(COUNT_FAILURES, args!["ahead-a"])?;
    c.prefetch(COUNT_FAILURES, args!["ahead-b"])?;
    let b = failures(c, "ahead-b")?;
    let a = failures(c, "ahead-a")?;
    Ok(((a, b), round_trips() - before))
}

/// `Conn::prefetch`: reads announced together cost one round trip on PostgreSQL (none on
/// SQLite) and answer exactly as unannounced reads would — in any order, in a write or a
/// read; a write, a deferred write or an unannounced read after the announcement makes the
/// announced read run again afterwards, so it sees the unit's own writes on both engines;
/// an announced statement's error ends the unit; a text that is no UUID matches nothing.
async fn announced_reads_answer_as_reads_do(db: Db) {
    let pg = db.engine() == Engine::Postgres;
    db.write(|c| {
        add_login_failure(c, "ahead-a")?;
        add_login_failure(c, "ahead-a")
    })
    .await
    .expect("two failures");

    // Two announced, asked in the other order: one exchange, in a write and in a read.
    let (answers, trips) = db.write(two_announced).await.expect("announced reads");
    assert_eq!(answers, (2, 0));
    assert_eq!(trips, u64::from(pg), "two announced reads, one round trip");
    let (answers, trips) = db.read(two_announced).await.expect("announced in a read");
    assert_eq!(answers, (2, 0));
    assert_eq!(trips, u64::from(pg));

    // A write, a deferred write, an unannounced read between: the answer is as of the read.
    let seen = db
        .write(|c| {
            c.prefetch(COUNT_FAILURES, args!["ahead-a"])?;
            add_login_failure(c, "ahead-a")?;
            let after_write = failures(c, "ahead-a")?;
            c.prefetch(COUNT_FAILURES, args!["ahead-a"])?;
            c.execute_deferred(INSERT_LOGIN_FAILURE, args!["ahead-a", "127.0.0.1", NOW])?;
            let after_deferred = failures(c, "ahead-a")?;
            c.prefetch(COUNT_FAILURES, args!["ahead-a"])?;
            let other = failures(c, "ahead-b")?;
            let after_other = failures(c, "ahead-a")?;
            Ok::<_, StoreError>((after_write, after_deferred, other, after_other))
        })
        .await
        .expect("writes after announcements");
    assert_eq!(seen, (3, 4, 0, 4));
    // Announced with other values: not the same read.
    let seen = db
        .read(|c| {
            c.prefetch(COUNT_FAILURES, args!["ahead-b"])?;
            failures(c, "ahead-a")
        })
        .await
        .expect("a read announced with other values");
    assert_eq!(seen, 4);

    // An announced statement's error ends the unit; nothing of it is committed.
    account(&db, "ahead@example.com").await;
    let res = db
        .write(move |c| {
            add_login_failure(c, "ahead-c")?;
            let insert = format!("{INSERT_ACCOUNT} RETURNING id");
            let taken: Vec<Value> = args![
                new_id(),
                None::<&str>,
                "ahead@example.com",
                "hash",
                "someone",
                false,
                NOW
            ]
            .to_vec();
            c.prefetch(&insert, &taken)?;
            c.prefetch(COUNT_FAILURES, args!["ahead-c"])?;
            c.query(&insert, &taken)?;
            failures(c, "ahead-c")
        })
        .await;
    assert!(
        matches!(&res, Err(e) if e.is_unique_on("accounts", &["email"])),
        "{res:?}"
    );
    assert_eq!(login_failures_with_key(&db, "ahead-c").await, 0);

    // Announced and never asked for: harmless, on both engines.
    db.write(|c| {
        c.prefetch(COUNT_FAILURES, args!["ahead-a"])?;
        add_login_failure(c, "ahead-d")
    })
    .await
    .expect("an announcement nobody asks for");
    assert_eq!(login_failures_with_key(&db, "ahead-d").await, 1);

    // A text that is no UUID names no row.
    let rows = db
        .read(|c| {
            c.prefetch("SELECT id FROM accounts WHERE id = $1", args!["not-a-uuid"])?;
            c.prefetch(COUNT_FAILURES, args!["ahead-a"])?;
            let none = c.query("SELECT id FROM accounts WHERE id = $1", args!["not-a-uuid"])?;
            Ok::<_, StoreError>((none.len(), failures(c, "ahead-a")?))
        })
        .await
        .expect("a text that is no UUID");
    assert_eq!(rows, (0, 4));
}

/// `execute_deferred` (sent with the next statement or the commit on PostgreSQL, at once on
/// SQLite): its rows commit with the unit and are seen by the unit's later statements; its
/// error ends the unit with nothing committed, whether the next statement or the commit
/// is where it arrives.
async fn deferred_statements_commit_or_fail_with_their_unit(db: Db) {
    let seen = db
        .write(|c| {
            c.execute_deferred(INSERT_LOGIN_FAILURE, args!["deferred-a", "127.0.0.1", NOW])?;
            c.execute_deferred(INSERT_LOGIN_FAILURE, args!["deferred-a", "127.0.0.1", NOW])?;
            c.query_one(
                "SELECT COUNT(*) FROM login_failures WHERE login_key = $1",
                args!["deferred-a"],
            )?
            .int(0)
        })
        .await
        .expect("deferred inserts");
    assert_eq!(seen, 2, "the unit's next statement sees its deferred rows");
    assert_eq!(login_failures_with_key(&db, "deferred-a").await, 2);

    // Only deferred statements, nothing after them: they go with the commit.
    db.write(|c| c.execute_deferred(INSERT_LOGIN_FAILURE, args!["deferred-b", "127.0.0.1", NOW]))
        .await
        .expect("a unit of deferred statements only");
    assert_eq!(login_failures_with_key(&db, "deferred-b").await, 1);

    let taken = account(&db, "deferred@example.com").await;
    // The error reaches the next statement.
    let (t, dup) = (taken.clone(), new_id());
    let res = db
        .write(move |c| {
            add_login_failure(c, "deferred-c")?;
            defer_account_taken_email(c, &dup)?;
            c.query_one(
                "SELECT COUNT(*) FROM accounts WHERE id = $1",
                args![t.as_str()],
            )?
            .int(0)
        })
        .await;
    assert!(
        matches!(&res, Err(e) if e.is_unique_on("accounts", &["email"])),
        "{res:?}"
    );
    // The error arrives with the commit.
    let dup = new_id();
    let res = db
        .write(move |c| {
            add_login_failure(c, "deferred-c")?;
            defer_account_taken_email(c, &dup)
        })
        .await;
    assert!(
        matches!(&res, Err(e) if e.is_unique_on("accounts", &["email"])),
        "{res:?}"
    );
    assert_eq!(
        login_failures_with_key(&db, "deferred-c").await,
        0,
        "nothing of a unit whose deferred statement failed is committed"
    );
}

/// A statement error ends the unit of work on both engines (PostgreSQL aborts the
/// transaction): a closure that swallows the error and returns Ok is refused, and nothing
/// it wrote, before or after the error, is committed.
async fn ok_means_committed_after_a_swallowed_error(db: Db) {
    account(&db, "taken@example.com").await;
    let dup = new_id();
    let res = db
        .write(move |c| {
            add_login_failure(c, "before-the-conflict")?;
            match add_account(c, &dup, Some("taken@example.com"), None) {
                Err(e) if e.is_unique_on("accounts", &["email"]) => {}
                other => panic!("expected a unique violation, got {other:?}"),
            }
            Ok::<_, StoreError>(())
        })
        .await;
    assert!(
        res.is_err(),
        "a swallowed statement error must not be reported as committed"
    );
    assert_eq!(
        login_failures_with_key(&db, "before-the-conflict").await,
        0,
        "nothing of the unit of work is committed"
    );
}

/// `$n` placeholders: reused, out of order, `$10` beside `$1`, and left alone inside
/// string literals.
async fn placeholders(db: Db) {
    let id = new_id();
    let i = id.clone();
    db.write(move |c| {
        c.execute(
            INSERT_ACCOUNT,
            args![&i, None::<&str>, "p@example.com", "h", "Pat", false, NOW],
        )
    })
    .await
    .unwrap();

    let q = |sql: &'static str, params: Vec<Value>| {
        let db = db.clone();
        async move {
            db.read(move |c| c.query(sql, &params))
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        }
    };

    // Out of order.
    let rows = q(
        "SELECT display_name, email FROM accounts WHERE email = $2 AND display_name = $1",
        vec!["Pat".into(), "p@example.com".into()],
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_row(
        &rows[0],
        vec![
            Value::Text("Pat".into()),
            Value::Text("p@example.com".into()),
        ],
    );
    let rows = q(
        "SELECT display_name, email FROM accounts WHERE email = $2 AND display_name = $1",
        vec!["p@example.com".into(), "Pat".into()],
    )
    .await;
    assert!(rows.is_empty(), "swapped parameters still matched");

    // Inside literals, including an escaped quote.
    let rows = q(
        "SELECT '$1', display_name, 'it''s $2' FROM accounts WHERE email = $1",
        vec!["p@example.com".into()],
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_row(
        &rows[0],
        vec![
            Value::Text("$1".into()),
            Value::Text("Pat".into()),
            Value::Text("it's $2".into()),
        ],
    );

    // Reused.
    let rows = q(
        "SELECT COUNT(*) FROM accounts WHERE (email = $1 OR phone = $1) AND display_name <> $2",
        vec!["p@example.com".into(), "nobody".into()],
    )
    .await;
    assert_row(&rows[0], vec![Value::Int(1)]);

    // $10 and $11 next to $1.
    let mut params: Vec<Value> = (1..=9).map(|n| Value::Text(format!("x{n}"))).collect();
    params.push("Pat".into());
    params.push("p@example.com".into());
    let rows = q(
        "SELECT COUNT(*) FROM accounts \
         WHERE display_name IN ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) AND email = $11",
        params,
    )
    .await;
    assert_row(&rows[0], vec![Value::Int(1)]);

    // A value no placeholder takes, a placeholder no value fills, a number skipped: errors.
    let mismatched: [(&'static str, Vec<Value>); 4] = [
        (
            "SELECT display_name FROM accounts WHERE email = $1",
            vec!["p@example.com".into(), "extra".into()],
        ),
        (
            "SELECT display_name FROM accounts WHERE email = $1 AND display_name = $2",
            vec!["p@example.com".into()],
        ),
        (
            "SELECT display_name FROM accounts WHERE email = $1 AND display_name = $3",
            vec!["p@example.com".into(), "Pat".into()],
        ),
        (
            "SELECT display_name FROM accounts WHERE email = $1 AND display_name = $3",
            vec!["p@example.com".into(), "x".into(), "Pat".into()],
        ),
    ];
    for (sql, params) in mismatched.clone() {
        let n = params.len();
        let answer = db.read(move |c| c.query(sql, &params)).await;
        assert!(answer.is_err(), "{sql} with {n} values: {answer:?}");
    }
    // The same in writes (SQLite's writer keeps statements of its own): each fails and
    // commits nothing (the name is still "Pat"), and a statement kept from a failed use
    // answers right afterwards.
    for (sql, params) in mismatched {
        let n = params.len();
        let answer = db
            .write(move |c| {
                c.execute(
                    "UPDATE accounts SET display_name = $1 WHERE email = $2",
                    args!["Changed", "p@example.com"],
                )?;
                c.query(sql, &params)
            })
            .await;
        assert!(
            answer.is_err(),
            "a write: {sql} with {n} values: {answer:?}"
        );
    }
    let rows = db
        .write(|c| {
            c.query(
                "SELECT display_name FROM accounts WHERE email = $1",
                args!["p@example.com"],
            )
        })
        .await
        .unwrap();
    assert_row(&rows[0], vec![Value::Text("Pat".into())]);
    let twice = db
        .read(|c| {
            c.query(
                "SELECT display_name FROM accounts WHERE email = $1 AND display_name = $01",
                args!["p@example.com", "Pat"],
            )
        })
        .await;
    assert!(twice.is_err(), "$01 is not a second name for $1: {twice:?}");

    // Writes: out of order with a literal that looks like a placeholder.
    let n = db
        .write(|c| {
            c.execute(
                "INSERT INTO login_failures (login_key, client_addr, at) VALUES ($2, '$1', $1)",
                args![NOW, "key-$1"],
            )
        })
        .await
        .unwrap();
    assert_eq!(n, 1);
    let rows = q(
        "SELECT login_key, client_addr, at FROM login_failures",
        vec![],
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_row(
        &rows[0],
        vec![
            Value::Text("key-$1".into()),
            Value::Text("$1".into()),
            Value::Int(NOW),
        ],
    );
    let n = db
        .write(|c| {
            c.execute(
                "UPDATE accounts SET display_name = $2 WHERE email = $1",
                args!["p@example.com", "Patricia"],
            )
        })
        .await
        .unwrap();
    assert_eq!(n, 1);
    let rows = q(
        "SELECT display_name FROM accounts WHERE id = $1",
        vec![id.into()],
    )
    .await;
    assert_row(&rows[0], vec![Value::Text("Patricia".into())]);
}

/// A comment with an apostrophe (`-- the account's email`) is not a string literal: the
/// placeholders after it are still placeholders.
async fn placeholders_after_apostrophe_in_comment(db: Db) {
    let id = new_id();
    db.write(move |c| {
        c.execute(
            INSERT_ACCOUNT,
            args![&id, None::<&str>, "p@example.com", "h", "Pat", false, NOW],
        )
    })
    .await
    .unwrap();
    let rows = db
        .read(|c| {
            c.query(
                "SELECT display_name FROM accounts\n\
                 -- match on the account's email, then its name\n\
                 WHERE email = $2 AND display_name = $1",
                args!["Pat", "p@example.com"],
            )
        })
        .await;
    let rows = rows.expect("query with a comment");
    assert_eq!(
        rows.len(),
        1,
        "out-of-order placeholders after an apostrophe in a comment bound the wrong values"
    );
}

/// Two concurrent claimers lease 40 queued jobs, five at a time (select with
/// `for_update_skip_locked()`, then set the lease, in one write): each job is claimed by
/// exactly one of them, exactly once.
async fn skip_locked_leasing(db: Db) {
    let mut all = BTreeSet::new();
    for i in 0..40 {
        all.insert(add_job(&db, 0, NOW + i).await);
    }
    async fn claim_all(db: Db, owner: &'static str) -> Vec<String> {
        let mut mine = Vec::new();
        loop {
            let batch = db
                .write(move |c| {
                    let sql = format!(
                        "SELECT id FROM jobs WHERE status = 'queued' AND lease_owner IS NULL \
                         ORDER BY run_at, id LIMIT 5{}",
                        c.for_update_skip_locked()
                    );
                    let ids = c
                        .query(&sql, &[])?
                        .iter()
                        .map(|r| r.text(0))
                        .collect::<Result<Vec<_>, _>>()?;
                    // Hold the locks a moment so the claimers overlap.
                    std::thread::sleep(Duration::from_millis(5));
                    for id in &ids {
                        let n = c.execute(
                            "UPDATE jobs SET lease_owner = $1, lease_expires_at = $2, \
                             attempts = attempts + 1 WHERE id = $3",
                            args![owner, NOW + 30_000, id],
                        )?;
                        if n != 1 {
                            return Err(StoreError::Other(format!(
                                "lease update touched {n} rows"
                            )));
                        }
                    }
                    Ok(ids)
                })
                .await
                .unwrap_or_else(|e| panic!("claimer {owner}: {e:?}"));
            if batch.is_empty() {
                return mine;
            }
            mine.extend(batch);
        }
    }
    let a = tokio::spawn(claim_all(db.clone(), "A"));
    let b = tokio::spawn(claim_all(db.clone(), "B"));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());

    let mut claimed: BTreeMap<String, &str> = BTreeMap::new();
    for (owner, ids) in [("A", &a), ("B", &b)] {
        for id in ids {
            if let Some(first) = claimed.insert(id.clone(), owner) {
                panic!("job {id} claimed by {first} and by {owner}");
            }
        }
    }
    assert_eq!(
        claimed.keys().cloned().collect::<BTreeSet<_>>(),
        all,
        "every job claimed (A took {}, B took {})",
        a.len(),
        b.len()
    );

    let rows = db
        .read(|c| {
            c.query(
                "SELECT id, lease_owner, attempts, lease_expires_at FROM jobs",
                &[],
            )
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 40);
    for r in rows {
        let id = r.text(0).unwrap();
        assert_eq!(
            r.opt_text(1).unwrap().as_deref(),
            Some(claimed[&id]),
            "lease owner of {id}"
        );
        assert_eq!(r.int(2).unwrap(), 1, "job {id} leased more than once");
        assert_eq!(r.opt_int(3).unwrap(), Some(NOW + 30_000));
    }
}

/// The schema is at the newest migration; migrating a fresh database from two places at
/// once applies each migration exactly once and both callers succeed.
async fn migrations(db: Db) {
    let newest = MIGRATIONS.last().expect("at least one migration").version;
    assert_eq!(newest, MIGRATIONS.len() as i64, "versions are 1..=n");
    assert_eq!(migrate::current_version(&db).await.unwrap(), newest);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM schema_migrations", vec![]).await,
        MIGRATIONS.len() as i64
    );
    let applied_at = count(&db, "SELECT MIN(applied_at) FROM schema_migrations", vec![]).await;
    assert_eq!(applied_at, NOW, "recorded by the first run, not the second");
    assert!(migrate::run(&db, NOW + 2).await.unwrap().is_empty());

    for round in 0..3 {
        // Two handles on one fresh database: two servers on PostgreSQL, two callers on
        // one SQLite file (which has one writer per process).
        let (x, _keep_dir, keep_pg) = fresh_like(&db).await;
        let y = match &keep_pg {
            Some(tdb) => Db::connect_postgres(&tdb.url, 2).await.unwrap(),
            None => x.clone(),
        };
        let (rx, ry) = {
            let (x, y) = (x.clone(), y.clone());
            let tx = tokio::spawn(async move { migrate::run(&x, NOW).await });
            let ty = tokio::spawn(async move { migrate::run(&y, NOW).await });
            (tx.await.unwrap(), ty.await.unwrap())
        };
        let (rx, ry) = (
            rx.unwrap_or_else(|e| panic!("round {round}: first migrate::run failed: {e:?}")),
            ry.unwrap_or_else(|e| panic!("round {round}: second migrate::run failed: {e:?}")),
        );
        let mut applied: Vec<&str> = rx.iter().chain(ry.iter()).copied().collect();
        applied.sort_unstable();
        assert_eq!(
            applied,
            migration_names(),
            "round {round}: each migration applied exactly once ({rx:?} + {ry:?})"
        );
        for d in [&x, &y] {
            assert_eq!(migrate::current_version(d).await.unwrap(), newest);
            assert_eq!(
                count(d, "SELECT COUNT(*) FROM schema_migrations", vec![]).await,
                MIGRATIONS.len() as i64
            );
            assert_eq!(count(d, "SELECT COUNT(*) FROM accounts", vec![]).await, 0);
        }
        // The schema is usable from both handles.
        account(&x, "x@example.com").await;
        account(&y, "y@example.com").await;
        assert_eq!(count(&x, "SELECT COUNT(*) FROM accounts", vec![]).await, 2);
        drop((x, y));
    }
}

/// A fresh database of the story's engine, not migrated, and what keeps it alive.
async fn fresh_like(db: &Db) -> (Db, Option<TempDir>, Option<TestDatabase>) {
    match db.engine() {
        Engine::Sqlite => {
            let dir = TempDir::new();
            (open_sqlite(&dir).await, Some(dir), None)
        }
        Engine::Postgres => {
            let server = postgres_url().expect("PostgreSQL URL");
            let tdb = TestDatabase::create(&server).expect("create a test database");
            let db = Db::connect_postgres(&tdb.url, 2).await.unwrap();
            (db, None, Some(tdb))
        }
    }
}

/// Migration 0034 rebuilds `follows` (SQLite: a WITHOUT ROWID table; PostgreSQL: the
/// primary key carries `created_at`). The follows a store had before it are all there after
/// it, with their times, found both ways (by follower and by followee); and the table's
/// rules still hold: a follow is unique per pair (the same unique violation as before) and
/// no one follows themselves.
async fn follows_keep_their_rows_and_rules_through_0034(db: Db) {
    let (old, _dir, _pg) = fresh_like(&db).await;
    let before = migrate::run_through(&old, NOW, 33).await.unwrap();
    assert_eq!(before.len(), 33, "{before:?}");
    let ids: Vec<String> = accounts_made(&old, 4).await;
    // Everyone follows everyone else, each follow at its own time.
    let mut pairs = Vec::new();
    for (i, a) in ids.iter().enumerate() {
        for (j, b) in ids.iter().enumerate() {
            if i != j {
                pairs.push((a.clone(), b.clone(), NOW + (i * 10 + j) as i64));
            }
        }
    }
    let rows = pairs.clone();
    old.write(move |c| {
        for (a, b, at) in &rows {
            c.execute(
                "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3)",
                args![a.as_str(), b.as_str(), *at],
            )?;
        }
        Ok::<_, StoreError>(())
    })
    .await
    .unwrap();

    let after = migrate::run(&old, NOW).await.unwrap();
    assert_eq!(after.first(), Some(&"0034_follows_covering"), "{after:?}");
    assert_eq!(
        migrate::current_version(&old).await.unwrap(),
        MIGRATIONS.len() as i64
    );

    for (a, b, at) in &pairs {
        let (a2, b2) = (a.clone(), b.clone());
        let found = old
            .read(move |c| {
                c.query_opt(
                    "SELECT created_at FROM follows WHERE follower_id = $1 AND followee_id = $2",
                    args![a2.as_str(), b2.as_str()],
                )
            })
            .await
            .unwrap()
            .map(|r| r.int(0).unwrap());
        assert_eq!(found, Some(*at), "{a} → {b}");
    }
    let first = ids[0].clone();
    let followers = old
        .read(move |c| {
            c.query(
                "SELECT follower_id FROM follows WHERE followee_id = $1 ORDER BY created_at",
                args![first.as_str()],
            )
        })
        .await
        .unwrap();
    let followers: Vec<String> = followers.iter().map(|r| r.text(0).unwrap()).collect();
    assert_eq!(followers, ids[1..].to_vec(), "by followee, in time order");

    let refused = |a: &str, b: &str| {
        let (db, a, b) = (old.clone(), a.to_owned(), b.to_owned());
        async move {
            db.write(move |c| {
                c.execute(
                    "INSERT INTO follows (follower_id, followee_id, created_at) VALUES ($1, $2, $3)",
                    args![a.as_str(), b.as_str(), NOW],
                )
            })
            .await
            .unwrap_err()
        }
    };
    let err = refused(&ids[0], &ids[1]).await;
    assert!(
        err.is_unique_on("follows", &["follower_id", "followee_id"]),
        "a second follow of the same pair: {err:?}"
    );
    let err = refused(&ids[2], &ids[2]).await;
    assert!(
        matches!(err, StoreError::Constraint { .. }),
        "following oneself: {err:?}"
    );
    let err = refused(&ids[3], &new_id()).await;
    assert!(
        matches!(err, StoreError::Constraint { .. }),
        "following no account: {err:?}"
    );
    drop(old);
}

/// `n` new accounts, in the order made.
async fn accounts_made(db: &Db, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(account(db, &format!("f{i}@example.com")).await);
    }
    ids
}

/// `ping` answers; `describe` names the store and never shows a password.
async fn ping_and_describe(db: Db) {
    db.ping().await.expect("ping");
    let described = db.describe();
    match db.engine() {
        Engine::Sqlite => {
            let path = db.sqlite_path().expect("a SQLite Db has a path");
            assert_eq!(described, format!("sqlite:{}", path.display()));
            assert!(described.ends_with("kith.db"), "{described}");
        }
        Engine::Postgres => {
            assert!(db.sqlite_path().is_none());
            assert!(described.starts_with("postgres"), "{described}");
            let server = postgres_url().expect("PostgreSQL URL");
            let Some(with_password) = with_url_password(&server, "s3cret-pw") else {
                eprintln!("skipping password redaction: cannot add a password to the test URL");
                return;
            };
            // The local test server trusts its clients, so the password is ignored.
            let pdb = Db::connect_postgres(&with_password, 1)
                .await
                .expect("connect with a password in the URL");
            pdb.ping().await.unwrap();
            let shown = pdb.describe();
            assert!(!shown.contains("s3cret-pw"), "password leaked: {shown}");
            assert!(shown.contains(":***@"), "{shown}");
        }
    }
}

/// PostgreSQL accepts a password in the URL's query and in key=value connection strings;
/// `describe` must hide it there too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_hides_password_in_every_url_form_postgres() {
    let Some(server) = postgres_server() else {
        return;
    };
    let mut forms = vec![format!(
        "{server}{}password=s3cret-query",
        if server.contains('?') { '&' } else { '?' }
    )];
    if let Some(kv) = key_value_form(&server, "s3cret-kv") {
        forms.push(kv);
    }
    let mut leaks = Vec::new();
    for url in forms {
        let db = Db::connect_postgres(&url, 1)
            .await
            .unwrap_or_else(|e| panic!("connect with {url:?}: {e:?}"));
        db.ping().await.unwrap();
        let shown = db.describe();
        if shown.contains("s3cret") {
            leaks.push(shown);
        }
    }
    assert!(leaks.is_empty(), "describe() leaked passwords: {leaks:?}");
}

/// `postgres://user@host/db` → `postgres://user:password@host/db`.
fn with_url_password(url: &str, password: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (user, host) = rest.split_once('@')?;
    if user.contains(':') {
        return None;
    }
    Some(format!("{scheme}://{user}:{password}@{host}"))
}

/// `postgres://user@host:port/db` → `host=… port=… user=… dbname=… password=…`.
fn key_value_form(url: &str, password: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let (user, rest) = rest.split_once('@')?;
    if user.contains(':') || rest.contains('?') {
        return None;
    }
    let (hostport, dbname) = rest.split_once('/')?;
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5432"));
    Some(format!(
        "host={host} port={port} user={user} dbname={dbname} password={password}"
    ))
}

/// SQLite's WAL is copied back into the database file by the checkpoint thread (the writer
/// does not checkpoint itself), so under a steady stream of writes it keeps being started
/// again and stays small: 24 MB written in 48 commits, a little apart as a server's are,
/// never leave more than a few MB of WAL. Without checkpoints it would hold all 24 MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_is_checkpointed_off_the_writer() {
    let dir = TempDir::new();
    let db = open_sqlite(&dir).await;
    db.write(|c| c.execute_batch("CREATE TABLE wal_probe (b BLOB NOT NULL)"))
        .await
        .unwrap();
    let wal = dir.0.join("kith.db-wal");
    let mut largest = 0;
    for _ in 0..48 {
        db.write(|c| {
            for _ in 0..128 {
                c.execute(
                    "INSERT INTO wal_probe (b) VALUES ($1)",
                    &[Value::Bytes(vec![7; 4096])],
                )?;
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
        largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(
        largest < 6 << 20,
        "the WAL grew to {largest} bytes: nothing checkpointed it"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM wal_probe", vec![]).await,
        48 * 128,
        "every row is there"
    );
}

/// The SQLite writer keeps its statements prepared, a bounded number of them: a thousand
/// distinct statements, and the first hundred again after them (prepared anew once the
/// writer has let them go), each answer what its text and values say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writer_runs_more_statements_than_it_keeps() {
    let dir = TempDir::new();
    let db = open_sqlite(&dir).await;
    let kinds: Vec<i64> = (0..1000).chain(0..100).collect();
    let sums = db
        .write(move |c| {
            let mut sums = Vec::new();
            for k in &kinds {
                let sql = format!("SELECT $2 * 1000 + {k} + $1");
                let row = c.query_one(&sql, args![1, *k])?;
                sums.push(row.int(0)?);
            }
            Ok::<_, StoreError>(sums)
        })
        .await
        .unwrap();
    let expected: Vec<i64> = (0..1000).chain(0..100).map(|k| k * 1001 + 1).collect();
    assert_eq!(sums, expected);
}

/// Every table's CREATE TABLE text, by name, as SQLite keeps it.
fn table_definitions(path: &std::path::Path) -> BTreeMap<String, String> {
    let conn = rusqlite::Connection::open(path).expect("open the file");
    let mut stmt = conn
        .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// `text` with every run of white space as one space, and none just inside parentheses.
fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("( ", "(")
        .replace(" )", ")")
}

/// A table definition with each `CHECK (c = 'a' OR c = 'b' …)` written back as
/// `CHECK (c IN ('a', 'b', …))`, on one line.
fn as_in_lists(definition: &str) -> String {
    let text = one_line(definition);
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("CHECK (") {
        let (before, check) = rest.split_at(at + "CHECK (".len());
        out.push_str(before);
        // The constraint's closing parenthesis (the values hold none).
        let mut depth = 1;
        let end = check
            .char_indices()
            .find(|&(_, ch)| {
                depth += match ch {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .map(|(i, _)| i)
            .expect("a CHECK closes");
        let inner = &check[..end];
        let terms: Vec<(&str, &str)> = inner
            .split(" OR ")
            .filter_map(|t| t.split_once(" = "))
            .filter(|(_, v)| v.starts_with('\'') && v.ends_with('\''))
            .collect();
        let one_column = terms.windows(2).all(|w| w[0].0 == w[1].0);
        if terms.len() > 1 && terms.len() == inner.split(" OR ").count() && one_column {
            let values: Vec<&str> = terms.iter().map(|t| t.1).collect();
            out.push_str(&format!("{} IN ({})", terms[0].0, values.join(", ")));
        } else {
            out.push_str(inner);
        }
        rest = &check[end..];
    }
    out.push_str(rest);
    out
}

/// Migration 0035 rewrites the SQLite CHECK constraints' value lists as comparisons. Every
/// table's definition after it is the one before it with the same values allowed in each
/// column (read back as IN lists, nothing else changed); the rows written before it are
/// still there, the database checks clean, and the constraints still refuse a value
/// outside the list and take one inside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_checks_keep_their_values_through_0035() {
    let dir = TempDir::new();
    let db = open_sqlite(&dir).await;
    migrate::run_through(&db, NOW, 34).await.unwrap();
    let path = dir.0.join("kith.db");
    let before = table_definitions(&path);
    let owner = account(&db, "owner@example.com").await;
    let kept = try_merchant(&db, &owner, "Tea House", "approved")
        .await
        .unwrap();

    let applied = migrate::run_through(&db, NOW, 35).await.unwrap();
    assert_eq!(applied, vec!["0035_checks_without_temp_tables"]);
    let after = table_definitions(&path);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    let mut rewritten = 0;
    for (table, old) in &before {
        let new = &after[table];
        assert_eq!(
            as_in_lists(new),
            one_line(old),
            "{table}: the same definition, the same values allowed"
        );
        rewritten += usize::from(new != old);
    }
    assert_eq!(rewritten, 34, "tables with a list of three or more values");

    let status = |id: String| {
        let db = db.clone();
        async move {
            db.read(move |c| {
                c.query_one("SELECT status FROM merchants WHERE id = $1", args![&id])?
                    .text(0)
            })
            .await
            .unwrap()
        }
    };
    assert_eq!(status(kept.clone()).await, "approved", "the row is kept");
    let check = db
        .read(|c| c.query_one("PRAGMA integrity_check", &[]))
        .await
        .unwrap();
    assert_eq!(check.text(0).unwrap(), "ok");
    let err = try_merchant(&db, &owner, "Kiosk", "closed")
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Constraint { .. }),
        "a status outside the list: {err:?}"
    );
    let taken = try_merchant(&db, &owner, "Kiosk", "pending").await.unwrap();
    assert_eq!(status(taken).await, "pending");
}

/// No write to any table builds a temporary B-tree on SQLite: an INSERT of every column of
/// every table compiles without `OpenEphemeral`. SQLite builds one for a CHECK's value list
/// of three or more constants (`col IN ('a', 'b', 'c')`) each time the statement runs;
/// migration 0035 rewrote those lists as comparisons, and a new table with such a list
/// fails here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writes_build_no_temporary_b_trees() {
    let dir = TempDir::new();
    let db = open_sqlite(&dir).await;
    migrate_fresh(&db).await;
    let path = dir.0.join("kith.db");
    let conn = rusqlite::Connection::open(&path).expect("open the file");
    let mut offenders = Vec::new();
    let tables = table_definitions(&path);
    assert!(tables.len() > 100, "{} tables", tables.len());
    for table in tables.keys() {
        let columns: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let names: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        let slots: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        let insert = format!(
            "EXPLAIN INSERT INTO \"{table}\" ({}) VALUES ({})",
            names.join(", "),
            slots.join(", ")
        );
        let mut stmt = conn.prepare(&insert).unwrap();
        let nulls = std::iter::repeat_n(rusqlite::types::Null, columns.len());
        let opcodes: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get(1))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        if opcodes.iter().any(|op| op == "OpenEphemeral") {
            offenders.push(table.clone());
        }
    }
    assert!(
        offenders.is_empty(),
        "inserts that build a temporary B-tree: {offenders:?}"
    );
}

/// The keep-map VFS's story and its helpers (the VFS is Linux's only).
#[cfg(target_os = "linux")]
mod keep_map {
    use super::*;

    /// The value of `map_probe` row `k`, by `Db::read` (a mapped connection).
    async fn probe(db: &Db, k: i64) -> String {
        db.read(move |c| {
            c.query_one("SELECT v FROM map_probe WHERE k = $1", args![k])?
                .text(0)
        })
        .await
        .unwrap_or_else(|e| panic!("read row {k}: {e:?}"))
    }

    /// Inserts `map_probe` rows `keys`, row `k` holding `value(k)`, in one write.
    async fn insert_probes(db: &Db, keys: std::ops::Range<i64>, value: fn(i64) -> String) {
        db.write(move |c| {
            for k in keys.clone() {
                c.execute(
                    "INSERT INTO map_probe (k, v) VALUES ($1, $2)",
                    args![k, value(k)],
                )?;
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap_or_else(|e| panic!("insert probes: {e:?}"));
    }

    /// The first rows' values, the few added later, and the large ones that outgrow the map.
    fn first_value(k: i64) -> String {
        format!("{k:0>200}")
    }
    fn grown_value(k: i64) -> String {
        format!("{k:g>1000}")
    }
    fn large_value(k: i64) -> String {
        format!("{k:x>4000}")
    }

    /// What row `k` holds: its update in `updated`, else the value it was inserted with.
    fn expected(updated: &BTreeMap<i64, String>, k: i64) -> String {
        match updated.get(&k) {
            Some(v) => v.clone(),
            None if k < 2000 => first_value(k),
            None if k < 10_000 => grown_value(k),
            None => large_value(k),
        }
    }

    /// A read connection keeps its memory map of the database file when another connection
    /// commits (kith-store's keep-map VFS), and still reads every commit: each update is
    /// checkpointed into the file and the WAL emptied, so the next read finds the page only
    /// in the file — through the kept map — and must see the new value. A file that grew a
    /// little keeps its map (the new pages are read past its end); one that shrank (`VACUUM`)
    /// or outgrew it drops the map and maps it again, and reads stay right. (The counts are
    /// the process's: the test command, `cargo nextest`, runs each test in a process of its
    /// own. The VFS is Linux's only.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_reads_keep_their_map_and_see_every_commit() {
        let dir = TempDir::new();
        let db = open_sqlite(&dir).await;
        db.write(|c| {
            c.execute_batch("CREATE TABLE map_probe (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        })
        .await
        .unwrap();
        insert_probes(&db, 0..2000, first_value).await;
        // Another connection to the file, to checkpoint and vacuum when the story says.
        let side = rusqlite::Connection::open(dir.0.join("kith.db")).unwrap();
        side.busy_timeout(Duration::from_secs(5)).unwrap();
        // (The store's checkpoint thread may be at one already: then it is tried again.)
        let checkpoint = || {
            for _ in 0..500 {
                let busy: i64 = side
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
                    .unwrap();
                if busy == 0 {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            panic!("the WAL could not be checkpointed in 5 s");
        };
        checkpoint();
        // Reads at once, so the loop below mostly finds the pool's connections mapped.
        let all: Vec<_> = (0..8)
            .map(|k| {
                let db = db.clone();
                tokio::spawn(async move { probe(&db, k).await })
            })
            .collect();
        for t in all {
            t.await.unwrap();
        }

        let before = kith_store::stats::counters();
        let mut updated = BTreeMap::new();
        for i in 0..30_i64 {
            let k = (i * 67) % 2000;
            updated.insert(k, format!("new{i}"));
            db.write(move |c| {
                c.execute(
                    "UPDATE map_probe SET v = $1 WHERE k = $2",
                    args![format!("new{i}"), k],
                )
            })
            .await
            .unwrap();
            checkpoint();
            assert_eq!(probe(&db, k).await, format!("new{i}"), "update {i}");
            assert_eq!(probe(&db, k + 1).await, first_value(k + 1));
        }
        let kept = kith_store::stats::counters();
        assert!(
            kept.maps_kept - before.maps_kept >= 25,
            "{} of the 30 or more reads after a commit kept their map",
            kept.maps_kept - before.maps_kept
        );

        // Grown a little (~40 kB): the map stays, the new rows are read past its end.
        let size = || std::fs::metadata(dir.0.join("kith.db")).unwrap().len();
        let before_growth = size();
        insert_probes(&db, 2000..2040, grown_value).await;
        checkpoint();
        assert!(size() > before_growth, "the file did not grow");
        for k in 2000..2040 {
            assert_eq!(probe(&db, k).await, grown_value(k));
        }
        let grown = kith_store::stats::counters();
        assert_eq!(
            grown.maps_dropped, kept.maps_dropped,
            "a map was dropped for a few pages' growth"
        );

        // Shrunk: most rows deleted and the file vacuumed to a fraction of its size.
        let large = size();
        db.write(|c| c.execute("DELETE FROM map_probe WHERE k >= 100 AND k < 2000", &[]))
            .await
            .unwrap();
        side.execute_batch("VACUUM").unwrap();
        checkpoint();
        assert!(size() < large / 2, "VACUUM shrank {large} to {}", size());
        for k in (0..100).chain(2000..2040) {
            assert_eq!(
                probe(&db, k).await,
                expected(&updated, k),
                "row {k} after the file shrank"
            );
        }
        let shrunk = kith_store::stats::counters();
        assert!(
            shrunk.maps_dropped > grown.maps_dropped,
            "no map was dropped when the file shrank"
        );

        // Outgrown: 12 MB more, past what a map may fall behind.
        insert_probes(&db, 10_000..13_000, large_value).await;
        checkpoint();
        let dropped = kith_store::stats::counters().maps_dropped;
        for k in [10_000, 11_500, 12_999, 50] {
            assert_eq!(
                probe(&db, k).await,
                expected(&updated, k),
                "row {k} after the file grew"
            );
        }
        assert!(
            kith_store::stats::counters().maps_dropped > dropped,
            "no map was dropped when the file outgrew it"
        );
    }
}
