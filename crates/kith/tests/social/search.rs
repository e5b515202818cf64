//! Search over HTTP on both engines: a new post is found within 2 s; scopes; the ranking
//! pinned on a small hand-built world; the "who" view; products, communities and people;
//! paging without duplicates; nothing invisible is ever matched, counted or highlighted;
//! bad input answered with a clear 4xx.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{TestApp, User};
use crate::worlds::{befriend, community, follow, join, post, wait_indexed};

both_engines!(
    a_new_post_is_found_within_two_seconds,
    ranking_blends_closeness_recency_and_engagement,
    scopes_and_the_who_view,
    search_never_leaks_what_the_searcher_may_not_see,
    products_communities_and_people,
    pages_have_no_duplicates,
    bad_input_gets_a_clear_answer,
    reindex_rebuilds_the_index_from_storage,
);

pub(crate) async fn search(t: &TestApp, who: Option<&User>, query: &str) -> Value {
    t.get(
        &format!("/api/v1/search?{query}"),
        who.map(|u| u.token.as_str()),
    )
    .await
    .expect(200)
}

pub(crate) fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn post_ids(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["post"]["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_new_post_is_found_within_two_seconds(t: TestApp) {
    let a = t.register_member("小美").await;
    let b = t.register_member("阿强").await;
    befriend(&t, &a, &b).await;
    wait_indexed(&t).await;
    let id = post(
        &t,
        &a,
        json!({ "body": "坚持减肥第30天，瘦了5kg！", "visibility": "friends" }),
    )
    .await;
    let started = Instant::now();
    let q = format!("q={}&scope=friends", enc("减肥"));
    loop {
        let r = search(&t, Some(&b), &q).await;
        if post_ids(&r) == vec![id.clone()] {
            assert_eq!(r["total"], 1);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "not searchable after 2 s: {r}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Edits and deletions reach the index the same way.
    t.patch(
        &format!("/api/v1/posts/{id}"),
        Some(&a.token),
        json!({ "body": "今天吃了火锅" }),
    )
    .await
    .expect(200);
    wait_indexed(&t).await;
    assert_eq!(search(&t, Some(&b), &q).await["total"], 0);
    let r = search(&t, Some(&b), &format!("q={}&scope=friends", enc("火锅"))).await;
    assert_eq!(post_ids(&r), vec![id.clone()]);
    t.delete(&format!("/api/v1/posts/{id}"), Some(&a.token))
        .await
        .expect(204);
    wait_indexed(&t).await;
    let r = search(&t, Some(&b), &format!("q={}&scope=friends", enc("火锅"))).await;
    assert_eq!(r["total"], 0);
}

/// The hand-built world: the searcher S; a friend F; C, a fellow member of S's community;
/// G, a friend of F; O, a stranger whose post drew four comments. Everyone writes the same
/// words, so BM25 ties and the order is the formula's: closeness × recency × engagement.
async fn ranking_blends_closeness_recency_and_engagement(t: TestApp) {
    let s = t.register_member("搜索者").await;
    let f = t.register_member("好友F").await;
    let c = t.register_member("群友C").await;
    let g = t.register_member("二度G").await;
    let o = t.register_member("路人O").await;
    befriend(&t, &s, &f).await;
    befriend(&t, &f, &g).await;
    let k = community(&t, &c, "减脂互助群").await;
    join(&t, &s, &k).await;
    let body = |_: &str| json!({ "body": "减肥打卡：今天吃了沙拉", "visibility": "public" });
    let f_old = post(&t, &f, body("F-old")).await;
    t.clock.advance_secs(10 * 86_400);
    let f_new = post(&t, &f, body("F-new")).await;
    let c_post = post(&t, &c, body("C")).await;
    let g_post = post(&t, &g, body("G")).await;
    let o_post = post(&t, &o, body("O")).await;
    for n in 0..4 {
        t.post(
            &format!("/api/v1/posts/{o_post}/comments"),
            Some(&s.token),
            json!({ "body": format!("加油{n}") }),
        )
        .await
        .expect(201);
    }
    wait_indexed(&t).await;
    let r = search(&t, Some(&s), &format!("q={}", enc("减肥"))).await;
    let names: Vec<String> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let label = match i["post"]["id"].as_str().unwrap() {
                id if id == f_old => "F-old",
                id if id == f_new => "F-new",
                id if id == c_post => "C",
                id if id == g_post => "G",
                id if id == o_post => "O",
                _ => "?",
            };
            format!("{label} {}", i["closeness"].as_str().unwrap())
        })
        .collect();
    // Snapshot of the order: friend 3 × 1; friend 3 × recency(10 d) = 2.25; community 2;
    // stranger 1 × engagement(8) = 1.549; friend of a friend 1.5.
    assert_eq!(
        names,
        [
            "F-new friend",
            "F-old friend",
            "C community",
            "O other",
            "G friend_of_friend"
        ],
        "{r}"
    );
    let scores: Vec<f64> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["score"].as_f64().unwrap())
        .collect();
    let base = scores[0] / 3.0;
    let ratios: Vec<String> = scores.iter().map(|s| format!("{:.3}", s / base)).collect();
    assert_eq!(ratios, ["3.000", "2.250", "2.000", "1.549", "1.500"]);
    assert_eq!(r["total"], 5);
    // Highlights mark the matched word in the body (characters 0–2: 减肥).
    assert_eq!(r["items"][0]["highlights"], json!([[0, 2]]));
}

