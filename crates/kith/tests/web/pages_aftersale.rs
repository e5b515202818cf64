//! The after-sale pages over plain HTTP, as a browser without JavaScript uses them, on both
//! engines: the buyer finds 申请售后 on the order and on its line, a refused form comes back
//! with what was typed and 422, the request is filed; the merchant sees it in the console's
//! queue with its deadline, an agreement without the confirmation ticked is refused on the
//! page, then agreed; the buyer sees it refunded; the admin's arbitration page is the
//! admin's only.

use crate::both_engines;
use crate::harness::TestApp;
use crate::web::Browser;
use crate::worlds::{buy_through_sandbox, disputed_request, ship_and_deliver, standard_plan};

both_engines!(
    buyer_files_merchant_agrees_buyer_sees_refunded,
    arbitration_by_amount_and_refund_states_on_the_pages,
);

async fn buyer_files_merchant_agrees_buyer_sees_refunded(t: TestApp) {
    let s = t.shop().plan(standard_plan()).build().await;
    let buyer = t.register_member("买家").await;
    let o = t.order(&s, &buyer).qty(2).paid().await;
    let oid = o["id"].as_str().unwrap().to_owned();

    let mut b = Browser::login_user(&t, &buyer).await;
    let order = b.get(&format!("/orders/{oid}")).await.expect(200);
    assert!(order.has("id=\"apply-aftersale\""), "{}", order.body);
    assert!(order.has(&format!("/orders/{oid}/aftersale?line=1")));
    let form_url = format!("/orders/{oid}/aftersale?line=1");
    let form = b.get(&form_url).await.expect(200);
    assert!(form.has("仅退款") && form.has("退货退款") && form.has("商品破损"));
    // The form is multipart (it carries photos). Too many units: it comes back with what
    // was typed.
    let csrf = form.csrf();
    let action = format!("/orders/{oid}/aftersale");
    let fields = |qty: &'static str| {
        vec![
            ("kind", "refund_only"),
            ("reason", "damaged"),
            ("qty_1", qty),
            ("description", "瓶盖裂了"),
        ]
    };
    let mut too_many = fields("5");
    too_many.push(("csrf", &csrf));
    let p = b.post_multipart(&action, &too_many, None).await.expect(422);
    assert!(p.has("id=\"form-error\""));
    assert!(p.has("瓶盖裂了"));
    assert!(p.has("value=\"5\""));
    // A photo that is not an image: said beside the photos, what was typed kept.
    let mut one = fields("1");
    one.push(("csrf", &csrf));
    let p = b
        .post_multipart(&action, &one, Some(("photos", b"not an image at all")))
        .await
        .expect(422);
    assert!(
        p.has("id=\"photos-error\"") && p.has("照片需为 JPEG"),
        "{}",
        p.body
    );
    assert!(p.has("瓶盖裂了"));
    // Without the form's token nothing is filed.
    b.post_multipart(&action, &fields("1"), None)
        .await
        .expect(403);
    let png = crate::worlds::small_png(3);
    let p = b
        .post_multipart(&action, &one, Some(("photos", &png)))
        .await
        .expect(303);
    let req_url = p.location();
    assert!(req_url.starts_with("/aftersales/"), "{req_url}");
    let rid = req_url.trim_start_matches("/aftersales/").to_owned();
    let page = b.get(&req_url).await.expect(200);
    assert!(page.has("待商家处理"));
    assert!(
        page.has("/thumb\" alt=\"图片\""),
        "the photo is on the request: {}",
        page.body
    );

    // The merchant's queue, with the deadline in Beijing time.
    let mut m = Browser::login_user(&t, &s.owner).await;
    let queue_url = format!("/console/{}/aftersales", s.merchant);
    let q = m.get(&queue_url).await.expect(200);
    assert!(q.has(&format!("id=\"aftersale-{rid}\"")));
    assert!(q.has("class=\"deadline\""));
    assert!(q.has("瓶盖裂了"));
    // 售后规则 on the same page: the defaults shown, a bad number refused beside the form
    // with what was typed, then saved (coupons kept on refunds from now on).
    assert!(q.has("id=\"terms\"") && q.has("value=\"48\""), "{}", q.body);
    let save = format!("/console/{}/aftersales/terms", s.merchant);
    let terms_form = |hours: &'static str| {
        vec![
            ("answer_hours", hours),
            ("ship_days", "7"),
            ("receive_days", "10"),
            ("return_address", "贵阳市观山湖区退货仓"),
        ]
    };
    let p = m
        .submit(&queue_url, &save, &terms_form("四十八"))
        .await
        .expect(422);
    assert!(
        p.has("id=\"terms-error\"") && p.has("value=\"四十八\"") && p.has("贵阳市观山湖区退货仓"),
        "{}",
        p.body
    );
    let p = m
        .submit(&queue_url, &save, &terms_form("24"))
        .await
        .expect(303);
    assert!(p.location().ends_with("?done=saved"), "{}", p.location());
    let saved = t
        .get(
            &format!("/api/v1/merchants/{}/aftersale-terms", s.merchant),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            saved["answer_hours"].as_i64(),
            saved["return_coupon"].as_bool()
        ),
        (Some(24), Some(false))
    );
    let agree = format!("/console/{}/aftersales/{rid}/agree", s.merchant);
    // Unconfirmed: said beside the confirmation box of that request's form, on the queue.
    let p = m.submit(&queue_url, &agree, &[]).await.expect(422);
    assert!(
        p.has("aria-invalid=\"true\"") && !p.text_of("refusal-msg").is_empty(),
        "{}",
        p.body
    );
    let done = m
        .submit(&queue_url, &agree, &[("confirm", "on")])
        .await
        .expect(303);
    // Told so, on the queue.
    let queue = m.get(&done.location()).await.expect(200);
    assert!(
        queue.text_of("flash").starts_with("已同意"),
        "{}",
        queue.body
    );

    let page = b.get(&req_url).await.expect(200);
    assert!(page.has("退款成功"), "{}", page.body);
    assert!(page.has("id=\"refunded\""));
    assert!(page.has("¥100.00"));
    let en = b.get(&format!("{req_url}?lang=en")).await.expect(200);
    assert!(en.has("Refunded"));
    // The order lists its requests, so the buyer finds this one again.
    let order = b.get(&format!("/orders/{oid}")).await.expect(200);
    assert!(
        order.has("id=\"order-aftersales\"")
            && order.has(&format!("href=\"{req_url}\""))
            && order.has("退款成功"),
        "{}",
        order.body
    );

    // Arbitration is the platform admin's.
    b.get("/admin/aftersales").await.expect(403);
    let admin = t.admin().await;
    let mut a = Browser::login_user(&t, &admin).await;
    let p = a.get("/admin/aftersales").await.expect(200);
    assert!(p.has("id=\"no-disputes\""));
    // Another member cannot see the request.
    let stranger = t.register_member("路人").await;
    let mut x = Browser::login_user(&t, &stranger).await;
    x.get(&req_url).await.expect(404);
}

