//! `kith analytics` tables on a small hand-built world, as snapshots (insta): a merchant's
//! community of two friend circles joined by one follow, an invite chain, posts, likes and
//! comments, made through the use cases under a fixed clock so every figure and date is
//! the same on every run. Also the JSON form and the errors a report gives.

use std::sync::Arc;

use kith::analytics::{Report, Scope, report};
use kith::config::{Settings, StorageArgs};
use kith_app::money::sharing::LinkKind;
use kith_app::platform::accounts::Registration;
use kith_app::platform::ids::AccountId;
use kith_app::platform::merchants::MerchantInput;
use kith_app::social::communities::{CommunityInput, JoinPolicy};
use kith_app::social::posts::{NewPost, Visibility};
use kith_app::{App, Principal};
use kith_domain::commission::PlanInput;
use kith_domain::{BoundedText, ManualClock, Password};

/// 2026-11-01T08:00:00Z.
const START_MS: i64 = 1_793_520_000_000;
const DAY_SECS: i64 = 24 * 3600;

/// The typed id of a member's account.
fn account(p: &Principal) -> AccountId {
    AccountId::parse(&p.account_id).expect("accounts have UUID ids")
}

struct World {
    app: App,
    merchant: String,
    community: String,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn who(id: &str) -> Principal {
    Principal {
        account_id: id.to_owned(),
        is_platform_admin: false,
    }
}

async fn member(app: &App, n: usize, name: &str) -> Principal {
    let a = app
        .register(Registration {
            phone: Some(format!("1390000{n:04}")),
            email: None,
            password: "analytics-2026".into(),
            display_name: name.into(),
            code: None,
        })
        .await
        .expect("register");
    who(&a.id)
}

async fn world(tag: &str) -> World {
    let dir =
        TempDir(std::env::temp_dir().join(format!("kith-analytics-{tag}-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let config = dir.0.join("kith.toml");
    std::fs::write(&config, "").unwrap();
    let settings = Settings::for_storage(&StorageArgs {
        data_dir: Some(dir.0.clone()),
        config: Some(config),
        ..Default::default()
    })
    .unwrap();
    let clock = ManualClock::new(START_MS);
    let app = kith::open_app(&settings, Arc::new(clock.clone()))
        .await
        .unwrap();

    // A platform admin approves the merchant of 酱香酒坊's owner.
    let admin = app
        .create_account(
            Some(kith_domain::Phone::parse("13900009999").unwrap()),
            None,
            Password::parse("analytics-admin-2026").unwrap(),
            BoundedText::parse("name", "平台", 1, 32).unwrap(),
            true,
        )
        .await
        .unwrap();
    let admin = Principal {
        account_id: admin.id.to_string(),
        is_platform_admin: true,
    };
    let boss = member(&app, 0, "老板").await;
    let merchant = app
        .apply_merchant(
            &boss,
            MerchantInput {
                name: Some("酱香酒坊".into()),
                description: None,
                contact_phone: None,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;
    app.decide_merchant(&admin, &merchant, true, None)
        .await
        .unwrap();
    let community = app
        .create_community(
            &boss,
            CommunityInput {
                name: "酱香爱好者".into(),
                description: None,
                tags: Vec::new(),
                join_policy: Some(JoinPolicy::Open),
                merchant_id: Some(merchant.to_string()),
                cover_media_id: None,
            },
        )
        .await
        .unwrap()
        .id;

    // Two circles of four who all follow each other; one follow across.
    let names = [
        "阿美", "小白", "老陈", "大卫", "一号", "二号", "三号", "四号",
    ];
    let mut people = Vec::new();
    for (i, n) in names.iter().enumerate() {
        people.push(member(&app, i + 1, n).await);
    }
    // The first circle joins directly on day 0; the second through an invite chain a day
    // apart each: 阿美 → 一号 → 二号 → 三号 → 四号.
    for p in &people[..4] {
        app.join_community(p, &community).await.unwrap();
    }
    let mut inviter = people[0].clone();
    for p in &people[4..] {
        clock.advance_secs(DAY_SECS);
        let inv = app
            .create_invite(&inviter, &community, None, None)
            .await
            .unwrap();
        app.accept_invite(p, inv.code.as_deref().unwrap())
            .await
            .unwrap();
        inviter = p.clone();
    }
    for circle in [&people[..4], &people[4..]] {
        for x in circle {
            for y in circle {
                if x != y {
                    app.follow(x, &account(y)).await.unwrap();
                }
            }
        }
    }
    app.follow(&people[3], &account(&people[4])).await.unwrap();
    // 阿美 posts; 小白 likes it and 老陈 comments; 一号 posts and 二号 likes it.
    let post = |p: &Principal| {
        let (app, p) = (app.clone(), p.clone());
        async move {
            app.create_post(
                &p,
                NewPost {
                    body: "今天开了一瓶酱香".into(),
                    visibility: Visibility::Public,
                    community_id: None,
                    images: Vec::new(),
                    tags: Vec::new(),
                },
            )
            .await
            .unwrap()
            .id
        }
    };
    let p1 = post(&people[0]).await;
    let p2 = post(&people[4]).await;
    app.like_post(&people[1], &p1).await.unwrap();
    app.add_comment(&people[2], &p1, "好喝吗", None)
        .await
        .unwrap();
    app.like_post(&people[5], &p2).await.unwrap();
    // Money sharing: a commission plan binding permanently; 阿美 shares the community.
    // 大卫 follows the link (and is bound to 阿美), so does someone not signed in, and a
    // newcomer signs up through it.
    app.set_commission_plan(
        &boss,
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
    .unwrap();
    let link = app
        .create_share_link(&people[0], LinkKind::Community, &community)
        .await
        .unwrap();
    app.visit_share_link(Some(&people[3]), &link.code)
        .await
        .unwrap();
    app.visit_share_link(None, &link.code).await.unwrap();
    app.register_via_share(
        Registration {
            phone: Some("13900000099".into()),
            email: None,
            password: "analytics-2026".into(),
            display_name: "新人".into(),
            code: None,
        },
        &link.code,
    )
    .await
    .unwrap();
    // One member leaves on the last day.
    clock.advance_secs(DAY_SECS);
    app.leave_community(&people[7], &community).await.unwrap();
    World {
        app,
        merchant: merchant.to_string(),
        community: community.to_string(),
        _dir: dir,
    }
}

fn scope(w: &World, community: bool, window_days: Option<i64>, json: bool) -> Scope {
    Scope {
        merchant: w.merchant.clone(),
        community: community.then(|| w.community.clone()),
        window_days,
        limit: None,
        by: None,
        json,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_tables() {
    let w = world("tables").await;
    let all = [
        (
            "communities",
            Report::Communities(scope(&w, false, None, false)),
        ),
        ("energy", Report::Energy(scope(&w, true, None, false))),
        ("repeat", Report::Repeat(scope(&w, true, None, false))),
        ("fission", Report::Fission(scope(&w, true, None, false))),
        ("kol", Report::Kol(scope(&w, false, None, false))),
        ("pool", Report::Pool(scope(&w, false, Some(7), false))),
        ("split", Report::Split(scope(&w, true, None, false))),
        ("referral", Report::Referral(scope(&w, false, None, false))),
        ("channels", Report::Channels(scope(&w, false, None, false))),
        ("funnel", Report::Funnel(scope(&w, false, None, false))),
        ("bindings", Report::Bindings(scope(&w, false, None, false))),
    ];
    for (name, r) in all {
        let out = report(&w.app, &r).await.unwrap();
        insta::assert_snapshot!(name, out);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_json_and_errors() {
    let w = world("json").await;
    let out = report(&w.app, &Report::Fission(scope(&w, true, None, true)))
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["community_id"], w.community.as_str());
    assert_eq!(v["generations"], 5);
    assert_eq!(v["per_generation"], serde_json::json!([5, 1, 1, 1, 1]));
    assert_eq!(v["k_factor"], 0.4444);
    let out = report(&w.app, &Report::Bindings(scope(&w, false, None, true)))
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["members"], 3);
    assert_eq!(v["per_generation"], serde_json::json!([1, 2]));

    let e = report(&w.app, &Report::Energy(scope(&w, false, None, false)))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("--community"), "{e}");
    let e = report(
        &w.app,
        &Report::Communities(scope(&w, false, Some(0), false)),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("window_days"), "{e}");
    let mut s = scope(&w, false, None, false);
    s.merchant = "0190a0b0-0000-7000-8000-000000000000".into();
    let e = report(&w.app, &Report::Pool(s)).await.unwrap_err();
    assert!(e.to_string().contains("merchant not found"), "{e}");
    let mut s = scope(&w, false, None, false);
    s.limit = Some(500);
    let e = report(&w.app, &Report::Kol(s)).await.unwrap_err();
    assert!(e.to_string().contains("limit"), "{e}");
}
