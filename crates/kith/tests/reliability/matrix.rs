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
    ("get", "/api/v1/merchants/{merchant_id}/cart/coupons", "a member's own coupons against their own cart at any merchant"),
    ("get", "/api/v1/merchants/{merchant_id}/cart/activity", "the shop's public activities against a member's own cart at any merchant"),
    ("get", "/api/v1/merchants/{merchant_id}/activities", "the activities a shop runs, public"),
    ("get", "/api/v1/flash-sales", "a shop's flash sales, public"),
    ("get", "/api/v1/merchants/{merchant_id}/points-settings", "a shop's points rule, public"),
    ("get", "/api/v1/me/points/{merchant_id}", "a member's own points at any shop (none held: zero)"),
    ("get", "/api/v1/flash-sales/{sale_id}", "a flash sale, public"),
    ("post", "/api/v1/flash-sales/{sale_id}/orders", "any member may buy in a flash sale"),
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
    ("get", "/api/v1/merchants/{merchant_id}/coupons", "the shop's 领券中心 is public"),
    ("post", "/api/v1/merchants/{merchant_id}/coupon-templates/{template_id}/claim", "any member may claim a shop's coupon"),
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
    ("get", "/sandbox/payouts/{withdrawal_id}", "the sandbox payout gateway's page: it only settles a payout an admin approved"),
    ("post", "/sandbox/payouts/{withdrawal_id}/confirm", "the sandbox payout gateway's page: it only settles a payout an admin approved"),
    ("get", "/api/v1/merchants/{merchant_id}/products/{product_id}/social-proof", "social proof is about the caller's own friends"),
    ("get", "/api/v1/products/{product_id}/social-proof", "social proof is about the caller's own friends"),
    ("get", "/api/v1/merchants/{merchant_id}/group-campaigns", "a shop's group-buys are public"),
    ("get", "/api/v1/group-campaigns/{campaign_id}", "a group-buy campaign is public"),
    ("get", "/api/v1/group-campaigns/{campaign_id}/groups", "joinable groups are public: strangers join them"),
    ("post", "/api/v1/group-campaigns/{campaign_id}/groups", "any member may open a group"),
    ("get", "/api/v1/groups/{group_id}", "a group's page is public: it spreads by sharing"),
    ("post", "/api/v1/groups/{group_id}/join", "any member may join a gathering group"),
    ("post", "/api/v1/merchants/{merchant_id}/leaders", "any member may apply to lead for a shop"),
    ("get", "/api/v1/merchants/{merchant_id}/leaders/nearby", "the shop's approved points, ranked for the caller"),
    ("put", "/api/v1/merchants/{merchant_id}/my-leader", "any member may choose a shop's approved leader"),
    ("get", "/api/v1/merchants/{merchant_id}/my-leader", "the caller's own choice at this shop"),
    ("get", "/api/v1/merchants/{merchant_id}/my-leader/history", "the caller's own choices at this shop"),
    ("get", "/api/v1/merchants/{merchant_id}/batches", "a shop's 接龙 batches are public"),
    ("get", "/api/v1/batches/{batch_id}", "a 接龙 batch is public: neighbours join it"),
    ("get", "/api/v1/batches/{batch_id}/joins", "the 接龙 list is public; names only to the allowed"),
    ("post", "/api/v1/batches/{batch_id}/joins", "any member may join an open batch (at their own leader's point)"),
];

