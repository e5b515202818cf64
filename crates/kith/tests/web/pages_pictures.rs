//! Pictures on the pages (issue 18), on both engines: the shop's staff upload its logo and
//! banner on the console's 店铺形象, a refused upload said in Chinese beside its field; the
//! shop page shows the banner and the logo, the shops list the logo, each an `<img>` whose
//! `/media/...` address answers with the image; a member uploads an avatar from 我的, which
//! then stands beside their name on their post card and comments, while someone without a
//! picture gets their name's first character in a coloured circle. The product's pictures
//! (the main one and up to nine more) are uploaded, put first and removed on the console's
//! product page.

use crate::both_engines;
use crate::harness::TestApp;
use crate::web::{Browser, Page};
use crate::worlds::small_png;

both_engines!(
    shop_pictures_and_avatars_show_on_the_pages,
    product_pictures_are_added_ordered_and_removed_on_the_console
);

/// The `src` of the first `<img` after `marker` in the page.
fn img_after(p: &Page, marker: &str) -> String {
    let at = p
        .body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} on the page: {}", p.body));
    let rest = &p.body[at..];
    let img = rest.find("<img").expect("an <img>");
    let src = rest[img..].find("src=\"").expect("its src") + img + 5;
    let end = rest[src..].find('"').expect("the src's end") + src;
    rest[src..end].to_owned()
}

/// GETs `src` as a browser would and answers its content type.
async fn served(t: &TestApp, src: &str) -> String {
    assert!(src.starts_with("/media/"), "{src}");
    let r = t
        .client
        .get(format!("{}{src}", t.base))
        .send()
        .await
        .expect("get the picture");
    assert_eq!(r.status(), 200, "{src}");
    r.headers()["content-type"].to_str().unwrap().to_owned()
}

