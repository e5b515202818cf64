#!/usr/bin/env python3
"""Helper of scripts/api-fuzz (standard library only).

  api_fuzz.py config URL DIR     log in as each role, read the demo's ids through the API,
                                 write DIR/<role>.toml (schemathesis config: the token and
                                 the path/query parameter values that role may use)
  api_fuzz.py coverage URL DIR   read DIR/<role>.har (every request schemathesis sent),
                                 print per role the operations it owns that got a 2xx, and
                                 exit 1 when an owned operation outside ALLOWED never did

Which role owns an operation (OWNER below, first match wins):
  admin   /api/v1/admin/*, a merchant application's approve/reject
  owner   /api/v1/merchants/{merchant_id}/* (its shop's back office), ending a campaign
  member  everything else under /api/v1 that needs a session (its own orders, posts,
          communities, groups, wallet, share links, distributor pages, cart and checkout)
  -       public or machine-to-machine operations (health, documents, gateway and carrier
          callbacks and WeChat Pay notifications, sign-up/sign-in, share-link visits, the sandbox gateway, clerk pages):
          fuzzed, not counted
"""
import json
import re
import sys
import urllib.error
import urllib.request

PASSWORD = "kith-demo-2026"
ROLES = {
    # The demo KOL: orders, posts, communities, share links, a team and withdrawals.
    "member": "13900000040",
    # The owner of 酱香酒坊: products, SKUs, stores, campaigns, tiers, orders.
    "owner": "13800000001",
    "admin": "13800000000",
}

# Owned operations that cannot get a 2xx from a fuzzer with these ids, with the reason.
# (method, path template) -> reason
ALLOWED = {
    ("delete", "/api/v1/sessions/current"): "not fuzzed: signing out would end the token the rest of the run uses",
    ("post", "/api/v1/merchants"): "the owner already has a shop and the member is fuzzed with other ids; an application per account",
    ("post", "/api/v1/invitations/accept"): "needs a one-time invitation code only its recipient gets by message",
    ("post", "/api/v1/community-invites/{code}/accept"): "needs a live invite code; codes are not guessable by design",
    ("post", "/api/v1/media"): "multipart image upload: schemathesis sends no valid image bytes",
    ("get", "/api/v1/merchants/{merchant_id}/webhook-deliveries/{delivery_id}/attempts"): "the demo has no webhook deliveries",
    ("post", "/api/v1/merchants/{merchant_id}/reviews/{review_id}/reply"): "the demo has no reviews to reply to",
    ("post", "/api/v1/orders/{order_id}/lines/{line_no}/review"): "a review needs a completed order of the member's",
    ("post", "/api/v1/orders/{order_id}/confirm-receipt"): "needs a shipped order of the member's",
    ("post", "/api/v1/merchants/{merchant_id}/orders/{order_id}/ready"): "needs a paid pickup order at the owner's shop",
    ("post", "/api/v1/merchants/{merchant_id}/orders/{order_id}/ship"): "needs a paid shipping order",
    ("post", "/api/v1/merchants/{merchant_id}/orders/{order_id}/refunds"): "needs a paid order",
    ("post", "/api/v1/merchants/{merchant_id}/approve"): "the demo's pending application is decided once",
    ("post", "/api/v1/merchants/{merchant_id}/reject"): "the demo's pending application is decided once",
    ("put", "/api/v1/merchants/{merchant_id}/payment-credentials/wechat"): "a 2xx needs a real RSA private key and X.509 platform certificate, which no fuzzer generates (the WeChat Pay stories set them)",
    ("put", "/api/v1/admin/payment-credentials/wechat"): "a 2xx needs a real RSA private key and X.509 platform certificate, which no fuzzer generates (the WeChat Pay stories set them)",
    ("put", "/api/v1/merchants/{merchant_id}/payment-credentials/alipay"): "a 2xx needs a real RSA2048 app private key and a distinct Alipay public key, which no fuzzer generates (the Alipay stories set them)",
    ("post", "/api/v1/merchants/{merchant_id}/orders/{order_id}/refunds/{refund_id}/retry"): "needs a failed refund of a paid order (the refund stories fail one through the sandbox's marker)",
    ("post", "/api/v1/merchants/{merchant_id}/reconciliations"): "needs the shop's WeChat Pay credentials and WeChat Pay's bill (the reconciliation story runs one against the local WeChat Pay)",
    ("put", "/api/v1/admin/payment-credentials/alipay"): "a 2xx needs a real RSA2048 app private key and a distinct Alipay public key, which no fuzzer generates (the Alipay stories set them)",
}


