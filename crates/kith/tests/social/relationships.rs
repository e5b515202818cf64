//! Relationships: following, friends (mutual follows) with their counts and lists, mutual
//! friends of two members, and blocks — which hide each member from the other, refuse
//! follows both ways and remove the follows that existed.

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{TestApp, User};

both_engines!(
    follow_unfollow_friends_and_counts,
    friend_lists_page_newest_first,
    blocks_hide_and_refuse_both_ways,
    bad_relationship_input,
);

async fn follow(t: &TestApp, who: &User, target: &User) -> crate::harness::Resp {
    t.post(
        &format!("/api/v1/accounts/{}/follow", target.id),
        Some(&who.token),
        json!({}),
    )
    .await
}

async fn profile(t: &TestApp, viewer: Option<&User>, id: &str) -> crate::harness::Resp {
    t.get(
        &format!("/api/v1/accounts/{id}"),
        viewer.map(|u| u.token.as_str()),
    )
    .await
}

/// `(followers, following, friends)` of a profile document.
fn counts(p: &Value) -> (i64, i64, i64) {
    (
        p["followers"].as_i64().expect("followers"),
        p["following"].as_i64().expect("following"),
        p["friends"].as_i64().expect("friends"),
    )
}

/// The ids of one list page.
fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn list(t: &TestApp, viewer: Option<&User>, path: &str) -> Value {
    t.get(path, viewer.map(|u| u.token.as_str()))
        .await
        .expect(200)
}

async fn follow_unfollow_friends_and_counts(t: TestApp) {
    let a = t.register_member("阿梅").await;
    let b = t.register_member("小波").await;
    let c = t.register_member("陈姐").await;
    let d = t.register_member("大东").await;

    // One-way follow; following again changes nothing.
    follow(&t, &a, &b).await.expect(204);
    follow(&t, &a, &b).await.expect(204);
    let pb = profile(&t, Some(&a), &b.id).await.expect(200);
    assert_eq!(pb["id"], b.id.as_str());
    assert_eq!(pb["display_name"], "小波");
    assert_eq!(counts(&pb), (1, 0, 0));
    assert_eq!(
        (&pb["followed_by_me"], &pb["follows_me"], &pb["is_friend"]),
        (&json!(true), &json!(false), &json!(false))
    );
    // Seen from b: a follows them.
    let pa = profile(&t, Some(&b), &a.id).await.expect(200);
    assert_eq!(
        (&pa["followed_by_me"], &pa["follows_me"], &pa["is_friend"]),
        (&json!(false), &json!(true), &json!(false))
    );

    // Following back makes them friends (the strong tie).
    follow(&t, &b, &a).await.expect(204);
    let pb = profile(&t, Some(&a), &b.id).await.expect(200);
    assert_eq!(counts(&pb), (1, 1, 1));
    assert_eq!(pb["is_friend"], true);
    // Anonymous viewers see the counts and no relation.
    let anon = profile(&t, None, &b.id).await.expect(200);
    assert_eq!(counts(&anon), (1, 1, 1));
    assert_eq!(anon["followed_by_me"], false);

    // c is a friend of both a and b; d a friend of a only; a also follows nobody else.
    for (x, y) in [(&a, &c), (&c, &a), (&b, &c), (&c, &b), (&a, &d), (&d, &a)] {
        follow(&t, x, y).await.expect(204);
    }
    assert_eq!(
        counts(&profile(&t, None, &a.id).await.expect(200)),
        (3, 3, 3)
    );
    let mutual = list(
        &t,
        Some(&a),
        &format!("/api/v1/accounts/{}/mutual-friends", b.id),
    )
    .await;
    assert_eq!(ids(&mutual), vec![c.id.clone()]);
    assert_eq!(mutual["items"][0]["display_name"], "陈姐");
    assert!(mutual["items"][0]["since"].is_string(), "{mutual}");
    // Symmetric from b's side.
    let mutual = list(
        &t,
        Some(&b),
        &format!("/api/v1/accounts/{}/mutual-friends", a.id),
    )
    .await;
    assert_eq!(ids(&mutual), vec![c.id.clone()]);

    // Lists.
    let followers = list(&t, None, &format!("/api/v1/accounts/{}/followers", b.id)).await;
    let mut f = ids(&followers);
    f.sort();
    let mut want = vec![a.id.clone(), c.id.clone()];
    want.sort();
    assert_eq!(f, want);
    let following = list(&t, None, &format!("/api/v1/accounts/{}/following", d.id)).await;
    assert_eq!(ids(&following), vec![a.id.clone()]);

    // Unfollowing ends the friendship; unfollowing again is harmless.
    t.delete(&format!("/api/v1/accounts/{}/follow", b.id), Some(&a.token))
        .await
        .expect(204);
    t.delete(&format!("/api/v1/accounts/{}/follow", b.id), Some(&a.token))
        .await
        .expect(204);
    let pb = profile(&t, Some(&a), &b.id).await.expect(200);
    assert_eq!(counts(&pb), (1, 2, 1), "c follows b; b follows a and c");
    assert_eq!(
        (&pb["followed_by_me"], &pb["follows_me"], &pb["is_friend"]),
        (&json!(false), &json!(true), &json!(false))
    );
    let friends = list(&t, None, &format!("/api/v1/accounts/{}/friends", b.id)).await;
    assert_eq!(ids(&friends), vec![c.id.clone()]);

    // Each new follow and each unfollow announced itself once (the repeats did not).
    let topics: Vec<(String, i64)> = t
        .app
        .db
        .read(|c| {
            c.query(
                "SELECT topic, COUNT(*) FROM outbox WHERE topic LIKE 'follow.%' GROUP BY topic ORDER BY topic",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.text(0)?, r.int(1)?)))
            .collect::<Result<Vec<_>, kith_store::StoreError>>()
        })
        .await
        .expect("outbox");
    assert_eq!(
        topics,
        vec![
            ("follow.created".to_owned(), 8),
            ("follow.removed".to_owned(), 1)
        ]
    );
}

