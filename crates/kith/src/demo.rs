//! The demo community for `kith serve --demo`: created once, on an empty database, through
//! the same use cases the API calls (so it obeys every rule), deterministic in its names.
//! What exists today: a platform admin, two approved merchants (a 酱香白酒 brand and a 母婴
//! brand) with tiers, stores, a manager and clerks, members holding tiers, products with
//! tier prices and stock, wallets topped up through the sandbox gateway, and orders in
//! several states (paid, shipped, delivered, ready for pickup, awaiting payment), friendships,
//! three communities (two merchants', one members' with an invite chain for the fission
//! tree), and posts about 减肥, 宝宝辅食 and 白酒 with tagged products, likes and comments.
//! Later issues grow it with group-buys and commissions.

use kith_app::accounts::Registration;
use kith_app::catalog::{NewSku, ProductInput};
use kith_app::inventory::Adjustment;
use kith_app::merchants::MerchantInput;
use kith_app::orders::{Address, CheckoutInput};
use kith_app::stores::StoreInput;
use kith_app::{App, AppError, Principal};
use kith_domain::order::DeliveryMethod;
use kith_domain::store::OpeningWindow;
use kith_domain::{BoundedText, Password, Phone};
use kith_store::args;

/// Every demo login uses this password. Demo data is for trying kith, never production.
pub const DEMO_PASSWORD: &str = "kith-demo-2026";

const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"];
const GIVEN: &[&str] = &[
    "小美", "建国", "晓燕", "子涵", "浩然", "欣怡", "俊杰", "雨桐", "志强", "思琪",
];

fn e(err: AppError) -> anyhow::Error {
    anyhow::anyhow!("demo: {err}")
}

async fn login(app: &App, phone: &str) -> anyhow::Result<Principal> {
    let s = app.login(phone, DEMO_PASSWORD, "demo").await.map_err(e)?;
    Ok(Principal {
        account_id: s.account.id,
        is_platform_admin: s.account.is_platform_admin,
    })
}

async fn member(app: &App, phone: &str, name: &str) -> anyhow::Result<Principal> {
    app.register(Registration {
        phone: Some(phone.into()),
        email: None,
        password: DEMO_PASSWORD.into(),
        display_name: name.into(),
    })
    .await
    .map_err(e)?;
    login(app, phone).await
}

fn hours(open: &str, close: &str) -> Vec<OpeningWindow> {
    (1..=7)
        .map(|d| OpeningWindow {
            weekday: d,
            opens: open.into(),
            closes: close.into(),
        })
        .collect()
}

/// Creates the demo world if the database has no accounts; prints the logins either way.
pub async fn ensure(app: &App) -> anyhow::Result<()> {
    let empty = app
        .db
        .read(|c| {
            Ok::<_, kith_store::StoreError>(
                c.query_one("SELECT COUNT(*) FROM accounts", args![])?
                    .int(0)?
                    == 0,
            )
        })
        .await?;
    if empty {
        build(app).await?;
    }
    println!("demo logins (password {DEMO_PASSWORD}):");
    println!("  platform admin      13800000000");
    println!(
        "  酱香酒坊 owner       13800000001   manager 13800000003   clerk (贵阳店) 13800000004"
    );
    println!("  母婴优选 owner       13800000002   clerk (成都店) 13800000005");
    println!("  members             13900000000 … 13900000039");
    Ok(())
}