/// Parameters that name no one's object: callbacks are signed by the gateway or carrier
/// (the hostile-callback tests cover them; WeChat Pay's and Alipay's notifications to an
/// `owner`, their stories), a tracking push by its subscription's salt
/// (`tests/commerce/tracking.rs`), share-link codes are public by design.
const NOT_OBJECTS: &[&str] = &["provider", "carrier", "code", "owner", "subscription_id"];

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
    let shop = t.shop().name("矩阵甲").price(1000).stock(100).build().await;
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
    let aftersale = id_of(
        &t.post(
            &format!("/api/v1/orders/{order}/aftersales"),
            Some(&member.token),
            json!({ "kind": "refund_only", "reason": "changed_mind", "lines": [{ "line_no": 1, "quantity": 1 }] }),
        )
        .await
        .expect(201),
    );
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
    // 社区团购: the member leads a pickup point for merchant A; an open 接龙 batch.
    let leader = id_of(
        &t.post(
            &m("/leaders"),
            Some(&member.token),
            json!({ "point_name": "矩阵驿站", "address": "矩阵小区门口", "latitude": 26.58, "longitude": 106.71 }),
        )
        .await
        .expect(201),
    );
    t.post(
        &format!("/api/v1/leaders/{leader}/approve"),
        Some(&owner_a.token),
        json!({ "rate_bp": 0 }),
    )
    .await
    .expect(200);
    let batch = id_of(
        &t.post(
            &m("/batches"),
            Some(&owner_a.token),
            json!({ "title": "矩阵接龙", "cutoff_at": kith_app::rfc3339(kith_domain::Clock::now_ms(&t.clock) + 86_400_000),
                    "pickup_date": "2099-01-01",
                    "items": [{ "sku_id": sku, "price_fen": 500, "per_member_limit": 5, "quantity_limit": 50 }] }),
        )
        .await
        .expect(201),
    );
    let other = t.register_member("矩阵路人").await;
    let admin = t.admin().await;
    // One of the member's saved addresses (收货地址).
    let saved_address = id_of(
        &t.post("/api/v1/me/addresses", Some(&member.token), address())
            .await
            .expect(201),
    );
    // A WeChat identity of the member's (as a WeChat sign-in links one; this server has
    // no WeChat configured, so the row is written as the link would write it).
    let identity = uuid::Uuid::now_v7().to_string();
    {
        let (i, a, now) = (
            identity.clone(),
            member.id.clone(),
            kith_domain::Clock::now_ms(&t.clock),
        );
        t.app
            .db
            .write(move |c| {
                c.execute(
                    "INSERT INTO external_identities (id, provider, app_id, openid, unionid, account_id, nickname, created_at)
                     VALUES ($1, 'wechat', 'wxmatrix', 'o-matrix', NULL, $2, '矩阵', $3)",
                    kith_store::args![&i, &a, now],
                )
            })
            .await
            .expect("identity");
    }

    let coupon_template = id_of(
        &t.post(
            &m("/coupon-templates"),
            Some(&owner_a.token),
            json!({ "name": "矩阵券", "kind": "fixed", "off_fen": 100, "valid_days": 7, "total_count": 100, "per_member_limit": 100 }),
        )
        .await
        .expect(201),
    );
    let coupon = id_of(
        &t.post(
            &m(&format!("/coupon-templates/{coupon_template}/claim")),
            Some(&member.token),
            json!({}),
        )
        .await
        .expect(201),
    );

    let activity = id_of(
        &t.post(
            &m("/threshold-activities"),
            Some(&owner_a.token),
            json!({ "name": "矩阵满减", "kind": "fixed", "tiers": [{ "min_spend_fen": 10_000, "amount": 500 }],
                    "ends_at": kith_app::rfc3339(kith_domain::Clock::now_ms(&t.clock) + 86_400_000) }),
        )
        .await
        .expect(201),
    );

    let flash = id_of(
        &t.post(
            &m("/flash-sales"),
            Some(&owner_a.token),
            json!({ "name": "矩阵秒杀", "sku_id": sku, "price_fen": 1, "per_member_limit": 100, "per_order_limit": 1,
                    "slots": [{ "starts_at": kith_app::rfc3339(kith_domain::Clock::now_ms(&t.clock)),
                                "ends_at": kith_app::rfc3339(kith_domain::Clock::now_ms(&t.clock) + 86_400_000), "quota": 1000 }] }),
        )
        .await
        .expect(201),
    );

    let mut ids = BTreeMap::new();
    ids.insert("activity_id", activity);
    ids.insert("sale_id", flash);
    ids.insert("template_id", coupon_template);
    ids.insert("coupon_id", coupon);
    ids.insert("merchant_id", merchant_a);
    ids.insert("store_id", store_a);
    ids.insert("product_id", product);
    ids.insert("sku_id", sku);
    ids.insert("tier_id", id_of(&tier));
    ids.insert("tier_code", "member".to_owned());
    ids.insert("invitation_id", invitation);
    ids.insert("endpoint_id", endpoint);
    ids.insert("order_id", order);
    ids.insert("aftersale_id", aftersale);
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
    ids.insert("identity_id", identity);
    ids.insert("address_id", saved_address);
    ids.insert("leader_id", leader);
    ids.insert("batch_id", batch);
    // Not an object: the time a body's deadline field gets (a day from now).
    ids.insert(
        "ends_at",
        kith_app::rfc3339(kith_domain::Clock::now_ms(&t.clock) + 86_400_000),
    );
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
    "aftersale_id",
    "payment_id",
    "invitation_id",
    "endpoint_id",
    "delivery_id",
    "invite_id",
    "withdrawal_id",
    "media_id",
    "review_id",
    "identity_id",
    "notification_id",
    "coupon_id",
    "refund_id",
    "address_id",
];

