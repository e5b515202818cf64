//! The home page as a shop app's (issue 18), on both engines: the search bar and the
//! categories for a visitor and a member, a category's page listing only its products on
//! sale across the shops, the 好友推荐 shelf of what friends bought and rated (pictures,
//! price in 元, the friends' names), and a newcomer's empty feed replaced by people to
//! follow and communities to join — following one from there.

use serde_json::json;

use crate::both_engines;
use crate::builders::Shop;
use crate::harness::{TestApp, User, id};
use crate::web::{Browser, Page};
use crate::worlds::{
    befriend, close_after_sale_window, community, follow, join, post, ship_and_deliver, small_png,
    upload, wait_indexed,
};

both_engines!(
    the_home_shows_categories_and_what_friends_recommend,
    a_newcomer_is_offered_people_and_communities,
);

/// Files the shop's product under a new category `name` with an uploaded picture; returns
/// the category's id and the picture's URL.
async fn file_under(t: &TestApp, s: &Shop, name: &str, seed: u8) -> (String, String) {
    let cat = id(&t
        .post(
            &format!("/api/v1/merchants/{}/categories", s.merchant),
            Some(&s.owner.token),
            json!({ "name": name }),
        )
        .await
        .expect(201));
    let media = id(&upload(
        t,
        Some(&s.owner.token),
        small_png(seed),
        "image/png",
        "p.png",
    )
    .await
    .expect(201));
    let image = format!("/media/{media}");
    t.patch(
        &format!("/api/v1/merchants/{}/products/{}", s.merchant, s.product),
        Some(&s.owner.token),
        json!({ "category_id": cat, "images": [image] }),
    )
    .await
    .expect(200);
    (cat, image)
}

/// The text inside the element with `id` up to the first `close` tag after it (tags
/// dropped), e.g. a whole `<section>`.
fn text_in(page: &Page, id: &str, close: &str) -> String {
    let at = page
        .body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {}", page.body));
    let rest = &page.body[at..];
    let inner = &rest[rest.find('>').expect("tag end") + 1..];
    let inner = &inner[..inner.find(close).unwrap_or(inner.len())];
    let mut text = String::new();
    for piece in inner.split('<') {
        text.push_str(piece.split_once('>').map_or(piece, |(_, t)| t));
        text.push(' ');
    }
    text
}

/// `buyer` buys the shop's product (paid from the wallet): the order's id.
async fn bought(t: &TestApp, s: &Shop, buyer: &User) -> String {
    id(&t.order(s, buyer).paid().await)
}