async fn build(app: &App) -> anyhow::Result<()> {
    let admin_phone = Phone::parse("13800000000")?;
    app.create_account(
        Some(admin_phone),
        None,
        Password::parse(DEMO_PASSWORD)?,
        BoundedText::parse("name", "平台管理员", 1, 32)?,
        true,
    )
    .await
    .map_err(e)?;
    let admin = login(app, "13800000000").await?;

    let liquor_owner = member(app, "13800000001", "酱香老周").await?;
    let baby_owner = member(app, "13800000002", "母婴林姐").await?;
    let manager = member(app, "13800000003", "店长阿强").await?;
    let clerk_gy = member(app, "13800000004", "店员小吴").await?;
    let clerk_cd = member(app, "13800000005", "店员小何").await?;

    let liquor = app
        .apply_merchant(
            &liquor_owner,
            MerchantInput {
                name: Some("茅台镇酱香酒坊".into()),
                description: Some("贵州茅台镇坤沙酱香白酒，窖藏五年起，社群会员专享价。".into()),
                contact_phone: Some("13800000001".into()),
            },
        )
        .await
        .map_err(e)?;
    let baby = app
        .apply_merchant(
            &baby_owner,
            MerchantInput {
                name: Some("母婴优选".into()),
                description: Some("宝宝辅食、纸尿裤与孕产好物，宝妈们互相推荐的放心之选。".into()),
                contact_phone: Some("13800000002".into()),
            },
        )
        .await
        .map_err(e)?;
    app.decide_merchant(&admin, &liquor.id, true, None)
        .await
        .map_err(e)?;
    app.decide_merchant(&admin, &baby.id, true, None)
        .await
        .map_err(e)?;

    for (owner, m) in [(&liquor_owner, &liquor), (&baby_owner, &baby)] {
        app.create_tier(owner, &m.id, "member", "会员", 10)
            .await
            .map_err(e)?;
        app.create_tier(owner, &m.id, "shareholder", "股东", 20)
            .await
            .map_err(e)?;
    }

    let gy = app
        .create_store(
            &liquor_owner,
            &liquor.id,
            StoreInput {
                name: Some("贵阳观山湖体验店".into()),
                address: Some("贵州省贵阳市观山湖区林城东路 88 号".into()),
                latitude: Some(26.6470),
                longitude: Some(106.6302),
                opening_hours: Some(hours("09:30", "21:30")),
                phone: Some("0851-84112233".into()),
            },
        )
        .await
        .map_err(e)?;
    app.create_store(
        &liquor_owner,
        &liquor.id,
        StoreInput {
            name: Some("遵义仁怀旗舰店".into()),
            address: Some("贵州省遵义市仁怀市茅台镇国酒路 6 号".into()),
            latitude: Some(27.8490),
            longitude: Some(106.3760),
            opening_hours: Some(hours("09:00", "20:00")),
            phone: None,
        },
    )
    .await
    .map_err(e)?;
    let cd = app
        .create_store(
            &baby_owner,
            &baby.id,
            StoreInput {
                name: Some("成都高新母婴生活馆".into()),
                address: Some("四川省成都市高新区天府大道中段 1366 号".into()),
                latitude: Some(30.5728),
                longitude: Some(104.0668),
                opening_hours: Some(hours("10:00", "22:00")),
                phone: None,
            },
        )
        .await
        .map_err(e)?;

    let inv = app
        .invite_manager(&liquor_owner, &liquor.id)
        .await
        .map_err(e)?;
    app.accept_invitation(&manager, inv.code.as_deref().unwrap_or_default())
        .await
        .map_err(e)?;
    let inv = app
        .invite_clerk(&liquor_owner, &liquor.id, &gy.id)
        .await
        .map_err(e)?;
    app.accept_invitation(&clerk_gy, inv.code.as_deref().unwrap_or_default())
        .await
        .map_err(e)?;
    let inv = app
        .invite_clerk(&baby_owner, &baby.id, &cd.id)
        .await
        .map_err(e)?;
    app.accept_invitation(&clerk_cd, inv.code.as_deref().unwrap_or_default())
        .await
        .map_err(e)?;

    let liquor_skus = catalog(
        app,
        &liquor_owner,
        &liquor.id,
        &[
            (
                "十五年坤沙酱香 53°",
                "53 度大曲坤沙，窖藏十五年，入口柔绵，空杯留香。",
                "JX15-500",
                "500ml",
                59900,
                49900,
            ),
            (
                "五年窖藏酱香 53°",
                "日常口粮酒，纯粮固态发酵。",
                "JX05-500",
                "500ml",
                19900,
                16800,
            ),
            (
                "品鉴小酒 100ml",
                "初次尝试的朋友先来一瓶小酒。",
                "JX-MINI",
                "100ml",
                3900,
                3200,
            ),
        ],
    )
    .await?;
    let baby_skus = catalog(
        app,
        &baby_owner,
        &baby.id,
        &[
            (
                "有机米粉 6 月龄+",
                "宝宝第一口辅食，单一谷物，无添加糖盐。",
                "RICE-6M",
                "225g",
                6800,
                5900,
            ),
            (
                "婴儿纸尿裤 M 码",
                "轻薄透气，夜用不漏。",
                "DIAPER-M",
                "M 码 64 片",
                12900,
                10900,
            ),
            (
                "孕妇叶酸片",
                "备孕与孕早期每日一片。",
                "FOLIC-90",
                "90 片",
                8800,
                7600,
            ),
        ],
    )
    .await?;

    let mut members = Vec::new();
    for i in 0..40usize {
        let name = format!(
            "{}{}",
            SURNAMES[i % SURNAMES.len()],
            GIVEN[(i / SURNAMES.len() + i) % GIVEN.len()]
        );
        let phone = format!("139{:08}", i);
        let acct = app
            .register(Registration {
                phone: Some(phone),
                email: None,
                password: DEMO_PASSWORD.into(),
                display_name: name,
            })
            .await
            .map_err(e)?;
        let (owner, merchant) = if i % 2 == 0 {
            (&liquor_owner, &liquor)
        } else {
            (&baby_owner, &baby)
        };
        let tier = if i % 7 == 0 { "shareholder" } else { "member" };
        app.assign_tier(owner, &merchant.id, &acct.id, Some(tier))
            .await
            .map_err(e)?;
        members.push(acct);
    }

    social(
        app,
        &members,
        (&liquor_owner, &liquor.id, &liquor_skus),
        (&baby_owner, &baby.id, &baby_skus),
    )
    .await?;

    // A few members shop: wallets topped up through the sandbox gateway's signed callback,
    // then orders left in different states so every page has something to show.
    for (i, m) in members.iter().take(12).enumerate() {
        let who = Principal {
            account_id: m.id.clone(),
            is_platform_admin: false,
        };
        top_up(app, &who, 300_000).await?;
        let (merchant, skus, owner, store) = if i % 2 == 0 {
            (&liquor, &liquor_skus, &liquor_owner, &gy)
        } else {
            (&baby, &baby_skus, &baby_owner, &cd)
        };
        let pickup = i % 3 == 2;
        let address = Address {
            name: m.display_name.clone(),
            phone: m.phone.clone().unwrap_or_default(),
            province: "贵州省".into(),
            city: "贵阳市".into(),
            district: "观山湖区".into(),
            detail: format!("林城东路 {} 号", 10 + i),
        };
        let order = app
            .checkout(
                &who,
                &merchant.id,
                CheckoutInput {
                    delivery: if pickup {
                        DeliveryMethod::Pickup
                    } else {
                        DeliveryMethod::Shipping
                    },
                    pickup_store_id: pickup.then(|| store.id.clone()),
                    address: (!pickup).then_some(address),
                    items: Some(vec![(skus[i % skus.len()].clone(), 1 + (i % 2) as i64)]),
                },
            )
            .await
            .map_err(e)?;
        if i == 11 {
            continue; // left awaiting payment
        }
        app.pay_with_wallet(&who, &order.id).await.map_err(e)?;
        match (pickup, i % 4) {
            (true, _) => {
                app.mark_ready_for_pickup(owner, &merchant.id, &order.id)
                    .await
                    .map_err(e)?;
            }
            (false, 0) => {}
            (false, 1) => {
                app.ship_order(
                    owner,
                    &merchant.id,
                    &order.id,
                    "sf",
                    &format!("SF{:010}", 1_000_000 + i),
                )
                .await
                .map_err(e)?;
            }
            (false, _) => {
                app.ship_order(
                    owner,
                    &merchant.id,
                    &order.id,
                    "zto",
                    &format!("ZT{:010}", 2_000_000 + i),
                )
                .await
                .map_err(e)?;
                app.confirm_receipt(&who, &order.id).await.map_err(e)?;
            }
        }
    }
    Ok(())
}

