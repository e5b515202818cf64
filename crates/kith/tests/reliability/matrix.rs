//! The access-control matrix, generated from the OpenAPI document: every operation whose
//! path names an object is called, for objects of a world built here (a merchant with a
//! store, clerk and product; a member with an order, a payment, a post, a comment and a
//! community), as four outsiders — anonymous, another member, another merchant's owner,
//! a clerk of another store — and, for reads, as the object's owner.
//!
//! The rule an outsider meets: no success (unless the operation is on [`OPEN_TO_ANY`], the
//! list of things the product lets anyone, or any member, do to others' objects, each with
//! its reason), no server error, only 401/403/404/422 — and for a **private** object (an
//! order, a payment, an invitation, a webhook endpoint…) the same status as for an object
//! of that kind that does not exist, so nothing tells them it exists. (Merchants, stores,
//! open communities, public posts and profiles exist publicly: a 403 on them says nothing
//! new.) Owners' reads must not be refused. A path parameter this file does not know fails
//! the test, so a new endpoint cannot escape the matrix.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::harness::{TestApp, User, address};

/// Operations an outsider may legitimately perform on someone else's object, with why.
/// `(method, path template)`.
#[rustfmt::skip]
const OPEN_TO_ANY: &[(&str, &str, &str)] = &[
    ("get", "/api/v1/merchants/{merchant_id}", "a merchant's public profile"),
    ("get", "/api/v1/merchants/{merchant_id}/products", "the public catalogue"),
    ("get", "/api/v1/merchants/{merchant_id}/products/{product_id}", "a public product page"),
    ("get", "/api/v1/merchants/{merchant_id}/categories", "the public catalogue's categories"),
    ("get", "/api/v1/merchants/{merchant_id}/stores", "store finder"),
    ("get", "/api/v1/merchants/{merchant_id}/stores/{store_id}", "store finder"),
    ("get", "/api/v1/merchants/{merchant_id}/communities", "a merchant's public communities"),
    ("get", "/api/v1/merchants/{merchant_id}/tiers", "tier names are shown on prices"),
    ("get", "/api/v1/merchants/{merchant_id}/products/{product_id}/reviews", "public reviews"),
    ("get", "/api/v1/merchants/{merchant_id}/products/{product_id}/rating", "public rating"),
    ("get", "/api/v1/products/{product_id}/reviews", "public reviews"),
    ("get", "/api/v1/products/{product_id}/rating", "public rating"),
    ("get", "/api/v1/merchants/{merchant_id}/cart", "a member's own cart at any merchant"),
    ("put", "/api/v1/merchants/{merchant_id}/cart/items/{sku_id}", "any member may buy"),
    ("post", "/api/v1/merchants/{merchant_id}/checkout", "any member may buy"),
    ("get", "/api/v1/accounts/{account_id}", "a public profile"),
    ("get", "/api/v1/accounts/{account_id}/posts", "public posts of a profile"),
    ("get", "/api/v1/accounts/{account_id}/followers", "public follower list"),
    ("get", "/api/v1/accounts/{account_id}/friends", "derivable from the public follow lists"),
    ("get", "/api/v1/accounts/{account_id}/mutual-friends", "the caller's own friends in common"),
    ("get", "/api/v1/communities/{community_id}/members", "an open community's member list is public (issue 4's choice)"),
    ("get", "/api/v1/communities/{community_id}/subcommunities", "an open community's sub-communities"),
    ("get", "/api/v1/merchants/{merchant_id}/my-tier", "the caller's own tier at this merchant"),
    ("get", "/api/v1/merchants/{merchant_id}/commission-plan", "members see what sharing earns before they share"),
    ("get", "/api/v1/accounts/{account_id}/following", "public following list"),
    ("put", "/api/v1/accounts/{account_id}/follow", "any member may follow"),
    ("post", "/api/v1/accounts/{account_id}/follow", "any member may follow"),
    ("delete", "/api/v1/accounts/{account_id}/follow", "unfollowing is one's own"),
    ("put", "/api/v1/accounts/{account_id}/block", "any member may block"),
    ("post", "/api/v1/accounts/{account_id}/block", "any member may block"),
    ("delete", "/api/v1/accounts/{account_id}/block", "unblocking is one's own"),
    ("get", "/api/v1/posts/{post_id}", "the post is public"),
    ("get", "/api/v1/posts/{post_id}/comments", "comments of a public post"),
    ("get", "/api/v1/posts/{post_id}/likes", "who liked a public post"),
    ("post", "/api/v1/posts/{post_id}/tag-visits", "any member may open a product from a public post (content credit)"),
    ("put", "/api/v1/posts/{post_id}/like", "any member may like a public post"),
    ("post", "/api/v1/posts/{post_id}/like", "any member may like a public post"),
    ("delete", "/api/v1/posts/{post_id}/like", "unliking is one's own"),
    ("post", "/api/v1/posts/{post_id}/comments", "any member may comment on a public post"),
    ("post", "/api/v1/posts/{post_id}/shares", "any member may share a public post"),
    ("post", "/api/v1/posts/{post_id}/share", "any member may share a public post"),
    ("post", "/api/v1/posts/{post_id}/reports", "any member may report a post"),
    ("post", "/api/v1/posts/{post_id}/report", "any member may report a post"),
    ("get", "/api/v1/communities/{community_id}", "the community is open: its page is public"),
    ("get", "/api/v1/communities/{community_id}/posts", "an open community's posts"),
    ("get", "/api/v1/communities/{community_id}/announcements", "an open community's notices"),
    ("get", "/api/v1/communities/{community_id}/children", "an open community's sub-communities"),
    ("get", "/api/v1/communities/{community_id}/sub-communities", "an open community's sub-communities"),
    ("post", "/api/v1/communities/{community_id}/join", "the community is open to join"),
    ("post", "/api/v1/communities/{community_id}/leave", "leaving is one's own"),
    ("get", "/api/v1/media/{media_id}", "an image of a public post"),
    ("get", "/api/v1/media/{media_id}/file", "an image of a public post"),
    ("get", "/sandbox/pay/{payment_id}", "the gateway's page: the payment id is the capability, as at a real gateway"),
    ("post", "/sandbox/pay/{payment_id}/confirm", "the gateway's page: the payment id is the capability, as at a real gateway"),
    ("get", "/api/v1/merchants/{merchant_id}/products/{product_id}/social-proof", "social proof is about the caller's own friends"),
    ("get", "/api/v1/products/{product_id}/social-proof", "social proof is about the caller's own friends"),
    ("get", "/api/v1/merchants/{merchant_id}/group-campaigns", "a shop's group-buys are public"),
    ("get", "/api/v1/group-campaigns/{campaign_id}", "a group-buy campaign is public"),
    ("get", "/api/v1/group-campaigns/{campaign_id}/groups", "joinable groups are public: strangers join them"),
    ("post", "/api/v1/group-campaigns/{campaign_id}/groups", "any member may open a group"),
    ("get", "/api/v1/groups/{group_id}", "a group's page is public: it spreads by sharing"),
    ("post", "/api/v1/groups/{group_id}/join", "any member may join a gathering group"),
];

