//! Pictures of shops and members over HTTP on both engines (issue 18): the shop's staff set
//! and clear its logo and banner through the merchant's profile (`PATCH
//! /api/v1/merchants/{id}`), a member their avatar (`PUT /api/v1/me/avatar`); only an image
//! the caller uploaded — for a shop, an upload of someone on its staff — is accepted (422
//! on the field otherwise, nothing changed); anonymous is 401, a stranger 403, an unknown
//! shop 404. The pictures show where the shop and the member are read: the merchant, the
//! shops' list, the profile, the people lists, posts and comments.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{TestApp, User};
use crate::worlds::{small_png, upload};

both_engines!(
    staff_set_and_clear_the_shops_logo_and_banner,
    members_set_and_clear_their_avatar_shown_beside_their_name,
);

async fn media_of(t: &TestApp, who: &User, seed: u8) -> String {
    upload(t, Some(&who.token), small_png(seed), "image/png", "p.png")
        .await
        .expect(201)["id"]
        .as_str()
        .expect("media id")
        .to_owned()
}

fn pic_id(v: &Value) -> Option<&str> {
    v["id"].as_str()
}

async fn staff_set_and_clear_the_shops_logo_and_banner(t: TestApp) {
    let (owner, mid) = t.approved_merchant("有图小铺").await;
    let manager = t.manager(&owner, &mid).await;
    let stranger = t.register_member("路人甲").await;
    let shop = format!("/api/v1/merchants/{mid}");
    let logo = media_of(&t, &owner, 1).await;
    // The manager's upload is the shop's too: staff share their pictures.
    let banner = media_of(&t, &manager, 2).await;
    let theirs = media_of(&t, &stranger, 3).await;

    let fresh = t.get(&shop, None).await.expect(200);
    assert_eq!(fresh["logo"], Value::Null);
    assert_eq!(fresh["banner"], Value::Null);

    let body = json!({ "logo_media_id": logo, "banner_media_id": banner });
    // Who may: staff only.
    t.patch(&shop, None, body.clone()).await.problem(401, None);
    t.patch(&shop, Some(&stranger.token), body.clone())
        .await
        .problem(403, None);
    let unknown = "/api/v1/merchants/00000000-0000-4000-8000-000000000000";
    t.patch(unknown, Some(&owner.token), body.clone())
        .await
        .problem(404, None);

    let m = t.patch(&shop, Some(&owner.token), body).await.expect(200);
    assert_eq!(pic_id(&m["logo"]), Some(logo.as_str()));
    assert_eq!(m["logo"]["url"], format!("/media/{logo}"));
    assert_eq!(m["logo"]["thumb_url"], format!("/media/{logo}/thumb"));
    assert_eq!(pic_id(&m["banner"]), Some(banner.as_str()));
    // Anyone reads them on the shop and in the list of shops; the files are served.
    let public = t.get(&shop, None).await.expect(200);
    assert_eq!(public["logo"], m["logo"]);
    assert_eq!(public["banner"], m["banner"]);
    let r = t
        .client
        .get(format!(
            "{}{}",
            t.base,
            public["logo"]["thumb_url"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cards = t.app.trading_merchants().await.expect("shops");
    let card = cards.iter().find(|c| c.id.as_str() == mid).expect("card");
    assert_eq!(
        card.logo.as_ref().map(|l| l.id.as_str()),
        Some(logo.as_str())
    );

    // Bad input: another member's image, an id that names nothing, a non-string.
    for (field, bad) in [
        ("logo_media_id", json!(theirs)),
        ("banner_media_id", json!(theirs)),
        ("logo_media_id", json!("ab".repeat(32))),
        ("banner_media_id", json!("../../etc/passwd")),
    ] {
        t.patch(&shop, Some(&manager.token), json!({ field: bad }))
            .await
            .problem(422, Some(field));
    }
    t.patch(&shop, Some(&owner.token), json!({ "logo_media_id": 7 }))
        .await
        .problem(422, None);
    // Nothing changed by the refusals, and a name change leaves the pictures alone.
    let after = t
        .patch(&shop, Some(&owner.token), json!({ "name": "有图小铺二店" }))
        .await
        .expect(200);
    assert_eq!(after["logo"], m["logo"]);
    assert_eq!(after["banner"], m["banner"]);

    // Cleared with "": one at a time.
    let cleared = t
        .patch(&shop, Some(&manager.token), json!({ "logo_media_id": "" }))
        .await
        .expect(200);
    assert_eq!(cleared["logo"], Value::Null);
    assert_eq!(cleared["banner"], m["banner"]);
    let cleared = t
        .patch(&shop, Some(&owner.token), json!({ "banner_media_id": "" }))
        .await
        .expect(200);
    assert_eq!(cleared["banner"], Value::Null);

    // An application may come with its pictures, the applicant's own uploads only.
    let applicant = t.register_member("想开店的人").await;
    let own = media_of(&t, &applicant, 4).await;
    t.post(
        "/api/v1/merchants",
        Some(&applicant.token),
        json!({ "name": "借图申请", "logo_media_id": theirs }),
    )
    .await
    .problem(422, Some("logo_media_id"));
    let applied = t
        .post(
            "/api/v1/merchants",
            Some(&applicant.token),
            json!({ "name": "自带图申请", "logo_media_id": own }),
        )
        .await
        .expect(201);
    assert_eq!(pic_id(&applied["logo"]), Some(own.as_str()));
}

async fn members_set_and_clear_their_avatar_shown_beside_their_name(t: TestApp) {
    let me = t.register_member("有头像的人").await;
    let friend = t.register_member("好友乙").await;
    let avatar = "/api/v1/me/avatar";
    let mine = media_of(&t, &me, 5).await;
    let theirs = media_of(&t, &friend, 6).await;
    assert_eq!(t.me(&me).await["account"]["avatar"], Value::Null);

    // Who may: the signed-in member, for themselves only.
    t.put(avatar, None, json!({ "media_id": mine }))
        .await
        .problem(401, None);
    // Bad input: another member's image, an unknown id, a wrong type, an unknown field.
    t.put(avatar, Some(&me.token), json!({ "media_id": theirs }))
        .await
        .problem(422, Some("media_id"));
    t.put(
        avatar,
        Some(&me.token),
        json!({ "media_id": "cd".repeat(32) }),
    )
    .await
    .problem(422, Some("media_id"));
    t.put(avatar, Some(&me.token), json!({ "media_id": 5 }))
        .await
        .problem(422, None);
    t.put(avatar, Some(&me.token), json!({ "picture": mine }))
        .await
        .problem(422, None);

    let account = t
        .put(avatar, Some(&me.token), json!({ "media_id": mine }))
        .await
        .expect(200);
    assert_eq!(pic_id(&account["avatar"]), Some(mine.as_str()));
    assert_eq!(
        account["avatar"]["thumb_url"],
        format!("/media/{mine}/thumb")
    );
    assert_eq!(t.me(&me).await["account"]["avatar"], account["avatar"]);

    // Shown where the member is read: the profile, the people lists, posts and comments.
    let profile = t
        .get(&format!("/api/v1/accounts/{}", me.id), None)
        .await
        .expect(200);
    assert_eq!(profile["avatar"], account["avatar"]);
    t.post(
        &format!("/api/v1/accounts/{}/follow", me.id),
        Some(&friend.token),
        json!({}),
    )
    .await
    .expect(204);
    let following = t
        .get(
            &format!("/api/v1/accounts/{}/following", friend.id),
            Some(&friend.token),
        )
        .await
        .expect(200);
    assert_eq!(following["items"][0]["avatar"], account["avatar"]);
    let post = t
        .post(
            "/api/v1/posts",
            Some(&me.token),
            json!({ "body": "新头像", "visibility": "public" }),
        )
        .await
        .expect(201);
    assert_eq!(post["author"]["avatar"], account["avatar"]);
    let pid = post["id"].as_str().expect("post id");
    let comment = t
        .post(
            &format!("/api/v1/posts/{pid}/comments"),
            Some(&me.token),
            json!({ "body": "自己顶一下" }),
        )
        .await
        .expect(201);
    assert_eq!(comment["author"]["avatar"], account["avatar"]);
    // Someone without a picture has none (the pages draw their initial).
    let c2 = t
        .post(
            &format!("/api/v1/posts/{pid}/comments"),
            Some(&friend.token),
            json!({ "body": "好看" }),
        )
        .await
        .expect(201);
    assert_eq!(c2["author"]["avatar"], Value::Null);

    // Cleared with null or "".
    for clear in [json!({ "media_id": null }), json!({ "media_id": "" })] {
        let a = t.put(avatar, Some(&me.token), clear).await.expect(200);
        assert_eq!(a["avatar"], Value::Null);
    }
    let post = t
        .get(&format!("/api/v1/posts/{pid}"), Some(&friend.token))
        .await
        .expect(200);
    assert_eq!(post["author"]["avatar"], Value::Null);
}