const POSTS: &[(&str, usize)] = &[
    (
        "减肥第 30 天打卡：早餐燕麦 + 鸡蛋，晚饭七分饱，体重掉了 4 斤！有一起的吗？",
        2,
    ),
    (
        "减肥不是饿肚子，分享我的一周减脂餐单，关键是蛋白质要够。",
        2,
    ),
    (
        "宝宝 6 个月开始加辅食，第一口米粉选单一谷物的，不加糖不加盐。",
        1,
    ),
    ("宝宝辅食记录：南瓜泥 + 米粉，小家伙吃得很香。", 1),
    ("朋友推荐的十五年坤沙，空杯留香是真的，家宴很有面子。", 0),
    ("白酒入门：先从小酒开始品，酱香型讲究一口闷不如慢慢品。", 0),
];

/// Friendships, communities with an invite chain (the fission tree), and posts about 减肥,
/// 宝宝辅食 and 白酒 with tagged products, likes and comments.
async fn social(
    app: &App,
    members: &[kith_app::accounts::Account],
    liquor: (&Principal, &str, &[String]),
    baby: (&Principal, &str, &[String]),
) -> anyhow::Result<()> {
    use kith_app::communities::{CommunityInput, JoinPolicy};
    use kith_app::posts::{NewPost, Visibility};
    let who: Vec<Principal> = members
        .iter()
        .map(|m| Principal {
            account_id: m.id.clone(),
            is_platform_admin: false,
        })
        .collect();
    // Each member follows the next three; every other pair follows back: friends.
    for i in 0..who.len() {
        for d in 1..=3 {
            let j = (i + d) % who.len();
            app.follow(&who[i], &who[j].account_id).await.map_err(e)?;
            if (i + d) % 2 == 0 {
                app.follow(&who[j], &who[i].account_id).await.map_err(e)?;
            }
        }
    }
    let input =
        |name: &str, desc: &str, tags: &[&str], policy, merchant: Option<&str>| CommunityInput {
            name: name.into(),
            description: Some(desc.into()),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            join_policy: Some(policy),
            merchant_id: merchant.map(str::to_owned),
            cover_media_id: None,
        };
    let wine = app
        .create_community(
            liquor.0,
            input(
                "贵阳酱香品鉴群",
                "酱香白酒爱好者的品鉴与团购",
                &["白酒", "酱香"],
                JoinPolicy::Open,
                Some(liquor.1),
            ),
        )
        .await
        .map_err(e)?;
    let moms = app
        .create_community(
            baby.0,
            input(
                "宝妈辅食交流群",
                "辅食、睡眠、早教，宝妈们互相支招",
                &["母婴", "辅食"],
                JoinPolicy::Open,
                Some(baby.1),
            ),
        )
        .await
        .map_err(e)?;
    let slim = app
        .create_community(
            &who[0],
            input(
                "减肥打卡互助群",
                "每天打卡，互相监督；入群需审核或好友邀请",
                &["减肥", "健身"],
                JoinPolicy::Approval,
                None,
            ),
        )
        .await
        .map_err(e)?;
    // An invite chain: each new member brings the next (generations for the fission tree).
    for k in 0..8usize {
        let inviter = &who[k * 2];
        let invite = app
            .create_invite(inviter, &slim.id, Some(5), None)
            .await
            .map_err(e)?;
        app.accept_invite(&who[k * 2 + 2], invite.code.as_deref().unwrap_or_default())
            .await
            .map_err(e)?;
    }
    for (i, w) in who.iter().enumerate() {
        let c = if i % 2 == 0 { &wine } else { &moms };
        app.join_community(w, &c.id).await.map_err(e)?;
    }
    for (n, (body, topic)) in POSTS.iter().enumerate() {
        let author = &who[(n * 5) % who.len()];
        let (community, tags) = match topic {
            0 => (Some(&wine), vec![liquor.2[n % liquor.2.len()].clone()]),
            1 => (Some(&moms), vec![baby.2[n % baby.2.len()].clone()]),
            _ => (None, Vec::new()),
        };
        let in_slim = *topic == 2 && n % 2 == 1;
        let (visibility, community_id) = match (community, in_slim) {
            (_, true) => (Visibility::Community, Some(slim.id.clone())),
            (Some(c), _) if n % 2 == 1 => (Visibility::Community, Some(c.id.clone())),
            _ => (
                if n % 3 == 0 {
                    Visibility::Friends
                } else {
                    Visibility::Public
                },
                None,
            ),
        };
        // The author must belong to the community the post is in.
        let post = match app
            .create_post(
                author,
                NewPost {
                    body: (*body).into(),
                    visibility,
                    community_id: community_id.clone(),
                    images: Vec::new(),
                    tags: tags.clone(),
                },
            )
            .await
        {
            Ok(p) => p,
            Err(_) => app
                .create_post(
                    author,
                    NewPost {
                        body: (*body).into(),
                        visibility: Visibility::Public,
                        community_id: None,
                        images: Vec::new(),
                        tags,
                    },
                )
                .await
                .map_err(e)?,
        };
        for k in 1..=4 {
            let fan = &who[(n * 5 + k * 2) % who.len()];
            let _ = app.like_post(fan, &post.id).await;
        }
        let commenter = &who[(n * 5 + 2) % who.len()];
        let _ = app
            .add_comment(commenter, &post.id, "学到了，感谢分享！", None)
            .await;
    }
    Ok(())
}

