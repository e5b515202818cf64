//! The access matrix: every staff-only endpoint of a merchant, called by everyone who might
//! try. The owner and managers run the merchant; a plain member, another merchant's staff,
//! a clerk of the merchant's own store and a platform admin are refused (403: admins
//! approve merchants, they do not run them), the anonymous are asked to log in (401).
//! A refusal changes nothing and tells nothing about the merchant.
//!
//! Adding an endpoint is one line in `MATRIX`. Placeholders in paths and bodies:
//! `{m}` the merchant, `{store}` its store, `{tier}` its tier, `{endpoint}` its webhook
//! endpoint, `{delivery}` a delivery to it, `{member}` a member's account, `{x}` an id that
//! names nothing, `{n}` a number fresh for each call; `{new_tier}`, `{new_endpoint}`,
//! `{new_clerk_invitation}` and `{new_manager_invitation}` are made fresh (by the owner)
//! for each call, for endpoints that use their target up.

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};

use crate::both_engines;
use crate::harness::{TestApp, User};

both_engines!(
    staff_endpoints_refuse_everyone_but_staff,
    public_reads_are_public
);

const MERCHANT_NAME: &str = "权限测试商家";
const STORE_NAME: &str = "权限一号门店";
/// Part of the webhook URL: merchants put tokens in URLs, so it must never leak.
const URL_SECRET: &str = "hook-token-8f3a";

const STORE_BODY: &str = r#"{"name": "门店{n}", "address": "贵州省贵阳市观山湖区长岭北路 8 号", "latitude": 26.6, "longitude": 106.6,
    "opening_hours": [{"weekday": 2, "opens": "10:00", "closes": "22:00"}]}"#;
const STORE_PUT_BODY: &str = r#"{"name": "权限一号门店", "address": "贵州省贵阳市观山湖区长岭北路 9 号", "latitude": 26.6, "longitude": 106.6}"#;