# Known gaps: owned operations the short run does not yet bring to a 2xx (the body
# schemathesis generates is refused, the role's ids do not fit the operation, or an
# earlier operation in the run changed the object, e.g. a block before a profile read).
# They are printed, not failed, so the floor is a ratchet: an operation not listed here
# or in ALLOWED that loses its 2xx fails the run, and a listed one that is reached is
# reported so it can be taken off. (role, method, path template)
GAPS = {
    # Added with issue 16 and 20 (session 6): the script makes no after-sale request, no
    # WeChat identity, no notification and reads no SMS code yet, so these have no real id
    # or state in the short run; the HTTP stories cover each of them on both engines.
    ("member", "get", "/api/v1/aftersales/{aftersale_id}"),
    ("member", "post", "/api/v1/aftersales/{aftersale_id}/cancel"),
    ("member", "post", "/api/v1/aftersales/{aftersale_id}/dispute"),
    ("member", "post", "/api/v1/aftersales/{aftersale_id}/return-shipment"),
    ("member", "post", "/api/v1/aftersales/{aftersale_id}/revise"),
    ("member", "post", "/api/v1/orders/{order_id}/aftersales"),
    ("member", "post", "/api/v1/auth/sms-login"),
    ("member", "delete", "/api/v1/me/identities/{identity_id}"),
    ("member", "post", "/api/v1/me/notifications/{notification_id}/read"),
    ("member", "put", "/api/v1/me/password"),
    ("member", "put", "/api/v1/me/phone"),
    ("owner", "post", "/api/v1/merchants/{merchant_id}/aftersales/{aftersale_id}/agree"),
    ("owner", "post", "/api/v1/merchants/{merchant_id}/aftersales/{aftersale_id}/receive"),
    ("owner", "post", "/api/v1/merchants/{merchant_id}/aftersales/{aftersale_id}/refuse"),
    # Coupons (issue 19): a generated template breaks a rule the schema does not state (the
    # value against the minimum spend, the window's order); pausing and resuming depend on the
    # state the run leaves the setup's template in. The coupon stories cover them.
    ("owner", "post", "/api/v1/merchants/{merchant_id}/coupon-templates"),
    ("owner", "post", "/api/v1/merchants/{merchant_id}/coupon-templates/{template_id}/pause"),
    ("owner", "post", "/api/v1/merchants/{merchant_id}/coupon-templates/{template_id}/resume"),
    # Issuing names real members or a tier with members, and the share coupon needs the
    # setup's template chosen and a friend's link to claim through — ids the generated
    # requests do not have. coupons.rs covers each on both engines.
    ("owner", "post", "/api/v1/merchants/{merchant_id}/coupon-templates/{template_id}/issue"),
    ("owner", "put", "/api/v1/merchants/{merchant_id}/share-coupon"),
    ("member", "post", "/api/v1/s/{code}/coupons/{template_id}/claim"),
    # The generated deadlines fall outside the ranges the server takes, which the schema
    # does not state yet.
    ("owner", "put", "/api/v1/merchants/{merchant_id}/aftersale-terms"),
    ("admin", "post", "/api/v1/admin/aftersales/{aftersale_id}/decide"),
    ("member", "post", "/api/v1/communities"),
    ("member", "get", "/api/v1/accounts/{account_id}"),
    ("member", "post", "/api/v1/accounts/{account_id}/follow"),
    ("member", "get", "/api/v1/accounts/{account_id}/followers"),
    ("member", "get", "/api/v1/accounts/{account_id}/following"),
    ("member", "get", "/api/v1/accounts/{account_id}/friends"),
    ("member", "get", "/api/v1/accounts/{account_id}/mutual-friends"),
    ("member", "get", "/api/v1/accounts/{account_id}/posts"),
    ("member", "post", "/api/v1/communities/{community_id}/members/{account_id}/approve"),
    ("member", "put", "/api/v1/communities/{community_id}/members/{account_id}/opinion-leader"),
    ("member", "post", "/api/v1/communities/{community_id}/members/{account_id}/remove"),
    ("member", "put", "/api/v1/communities/{community_id}/members/{account_id}/role"),
    ("member", "post", "/api/v1/communities/{community_id}/split"),
    ("member", "post", "/api/v1/distributors/{member_id}/withdrawals"),
    ("member", "post", "/api/v1/group-campaigns/{campaign_id}/groups"),
    ("member", "post", "/api/v1/groups/{group_id}/join"),
    ("member", "post", "/api/v1/me/referrers"),
    ("member", "post", "/api/v1/me/wallet/topups"),
    ("member", "get", "/api/v1/merchants"),
    ("member", "post", "/api/v1/merchants/{merchant_id}/checkout"),
    ("member", "post", "/api/v1/orders/{order_id}/pay"),
    ("member", "post", "/api/v1/posts"),
    ("member", "delete", "/api/v1/posts/{post_id}/like"),
    ("member", "post", "/api/v1/posts/{post_id}/tag-visits"),
    ("member", "get", "/api/v1/reports"),
    ("member", "get", "/api/v1/search"),
    ("member", "get", "/api/v1/search/who"),
    ("owner", "post", "/api/v1/merchants/{merchant_id}/group-campaigns"),
    ("owner", "post", "/api/v1/merchants/{merchant_id}/invitations/{invitation_id}/revoke"),
    ("owner", "put", "/api/v1/merchants/{merchant_id}/products/{product_id}/status"),
    ("owner", "put", "/api/v1/merchants/{merchant_id}/settings"),
    ("owner", "delete", "/api/v1/merchants/{merchant_id}/staff/{account_id}"),
    ("owner", "post", "/api/v1/merchants/{merchant_id}/stock/adjustments"),
    ("owner", "put", "/api/v1/merchants/{merchant_id}/stores/{store_id}"),
    ("owner", "delete", "/api/v1/merchants/{merchant_id}/stores/{store_id}/clerks/{account_id}"),
    ("owner", "post", "/api/v1/merchants/{merchant_id}/tiers"),
    ("owner", "delete", "/api/v1/merchants/{merchant_id}/tiers/{tier_id}"),
    ("owner", "post", "/api/v1/merchants/{merchant_id}/webhooks"),
    ("owner", "delete", "/api/v1/merchants/{merchant_id}/webhooks/{endpoint_id}"),
    ("owner", "post", "/api/v1/merchants/{merchant_id}/webhooks/{endpoint_id}/enable"),
    ("admin", "post", "/api/v1/admin/withdrawals/{withdrawal_id}/reject"),
    # Added with issue 21 (社区团购): the script makes one application, decided once in the
    # setup (approve, refuse and resume need an application or a suspension the run has
    # not made; the member already applied, so a second application is refused), and one
    # open batch (nothing is delivered before its cut-off); generated bodies rarely carry
    # a leader id, SKU ids or a rate the plan's cap takes. The HTTP stories in
    # tests/commerce/leaders.rs cover each of them on both engines.
    ("member", "post", "/api/v1/merchants/{merchant_id}/leaders"),
    ("member", "put", "/api/v1/merchants/{merchant_id}/my-leader"),
    ("member", "post", "/api/v1/batches/{batch_id}/joins"),
    # Helpers (issue 21): only the leader themself names, lists and removes helpers, and the
    # run's member leads no approved point; the helpers story in tests/commerce/leaders.rs
    # covers them on both engines.
    ("member", "post", "/api/v1/leaders/{leader_id}/helpers"),
    ("member", "get", "/api/v1/leaders/{leader_id}/helpers"),
    ("member", "delete", "/api/v1/leaders/{leader_id}/helpers/{account_id}"),
    # A batch's statements are the staff's and its leaders' only; the run's member leads
    # no point (the journey story in tests/commerce/leaders.rs covers them).
    ("member", "get", "/api/v1/batches/{batch_id}/statements"),
    ("owner", "post", "/api/v1/merchants/{merchant_id}/batches"),
    ("owner", "post", "/api/v1/leaders/{leader_id}/approve"),
    ("owner", "post", "/api/v1/leaders/{leader_id}/refuse"),
    ("owner", "post", "/api/v1/leaders/{leader_id}/resume"),
    ("owner", "post", "/api/v1/leaders/{leader_id}/suspend"),
    ("owner", "put", "/api/v1/leaders/{leader_id}/level"),
    ("owner", "post", "/api/v1/batches/{batch_id}/leaders/{leader_id}/delivered"),
}