/// Parameters that name no one's object: callbacks are signed by the gateway or carrier
/// (the hostile-callback tests cover them), share-link codes are public by design.
const NOT_OBJECTS: &[&str] = &["provider", "carrier", "code"];

struct World {
    ids: BTreeMap<&'static str, String>,
    owner_a: User,
    clerk_a: User,
    member: User,
    admin: User,
    outsiders: Vec<(&'static str, Option<User>)>,
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

async fn world(t: &TestApp) -> World {
    let shop = t.simple_shop("矩阵甲", 1000, 100).await;
    let (owner_a, merchant_a, product, sku) = (shop.owner, shop.merchant, shop.product, shop.sku);
    let (owner_b, merchant_b) = t.approved_merchant("矩阵乙").await;
    let ids_merchant_a = merchant_a.clone();
    let m = |p: &str| format!("/api/v1/merchants/{merchant_a}{p}");
    let tier = t
        .post(
            &m("/tiers"),
            Some(&owner_a.token),
            json!({ "code": "member", "name": "会员", "rank": 10 }),
        )
        .await
        .expect(201);
    let store_a = t.store(&owner_a, &merchant_a, "甲店").await;
    let clerk_a = t.clerk(&owner_a, &merchant_a, &store_a).await;
    let store_b = t.store(&owner_b, &merchant_b, "乙店").await;
    let clerk_b = t.clerk(&owner_b, &merchant_b, &store_b).await;

    t.put(
        &m("/commission-plan"),
        Some(&owner_a.token),
        json!({ "levels_bp": [1000, 500], "rebate_bp": 200, "group_buy_commission": false,
                "group_leader_bp": 0, "binding_mode": "permanent" }),
    )
    .await
    .expect(200);
    let invitation = id_of(
        &t.post(&m("/invitations"), Some(&owner_a.token), json!({}))
            .await
            .expect(201),
    );
    let endpoint = id_of(
        &t.post(
            &m("/webhooks"),
            Some(&owner_a.token),
            json!({ "url": "http://127.0.0.1:9/hook", "topics": ["order.paid"], "description": "矩阵" }),
        )
        .await
        .expect(201)["endpoint"],
    );

    let member = t.register_member("矩阵买家").await;
    t.top_up(&member, 100_000).await;
    let order = id_of(
        &t.post(
            &m("/checkout"),
            Some(&member.token),
            json!({ "delivery": "shipping", "address": address(), "items": [{ "sku_id": sku, "quantity": 1 }] }),
        )
        .await
        .expect(201),
    );
    let paid = t
        .post(
            &format!("/api/v1/orders/{order}/pay"),
            Some(&member.token),
            json!({ "provider": "wallet" }),
        )
        .await
        .expect(200);
    let _ = paid;
    // A payment of the member's: a top-up waiting at the gateway.
    let payment = t
        .post(
            "/api/v1/me/wallet/topups",
            Some(&member.token),
            json!({ "amount_fen": 500 }),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .map(str::to_owned);
    let community = id_of(
        &t.post(
            "/api/v1/communities",
            Some(&owner_a.token),
            json!({ "name": "矩阵群", "description": "", "tags": [], "join_policy": "open",
                    "merchant_id": ids_merchant_a }),
        )
        .await
        .expect(201),
    );
    t.post(
        &format!("/api/v1/communities/{community}/join"),
        Some(&member.token),
        json!({}),
    )
    .await
    .expect(200);
    let invite = id_of(
        &t.post(
            &format!("/api/v1/communities/{community}/invites"),
            Some(&owner_a.token),
            json!({}),
        )
        .await
        .expect(201),
    );
    let post = id_of(
        &t.post(
            "/api/v1/posts",
            Some(&member.token),
            json!({ "body": "矩阵里的一篇公开帖子", "visibility": "public", "tags": [sku] }),
        )
        .await
        .expect(201),
    );
    let comment = id_of(
        &t.post(
            &format!("/api/v1/posts/{post}/comments"),
            Some(&member.token),
            json!({ "body": "自己评论" }),
        )
        .await
        .expect(201),
    );
    let campaign = id_of(
        &t.post(
            &m("/group-campaigns"),
            Some(&owner_a.token),
            json!({ "sku_id": sku, "group_size": 10, "group_price_fen": 800, "stock_limit": 50,
                    "ends_at": kith_app::rfc3339(kith_domain::Clock::now_ms(&t.clock) + 86_400_000) }),
        )
        .await
        .expect(201),
    );
    let seat = t
        .post(
            &format!("/api/v1/group-campaigns/{campaign}/groups"),
            Some(&member.token),
            json!({ "delivery": "shipping", "address": address() }),
        )
        .await
        .expect(201);
    t.post(
        &format!("/api/v1/orders/{}/pay", id_of(&seat["order"])),
        Some(&member.token),
        json!({ "provider": "wallet" }),
    )
    .await
    .expect(200);
    let other = t.register_member("矩阵路人").await;
    let admin = t.admin().await;

    let mut ids = BTreeMap::new();
    ids.insert("merchant_id", merchant_a);
    ids.insert("store_id", store_a);
    ids.insert("product_id", product);
    ids.insert("sku_id", sku);
    ids.insert("tier_id", id_of(&tier));
    ids.insert("tier_code", "member".to_owned());
    ids.insert("invitation_id", invitation);
    ids.insert("endpoint_id", endpoint);
    ids.insert("order_id", order);
    if let Some(p) = payment {
        ids.insert("payment_id", p);
    }
    ids.insert("community_id", community);
    ids.insert("invite_id", invite);
    ids.insert("post_id", post);
    ids.insert("comment_id", comment);
    ids.insert("account_id", member.id.clone());
    ids.insert("member_id", member.id.clone());
    ids.insert("line_no", "1".to_owned());
    ids.insert("campaign_id", campaign);
    ids.insert("group_id", id_of(&seat["group"]));
    World {
        ids,
        owner_a,
        clerk_a,
        member,
        admin,
        outsiders: vec![
            ("anonymous", None),
            ("another member", Some(other)),
            ("another merchant's owner", Some(owner_b)),
            ("a clerk of another store", Some(clerk_b)),
        ],
    }
}

/// Objects whose existence is nobody else's business: an outsider's answer for a real one
/// must equal the answer for one that does not exist.
const PRIVATE: &[&str] = &[
    "order_id",
    "payment_id",
    "invitation_id",
    "endpoint_id",
    "delivery_id",
    "invite_id",
    "withdrawal_id",
    "media_id",
    "review_id",
];

/// Parameters whose object this world has no instance of are given a fresh id: the
/// outsider checks still run (nothing may succeed), the owner read is skipped.
const WITHOUT_INSTANCE: &[&str] = &["delivery_id", "media_id", "review_id", "withdrawal_id"];

/// The path with ids filled in; with `fresh`, the last object the path names is replaced
/// by one that does not exist (its parents stay real). Also: whether every id is real.
fn fill(
    template: &str,
    ids: &BTreeMap<&'static str, String>,
    fresh: bool,
) -> Result<(String, bool), String> {
    let last = last_object(template);
    let mut out = String::new();
    let mut rest = template;
    let mut complete = true;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').ok_or("unclosed {")? + start;
        out.push_str(&rest[..start]);
        let name = &rest[start + 1..end];
        let value = if NOT_OBJECTS.contains(&name) {
            "sandbox".to_owned()
        } else if name == "line_no" || name == "tier_code" {
            ids[name].clone()
        } else if fresh && Some(name) == last {
            uuid::Uuid::now_v7().to_string()
        } else if let Some(v) = ids.get(name) {
            v.clone()
        } else if WITHOUT_INSTANCE.contains(&name) {
            complete = false;
            uuid::Uuid::now_v7().to_string()
        } else {
            return Err(format!(
                "unknown path parameter {{{name}}}: give it an object in matrix.rs"
            ));
        };
        out.push_str(&value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok((out, complete))
}

/// The last path parameter that names an object.
fn last_object(template: &str) -> Option<&str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|s| s.split('}').next())
        .filter(|n| !NOT_OBJECTS.contains(n) && *n != "line_no" && *n != "tier_code")
        .last()
}

async fn call(t: &TestApp, method: &str, path: &str, who: Option<&User>) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let body = (m != reqwest::Method::GET && m != reqwest::Method::DELETE).then(|| json!({}));
    let r = t
        .request(m, path, who.map(|u| u.token.as_str()), body)
        .await;
    (r.status.as_u16(), r.body)
}

async fn access_matrix(t: TestApp) {
    let w = world(&t).await;
    let doc = t.get("/api/openapi.json", None).await.expect(200);
    let paths = doc["paths"].as_object().expect("paths");
    let mut cells = 0;
    let mut failures = Vec::new();
    let mut owner_reads = Vec::new();
    // Outsider calls answered 422: the empty body was refused before the object was
    // looked at. They show nothing leaked, but are weaker evidence than a 403/404.
    let mut body_refused = 0;
    for (template, ops) in paths {
        let names: Vec<&str> = template
            .split('{')
            .skip(1)
            .filter_map(|s| s.split('}').next())
            .collect();
        if names.is_empty() || names.iter().all(|n| NOT_OBJECTS.contains(n)) {
            continue;
        }
        for method in ["get", "post", "put", "patch", "delete"] {
            if ops.get(method).is_none() {
                continue;
            }
            let (real, complete) = match fill(template, &w.ids, false) {
                Ok(p) => p,
                Err(e) => {
                    failures.push(format!("{method} {template}: {e}"));
                    continue;
                }
            };
            let (fresh, _) = fill(template, &w.ids, true).expect("fresh");
            let open = OPEN_TO_ANY
                .iter()
                .any(|(m, p, _)| *m == method && *p == template.as_str());
            for (who, user) in &w.outsiders {
                cells += 1;
                if open {
                    continue;
                }
                let (s_real, body) = call(&t, method, &real, user.as_ref()).await;
                let (s_fresh, _) = call(&t, method, &fresh, user.as_ref()).await;
                let private = last_object(template).is_some_and(|n| PRIVATE.contains(&n));
                let refused = matches!(s_real, 401 | 403 | 404 | 422);
                if s_real == 422 {
                    body_refused += 1;
                }
                if !refused || (private && s_real != s_fresh) {
                    failures.push(format!(
                        "{method} {template} as {who}: {s_real} for the real object, {s_fresh} for none: {}",
                        body.to_string().chars().take(160).collect::<String>()
                    ));
                }
            }
            if method == "get" && complete {
                let owner = if template.starts_with("/api/v1/clerk/") {
                    &w.clerk_a
                } else if template.starts_with("/api/v1/admin/") {
                    &w.admin
                } else if template.contains("{merchant_id}")
                    || template.starts_with("/api/v1/communities/")
                {
                    &w.owner_a
                } else {
                    &w.member
                };
                cells += 1;
                let (s, body) = call(&t, method, &real, Some(owner)).await;
                owner_reads.push(s);
                if matches!(s, 401 | 403 | 404) || s >= 500 {
                    failures.push(format!(
                        "{method} {template} as its owner: {s}: {}",
                        body.to_string().chars().take(160).collect::<String>()
                    ));
                }
            }
        }
    }
    eprintln!(
        "access matrix: {cells} cells, {} owner reads, {body_refused} outsider calls refused for their body, {} failures",
        owner_reads.len(),
        failures.len()
    );
    assert!(cells > 300, "the matrix covers the API: {cells} cells");
    assert!(
        failures.is_empty(),
        "access matrix:\n{}",
        failures.join("\n")
    );
}

crate::both_engines!(access_matrix);