async fn friend_lists_page_newest_first(t: TestApp) {
    let hub = t.register_member("枢纽").await;
    let mut friends = Vec::new();
    for i in 0..5 {
        let f = t.register_member(&format!("朋友{i}")).await;
        follow(&t, &f, &hub).await.expect(204);
        t.clock.advance_secs(1);
        follow(&t, &hub, &f).await.expect(204);
        t.clock.advance_secs(1);
        friends.push(f.id);
    }
    // Newest friendship first, two per page, no gaps or repeats.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("?limit=2&cursor={c}"),
            None => "?limit=2".to_owned(),
        };
        let page = list(&t, None, &format!("/api/v1/accounts/{}/friends{q}", hub.id)).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    friends.reverse();
    assert_eq!(seen, friends);
    let followers = list(
        &t,
        None,
        &format!("/api/v1/accounts/{}/followers?limit=100", hub.id),
    )
    .await;
    assert_eq!(ids(&followers), friends);
    assert_eq!(followers["next_cursor"], Value::Null);
}

async fn blocks_hide_and_refuse_both_ways(t: TestApp) {
    let a = t.register_member("阿甲").await;
    let b = t.register_member("阿乙").await;
    let c = t.register_member("阿丙").await;
    for (x, y) in [(&a, &b), (&b, &a), (&a, &c), (&b, &c)] {
        follow(&t, x, y).await.expect(204);
    }
    assert_eq!(
        counts(&profile(&t, None, &a.id).await.expect(200)),
        (1, 2, 1)
    );
    // A public post of each, and one of c's that both see throughout.
    let public = |body: &str| json!({ "body": body, "visibility": "public" });
    let pa = crate::worlds::post(&t, &a, public("阿甲的帖子")).await;
    let pb = crate::worlds::post(&t, &b, public("阿乙的帖子")).await;
    let pc = crate::worlds::post(&t, &c, public("阿丙的帖子")).await;
    let read = |who: &User, id: &str| {
        let path = format!("/api/v1/posts/{id}");
        let token = who.token.clone();
        let t = &t;
        async move { t.get(&path, Some(&token)).await }
    };
    read(&b, &pa).await.expect(200);
    read(&a, &pb).await.expect(200);

    // b blocks a: the follows between them go, both ways.
    t.post(
        &format!("/api/v1/accounts/{}/block", a.id),
        Some(&b.token),
        json!({}),
    )
    .await
    .expect(204);
    // Blocking again is harmless.
    t.post(
        &format!("/api/v1/accounts/{}/block", a.id),
        Some(&b.token),
        json!({}),
    )
    .await
    .expect(204);
    assert_eq!(
        counts(&profile(&t, Some(&c), &a.id).await.expect(200)),
        (0, 1, 0)
    );
    assert_eq!(
        counts(&profile(&t, Some(&c), &b.id).await.expect(200)),
        (0, 1, 0)
    );

    // Neither sees the other's posts: not the blocker the blocked member's, not the
    // blocked member the blocker's. Both still see a third member's.
    read(&b, &pa).await.problem(404, None);
    read(&a, &pb).await.problem(404, None);
    read(&a, &pc).await.expect(200);
    read(&b, &pc).await.expect(200);

    // Neither sees the other's profile or lists, and neither can follow the other.
    profile(&t, Some(&a), &b.id).await.problem(404, None);
    profile(&t, Some(&b), &a.id).await.problem(404, None);
    t.get(
        &format!("/api/v1/accounts/{}/followers", b.id),
        Some(&a.token),
    )
    .await
    .problem(404, None);
    t.get(
        &format!("/api/v1/accounts/{}/mutual-friends", a.id),
        Some(&b.token),
    )
    .await
    .problem(404, None);
    follow(&t, &a, &b).await.problem(403, None);
    follow(&t, &b, &a).await.problem(403, None);

    // In a third member's lists each is hidden from the other.
    let seen_by_a = list(
        &t,
        Some(&a),
        &format!("/api/v1/accounts/{}/followers", c.id),
    )
    .await;
    assert_eq!(ids(&seen_by_a), vec![a.id.clone()]);
    let seen_by_c = list(
        &t,
        Some(&c),
        &format!("/api/v1/accounts/{}/followers", c.id),
    )
    .await;
    assert_eq!(ids(&seen_by_c).len(), 2);

    // The blocker sees whom they blocked.
    let blocks = list(&t, Some(&b), "/api/v1/me/blocks").await;
    assert_eq!(ids(&blocks), vec![a.id.clone()]);
    assert_eq!(
        ids(&list(&t, Some(&a), "/api/v1/me/blocks").await),
        Vec::<String>::new()
    );

    // Lifting the block lets them see and follow again (old follows stay gone).
    t.delete(&format!("/api/v1/accounts/{}/block", a.id), Some(&b.token))
        .await
        .expect(204);
    let pb_profile = profile(&t, Some(&a), &b.id).await.expect(200);
    assert_eq!(pb_profile["followed_by_me"], false);
    follow(&t, &a, &b).await.expect(204);
    read(&b, &pa).await.expect(200);
    read(&a, &pb).await.expect(200);
}