async fn scopes_and_the_who_view(t: TestApp) {
    let s = t.register_member("搜索者").await;
    let f1 = t.register_member("好友一").await;
    let f2 = t.register_member("好友二").await;
    let followed = t.register_member("博主").await;
    let mate = t.register_member("群友").await;
    let stranger = t.register_member("路人").await;
    befriend(&t, &s, &f1).await;
    befriend(&t, &s, &f2).await;
    follow(&t, &s, &followed).await;
    let k = community(&t, &mate, "宝妈群").await;
    join(&t, &s, &k).await;
    let pub_post = |b: &str| json!({ "body": b, "visibility": "public" });
    let f1_a = post(&t, &f1, pub_post("减肥第一周")).await;
    t.clock.advance_secs(60);
    let f1_b = post(&t, &f1, pub_post("减肥第二周，效果不错")).await;
    let f2_a = post(&t, &f2, pub_post("我也在减肥")).await;
    let fo = post(&t, &followed, pub_post("减肥食谱分享")).await;
    let m = post(
        &t,
        &mate,
        json!({ "body": "群里谁在减肥？", "visibility": "community", "community_id": k }),
    )
    .await;
    let x = post(&t, &stranger, pub_post("减肥不如吃饱")).await;
    wait_indexed(&t).await;
    let q = enc("减肥");
    let ids = |v: Value| {
        let mut v = post_ids(&v);
        v.sort();
        v
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        ids(search(&t, Some(&s), &format!("q={q}&scope=friends")).await),
        sorted(vec![f1_a.clone(), f1_b.clone(), f2_a.clone()])
    );
    assert_eq!(
        ids(search(&t, Some(&s), &format!("q={q}&scope=following")).await),
        sorted(vec![f1_a.clone(), f1_b.clone(), f2_a.clone(), fo.clone()])
    );
    assert_eq!(
        ids(search(&t, Some(&s), &format!("q={q}&scope=communities")).await),
        vec![m.clone()]
    );
    assert_eq!(
        ids(search(&t, Some(&s), &format!("q={q}&scope=everyone")).await),
        sorted(vec![f1_a, f1_b.clone(), f2_a.clone(), fo, m, x.clone()])
    );
    // Anonymous searchers see public posts only, and only with scope=everyone.
    let anon = search(&t, None, &format!("q={q}")).await;
    assert_eq!(anon["total"], 5);
    t.get(&format!("/api/v1/search?q={q}&scope=friends"), None)
        .await
        .problem(401, None);

    // Who: friends who wrote about it, with their latest matching post.
    let who = t
        .get(&format!("/api/v1/search/who?q={q}"), Some(&s.token))
        .await
        .expect(200);
    let people = who["people"].as_array().unwrap();
    assert_eq!(people.len(), 2, "{who}");
    let f1_entry = people
        .iter()
        .find(|p| p["person"]["id"] == f1.id.as_str())
        .expect("friend one");
    assert_eq!(f1_entry["matching_posts"], 2);
    assert_eq!(f1_entry["latest"]["id"], f1_b.as_str());
    assert_eq!(f1_entry["closeness"], "friend");
    assert_eq!(f1_entry["person"]["display_name"], "好友一");
    let f2_entry = people
        .iter()
        .find(|p| p["person"]["id"] == f2.id.as_str())
        .expect("friend two");
    assert_eq!(f2_entry["latest"]["id"], f2_a.as_str());
    // Everyone: strangers appear too, after the friends.
    let who = t
        .get(
            &format!("/api/v1/search/who?q={q}&scope=everyone"),
            Some(&s.token),
        )
        .await
        .expect(200);
    let people = who["people"].as_array().unwrap();
    assert_eq!(people.len(), 5, "{who}");
    assert_eq!(people[0]["closeness"], "friend");
    assert_eq!(people[4]["closeness"], "other");
    assert_eq!(people[4]["latest"]["id"], x.as_str());
    t.get(&format!("/api/v1/search/who?q={q}"), None)
        .await
        .problem(401, None);
}