/// Parameters whose object this world has no instance of are given a fresh id: the
/// outsider checks still run (nothing may succeed), the owner read is skipped.
const WITHOUT_INSTANCE: &[&str] = &[
    "delivery_id",
    "media_id",
    "review_id",
    "withdrawal_id",
    "notification_id",
    "refund_id",
];

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

/// A schema-valid value for `schema` (a part of the OpenAPI document `doc`): the first
/// enum value, the minimum, one array item, every required property; ids are the world's
/// own (a `sku_id` field gets the merchant's SKU), so a body is refused for who sends it,
/// not for its shape.
fn example(doc: &Value, schema: &Value, name: &str, ids: &BTreeMap<&'static str, String>) -> Value {
    if let Some(r) = schema["$ref"].as_str() {
        let key = r.rsplit('/').next().unwrap_or_default();
        return example(doc, &doc["components"]["schemas"][key], name, ids);
    }
    for k in ["allOf", "oneOf", "anyOf"] {
        if let Some(first) = schema[k]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["type"].as_str() != Some("null")))
        {
            return example(doc, first, name, ids);
        }
    }
    if let Some(v) = schema.get("example").or_else(|| schema["examples"].get(0)) {
        return v.clone();
    }
    if let Some(e) = schema["enum"].as_array().and_then(|e| e.first()) {
        return e.clone();
    }
    let ty = match &schema["type"] {
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        Value::String(t) => t.as_str(),
        _ if schema["properties"].is_object() => "object",
        _ => "null",
    };
    match ty {
        "object" => {
            let mut out = serde_json::Map::new();
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = schema["properties"].as_object() {
                for (k, v) in props {
                    if required.contains(&k.as_str()) {
                        out.insert(k.clone(), example(doc, v, k, ids));
                    }
                }
            }
            Value::Object(out)
        }
        "array" => {
            let n = schema["minItems"].as_u64().unwrap_or(1).max(1);
            let item = example(doc, &schema["items"], name.trim_end_matches('s'), ids);
            Value::Array((0..n).map(|_| item.clone()).collect())
        }
        "integer" | "number" => {
            let min = schema["minimum"].as_f64().unwrap_or(1.0).max(1.0);
            if ty == "integer" {
                json!(min as i64)
            } else {
                json!(min)
            }
        }
        "boolean" => json!(false),
        "string" => {
            let id = name.strip_suffix("_ids").map(|n| format!("{n}_id"));
            if let Some(v) = ids.get(id.as_deref().unwrap_or(name)) {
                return json!(v);
            }
            match (schema["format"].as_str(), name) {
                (Some("date-time"), _) | (_, "starts_at" | "expires_at") => json!(ids["ends_at"]),
                (Some("uri"), _) | (_, "url") => json!("http://127.0.0.1:9/hook"),
                (_, "phone" | "contact_phone" | "login") => json!("13911112222"),
                (_, "email") => json!("matrix@example.com"),
                _ => json!("矩阵的值"),
            }
        }
        _ => Value::Null,
    }
}