async fn bad_relationship_input(t: TestApp) {
    let a = t.register_member("阿甲").await;
    let ghost = "0190a0b0-0000-7000-8000-000000000000";

    follow(&t, &a, &a).await.problem(422, Some("account_id"));
    t.post(
        &format!("/api/v1/accounts/{}/block", a.id),
        Some(&a.token),
        json!({}),
    )
    .await
    .problem(422, Some("account_id"));
    t.post(
        &format!("/api/v1/accounts/{ghost}/follow"),
        Some(&a.token),
        json!({}),
    )
    .await
    .problem(404, None);
    t.post(
        "/api/v1/accounts/not-an-id/follow",
        Some(&a.token),
        json!({}),
    )
    .await
    .problem(404, None);
    profile(&t, None, ghost).await.problem(404, None);
    t.post(
        &format!("/api/v1/accounts/{}/follow", a.id),
        None,
        json!({}),
    )
    .await
    .problem(401, None);
    t.get(&format!("/api/v1/accounts/{}/mutual-friends", a.id), None)
        .await
        .problem(401, None);
    t.get(
        &format!("/api/v1/accounts/{}/followers?limit=0", a.id),
        None,
    )
    .await
    .problem(422, Some("limit"));
    t.get(
        &format!("/api/v1/accounts/{}/friends?cursor=%21%21", a.id),
        None,
    )
    .await
    .problem(422, Some("cursor"));
    // Nothing was written by any of it.
    let n: i64 = t
        .app
        .db
        .read(|c| {
            c.query_one(
                "SELECT (SELECT COUNT(*) FROM follows) + (SELECT COUNT(*) FROM blocks)",
                &[],
            )?
            .int(0)
        })
        .await
        .expect("count");
    assert_eq!(n, 0);
}