/// Every kind of post someone may not see, each with the searched word.
async fn search_never_leaks_what_the_searcher_may_not_see(t: TestApp) {
    let author = t.register_member("作者").await;
    let friend = t.register_member("好友").await;
    let follower = t.register_member("粉丝").await;
    let member = t.register_member("群友").await;
    let stranger = t.register_member("路人").await;
    let blocked = t.register_member("被拉黑").await;
    befriend(&t, &author, &friend).await;
    follow(&t, &follower, &author).await;
    follow(&t, &blocked, &author).await;
    let k = community(&t, &author, "秘密群").await;
    join(&t, &member, &k).await;
    join(&t, &blocked, &k).await;
    let word = "秘密减肥法";
    let mk = |vis: &str, extra: &str| {
        let mut b = json!({ "body": format!("{word}：{extra}"), "visibility": vis });
        if vis == "community" {
            b["community_id"] = json!(k);
        }
        b
    };
    let public = post(&t, &author, mk("public", "公开")).await;
    let followers = post(&t, &author, mk("followers", "粉丝可见")).await;
    let friends = post(&t, &author, mk("friends", "好友可见")).await;
    let community_post = post(&t, &author, mk("community", "群内可见")).await;
    let hidden = post(&t, &author, mk("public", "被隐藏")).await;
    let deleted = post(&t, &author, mk("public", "已删除")).await;
    let admin = t.admin().await;
    t.post(
        &format!("/api/v1/posts/{hidden}/hide"),
        Some(&admin.token),
        json!({ "reason": "违规" }),
    )
    .await
    .expect(200);
    t.delete(&format!("/api/v1/posts/{deleted}"), Some(&author.token))
        .await
        .expect(204);
    t.post(
        &format!("/api/v1/accounts/{}/block", blocked.id),
        Some(&author.token),
        json!({}),
    )
    .await
    .expect(204);
    wait_indexed(&t).await;

    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let cases: Vec<(&User, Vec<String>)> = vec![
        (&stranger, vec![public.clone()]),
        (&follower, vec![public.clone(), followers.clone()]),
        (
            &friend,
            vec![public.clone(), followers.clone(), friends.clone()],
        ),
        (&member, vec![public.clone(), community_post.clone()]),
        (&blocked, vec![]),
        (
            &author,
            vec![
                public.clone(),
                followers.clone(),
                friends.clone(),
                community_post.clone(),
                hidden.clone(),
            ],
        ),
    ];
    let q = enc(word);
    for (who, expected) in cases {
        let expected = sorted(expected);
        for scope in ["everyone", "friends", "following", "communities"] {
            let r = search(&t, Some(who), &format!("q={q}&scope={scope}&limit=100")).await;
            let got = sorted(post_ids(&r));
            assert!(
                got.iter().all(|id| expected.contains(id)),
                "{scope}: leaked {got:?}, may see {expected:?}"
            );
            assert_eq!(r["total"].as_i64().unwrap() as usize, got.len());
            for item in r["items"].as_array().unwrap() {
                let body = item["post"]["body"].as_str().unwrap();
                for h in item["highlights"].as_array().unwrap() {
                    let (a, b) = (h[0].as_u64().unwrap(), h[1].as_u64().unwrap());
                    assert!(b as usize <= body.chars().count());
                    assert!(a < b);
                }
            }
        }
        let r = search(&t, Some(who), &format!("q={q}&scope=everyone&limit=100")).await;
        assert_eq!(sorted(post_ids(&r)), expected);
        // The who view counts only what the searcher may see.
        let who_view = t
            .get(
                &format!("/api/v1/search/who?q={q}&scope=everyone"),
                Some(&who.token),
            )
            .await
            .expect(200);
        let n: i64 = who_view["people"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["matching_posts"].as_i64().unwrap())
            .sum();
        assert_eq!(n as usize, expected.len());
    }
    // The blocked member does not find the author as a person either.
    let r = search(
        &t,
        Some(&blocked),
        &format!("q={}&type=people", enc("作者")),
    )
    .await;
    assert_eq!(r["total"], 0, "{r}");
}