/// (method, path, JSON body or "" for none, status for the owner, status for a manager).
/// Everyone else gets the same answer on every row: see `refused`.
type Row = (&'static str, &'static str, &'static str, u16, u16);

#[rustfmt::skip]
const MATRIX: &[Row] = &[
    ("PATCH",  "/api/v1/merchants/{m}", r#"{"description": "简介{n}"}"#, 200, 200),
    ("GET",    "/api/v1/merchants/{m}/staff", "", 200, 200),
    // Only the owner removes managers; {x} is nobody, so the owner gets 404.
    ("DELETE", "/api/v1/merchants/{m}/staff/{x}", "", 404, 403),
    ("GET",    "/api/v1/merchants/{m}/invitations", "", 200, 200),
    // Only the owner invites managers, and withdraws their invitations.
    ("POST",   "/api/v1/merchants/{m}/invitations", "{}", 201, 403),
    ("POST",   "/api/v1/merchants/{m}/invitations/{new_manager_invitation}/revoke", "{}", 200, 403),
    ("POST",   "/api/v1/merchants/{m}/invitations/{new_clerk_invitation}/revoke", "{}", 200, 200),
    ("POST",   "/api/v1/merchants/{m}/tiers", r#"{"code": "t{n}", "name": "等级{n}", "rank": {n}}"#, 201, 201),
    ("PATCH",  "/api/v1/merchants/{m}/tiers/{tier}", r#"{"name": "会员{n}"}"#, 200, 200),
    ("DELETE", "/api/v1/merchants/{m}/tiers/{new_tier}", "", 204, 204),
    ("GET",    "/api/v1/merchants/{m}/members", "", 200, 200),
    ("PUT",    "/api/v1/merchants/{m}/members/{member}/tier", r#"{"tier_code": "base"}"#, 200, 200),
    ("POST",   "/api/v1/merchants/{m}/stores", STORE_BODY, 201, 201),
    ("PUT",    "/api/v1/merchants/{m}/stores/{store}", STORE_PUT_BODY, 200, 200),
    ("POST",   "/api/v1/merchants/{m}/stores/{store}/clerk-invitations", "{}", 201, 201),
    ("GET",    "/api/v1/merchants/{m}/stores/{store}/clerks", "", 200, 200),
    ("DELETE", "/api/v1/merchants/{m}/stores/{store}/clerks/{x}", "", 404, 404),
    ("POST",   "/api/v1/merchants/{m}/webhooks", r#"{"url": "http://127.0.0.1:9/{n}", "topics": ["store.*"]}"#, 201, 201),
    ("GET",    "/api/v1/merchants/{m}/webhooks", "", 200, 200),
    ("DELETE", "/api/v1/merchants/{m}/webhooks/{new_endpoint}", "", 204, 204),
    ("GET",    "/api/v1/merchants/{m}/webhooks/{endpoint}/deliveries", "", 200, 200),
    ("GET",    "/api/v1/merchants/{m}/webhook-deliveries/{delivery}/attempts", "", 200, 200),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Member,
    OtherMerchantStaff,
    Clerk,
    PlatformAdmin,
    Manager,
    Owner,
}

const CALLERS: [Caller; 7] = [
    Caller::Anonymous,
    Caller::Member,
    Caller::OtherMerchantStaff,
    Caller::Clerk,
    Caller::PlatformAdmin,
    Caller::Manager,
    Caller::Owner,
];

/// What a caller who is not staff gets, whatever the endpoint.
fn refused(c: Caller) -> u16 {
    if c == Caller::Anonymous { 401 } else { 403 }
}

/// One approved merchant with something of everything, and one person in every role.
struct World {
    mid: String,
    owner: User,
    manager: User,
    member: User,
    other_staff: User,
    clerk: User,
    admin: User,
    store: String,
    tier: String,
    endpoint: String,
    delivery: String,
}

impl World {
    fn token(&self, c: Caller) -> Option<&str> {
        let u = match c {
            Caller::Anonymous => return None,
            Caller::Member => &self.member,
            Caller::OtherMerchantStaff => &self.other_staff,
            Caller::Clerk => &self.clerk,
            Caller::PlatformAdmin => &self.admin,
            Caller::Manager => &self.manager,
            Caller::Owner => &self.owner,
        };
        Some(u.token.as_str())
    }
}

async fn world(t: &TestApp) -> World {
    let (owner, mid) = t.approved_merchant(MERCHANT_NAME).await;
    let manager = t.manager(&owner, &mid).await;
    let member = t.register_member("普通会员").await;
    let (other_staff, _) = t.approved_merchant("别家商家").await;
    let admin = t.admin().await;
    let tier = t
        .post(
            &format!("/api/v1/merchants/{mid}/tiers"),
            Some(&owner.token),
            json!({ "code": "base", "name": "会员", "rank": 1 }),
        )
        .await
        .expect(201);
    let endpoint = t
        .post(
            &format!("/api/v1/merchants/{mid}/webhooks"),
            Some(&owner.token),
            json!({ "url": format!("http://127.0.0.1:9/{URL_SECRET}"), "topics": ["store.*"] }),
        )
        .await
        .expect(201);
    let endpoint = endpoint["endpoint"]["id"].as_str().unwrap().to_owned();
    // The store's creation is routed to the endpoint: a delivery to look at (never sent,
    // since only the routing step runs).
    let store = t.store(&owner, &mid, STORE_NAME).await;
    kith_app::events::webhooks::dispatch_outbox(&t.app, 100)
        .await
        .expect("route the outbox");
    let page = t
        .get(
            &format!("/api/v1/merchants/{mid}/webhooks/{endpoint}/deliveries"),
            Some(&owner.token),
        )
        .await
        .expect(200);
    let delivery = page["items"][0]["id"]
        .as_str()
        .expect("a delivery")
        .to_owned();
    let clerk = t.clerk(&owner, &mid, &store).await;
    World {
        mid,
        owner,
        manager,
        member,
        other_staff,
        clerk,
        admin,
        store,
        tier: tier["id"].as_str().unwrap().to_owned(),
        endpoint,
        delivery,
    }
}

static N: AtomicU32 = AtomicU32::new(100);

/// Fills in a template's placeholders, making the fresh targets it asks for.
async fn render(t: &TestApp, w: &World, template: &str) -> String {
    let n = N.fetch_add(1, Ordering::Relaxed).to_string();
    let mut s = template
        .replace("{m}", &w.mid)
        .replace("{store}", &w.store)
        .replace("{tier}", &w.tier)
        .replace("{endpoint}", &w.endpoint)
        .replace("{delivery}", &w.delivery)
        .replace("{member}", &w.member.id)
        .replace("{x}", &kith_app::platform::ids::new_id())
        .replace("{n}", &n);
    let owner = Some(w.owner.token.as_str());
    let m = &w.mid;
    if s.contains("{new_tier}") {
        let body = json!({ "code": format!("fresh{n}"), "name": format!("临时{n}"), "rank": n.parse::<i64>().unwrap() });
        let made = t
            .post(&format!("/api/v1/merchants/{m}/tiers"), owner, body)
            .await
            .expect(201);
        s = s.replace("{new_tier}", made["id"].as_str().unwrap());
    }
    if s.contains("{new_endpoint}") {
        let body = json!({ "url": format!("http://127.0.0.1:9/fresh{n}"), "topics": ["tier.*"] });
        let made = t
            .post(&format!("/api/v1/merchants/{m}/webhooks"), owner, body)
            .await
            .expect(201);
        s = s.replace("{new_endpoint}", made["endpoint"]["id"].as_str().unwrap());
    }
    if s.contains("{new_manager_invitation}") {
        let made = t
            .post(
                &format!("/api/v1/merchants/{m}/invitations"),
                owner,
                json!({}),
            )
            .await
            .expect(201);
        s = s.replace("{new_manager_invitation}", made["id"].as_str().unwrap());
    }
    if s.contains("{new_clerk_invitation}") {
        let made = t
            .post(
                &format!("/api/v1/merchants/{m}/stores/{}/clerk-invitations", w.store),
                owner,
                json!({}),
            )
            .await
            .expect(201);
        s = s.replace("{new_clerk_invitation}", made["id"].as_str().unwrap());
    }
    s
}

/// Everything the matrix's endpoints could change, as the owner (and the member) see it.
/// A refused call must leave it exactly as it was.
async fn fingerprint(t: &TestApp, w: &World) -> Value {
    let m = &w.mid;
    let owner = Some(w.owner.token.as_str());
    let mut out = serde_json::Map::new();
    for path in [
        format!("/api/v1/merchants/{m}"),
        format!("/api/v1/merchants/{m}/staff"),
        format!("/api/v1/merchants/{m}/invitations"),
        format!("/api/v1/merchants/{m}/tiers"),
        format!("/api/v1/merchants/{m}/stores"),
        format!("/api/v1/merchants/{m}/stores/{}/clerks", w.store),
        format!("/api/v1/merchants/{m}/webhooks"),
    ] {
        out.insert(path.clone(), t.get(&path, owner).await.expect(200));
    }
    out.insert(
        "my-tier".into(),
        t.get(
            &format!("/api/v1/merchants/{m}/my-tier"),
            Some(&w.member.token),
        )
        .await
        .expect(200),
    );
    Value::Object(out)
}

async fn staff_endpoints_refuse_everyone_but_staff(t: TestApp) {
    let w = world(&t).await;
    // Failures are collected, so one run shows the whole matrix.
    let mut failures = Vec::new();
    for &(method, path_t, body_t, owner_gets, manager_gets) in MATRIX {
        for caller in CALLERS {
            let want = match caller {
                Caller::Owner => owner_gets,
                Caller::Manager => manager_gets,
                other => refused(other),
            };
            let path = render(&t, &w, path_t).await;
            let body = match body_t {
                "" => None,
                b => Some(
                    serde_json::from_str::<Value>(&render(&t, &w, b).await)
                        .expect("body template is JSON"),
                ),
            };
            let is_refusal = matches!(want, 401 | 403);
            let before = if is_refusal {
                Some(fingerprint(&t, &w).await)
            } else {
                None
            };

            let r = t
                .request(
                    method.parse().expect("method"),
                    &path,
                    w.token(caller),
                    body,
                )
                .await;
            let what = format!("{method} {path_t} as {caller:?}");
            if r.status.as_u16() != want {
                failures.push(format!(
                    "{what}: got {} (want {want}): {}",
                    r.status.as_u16(),
                    r.body
                ));
                continue;
            }
            if !is_refusal {
                continue;
            }
            let text = r.body.to_string();
            let kind = if want == 401 {
                "/problems/unauthenticated"
            } else {
                "/problems/forbidden"
            };
            if r.body["type"] != kind {
                failures.push(format!(
                    "{what}: problem type {} (want {kind})",
                    r.body["type"]
                ));
            }
            for secret in [
                MERCHANT_NAME,
                STORE_NAME,
                URL_SECRET,
                w.mid.as_str(),
                w.store.as_str(),
            ] {
                if text.contains(secret) {
                    failures.push(format!("{what}: the refusal tells {secret:?}: {text}"));
                }
            }
            if Some(fingerprint(&t, &w).await) != before {
                failures.push(format!("{what}: a refused call changed the merchant"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} calls went wrong:\n{}",
        failures.len(),
        MATRIX.len() * CALLERS.len(),
        failures.join("\n")
    );
}

/// The reads that a member choosing where to shop needs are open to everyone once the
/// merchant trades, with the same content whoever asks.
async fn public_reads_are_public(t: TestApp) {
    let w = world(&t).await;
    let m = &w.mid;
    for path in [
        format!("/api/v1/merchants/{m}"),
        format!("/api/v1/merchants/{m}/tiers"),
        format!("/api/v1/merchants/{m}/stores"),
        format!("/api/v1/merchants/{m}/stores/{}", w.store),
    ] {
        let reference = t.get(&path, None).await.expect(200);
        for caller in CALLERS {
            assert_eq!(
                t.get(&path, w.token(caller)).await.expect(200),
                reference,
                "GET {path} as {caller:?}"
            );
        }
    }
    assert_eq!(
        t.get(&format!("/api/v1/merchants/{m}"), None)
            .await
            .expect(200)["name"],
        MERCHANT_NAME
    );
}