def owner_of(method, path):
    if not path.startswith("/api/v1/"):
        return None
    if path.startswith("/api/v1/admin/") or re.fullmatch(
        r"/api/v1/merchants/\{merchant_id\}/(approve|reject)", path
    ):
        return "admin"
    if path.startswith("/api/v1/merchants/{merchant_id}/"):
        if re.match(
            r"/api/v1/merchants/\{merchant_id\}/(cart|checkout|my-tier|my-leader|leaders/nearby|coupons$|coupon-templates/\{template_id\}/claim)",
            path,
        ):
            return "member"
        # A member applies to lead for the shop; the list of leaders is the staff's.
        if path == "/api/v1/merchants/{merchant_id}/leaders" and method == "post":
            return "member"
        return "owner"
    if path == "/api/v1/merchants/{merchant_id}" and method == "patch":
        return "owner"
    if path == "/api/v1/group-campaigns/{campaign_id}/end":
        return "owner"
    if re.fullmatch(r"/api/v1/leaders/\{leader_id\}/(approve|refuse|suspend|resume|level)", path) or re.fullmatch(
        r"/api/v1/batches/\{batch_id\}/(pick-lists|leaders/\{leader_id\}/delivered)", path
    ):
        return "owner"
    if path.startswith(("/api/v1/clerk/", "/api/v1/s/")) or path in (
        "/api/v1/accounts",
        "/api/v1/sessions",
    ) or path.endswith("/callback") or path.startswith(
        ("/api/v1/tracking/", "/api/v1/payments/wechat/notify/", "/api/v1/payments/alipay/notify/")
    ):
        # Provider callbacks and pushes: signed by the provider, owned by no role (an
        # Alipay notification is a form signed RSA2 with a key only the stories hold).
        return None
    return "member"