async fn shop_pictures_and_avatars_show_on_the_pages(t: TestApp) {
    let (owner, mid) = t.approved_merchant("画廊小铺").await;
    let mut b = Browser::login_user(&t, &owner).await;
    let form = format!("/console/{mid}/shop");

    // The console's form: before any picture, the logo is the name's first character.
    let page = b.get(&form).await.expect(200);
    assert!(page.has("店铺形象") && page.has("id=\"nav-shop\""));
    assert!(page.has("class=\"avatar logo lg drawn hue-") && page.has(">画</span>"));
    let csrf = page.csrf();
    // Not an image: said in Chinese beside the logo field, nothing set.
    let refused = b
        .post_multipart(
            &form,
            &[("csrf", &csrf)],
            Some(("logo", b"GIF89a not really")),
        )
        .await
        .expect(422);
    assert!(refused.has("id=\"logo-error\""), "{}", refused.body);
    assert!(refused.has("请上传 JPG、PNG 或 WEBP 格式的完整图片"));
    // The logo, then the banner.
    for (field, seed) in [("logo", 11), ("banner", 12)] {
        let p = b
            .post_multipart(&form, &[("csrf", &csrf)], Some((field, &small_png(seed))))
            .await
            .expect(303);
        assert_eq!(p.location(), format!("{form}?done=saved"));
    }
    let page = b.get(&format!("{form}?done=saved")).await.expect(200);
    assert!(page.has("已保存"));
    assert!(img_after(&page, "id=\"logo-now\"").ends_with("/thumb"));
    assert!(img_after(&page, "id=\"banner-now\"").starts_with("/media/"));
    // Someone not on the staff cannot open it.
    let stranger = t.register_member("隔壁老王").await;
    let mut other = Browser::login_user(&t, &stranger).await;
    other.get(&form).await.expect(403);

    // A visitor sees the banner and the logo on the shop page, the logo in the shops list.
    let mut anon = Browser::new(&t);
    let shop = anon.get(&format!("/shops/{mid}")).await.expect(200);
    let banner = img_after(&shop, "<img class=\"banner\" id=\"shop-banner\"");
    assert!(
        shop.has(&format!("srcset=\"{banner}/thumb 320w, {banner} 1200w\"")),
        "{}",
        shop.body
    );
    assert_eq!(served(&t, &banner).await, "image/png");
    let logo = img_after(&shop, "id=\"shop-title\"");
    assert!(logo.ends_with("/thumb"), "{logo}");
    assert_eq!(served(&t, &logo).await, "image/jpeg");
    let shops = anon.get("/shops").await.expect(200);
    assert_eq!(img_after(&shops, &format!("href=\"/shops/{mid}\"")), logo);

    // A member uploads an avatar from 我的.
    let member = t.register_member("小林").await;
    let mut m = Browser::login_user(&t, &member).await;
    let me = m.get("/me").await.expect(200);
    assert!(me.has("href=\"/me/avatar\"") && me.has("更换头像"));
    assert!(me.has("class=\"avatar lg drawn hue-") && me.has(">小</span>"));
    let page = m.get("/me/avatar").await.expect(200);
    let csrf = page.csrf();
    let refused = m
        .post_multipart("/me/avatar", &[("csrf", &csrf)], Some(("avatar", b"hello")))
        .await
        .expect(422);
    assert!(refused.has("id=\"avatar-error\""), "{}", refused.body);
    assert!(refused.has("请上传 JPG、PNG 或 WEBP 格式的完整图片"));
    let nothing = m
        .post_multipart("/me/avatar", &[("csrf", &csrf)], None)
        .await
        .expect(422);
    assert!(nothing.has("请先选择一张图片"), "{}", nothing.body);
    let p = m
        .post_multipart(
            "/me/avatar",
            &[("csrf", &csrf)],
            Some(("avatar", &small_png(13))),
        )
        .await
        .expect(303);
    assert_eq!(p.location(), "/me?done=saved");
    let me = m.get("/me").await.expect(200);
    let avatar = img_after(&me, "<h1");
    assert_eq!(served(&t, &avatar).await, "image/jpeg");

    // Their post card shows the avatar beside their name; a comment by someone without a
    // picture shows that person's initial.
    let post = t
        .post(
            "/api/v1/posts",
            Some(&member.token),
            serde_json::json!({ "body": "换了新头像", "visibility": "public" }),
        )
        .await
        .expect(201);
    let pid = post["id"].as_str().expect("post id");
    t.post(
        &format!("/api/v1/posts/{pid}/comments"),
        Some(&stranger.token),
        serde_json::json!({ "body": "好看" }),
    )
    .await
    .expect(201);
    let page = anon.get(&format!("/posts/{pid}")).await.expect(200);
    assert_eq!(img_after(&page, &format!("id=\"post-{pid}\"")), avatar);
    assert!(page.has(">隔</span>"), "{}", page.body);

    // Removed: the initial again.
    let csrf = m.get("/me/avatar").await.expect(200).csrf();
    m.post("/me/avatar/remove", &[("csrf", &csrf)])
        .await
        .expect(303);
    assert!(m.get("/me").await.expect(200).has(">小</span>"));
}

/// The `src`s of the console product page's pictures, in order.
fn console_images(p: &Page) -> Vec<String> {
    p.body
        .split("<figure class=\"product-image\">")
        .skip(1)
        .map(|f| {
            let src = f.find("src=\"").expect("src") + 5;
            f[src..src + f[src..].find('"').expect("end")].to_owned()
        })
        .collect()
}

