//! The merchant console's money-sharing and insight pages and the admin's withdrawal
//! approvals, over plain HTTP as a browser without JavaScript uses them, on both engines:
//! the analytics dashboard draws a shop's real figures as SVG with the numbers beside
//! them; the commission plan round-trips through its form and a refused value comes back
//! on the form with 422 and the field's message; tiers are created, renamed, assigned and
//! deleted; an order shows its commission split; the admin approves and rejects
//! withdrawals. Members who are not staff, other merchants' owners, managers where only the
//! owner may act, and non-admins are refused with 403 and change nothing.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{TestApp, id};
use crate::web::Browser;
use crate::worlds as sharing;

both_engines!(
    dashboard_draws_the_shops_figures,
    console_money_pages_are_for_the_merchants_staff,
    commission_plan_round_trips_and_refusals_stay_on_the_form,
    tiers_are_made_assigned_and_removed_through_the_console,
    admin_approves_and_rejects_withdrawals_through_the_page,
);

/// An open community of the merchant, owned by its owner: its id.
async fn community(t: &TestApp, s: &crate::builders::Shop, name: &str) -> String {
    id(&t
        .post(
            "/api/v1/communities",
            Some(&s.owner.token),
            json!({ "name": name, "join_policy": "open", "merchant_id": s.merchant }),
        )
        .await
        .expect(201))
}

async fn join(t: &TestApp, who: &crate::harness::User, cid: &str) {
    t.post(
        &format!("/api/v1/communities/{cid}/join"),
        Some(&who.token),
        json!({}),
    )
    .await
    .expect(200);
}