def call(url, method, path, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method.upper())
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        sys.stderr.write(f"api-fuzz setup: {method} {path}: {e.code} {e.read()[:200]!r}\n")
        return None


def items(v):
    if isinstance(v, dict):
        v = v.get("items", [])
    return v if isinstance(v, list) else []


def first(v, key="id"):
    for it in items(v):
        if isinstance(it, dict) and it.get(key):
            return it[key]
    return None


def login(url, phone):
    return call(url, "post", "/api/v1/sessions", body={"login": phone, "password": PASSWORD})["token"]


def collect(url):
    tok = {role: login(url, phone) for role, phone in ROLES.items()}
    o, m, a = tok["owner"], tok["member"], tok["admin"]
    me_o = call(url, "get", "/api/v1/me", o)
    me_m = call(url, "get", "/api/v1/me", m)
    merchant = me_o["staff_of"][0]["merchant_id"]
    mp = f"/api/v1/merchants/{merchant}"
    member_id = me_m["account"]["id"]
    products = items(call(url, "get", f"{mp}/products", o))
    product = products[0]["id"]
    skus = products[0].get("skus") or []
    sku = skus[0]["id"] if skus else None
    campaigns = call(url, "get", f"{mp}/group-campaigns", o)
    campaign = first(campaigns)
    if sku is None:
        sku = first(campaigns, "sku_id")
    shop = {
        "merchant_id": merchant,
        "product_id": product,
        "sku_id": sku,
        "store_id": first(call(url, "get", f"{mp}/stores", o)),
        "campaign_id": campaign,
        "tier_id": first(call(url, "get", f"{mp}/tiers", o)),
        "tier_code": first(call(url, "get", f"{mp}/tiers", o), "code"),
    }
    # The member's own objects: some come from the demo, the rest are made here through
    # the API the way a member makes them (an order at the shop, a post, a top-up).
    order = call(
        url,
        "post",
        f"{mp}/checkout",
        m,
        {"delivery": "pickup", "pickup_store_id": shop["store_id"], "items": [{"sku_id": sku, "quantity": 1}]},
    )
    post = call(url, "post", "/api/v1/posts", m, {"body": "api-fuzz 的帖子", "visibility": "public", "tags": []})
    # Deleting the post would take the other post operations' object away mid-run: it
    # deletes one of its own.
    doomed = call(url, "post", "/api/v1/posts", m, {"body": "api-fuzz 要删的帖子", "visibility": "public", "tags": []})
    topup = call(url, "post", "/api/v1/me/wallet/topups", m, {"amount_fen": 500})
    # A community of the member's own, so its owner's operations (announcements, invites,
    # history, split, settings) are the member's to fuzz.
    community = (
        call(
            url,
            "post",
            "/api/v1/communities",
            m,
            {"name": "api-fuzz 的群", "description": "", "tags": [], "join_policy": "open"},
        )
        or {}
    ).get("id") or first(call(url, "get", "/api/v1/me/communities", m))
    # Joining and leaving are fuzzed on an open community of the demo's the member is in
    # (the owner of a community neither joins nor leaves it).
    joined = next(
        (
            c["id"]
            for c in items(call(url, "get", "/api/v1/me/communities", m))
            if c.get("join_policy") == "open" and c.get("my_role") == "member"
        ),
        None,
    )
    comment = call(url, "post", f"/api/v1/posts/{post['id']}/comments", m, {"body": "api-fuzz 的评论"}) if post else None
    # A coupon template of the shop's (a large count, so the fuzzer's claims do not empty
    # it) and one coupon of it the member holds.
    template = call(
        url,
        "post",
        f"{mp}/coupon-templates",
        o,
        {"name": "api-fuzz 券", "kind": "fixed", "off_fen": 100, "valid_days": 30, "total_count": 100000, "per_member_limit": 100},
    ) or {}
    shop["template_id"] = template.get("id") or first(call(url, "get", f"{mp}/coupon-templates", o))
    coupon = call(url, "post", f"{mp}/coupon-templates/{shop['template_id']}/claim", m, {}) or {}
    member = dict(shop)
    member.update(
        {
            "account_id": first(call(url, "get", f"{mp}/members", o), "account_id") or member_id,
            "member_id": member_id,
            "order_id": (order or {}).get("id") or first(call(url, "get", "/api/v1/me/orders", m)),
            "post_id": (post or {}).get("id"),
            "comment_id": (comment or {}).get("id"),
            "payment_id": (topup or {}).get("id"),
            "community_id": community,
            "joined_community_id": joined,
            "doomed_post_id": (doomed or {}).get("id"),
            "group_id": first(call(url, "get", "/api/v1/me/groups", m), "group_id")
            or first(call(url, "get", f"/api/v1/group-campaigns/{campaign}/groups", m)),
            "withdrawal_id": first(call(url, "get", f"/api/v1/distributors/{member_id}/withdrawals", m)),
            "line_no": 1,
            "coupon_id": coupon.get("id") or first(call(url, "get", "/api/v1/me/coupons", m)),
            "code": first(call(url, "get", "/api/v1/me/share-links", m), "code"),
        }
    )
    # 社区团购: the member applies to lead for the shop with a pickup point and the owner
    # approves; the owner opens a 接龙 batch a week long; the member chooses themself as
    # leader and joins it, so the leader, batch and pick-list operations have real ids.
    lead = call(
        url,
        "post",
        f"{mp}/leaders",
        m,
        {"point_name": "api-fuzz 驿站", "address": "api-fuzz 小区门口", "latitude": 26.58, "longitude": 106.71},
    ) or {}
    leader_id = lead.get("id") or first(call(url, "get", "/api/v1/me/leaderships", m))
    if leader_id:
        call(url, "post", f"/api/v1/leaders/{leader_id}/approve", o, {"rate_bp": 0})
        call(url, "put", f"{mp}/my-leader", m, {"leader_id": leader_id})
    import datetime

    now = datetime.datetime.now(datetime.timezone.utc)
    batch = call(
        url,
        "post",
        f"{mp}/batches",
        o,
        {
            "title": "api-fuzz 接龙",
            "cutoff_at": (now + datetime.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "pickup_date": (now + datetime.timedelta(days=9)).strftime("%Y-%m-%d"),
            "items": [{"sku_id": sku, "price_fen": 1, "per_member_limit": 5, "quantity_limit": 100}],
        },
    ) or {}
    batch_id = batch.get("id") or first(call(url, "get", f"{mp}/batches", o))
    if batch_id:
        call(url, "post", f"/api/v1/batches/{batch_id}/joins", m, {"items": [{"sku_id": sku, "quantity": 1}]})
    member["leader_id"] = leader_id
    member["batch_id"] = batch_id
    # A webhook endpoint of the shop's (its deliveries fail: CI has no network), for
    # its deliveries, enable and delete operations.
    hook = call(
        url,
        "post",
        f"{mp}/webhooks",
        o,
        {"url": "https://example.com/kith-api-fuzz-hook", "topics": ["order.paid"], "description": "api-fuzz"},
    )
    owner = dict(shop)
    owner.update(
        {
            "account_id": first(call(url, "get", f"{mp}/members", o), "account_id"),
            "member_id": member_id,
            "order_id": first(call(url, "get", f"{mp}/orders", o)),
            "invitation_id": first(call(url, "get", f"{mp}/invitations", o)),
            "endpoint_id": ((hook or {}).get("endpoint") or {}).get("id") or first(call(url, "get", f"{mp}/webhooks", o)),
            "community_id": first(call(url, "get", "/api/v1/me/communities", o)),
            "leader_id": leader_id,
            "batch_id": batch_id,
        }
    )
    pending = next(
        (x["id"] for x in items(call(url, "get", "/api/v1/merchants", a)) if x.get("status") == "pending"),
        merchant,
    )
    admin = {"merchant_id": pending, "withdrawal_id": first(call(url, "get", "/api/v1/admin/withdrawals", a))}
    return tok, {"member": member, "owner": owner, "admin": admin}


def toml_value(v):
    return json.dumps(v) if isinstance(v, str) else str(v)


def write_config(url, out):
    tok, ids = collect(url)
    for role, values in ids.items():
        lines = [
            f'headers = {{ Authorization = "Bearer {tok[role]}" }}',
            "",
            "# The ids this role may use (collected from the demo through the API).",
            "[parameters]",
        ]
        joined = values.pop("joined_community_id", None)
        doomed = values.pop("doomed_post_id", None)
        lines += [f'"path.{k}" = {toml_value(v)}' for k, v in sorted(values.items()) if v is not None]
        if joined:
            lines += [
                "",
                "[[operations]]",
                r'include-path-regex = "^/api/v1/communities/\\{community_id\\}/(join|leave)$"',
                f'parameters = {{ "path.community_id" = {toml_value(joined)} }}',
            ]
        if doomed:
            lines += [
                "",
                "[[operations]]",
                'include-name = "DELETE /api/v1/posts/{post_id}"',
                f'parameters = {{ "path.post_id" = {toml_value(doomed)} }}',
            ]
        lines += [
            "",
            "[[operations]]",
            'include-name = "DELETE /api/v1/sessions/current"',
            "enabled = false",
        ]
        with open(f"{out}/{role}.toml", "w") as f:
            f.write("\n".join(lines) + "\n")
        print(f"{role}: {', '.join(f'{k}' for k, v in sorted(values.items()) if v is not None)}")


def templates(url):
    doc = json.load(urllib.request.urlopen(url + "/api/openapi.json"))
    ops = []
    for path, item in doc["paths"].items():
        rx = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                ops.append((method, path, rx))
    # Literal segments before parameters: /a/b beats /a/{x}.
    ops.sort(key=lambda o: (o[1].count("{"), -len(o[1])))
    return ops


def coverage(url, out):
    ops = templates(url)
    failed = False
    print(f"{'role':8} {'reached/owned':>14} {'%':>5}   (reached: at least one 2xx)")
    report = []
    for role in ROLES:
        try:
            har = json.load(open(f"{out}/{role}.har"))
        except (OSError, ValueError):
            print(f"{role:8} no HAR report")
            failed = True
            continue
        reached = set()
        for e in har["log"]["entries"]:
            method = e["request"]["method"].lower()
            path = "/" + e["request"]["url"].split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]
            status = e["response"]["status"]
            for m, p, rx in ops:
                if m == method and rx.match(path):
                    if 200 <= status < 300:
                        reached.add((m, p))
                    break
        owned = [(m, p) for m, p, _ in ops if owner_of(m, p) == role]
        got = [o for o in owned if o in reached]
        print(f"{role:8} {len(got):>6}/{len(owned):<7} {100 * len(got) // max(1, len(owned)):>4}%")
        for o in sorted(set(owned) - set(got), key=lambda o: o[1]):
            why = ALLOWED.get(o)
            if why:
                report.append(f"  {role:6} allowed   {o[0].upper():6} {o[1]}: {why}")
            elif (role, *o) in GAPS:
                report.append(f"  {role:6} known gap {o[0].upper():6} {o[1]}")
            else:
                report.append(f"  {role:6} UNREACHED {o[0].upper():6} {o[1]}")
                failed = True
        for r, m, p in sorted(GAPS):
            if r == role and (m, p) in reached:
                report.append(f"  {role:6} reached this time (take it off GAPS once every run reaches it): {m.upper()} {p}")
    if report:
        print("owned operations without a 2xx:")
        print("\n".join(report))
    if failed:
        print("api-fuzz: an owned operation never got a 2xx (add ids, or allow-list it with a reason)")
    return 1 if failed else 0


if __name__ == "__main__":
    cmd, url, out = sys.argv[1:4]
    if cmd == "config":
        write_config(url, out)
    else:
        sys.exit(coverage(url, out))
