//! The post journeys over HTTP on both engines: writing a post with images and product
//! tags, likes, threaded comments, shares, editing and deleting; bad input refused with the
//! field named and nothing written; the feed's cursor holding while new posts arrive; and
//! moderators hiding and restoring posts. Who sees what is proven in `privacy.rs`.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{TestApp, User};

both_engines!(
    post_journey,
    bad_input_is_refused_and_nothing_written,
    feed_pages_stay_stable_while_posts_arrive,
    moderators_hide_and_restore_posts,
    likes_and_reports_page_without_gaps,
);

/// A small PNG of one colour: different seeds, different bytes, different media ids.
fn png(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(4, 3, image::Rgb([seed, 255 - seed, 42]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

async fn upload(t: &TestApp, who: &User, seed: u8) -> String {
    let res = t
        .client
        .post(format!("{}/api/v1/media", t.base))
        .bearer_auth(&who.token)
        .header("content-type", "application/octet-stream")
        .body(png(seed))
        .send()
        .await
        .expect("upload");
    TestApp::read(res).await.expect(201)["id"]
        .as_str()
        .expect("media id")
        .to_owned()
}

/// A SKU of a new product of `merchant` in `status` (`active`, `draft` or `archived`).
async fn sku(t: &TestApp, owner: &User, merchant: &str, code: &str, status: &str) -> String {
    let m = |p: &str| format!("/api/v1/merchants/{merchant}{p}");
    let product = t
        .post(
            &m("/products"),
            Some(&owner.token),
            json!({ "name": format!("商品{code}"), "description": "好物" }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sku = t
        .post(
            &m(&format!("/products/{product}/skus")),
            Some(&owner.token),
            json!({ "code": code, "list_price_fen": 12900 }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for s in match status {
        "active" => &["active"][..],
        "archived" => &["active", "archived"][..],
        _ => &[][..],
    } {
        t.put(
            &m(&format!("/products/{product}/status")),
            Some(&owner.token),
            json!({ "status": s }),
        )
        .await
        .expect(200);
    }
    sku
}

async fn befriend(t: &TestApp, a: &User, b: &User) {
    for (x, y) in [(a, b), (b, a)] {
        follow(t, x, y).await;
    }
}

async fn follow(t: &TestApp, who: &User, whom: &User) {
    let r = t
        .post(
            &format!("/api/v1/accounts/{}/follow", whom.id),
            Some(&who.token),
            json!({}),
        )
        .await;
    assert!(r.status.is_success(), "follow: {r:?}");
}

async fn community(t: &TestApp, owner: &User, merchant: Option<&str>) -> String {
    t.post(
        "/api/v1/communities",
        Some(&owner.token),
        json!({ "name": "酱香爱好者", "description": "品酒交流", "tags": ["白酒"], "join_policy": "open", "merchant_id": merchant }),
    )
    .await
    .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn join(t: &TestApp, who: &User, community: &str) {
    let r = t
        .post(
            &format!("/api/v1/communities/{community}/join"),
            Some(&who.token),
            json!({}),
        )
        .await;
    assert!(r.status.is_success(), "join: {r:?}");
}

async fn new_post(t: &TestApp, who: &User, body: Value) -> String {
    t.post("/api/v1/posts", Some(&who.token), body)
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Rows in every table a post use case writes, and the outbox.
async fn footprint(t: &TestApp) -> Vec<i64> {
    t.app
        .db
        .read(|c| {
            [
                "posts WHERE deleted_at IS NULL AND hidden_at IS NULL",
                "posts",
                "post_images",
                "post_tags",
                "post_likes",
                "comments WHERE deleted_at IS NULL",
                "post_shares",
                "reports",
                "outbox",
            ]
            .iter()
            .map(|t| {
                c.query_one(&format!("SELECT COUNT(*) FROM {t}"), &[])?
                    .int(0)
            })
            .collect::<Result<Vec<i64>, _>>()
        })
        .await
        .expect("footprint")
}

async fn topics(t: &TestApp, aggregate: &str) -> Vec<String> {
    let id = aggregate.to_owned();
    t.app
        .db
        .read(move |c| {
            c.query(
                "SELECT topic FROM outbox WHERE aggregate_id = $1 ORDER BY id",
                kith_store::args![&id],
            )?
            .iter()
            .map(|r| r.text(0))
            .collect::<Result<Vec<String>, _>>()
        })
        .await
        .expect("topics")
}

async fn post_journey(t: TestApp) {
    let (owner, merchant) = t.approved_merchant("茅台镇酒坊").await;
    let sku = sku(&t, &owner, &merchant, "JX-500", "active").await;
    let author = t.register_member("小美").await;
    let friend = t.register_member("阿强").await;
    let stranger = t.register_member("路人甲").await;
    befriend(&t, &author, &friend).await;
    let (img1, img2) = (upload(&t, &author, 1).await, upload(&t, &author, 2).await);

    let p = t
        .post(
            "/api/v1/posts",
            Some(&author.token),
            json!({ "body": "  第一次喝酱香酒\n入口柔，回味长  ", "visibility": "public",
                    "images": [img2, img1], "tags": [sku] }),
        )
        .await
        .expect(201);
    let id = p["id"].as_str().unwrap().to_owned();
    assert_eq!(p["body"], "第一次喝酱香酒\n入口柔，回味长");
    assert_eq!(p["author"]["id"], author.id.as_str());
    assert_eq!(p["author"]["display_name"], "小美");
    assert_eq!(p["visibility"], "public");
    assert_eq!(p["community_id"], Value::Null);
    assert_eq!(p["images"][0]["id"], img2.as_str(), "in the author's order");
    assert_eq!(p["images"][1]["url"], format!("/media/{img1}"));
    assert_eq!(p["images"][1]["thumb_url"], format!("/media/{img1}/thumb"));
    assert_eq!(p["tags"][0]["sku_id"], sku.as_str());
    assert_eq!(p["tags"][0]["merchant_id"], merchant.as_str());
    assert_eq!(p["tags"][0]["product_name"], "商品JX-500");
    assert_eq!(p["tags"][0]["price_fen"], 12900);
    for k in ["like_count", "comment_count", "share_count"] {
        assert_eq!(p[k], 0, "{k}");
    }
    assert_eq!(p["liked_by_me"], false);
    assert_eq!(p["edited"], false);
    assert_eq!(p["hidden"], false);
    // Public: even the anonymous read it, and the images are served.
    let anon = t
        .get(&format!("/api/v1/posts/{id}"), None)
        .await
        .expect(200);
    assert_eq!(anon["tags"], p["tags"]);
    let img = t
        .client
        .get(format!(
            "{}{}",
            t.base,
            p["images"][0]["url"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(img.status(), 200);

    // Likes are idempotent both ways.
    let post_path = format!("/api/v1/posts/{id}");
    for _ in 0..2 {
        let r = t
            .post(&format!("{post_path}/like"), Some(&friend.token), json!({}))
            .await
            .expect(200);
        assert_eq!(
            (r["like_count"].as_i64(), r["liked_by_me"].as_bool()),
            (Some(1), Some(true))
        );
    }
    let likes = t.get(&format!("{post_path}/likes"), None).await.expect(200);
    assert_eq!(likes["items"].as_array().unwrap().len(), 1);
    assert_eq!(likes["items"][0]["account"]["id"], friend.id.as_str());
    assert_eq!(likes["items"][0]["account"]["display_name"], "阿强");
    let mine = t.get(&post_path, Some(&author.token)).await.expect(200);
    assert_eq!(
        (mine["like_count"].as_i64(), mine["liked_by_me"].as_bool()),
        (Some(1), Some(false))
    );
    for _ in 0..2 {
        let r = t
            .delete(&format!("{post_path}/like"), Some(&friend.token))
            .await
            .expect(200);
        assert_eq!(
            (r["like_count"].as_i64(), r["liked_by_me"].as_bool()),
            (Some(0), Some(false))
        );
    }

    // Comments, one level of replies.
    let c1 = t
        .post(
            &format!("{post_path}/comments"),
            Some(&friend.token),
            json!({ "body": "看着就好喝" }),
        )
        .await
        .expect(201);
    assert_eq!(c1["post_id"], id.as_str());
    assert_eq!(c1["parent_id"], Value::Null);
    let c1 = c1["id"].as_str().unwrap().to_owned();
    t.clock.advance_ms(10);
    let reply = t
        .post(
            &format!("{post_path}/comments"),
            Some(&author.token),
            json!({ "body": "下次一起喝", "parent_id": c1 }),
        )
        .await
        .expect(201);
    assert_eq!(reply["parent_id"], c1.as_str());
    t.post(
        &format!("{post_path}/comments"),
        Some(&friend.token),
        json!({ "body": "好呀", "parent_id": reply["id"] }),
    )
    .await
    .problem(422, Some("parent_id"));
    t.clock.advance_ms(10);
    let c2 = t
        .post(
            &format!("{post_path}/comments"),
            Some(&stranger.token),
            json!({ "body": "求链接" }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = t
        .get(&format!("{post_path}/comments"), None)
        .await
        .expect(200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "top-level only: {list}");
    assert_eq!(items[0]["id"], c1.as_str());
    assert_eq!(items[0]["reply_count"], 1);
    assert_eq!(items[0]["replies"][0]["body"], "下次一起喝");
    assert_eq!(items[1]["id"], c2.as_str());
    assert_eq!(items[1]["replies"], json!([]));
    // Paged: one top-level comment per page, replies with their parent.
    let page1 = t
        .get(&format!("{post_path}/comments?limit=1"), None)
        .await
        .expect(200);
    assert_eq!(page1["items"][0]["replies"][0]["id"], reply["id"]);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2 = t
        .get(
            &format!("{post_path}/comments?limit=1&cursor={cursor}"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(page2["items"][0]["id"], c2.as_str());
    assert_eq!(page2["next_cursor"], Value::Null);
    assert_eq!(
        t.get(&post_path, None).await.expect(200)["comment_count"],
        3
    );

    // A comment goes by its author or the post's author; with it, its replies.
    t.delete(&format!("/api/v1/comments/{c1}"), Some(&stranger.token))
        .await
        .problem(403, None);
    t.delete(&format!("/api/v1/comments/{c2}"), Some(&stranger.token))
        .await
        .expect(204);
    t.delete(&format!("/api/v1/comments/{c1}"), Some(&author.token))
        .await
        .expect(204);
    t.delete(&format!("/api/v1/comments/{c1}"), Some(&author.token))
        .await
        .problem(404, None);
    let list = t
        .get(&format!("{post_path}/comments"), None)
        .await
        .expect(200);
    assert_eq!(list["items"], json!([]));
    assert_eq!(
        t.get(&post_path, None).await.expect(200)["comment_count"],
        0
    );

    // Shares are recorded, one each time.
    for channel in ["wechat", "moments"] {
        let s = t
            .post(
                &format!("{post_path}/shares"),
                Some(&friend.token),
                json!({ "channel": channel }),
            )
            .await
            .expect(201);
        assert_eq!(s["channel"], channel);
        assert_eq!(s["post_id"], id.as_str());
    }
    assert_eq!(t.get(&post_path, None).await.expect(200)["share_count"], 2);

    // The author edits: now for friends only, without the tag.
    t.clock.advance_secs(60);
    let edited = t
        .patch(
            &post_path,
            Some(&author.token),
            json!({ "body": "第一次喝酱香酒（更新）", "visibility": "friends", "tags": [] }),
        )
        .await
        .expect(200);
    assert_eq!(edited["edited"], true);
    assert_eq!(edited["visibility"], "friends");
    assert_eq!(edited["tags"], json!([]));
    assert_eq!(edited["images"], p["images"], "images unchanged");
    assert_eq!(edited["share_count"], 2, "counts survive an edit");
    assert_ne!(edited["updated_at"], edited["created_at"]);
    t.get(&post_path, Some(&stranger.token))
        .await
        .problem(404, None);
    t.get(&post_path, None).await.problem(404, None);
    assert_eq!(
        t.get(&post_path, Some(&friend.token)).await.expect(200)["body"],
        "第一次喝酱香酒（更新）"
    );
    // Only the author changes it: others who see it get 403, others 404.
    t.patch(&post_path, Some(&friend.token), json!({ "body": "改一下" }))
        .await
        .problem(403, None);
    t.delete(&post_path, Some(&friend.token))
        .await
        .problem(403, None);
    t.patch(
        &post_path,
        Some(&stranger.token),
        json!({ "body": "改一下" }),
    )
    .await
    .problem(404, None);

    // Deleted: gone for everyone, its author too.
    t.delete(&post_path, Some(&author.token)).await.expect(204);
    t.get(&post_path, Some(&author.token))
        .await
        .problem(404, None);
    t.get(&post_path, Some(&friend.token))
        .await
        .problem(404, None);
    t.post(&format!("{post_path}/like"), Some(&friend.token), json!({}))
        .await
        .problem(404, None);
    t.delete(&post_path, Some(&author.token))
        .await
        .problem(404, None);
    let mine = t
        .get(
            &format!("/api/v1/accounts/{}/posts", author.id),
            Some(&author.token),
        )
        .await
        .expect(200);
    assert_eq!(mine["items"], json!([]));

    // Every change announced itself, in order.
    assert_eq!(
        topics(&t, &id).await,
        [
            "post.created",
            "post.liked",
            "post.unliked",
            "post.shared",
            "post.shared",
            "post.updated",
            "post.deleted"
        ]
    );
    assert_eq!(
        topics(&t, &c1).await,
        ["comment.created", "comment.deleted"]
    );
}

async fn bad_input_is_refused_and_nothing_written(t: TestApp) {
    let (owner, merchant) = t.approved_merchant("花溪牛肉粉").await;
    let (other_owner, other_merchant) = t.approved_merchant("遵义羊肉粉").await;
    let on_sale = sku(&t, &owner, &merchant, "HX-1", "active").await;
    let archived = sku(&t, &other_owner, &other_merchant, "ZY-OLD", "archived").await;
    let draft = sku(&t, &other_owner, &other_merchant, "ZY-NEW", "draft").await;
    let author = t.register_member("作者").await;
    let friend = t.register_member("好友").await;
    let stranger = t.register_member("路人").await;
    befriend(&t, &author, &friend).await;
    let mine = upload(&t, &author, 7).await;
    let theirs = upload(&t, &stranger, 8).await;
    let group = community(&t, &friend, None).await;
    let public = new_post(
        &t,
        &author,
        json!({ "body": "公开", "visibility": "public" }),
    )
    .await;
    let friends_only = new_post(
        &t,
        &author,
        json!({ "body": "仅好友", "visibility": "friends" }),
    )
    .await;
    let other = new_post(
        &t,
        &friend,
        json!({ "body": "别人的帖子", "visibility": "public" }),
    )
    .await;
    let top = t
        .post(
            &format!("/api/v1/posts/{public}/comments"),
            Some(&friend.token),
            json!({ "body": "顶" }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = t
        .post(
            &format!("/api/v1/posts/{public}/comments"),
            Some(&author.token),
            json!({ "body": "谢谢", "parent_id": top }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_comment = t
        .post(
            &format!("/api/v1/posts/{other}/comments"),
            Some(&author.token),
            json!({ "body": "嗯" }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.post(
        "/api/v1/reports",
        Some(&stranger.token),
        json!({ "target_kind": "post", "target_id": public, "reason": "广告" }),
    )
    .await
    .expect(201);
    let admin = t.admin().await;

    let before = footprint(&t).await;
    let fixture = Fixture {
        author: author.token.clone(),
        stranger: stranger.token.clone(),
        admin: admin.token.clone(),
        public: public.clone(),
        friends_only: friends_only.clone(),
        other: other.clone(),
        top: top.clone(),
        reply: reply.clone(),
        other_comment: other_comment.clone(),
        mine: mine.clone(),
        theirs: theirs.clone(),
        on_sale: on_sale.clone(),
        archived: archived.clone(),
        draft: draft.clone(),
        group: group.clone(),
    };
    let cases = bad_requests(&fixture);
    for (method, path, token, body, status, field) in cases {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let body = (!body.is_null()).then_some(body);
        let r = t.request(m, &path, token, body).await;
        let what = format!("{method} {path} → {r:?}");
        assert_eq!(r.status.as_u16(), status, "{what}");
        if status != 401 {
            let p = r.body;
            assert_eq!(p["status"], status, "{what}");
            if let Some(f) = field {
                assert_eq!(p["field"], f, "{what}");
            }
        }
    }
    assert_eq!(
        footprint(&t).await,
        before,
        "a refused request writes nothing"
    );
}

async fn feed_pages_stay_stable_while_posts_arrive(t: TestApp) {
    let reader = t.register_member("读者").await;
    let a = t.register_member("关注的人A").await;
    let b = t.register_member("关注的人B").await;
    let host = t.register_member("群主").await;
    let stranger = t.register_member("陌生人").await;
    follow(&t, &reader, &a).await;
    follow(&t, &reader, &b).await;
    let group = community(&t, &host, None).await;
    join(&t, &reader, &group).await;

    // Expected in the feed, in order of writing; some share a millisecond (the id breaks
    // the tie).
    let mut expected = Vec::new();
    for i in 0..12 {
        if i % 3 != 0 {
            t.clock.advance_ms(5);
        }
        let (who, body) = match i % 4 {
            0 => (
                &a,
                json!({ "body": format!("A 公开 {i}"), "visibility": "public" }),
            ),
            1 => (
                &b,
                json!({ "body": format!("B 粉丝可见 {i}"), "visibility": "followers" }),
            ),
            2 => (
                &host,
                json!({ "body": format!("群帖 {i}"), "visibility": "community", "community_id": group }),
            ),
            _ => (
                &reader,
                json!({ "body": format!("我自己 {i}"), "visibility": "friends" }),
            ),
        };
        expected.push(new_post(&t, who, body).await);
        // Never in the reader's feed: a stranger's public post, A's friends-only post, the
        // host's public post (the reader follows neither the stranger nor the host).
        new_post(
            &t,
            &stranger,
            json!({ "body": "陌生人的帖子", "visibility": "public" }),
        )
        .await;
        new_post(
            &t,
            &a,
            json!({ "body": "A 仅好友", "visibility": "friends" }),
        )
        .await;
        new_post(
            &t,
            &host,
            json!({ "body": "群主公开", "visibility": "public" }),
        )
        .await;
    }
    expected.reverse();

    let page = |cursor: Option<String>| {
        let t = &t;
        let token = reader.token.clone();
        async move {
            let path = match cursor {
                Some(c) => format!("/api/v1/feed?limit=5&cursor={c}"),
                None => "/api/v1/feed?limit=5".to_owned(),
            };
            t.get(&path, Some(&token)).await.expect(200)
        }
    };
    let ids = |p: &Value| -> Vec<String> {
        p["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = page(None).await;
    let mut seen = ids(&first);
    let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
    // Newer posts arrive between pages, some in the same millisecond as the newest.
    let mut newer = Vec::new();
    for i in 0..3 {
        if i > 0 {
            t.clock.advance_ms(1);
        }
        newer.push(
            new_post(
                &t,
                &a,
                json!({ "body": format!("新帖 {i}"), "visibility": "public" }),
            )
            .await,
        );
    }
    while let Some(c) = cursor {
        let p = page(Some(c)).await;
        seen.extend(ids(&p));
        cursor = p["next_cursor"].as_str().map(str::to_owned);
        new_post(
            &t,
            &b,
            json!({ "body": "翻页时的新帖", "visibility": "followers" }),
        )
        .await;
    }
    assert_eq!(seen, expected, "no duplicates, no gaps, newest first");

    // A fresh first page starts with what arrived meanwhile.
    let fresh = ids(&page(None).await);
    assert_eq!(fresh.len(), 5);
    assert!(newer.iter().all(|n| fresh.contains(n)), "{fresh:?}");
    let feed_post = t
        .get(&format!("/api/v1/posts/{}", fresh[0]), Some(&reader.token))
        .await
        .expect(200);
    let listed = t
        .get("/api/v1/feed?limit=1", Some(&reader.token))
        .await
        .expect(200);
    assert_eq!(listed["items"][0], feed_post, "a listed post is the post");

    // The community page: its community posts, newest first, for members only.
    let community = t
        .get(
            &format!("/api/v1/communities/{group}/posts?limit=100"),
            Some(&reader.token),
        )
        .await
        .expect(200);
    let in_group: Vec<String> = expected
        .iter()
        .enumerate()
        .filter(|(i, _)| (11 - i) % 4 == 2)
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(ids(&community), in_group);
    t.get(
        &format!("/api/v1/communities/{group}/posts"),
        Some(&stranger.token),
    )
    .await
    .problem(403, None);

    // An author's page, paged the same way.
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/accounts/{}/posts?limit=4&cursor={c}", a.id),
            None => format!("/api/v1/accounts/{}/posts?limit=4", a.id),
        };
        let p = t.get(&path, Some(&reader.token)).await.expect(200);
        all.extend(ids(&p));
        match p["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        all.len(),
        3 + 3,
        "A's public posts (not the friends-only ones): {all:?}"
    );
}

async fn moderators_hide_and_restore_posts(t: TestApp) {
    let (owner, merchant) = t.approved_merchant("苗家酸汤").await;
    let manager = t.manager(&owner, &merchant).await;
    let group = community(&t, &owner, Some(&merchant)).await;
    let author = t.register_member("发帖人").await;
    let group_admin = t.register_member("群管理").await;
    let member = t.register_member("群友").await;
    let outsider = t.register_member("群外人").await;
    for u in [&author, &group_admin, &member] {
        join(&t, u, &group).await;
    }
    t.put(
        &format!(
            "/api/v1/communities/{group}/members/{}/role",
            group_admin.id
        ),
        Some(&owner.token),
        json!({ "role": "admin" }),
    )
    .await
    .expect(200);
    let admin = t.admin().await;
    let in_group = new_post(
        &t,
        &author,
        json!({ "body": "酸汤鱼做法", "visibility": "community", "community_id": group }),
    )
    .await;
    let public = new_post(
        &t,
        &author,
        json!({ "body": "公开的帖子", "visibility": "public" }),
    )
    .await;
    let report = t
        .post(
            "/api/v1/reports",
            Some(&member.token),
            json!({ "target_kind": "post", "target_id": in_group, "reason": "广告" }),
        )
        .await
        .expect(201);
    assert_eq!(report["post_id"], in_group.as_str());
    assert_eq!(report["resolved_at"], Value::Null);

    let hide = |post: &str| format!("/api/v1/posts/{post}/hide");
    let unhide = |post: &str| format!("/api/v1/posts/{post}/unhide");
    let reason = json!({ "reason": "违规广告" });
    // A plain member sees the post but may not hide it; an outsider does not even see it.
    t.post(&hide(&in_group), Some(&member.token), reason.clone())
        .await
        .problem(403, None);
    t.post(&hide(&in_group), Some(&outsider.token), reason.clone())
        .await
        .problem(404, None);
    // The community's admin hides it: gone for everyone but its author.
    let m = t
        .post(&hide(&in_group), Some(&group_admin.token), reason.clone())
        .await
        .expect(200);
    assert_eq!(
        (m["hidden"].as_bool(), m["hidden_by"].as_str()),
        (Some(true), Some(group_admin.id.as_str()))
    );
    t.post(&hide(&in_group), Some(&group_admin.token), reason.clone())
        .await
        .expect(200);
    t.get(&format!("/api/v1/posts/{in_group}"), Some(&member.token))
        .await
        .problem(404, None);
    let own = t
        .get(&format!("/api/v1/posts/{in_group}"), Some(&author.token))
        .await
        .expect(200);
    assert_eq!(own["hidden"], true);
    let page = t
        .get(
            &format!("/api/v1/communities/{group}/posts"),
            Some(&member.token),
        )
        .await
        .expect(200);
    assert_eq!(page["items"], json!([]));
    t.post(
        &format!("/api/v1/posts/{in_group}/like"),
        Some(&member.token),
        json!({}),
    )
    .await
    .problem(404, None);
    // Its reports are resolved, as platform admins see.
    let reports = t
        .get("/api/v1/reports", Some(&admin.token))
        .await
        .expect(200);
    let r = &reports["items"][0];
    assert_eq!(r["id"], report["id"]);
    assert_eq!(r["reporter"]["id"], member.id.as_str());
    assert!(r["resolved_at"].is_string(), "{r}");
    assert_eq!(r["resolution"], "hidden: 违规广告");

    // The merchant's staff restore it (they need not be members).
    let m = t
        .post(&unhide(&in_group), Some(&manager.token), json!({}))
        .await
        .expect(200);
    assert_eq!(m["hidden"], false);
    t.get(&format!("/api/v1/posts/{in_group}"), Some(&member.token))
        .await
        .expect(200);

    // A post outside any community: only platform admins moderate it.
    t.post(&hide(&public), Some(&group_admin.token), reason.clone())
        .await
        .problem(403, None);
    t.post(&hide(&public), Some(&owner.token), reason.clone())
        .await
        .problem(403, None);
    t.post(&hide(&public), Some(&admin.token), reason.clone())
        .await
        .expect(200);
    t.get(&format!("/api/v1/posts/{public}"), None)
        .await
        .problem(404, None);

    // What a platform admin hid, only a platform admin restores.
    t.post(&hide(&in_group), Some(&admin.token), reason.clone())
        .await
        .expect(200);
    t.post(&unhide(&in_group), Some(&manager.token), json!({}))
        .await
        .problem(403, None);
    t.post(
        &unhide(&in_group),
        Some(&admin.token),
        json!({ "reason": "申诉通过" }),
    )
    .await
    .expect(200);
    t.get(&format!("/api/v1/posts/{in_group}"), Some(&member.token))
        .await
        .expect(200);
    assert_eq!(
        topics(&t, &in_group).await,
        [
            "post.created",
            "post.hidden",
            "post.unhidden",
            "post.hidden",
            "post.unhidden"
        ]
    );
}

/// (method, path, token, body or null, status, field)
type Case<'a> = (
    &'static str,
    String,
    Option<&'a str>,
    Value,
    u16,
    Option<&'static str>,
);

/// What the refused requests refer to.
struct Fixture {
    author: String,
    stranger: String,
    admin: String,
    public: String,
    friends_only: String,
    other: String,
    top: String,
    reply: String,
    other_comment: String,
    mine: String,
    theirs: String,
    on_sale: String,
    archived: String,
    draft: String,
    group: String,
}

/// Built outside the async test so its many temporaries do not live in the test's future.
fn bad_requests(f: &Fixture) -> Vec<Case<'_>> {
    let Fixture {
        public,
        friends_only,
        other,
        top,
        reply,
        other_comment,
        mine,
        theirs,
        on_sale,
        archived,
        draft,
        group,
        ..
    } = f;
    let hex = |c: char| c.to_string().repeat(64);
    let ten_images: Vec<String> = "0123456789".chars().map(hex).collect();
    let eleven_tags: Vec<String> = (0..11).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let nobody = "01900000-0000-7000-8000-000000000000";
    let a = Some(f.author.as_str());
    let s = Some(f.stranger.as_str());
    // A public post with these fields.
    let post = |mut fields: Value| {
        fields["visibility"] = json!("public");
        fields
    };
    #[rustfmt::skip]
    let cases: Vec<Case<'_>> = vec![
        ("POST", "/api/v1/posts".into(), None, json!({ "body": "匿名", "visibility": "public" }), 401, None),
        ("POST", "/api/v1/posts".into(), a, post(json!({ "body": "" })), 422, Some("body")),
        ("POST", "/api/v1/posts".into(), a, post(json!({ "body": "   \n " })), 422, Some("body")),
        ("POST", "/api/v1/posts".into(), a, post(json!({ "body": "长".repeat(2001) })), 422, Some("body")),
        ("POST", "/api/v1/posts".into(), a, post(json!({ "body": "响铃\u{7}" })), 422, Some("body")),
        ("POST", "/api/v1/posts".into(), a, json!({ "visibility": "public" }), 422, Some("body")),
        ("POST", "/api/v1/posts".into(), a, json!({ "body": "x", "visibility": "secret" }), 422, Some("visibility")),
        ("POST", "/api/v1/posts".into(), a, json!({ "body": "x", "visibility": "public", "colour": "red" }), 422, None),
        ("POST", "/api/v1/posts".into(), a, json!({ "body": "x", "visibility": "community" }), 422, Some("community_id")),
        ("POST", "/api/v1/posts".into(), a, json!({ "body": "x", "visibility": "public", "community_id": group }), 422, Some("community_id")),
        ("POST", "/api/v1/posts".into(), a, json!({ "body": "x", "visibility": "community", "community_id": group }), 422, Some("community_id")),
        ("POST", "/api/v1/posts".into(), a, json!({ "body": "x", "visibility": "community", "community_id": nobody }), 422, Some("community_id")),
        ("POST", "/api/v1/posts".into(), a, json!({ "body": "x", "visibility": "community", "community_id": "群" }), 422, Some("community_id")),
        ("POST", "/api/v1/posts".into(), a, post(json!({ "body": "x", "images": ten_images })), 422, Some("images")),
        ("POST", "/api/v1/posts".into(), a, post(json!({ "body": "x", "images": [mine, "not-a-media-id"] })), 422, Some("images[1]")),
        ("POST", "/api/v1/posts".into(), a, post(json!({ "body": "x", "images": [theirs] })), 422, Some("images[0]")),
        ("POST", "/api/v1/posts".into(), a, post(json!({ "body": "x", "images": [hex('e')] })), 422, Some("images[0]")),
        ("POST", "/api/v1/posts".into(), a, post(json!({ "body": "x", "images": [mine, mine] })), 422, Some("images[1]")),
        ("POST", "/api/v1/posts".into(), a, post(json!({ "body": "x", "tags": eleven_tags })), 422, Some("tags")),
        ("POST", "/api/v1/posts".into(), a, post(json!({ "body": "x", "tags": [on_sale, archived] })), 422, Some("tags[1]")),
        ("POST", "/api/v1/posts".into(), a, post(json!({ "body": "x", "tags": [draft] })), 422, Some("tags[0]")),
        ("POST", "/api/v1/posts".into(), a, post(json!({ "body": "x", "tags": [nobody] })), 422, Some("tags[0]")),
        ("POST", "/api/v1/posts".into(), a, post(json!({ "body": "x", "tags": ["SKU-1"] })), 422, Some("tags[0]")),
        ("POST", "/api/v1/posts".into(), a, post(json!({ "body": "x", "tags": [on_sale, on_sale] })), 422, Some("tags[1]")),
        ("PATCH", format!("/api/v1/posts/{public}"), a, json!({ "body": "" }), 422, Some("body")),
        ("PATCH", format!("/api/v1/posts/{public}"), a, json!({ "visibility": "community" }), 422, Some("community_id")),
        ("PATCH", format!("/api/v1/posts/{public}"), a, json!({ "community_id": group }), 422, Some("community_id")),
        ("PATCH", format!("/api/v1/posts/{public}"), a, json!({ "images": ten_images }), 422, Some("images")),
        ("PATCH", format!("/api/v1/posts/{public}"), a, json!({ "tags": [archived] }), 422, Some("tags[0]")),
        ("PATCH", format!("/api/v1/posts/{public}"), s, json!({ "body": "改" }), 403, None),
        ("PATCH", format!("/api/v1/posts/{friends_only}"), s, json!({ "body": "改" }), 404, None),
        ("DELETE", format!("/api/v1/posts/{public}"), s, Value::Null, 403, None),
        ("POST", format!("/api/v1/posts/{friends_only}/comments"), s, json!({ "body": "看不见也要评论" }), 404, None),
        ("POST", format!("/api/v1/posts/{friends_only}/like"), s, json!({}), 404, None),
        ("POST", format!("/api/v1/posts/{friends_only}/shares"), s, json!({ "channel": "link" }), 404, None),
        ("POST", format!("/api/v1/posts/{nobody}/comments"), s, json!({ "body": "不存在" }), 404, None),
        ("POST", "/api/v1/posts/not-an-id/like".into(), s, json!({}), 404, None),
        ("POST", format!("/api/v1/posts/{public}/comments"), s, json!({ "body": "" }), 422, Some("body")),
        ("POST", format!("/api/v1/posts/{public}/comments"), s, json!({ "body": "长".repeat(501) }), 422, Some("body")),
        ("POST", format!("/api/v1/posts/{public}/comments"), s, json!({ "body": "回复的回复", "parent_id": reply }), 422, Some("parent_id")),
        ("POST", format!("/api/v1/posts/{public}/comments"), s, json!({ "body": "别的帖子", "parent_id": other_comment }), 422, Some("parent_id")),
        ("POST", format!("/api/v1/posts/{public}/comments"), s, json!({ "body": "乱填", "parent_id": "x" }), 422, Some("parent_id")),
        ("POST", format!("/api/v1/posts/{public}/shares"), s, json!({ "channel": "weibo" }), 422, Some("channel")),
        ("DELETE", format!("/api/v1/comments/{top}"), s, Value::Null, 403, None),
        ("POST", "/api/v1/reports".into(), s, json!({ "target_kind": "post", "target_id": public, "reason": "再举报一次" }), 409, Some("target_id")),
        ("POST", "/api/v1/reports".into(), s, json!({ "target_kind": "post", "target_id": friends_only, "reason": "看不见" }), 422, Some("target_id")),
        ("POST", "/api/v1/reports".into(), s, json!({ "target_kind": "comment", "target_id": nobody, "reason": "没有" }), 422, Some("target_id")),
        ("POST", "/api/v1/reports".into(), s, json!({ "target_kind": "post", "target_id": other, "reason": "" }), 422, Some("reason")),
        ("POST", "/api/v1/reports".into(), s, json!({ "target_kind": "post", "target_id": other, "reason": "长".repeat(201) }), 422, Some("reason")),
        ("POST", "/api/v1/reports".into(), s, json!({ "target_kind": "user", "target_id": other, "reason": "人" }), 422, Some("target_kind")),
        ("GET", "/api/v1/reports".into(), s, Value::Null, 403, None),
        ("POST", format!("/api/v1/posts/{public}/hide"), s, json!({ "reason": "不喜欢" }), 403, None),
        ("POST", format!("/api/v1/posts/{friends_only}/hide"), s, json!({ "reason": "不喜欢" }), 404, None),
        ("POST", format!("/api/v1/posts/{public}/hide"), Some(f.admin.as_str()), json!({ "reason": "" }), 422, Some("reason")),
        ("GET", "/api/v1/feed?limit=0".into(), a, Value::Null, 422, Some("limit")),
        ("GET", "/api/v1/feed?cursor=bm90LWEtY3Vyc29y".into(), a, Value::Null, 422, Some("cursor")),
        ("GET", "/api/v1/feed".into(), None, Value::Null, 401, None),
        ("GET", format!("/api/v1/accounts/{nobody}/posts"), a, Value::Null, 404, None),
        ("GET", format!("/api/v1/communities/{nobody}/posts"), a, Value::Null, 404, None),
        ("GET", format!("/api/v1/communities/{group}/posts"), a, Value::Null, 403, None),
        ("GET", format!("/api/v1/communities/{group}/posts"), None, Value::Null, 401, None),
    ];
    cases
}

async fn likes_and_reports_page_without_gaps(t: TestApp) {
    let author = t.register_member("晒图的").await;
    let admin = t.admin().await;
    let post = new_post(
        &t,
        &author,
        json!({ "body": "翻页看点赞", "visibility": "public" }),
    )
    .await;
    let mut likers = Vec::new();
    for i in 0..5 {
        let u = t.register_member(&format!("点赞{i}")).await;
        t.post(
            &format!("/api/v1/posts/{post}/like"),
            Some(&u.token),
            json!({}),
        )
        .await
        .expect(200);
        t.post(
            "/api/v1/reports",
            Some(&u.token),
            json!({ "target_kind": "post", "target_id": post, "reason": "翻页测试" }),
        )
        .await
        .expect(201);
        likers.push(u.id);
        // Pairs share a millisecond, so the id has to break the tie.
        if i % 2 == 1 {
            t.clock.advance_secs(1);
        }
    }
    let likes = t
        .assert_pages_cover(
            &format!("/api/v1/posts/{post}/likes"),
            None,
            2,
            "/account/id",
        )
        .await;
    assert_eq!(likes.len(), 3);
    let mut liked = likes.concat();
    liked.sort();
    likers.sort();
    assert_eq!(liked, likers);
    let reports = t
        .assert_pages_cover("/api/v1/reports", Some(&admin.token), 2, "/id")
        .await;
    assert_eq!((reports.len(), reports.concat().len()), (3, 5));
}
