//! The after-sale pages over plain HTTP, as a browser without JavaScript uses them, on both
//! engines: the buyer finds 申请售后 on the order and on its line, a refused form comes back
//! with what was typed and 422, the request is filed; the merchant sees it in the console's
//! queue with its deadline, an agreement without the confirmation ticked is refused on the
//! page, then agreed; the buyer sees it refunded; the admin's arbitration page is the
//! admin's only.

use crate::both_engines;
use crate::harness::TestApp;
use crate::web::Browser;
use crate::worlds::{buy, shop, standard_plan};

both_engines!(buyer_files_merchant_agrees_buyer_sees_refunded);

async fn buyer_files_merchant_agrees_buyer_sees_refunded(t: TestApp) {
    let s = shop(&t, standard_plan()).await;
    let buyer = t.register_member("买家").await;
    let o = buy(&t, &s, &buyer, 2).await;
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
    let agree = format!("/console/{}/aftersales/{rid}/agree", s.merchant);
    let p = m.submit(&queue_url, &agree, &[]).await.expect(422);
    assert!(p.has("role=\"alert\""));
    m.submit(&queue_url, &agree, &[("confirm", "on")])
        .await
        .expect(303);

    let page = b.get(&req_url).await.expect(200);
    assert!(page.has("退款成功"), "{}", page.body);
    assert!(page.has("id=\"refunded\""));
    assert!(page.has("¥100.00"));
    let en = b.get(&format!("{req_url}?lang=en")).await.expect(200);
    assert!(en.has("Refunded"));

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
