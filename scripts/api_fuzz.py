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
import os
import re
import sys
import urllib.error
import urllib.parse
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
    ("delete", "/api/v1/me/identities/{identity_id}"): "an external identity exists only after a sign-in through WeChat's OAuth, which needs WeChat's servers (the WeChat sign-in stories unlink one against a local WeChat)",
    ("put", "/api/v1/merchants/{merchant_id}/payment-credentials/wechat"): "a 2xx needs a real RSA private key and WeChat Pay answering GET /v3/certificates for it, which no fuzzer has (the WeChat Pay stories set them)",
    ("put", "/api/v1/admin/payment-credentials/wechat"): "a 2xx needs a real RSA private key and WeChat Pay answering GET /v3/certificates for it, which no fuzzer has (the WeChat Pay stories set them)",
    ("post", "/api/v1/merchants/{merchant_id}/reconciliations"): "needs the shop's WeChat Pay credentials and WeChat Pay's bill (the reconciliation story runs one against the local WeChat Pay)",
    ("post", "/api/v1/admin/reconciliations"): "needs the platform's WeChat Pay or Alipay credentials and the provider's bills (the payout reconciliation stories run it against the local WeChat Pay and Alipay)",
}


# Known gaps: owned operations the short run does not bring to a 2xx yet, printed, not
# failed. Empty: every owned operation outside ALLOWED reaches a 2xx, so a new operation
# (or one that loses its 2xx) fails the run until the setup gives it what it needs or it
# is allow-listed with its reason. (role, method, path template)
GAPS = set()


# Stateful chains: schemathesis infers links between operations from the document (an id
# a response names feeds the operations that take it) and walks create → read → update →
# delete sequences. Over the whole API it infers ~19,500 links and builds no scenario in
# the time it has, so it runs per resource: (role, path regex).
STATEFUL = [
    ("owner", r"/merchants/\{merchant_id\}/(products|skus)"),
    ("owner", r"/merchants/\{merchant_id\}/(stores|locations)"),
    ("owner", r"/merchants/\{merchant_id\}/(tiers|coupon-templates|threshold-activities|flash-sales)"),
    ("owner", r"/merchants/\{merchant_id\}/webhooks"),
    ("owner", r"/(merchants/\{merchant_id\}/group-campaigns|group-campaigns)"),
    ("owner", r"/(merchants/\{merchant_id\}/batches|batches|leaders)"),
    ("member", r"/posts"),
    ("member", r"/communities"),
    ("member", r"/(orders|aftersales)"),
    ("member", r"/(me/addresses|me/wallet|share-links)"),
]


def owner_of(method, path):
    if not path.startswith("/api/v1/"):
        return None
    if path.startswith("/api/v1/admin/") or re.fullmatch(
        r"/api/v1/merchants/\{merchant_id\}/(approve|reject)", path
    ):
        return "admin"
    # The list of every shop (with the review queue) and the report queue are the
    # platform admin's.
    if path in ("/api/v1/merchants", "/api/v1/reports") and method == "get":
        return "admin"
    if path.startswith("/api/v1/merchants/{merchant_id}/"):
        if re.match(
            r"/api/v1/merchants/\{merchant_id\}/(cart|checkout|my-tier|my-leader|leaders/nearby|coupons$|activities$|coupon-templates/\{template_id\}/claim)",
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
        r"/api/v1/batches/\{batch_id\}/(pick-lists|cutoff|leaders/\{leader_id\}/delivered)", path
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
    # A 满减 activity of the shop's, running for a month.
    import datetime

    activity = call(
        url,
        "post",
        f"{mp}/threshold-activities",
        o,
        {"name": "api-fuzz 满减", "kind": "fixed", "tiers": [{"min_spend_fen": 10000, "amount": 500}],
         "ends_at": iso(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30))},
    ) or {}
    shop["activity_id"] = activity.get("id") or first(call(url, "get", f"{mp}/threshold-activities", o))
    # A 秒杀 of the shop's on its SKU, a slot selling now for a day with a large quota.
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
    flash = call(
        url,
        "post",
        f"{mp}/flash-sales",
        o,
        {"name": "api-fuzz 秒杀", "sku_id": sku, "price_fen": 1, "per_member_limit": 100, "per_order_limit": 1,
         "slots": [{"starts_at": iso(start), "ends_at": iso(start + datetime.timedelta(days=1)), "quota": 100000}]},
    ) or {}
    shop["sale_id"] = flash.get("id") or first(call(url, "get", f"{mp}/flash-sales", o))
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


def send(url, method, path, token=None, body=None, form=None):
    """(status, answer) — for setup steps whose refusal is information, not an error."""
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        ctype = "application/x-www-form-urlencoded"
    else:
        data = json.dumps(body).encode() if body is not None else None
        ctype = "application/json"
    req = urllib.request.Request(url + path, data=data, method=method.upper())
    req.add_header("content-type", ctype)
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw and raw[:1] in b"{[" else None)
    except urllib.error.HTTPError as e:
        return e.code, e.read()[:300]


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def sms_code(data_dir, phone, after):
    """The newest code the demo's console SMS provider logged for `phone` (the demo sends
    no SMS: it writes each message to its log, which is how a demo user reads a code)."""
    import time

    for _ in range(40):
        try:
            lines = open(f"{data_dir}/serve.log", encoding="utf-8", errors="replace").read().splitlines()
        except OSError:
            lines = []
        found = [
            re.search(r"code=(\d{6})", ln)
            for ln in lines[after:]
            if "console provider" in ln and phone in ln
        ]
        found = [f.group(1) for f in found if f]
        if found:
            return found[-1]
        time.sleep(0.25)
    return None