async fn the_home_shows_categories_and_what_friends_recommend(t: TestApp) {
    let tea = t.shop().name("茶香小铺").build().await;
    let fruit = t
        .shop()
        .name("果园直送")
        .product("云南蓝莓")
        .price(6900)
        .build()
        .await;
    let (tea_cat, tea_img) = file_under(&t, &tea, "茶叶", 1).await;
    let (_, fruit_img) = file_under(&t, &fruit, "水果", 2).await;
    // A draft in the same category is not on sale: not listed, not counted.
    t.post(
        &format!("/api/v1/merchants/{}/products", tea.merchant),
        Some(&tea.owner.token),
        json!({ "name": "未上架的新茶", "category_id": tea_cat }),
    )
    .await
    .expect(201);

    // A visitor: the search bar (products, everyone's) and the categories with pictures.
    let mut anon = Browser::new(&t);
    let home = anon.get("/").await.expect(200);
    assert!(
        home.has("id=\"home-search\"")
            && home.has("action=\"/search\"")
            && home.has("name=\"type\" value=\"products\""),
        "{}",
        home.body
    );
    let tea_link = "/categories/%E8%8C%B6%E5%8F%B6";
    assert!(home.has(&format!("href=\"{tea_link}\"")), "{}", home.body);
    assert!(home.has("href=\"/categories/%E6%B0%B4%E6%9E%9C\""));
    assert!(
        home.has(&format!("src=\"{tea_img}/thumb\"")),
        "{}",
        home.body
    );
    assert!(home.has("id=\"home-register\""), "the way in stays");
    // Each shop's card carries its logo, or its name's first character drawn in its place.
    assert!(
        home.has("class=\"card block shop-card\"") && home.has("class=\"avatar logo"),
        "{}",
        home.body
    );
    // The category lists only its products on sale, with picture, shop and price in 元.
    let cat = anon.get(tea_link).await.expect(200);
    assert_eq!(cat.text_of("category-name"), "茶叶");
    let listed = text_in(&cat, "category-products", "</div>");
    assert!(
        listed.contains("高山红茶") && listed.contains("¥100.00"),
        "{listed}"
    );
    assert!(listed.contains("茶香小铺"), "{listed}");
    assert!(!listed.contains("未上架的新茶") && !listed.contains("云南蓝莓"));
    assert!(
        !listed.contains("已售"),
        "nothing sold yet, nothing said: {listed}"
    );
    assert!(cat.has(&format!(
        "href=\"/shops/{}/products/{}\"",
        tea.merchant, tea.product
    )));
    // A name no category has lists nothing; one no category could have is no page.
    let none = anon.get("/categories/%E6%B2%A1%E6%9C%89").await.expect(200);
    assert!(none.has("id=\"category-empty\""));
    anon.get(&format!("/categories/{}", "长".repeat(33)))
        .await
        .expect(404);
    // The search bar works for a visitor: products of every shop.
    wait_indexed(&t).await;
    let found = anon
        .get("/search?type=products&scope=everyone&q=%E8%93%9D%E8%8E%93")
        .await
        .expect(200);
    assert!(
        found.has("云南蓝莓") && found.has("¥69.00"),
        "{}",
        found.body
    );
    // Each product found shows its main picture, as a thumbnail.
    assert!(
        found.has(&format!(
            "<img class=\"hit-thumb\" src=\"{fruit_img}/thumb\" alt=\"云南蓝莓\""
        )),
        "{}",
        found.body
    );
    assert!(
        !found.has("name=\"scope\" aria-label"),
        "no circle to choose"
    );
    let en = anon.get("/?lang=en").await.expect(200);
    assert!(en.has("placeholder=\"Search products\""), "{}", en.body);

    // A member whose two friends bought the tea and rated it: the 好友推荐 shelf.
    let me = t.register_member("我").await;
    let f1 = t.register_member("好友阿梅").await;
    let f2 = t.register_member("好友老陈").await;
    befriend(&t, &me, &f1).await;
    befriend(&t, &me, &f2).await;
    let o1 = bought(&t, &tea, &f1).await;
    let o2 = bought(&t, &tea, &f2).await;
    ship_and_deliver(&t, &tea, &o1).await;
    ship_and_deliver(&t, &tea, &o2).await;
    close_after_sale_window(&t).await;
    for (who, oid) in [(&f1, &o1), (&f2, &o2)] {
        t.post(
            &format!("/api/v1/orders/{oid}/lines/1/review"),
            Some(&who.token),
            json!({ "rating": 5, "body": "好喝" }),
        )
        .await
        .expect(201);
    }
    // The category's card now says how many were sold: the two friends bought one each.
    let cat = anon.get(tea_link).await.expect(200);
    let listed = text_in(&cat, "category-products", "</div>");
    assert!(listed.contains("已售 2"), "{listed}");
    let mut b = Browser::login_user(&t, &me).await;
    let home = b.get("/").await.expect(200);
    let shelf = text_in(&home, "home-recommended", "</section>");
    assert!(shelf.contains("好友推荐"), "{shelf}");
    assert!(
        shelf.contains("高山红茶") && shelf.contains("¥100.00"),
        "{shelf}"
    );
    assert!(shelf.contains("2 位好友推荐"), "{shelf}");
    assert!(
        shelf.contains("好友阿梅") && shelf.contains("好友老陈"),
        "{shelf}"
    );
    assert!(!shelf.contains("云南蓝莓"), "no friend recommends it");
    assert!(home.has(&format!("src=\"{tea_img}/thumb\"")));
    assert!(home.has("id=\"home-search\"") && home.has(&format!("href=\"{tea_link}\"")));
    let en = b.get("/?lang=en").await.expect(200);
    assert!(text_in(&en, "home-recommended", "</section>").contains("2 friends recommend"));
}