async fn product_pictures_are_added_ordered_and_removed_on_the_console(t: TestApp) {
    let s = t.shop().name("图多的店").build().await;
    let mut b = Browser::login_user(&t, &s.owner).await;
    let page_url = format!("/console/{}/products/{}", s.merchant, s.product);
    let upload = format!("{page_url}/images");
    let page = b.get(&page_url).await.expect(200);
    assert!(
        page.has("id=\"product-images\"") && page.has("商品图片"),
        "{}",
        page.body
    );
    let csrf = page.csrf();

    // Nothing chosen, or not an image: said beside the file input, in Chinese.
    let none = b
        .post_multipart(&upload, &[("csrf", &csrf)], None)
        .await
        .expect(422);
    assert_eq!(none.text_of("image-error"), "请先选择一张图片");
    assert!(
        none.has("aria-describedby=\"image-error\""),
        "{}",
        none.body
    );
    let bad = b
        .post_multipart(
            &upload,
            &[("csrf", &csrf)],
            Some(("image", b"not a picture")),
        )
        .await
        .expect(422);
    assert_eq!(
        bad.text_of("image-error"),
        "请上传 JPG、PNG 或 WEBP 格式的完整图片"
    );

    // Two pictures: the first is the main one, on the shop's product page too.
    for seed in [21, 22] {
        let done = b
            .post_multipart(
                &upload,
                &[("csrf", &csrf)],
                Some(("image", &small_png(seed))),
            )
            .await
            .expect(303);
        assert!(
            done.location().contains("done=saved"),
            "{}",
            done.location()
        );
    }
    let page = b.get(&page_url).await.expect(200);
    let images = console_images(&page);
    assert_eq!(images.len(), 2, "{}", page.body);
    assert!(page.has("class=\"badge ok main-image\""));
    let product = t
        .get(
            &format!("/api/v1/merchants/{}/products/{}", s.merchant, s.product),
            None,
        )
        .await
        .expect(200);
    let stored: Vec<String> = product["images"]
        .as_array()
        .expect("images")
        .iter()
        .map(|i| i.as_str().expect("image").to_owned())
        .collect();
    assert_eq!(
        images,
        stored
            .iter()
            .map(|i| format!("{i}/thumb"))
            .collect::<Vec<_>>()
    );
    assert!(served(&t, &stored[1]).await.starts_with("image/"));

    // The second made the main one, then the first removed.
    let arrange = format!("{page_url}/images/arrange");
    b.submit(
        &page_url,
        &arrange,
        &[("image", &stored[1]), ("action", "main")],
    )
    .await
    .expect(303);
    let now = console_images(&b.get(&page_url).await.expect(200));
    assert_eq!(now[0], format!("{}/thumb", stored[1]));
    b.submit(
        &page_url,
        &arrange,
        &[("image", &stored[0]), ("action", "remove")],
    )
    .await
    .expect(303);
    assert_eq!(
        console_images(&b.get(&page_url).await.expect(200)),
        vec![format!("{}/thumb", stored[1])]
    );
    // A picture the product does not have is not found; a strange action is refused.
    b.submit(
        &page_url,
        &arrange,
        &[("image", "/media/nothing"), ("action", "main")],
    )
    .await
    .expect(404);
    b.submit(
        &page_url,
        &arrange,
        &[("image", &stored[1]), ("action", "spin")],
    )
    .await
    .expect(422);

    // Ten at most: the eleventh is refused beside the input.
    for seed in 30..39 {
        b.post_multipart(
            &upload,
            &[("csrf", &csrf)],
            Some(("image", &small_png(seed))),
        )
        .await
        .expect(303);
    }
    let full = b
        .post_multipart(&upload, &[("csrf", &csrf)], Some(("image", &small_png(40))))
        .await
        .expect(422);
    assert_eq!(full.text_of("image-error"), "最多 10 张图片，请先删除一张");
    assert_eq!(console_images(&full).len(), 10);

    // Only the shop's staff: a member is refused.
    let member = t.register_member("路人甲").await;
    let mut m = Browser::login_user(&t, &member).await;
    let csrf = m.get("/").await.expect(200).csrf();
    let r = m
        .post_multipart(&upload, &[("csrf", &csrf)], Some(("image", &small_png(50))))
        .await;
    assert!(matches!(r.status.as_u16(), 403 | 404), "{}", r.status);
}