def log_length(data_dir):
    try:
        return len(open(f"{data_dir}/serve.log", encoding="utf-8", errors="replace").read().splitlines())
    except OSError:
        return 0


def alipay_keys():
    """(app private key PEM, another key's public PEM), by the openssl command; None without it."""
    import subprocess

    try:
        app = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True, check=True, text=True).stdout
        other = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True, check=True, text=True).stdout
        public = subprocess.run(["openssl", "rsa", "-pubout"], input=other, capture_output=True, check=True, text=True).stdout
        return app, public
    except (OSError, subprocess.CalledProcessError):
        return None


def prepare(url, data_dir, tok, shop, member, owner, admin):
    """Objects in the states the remaining owned operations need, made through the API the
    way members and staff make them, and per operation the ids and the few body values
    the schema cannot state (a real id, a time in the future, a one-time code). Returns
    {role: [(operation name, {"path.x" | "body.y": value})]}."""
    import datetime

    o, m, a = tok["owner"], tok["member"], tok["admin"]
    mid, sku, store = shop["merchant_id"], shop["sku_id"], shop["store_id"]
    mp = f"/api/v1/merchants/{mid}"
    ops = {"member": [], "owner": [], "admin": []}
    now = datetime.datetime.now(datetime.timezone.utc)

    def op(role, name, **params):
        ops[role].append((name, {k.replace("__", "."): v for k, v in params.items() if v is not None}))

    # A product of the run's own with a priced SKU in stock everywhere, for the batch and
    # campaign operations and a second campaign (the fuzzer edits the demo's SKUs and
    # prices mid-run, so those cannot be relied on).
    own = call(url, "post", f"{mp}/products", o, {"name": "api-fuzz 专用酒", "description": "api-fuzz"}) or {}
    own_sku = None
    if own.get("id"):
        own_sku = (call(url, "post", f"{mp}/products/{own['id']}/skus", o, {"code": "APIFUZZ-1", "list_price_fen": 1000}) or {}).get("id")
        call(url, "put", f"{mp}/products/{own['id']}/status", o, {"status": "active"})
        for loc in items(call(url, "get", f"{mp}/locations", o)):
            call(url, "post", f"{mp}/stock/adjustments", o, {"sku_id": own_sku, "location_id": loc["id"], "delta": 500})

    # A product's name (2–64 characters) and images (this server's uploads or allowed hosts)
    # are rules the schema does not state: a short run may draw no acceptable body by chance.
    op("owner", "POST /api/v1/merchants/{merchant_id}/products", body__name="api-fuzz 新品", body__images=[],
       body__category_id=first(call(url, "get", f"{mp}/categories", o)))

    # Other demo members: friends to follow, helpers to name, members to move.
    others = {}
    for n in range(150, 160):
        phone = f"139000001{n - 100:02d}"
        t = login(url, phone)
        me = call(url, "get", "/api/v1/me", t) or {}
        others[phone] = (t, (me.get("account") or {}).get("id"))
    other = list(others.values())

    address = {"name": "api-fuzz", "phone": "13912345678", "province": "贵州省", "city": "贵阳市",
               "district": "观山湖区", "detail": "api-fuzz 路 1 号"}

    def order(delivery="pickup", pay=True, buyer=m):
        body = {"delivery": delivery, "items": [{"sku_id": sku, "quantity": 1}]}
        if delivery == "pickup":
            body["pickup_store_id"] = store
        else:
            body["address"] = address
            body["delivery"] = "shipping"
        made = call(url, "post", f"{mp}/checkout", buyer, body) or {}
        oid = made.get("id")
        if oid and pay:
            paid = call(url, "post", f"/api/v1/orders/{oid}/pay", buyer, {"provider": "sandbox"}) or {}
            pid = (paid.get("payment") or {}).get("id")
            if pid:
                send(url, "post", f"/sandbox/pay/{pid}/confirm", form={"outcome": "succeeded"})
        return oid

    def shipped_order():
        oid = order("shipping")
        if oid:
            call(url, "post", f"{mp}/orders/{oid}/ship", o, {"carrier": "sandbox", "tracking_no": f"AF{oid[-8:]}"})
        return oid

    # The wallet: a sandbox top-up paid, so paying with the wallet can succeed.
    topup = call(url, "post", "/api/v1/me/wallet/topups", m, {"amount_fen": 2_000_000}) or {}
    if topup.get("id"):
        send(url, "post", f"/sandbox/pay/{topup['id']}/confirm", form={"outcome": "succeeded"})
    op("member", "POST /api/v1/me/wallet/topups", body__provider="sandbox")
    op("member", "POST /api/v1/orders/{order_id}/pay", path__order_id=order(pay=False), body__provider="wallet")

    # After-sales: one request per state an operation needs (one open request per line).
    def request(oid, kind="refund_only"):
        r = call(url, "post", f"/api/v1/orders/{oid}/aftersales", m,
                 {"kind": kind, "reason": "damaged", "description": "api-fuzz", "lines": [{"line_no": 1, "quantity": 1}]})
        return (r or {}).get("id")

    def refused(rid):
        if rid:
            call(url, "post", f"{mp}/aftersales/{rid}/refuse", o, {"reason": "api-fuzz 不同意"})
        return rid

    lines = [{"line_no": 1, "quantity": 1}]
    seen = request(order())
    op("member", "GET /api/v1/aftersales/{aftersale_id}", path__aftersale_id=seen)
    op("member", "POST /api/v1/aftersales/{aftersale_id}/cancel", path__aftersale_id=seen)
    op("member", "POST /api/v1/aftersales/{aftersale_id}/revise", path__aftersale_id=refused(request(order())),
       body__kind="refund_only", body__reason="damaged", body__lines=lines)
    op("member", "POST /api/v1/aftersales/{aftersale_id}/dispute", path__aftersale_id=refused(request(order())))
    op("member", "POST /api/v1/orders/{order_id}/aftersales", path__order_id=order(),
       body__kind="refund_only", body__reason="damaged", body__lines=lines)
    returning = request(shipped_order(), "return_refund")
    if returning:
        call(url, "post", f"{mp}/aftersales/{returning}/agree", o, {"return_address": "api-fuzz 退货仓"})
    op("member", "POST /api/v1/aftersales/{aftersale_id}/return-shipment", path__aftersale_id=returning)
    op("owner", "POST /api/v1/merchants/{merchant_id}/aftersales/{aftersale_id}/agree", path__aftersale_id=request(order()))
    op("owner", "POST /api/v1/merchants/{merchant_id}/aftersales/{aftersale_id}/refuse", path__aftersale_id=request(order()))
    returned = request(shipped_order(), "return_refund")
    if returned:
        call(url, "post", f"{mp}/aftersales/{returned}/agree", o, {"return_address": "api-fuzz 退货仓"})
        call(url, "post", f"/api/v1/aftersales/{returned}/return-shipment", m, {"carrier": "sandbox", "tracking_no": f"RT{returned[-8:]}"})
    warehouse = first(call(url, "get", f"{mp}/locations", o))
    op("owner", "POST /api/v1/merchants/{merchant_id}/aftersales/{aftersale_id}/receive", path__aftersale_id=returned,
       body__lines=[{"line_no": 1, "received": 1, "damaged": 0}], body__location_id=warehouse)
    disputed = refused(request(order()))
    if disputed:
        call(url, "post", f"/api/v1/aftersales/{disputed}/dispute", m, {"note": "api-fuzz 请平台处理"})
    op("admin", "POST /api/v1/admin/aftersales/{aftersale_id}/decide", path__aftersale_id=disputed, body__outcome="nothing")

    # Orders at the shop's back office: a paid pickup order to get ready, a paid shipping
    # order to ship, a paid order to refund; the member confirms a shipped one.
    op("owner", "POST /api/v1/merchants/{merchant_id}/orders/{order_id}/ready", path__order_id=order())
    op("owner", "POST /api/v1/merchants/{merchant_id}/orders/{order_id}/ship", path__order_id=order("shipping"),
       body__carrier="sandbox")
    op("owner", "POST /api/v1/merchants/{merchant_id}/orders/{order_id}/refunds", path__order_id=order())
    op("member", "POST /api/v1/orders/{order_id}/confirm-receipt", path__order_id=shipped_order())

    # Buying: a pickup at the shop's store, with a real SKU.
    op("member", "POST /api/v1/merchants/{merchant_id}/checkout", body__delivery="pickup", body__pickup_store_id=store,
       body__items=[{"sku_id": sku, "quantity": 1}])
    for name in ("POST /api/v1/group-campaigns/{campaign_id}/groups", "POST /api/v1/groups/{group_id}/join"):
        op("member", name, body__delivery="pickup", body__pickup_store_id=store)
    # A second campaign with a gathering group someone else leads, for the member to join
    # (the member's own seat in the demo's campaign uses up its one seat there).
    campaign = (call(url, "post", f"{mp}/group-campaigns", o,
                     {"sku_id": own_sku, "group_size": 3, "group_price_fen": 500, "stock_limit": 50,
                      "ends_at": iso(now + datetime.timedelta(days=7))}) or {}).get("id") if own_sku else None
    gathering = None
    if campaign:
        t0 = other[0][0]
        g = call(url, "post", f"/api/v1/group-campaigns/{campaign}/groups", t0,
                 {"delivery": "pickup", "pickup_store_id": store}) or {}
        seat_order = (g.get("order") or {}).get("id")
        if seat_order:
            # A leader who pays nothing (团长免单) settles the free order with the wallet.
            status, paid = send(url, "post", f"/api/v1/orders/{seat_order}/pay", t0, {"provider": "sandbox"})
            if status == 409:
                send(url, "post", f"/api/v1/orders/{seat_order}/pay", t0, {"provider": "wallet"})
            pid = ((paid if isinstance(paid, dict) else {}).get("payment") or {}).get("id")
            if pid:
                send(url, "post", f"/sandbox/pay/{pid}/confirm", form={"outcome": "succeeded"})
        gathering = (g.get("group") or {}).get("id")
    # A coupon that may be used on a 拼团, for opening a group (the fuzzer also draws
    # coupons it saw elsewhere, which a group refuses).
    gb = call(url, "post", f"{mp}/coupon-templates", o,
              {"name": "api-fuzz 拼团券", "kind": "fixed", "off_fen": 100, "valid_days": 30, "total_count": 1000,
               "per_member_limit": 10, "allow_group_buy": True}) or {}
    gb_coupon = (call(url, "post", f"{mp}/coupon-templates/{gb['id']}/claim", m, {}) or {}).get("id") if gb.get("id") else None
    op("member", "POST /api/v1/group-campaigns/{campaign_id}/groups", body__coupon_id=gb_coupon)
    # Joining takes a coupon of its own (the one above goes into the group the member opens):
    # a random coupon id would be a 404 every time.
    gb_coupon2 = (call(url, "post", f"{mp}/coupon-templates/{gb['id']}/claim", m, {}) or {}).get("id") if gb.get("id") else None
    op("member", "POST /api/v1/groups/{group_id}/join", path__group_id=gathering, body__points=0,
       body__coupon_id=gb_coupon2)

    # Sharing: another member's links (a share coupon is for friends who arrive through
    # someone else's link; binding a referrer takes another member's code).
    friend_t, friend_id = other[1]
    link = call(url, "post", "/api/v1/share-links", friend_t, {"kind": "product", "target_id": shop["product_id"]}) or {}
    call(url, "put", f"{mp}/share-coupon", o, {"template_id": shop.get("template_id")})
    # The share coupon is claimed only through a link: a plain template for the shop's claim.
    plain = call(url, "post", f"{mp}/coupon-templates", o,
                 {"name": "api-fuzz 普通券", "kind": "fixed", "off_fen": 100, "valid_days": 30,
                  "total_count": 100000, "per_member_limit": 100}) or {}
    op("member", "POST /api/v1/merchants/{merchant_id}/coupon-templates/{template_id}/claim",
       path__template_id=plain.get("id"))
    op("member", "POST /api/v1/s/{code}/coupons/{template_id}/claim", path__code=link.get("code"))
    op("member", "POST /api/v1/me/referrers", body__code=link.get("code"))
    op("owner", "PUT /api/v1/merchants/{merchant_id}/share-coupon", body__template_id=shop.get("template_id"))
    op("owner", "PUT /api/v1/merchants/{merchant_id}/new-member-coupon", body__template_id=shop.get("template_id"))

    # Posts: tags name SKUs on sale; a post that tags one, for the tag visit.
    op("member", "POST /api/v1/posts", body__tags=[sku], body__images=[], body__visibility="public")
    tagged = call(url, "post", "/api/v1/posts", m, {"body": "api-fuzz 推荐", "visibility": "public", "tags": [sku]}) or {}
    op("member", "POST /api/v1/posts/{post_id}/tag-visits", path__post_id=tagged.get("id"))

    # People: a friend to read and follow, another to block (blocking hides a profile,
    # so the reads must not use the account the block operation takes).
    reader_id, blocked_id = other[2][1], other[3][1]
    for name in (
        "GET /api/v1/accounts/{account_id}",
        "POST /api/v1/accounts/{account_id}/follow",
        "GET /api/v1/accounts/{account_id}/followers",
        "GET /api/v1/accounts/{account_id}/following",
        "GET /api/v1/accounts/{account_id}/friends",
        "GET /api/v1/accounts/{account_id}/mutual-friends",
        "GET /api/v1/accounts/{account_id}/posts",
    ):
        op("member", name, path__account_id=reader_id)
    for name in ("POST /api/v1/accounts/{account_id}/block", "DELETE /api/v1/accounts/{account_id}/block"):
        op("member", name, path__account_id=blocked_id)

    # The member's own community with members in it (to promote, flag, remove and move
    # out), and one that asks for approval with a request waiting.
    cid = member.get("community_id")
    if cid:
        for t, _ in other[4:8]:
            call(url, "post", f"/api/v1/communities/{cid}/join", t, {})
        op("member", "PUT /api/v1/communities/{community_id}/members/{account_id}/role", path__account_id=other[4][1])
        op("member", "PUT /api/v1/communities/{community_id}/members/{account_id}/opinion-leader",
           path__account_id=other[4][1])
        op("member", "POST /api/v1/communities/{community_id}/members/{account_id}/remove", path__account_id=other[5][1])
        op("member", "POST /api/v1/communities/{community_id}/split", body__member_ids=[other[6][1], other[7][1]])
    gated = call(url, "post", "/api/v1/communities", m,
                 {"name": "api-fuzz 审核群", "description": "", "tags": [], "join_policy": "approval"}) or {}
    if gated.get("id"):
        call(url, "post", f"/api/v1/communities/{gated['id']}/join", other[8][0], {})
        op("member", "POST /api/v1/communities/{community_id}/members/{account_id}/approve",
           path__community_id=gated["id"], path__account_id=other[8][1])

    # Notifications the member has, read one.
    op("member", "POST /api/v1/me/notifications/{notification_id}/read",
       path__notification_id=first(call(url, "get", "/api/v1/me/notifications", m)))

    # Phone codes: the demo's console SMS provider logs each code; the member asks for a
    # login code and a bind code, and the operations use them.
    # (A login code for another member's number: the member's own stays free for the
    # fuzzer's code requests, and one number gets one code a minute.)
    login_phone = "13900000160"
    mark = log_length(data_dir)
    send(url, "post", "/api/v1/auth/sms-codes", body={"phone": login_phone, "purpose": "login"})
    op("member", "POST /api/v1/auth/sms-login", body__phone=login_phone, body__code=sms_code(data_dir, login_phone, mark))
    spare = "13700000123"
    mark = log_length(data_dir)
    send(url, "post", "/api/v1/auth/sms-codes", m, {"phone": spare, "purpose": "bind"})
    op("member", "PUT /api/v1/me/phone", body__phone=spare, body__code=sms_code(data_dir, spare, mark))
    op("member", "PUT /api/v1/me/password", body__current_password=PASSWORD, body__new_password=PASSWORD)

    # The address book: saved addresses to edit and to delete (one each, so deleting never
    # takes the edit's away), and the region and number the schema cannot state (a district
    # of the city of the province).
    saved = [(call(url, "post", "/api/v1/me/addresses", m, address) or {}).get("id") for _ in range(2)]
    region = {"body__province": "贵州省", "body__city": "贵阳市", "body__district": "观山湖区",
              "body__phone": "13912345678"}
    op("member", "POST /api/v1/me/addresses", **region)
    op("member", "PUT /api/v1/me/addresses/{address_id}", path__address_id=saved[0], **region)
    op("member", "DELETE /api/v1/me/addresses/{address_id}", path__address_id=saved[1])

    # Commission: the shop lowers its minimum withdrawal to 10 元 (a plan setting), so the
    # member's available commission pays two: one the operation asks for, one waiting for
    # the admin to reject (the admin's approval takes the demo's waiting withdrawal).
    plan = call(url, "get", f"{mp}/commission-plan", o) or {}
    if plan:
        plan.pop("merchant_id", None)
        plan.pop("overrides", None)
        plan["withdraw_min_fen"] = 1000
        call(url, "put", f"{mp}/commission-plan", o, plan)
    op("member", "POST /api/v1/distributors/{member_id}/withdrawals", body__merchant_id=mid, body__amount_fen=1000)
    # The team at the shop (its merchant_id query is required: a generated one may never be
    # the shop's in a short run).
    op("member", "GET /api/v1/distributors/{member_id}/team", query__merchant_id=mid)
    waiting = call(url, "post", f"/api/v1/distributors/{member['member_id']}/withdrawals", m,
                   {"merchant_id": mid, "amount_fen": 1000}) or {}
    op("admin", "POST /api/v1/admin/withdrawals/{withdrawal_id}/reject", path__withdrawal_id=waiting.get("id"))
    op("admin", "POST /api/v1/admin/withdrawals/{withdrawal_id}/approve", path__withdrawal_id=admin.get("withdrawal_id"))
    # Settling up with the shop: 1 fen the way its settled balance is owed (the demo's
    # completed orders leave one), under a reference of the run's own.
    row = next((r for r in items(call(url, "get", "/api/v1/admin/settlements", a)) if r.get("merchant_id") == mid), {})
    owed = row.get("settled_fen", 0)
    op("admin", "POST /api/v1/admin/merchants/{merchant_id}/settle-ups", path__merchant_id=mid,
       body__direction="platform_paid" if owed > 0 else "merchant_paid", body__amount_fen=1,
       body__reference=f"api-fuzz-{now.timestamp():.0f}")

    # 社区团购: helpers of the member's point, applications to decide, a batch past its
    # cut-off to deliver, a join with a real SKU, another shop to apply at.
    leader = member.get("leader_id")
    if leader:
        call(url, "post", f"/api/v1/leaders/{leader}/helpers", m, {"account_id": other[9][1]})
        op("member", "DELETE /api/v1/leaders/{leader_id}/helpers/{account_id}", path__account_id=other[9][1])
        op("member", "POST /api/v1/leaders/{leader_id}/helpers", body__account_id=other[2][1])
        op("member", "PUT /api/v1/merchants/{merchant_id}/my-leader", body__leader_id=leader)
        op("owner", "PUT /api/v1/leaders/{leader_id}/level", body__rate_bp=0)
    op("member", "POST /api/v1/batches/{batch_id}/joins", body__items=[{"sku_id": sku, "quantity": 1}])

    def application(t, name):
        r = call(url, "post", f"{mp}/leaders", t,
                 {"point_name": name, "address": "api-fuzz 小区二期门口", "latitude": 26.6, "longitude": 106.7}) or {}
        return r.get("id")

    op("owner", "POST /api/v1/leaders/{leader_id}/approve", path__leader_id=application(other[2][0], "api-fuzz 二号点"),
       body__rate_bp=0)
    op("owner", "POST /api/v1/leaders/{leader_id}/refuse", path__leader_id=application(other[3][0], "api-fuzz 三号点"))
    paused = application(other[5][0], "api-fuzz 四号点")
    if paused:
        call(url, "post", f"/api/v1/leaders/{paused}/approve", o, {"rate_bp": 0})
        call(url, "post", f"/api/v1/leaders/{paused}/suspend", o, {})
    op("owner", "POST /api/v1/leaders/{leader_id}/resume", path__leader_id=paused)
    elsewhere = next((x["id"] for x in items(call(url, "get", "/api/v1/merchants", a))
                      if x.get("id") != mid and x.get("status") == "approved"), None)
    op("member", "POST /api/v1/merchants/{merchant_id}/leaders", path__merchant_id=elsewhere,
       body__latitude=26.6, body__longitude=106.7)
    batch_body = {
        "cutoff_at": iso(now + datetime.timedelta(days=3)),
        "pickup_date": (now + datetime.timedelta(days=5)).strftime("%Y-%m-%d"),
        "items": [{"sku_id": own_sku or sku, "price_fen": 1, "per_member_limit": 5, "quantity_limit": 100}],
    }
    op("owner", "POST /api/v1/merchants/{merchant_id}/batches", body__cutoff_at=batch_body["cutoff_at"],
       body__pickup_date=batch_body["pickup_date"], body__items=batch_body["items"], body__starts_at=iso(now),
       body__title="api-fuzz 接龙二")
    # Another warehouse by a name the run owns (random names may all be taken by the time
    # the generator gets there: 409 for each).
    op("owner", "POST /api/v1/merchants/{merchant_id}/locations", body__name="api-fuzz 二号仓")
    # A 团长's own 接龙: the owner lets leaders sell the run's SKU (its fuzzed PUT keeps that
    # list, so the member's batches stay within it whatever order the roles run in).
    if own_sku and leader:
        allowed = [{"sku_id": own_sku, "floor_price_fen": 1, "max_quantity": 100}]
        call(url, "put", f"{mp}/leader-products", o, {"items": allowed})
        op("owner", "PUT /api/v1/merchants/{merchant_id}/leader-products", body__items=allowed)
        op("member", "POST /api/v1/leaders/{leader_id}/batches", body__cutoff_at=batch_body["cutoff_at"],
           body__pickup_date=batch_body["pickup_date"], body__items=batch_body["items"], body__starts_at=iso(now),
           body__title="api-fuzz 团长接龙")
    quick = call(url, "post", f"{mp}/batches", o, dict(batch_body, title="api-fuzz 快截单", cutoff_at=iso(now + datetime.timedelta(seconds=4)))) or {}
    if quick.get("id") and leader:
        joined = call(url, "post", f"/api/v1/batches/{quick['id']}/joins", m, {"items": [{"sku_id": own_sku or sku, "quantity": 1}]}) or {}
        pid = (joined.get("payment") or {}).get("id")
        if pid:
            send(url, "post", f"/sandbox/pay/{pid}/confirm", form={"outcome": "succeeded"})
        op("owner", "POST /api/v1/batches/{batch_id}/leaders/{leader_id}/delivered", path__batch_id=quick["id"])
    fixed_by = now + datetime.timedelta(seconds=4)
    # A batch of the run's own for the staff to close early (立即截单).
    closing = call(url, "post", f"{mp}/batches", o, dict(batch_body, title="api-fuzz 提前截单")) or {}
    op("owner", "POST /api/v1/batches/{batch_id}/cutoff", path__batch_id=closing.get("id"))

    # The shop's back office: its own objects for each operation that ends or removes one
    # (archiving the product every other operation sells would take it off sale mid-run).
    spare_product = call(url, "post", f"{mp}/products", o, {"name": "api-fuzz 上下架", "description": "api-fuzz"}) or {}
    op("owner", "PUT /api/v1/merchants/{merchant_id}/products/{product_id}/status", path__product_id=spare_product.get("id"))
    op("owner", "PUT /api/v1/merchants/{merchant_id}/stores/{store_id}", body__name="api-fuzz 改名门店",
       body__address="贵州省贵阳市观山湖区 api-fuzz 路 2 号")
    invitation = call(url, "post", f"{mp}/invitations", o, {}) or {}
    op("owner", "POST /api/v1/merchants/{merchant_id}/invitations/{invitation_id}/revoke", path__invitation_id=invitation.get("id"))
    manager = call(url, "post", f"{mp}/invitations", o, {}) or {}
    if manager.get("code"):
        call(url, "post", "/api/v1/invitations/accept", other[6][0], {"code": manager["code"]})
        op("owner", "DELETE /api/v1/merchants/{merchant_id}/staff/{account_id}", path__account_id=other[6][1])
    clerk = call(url, "post", f"{mp}/stores/{store}/clerk-invitations", o, {}) or {}
    if clerk.get("code"):
        call(url, "post", "/api/v1/invitations/accept", other[7][0], {"code": clerk["code"]})
        op("owner", "DELETE /api/v1/merchants/{merchant_id}/stores/{store_id}/clerks/{account_id}", path__account_id=other[7][1])
    empty = call(url, "post", f"{mp}/tiers", o, {"code": "apifuzz_empty", "name": "空等级", "rank": 977}) or {}
    op("owner", "DELETE /api/v1/merchants/{merchant_id}/tiers/{tier_id}", path__tier_id=empty.get("id"))
    op("owner", "POST /api/v1/merchants/{merchant_id}/stock/adjustments", body__sku_id=sku, body__location_id=warehouse)
    op("owner", "POST /api/v1/merchants/{merchant_id}/webhooks", body__url="https://example.com/kith-api-fuzz-2",
       body__topics=["order.paid"])
    op("owner", "POST /api/v1/merchants/{merchant_id}/group-campaigns", body__sku_id=own_sku or sku, body__group_size=2,
       body__group_price_fen=1, body__stock_limit=10, body__ends_at=iso(now + datetime.timedelta(days=7)),
       body__starts_at=iso(now), body__title="api-fuzz 拼团", body__leader_price_fen=1)
    op("owner", "POST /api/v1/merchants/{merchant_id}/coupon-templates", body__kind="fixed", body__off_fen=100,
       body__min_spend_fen=0, body__valid_days=30)
    op("owner", "POST /api/v1/merchants/{merchant_id}/coupon-templates/{template_id}/issue",
       body__account_ids=[member["member_id"]])

    def template(name, then=None):
        t = call(url, "post", f"{mp}/coupon-templates", o,
                 {"name": name, "kind": "fixed", "off_fen": 100, "valid_days": 30, "total_count": 1000}) or {}
        if then and t.get("id"):
            call(url, "post", f"{mp}/coupon-templates/{t['id']}/{then}", o, {})
        return t.get("id")

    op("owner", "POST /api/v1/merchants/{merchant_id}/coupon-templates/{template_id}/pause", path__template_id=template("api-fuzz 暂停券"))
    op("owner", "POST /api/v1/merchants/{merchant_id}/coupon-templates/{template_id}/resume",
       path__template_id=template("api-fuzz 恢复券", "pause"))
    op("owner", "POST /api/v1/merchants/{merchant_id}/coupon-templates/{template_id}/end", path__template_id=template("api-fuzz 结束券"))

    def activity(name, then=None):
        a = call(url, "post", f"{mp}/threshold-activities", o,
                 {"name": name, "kind": "percent", "tiers": [{"min_spend_fen": 100, "amount": 5}],
                  "ends_at": iso(now + datetime.timedelta(days=30))}) or {}
        if then and a.get("id"):
            call(url, "post", f"{mp}/threshold-activities/{a['id']}/{then}", o, {})
        return a.get("id")

    op("owner", "POST /api/v1/merchants/{merchant_id}/threshold-activities", body__kind="fixed",
       body__tiers=[{"min_spend_fen": 20000, "amount": 1000}], body__ends_at=iso(now + datetime.timedelta(days=7)))
    op("owner", "POST /api/v1/merchants/{merchant_id}/threshold-activities/{activity_id}/pause",
       path__activity_id=activity("api-fuzz 暂停满减"))
    op("owner", "POST /api/v1/merchants/{merchant_id}/threshold-activities/{activity_id}/resume",
       path__activity_id=activity("api-fuzz 恢复满减", "pause"))
    op("owner", "POST /api/v1/merchants/{merchant_id}/threshold-activities/{activity_id}/end",
       path__activity_id=activity("api-fuzz 结束满减"))

    def flash_sale(name, then=None):
        start = now - datetime.timedelta(minutes=1)
        f = call(url, "post", f"{mp}/flash-sales", o,
                 {"name": name, "sku_id": own_sku or sku, "price_fen": 1,
                  "slots": [{"starts_at": iso(start), "ends_at": iso(start + datetime.timedelta(days=1)), "quota": 10}]}) or {}
        if then and f.get("id"):
            call(url, "post", f"{mp}/flash-sales/{f['id']}/{then}", o, {})
        return f.get("id")

    op("owner", "POST /api/v1/merchants/{merchant_id}/flash-sales", body__sku_id=own_sku or sku, body__price_fen=1,
       body__per_member_limit=1, body__per_order_limit=1, body__unpaid_timeout_minutes=5,
       body__slots=[{"starts_at": iso(now), "ends_at": iso(now + datetime.timedelta(days=1)), "quota": 10}])
    # The member's 秒杀 orders go to a sale of the run's own product that no other role's
    # operations name: the shop's sale and the demo's SKUs may be paused, ended or
    # repriced by the owner's fuzzing first, and then no order could succeed.
    op("member", "POST /api/v1/flash-sales/{sale_id}/orders", path__sale_id=flash_sale("api-fuzz 会员秒杀"),
       body__quantity=1, body__delivery="shipping", body__address=address, body__points=0)
    # The shop's flash sales are listed by the shop's id, a query parameter.
    op("member", "GET /api/v1/flash-sales", query__merchant_id=shop.get("merchant_id"))
    op("owner", "POST /api/v1/merchants/{merchant_id}/flash-sales/{sale_id}/pause", path__sale_id=flash_sale("api-fuzz 暂停秒杀"))
    op("owner", "POST /api/v1/merchants/{merchant_id}/flash-sales/{sale_id}/resume",
       path__sale_id=flash_sale("api-fuzz 恢复秒杀", "pause"))
    op("owner", "POST /api/v1/merchants/{merchant_id}/flash-sales/{sale_id}/end", path__sale_id=flash_sale("api-fuzz 结束秒杀"))

    # A refund the sandbox fails (its marker in the reason), for the staff's retry.
    failing = order()
    refund = call(url, "post", f"{mp}/orders/{failing}/refunds", o, {"reason": "[sandbox:fail] api-fuzz"}) if failing else None
    refund_id = (refund or {}).get("id")
    op("owner", "POST /api/v1/merchants/{merchant_id}/orders/{order_id}/refunds/{refund_id}/retry",
       path__order_id=failing, path__refund_id=refund_id)

    # Invitations: an invite link to another member's invite-only community, and a clerk
    # invitation of another shop, each for the member to accept.
    closed = call(url, "post", "/api/v1/communities", other[0][0],
                  {"name": "api-fuzz 邀请群", "description": "", "tags": [], "join_policy": "invite_only"}) or {}
    if closed.get("id"):
        invite = call(url, "post", f"/api/v1/communities/{closed['id']}/invites", other[0][0], {"max_uses": 5}) or {}
        op("member", "POST /api/v1/community-invites/{code}/accept", path__code=invite.get("code"))
    baby = login(url, "13800000002")
    baby_shop = ((call(url, "get", "/api/v1/me", baby) or {}).get("staff_of") or [{}])[0].get("merchant_id")
    if baby_shop:
        baby_store = first(call(url, "get", f"/api/v1/merchants/{baby_shop}/stores", baby))
        inv = call(url, "post", f"/api/v1/merchants/{baby_shop}/stores/{baby_store}/clerk-invitations", baby, {}) or {}
        op("member", "POST /api/v1/invitations/accept", body__code=inv.get("code"))

    # Reviews: the shop's after-sale window set to 0 days for two orders (a delivered
    # order completes at once, as a fresh-food shop's does), then set back: one completed
    # order for the member's review, one reviewed for the owner's reply.
    settings = call(url, "get", f"{mp}/settings", o) or {}
    if settings:
        call(url, "put", f"{mp}/settings", o, dict(settings, after_sale_days=0))
        completed = [shipped_order(), shipped_order()]
        for oid in completed:
            if oid:
                call(url, "post", f"/api/v1/orders/{oid}/confirm-receipt", m, {})
        call(url, "put", f"{mp}/settings", o, settings)
        import time

        for _ in range(40):
            states = [((call(url, "get", f"/api/v1/orders/{oid}", m) or {}).get("status")) for oid in completed if oid]
            if states and all(x == "completed" for x in states):
                break
            time.sleep(0.25)
        op("member", "POST /api/v1/orders/{order_id}/lines/{line_no}/review", path__order_id=completed[0],
           path__line_no=1, body__rating=5)
        review = call(url, "post", f"/api/v1/orders/{completed[1]}/lines/1/review", m,
                      {"rating": 4, "body": "api-fuzz 的评价"}) if completed[1] else None
        op("owner", "POST /api/v1/merchants/{merchant_id}/reviews/{review_id}/reply", path__review_id=(review or {}).get("id"))

    # The shop's webhook deliveries (every paid order above made one), for their attempts.
    endpoint = owner.get("endpoint_id")
    if endpoint:
        op("owner", "GET /api/v1/merchants/{merchant_id}/webhook-deliveries/{delivery_id}/attempts",
           path__delivery_id=first(call(url, "get", f"{mp}/webhooks/{endpoint}/deliveries", o)))

    # A second shop application, for the admin to reject (the approval takes the demo's).
    applied = call(url, "post", "/api/v1/merchants", other[1][0], {"name": "api-fuzz 申请的店", "description": "api-fuzz"}) or {}
    op("admin", "POST /api/v1/merchants/{merchant_id}/reject", path__merchant_id=applied.get("id"))

    # Alipay credentials: two RSA 2048 keys made here with the openssl command (an app key
    # and a stand-in for Alipay's), the shapes the open platform gives; kith checks the
    # keys, not who made them.
    keys = alipay_keys()
    if keys:
        for role, name in (("owner", "PUT /api/v1/merchants/{merchant_id}/payment-credentials/alipay"),
                           ("admin", "PUT /api/v1/admin/payment-credentials/alipay")):
            op(role, name, body__app_id="2021000000000001", body__app_private_key_pem=keys[0],
               body__alipay_public_key_pem=keys[1])

    # Give the quick batch's cut-off job its moment before the run starts.
    import time

    while datetime.datetime.now(datetime.timezone.utc) < fixed_by + datetime.timedelta(seconds=2):
        time.sleep(0.5)
    return ops


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    return str(v)