async fn products_communities_and_people(t: TestApp) {
    let (owner, merchant) = t.approved_merchant("燕麦工坊").await;
    let m = |p: &str| format!("/api/v1/merchants/{merchant}{p}");
    let product = t
        .post(
            &m("/products"),
            Some(&owner.token),
            json!({ "name": "有机燕麦片 500g", "description": "低脂高纤维，减肥早餐",
                    "images": ["https://img.example.com/oat/1.jpg", "https://img.example.com/oat/2.jpg"] }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.post(
        &m(&format!("/products/{product}/skus")),
        Some(&owner.token),
        json!({ "code": "OAT-500", "list_price_fen": 3990 }),
    )
    .await
    .expect(201);
    let draft = t
        .post(
            &m("/products"),
            Some(&owner.token),
            json!({ "name": "燕麦奶（未上架）", "description": "" }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let s = t.register_member("小红").await;
    let r = search(&t, Some(&s), "q=x").await;
    assert_eq!(r["total"], 0);
    // Not on sale yet: not found.
    t.put(
        &m(&format!("/products/{product}/status")),
        Some(&owner.token),
        json!({ "status": "active" }),
    )
    .await
    .expect(200);
    let k = community(&t, &owner, "燕麦爱好者").await;
    let lin = t.register_member("林燕").await;
    wait_indexed(&t).await;
    let r = search(&t, Some(&s), &format!("q={}&type=products", enc("燕麦"))).await;
    let ids: Vec<&str> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["product"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![product.as_str()], "{r}");
    assert!(!ids.contains(&draft.as_str()));
    assert_eq!(r["items"][0]["product"]["min_price_fen"], 3990);
    assert_eq!(r["items"][0]["product"]["friends_bought"], 0);
    // Its main picture (the first of the gallery) comes with the hit.
    assert_eq!(
        r["items"][0]["product"]["image"],
        "https://img.example.com/oat/1.jpg"
    );
    assert_eq!(r["items"][0]["kind"], "product");
    // English and digits in mixed text.
    let r = search(&t, Some(&s), "q=500G&type=products").await;
    assert_eq!(r["total"], 1, "{r}");

    let r = search(&t, None, &format!("q={}&type=communities", enc("燕麦"))).await;
    assert_eq!(r["items"][0]["community"]["id"], k.as_str(), "{r}");
    assert_eq!(r["items"][0]["community"]["member_count"], 1);

    let r = search(&t, Some(&s), &format!("q={}&type=people", enc("林燕"))).await;
    assert_eq!(r["items"][0]["person"]["id"], lin.id.as_str(), "{r}");
    assert_eq!(r["items"][0]["closeness"], "other");
    befriend(&t, &s, &lin).await;
    wait_indexed(&t).await;
    let r = search(
        &t,
        Some(&s),
        &format!("q={}&type=people&scope=friends", enc("林燕")),
    )
    .await;
    assert_eq!(r["items"][0]["closeness"], "friend", "{r}");
}

async fn pages_have_no_duplicates(t: TestApp) {
    let a = t.register_member("作者").await;
    let mut all = Vec::new();
    for n in 0..7 {
        all.push(
            post(
                &t,
                &a,
                json!({ "body": format!("白酒品鉴第{n}期"), "visibility": "public" }),
            )
            .await,
        );
    }
    wait_indexed(&t).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = format!("q={}&limit=3", enc("白酒"));
        if let Some(c) = &cursor {
            q.push_str(&format!("&cursor={c}"));
        }
        let r = search(&t, Some(&a), &q).await;
        assert_eq!(r["total"], 7);
        seen.extend(post_ids(&r));
        match r["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    seen.sort();
    all.sort();
    assert_eq!(seen, all);
}

async fn bad_input_gets_a_clear_answer(t: TestApp) {
    let a = t.register_member("作者").await;
    post(
        &t,
        &a,
        json!({ "body": "减肥 AND title:x OR (白酒)", "visibility": "public" }),
    )
    .await;
    wait_indexed(&t).await;
    let tok = Some(a.token.as_str());
    t.get("/api/v1/search", tok).await.problem(422, Some("q"));
    t.get("/api/v1/search?q=%20%20", tok)
        .await
        .problem(422, Some("q"));
    let long = "减".repeat(201);
    t.get(&format!("/api/v1/search?q={}", enc(&long)), tok)
        .await
        .problem(422, Some("q"));
    t.get("/api/v1/search?q=x&scope=galaxy", tok)
        .await
        .problem(422, Some("scope"));
    t.get("/api/v1/search?q=x&type=recipes", tok)
        .await
        .problem(422, Some("type"));
    t.get("/api/v1/search?q=x&limit=101", tok)
        .await
        .problem(422, Some("limit"));
    t.get("/api/v1/search?q=x&limit=0", tok)
        .await
        .problem(422, Some("limit"));
    t.get("/api/v1/search?q=x&cursor=!!", tok)
        .await
        .problem(422, Some("cursor"));
    t.get("/api/v1/search/who?q=x&limit=500", tok)
        .await
        .problem(422, Some("limit"));
    // Query syntax is plain text: operators, quotes, fields, wildcards, fuzzy marks.
    for q in [
        "减肥 AND title:x OR (白酒)",
        "\"unclosed",
        "*:*",
        "body:减肥~2^3",
        "((((",
        "-减肥 +白酒 [a TO b]",
        "，。！？",
        "🍜🍜🍜",
        "\u{0}\u{1}",
    ] {
        let r = t
            .get(&format!("/api/v1/search?q={}", enc(q)), tok)
            .await
            .expect(200);
        assert!(r["total"].as_i64().unwrap() <= 1, "{q}: {r}");
    }
    let r = search(&t, Some(&a), &format!("q={}", enc("title:x AND 减肥"))).await;
    assert_eq!(r["total"], 1, "operators are words: {r}");
}

/// `kith reindex` on a stopped server's store: the index directory is thrown away and
/// rebuilt from storage, current up to the outbox, and finds what storage holds.
async fn reindex_rebuilds_the_index_from_storage(mut t: TestApp) {
    let a = t.register_member("作者").await;
    post(
        &t,
        &a,
        json!({ "body": "酱香白酒品鉴会", "visibility": "public" }),
    )
    .await;
    let gone = post(
        &t,
        &a,
        json!({ "body": "白酒删帖", "visibility": "public" }),
    )
    .await;
    t.delete(&format!("/api/v1/posts/{gone}"), Some(&a.token))
        .await
        .expect(204);
    wait_indexed(&t).await;
    t.halt().await;
    let dir = t.data_dir().join("search");
    std::fs::remove_dir_all(&dir).expect("remove the index");
    let settings = kith::Settings::for_storage(&kith::config::StorageArgs {
        data_dir: Some(t.data_dir().to_owned()),
        database_url: t.database_url().map(str::to_owned),
        config: Some(t.data_dir().join("kith.toml")),
        ..Default::default()
    })
    .expect("settings");
    let n = kith::reindex::reindex(&settings).await.expect("reindex");
    // Two people (the author and nobody else) and one live post.
    assert_eq!(n, 2, "documents");
    let index = kith_search::SearchIndex::open(&dir).expect("open rebuilt index");
    let max = t
        .app
        .db
        .read(|c| c.query_one("SELECT MAX(id) FROM outbox", &[])?.int(0))
        .await
        .unwrap();
    assert_eq!(index.cursor(), Some(max));
    let hits = index
        .search(
            &kith_search::query_terms("白酒"),
            &kith_search::Filter::All,
            10,
        )
        .unwrap();
    assert_eq!(hits.total, 1);
    assert_eq!(hits.hits[0].kind, kith_search::Kind::Post);
    // While a server holds the index, reindex refuses (one writer per index).
    drop(index);
    let held = kith_app::discovery::search::open_index(&dir).expect("hold it");
    let err = kith::reindex::reindex(&settings)
        .await
        .expect_err("the index is in use");
    assert!(err.to_string().contains("stop it first"), "{err}");
    drop(held);
}

/// On PostgreSQL several servers share one database, and each keeps its own index in its
/// own data directory, fed from the outbox: a post written through one server is found
/// through the other within 2 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_server_keeps_its_own_index_on_postgres() {
    let Some(t) = TestApp::spawn(crate::harness::Engine::Postgres).await else {
        return;
    };
    let other_dir = crate::harness::TempDir::new();
    let config = other_dir.0.join("kith.toml");
    std::fs::write(&config, "").unwrap();
    let settings = kith::Settings::resolve(&kith::config::ServeArgs {
        storage: kith::config::StorageArgs {
            data_dir: Some(other_dir.0.clone()),
            database_url: t.database_url().map(str::to_owned),
            pool_size: Some(4),
            config: Some(config),
            ..Default::default()
        },
        listen: Some("127.0.0.1:0".parse().unwrap()),
        workers: Some(false),
        ..Default::default()
    })
    .unwrap();
    let second =
        kith::Application::build_with_clock(&settings, std::sync::Arc::new(t.clock.clone()))
            .await
            .expect("second server");
    let second_base = format!("http://{}", second.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(second.run_until(async {
        let _ = rx.await;
    }));

    let a = t.register_member("甲").await;
    let id = post(
        &t,
        &a,
        json!({ "body": "两台服务器都能搜到的白酒", "visibility": "public" }),
    )
    .await;
    let started = Instant::now();
    loop {
        let r = t
            .client
            .get(format!("{second_base}/api/v1/search?q={}", enc("白酒")))
            .send()
            .await
            .unwrap();
        let body = TestApp::read(r).await.expect(200);
        if post_ids(&body) == vec![id.clone()] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "second server: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(other_dir.0.join("search").join("meta.json").exists());
    let _ = tx.send(());
    handle.await.unwrap().unwrap();
}
