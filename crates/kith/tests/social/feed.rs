//! The trust-ranked feed over HTTP on both engines: posts blended by closeness, recency and
//! engagement in the documented order; pages that neither repeat nor skip while posts and
//! likes arrive; only what the reader may see (not strangers', not friends-only posts of
//! people who are not friends, nothing across a block); bad input refused.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{TestApp, User};
use crate::worlds::{befriend, community, follow, join, post};

both_engines!(
    trusted_feed_blends_closeness_recency_and_engagement,
    trusted_pages_stay_stable_while_posts_and_likes_arrive,
    trusted_feed_reaches_back_over_days_in_rank_order,
    trusted_feed_bad_input,
);

const HOUR: i64 = 3600;

async fn page(t: &TestApp, who: &User, limit: i64, cursor: Option<&str>) -> Value {
    let path = match cursor {
        Some(c) => format!("/api/v1/feed/trusted?limit={limit}&cursor={c}"),
        None => format!("/api/v1/feed/trusted?limit={limit}"),
    };
    t.get(&path, Some(&who.token)).await.expect(200)
}

fn post_ids(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["post"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The reader R has a friend F, follows O, and belongs to H's community. Rank keys:
/// F's post at T → T + 12 h; H's community post at T + 1 h → T + 7 h; O's lively post at
/// T + 2.5 h with 10 likes → T + 7.5 h; O's quiet post at T + 2 h → T + 2 h.
async fn trusted_feed_blends_closeness_recency_and_engagement(t: TestApp) {
    let r = t.register_member("读者").await;
    let f = t.register_member("好友").await;
    let o = t.register_member("博主").await;
    let h = t.register_member("群主").await;
    let stranger = t.register_member("陌生人").await;
    befriend(&t, &r, &f).await;
    follow(&t, &r, &o).await;
    let k = community(&t, &h, "读书会").await;
    join(&t, &r, &k).await;
    let pub_post = |b: &str| json!({ "body": b, "visibility": "public" });

    let fp = post(&t, &f, pub_post("好友的帖子")).await;
    t.clock.advance_secs(HOUR);
    let hp = post(
        &t,
        &h,
        json!({ "body": "群帖", "visibility": "community", "community_id": k }),
    )
    .await;
    t.clock.advance_secs(HOUR);
    let quiet = post(&t, &o, pub_post("博主日常")).await;
    t.clock.advance_secs(HOUR / 2);
    let lively = post(&t, &o, pub_post("博主爆款")).await;
    // Not in R's feed: the stranger's post, O's friends-only post.
    post(&t, &stranger, pub_post("陌生人")).await;
    post(
        &t,
        &o,
        json!({ "body": "博主仅好友", "visibility": "friends" }),
    )
    .await;
    // Nor the post of a friend who has since blocked the reader.
    let blocker = t.register_member("拉黑者").await;
    befriend(&t, &r, &blocker).await;
    post(&t, &blocker, pub_post("拉黑者的帖子")).await;
    t.post(
        &format!("/api/v1/accounts/{}/block", r.id),
        Some(&blocker.token),
        json!({}),
    )
    .await
    .expect(204);
    for n in 0..10 {
        let fan = t.register_member(&format!("粉丝{n}")).await;
        t.post(
            &format!("/api/v1/posts/{lively}/like"),
            Some(&fan.token),
            json!({}),
        )
        .await
        .expect(200);
    }
    t.clock.advance_secs(HOUR);
    let feed = page(&t, &r, 20, None).await;
    assert_eq!(
        post_ids(&feed),
        vec![fp.clone(), lively.clone(), hp.clone(), quiet.clone()],
        "{feed}"
    );
    let why: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["closeness"].as_str().unwrap())
        .collect();
    assert_eq!(why, ["friend", "following", "community", "following"]);
    // The basic feed still lists the same posts, newest first.
    let basic = t
        .get("/api/v1/feed?limit=20", Some(&r.token))
        .await
        .expect(200);
    let basic_ids: Vec<String> = basic["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(basic_ids, vec![lively, quiet, hp, fp]);
}

async fn trusted_pages_stay_stable_while_posts_and_likes_arrive(t: TestApp) {
    let r = t.register_member("读者").await;
    let f = t.register_member("好友").await;
    let o = t.register_member("博主").await;
    let fan = t.register_member("粉丝").await;
    befriend(&t, &r, &f).await;
    follow(&t, &r, &o).await;
    let mut all = Vec::new();
    for i in 0..9 {
        if i % 2 == 0 {
            t.clock.advance_ms(1000);
        }
        let who = if i % 3 == 0 { &f } else { &o };
        all.push(
            post(
                &t,
                who,
                json!({ "body": format!("帖子{i}"), "visibility": "public" }),
            )
            .await,
        );
    }
    t.clock.advance_ms(1000);
    let first = page(&t, &r, 20, None).await;
    let expected = post_ids(&first);
    assert_eq!(expected.len(), 9);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut round = 0;
    loop {
        let p = page(&t, &r, 2, cursor.as_deref()).await;
        seen.extend(post_ids(&p));
        // Between pages: new posts by the friend (which would rank first) and likes on an
        // old quiet post (which would lift it above pages already shown).
        t.clock.advance_ms(10);
        post(
            &t,
            &f,
            json!({ "body": format!("新帖{round}"), "visibility": "public" }),
        )
        .await;
        let liker = t.register_member(&format!("点赞{round}")).await;
        t.post(
            &format!("/api/v1/posts/{}/like", all[1]),
            Some(&liker.token),
            json!({}),
        )
        .await
        .expect(200);
        round += 1;
        match p["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let _ = fan;
    assert_eq!(
        seen, expected,
        "no duplicates, no gaps, the snapshot's order"
    );
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 9);
    // A fresh first page shows the new posts.
    let fresh = page(&t, &r, 100, None).await;
    assert_eq!(post_ids(&fresh).len(), 9 + round);
}

/// Posts far apart (one every 20 hours over eight days, a friend's and a followed
/// member's in turn, some liked, one commented on, one with a deleted comment): the feed ranks only a window of recent posts at a time
/// and reaches further back, window by window, as pages go deeper. Every page, whatever
/// its size, follows the documented rank key over all of them.
async fn trusted_feed_reaches_back_over_days_in_rank_order(t: TestApp) {
    use kith_domain::Clock as _;
    let r = t.register_member("读者").await;
    let f = t.register_member("好友").await;
    let o = t.register_member("博主").await;
    let likers = [
        t.register_member("点赞甲").await,
        t.register_member("点赞乙").await,
        t.register_member("点赞丙").await,
    ];
    befriend(&t, &r, &f).await;
    follow(&t, &r, &o).await;
    // (id, rank key in ms)
    let mut expected: Vec<(String, i64)> = Vec::new();
    for i in 0..10 {
        // The eighth comes 12 h after the seventh (a friend's, 2 likes: ranked 13 h on)
        // with a like (30 min), so it ranks below it unless its deleted comment counted.
        t.clock
            .advance_secs(if i == 7 { 12 * HOUR } else { 20 * HOUR });
        let friend = i % 2 == 0;
        let author = if friend { &f } else { &o };
        let at = t.clock.now_ms();
        let id = post(
            &t,
            author,
            json!({ "body": format!("第{i}帖"), "visibility": "public" }),
        )
        .await;
        // Older posts get more likes: a day-old lively post can outrank a newer quiet one.
        let likes = match i {
            7 => 1,
            i if i % 3 == 0 => 3 - i / 4,
            _ => 0,
        };
        for liker in &likers[..likes as usize] {
            t.post(
                &format!("/api/v1/posts/{id}/like"),
                Some(&liker.token),
                json!({}),
            )
            .await
            .expect(200);
        }
        // A comment on the followed member's second post lifts it (2 points); a deleted
        // one on the fourth does not.
        let mut points = likes;
        if i == 3 || i == 7 {
            let c = t
                .post(
                    &format!("/api/v1/posts/{id}/comments"),
                    Some(&likers[0].token),
                    json!({ "body": "好" }),
                )
                .await
                .expect(201);
            if i == 7 {
                t.delete(
                    &format!("/api/v1/comments/{}", c["id"].as_str().unwrap()),
                    Some(&likers[0].token),
                )
                .await
                .expect(204);
            } else {
                points += 2;
            }
        }
        let boost = if friend { 12 * HOUR * 1000 } else { 0 };
        expected.push((id, at + boost + points * HOUR * 1000 / 2));
    }
    t.clock.advance_secs(HOUR);
    expected.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    let expected: Vec<String> = expected.into_iter().map(|(id, _)| id).collect();
    for limit in [1, 3, 4, 10, 20] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let p = page(&t, &r, limit, cursor.as_deref()).await;
            let ids = post_ids(&p);
            assert!(ids.len() as i64 <= limit);
            seen.extend(ids);
            match p["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen, expected, "pages of {limit}");
    }
}

async fn trusted_feed_bad_input(t: TestApp) {
    let r = t.register_member("读者").await;
    t.get("/api/v1/feed/trusted", None).await.problem(401, None);
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor"),
        ("cursor=!!", "cursor"),
        // A well-formed cursor with a forged id.
        ("cursor=MXx4fDE", "cursor"),
    ] {
        t.get(&format!("/api/v1/feed/trusted?{q}"), Some(&r.token))
            .await
            .problem(422, Some(field));
    }
    let empty = page(&t, &r, 5, None).await;
    assert_eq!(empty["items"], json!([]));
    assert_eq!(empty["next_cursor"], Value::Null);
}