def write_config(url, out):
    tok, ids = collect(url)
    shop = {k: ids["owner"].get(k) for k in ("merchant_id", "product_id", "sku_id", "store_id", "campaign_id", "template_id")}
    prepared = prepare(url, out, tok, shop, dict(ids["member"]), dict(ids["owner"]), dict(ids["admin"]))
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
        # Examples per operation; an operation with prepared values gets at least 20, so
        # that some of them are positive cases carrying those values (the negative cases
        # schemathesis mixes in drop them).
        examples = int(os.environ.get("KITH_API_FUZZ_EXAMPLES", "5"))
        lines += ["", "[generation]", f"max-examples = {examples}"]
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
        # Per operation: the object in the state it needs and the body values the schema
        # cannot state (merged per operation: schemathesis takes the first entry that matches).
        merged = {}
        for name, params in prepared[role]:
            merged.setdefault(name, {}).update(params)
        for name, params in merged.items():
            if params:
                lines += ["", "[[operations]]", f"include-name = {json.dumps(name)}", f"parameters = {toml_value(params)}",
                          f"generation = {{ max-examples = {max(examples, 20)} }}"]
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
        for o in sorted(set(ALLOWED) & set(got), key=lambda o: o[1]):
            report.append(f"  {role:6} allowed but reached (take it off ALLOWED): {o[0].upper()} {o[1]}")
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
    if sys.argv[1] == "stateful":
        for role, rx in STATEFUL:
            print(f"{role}\t{rx}")
        sys.exit(0)
    cmd, url, out = sys.argv[1:4]
    if cmd == "config":
        write_config(url, out)
    else:
        sys.exit(coverage(url, out))
