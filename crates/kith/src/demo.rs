//! The demo community for `kith serve --demo`: created once, on an empty database, through
//! the same use cases the API calls (so it obeys every rule), deterministic in its names.
//! What exists today: a platform admin, two approved merchants (a 酱香白酒 brand and a 母婴
//! brand) with tiers, stores, a manager and clerks, members holding tiers, products with
//! tier prices and stock, wallets topped up through the sandbox gateway, and orders in
//! several states (paid, shipped, delivered, ready for pickup, awaiting payment), friendships,
//! three communities (two merchants', one members' with an invite chain for the fission
//! tree), and posts about 减肥, 宝宝辅食 and 白酒 with tagged products, likes and comments;
//! money sharing at the liquor shop (a commission plan, a KOL with a two-level team bound
//! through share links in its community, commission in every state, withdrawals paid out
//! and awaiting approval — see [`money_sharing`]). Later issues grow it with group-buys.

use kith_app::commerce::catalog::{NewSku, ProductInput};
use kith_app::commerce::inventory::Adjustment;
use kith_app::commerce::orders::{Address, CheckoutInput};
use kith_app::commerce::stores::StoreInput;
use kith_app::platform::accounts::Registration;
use kith_app::platform::merchants::MerchantInput;
use kith_app::{App, AppError, Principal};
use kith_domain::order::DeliveryMethod;
use kith_domain::store::OpeningWindow;
use kith_domain::{BoundedText, Clock, Password, Phone};
use kith_store::args;

/// Every demo login uses this password. Demo data is for trying kith, never production.
pub const DEMO_PASSWORD: &str = "kith-demo-2026";

/// How many demo members there are (phones 13900000000 …).
pub const MEMBERS: usize = 220;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高",
];
const GIVEN: &[&str] = &[
    "小美", "建国", "晓燕", "子涵", "浩然", "欣怡", "俊杰", "雨桐", "志强", "思琪", "梓萱", "宇轩",
    "一诺", "佳怡", "明轩", "若汐",
];

fn e(err: AppError) -> anyhow::Error {
    anyhow::anyhow!("demo: {err}")
}

pub(crate) async fn login(app: &App, phone: &str) -> anyhow::Result<Principal> {
    let s = app.login(phone, DEMO_PASSWORD, "demo").await.map_err(e)?;
    Ok(Principal {
        account_id: s.account.id.to_string(),
        is_platform_admin: s.account.is_platform_admin,
    })
}

/// A demo owner signed in, their (first) shop, and the SKUs it has on sale.
pub(crate) async fn owner_shop(
    app: &App,
    phone: &str,
) -> anyhow::Result<(
    Principal,
    kith_app::platform::ids::MerchantId,
    Vec<kith_app::commerce::catalog::Sku>,
)> {
    let owner = login(app, phone).await?;
    let mid = app
        .me(&owner)
        .await
        .map_err(e)?
        .staff_of
        .first()
        .map(|s| s.merchant_id.clone())
        .ok_or_else(|| anyhow::anyhow!("demo: {phone} owns no shop"))?;
    let skus = app
        .list_products(
            Some(&owner),
            &mid,
            Some("active"),
            kith_app::platform::page::PageRequest::first(100),
        )
        .await
        .map_err(e)?
        .items
        .into_iter()
        .flat_map(|p| p.skus)
        .collect();
    Ok((owner, mid, skus))
}

/// A named demo account (an owner, a manager, a clerk), with a drawn avatar.
async fn member(app: &App, phone: &str, name: &str) -> anyhow::Result<Principal> {
    app.register_unproven(Registration {
        phone: Some(phone.into()),
        email: None,
        password: DEMO_PASSWORD.into(),
        display_name: name.into(),
        code: None,
    })
    .await
    .map_err(e)?;
    let who = login(app, phone).await?;
    give_avatar(app, &who, name).await?;
    Ok(who)
}

/// An avatar drawn for `name`, uploaded and set by its member like any picture.
async fn give_avatar(app: &App, who: &Principal, name: &str) -> anyhow::Result<()> {
    let pic = app
        .upload_media(who, crate::demo_pictures::avatar_png(name))
        .await
        .map_err(e)?;
    app.set_avatar(who, Some(pic.id)).await.map_err(e)?;
    Ok(())
}

