//! The group-buy (拼团) pages over plain HTTP, as a browser without JavaScript uses them, on
//! both engines: a campaign page lists a joinable group; opening a group through the form
//! leads to the order to pay; once paid the group page (readable without logging in) shows
//! it forming with its seats and the time left, counting down with the clock; members join
//! through the forms; refusals (the leader joining their own group, a second seat, a full
//! group) come back on the page with the use case's words and 409; sharing shows the link
//! and its QR code; a group whose time ran out shows why it failed; "my group-buys" lists
//! the seats; the console creates a campaign (a bad value stays on the form with 422) and
//! ends it, and a member who is not staff gets 403.

use serde_json::{Value, json};

use crate::both_engines;
use crate::builders::Shop;
use crate::harness::{TestApp, User, address};
use crate::web::{Browser, Page};

both_engines!(
    members_open_join_and_fill_a_group_through_the_pages,
    a_group_whose_time_ran_out_shows_why_it_failed,
    the_console_starts_and_ends_campaigns,
);

const LIST: i64 = 12_800;
const GROUP: i64 = 9_900;

/// The delivery fields of the open/join forms: shipping to a valid address.
fn shipping() -> Vec<(&'static str, String)> {
    let a = address();
    let mut f = vec![("delivery", "shipping".to_owned())];
    for k in ["name", "phone", "province", "city", "district", "detail"] {
        f.push((k, a[k].as_str().expect("address field").to_owned()));
    }
    f
}

async fn submit_seat(b: &mut Browser<'_>, page: &str, action: &str) -> Page {
    let f = shipping();
    let form: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.submit(page, action, &form).await
}

/// The order id a seat form redirected to.
fn order_of(p: &Page) -> String {
    let to = p.location();
    to.strip_prefix("/orders/")
        .unwrap_or_else(|| panic!("not an order page: {to}"))
        .to_owned()
}

fn ends_in_days(t: &TestApp, days: i64) -> String {
    use kith_domain::Clock;
    kith_app::rfc3339(t.clock.now_ms() + days * 24 * 3600 * 1000)
}