/// Products with one SKU each (name, description, code, spec, list price, shareholder
/// price), active, with stock in every location of the merchant. Returns the SKU ids.
async fn catalog(
    app: &App,
    owner: &Principal,
    merchant_id: &str,
    items: &[(&str, &str, &str, &str, i64, i64)],
) -> anyhow::Result<Vec<String>> {
    let locations = app.list_locations(owner, merchant_id).await.map_err(e)?;
    let mut skus = Vec::new();
    for (name, desc, code, spec, list, shareholder) in items {
        let input = ProductInput {
            name: Some((*name).into()),
            description: Some((*desc).into()),
            category_id: None,
            images: None,
        };
        let p = app
            .create_product(owner, merchant_id, input)
            .await
            .map_err(e)?;
        let new_sku = NewSku {
            code: (*code).into(),
            attrs: Some(serde_json::json!({ "规格": spec })),
            weight_g: Some(600),
            list_price_fen: *list,
        };
        let sku = app
            .add_sku(owner, merchant_id, &p.id, new_sku)
            .await
            .map_err(e)?;
        app.set_tier_price(owner, merchant_id, &sku.id, "shareholder", *shareholder)
            .await
            .map_err(e)?;
        app.set_product_status(owner, merchant_id, &p.id, "active")
            .await
            .map_err(e)?;
        for l in &locations {
            let adj = Adjustment {
                sku_id: sku.id.clone(),
                location_id: l.id.clone(),
                delta: 200,
                note: Some("期初库存".into()),
            };
            app.adjust_stock(owner, merchant_id, adj).await.map_err(e)?;
        }
        skus.push(sku.id);
    }
    Ok(skus)
}

/// Tops up a wallet the way the sandbox gateway does: a signed callback to the payment
/// webhook's code path.
async fn top_up(app: &App, who: &Principal, fen: i64) -> anyhow::Result<()> {
    let p = app.start_topup(who, fen).await.map_err(e)?;
    let body = serde_json::to_vec(&kith_app::payments::CallbackBody {
        event_id: format!("demo-{}", p.id),
        payment_id: p.id.clone(),
        status: "succeeded".into(),
        amount_fen: fen,
    })?;
    let sig = kith_domain::signature::sign(
        app.config.sandbox_secret.as_bytes(),
        app.now_ms() / 1000,
        &body,
    );
    app.payment_callback("sandbox", &sig, &body)
        .await
        .map_err(e)?;
    Ok(())
}