/// A logo and a banner drawn for the shop, uploaded by its owner and set through the
/// merchant's profile like any pictures.
async fn dress_shop(
    app: &App,
    owner: &Principal,
    m: &kith_app::platform::merchants::Merchant,
) -> anyhow::Result<()> {
    let logo = app
        .upload_media(owner, crate::demo_pictures::logo_png(&m.name))
        .await
        .map_err(e)?;
    let banner = app
        .upload_media(owner, crate::demo_pictures::banner_png(&m.name))
        .await
        .map_err(e)?;
    app.update_merchant(
        owner,
        &m.id,
        MerchantInput {
            logo_media_id: Some(logo.id),
            banner_media_id: Some(banner.id),
            ..Default::default()
        },
    )
    .await
    .map_err(e)?;
    Ok(())
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
    println!("  platform admin      13800000000   (an after-sale dispute at 鲜果 to decide)");
    println!(
        "  酱香酒坊 owner       13800000001   manager 13800000003   clerk (贵阳店) 13800000004"
    );
    println!("  母婴优选 owner       13800000002   clerk (成都店) 13800000005");
    println!(
        "  鲜果 owner           13800000006   (生鲜无售后期：送达即完成; after-sales waiting: a request to answer, a return to receive; a 团长 application)"
    );
    println!(
        "  members             13900000000 … 139{:08}   (13900000002 has an order ready for pickup at 贵阳店; 13900000039 applied to open 山野茶舍; 13900000210 是鲜果的团长，有一个进行中的接龙; 13900000217 applied to be a 团长 at 鲜果)",
        MEMBERS - 1
    );
    println!(
        "  KOL (酱香酒坊)      {}   (shares into 贵阳酱香品鉴群: a two-level team, commission in every state, a withdrawal paid out; at 鲜果 five after-sale requests in every state and a box in the cart)",
        member_phone(KOL)
    );
    println!(
        "  distributor         {}   (bound to the KOL: an available balance, a withdrawal awaiting the admin's approval)",
        member_phone(DISTRIBUTOR)
    );
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
                ..Default::default()
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
                ..Default::default()
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
    dress_shop(app, &liquor_owner, &liquor).await?;
    dress_shop(app, &baby_owner, &baby).await?;

    for (owner, m) in [(&liquor_owner, &liquor), (&baby_owner, &baby)] {
        app.create_tier(owner, &m.id, "member", "会员", 10)
            .await
            .map_err(e)?;
        app.create_tier(owner, &m.id, "shareholder", "股东", 20)
            .await
            .map_err(e)?;
    }
    // The liquor shop gives points (积分) from the start, so its members' orders earn them:
    // 1 per ¥1, 100 worth ¥1, at most 30 % of an order, for a year.
    app.set_points_settings(
        &liquor_owner,
        &kith_app::platform::ids::MerchantId::parse_or_404(&liquor.id)?,
        kith_app::loyalty::PointsSettings {
            enabled: true,
            earn_per_yuan: 1,
            points_per_yuan: 100,
            cap_percent: 30,
            expire_days: 365,
            on_activity_orders: false,
        },
    )
    .await
    .map_err(e)?;

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

    let (liquor_products, liquor_skus) = catalog(
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
    let (_, baby_skus) = catalog(
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
    for i in 0..MEMBERS {
        let name = format!(
            "{}{}",
            SURNAMES[i % SURNAMES.len()],
            GIVEN[(i / SURNAMES.len() + i) % GIVEN.len()]
        );
        // 220 members share 320 names: number the repeats, as people do in a group.
        let name = if i >= SURNAMES.len() * GIVEN.len() / 2 {
            format!("{name}{}", i / 10)
        } else {
            name
        };
        let phone = format!("139{:08}", i);
        let acct = app
            .register_unproven(Registration {
                phone: Some(phone),
                email: None,
                password: DEMO_PASSWORD.into(),
                display_name: name,
                code: None,
            })
            .await
            .map_err(e)?;
        // Two in three of the first sixty have a picture; the rest show their initial.
        if i < 60 && i % 3 != 2 {
            give_avatar(app, &principal(&acct), &acct.display_name).await?;
        }
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

    let wine_community = social(
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
            account_id: m.id.to_string(),
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
                &crate::typed(&merchant.id),
                CheckoutInput {
                    coupon_id: None,
                    points: None,
                    delivery: if pickup {
                        DeliveryMethod::Pickup
                    } else {
                        DeliveryMethod::Shipping
                    },
                    pickup_store_id: pickup.then(|| store.id.to_string()),
                    address: (!pickup).then_some(address),
                    address_id: None,
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
                app.mark_ready_for_pickup(owner, &crate::typed(&merchant.id), &order.id)
                    .await
                    .map_err(e)?;
            }
            (false, 0) => {}
            (false, 1) => {
                app.ship_order(
                    owner,
                    &crate::typed(&merchant.id),
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
                    &crate::typed(&merchant.id),
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

    let liquor_shop = Shop {
        owner: &liquor_owner,
        id: &liquor.id,
        skus: &liquor_skus,
        store: &gy.id,
        clerk: &clerk_gy,
    };
    let fruit_owner = member(app, "13800000006", "果园老杨").await?;
    let fruit = app
        .apply_merchant(
            &fruit_owner,
            MerchantInput {
                name: Some("云岭鲜果".into()),
                description: Some(
                    "云南高原当季鲜果，产地直发；生鲜送达即完成，不设售后期。".into(),
                ),
                contact_phone: Some("13800000006".into()),
                ..Default::default()
            },
        )
        .await
        .map_err(e)?;
    app.decide_merchant(&admin, &fruit.id, true, None)
        .await
        .map_err(e)?;
    dress_shop(app, &fruit_owner, &fruit).await?;
    let mut terms = app
        .commerce_settings(&fruit_owner, &fruit.id)
        .await
        .map_err(e)?;
    terms.after_sale_days = 0;
    app.set_commerce_settings(&fruit_owner, &fruit.id, terms)
        .await
        .map_err(e)?;
    app.create_tier(&fruit_owner, &fruit.id, "member", "会员", 10)
        .await
        .map_err(e)?;
    app.create_tier(&fruit_owner, &fruit.id, "shareholder", "股东", 20)
        .await
        .map_err(e)?;
    let (_, fruit_skus) = catalog(
        app,
        &fruit_owner,
        &fruit.id,
        &[
            (
                "褚橙 5 斤装",
                "哀牢山冰糖橙，甜酸适口。",
                "ORANGE-5",
                "5 斤",
                9800,
                8800,
            ),
            (
                "云南蓝莓 4 盒",
                "高原蓝莓，果粉完整。",
                "BERRY-4",
                "125g×4",
                6900,
                5900,
            ),
        ],
    )
    .await?;
    more_orders(
        app,
        &members,
        &liquor_shop,
        (&fruit_owner, &fruit.id, &fruit_skus),
    )
    .await?;

    money_sharing(
        app,
        &members,
        &admin,
        &MoneyShop {
            shop: &liquor_shop,
            products: &liquor_products,
            community: &wine_community,
        },
    )
    .await?;
    let claimers: Vec<Principal> = members[30..36].iter().map(principal).collect();
    crate::demo_coupons::build(
        app,
        (&liquor_owner, &liquor.id),
        &liquor_skus[2],
        (&baby_owner, &baby.id),
        &claimers,
    )
    .await?;
    crate::demo_group_buy::build(app).await?;
    crate::demo_leaders::build(app).await?;
    crate::demo_aftersales::build(app).await?;

    // An application waiting for the platform admin.
    let applicant = principal(&members[39]);
    let tea = app
        .apply_merchant(
            &applicant,
            MerchantInput {
                name: Some("山野茶舍".into()),
                description: Some("武夷山高山岩茶，茶农直供。".into()),
                contact_phone: None,
                ..Default::default()
            },
        )
        .await
        .map_err(e)?;
    dress_shop(app, &applicant, &tea).await?;
    Ok(())
}

fn principal(a: &kith_app::platform::accounts::Account) -> Principal {
    Principal {
        account_id: a.id.to_string(),
        is_platform_admin: false,
    }
}

struct Shop<'a> {
    owner: &'a Principal,
    id: &'a str,
    skus: &'a [String],
    store: &'a str,
    clerk: &'a Principal,
}

fn demo_address(a: &kith_app::platform::accounts::Account, n: usize) -> Address {
    Address {
        name: a.display_name.clone(),
        phone: a.phone.clone().unwrap_or_default(),
        province: "四川省".into(),
        city: "成都市".into(),
        district: "武侯区".into(),
        detail: format!("天府大道中段 {} 号", 100 + n),
    }
}

/// The order states the first dozen orders do not reach: picked up (the clerk redeemed the
/// code), cancelled by the buyer, refunded by the merchant, and completed (the fruit shop
/// has no after-sale window, so its delivered orders complete at once) with reviews.
async fn more_orders(
    app: &App,
    members: &[kith_app::platform::accounts::Account],
    liquor: &Shop<'_>,
    fruit: (&Principal, &str, &[String]),
) -> anyhow::Result<()> {
    let buy = |who: Principal,
               merchant: String,
               sku: String,
               address: Option<Address>,
               store: Option<String>| async move {
        app.checkout(
            &who,
            &crate::typed(&merchant),
            CheckoutInput {
                coupon_id: None,
                points: None,
                delivery: if store.is_some() {
                    DeliveryMethod::Pickup
                } else {
                    DeliveryMethod::Shipping
                },
                pickup_store_id: store,
                address,
                address_id: None,
                items: Some(vec![(sku, 1)]),
            },
        )
        .await
        .map_err(e)
    };
    // Picked up: paid, packed, and the clerk redeems the buyer's code at the counter.
    for (n, m) in members[12..14].iter().enumerate() {
        let who = principal(m);
        top_up(app, &who, 200_000).await?;
        let o = buy(
            who.clone(),
            liquor.id.into(),
            liquor.skus[2].clone(),
            None,
            Some(liquor.store.into()),
        )
        .await?;
        app.pay_with_wallet(&who, &o.id).await.map_err(e)?;
        app.mark_ready_for_pickup(liquor.owner, &crate::typed(liquor.id), &o.id)
            .await
            .map_err(e)?;
        let code = app
            .get_order(&who, &o.id)
            .await
            .map_err(e)?
            .pickup_code
            .ok_or_else(|| anyhow::anyhow!("demo: no pickup code on order {n}"))?;
        app.redeem_pickup(liquor.clerk, &crate::typed(liquor.store), &code)
            .await
            .map_err(e)?;
    }
    // Cancelled by the buyer before paying.
    let who = principal(&members[14]);
    let o = buy(
        who.clone(),
        liquor.id.into(),
        liquor.skus[1].clone(),
        Some(demo_address(&members[14], 14)),
        None,
    )
    .await?;
    app.cancel_order(&who, &o.id).await.map_err(e)?;
    // Refunded in full by the merchant before shipping (out of the buyer's wallet and back).
    let who = principal(&members[15]);
    top_up(app, &who, 200_000).await?;
    let o = buy(
        who.clone(),
        liquor.id.into(),
        liquor.skus[0].clone(),
        Some(demo_address(&members[15], 15)),
        None,
    )
    .await?;
    app.pay_with_wallet(&who, &o.id).await.map_err(e)?;
    app.refund_order(
        liquor.owner,
        &crate::typed(liquor.id),
        &o.id,
        None,
        "买家拍错规格，协商退款",
    )
    .await
    .map_err(e)?;
    // Fresh fruit, delivered and completed at once, then reviewed.
    const REVIEWS: &[(i64, &str)] = &[
        (5, "橙子很甜，孩子一口气吃了三个，会回购。"),
        (4, "蓝莓新鲜，个头再大点就更好了。"),
        (5, "群里宝妈推荐的，果然没踩雷。"),
        (5, "减肥期间的水果担当，低卡又好吃。"),
        (3, "物流慢了一天，品质不错。"),
        (5, "送爸妈的，老人说比超市的好。"),
    ];
    let (owner, fruit_id, skus) = fruit;
    for (n, (rating, body)) in REVIEWS.iter().enumerate() {
        let m = &members[16 + n];
        let who = principal(m);
        top_up(app, &who, 100_000).await?;
        let o = buy(
            who.clone(),
            fruit_id.into(),
            skus[n % skus.len()].clone(),
            Some(demo_address(m, 16 + n)),
            None,
        )
        .await?;
        app.pay_with_wallet(&who, &o.id).await.map_err(e)?;
        app.ship_order(
            owner,
            &crate::typed(fruit_id),
            &o.id,
            "sf",
            &format!("SF{:010}", 3_000_000 + n),
        )
        .await
        .map_err(e)?;
        app.confirm_receipt(&who, &o.id).await.map_err(e)?;
        // The after-sale window is zero days: the completion job is due now.
        kith_app::commerce::fulfilment::run_timer(
            app,
            kith_app::commerce::fulfilment::Timer::Complete,
            o.id.to_string(),
        )
        .await
        .map_err(|err| anyhow::anyhow!("demo: complete order: {err}"))?;
        app.create_review(
            &who,
            &crate::typed(&o.id),
            1,
            kith_app::social::reviews::ReviewInput {
                rating: *rating,
                body: (*body).into(),
                images: Vec::new(),
            },
        )
        .await
        .map_err(e)?;
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
    ("减肥平台期怎么破？我加了跳绳，一周又掉了 2 斤。", 2),
    ("晚上嘴馋就吃蓝莓，减肥也能吃得开心。", 2),
    (
        "减肥餐：鸡胸肉 + 西兰花 + 糙米饭，吃了三个月不腻的做法分享。",
        2,
    ),
    (
        "宝宝辅食第二阶段：加了蛋黄和胡萝卜泥，注意一次只加一种新食物。",
        1,
    ),
    (
        "宝宝辅食工具推荐：研磨碗、硅胶勺、分装盒，都是群里宝妈推荐的。",
        1,
    ),
    ("宝宝 8 个月，手指食物开始练起来，蒸软的红薯条很好抓。", 1),
    ("白酒存放：瓶子竖放、避光、恒温，酱香酒越放越香。", 0),
    ("中秋家宴开了一瓶五年窖藏，长辈们都说好喝。", 0),
    ("第一次喝酱香白酒，小酒版刚好，不上头。", 0),
];

/// Friendships, communities with an invite chain (the fission tree), and posts about 减肥,
/// 宝宝辅食 and 白酒 with tagged products, likes and comments. Returns the id of the liquor
/// shop's community (贵阳酱香品鉴群).
async fn social(
    app: &App,
    members: &[kith_app::platform::accounts::Account],
    liquor: (&Principal, &str, &[String]),
    baby: (&Principal, &str, &[String]),
) -> anyhow::Result<String> {
    use kith_app::social::communities::{CommunityInput, JoinPolicy};
    use kith_app::social::posts::{NewPost, Visibility};
    let who: Vec<Principal> = members
        .iter()
        .map(|m| Principal {
            account_id: m.id.to_string(),
            is_platform_admin: false,
        })
        .collect();
    // Each member follows the next three; every other pair follows back: friends.
    for i in 0..who.len() {
        for d in 1..=3 {
            let j = (i + d) % who.len();
            app.follow(&who[i], &who[j].id()).await.map_err(e)?;
            if (i + d) % 2 == 0 {
                app.follow(&who[j], &who[i].id()).await.map_err(e)?;
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
    for k in 0..(who.len() / 2 - 1).min(30) {
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
                    community_id: community_id.as_ref().map(ToString::to_string),
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
    Ok(wine.id.to_string())
}

/// Products with one SKU each (name, description, code, spec, list price, shareholder
/// price) and a picture drawn for each, active, with stock in every location of the merchant. Returns the product ids
/// and the SKU ids.
async fn catalog(
    app: &App,
    owner: &Principal,
    merchant_id: &str,
    items: &[(&str, &str, &str, &str, i64, i64)],
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let merchant_id: &kith_app::platform::ids::MerchantId = &crate::typed(merchant_id);
    let locations = app.list_locations(owner, merchant_id).await.map_err(e)?;
    let mut products = Vec::new();
    let mut skus = Vec::new();
    // Each product filed under its category (made the first time the shop needs it), so
    // the home page's categories link to what is on sale.
    let mut categories: Vec<(&str, String)> = Vec::new();
    for (n, (name, desc, code, spec, list, shareholder)) in items.iter().enumerate() {
        let category = demo_category(code);
        let category_id = match categories.iter().find(|(n, _)| *n == category) {
            Some((_, id)) => id.clone(),
            None => {
                let made = app
                    .create_category(owner, merchant_id, category)
                    .await
                    .map_err(e)?;
                categories.push((category, made.id.clone()));
                made.id
            }
        };
        // Pictures drawn for the product, uploaded by the owner like any product photo: the
        // shop's first product has a gallery (the main picture and two more views).
        let views: &[&str] = if n == 0 {
            &["", "·细节", "·包装"]
        } else {
            &[""]
        };
        let mut images = Vec::with_capacity(views.len());
        for view in views {
            let picture = app
                .upload_media(
                    owner,
                    crate::demo_pictures::product_png(&format!("{code}{view}")),
                )
                .await
                .map_err(e)?;
            images.push(format!("/media/{}", picture.id));
        }
        let input = ProductInput {
            name: Some((*name).into()),
            description: Some((*desc).into()),
            category_id: Some(Some(category_id)),
            images: Some(images),
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
                sku_id: sku.id.to_string(),
                location_id: l.id.clone(),
                delta: 200,
                note: Some("期初库存".into()),
            };
            app.adjust_stock(owner, merchant_id, adj).await.map_err(e)?;
        }
        skus.push(sku.id.to_string());
        products.push(p.id.to_string());
    }
    Ok((products, skus))
}

/// The category a demo product is filed under, by its SKU code.
fn demo_category(code: &str) -> &'static str {
    match code {
        c if c.starts_with("JX") => "白酒",
        "RICE-6M" => "宝宝辅食",
        "DIAPER-M" => "纸尿裤",
        "FOLIC-90" => "孕产营养",
        _ => "新鲜水果",
    }
}

/// Tops up a wallet the way the sandbox gateway does: a signed callback to the payment
/// webhook's code path.
pub(crate) async fn top_up(app: &App, who: &Principal, fen: i64) -> anyhow::Result<()> {
    let p = app.start_topup(who, fen).await.map_err(e)?;
    let body = serde_json::to_vec(&kith_app::commerce::payments::CallbackBody {
        event_id: format!("demo-{}", p.id),
        payment_id: p.id.to_string(),
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

/// The demo's opinion leader (KOL) at the liquor shop: member index (phone
/// [`member_phone`]`(KOL)`). Their bound members buy; one withdrawal of theirs was paid out.
pub const KOL: usize = 40;
/// A distributor bound to the KOL with members of their own bound to them: an available
/// balance, and a withdrawal awaiting the platform admin's approval.
pub const DISTRIBUTOR: usize = 42;
/// The liquor shop's withdrawal minimum (¥50).
pub const WITHDRAW_MIN_FEN: i64 = 5_000;
/// What the distributor asked to withdraw (waiting for approval).
pub const PENDING_WITHDRAWAL_FEN: i64 = 5_000;

/// The phone (login) of demo member `i`.
pub fn member_phone(i: usize) -> String {
    format!("139{i:08}")
}

const HOUR_MS: i64 = 3600 * 1000;

/// A clock `by_ms` behind another: the money-sharing story happened over the past weeks.
#[derive(Debug)]
struct Earlier {
    clock: std::sync::Arc<dyn Clock>,
    by_ms: i64,
}

impl Clock for Earlier {
    fn now_ms(&self) -> i64 {
        self.clock.now_ms() - self.by_ms
    }
}

/// The app as it was `hours` ago: the same storage and settings, the clock that much behind
/// (with its own rate-limit windows, which must not see time run backwards). Everything
/// still goes through the use cases; only "now" differs, as in the tests' clock.
fn hours_ago(app: &App, hours: i64) -> App {
    App {
        clock: std::sync::Arc::new(Earlier {
            clock: app.clock.clone(),
            by_ms: hours * HOUR_MS,
        }),
        limits: Default::default(),
        ..app.clone()
    }
}

struct MoneyShop<'a> {
    shop: &'a Shop<'a>,
    products: &'a [String],
    /// The shop's community (贵阳酱香品鉴群), where links are shared.
    community: &'a str,
}

/// One order at the shop by demo member `i`, shipped to their address in 贵阳 or picked up
/// at the shop's store.
async fn order_at(
    app: &App,
    members: &[kith_app::platform::accounts::Account],
    i: usize,
    m: &MoneyShop<'_>,
    items: Vec<(String, i64)>,
    pickup: bool,
) -> anyhow::Result<kith_app::commerce::orders::Order> {
    let a = &members[i];
    let address = Address {
        name: a.display_name.clone(),
        phone: a.phone.clone().unwrap_or_default(),
        province: "贵州省".into(),
        city: "贵阳市".into(),
        district: "云岩区".into(),
        detail: format!("中华北路 {} 号", 200 + i),
    };
    app.checkout(
        &principal(a),
        &crate::typed(m.shop.id),
        CheckoutInput {
            coupon_id: None,
            points: None,
            delivery: if pickup {
                DeliveryMethod::Pickup
            } else {
                DeliveryMethod::Shipping
            },
            pickup_store_id: pickup.then(|| m.shop.store.to_owned()),
            address: (!pickup).then_some(address),
            address_id: None,
            items: Some(items),
        },
    )
    .await
    .map_err(e)
}

/// Visits `code` as member `i` signed in; they must end up bound to the sharer.
async fn follow_link(
    app: &App,
    members: &[kith_app::platform::accounts::Account],
    i: usize,
    code: &str,
) -> anyhow::Result<()> {
    let v = app
        .visit_share_link(Some(&principal(&members[i])), code)
        .await
        .map_err(e)?;
    anyhow::ensure!(
        !v.bound_at.is_empty(),
        "demo: member {i} was not bound through link {code}"
    );
    Ok(())
}

/// Money sharing at the liquor shop, told over the past 25 days: a commission plan (L1 10 %,
/// L2 3 %, rebate 2 %, cap 20 %, permanent binding, ¥50 minimum withdrawal); the KOL
/// shares a product into the shop's community and six members follow the link (bound to
/// the KOL); the distributor shares the community and four more follow (bound to the
/// distributor, so the KOL earns L2 on them); another shares a product and two follow.
/// Orders then leave commission in every state: available (completed weeks ago), frozen
/// (delivered or picked up inside the after-sale window), pending (paid, not delivered;
/// one through content credit on the KOL's post), reversed in full and in part by refunds,
/// and planned (an order not paid yet). The KOL withdrew once (paid out); the distributor's
/// withdrawal waits for the admin.
async fn money_sharing(
    app: &App,
    members: &[kith_app::platform::accounts::Account],
    admin: &Principal,
    m: &MoneyShop<'_>,
) -> anyhow::Result<()> {
    use kith_app::money::sharing::LinkKind;
    use kith_app::social::posts::{NewPost, Visibility};
    let shop = m.shop;
    let p = |i: usize| principal(&members[i]);
    let sku = |k: usize| shop.skus[k].clone();
    let (kol, dist) = (p(KOL), p(DISTRIBUTOR));
    const DAY: i64 = 24;

    let t = hours_ago(app, 25 * DAY);
    t.set_commission_plan(
        shop.owner,
        &kith_app::platform::ids::MerchantId::parse_or_404(shop.id).map_err(e)?,
        kith_domain::commission::PlanInput {
            levels_bp: vec![1000, 300],
            rebate_bp: 200,
            group_buy_commission: false,
            group_leader_bp: 0,
            cap_bp: Some(2000),
            binding_mode: "permanent".into(),
            binding_days: None,
            attribution_window_days: Some(7),
            withdraw_min_fen: Some(WITHDRAW_MIN_FEN),
            withdraw_daily_limit_fen: Some(200_000),
        },
    )
    .await
    .map_err(e)?;

    // The KOL shares the 十五年 into the community; friends follow the link.
    let t = hours_ago(app, 24 * DAY);
    let link = t
        .create_share_link(&kol, LinkKind::Product, &m.products[0])
        .await
        .map_err(e)?;
    let kol_post = t
        .create_post(
            &kol,
            NewPost {
                body: format!(
                    "十五年坤沙到货了，入口柔绵、空杯留香，家宴拿得出手。想试的朋友点我的链接：{}",
                    link.path
                ),
                visibility: Visibility::Community,
                community_id: Some(m.community.to_owned()),
                images: Vec::new(),
                tags: vec![sku(0)],
            },
        )
        .await
        .map_err(e)?;
    for i in [DISTRIBUTOR, 44, 46, 48, 50, 52] {
        follow_link(&t, members, i, &link.code).await?;
    }
    for _ in 0..5 {
        // Readers who looked without signing in (the funnel's first step).
        t.visit_share_link(None, &link.code).await.map_err(e)?;
    }

    // The distributor brings friends into the community; another member shares the 五年.
    let t = hours_ago(app, 22 * DAY);
    let group = t
        .create_share_link(&dist, LinkKind::Community, m.community)
        .await
        .map_err(e)?;
    t.create_post(
        &dist,
        NewPost {
            body: format!(
                "酱香品鉴群每周都有小酒品鉴，喜欢白酒的朋友一起来：{}",
                group.path
            ),
            visibility: Visibility::Public,
            community_id: None,
            images: Vec::new(),
            tags: Vec::new(),
        },
    )
    .await
    .map_err(e)?;
    for i in [56, 58, 60, 62] {
        follow_link(&t, members, i, &group.code).await?;
    }
    let five = t
        .create_share_link(&p(44), LinkKind::Product, &m.products[1])
        .await
        .map_err(e)?;
    for i in [64, 66] {
        follow_link(&t, members, i, &five.code).await?;
    }
    let t = hours_ago(app, 21 * DAY);
    for i in [DISTRIBUTOR, 44, 46, 48, 50, 52, 54, 56, 58, 60, 62, 64] {
        top_up(&t, &p(i), 300_000).await?;
    }

    // Available: bought three weeks ago, delivered, the 7-day after-sale window closed.
    let done: [(usize, Vec<(String, i64)>); 5] = [
        (56, vec![(sku(0), 1)]),
        (58, vec![(sku(1), 2)]),
        (44, vec![(sku(0), 1)]),
        (DISTRIBUTOR, vec![(sku(1), 2)]),
        (46, vec![(sku(2), 3)]),
    ];
    let t = hours_ago(app, 20 * DAY);
    let mut completed = Vec::new();
    for (i, items) in done {
        let o = order_at(&t, members, i, m, items, false).await?;
        t.pay_with_wallet(&p(i), &o.id).await.map_err(e)?;
        completed.push((i, o.id));
    }
    let t = hours_ago(app, 19 * DAY);
    for (i, id) in &completed {
        t.ship_order(
            shop.owner,
            &crate::typed(shop.id),
            id,
            "sf",
            &format!("SF{:010}", 4_000_000 + i),
        )
        .await
        .map_err(e)?;
    }
    let t = hours_ago(app, 17 * DAY);
    for (i, id) in &completed {
        t.confirm_receipt(&p(*i), id).await.map_err(e)?;
    }
    let t = hours_ago(app, 9 * DAY);
    for (i, id) in &completed {
        kith_app::commerce::fulfilment::run_timer(
            &t,
            kith_app::commerce::fulfilment::Timer::Complete,
            id.to_string(),
        )
        .await
        .map_err(|err| anyhow::anyhow!("demo: complete order: {err}"))?;
        let review = match i {
            56 => (5, "朋友推荐买的十五年，开瓶满屋酱香，值这个价。"),
            44 => (4, "口感醇厚，回甘明显，就是包装可以再精致点。"),
            _ => continue,
        };
        t.create_review(
            &p(*i),
            &crate::typed(id),
            1,
            kith_app::social::reviews::ReviewInput {
                rating: review.0,
                body: review.1.into(),
                images: Vec::new(),
            },
        )
        .await
        .map_err(e)?;
    }

    // The KOL withdrew once: approved by the admin, paid out by the gateway.
    let t = hours_ago(app, 8 * DAY);
    let w = t
        .request_withdrawal(&kol, &kol.id(), shop.id, 10_000)
        .await
        .map_err(e)?;
    let t = hours_ago(app, 7 * DAY);
    t.approve_withdrawal(admin, &w.id).await.map_err(e)?;
    payout(&t, &w.id, 10_000).await?;

    // Frozen: delivered two days ago, and picked up at the store yesterday.
    let t = hours_ago(app, 4 * DAY);
    let delivered = order_at(&t, members, 60, m, vec![(sku(0), 1)], false).await?;
    t.pay_with_wallet(&p(60), &delivered.id).await.map_err(e)?;
    hours_ago(app, 3 * DAY)
        .ship_order(
            shop.owner,
            &crate::typed(shop.id),
            &delivered.id,
            "sf",
            "SF0004000060",
        )
        .await
        .map_err(e)?;
    hours_ago(app, 2 * DAY)
        .confirm_receipt(&p(60), &delivered.id)
        .await
        .map_err(e)?;
    let t = hours_ago(app, 2 * DAY);
    let pickup = order_at(&t, members, 48, m, vec![(sku(1), 1)], true).await?;
    t.pay_with_wallet(&p(48), &pickup.id).await.map_err(e)?;
    t.mark_ready_for_pickup(shop.owner, &crate::typed(shop.id), &pickup.id)
        .await
        .map_err(e)?;
    let code = t
        .get_order(&p(48), &pickup.id)
        .await
        .map_err(e)?
        .pickup_code
        .ok_or_else(|| anyhow::anyhow!("demo: no pickup code"))?;
    hours_ago(app, DAY)
        .redeem_pickup(shop.clerk, &crate::typed(shop.store), &code)
        .await
        .map_err(e)?;

    // Reversed: one order refunded in full, one in part (two bottles of the 小酒).
    let t = hours_ago(app, 3 * DAY);
    let full = order_at(&t, members, 50, m, vec![(sku(0), 1)], false).await?;
    t.pay_with_wallet(&p(50), &full.id).await.map_err(e)?;
    let part = order_at(&t, members, 52, m, vec![(sku(0), 1), (sku(2), 2)], false).await?;
    t.pay_with_wallet(&p(52), &part.id).await.map_err(e)?;
    let t = hours_ago(app, 2 * DAY);
    t.refund_order(
        shop.owner,
        &crate::typed(shop.id),
        &full.id,
        None,
        "买家改买五年窖藏，全额退款",
    )
    .await
    .map_err(e)?;
    let mini = part
        .lines
        .iter()
        .find(|l| l.sku_id == shop.skus[2])
        .map(|l| l.line_no)
        .ok_or_else(|| anyhow::anyhow!("demo: no 小酒 line"))?;
    t.refund_order(
        shop.owner,
        &crate::typed(shop.id),
        &part.id,
        Some(vec![(mini, 2)]),
        "小酒暂时缺货，退两瓶小酒的钱",
    )
    .await
    .map_err(e)?;

    // Pending: paid and not yet delivered — one in transit, one waiting to ship, and one
    // bought from the KOL's post (content credit binds the reader to the KOL).
    let t = hours_ago(app, 2 * DAY);
    let transit = order_at(&t, members, 64, m, vec![(sku(0), 1)], false).await?;
    t.pay_with_wallet(&p(64), &transit.id).await.map_err(e)?;
    hours_ago(app, DAY)
        .ship_order(
            shop.owner,
            &crate::typed(shop.id),
            &transit.id,
            "zto",
            "ZT0004000064",
        )
        .await
        .map_err(e)?;
    let t = hours_ago(app, DAY);
    let waiting = order_at(&t, members, 62, m, vec![(sku(1), 1)], false).await?;
    t.pay_with_wallet(&p(62), &waiting.id).await.map_err(e)?;
    let post = kith_app::platform::ids::PostId::parse_or_404(&kol_post.id).map_err(e)?;
    let v = t.visit_post_tag(&p(54), &post).await.map_err(e)?;
    anyhow::ensure!(
        !v.bound_at.is_empty(),
        "demo: the post's reader was not bound"
    );
    let content = order_at(&t, members, 54, m, vec![(sku(2), 2)], false).await?;
    t.pay_with_wallet(&p(54), &content.id).await.map_err(e)?;

    // Planned: an order placed just now and not paid yet.
    order_at(app, members, 66, m, vec![(sku(0), 1)], false).await?;

    // The distributor's withdrawal waits for the platform admin.
    app.request_withdrawal(&dist, &dist.id(), shop.id, PENDING_WITHDRAWAL_FEN)
        .await
        .map_err(e)?;
    Ok(())
}

/// The sandbox gateway reports a payout as paid: a signed callback, as it sends one.
async fn payout(app: &App, withdrawal_id: &str, fen: i64) -> anyhow::Result<()> {
    let body = serde_json::to_vec(&kith_app::money::withdrawals::PayoutCallback {
        event_id: format!("demo-payout-{withdrawal_id}"),
        withdrawal_id: withdrawal_id.to_owned(),
        status: "succeeded".into(),
        amount_fen: fen,
    })?;
    let sig = kith_domain::signature::sign(
        app.config.sandbox_secret.as_bytes(),
        app.now_ms() / 1000,
        &body,
    );
    app.payout_callback("sandbox", &sig, &body)
        .await
        .map_err(e)?;
    Ok(())
}