/// The admin decides money alone on the arbitration page (a bad amount comes back beside
/// the line with what was typed); the refund goes through the gateway; the buyer's order
/// and the console's show each refund's state in words; a refund the gateway fails shows
/// 退款失败 with the reason to staff and is asked again behind a confirmation step.
async fn arbitration_by_amount_and_refund_states_on_the_pages(t: TestApp) {
    let s = t.shop().plan(standard_plan()).build().await;
    let buyer = t.register_member("买家").await;
    let o = buy_through_sandbox(&t, &s, &buyer, 3).await;
    let oid = o["id"].as_str().unwrap().to_owned();
    ship_and_deliver(&t, &s, &oid).await;
    let rid = disputed_request(&t, &s, &buyer, &oid, 3).await;

    let admin = t.admin().await;
    let mut a = Browser::login_user(&t, &admin).await;
    let p = a.get("/admin/aftersales").await.expect(200);
    assert!(
        p.has("name=\"yuan_1\"") && p.has("或只退金额（元）"),
        "{}",
        p.body
    );
    let action = format!("/admin/aftersales/{rid}/decide");
    let p = a
        .submit(
            "/admin/aftersales",
            &action,
            &[
                ("outcome", "part"),
                ("yuan_1", "三十"),
                ("note", "只退一瓶的钱"),
                ("confirm", "on"),
            ],
        )
        .await
        .expect(422);
    assert!(p.has("请填写大于 0 的金额"), "{}", p.body);
    assert!(
        p.has("value=\"三十\"") && p.has("只退一瓶的钱"),
        "what was typed is kept: {}",
        p.body
    );
    a.submit(
        "/admin/aftersales",
        &action,
        &[
            ("outcome", "part"),
            ("yuan_1", "30.5"),
            ("note", "只退一瓶的钱"),
            ("confirm", "on"),
        ],
    )
    .await
    .expect(303);
    t.settle_refunds(&s.merchant, &oid, &s.owner.token).await;

    let mut b = Browser::login_user(&t, &buyer).await;
    let order_url = format!("/orders/{oid}");
    let page = b.get(&order_url).await.expect(200);
    assert!(
        page.has("id=\"refunds\"")
            && page.has("已退款")
            && page.has("¥30.50")
            && page.has("仅退金额"),
        "{}",
        page.body
    );

    // The merchant refunds the rest; the gateway refuses (its test marker), then pays.
    let mut m = Browser::login_user(&t, &s.owner).await;
    let console_url = format!("/console/{}/orders/{oid}", s.merchant);
    m.submit(
        &console_url,
        &format!("{console_url}/refund"),
        &[("reason", "全部退款 [sandbox:fail]")],
    )
    .await
    .expect(303);
    let refunds = t.settle_refunds(&s.merchant, &oid, &s.owner.token).await;
    let failed = refunds
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "failed")
        .expect("a failed refund")
        .clone();
    let fid = failed["id"].as_str().unwrap();
    let page = m.get(&console_url).await.expect(200);
    assert!(
        page.has("退款失败") && page.has("class=\"muted failure\""),
        "{}",
        page.body
    );
    assert!(
        page.has(&format!("id=\"retry-{fid}\"")),
        "a retry step: {}",
        page.body
    );
    let buyer_page = b.get(&order_url).await.expect(200);
    assert!(
        buyer_page.has("退款失败") && !buyer_page.has("class=\"muted failure\""),
        "the buyer sees the state, not the gateway's words"
    );
    let done = m
        .submit(
            &console_url,
            &format!("{console_url}/refunds/{fid}/retry"),
            &[],
        )
        .await
        .expect(303);
    assert!(
        done.location().ends_with("?done=refund_retried"),
        "{}",
        done.location()
    );
    let page = m
        .get(&format!("{console_url}?done=refund_retried"))
        .await
        .expect(200);
    assert!(
        page.has("已重新发起退款") && page.has("退款中"),
        "{}",
        page.body
    );
    t.settle_refunds(&s.merchant, &oid, &s.owner.token).await;
    let page = m.get(&console_url).await.expect(200);
    assert!(
        !page.has("退款中") && !page.has(&format!("id=\"retry-{fid}\"")),
        "{}",
        page.body
    );
    // Another shop's staff does not see it.
    let other = t.shop().plan(standard_plan()).build().await;
    let mut x = Browser::login_user(&t, &other.owner).await;
    x.get(&console_url).await.expect(403);
}
