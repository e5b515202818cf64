//! Migrations are history: one folder per engine, files applied in order and never edited
//! once released. Each runs in its own transaction together with the row that records it,
//! so a crash leaves either all of a migration or none. Two servers starting at once on
//! one PostgreSQL race on the `schema_migrations` primary key: the loser sees the winner's
//! row and moves on. No advisory locks (CockroachDB has none).

use crate::conn::Engine;
use crate::{Db, StoreError, args};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

macro_rules! migration {
    ($v:expr, $name:literal) => {
        Migration {
            version: $v,
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $name, ".sql")),
            postgres: include_str!(concat!("../migrations/postgres/", $name, ".sql")),
        }
    };
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_foundation"),
    migration!(2, "0002_commerce"),
    migration!(3, "0003_social"),
    migration!(4, "0004_sharing"),
    migration!(5, "0005_discovery"),
    migration!(6, "0006_group_buy"),
    migration!(7, "0007_fair_jobs"),
    migration!(8, "0008_guard"),
    migration!(9, "0009_aftersale"),
    migration!(10, "0010_wechat"),
    migration!(11, "0011_sms"),
    migration!(12, "0012_notify"),
    migration!(13, "0013_tracking"),
    migration!(14, "0014_leaders"),
    migration!(15, "0015_rails"),
    migration!(16, "0016_coupons"),
    migration!(17, "0017_reconcile"),
    migration!(18, "0018_alipay"),
    migration!(19, "0019_async_refunds"),
    migration!(20, "0020_promotions"),
    migration!(21, "0021_leader_helpers"),
    migration!(22, "0022_refund_terms"),
    migration!(23, "0023_unclaimed"),
    migration!(24, "0024_leader_batches"),
    migration!(25, "0025_new_member_coupon"),
    migration!(26, "0026_threshold_activities"),
    migration!(27, "0027_flash_sales"),
    migration!(28, "0028_points"),
    migration!(29, "0029_reconcile_payouts"),
    migration!(30, "0030_platform_certificates"),
    migration!(31, "0031_member_addresses"),
    migration!(32, "0032_order_kind"),
    migration!(33, "0033_pictures"),
    migration!(34, "0034_follows_covering"),
    migration!(35, "0035_checks_without_temp_tables"),
    migration!(36, "0036_pooled_balance_shards"),
];

/// A fingerprint of every migration's text (FNV-1a, 64 bits; not a security measure):
/// a copy of a migrated database made earlier is reusable exactly while it is unchanged
/// (the test templates in [`crate::testing`] are keyed by it).
pub fn fingerprint() -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for m in MIGRATIONS {
        let version = m.version.to_le_bytes();
        for part in [
            &version[..],
            m.name.as_bytes(),
            m.sqlite.as_bytes(),
            m.postgres.as_bytes(),
        ] {
            for b in part.iter().chain(&[0xff]) {
                h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    h
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version bigint PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)";

/// Applies what is missing; returns the names applied now (empty when up to date).
pub async fn run(db: &Db, now_ms: i64) -> Result<Vec<&'static str>, StoreError> {
    run_through(db, now_ms, i64::MAX).await
}

/// [`run`], but only the migrations up to version `last`: a database as an older release
/// left it, for tests that a migration keeps the data it finds.
pub async fn run_through(db: &Db, now_ms: i64, last: i64) -> Result<Vec<&'static str>, StoreError> {
    let created = db.write(|c| c.execute_batch(CREATE_TABLE)).await;
    if let Err(e) = created {
        // A concurrent CREATE TABLE IF NOT EXISTS can still collide on PostgreSQL's
        // catalog; if the table is there now, that is all we wanted.
        db.read(|c| c.query("SELECT 1 FROM schema_migrations LIMIT 1", &[]))
            .await
            .map_err(|_| e)?;
    }
    let mut applied = Vec::new();
    for m in MIGRATIONS.iter().take_while(|m| m.version <= last) {
        let engine = db.engine();
        let outcome: Result<bool, StoreError> = db
            .write(move |c| {
                let done = c.query_opt(
                    "SELECT 1 FROM schema_migrations WHERE version = $1",
                    args![m.version],
                )?;
                if done.is_some() {
                    return Ok(false);
                }
                c.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    args![m.version, m.name, now_ms],
                )?;
                c.execute_batch(match engine {
                    Engine::Sqlite => m.sqlite,
                    Engine::Postgres => m.postgres,
                })?;
                Ok(true)
            })
            .await;
        match outcome {
            Ok(true) => {
                tracing::info!(migration = m.name, "applied migration");
                applied.push(m.name);
            }
            Ok(false) => {}
            Err(e) if e.is_unique_on("schema_migrations", &["version"]) => {}
            Err(e) if matches!(&e, StoreError::Unique { constraint } if constraint.contains("schema_migrations")) =>
                {}
            Err(e) => return Err(e),
        }
    }
    Ok(applied)
}

/// The newest version applied, or 0 for an empty database.
pub async fn current_version(db: &Db) -> Result<i64, StoreError> {
    db.read(|c| {
        let row = c.query_one(
            "SELECT CAST(COALESCE(MAX(version), 0) AS bigint) FROM schema_migrations",
            &[],
        )?;
        row.int(0)
    })
    .await
}
