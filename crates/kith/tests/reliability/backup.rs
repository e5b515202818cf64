//! `kith backup` / `kith restore` of the SQLite store: a backup taken while money moves is
//! one consistent state (every journal entry balances, every balance equals its postings),
//! holds everything acknowledged before it started, and restores into a store a server
//! runs on; restore is refused while a server has the directory open.

use std::sync::Arc;

use kith::config::{Settings, StorageArgs};
use kith_domain::SystemClock;
use serde_json::Value;

use crate::harness::{Engine, TempDir, TestApp};

fn settings_for(dir: &std::path::Path) -> Settings {
    let config = dir.join("kith.toml");
    if !config.exists() {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(&config, "").unwrap();
    }
    Settings::for_storage(&StorageArgs {
        data_dir: Some(dir.to_path_buf()),
        config: Some(config),
        ..Default::default()
    })
    .expect("settings")
}

async fn balance(t: &TestApp, token: &str) -> i64 {
    let w: Value = t.get("/api/v1/me/wallet", Some(token)).await.expect(200);
    w["balance_fen"].as_i64().expect("balance_fen")
}

#[tokio::test]
async fn a_backup_taken_under_load_restores_to_a_consistent_store() {
    let t = TestApp::spawn(Engine::Sqlite).await.unwrap();
    let mut members = Vec::new();
    for i in 0..6 {
        members.push(t.register_member(&format!("备份{i}")).await);
    }
    for m in &members {
        t.top_up(m, 1_000).await;
    }
    // A media file, as an upload leaves it.
    let media = t.data_dir().join("media").join("ab").join("cd");
    std::fs::create_dir_all(&media).unwrap();
    std::fs::write(media.join("one"), b"image bytes").unwrap();

    let t = Arc::new(t);
    let load: Vec<_> = members
        .iter()
        .cloned()
        .map(|m| {
            let t = t.clone();
            tokio::spawn(async move {
                for _ in 0..5 {
                    t.top_up(&m, 100).await;
                }
            })
        })
        .collect();
    // Taken while the top-ups above are being paid.
    let out = TempDir::new();
    let backup_dir = out.0.join("backup");
    let source = settings_for(t.data_dir());
    let copied = {
        let (source, backup_dir) = (source.clone(), backup_dir.clone());
        tokio::task::spawn_blocking(move || kith::backup::backup(&source, &backup_dir))
            .await
            .unwrap()
            .expect("backup")
    };
    assert!(copied.schema_version >= 3, "{copied:?}");
    assert_eq!(copied.media_files, 1);
    for l in load {
        l.await.unwrap();
    }

    // The live store cannot be restored over while its server has it open.
    let refused = kith::backup::restore(&source, &backup_dir, true).unwrap_err();
    assert!(refused.to_string().contains("stop it"), "{refused}");
    // A backup never goes into a directory that has something in it.
    assert!(kith::backup::backup(&source, &backup_dir).is_err());

    let target = TempDir::new();
    let restored = settings_for(&target.0);
    let again = kith::backup::restore(&restored, &backup_dir, false).expect("restore");
    assert_eq!(again.schema_version, copied.schema_version);
    assert_eq!(again.media_files, 1);
    assert_eq!(
        std::fs::read(target.0.join("media/ab/cd/one")).unwrap(),
        b"image bytes"
    );
    // An existing store is replaced only when asked.
    let twice = kith::backup::restore(&restored, &backup_dir, false).unwrap_err();
    assert!(twice.to_string().contains("--force"), "{twice}");

    let app = kith::open_app(&restored, Arc::new(SystemClock))
        .await
        .expect("open restored store");
    let audit = app
        .db
        .read(|c| kith_app::money::ledger::audit(c))
        .await
        .expect("audit");
    assert!(audit.is_clean(), "{audit:?}");
    // Every top-up acknowledged before the backup began is in it; none is half there.
    let before: i64 = 6 * 1_000;
    let after: i64 = 6 * (1_000 + 5 * 100);
    let total: i64 = app
        .db
        .read(|c| {
            let row = c.query_one(
                "SELECT CAST(COALESCE(SUM(balance_fen), 0) AS BIGINT) FROM ledger_accounts WHERE id LIKE 'member:%'",
                &[],
            )?;
            row.int(0)
        })
        .await
        .expect("sum");
    assert!((before..=after).contains(&total), "{total}");
    assert_eq!(total % 100, 0, "{total}");
    drop(app);
    let live: i64 = {
        let mut sum = 0;
        for m in &members {
            sum += balance(&t, &m.token).await;
        }
        sum
    };
    assert_eq!(live, after);
}