/// Values the document does not constrain but validation does (the values the owner's
/// own calls use): `(path contains, field, JSON value)`, first match wins.
#[rustfmt::skip]
const FIELD_VALUES: &[(&str, &str, &str)] = &[
    ("/pickups/redeem", "code", r#""12345678""#),
    ("/skus", "code", r#""SKU-M1""#),
    ("/tiers", "code", r#""gold""#),
    ("", "role", r#""member""#),
    ("", "carrier", r#""sandbox""#),
    ("", "tracking_no", r#""SF1234567890""#),
    ("", "status", r#""active""#),
    ("", "unpaid_timeout_secs", "1800"),
    ("", "topics", r#"["order.paid"]"#),
];

fn with_field_values(template: &str, v: &mut Value) {
    if let Some(obj) = v.as_object_mut() {
        for (k, field) in obj.iter_mut() {
            if let Some((_, _, value)) = FIELD_VALUES
                .iter()
                .find(|(p, f, _)| template.contains(p) && f == k)
            {
                *field = serde_json::from_str(value).expect("FIELD_VALUES is JSON");
            } else {
                with_field_values(template, field);
            }
        }
    } else if let Some(items) = v.as_array_mut() {
        items
            .iter_mut()
            .for_each(|i| with_field_values(template, i));
    }
}

/// The required query parameters of `method template`, with schema-valid values, and
/// those naming an object of the world (`merchant_id`: the distributor team page
/// requires it though the document calls it optional).
fn query_for(
    doc: &Value,
    template: &str,
    method: &str,
    ids: &BTreeMap<&'static str, String>,
) -> String {
    let params = doc["paths"][template][method]["parameters"].as_array();
    let pairs: Vec<String> = params
        .into_iter()
        .flatten()
        .filter(|p| {
            p["in"] == "query"
                && (p["required"] == true || ids.contains_key(p["name"].as_str().unwrap_or("")))
        })
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default();
            let v = example(doc, &p["schema"], name, ids);
            let v = v
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string());
            format!("{name}={v}")
        })
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

/// The schema-valid body of `method template`, or none when it takes no JSON body.
fn body_for(
    doc: &Value,
    template: &str,
    method: &str,
    ids: &BTreeMap<&'static str, String>,
) -> Option<Value> {
    let schema =
        &doc["paths"][template][method]["requestBody"]["content"]["application/json"]["schema"];
    (!schema.is_null()).then(|| {
        let mut body = example(doc, schema, "", ids);
        with_field_values(template, &mut body);
        body
    })
}

async fn call(
    t: &TestApp,
    method: &str,
    path: &str,
    who: Option<&User>,
    body: Option<&Value>,
) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let body = (m != reqwest::Method::GET && m != reqwest::Method::DELETE)
        .then(|| body.cloned().unwrap_or_else(|| json!({})));
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
    // Outsider calls answered 422 although the body is schema-valid: refused for the body
    // before the object was looked at, weaker evidence than a 401/403/404. Must be none.
    let mut body_refused = Vec::new();
    let mut right_reason = 0;
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
                let sent = body_for(&doc, template, method, &w.ids);
                let query = query_for(&doc, template, method, &w.ids);
                let (real_q, fresh_q) = (format!("{real}{query}"), format!("{fresh}{query}"));
                let (s_real, body) = call(&t, method, &real_q, user.as_ref(), sent.as_ref()).await;
                let (s_fresh, _) = call(&t, method, &fresh_q, user.as_ref(), sent.as_ref()).await;
                let private = last_object(template).is_some_and(|n| PRIVATE.contains(&n));
                let refused = matches!(s_real, 401 | 403 | 404 | 422);
                if s_real == 422 {
                    body_refused.push(format!(
                        "{method} {template} as {who}: {}",
                        body.to_string().chars().take(200).collect::<String>()
                    ));
                } else if refused {
                    right_reason += 1;
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
                    || template.ends_with("/pick-lists")
                {
                    &w.owner_a
                } else {
                    &w.member
                };
                cells += 1;
                let (s, body) = call(&t, method, &real, Some(owner), None).await;
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
        "access matrix: {cells} cells, {} owner reads, {right_reason} outsider calls refused for who asked (401/403/404), {} refused for their body (422), {} failures",
        owner_reads.len(),
        body_refused.len(),
        failures.len()
    );
    assert!(cells > 300, "the matrix covers the API: {cells} cells");
    assert!(
        failures.is_empty(),
        "access matrix:\n{}",
        failures.join("\n")
    );
    assert!(
        body_refused.is_empty(),
        "outsider calls refused for their (schema-valid) body, not for who asked:\n{}",
        body_refused.join("\n")
    );
}

crate::both_engines!(access_matrix);

/// Every schema the document names is the one the answers follow: two response types of
/// the same name (group-buy's seat list and insight's proposed-group members were both
/// `GroupMember`) made one overwrite the other, and a group page failed its own document.
async fn the_document_describes_group_pages(t: TestApp) {
    let doc = t.get("/api/openapi.json", None).await.expect(200);
    let schemas = &doc["components"]["schemas"];
    let seat = schemas["Group"]["properties"]["members"]["items"]["$ref"]
        .as_str()
        .expect("a group's members are a named schema");
    let seat = &schemas[seat.rsplit('/').next().unwrap()];
    for field in ["display_name", "is_leader", "paid"] {
        assert!(
            seat["properties"][field].is_object(),
            "a group seat documents {field}: {seat}"
        );
    }
}

crate::both_engines!(the_document_describes_group_pages);