async fn campaign(t: &TestApp, s: &Shop, body: Value) -> String {
    let mut b = json!({
        "sku_id": s.sku, "group_size": 3, "group_price_fen": GROUP, "ends_at": ends_in_days(t, 7),
        "stock_limit": 30, "title": "三人团 · 酱香",
    });
    for (k, v) in body.as_object().expect("object") {
        b[k] = v.clone();
    }
    t.post(
        &format!("/api/v1/merchants/{}/group-campaigns", s.merchant),
        Some(&s.owner.token),
        b,
    )
    .await
    .expect(201)["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn pay(t: &TestApp, u: &User, order: &str) {
    t.post(
        &format!("/api/v1/orders/{order}/pay"),
        Some(&u.token),
        json!({ "provider": "wallet" }),
    )
    .await
    .expect(200);
}

async fn member(t: &TestApp, name: &str) -> User {
    let u = t.register_member(name).await;
    t.top_up(&u, 50_000).await;
    u
}

async fn members_open_join_and_fill_a_group_through_the_pages(t: TestApp) {
    let s = t
        .shop()
        .name("拼团页面酒坊")
        .price(LIST)
        .stock(20)
        .build()
        .await;
    let cid = campaign(&t, &s, json!({ "leader_price_fen": 0 })).await;
    let leader = member(&t, "团长阿珍").await;
    let mut lb = Browser::login_user(&t, &leader).await;
    // The leader has a picture; who joins later has none (their initial is drawn).
    let pic = crate::worlds::upload(
        &t,
        Some(&leader.token),
        crate::worlds::small_png(9),
        "image/png",
        "me.png",
    )
    .await
    .expect(201)["id"]
        .as_str()
        .expect("media id")
        .to_owned();
    t.put(
        "/api/v1/me/avatar",
        Some(&leader.token),
        json!({ "media_id": pic }),
    )
    .await
    .expect(200);

    // The campaign: prices, 团长免单, seats left, nothing to join yet.
    let page = lb.get(&format!("/group-buys/{cid}")).await.expect(200);
    assert_eq!(page.text_of("group-price"), "¥99.00");
    assert_eq!(page.text_of("list-price"), "¥128.00");
    assert_eq!(page.text_of("leader-price"), "团长免单");
    assert_eq!(page.text_of("campaign-seats-left"), "30");
    assert!(
        !page.body.contains("class=\"joinable-group"),
        "{}",
        page.body
    );

    // Opening a group through the form goes to the order to pay.
    let opened = submit_seat(
        &mut lb,
        &format!("/group-buys/{cid}"),
        &format!("/group-buys/{cid}/open"),
    )
    .await
    .expect(303);
    let leader_order = order_of(&opened);
    lb.get(&format!("/orders/{leader_order}")).await.expect(200);
    let mine = t
        .get("/api/v1/me/groups", Some(&leader.token))
        .await
        .expect(200);
    let gid = mine[0]["group"]["id"]
        .as_str()
        .expect("group id")
        .to_owned();
    assert_eq!(mine[0]["order_id"], json!(leader_order));
    // The order leads to its group, as the group leads to the order.
    let order_page = lb.get(&format!("/orders/{leader_order}")).await.expect(200);
    assert!(
        order_page.has(&format!("href=\"/groups/{gid}\" id=\"order-group\"")),
        "{}",
        order_page.body
    );

    // Before the leader pays, anyone reads the group as opening, not joinable.
    let mut anon = Browser::new(&t);
    let g = anon.get(&format!("/groups/{gid}")).await.expect(200);
    assert!(g.body.contains("data-status=\"opening\""), "{}", g.body);
    assert!(!g.body.contains("id=\"time-left\""));
    pay(&t, &leader, &leader_order).await;

    // Paid: forming, 1 of 3 seats paid, the clock started; readable without logging in.
    let g = anon.get(&format!("/groups/{gid}")).await.expect(200);
    assert!(g.body.contains("data-status=\"forming\""), "{}", g.body);
    assert_eq!(g.text_of("seats-paid"), "1/3");
    assert_eq!(g.text_of("seats-left"), "2");
    assert_eq!(g.text_of("time-left"), "⏱ 还剩 24 小时 0 分");
    assert_eq!(g.text_of("group-leader"), "团长阿珍");
    // A pasted link to the group previews with its price and the seats still open.
    assert!(
        g.body
            .contains("<meta property=\"og:description\" content=\"拼团价 ¥99.00 · 剩余名额 2\">"),
        "{}",
        g.body
    );
    assert!(
        g.body
            .contains(&format!("<img class=\"avatar\" src=\"/media/{pic}/thumb\"")),
        "the members list shows the leader's picture: {}",
        g.body
    );
    assert!(g.body.contains("id=\"login-to-join\""));
    assert!(g.body.contains(&format!("/login?next=/groups/{gid}")));
    assert!(
        !g.body.contains("id=\"join-form\""),
        "anonymous: no join form"
    );
    // The seats as circles: one paid, two free.
    assert_eq!(g.body.matches("class=\"seat seat-paid\"").count(), 1);
    assert_eq!(g.body.matches("class=\"seat seat-free\"").count(), 2);
    // The seats fragment htmx refreshes, alone.
    let frag = anon.get(&format!("/groups/{gid}/seats")).await.expect(200);
    assert!(
        frag.body.contains("hx-trigger=\"every 20s\""),
        "{}",
        frag.body
    );
    assert!(!frag.body.contains("<html"));
    assert_eq!(frag.text_of("seats-paid"), "1/3");

    // A second group in the same campaign is over the per-member limit: the campaign page
    // says so, 409.
    let limit = submit_seat(
        &mut lb,
        &format!("/group-buys/{cid}"),
        &format!("/group-buys/{cid}/open"),
    )
    .await
    .expect(409);
    assert!(
        limit.text_of("refusal").contains("每人限购 1 件"),
        "{}",
        limit.body
    );
    assert!(
        limit.body.contains("id=\"campaign-title\""),
        "the campaign page itself"
    );

    // The time left counts down with the clock, in either language.
    t.clock.advance_secs(3600 + 12 * 60);
    let g = anon.get(&format!("/groups/{gid}")).await.expect(200);
    assert_eq!(g.text_of("time-left"), "⏱ 还剩 22 小时 48 分");
    let g = anon
        .get(&format!("/groups/{gid}?lang=en"))
        .await
        .expect(200);
    assert_eq!(g.text_of("time-left"), "⏱ 22 h 48 min left");

    // The campaign page lists the group as joinable.
    let page = lb.get(&format!("/group-buys/{cid}")).await.expect(200);
    assert!(
        page.body.contains("class=\"joinable-group"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("formaction=\"/groups/{gid}/join\""))
    );

    // The leader cannot join their own group: the page says why, 409.
    let refused = submit_seat(
        &mut lb,
        &format!("/groups/{gid}"),
        &format!("/groups/{gid}/join"),
    )
    .await
    .expect(409);
    assert!(
        refused.text_of("refusal").contains("你发起的团"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("id=\"seats\""),
        "the group page itself"
    );

    // The leader shares the group: the link and its QR code.
    let shared = lb
        .submit(
            &format!("/groups/{gid}"),
            &format!("/groups/{gid}/share"),
            &[],
        )
        .await
        .expect(303);
    let to = shared.location();
    assert!(to.starts_with(&format!("/groups/{gid}?share=")), "{to}");
    let share_page = lb.get(&to).await.expect(200);
    assert!(
        share_page.body.contains("id=\"share-url\""),
        "{}",
        share_page.body
    );
    assert!(share_page.body.contains("/s/"));
    assert!(share_page.body.contains("<svg"));

    // A friend joins through the campaign page's join button, then pays.
    let friend = member(&t, "好友小美").await;
    let mut fb = Browser::login_user(&t, &friend).await;
    let joined = submit_seat(
        &mut fb,
        &format!("/group-buys/{cid}"),
        &format!("/groups/{gid}/join"),
    )
    .await
    .expect(303);
    let friend_order = order_of(&joined);
    let o = t
        .get(
            &format!("/api/v1/orders/{friend_order}"),
            Some(&friend.token),
        )
        .await
        .expect(200);
    assert_eq!(o["total_fen"], GROUP);
    pay(&t, &friend, &friend_order).await;
    // A second seat in the same group is refused.
    let again = submit_seat(
        &mut fb,
        &format!("/groups/{gid}"),
        &format!("/groups/{gid}/join"),
    )
    .await
    .expect(409);
    assert!(again.text_of("refusal").contains("你已在这个团中"));

    // A stranger takes the last seat (not paid yet): the group is full for anyone else.
    let stranger = member(&t, "路人甲").await;
    let mut sb = Browser::login_user(&t, &stranger).await;
    let last = submit_seat(
        &mut sb,
        &format!("/groups/{gid}"),
        &format!("/groups/{gid}/join"),
    )
    .await
    .expect(303);
    let stranger_order = order_of(&last);
    let g = anon.get(&format!("/groups/{gid}")).await.expect(200);
    assert_eq!(g.text_of("seats-paid"), "2/3");
    assert_eq!(g.text_of("seats-left"), "0");
    assert_eq!(g.body.matches("class=\"seat seat-held\"").count(), 1);
    let late = member(&t, "迟到者").await;
    let mut xb = Browser::login_user(&t, &late).await;
    let csrf = xb.get("/me").await.expect(200).csrf();
    let mut form: Vec<(&str, String)> = shipping();
    form.push(("csrf", csrf));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let full = xb
        .post(&format!("/groups/{gid}/join"), &form)
        .await
        .expect(409);
    assert!(
        full.text_of("refusal").contains("这个团已满员"),
        "{}",
        full.body
    );

    // The last payment: the group succeeded, every seat paid, no clock any more.
    pay(&t, &stranger, &stranger_order).await;
    let g = anon.get(&format!("/groups/{gid}")).await.expect(200);
    assert!(g.body.contains("data-status=\"succeeded\""), "{}", g.body);
    assert_eq!(g.text_of("seats-paid"), "3/3");
    assert!(!g.body.contains("id=\"time-left\""));
    assert!(
        !g.body.contains("hx-trigger"),
        "a finished group is not polled"
    );
    for name in ["团长阿珍", "好友小美", "路人甲"] {
        assert!(g.body.contains(name), "{name}");
    }

    // My group-buys: the friend's seat with the group's state and the order.
    let me = fb.get("/me").await.expect(200);
    assert!(me.body.contains("href=\"/me/groups\""));
    let my = fb.get("/me/groups").await.expect(200);
    assert!(my.body.contains(&format!("/groups/{gid}")), "{}", my.body);
    assert!(my.body.contains(&format!("/orders/{friend_order}")));
    assert!(my.body.contains("拼团成功"));
    let none = xb.get("/me/groups").await.expect(200);
    assert!(none.body.contains("id=\"no-groups\""));
    // Anonymous: my group-buys asks to log in.
    let p = anon.get("/me/groups").await.expect(303);
    assert!(p.location().starts_with("/login"), "{}", p.location());
}

async fn a_group_whose_time_ran_out_shows_why_it_failed(t: TestApp) {
    let s = t
        .shop()
        .name("限时酒坊")
        .price(LIST)
        .stock(10)
        .build()
        .await;
    let cid = campaign(&t, &s, json!({ "duration_secs": 3600 })).await;
    let leader = member(&t, "急性子").await;
    let mut lb = Browser::login_user(&t, &leader).await;
    let opened = submit_seat(
        &mut lb,
        &format!("/group-buys/{cid}"),
        &format!("/group-buys/{cid}/open"),
    )
    .await
    .expect(303);
    pay(&t, &leader, &order_of(&opened)).await;
    let gid = t
        .get("/api/v1/me/groups", Some(&leader.token))
        .await
        .expect(200)[0]["group"]["id"]
        .as_str()
        .expect("group")
        .to_owned();
    let g = lb.get(&format!("/groups/{gid}")).await.expect(200);
    assert_eq!(g.text_of("time-left"), "⏱ 还剩 1 小时 0 分");
    assert!(
        g.body.contains("id=\"join-form\""),
        "a signed-in member sees the form"
    );

    t.clock.advance_secs(3601);
    // Past its time but not failed yet (the job has not run): joining is refused.
    let other = member(&t, "晚来一步").await;
    let mut ob = Browser::login_user(&t, &other).await;
    let r = submit_seat(
        &mut ob,
        &format!("/groups/{gid}"),
        &format!("/groups/{gid}/join"),
    )
    .await
    .expect(409);
    assert!(r.text_of("refusal").contains("这个团已超时"), "{}", r.body);
    kith_app::events::jobs::run_once(&t.app, "test")
        .await
        .expect("jobs");
    let g = Browser::new(&t)
        .get(&format!("/groups/{gid}"))
        .await
        .expect(200);
    assert!(g.body.contains("data-status=\"failed\""), "{}", g.body);
    assert!(
        g.text_of("fail-reason").contains("the time ran out"),
        "{}",
        g.body
    );
    assert!(!g.body.contains("id=\"join-form\""));
    // Joining a failed group is refused on the page.
    let r = submit_seat(
        &mut ob,
        &format!("/groups/{gid}"),
        &format!("/groups/{gid}/join"),
    )
    .await
    .expect(409);
    assert!(
        r.text_of("refusal").contains("这个团未能拼成"),
        "{}",
        r.body
    );
    // The leader was refunded: the seat shows as released.
    let my = lb.get("/me/groups").await.expect(200);
    assert!(my.body.contains("拼团失败"), "{}", my.body);
}

async fn the_console_starts_and_ends_campaigns(t: TestApp) {
    let s = t
        .shop()
        .name("后台拼团酒坊")
        .price(LIST)
        .stock(10)
        .build()
        .await;
    let mid = s.merchant.clone();
    let mut ob = Browser::login_user(&t, &s.owner).await;
    let page = ob
        .get(&format!("/console/{mid}/group-buys"))
        .await
        .expect(200);
    assert!(page.body.contains("id=\"no-campaigns\""));
    assert!(
        page.body.contains(&format!("value=\"{}\"", s.sku)),
        "the SKU to choose"
    );
    assert!(page.body.contains("id=\"nav-group-buys\""));

    let base = |group_price: &'static str, group_size: &'static str| {
        vec![
            ("sku_id", s.sku.clone()),
            ("title", "周末三人团".to_owned()),
            ("group_size", group_size.to_owned()),
            ("group_price", group_price.to_owned()),
            ("leader_price", "0".to_owned()),
            ("duration_hours", "48".to_owned()),
            ("ends_on", "2099-12-31".to_owned()),
            ("stock_limit", "30".to_owned()),
            ("per_member_limit", "2".to_owned()),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| f;
    // A price that is not an amount: the form comes back with the field marked, 422.
    for (f, field) in [
        (post(base("九十九", "3")), "group_price"),
        (post(base("99.50", "1")), "group_size"),
        (post(base("200", "3")), "group_price"),
        (
            post(
                base("99.50", "3")
                    .into_iter()
                    .map(|(k, v)| match k {
                        "duration_hours" => (k, "9999999999999999".to_owned()),
                        _ => (k, v),
                    })
                    .collect(),
            ),
            "duration_hours",
        ),
    ] {
        let form: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let bad = ob
            .submit(
                &format!("/console/{mid}/group-buys"),
                &format!("/console/{mid}/group-buys"),
                &form,
            )
            .await
            .expect(422);
        // Said in Chinese beside the field, without its internal name.
        assert!(
            !bad.text_of("form-error").contains(field),
            "{field}: {}",
            bad.body
        );
        assert!(
            bad.body
                .contains(&format!("id=\"{field}\" name=\"{field}\"")),
            "{}",
            bad.body
        );
        let at = bad
            .body
            .find(&format!("id=\"{field}\" name=\"{field}\""))
            .unwrap();
        let tag = &bad.body[at..at + bad.body[at..].find('>').unwrap()];
        assert!(tag.contains("aria-invalid=\"true\""), "{tag}");
        assert!(
            bad.body.contains("value=\"周末三人团\""),
            "the typed values stay"
        );
    }
    let none = t
        .get(&format!("/api/v1/merchants/{mid}/group-campaigns"), None)
        .await
        .expect(200);
    assert_eq!(
        none.as_array().map(Vec::len),
        Some(0),
        "nothing was created"
    );

    // A good form: created, listed with its seats.
    let f = base("99.50", "3");
    let mut form: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.push(("commission", "on"));
    form.push(("leader_rate", "5"));
    // Without a commission plan the use case refuses commission, naming the field.
    let no_plan = ob
        .submit(
            &format!("/console/{mid}/group-buys"),
            &format!("/console/{mid}/group-buys"),
            &form,
        )
        .await
        .expect(422);
    assert!(
        no_plan.text_of("form-error").contains("佣金"),
        "{}",
        no_plan.body
    );
    form.retain(|(k, _)| *k != "commission" && *k != "leader_rate");
    let ok = ob
        .submit(
            &format!("/console/{mid}/group-buys"),
            &format!("/console/{mid}/group-buys"),
            &form,
        )
        .await
        .expect(303);
    assert_eq!(
        ok.location(),
        format!("/console/{mid}/group-buys?created=1")
    );
    let list = t
        .get(&format!("/api/v1/merchants/{mid}/group-campaigns"), None)
        .await
        .expect(200);
    let k = &list[0];
    assert_eq!(k["title"], "周末三人团");
    assert_eq!(k["group_price_fen"], 9950);
    assert_eq!(k["leader_price_fen"], 0);
    assert_eq!(k["duration_secs"], 48 * 3600);
    assert_eq!(k["per_member_limit"], 2);
    assert_eq!(k["stock_limit"], 30);
    assert_eq!(k["commission"], false);
    assert_eq!(k["ends_at"].as_str().map(|e| &e[..10]), Some("2099-12-31"));
    let cid = k["id"].as_str().expect("id").to_owned();
    let page = ob.get(&ok.location()).await.expect(200);
    assert!(page.body.contains("周末三人团"));
    assert!(
        page.body.contains("<td class=\"seats-left\">30/30</td>"),
        "{}",
        page.body
    );

    // The product and shop pages lead to it; with one campaign the product goes straight there.
    let pp = ob
        .get(&format!("/shops/{mid}/products/{}", s.product))
        .await
        .expect(200);
    assert!(pp.body.contains("id=\"product-group-buys\""));
    let to = ob
        .get(&format!("/shops/{mid}/products/{}/group-buys", s.product))
        .await
        .expect(303);
    assert_eq!(to.location(), format!("/group-buys/{cid}"));
    let shop = ob.get(&format!("/shops/{mid}")).await.expect(200);
    assert!(
        shop.body
            .contains(&format!("href=\"/shops/{mid}/group-buys\""))
    );
    let running = ob
        .get(&format!("/shops/{mid}/group-buys"))
        .await
        .expect(200);
    assert!(running.body.contains(&format!("/group-buys/{cid}")));

    // A member who is not staff: 403 on the page and on the form.
    let stranger = t.register_member("路过的人").await;
    let mut mb = Browser::login_user(&t, &stranger).await;
    mb.get(&format!("/console/{mid}/group-buys"))
        .await
        .expect(403);
    let csrf = mb.get("/me").await.expect(200).csrf();
    let mut form2 = form.clone();
    form2.push(("csrf", &csrf));
    mb.post(&format!("/console/{mid}/group-buys"), &form2)
        .await
        .expect(403);
    mb.post(
        &format!("/console/{mid}/group-buys/{cid}/end"),
        &[("csrf", &csrf)],
    )
    .await
    .expect(403);

    // Ending it: no new groups; the page says ended, the shop lists no running campaign.
    let ended = ob
        .submit(
            &format!("/console/{mid}/group-buys"),
            &format!("/console/{mid}/group-buys/{cid}/end"),
            &[],
        )
        .await
        .expect(303);
    assert_eq!(
        ended.location(),
        format!("/console/{mid}/group-buys?done=ended")
    );
    let k = t
        .get(&format!("/api/v1/group-campaigns/{cid}"), None)
        .await
        .expect(200);
    assert_eq!(k["status"], "ended");
    let page = ob
        .get(&format!("/console/{mid}/group-buys"))
        .await
        .expect(200);
    assert!(page.body.contains("已结束"));
    let running = ob
        .get(&format!("/shops/{mid}/group-buys"))
        .await
        .expect(200);
    assert!(running.body.contains("id=\"no-campaigns\""));
    let campaign_page = ob.get(&format!("/group-buys/{cid}")).await.expect(200);
    assert!(campaign_page.body.contains("id=\"not-open\""));
}