async fn a_newcomer_is_offered_people_and_communities(t: TestApp) {
    let star = t.register_member("人气达人").await;
    let fan1 = t.register_member("粉丝一").await;
    let fan2 = t.register_member("粉丝二").await;
    follow(&t, &fan1, &star).await;
    follow(&t, &fan2, &star).await;
    let star_post = post(
        &t,
        &star,
        json!({ "body": "今天分享一款好茶", "visibility": "public" }),
    )
    .await;
    let group = community(&t, &fan1, "宝妈交流群").await;
    join(&t, &fan2, &group).await;

    let newcomer = t.register_member("新来的").await;
    let mut b = Browser::login_user(&t, &newcomer).await;
    let home = b.get("/").await.expect(200);
    assert!(home.has("id=\"home-welcome\""), "{}", home.body);
    let people = text_in(&home, "home-people", "</section>");
    assert!(
        people.contains("人气达人") && people.contains("2 人关注"),
        "{people}"
    );
    assert!(!people.contains("新来的"), "never oneself");
    // Each with their picture, or without one their initial in a circle.
    let cards = &home.body[home.body.find("id=\"home-people\"").expect("people")..];
    assert!(
        cards.contains("class=\"avatar drawn hue-") && cards.contains(">人</span>"),
        "{cards}"
    );
    let communities = text_in(&home, "home-communities", "</section>");
    assert!(
        communities.contains("宝妈交流群") && communities.contains("2 位成员"),
        "{communities}"
    );
    assert!(home.has(&format!("action=\"/communities/{group}/join\"")));
    // Follow from there: back home, told so, and the star's post is in the feed now.
    let action = format!("/people/{}/follow", star.id);
    assert!(home.has(&format!("action=\"{action}\"")), "{}", home.body);
    let done = b.submit("/", &action, &[]).await.expect(303);
    assert_eq!(done.location(), "/?done=followed");
    let home = b.get(&done.location()).await.expect(200);
    assert!(home.has("id=\"flash\""), "{}", home.body);
    assert!(home.has("今天分享一款好茶"), "{}", home.body);
    // The feed says how long ago, its Beijing time on hover.
    assert!(home.has("\">刚刚</span>"), "{}", home.body);
    // Times follow the viewer's zone, chosen on 我的: Beijing time until then.
    let created = t
        .get(&format!("/api/v1/posts/{star_post}"), Some(&newcomer.token))
        .await
        .expect(200)["created_at"]
        .as_str()
        .expect("created_at")
        .to_owned();
    let beijing = kith_web::pages::beijing(&created);
    assert!(home.has(&format!("title=\"{beijing}\"")), "{}", home.body);
    let me = b.get("/me").await.expect(200);
    assert!(
        me.has("<option value=\"Asia/Shanghai\" selected>"),
        "{}",
        me.body
    );
    b.submit("/me", "/me/time-zone", &[("zone", "Asia/Tokyo")])
        .await
        .expect(303);
    let tokyo = kith_web::timezone::with_minutes(540, || kith_web::pages::beijing(&created));
    assert_ne!(tokyo, beijing);
    let home = b.get("/").await.expect(200);
    assert!(home.has(&format!("title=\"{tokyo}\"")), "{}", home.body);
    assert!(
        b.get("/me")
            .await
            .expect(200)
            .has("<option value=\"Asia/Tokyo\" selected>")
    );
    // Only a zone offered; a visitor has no 我的 to choose on.
    b.submit("/me", "/me/time-zone", &[("zone", "Mars/Olympus")])
        .await
        .expect(422);
    b.submit("/me", "/me/time-zone", &[("zone", "Asia/Shanghai")])
        .await
        .expect(303);
    assert!(!home.has("id=\"home-welcome\""));
    // Joining a suggested community opens it.
    let joined = b
        .submit("/", &format!("/communities/{group}/join"), &[])
        .await;
    assert_eq!(joined.location(), format!("/communities/{group}"));
    // Following needs a session and a real account.
    let mut anon = Browser::new(&t);
    let asked = anon.post(&action, &[]).await.expect(303);
    assert!(
        asked.location().starts_with("/login"),
        "{}",
        asked.location()
    );
    b.submit(
        "/",
        "/people/00000000-0000-4000-8000-000000000000/follow",
        &[],
    )
    .await
    .expect(404);
}