async fn dashboard_draws_the_shops_figures(t: TestApp) {
    // L1 10 %, L2 5 %, rebate 2 %; one product at ¥100.
    let s = t.shop().plan(sharing::standard_plan()).build().await;
    let mid = s.merchant.clone();
    let cid = community(&t, &s, "红茶<品鉴>群").await;
    let sharer = t.register_member("分享达人").await;
    let visitor = t.register_member("访客").await;
    let direct = t.register_member("直购客").await;
    for m in [&sharer, &visitor] {
        join(&t, m, &cid).await;
    }
    // The visitor follows the sharer's product link (and is bound to them) and buys one;
    // another member buys one directly.
    let (_, code) = sharing::product_link(&t, &s, &sharer).await;
    sharing::visit(&t, Some(&visitor), &code).await;
    let referred = t.order(&s, &visitor).paid().await;
    t.order(&s, &direct).paid().await;

    let mut b = Browser::login(&t, &s.owner.login).await;
    let console = b.get(&format!("/console/{mid}")).await.expect(200);
    assert!(
        console
            .body
            .contains(&format!("href=\"/console/{mid}/insight\"")),
        "the console nav links the dashboard"
    );
    let p = b.get(&format!("/console/{mid}/insight")).await.expect(200);
    let body = p.compact();
    // Charts are inline SVG with a title, no inline style, no NaN.
    assert!(body.matches("<svg").count() >= 7, "{body}");
    assert!(body.contains("<title>"));
    assert!(!body.contains("style=") && !body.contains("NaN"), "{body}");
    // The community's name is escaped in the chart and the table.
    assert!(body.contains("红茶&lt;品鉴&gt;群") || body.contains("红茶&#60;品鉴&#62;群"));
    assert!(!body.contains("红茶<品鉴>群"));
    // Energy: only the visitor is active (a share visit and a referred purchase), and they
    // interacted with one fellow member (the sharer): M = 1, C = 1; no reviews anywhere,
    // so Q is the prior 3 / 5 = 0.6 → 0.6 × 1 × 1² = 0.6. Each factor has its chart.
    assert!(
        body.contains("<td>0.6</td><td>0.6</td><td>1</td><td>1</td></tr>"),
        "{body}"
    );
    for f in ["Q 产品质量", "M 活跃成员", "C 连接系数"] {
        let v = if f.starts_with('Q') { "0.6" } else { "1" };
        assert!(
            body.contains(&format!("<title>{f}: 红茶&lt;品鉴&gt;群 {v}</title>")),
            "{f}: {body}"
        );
    }
    // Orders: 2, one referred → 50 %; the pool is the owner, the sharer and the visitor,
    // one of whom brought an order → 33.33 %; nobody bought twice → 0 %.
    assert!(body.contains(r#"id="order-referral-rate">50 %<"#), "{body}");
    assert!(body.contains(r#"id="member-referral-rate">33.33 %<"#));
    assert!(body.contains(r#"id="repeat-rate">0 %<"#));
    assert!(body.contains(r#"id="pool-now">3<"#));
    // GMV by channel: ¥100 direct, ¥100 through the share link, half each.
    assert!(
        body.contains(
            r#"<tr class="channel-share"><td>分享链接</td><td>1</td><td>¥100.00</td><td>50 %</td></tr>"#
        ),
        "{body}"
    );
    assert!(body.contains(
        r#"<tr class="channel-direct"><td>直接购买</td><td>1</td><td>¥100.00</td><td>50 %</td></tr>"#
    ));
    assert!(body.contains("<title>各渠道成交额: 直接购买 ¥100.00, 分享链接 ¥100.00"));
    // The share funnel: one visit, no sign-up, one order of ¥100 by the sharer.
    assert!(
        body.contains(
            r#"<tr class="funnel-row"><td>分享达人</td><td>1</td><td>0</td><td>1</td><td>¥100.00</td></tr>"#
        ),
        "{body}"
    );
    // The funnel narrows: visits, the people behind them, their orders; sign-ups are said
    // beside its title, never as a step an order could outnumber.
    assert!(
        body.contains("访问 1<")
            && body.contains("访客 1 (100 %)")
            && body.contains("订单 1 (100 %)"),
        "{body}"
    );
    assert!(
        !body.contains("注册 0 (0 %)") && body.contains("分享漏斗 (成交额 ¥100.00 · 注册 0)"),
        "{body}"
    );
    // The binding tree: the sharer with the visitor under them → K = 1 / 2.
    assert!(body.contains(r#"<td class="k-factor">0.5</td>"#), "{body}");
    // Three members are too few to split the community.
    assert!(
        body.contains(r#"<span class="badge" id="split-suggested">暂不拆分</span>"#),
        "{body}"
    );
    // The KOL ranking names members of the pool.
    assert!(body.contains(r#"<tr class="kol-row"><td>1</td>"#), "{body}");
    // English too.
    let en = b
        .get(&format!("/console/{mid}/insight?lang=en&days=7"))
        .await
        .expect(200);
    assert!(en.body.contains("Share funnel") && en.body.contains("K-factor"));
    // A bad window is a 422 naming the field.
    let bad = b
        .get(&format!("/console/{mid}/insight?days=0"))
        .await
        .expect(422);
    assert!(
        bad.body.contains("请填写整数") && !bad.body.contains("window_days"),
        "{}",
        bad.body
    );

    // The referred order's commission split on the console order page: L1 10 % of ¥100.
    let oid = referred["id"].as_str().unwrap();
    let o = b
        .get(&format!("/console/{mid}/orders/{oid}"))
        .await
        .expect(200)
        .compact();
    assert!(o.contains(r#"id="split-channel">分享链接<"#), "{o}");
    assert!(
        o.contains(
            r#"<tr class="share"><td>分享达人</td><td>一级</td><td>10 %</td><td>¥100.00</td><td>¥10.00</td><td>¥0.00</td><td>待结算</td></tr>"#
        ),
        "{o}"
    );
    // The direct order earns no one anything.
    let direct_order = t
        .get(
            &format!("/api/v1/merchants/{mid}/orders"),
            Some(&s.owner.token),
        )
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["buyer_id"] == direct.id.as_str())
        .map(id)
        .expect("the direct order");
    let o = b
        .get(&format!("/console/{mid}/orders/{direct_order}"))
        .await
        .expect(200);
    assert!(
        o.body.contains(r#"id="split-channel">直接购买<"#),
        "{}",
        o.body
    );
    assert!(o.body.contains("这笔订单没有佣金"));
    // The distributors: the sharer with ¥10 pending and one member bound.
    let d = b
        .get(&format!("/console/{mid}/distributors"))
        .await
        .expect(200)
        .compact();
    assert!(
        d.contains(
            &format!(r#"<tr class="distributor"><td><a href="/console/{mid}/distributors/{}">分享达人</a></td><td class="num">¥10.00</td><td class="num">¥0.00</td><td class="num">¥0.00</td><td class="num">¥10.00</td><td class="num">1</td><td class="num">1</td></tr>"#, sharer.id)
        ),
        "{d}"
    );

    // The sharer's wallet at the shop: ¥10 pending, its line linked to the order.
    let w = b
        .get(&format!("/console/{mid}/distributors/{}", sharer.id))
        .await
        .expect(200)
        .compact();
    assert!(w.contains(r#"id="bal-pending">¥10.00<"#), "{w}");
    assert!(w.contains(r#"id="bal-available">¥0.00<"#));
    assert!(
        w.contains(&format!(
            r#"<td>待结算</td><td>¥10.00</td><td><a href="/console/{mid}/orders/{oid}">"#
        )),
        "{w}"
    );

    // A shop with nothing yet draws "no data" instead of charts of nothing.
    let (owner2, m2) = t.approved_merchant("空空小店").await;
    let mut b2 = Browser::login(&t, &owner2.login).await;
    // Another merchant's owner cannot read this shop's distributors.
    b2.get(&format!("/console/{mid}/distributors/{}", sharer.id))
        .await
        .expect(403);
    let empty = b2.get(&format!("/console/{m2}/insight")).await.expect(200);
    assert!(empty.body.contains("还没有数据"), "{}", empty.body);
    assert!(!empty.body.contains("NaN"));
    let d2 = b2
        .get(&format!("/console/{m2}/distributors"))
        .await
        .expect(200);
    assert!(d2.body.contains("还没有分销员"));
}

async fn console_money_pages_are_for_the_merchants_staff(t: TestApp) {
    let s = t.shop().plan(sharing::standard_plan()).build().await;
    let mid = s.merchant.clone();
    let pages = ["insight", "commissions", "tiers", "distributors"];
    let plan_form = [
        ("l1", "20"),
        ("l2", "5"),
        ("rebate", "0"),
        ("group_leader", "0"),
        ("cap", "30"),
        ("binding_mode", "permanent"),
    ];

    // A member who is not staff.
    let member = t.register_member("普通会员").await;
    let mut b = Browser::login(&t, &member.login).await;
    for p in pages {
        b.get(&format!("/console/{mid}/{p}")).await.expect(403);
    }
    b.submit("/", &format!("/console/{mid}/commissions"), &plan_form)
        .await
        .expect(403);
    b.submit(
        "/",
        &format!("/console/{mid}/tiers"),
        &[("code", "vip"), ("name", "VIP"), ("rank", "1")],
    )
    .await
    .expect(403);

    // Another merchant's owner.
    let other = t.shop().plan(sharing::standard_plan()).build().await;
    let mut o = Browser::login(&t, &other.owner.login).await;
    for p in pages {
        o.get(&format!("/console/{mid}/{p}")).await.expect(403);
    }
    o.submit(
        &format!("/console/{}/commissions", other.merchant),
        &format!("/console/{mid}/commissions"),
        &plan_form,
    )
    .await
    .expect(403);

    // The owner's own forms still need the session's token and a same-site request.
    let mut owner = Browser::login(&t, &s.owner.login).await;
    let page = format!("/console/{mid}/commissions");
    owner.get(&page).await.expect(200);
    owner.post(&page, &plan_form).await.expect(403);
    let csrf = owner.get(&page).await.expect(200).csrf();
    let mut forged = plan_form.to_vec();
    forged.push(("csrf", &csrf));
    let req = owner
        .client
        .post(format!("{}{page}", t.base))
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&forged).unwrap());
    owner.send(req).await.expect(403);

    // A manager reads the plan but only the owner may change it: the use case's 403.
    let manager = t.manager(&s.owner, &mid).await;
    let mut m = Browser::login(&t, &manager.login).await;
    for p in pages {
        m.get(&format!("/console/{mid}/{p}")).await.expect(200);
    }
    let refused = m
        .submit(
            &format!("/console/{mid}/commissions"),
            &format!("/console/{mid}/commissions"),
            &plan_form,
        )
        .await
        .expect(403);
    assert!(refused.body.contains("error-detail"));

    // A clerk is not staff of the console.
    let store = t.store(&s.owner, &mid, "观山湖店").await;
    let clerk = t.clerk(&s.owner, &mid, &store).await;
    let mut c = Browser::login(&t, &clerk.login).await;
    c.get(&format!("/console/{mid}/commissions"))
        .await
        .expect(403);

    // Nothing changed: the plan is still L1 10 %.
    let plan = t
        .get(&format!("/api/v1/merchants/{mid}/commission-plan"), None)
        .await
        .expect(200);
    assert_eq!(plan["levels_bp"], json!([1000, 500]), "{plan}");
}

async fn commission_plan_round_trips_and_refusals_stay_on_the_form(t: TestApp) {
    let shop = t
        .shop()
        .name("分佣酒坊")
        .product("分佣酒坊的酒")
        .price(10_000)
        .stock(10)
        .build()
        .await;
    let mid = shop.merchant.clone();
    let page = format!("/console/{mid}/commissions");
    let mut b = Browser::login(&t, &shop.owner.login).await;

    // No plan yet: the form starts from the defaults.
    let first = b.get(&page).await.expect(200);
    assert!(first.body.contains(r#"id="no-plan""#));
    t.get(&format!("/api/v1/merchants/{mid}/commission-plan"), None)
        .await
        .expect(404);

    let saved = b
        .submit(
            &page,
            &page,
            &[
                ("l1", "10"),
                ("l2", "5.5"),
                ("rebate", "2"),
                ("group_buy_commission", "on"),
                ("group_leader", "3"),
                ("cap", "25"),
                ("binding_mode", "expiring"),
                ("binding_days", "45"),
                ("window_days", "3"),
                ("withdraw_min", "20"),
                ("withdraw_daily", "800.50"),
            ],
        )
        .await
        .expect(303);
    assert_eq!(saved.location(), format!("{page}?saved=1"));
    let plan = t
        .get(&format!("/api/v1/merchants/{mid}/commission-plan"), None)
        .await
        .expect(200);
    assert_eq!(plan["levels_bp"], json!([1000, 550]), "{plan}");
    assert_eq!(plan["rebate_bp"], 200);
    assert_eq!(plan["group_buy_commission"], true);
    assert_eq!(plan["group_leader_bp"], 300);
    assert_eq!(plan["cap_bp"], 2500);
    assert_eq!(plan["binding_mode"], "expiring");
    assert_eq!(plan["binding_days"], 45);
    assert_eq!(plan["attribution_window_days"], 3);
    assert_eq!(plan["withdraw_min_fen"], 2000);
    assert_eq!(plan["withdraw_daily_limit_fen"], 80050);
    // The page shows what was saved.
    let shown = b.get(&format!("{page}?saved=1")).await.expect(200);
    for v in [
        r#"name="l1" inputmode="decimal" value="10""#,
        r#"name="l2" inputmode="decimal" value="5.5""#,
        r#"name="cap" inputmode="decimal" value="25""#,
        r#"name="binding_days" inputmode="numeric" value="45""#,
        r#"name="withdraw_daily" inputmode="decimal" value="800.50""#,
        r#"value="expiring" selected"#,
        r#"value="on" checked"#,
    ] {
        assert!(shown.body.contains(v), "{v}: {}", shown.body);
    }
    assert!(shown.body.contains(r#"class="flash""#));

    // Rates over the cap: 422, the field's message on the form, the typed values kept.
    let over = b
        .submit(
            &page,
            &page,
            &[
                ("l1", "20"),
                ("l2", "10"),
                ("rebate", "0"),
                ("group_leader", "0"),
                ("cap", "25"),
                ("binding_mode", "permanent"),
            ],
        )
        .await
        .expect(422);
    assert!(over.body.contains(r#"id="form-error""#), "{}", over.body);
    assert!(
        over.body.contains("各项比例合计 30%，超过了上限 25%") && !over.body.contains(" bp"),
        "{}",
        over.body
    );
    assert!(
        over.body
            .contains(r#"name="l1" inputmode="decimal" value="20" aria-invalid="true""#),
        "{}",
        over.body
    );
    // Not a number: 422 naming the field.
    let nan = b
        .submit(&page, &page, &[("l1", "十"), ("binding_mode", "permanent")])
        .await
        .expect(422);
    assert!(
        nan.body.contains("请填写百分比，最多两位小数") && !nan.body.contains("l1:"),
        "{}",
        nan.body
    );
    // A third level cannot even be typed; an unknown binding mode is refused.
    let mode = b
        .submit(&page, &page, &[("l1", "1"), ("binding_mode", "forever")])
        .await
        .expect(422);
    assert!(mode.body.contains("binding_mode"), "{}", mode.body);
    assert!(
        mode.body
            .contains(r#"id="binding_mode" name="binding_mode" aria-invalid="true""#)
    );
    // Refusals changed nothing.
    let plan = t
        .get(&format!("/api/v1/merchants/{mid}/commission-plan"), None)
        .await
        .expect(200);
    assert_eq!(plan["levels_bp"], json!([1000, 550]));

    // Switching to permanent binding with the days still filled in: the days are dropped.
    b.submit(
        &page,
        &page,
        &[
            ("l1", "10"),
            ("l2", "5.5"),
            ("cap", "25"),
            ("binding_mode", "permanent"),
            ("binding_days", "45"),
        ],
    )
    .await
    .expect(303);
    let plan = t
        .get(&format!("/api/v1/merchants/{mid}/commission-plan"), None)
        .await
        .expect(200);
    assert_eq!(plan["binding_mode"], "permanent", "{plan}");
    assert_eq!(plan["binding_days"], Value::Null);
    // A bad number of days for an expiring binding is refused on its field.
    let days = b
        .submit(
            &page,
            &page,
            &[
                ("l1", "10"),
                ("binding_mode", "expiring"),
                ("binding_days", "0"),
            ],
        )
        .await
        .expect(422);
    assert!(
        days.body
            .contains(r#"name="binding_days" inputmode="numeric" value="0" aria-invalid="true""#),
        "{}",
        days.body
    );

    // A product override within the cap, listed with the product's name.
    let o = b
        .submit(
            &page,
            &format!("{page}/overrides"),
            &[
                ("product_id", shop.product.as_str()),
                ("l1", "15"),
                ("l2", "0"),
                ("rebate", "1"),
                ("group_leader", "0"),
            ],
        )
        .await
        .expect(303);
    assert_eq!(o.location(), format!("{page}?saved=1"));
    let listed = b.get(&page).await.expect(200).compact();
    assert!(
        listed.contains(
            r#"<tr class="override"><td>分佣酒坊的酒</td><td>15</td><td>0</td><td>1</td><td>0</td></tr>"#
        ),
        "{listed}"
    );
    // Over the cap: an error page with 422.
    b.submit(
        &page,
        &format!("{page}/overrides"),
        &[("product_id", shop.product.as_str()), ("l1", "30")],
    )
    .await
    .expect(422);
}

async fn tiers_are_made_assigned_and_removed_through_the_console(t: TestApp) {
    let s = t.shop().plan(sharing::standard_plan()).build().await;
    let mid = s.merchant.clone();
    let buyer = t.register_member("老主顾").await;
    t.order(&s, &buyer).paid().await;
    let page = format!("/console/{mid}/tiers");
    let mut b = Browser::login(&t, &s.owner.login).await;

    let first = b.get(&page).await.expect(200);
    assert!(first.body.contains("还没有会员等级"));
    // The shop's latest members are offered to pick from.
    assert!(
        first.body.contains(&format!(
            r#"name="account_id" value="{}" required"#,
            buyer.id
        )) && first
            .body
            .contains(r#"<span class="pick-name">老主顾</span>"#),
        "{}",
        first.body
    );
    b.submit(
        &page,
        &page,
        &[("code", "vip"), ("name", "VIP会员"), ("rank", "10")],
    )
    .await
    .expect(303);
    // A bad code is a 422 naming the field.
    let bad = b
        .submit(
            &page,
            &page,
            &[("code", "VIP!"), ("name", "x"), ("rank", "1")],
        )
        .await
        .expect(422);
    assert!(bad.body.contains("code"), "{}", bad.body);
    let tiers = t
        .get(&format!("/api/v1/merchants/{mid}/tiers"), None)
        .await
        .expect(200);
    let vip = tiers
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["code"] == "vip")
        .map(id)
        .expect("the vip tier");

    // Renamed and re-ranked.
    b.submit(
        &page,
        &format!("{page}/{vip}"),
        &[("name", "黑金会员"), ("rank", "20")],
    )
    .await
    .expect(303);
    let p = b.get(&page).await.expect(200);
    assert!(
        p.body
            .contains(r#"<strong class="tier-name">黑金会员</strong>"#)
    );
    assert!(
        p.body.contains("<code>vip</code> · 级别（越大越高） 20"),
        "{}",
        p.body
    );

    // Assigned to the buyer: listed, and the buyer's tier says so.
    b.submit(
        &page,
        &format!("/console/{mid}/member-tiers"),
        &[("account_id", buyer.id.as_str()), ("tier_code", "vip")],
    )
    .await
    .expect(303);
    let p = b.get(&page).await.expect(200).compact();
    assert!(
        p.contains(r#"<tr class="tier-member"><td>老主顾</td><td>黑金会员</td>"#),
        "{p}"
    );
    let mine = t
        .get(
            &format!("/api/v1/merchants/{mid}/my-tier"),
            Some(&buyer.token),
        )
        .await
        .expect(200);
    assert_eq!(mine["tier_code"], "vip", "{mine}");

    // A tier someone holds cannot be deleted; once they are moved off it, it can.
    b.submit(&page, &format!("{page}/{vip}/delete"), &[])
        .await
        .expect(409);
    b.submit(
        &page,
        &format!("/console/{mid}/member-tiers"),
        &[("account_id", buyer.id.as_str()), ("tier_code", "")],
    )
    .await
    .expect(303);
    b.submit(&page, &format!("{page}/{vip}/delete"), &[])
        .await
        .expect(303);
    let p = b.get(&page).await.expect(200);
    assert!(!p.body.contains("黑金会员"));
    assert!(p.body.contains("还没有会员被设置等级"));
}

async fn admin_approves_and_rejects_withdrawals_through_the_page(t: TestApp) {
    let s = t.shop().plan(json!({ "levels_bp": [1000] })).build().await;
    let earner = t.register_member("提现达人").await;
    sharing::earn_available(&t, &s, &earner, 4_000).await;
    let url = format!("/api/v1/distributors/{}/withdrawals", earner.id);
    let ask = async |fen: i64| {
        id(&t
            .post(
                &url,
                Some(&earner.token),
                json!({ "merchant_id": s.merchant, "amount_fen": fen }),
            )
            .await
            .expect(201))
    };
    let w1 = ask(1_500).await;
    let w2 = ask(2_500).await;
    assert_eq!(
        sharing::balances(&t, &earner, &s.merchant).await,
        (0, 0, 0, 4_000)
    );

    // Not an admin: the page and its actions are refused, nothing moves.
    let mut m = Browser::login(&t, &earner.login).await;
    m.get("/admin").await.expect(403);
    m.submit("/", &format!("/admin/withdrawals/{w1}/approve"), &[])
        .await
        .expect(403);
    m.submit(
        "/",
        &format!("/admin/withdrawals/{w1}/reject"),
        &[("reason", "自己驳回")],
    )
    .await
    .expect(403);

    let admin = t.admin().await;
    let mut a = Browser::login(&t, &admin.login).await;
    let p = a.get("/admin").await.expect(200).compact();
    for w in [&w1, &w2] {
        assert!(p.contains(&format!(r#"id="wd-{w}""#)), "{p}");
    }
    // One row each: who, at which shop, how much.
    assert_eq!(
        p.matches("<td><strong>提现达人</strong></td><td>分享小铺")
            .count(),
        2,
        "the merchant is named: {p}"
    );
    for (fen, amount) in [(1500, "¥15.00"), (2500, "¥25.00")] {
        assert!(
            p.contains(&format!(
                "<td class=\"num price\" data-sort=\"{fen}\">{amount}</td>"
            )),
            "{p}"
        );
    }

    // A rejection needs a reason.
    a.submit(
        "/admin",
        &format!("/admin/withdrawals/{w1}/reject"),
        &[("reason", "")],
    )
    .await
    .expect(422);
    let r = a
        .submit(
            "/admin",
            &format!("/admin/withdrawals/{w1}/reject"),
            &[("reason", "账户信息不全")],
        )
        .await
        .expect(303);
    assert_eq!(r.location(), "/admin?done=rejected");
    let ap = a
        .submit("/admin", &format!("/admin/withdrawals/{w2}/approve"), &[])
        .await
        .expect(303);
    // The sandbox payout gateway takes over: its page pays it out (a real provider
    // reports by itself).
    assert_eq!(ap.location(), format!("/sandbox/payouts/{w2}"));
    let gateway = a.get(&ap.location()).await.expect(200);
    assert!(gateway.has("确认到账"), "{}", gateway.body);
    // Deciding twice is a conflict.
    a.submit("/admin", &format!("/admin/withdrawals/{w2}/approve"), &[])
        .await
        .expect(409);

    let get = async |w: &str| {
        t.get(&format!("/api/v1/withdrawals/{w}"), Some(&earner.token))
            .await
            .expect(200)
    };
    let r1 = get(&w1).await;
    assert_eq!(r1["status"], "rejected");
    assert_eq!(r1["note"], "账户信息不全");
    assert_eq!(get(&w2).await["status"], "paying");
    // The rejected money is back; the approved is on its way out.
    assert_eq!(
        sharing::balances(&t, &earner, &s.merchant).await,
        (0, 0, 1_500, 2_500)
    );
    let p = a.get("/admin").await.expect(200);
    assert!(p.body.contains(r#"id="no-withdrawals""#), "{}", p.body);
    sharing::audit_clean(&t).await;
}
