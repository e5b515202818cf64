//! After-sales in the demo world, made through the use cases after the rest of it exists
//! ([`crate::demo`] calls [`build`]): the KOL ([`crate::demo::KOL`]) bought fresh fruit five
//! times at the fruit shop; each order was shipped, and each has one after-sale request
//! standing where a real shop's requests stand on a busy day:
//!
//! | order | request | who acts next |
//! |---|---|---|
//! | 1 | 仅退款, waiting for the shop's answer | the shop: agree or refuse |
//! | 2 | 仅退款, refused by the shop | the buyer: may ask the platform to arbitrate |
//! | 3 | 退货退款, agreed | the buyer: ships the goods back |
//! | 4 | 退货退款, agreed and shipped back | the shop: confirms what arrived |
//! | 5 | 仅退款, refused and disputed | the platform admin: decides |
//!
//! Another order is on its way with the sandbox carrier, whose signed callbacks gave it a
//! timeline (picked up, out for delivery); a box of fruit also waits in the KOL's cart
//! there, not yet checked out.
//!
//! No money has moved on any of them yet (a refund happens only on an agreement to 仅退款, a
//! received return or the admin's decision), so the rest of the demo's figures stand.

use kith_app::commerce::aftersale::{AftersaleRequest, LineQuantity, OpenAftersale};
use kith_app::commerce::orders::{Address, CheckoutInput, Order};
use kith_app::platform::ids::{MerchantId, SkuId};
use kith_app::{App, AppError, Principal};
use kith_domain::order::DeliveryMethod;

use crate::demo::{KOL, login, member_phone, owner_shop, top_up};

fn e(err: AppError) -> anyhow::Error {
    anyhow::anyhow!("demo after-sales: {err}")
}

/// (kind, reason, what the buyer wrote) of each request, in the order of the table above.
const REQUESTS: [(&str, &str, &str); 5] = [
    (
        "refund_only",
        "damaged",
        "快递挤压，有两个橙子破了流汁，申请部分退款。",
    ),
    (
        "refund_only",
        "quality",
        "收到时蓝莓有几颗发软，口感不如上次。",
    ),
    (
        "return_refund",
        "wrong_item",
        "下单的是 5 斤装，收到的是 3 斤装，退回重发或退款。",
    ),
    (
        "return_refund",
        "not_as_described",
        "详情页写的是赣南脐橙，箱子上印的是别的产地，已寄回。",
    ),
    (
        "refund_only",
        "not_received",
        "物流显示已签收，但我和家人都没有收到，驿站也查不到。",
    ),
];

/// Makes the KOL's five fruit orders and their requests (see the module docs).
pub(crate) async fn build(app: &App) -> anyhow::Result<()> {
    let (owner, mid, skus) = owner_shop(app, "13800000006").await?;
    if skus.is_empty() {
        anyhow::bail!("demo after-sales: the fruit shop sells nothing");
    }
    let buyer = login(app, &member_phone(KOL)).await?;
    let me = app.me(&buyer).await.map_err(e)?;
    let address = Address {
        name: me.account.display_name.clone(),
        phone: member_phone(KOL),
        province: "贵州省".into(),
        city: "贵阳市".into(),
        district: "观山湖区".into(),
        detail: "林城东路 18 号 2 栋 1 单元".into(),
    };

    // First, an order on its way, shipped with the sandbox carrier, whose signed callbacks
    // have reported it picked up and out for delivery: the buyer's order shows its timeline.
    // (Made first, so the requests' orders are the KOL's newest.)
    let on_its_way = shipped_order_by(
        app,
        (&owner, &mid),
        &buyer,
        &address,
        &skus[0].id,
        ("sandbox", "SBX2026000006"),
    )
    .await?;
    let now = app.now_ms();
    for (n, (status, hours_ago)) in [("in_transit", 20), ("out_for_delivery", 2)]
        .into_iter()
        .enumerate()
    {
        let body = serde_json::to_vec(&kith_app::commerce::fulfilment::TrackingCallback {
            event_id: format!("demo-track-{}-{n}", on_its_way.id),
            tracking_no: "SBX2026000006".into(),
            status: status.into(),
            occurred_at: now - hours_ago * 3_600_000,
        })?;
        let sig =
            kith_domain::signature::sign(app.config.sandbox_secret.as_bytes(), now / 1000, &body);
        app.carrier_callback("sandbox", &sig, &body)
            .await
            .map_err(e)?;
    }
    let mut requests: Vec<AftersaleRequest> = Vec::new();
    for (n, (kind, reason, description)) in REQUESTS.iter().enumerate() {
        let sku = &skus[n % skus.len()];
        let order = shipped_order(app, (&owner, &mid), &buyer, &address, &sku.id, n).await?;
        let r = app
            .open_aftersale(
                &buyer,
                &order.id,
                OpenAftersale {
                    kind: (*kind).into(),
                    reason: (*reason).into(),
                    description: (*description).into(),
                    photos: Vec::new(),
                    lines: vec![LineQuantity {
                        line_no: 1,
                        quantity: 1,
                    }],
                },
            )
            .await
            .map_err(e)?;
        requests.push(r);
    }
    // 2 and 5: refused; 5 then disputed.
    for i in [1, 4] {
        app.refuse_aftersale(
            &owner,
            &mid,
            &requests[i].id,
            "图片看不出问题，且生鲜签收后不支持无理由退款。",
        )
        .await
        .map_err(e)?;
    }
    app.dispute_aftersale(
        &buyer,
        &requests[4].id,
        "快递员放在了别人家门口，有驿站监控可以查，请平台介入。",
    )
    .await
    .map_err(e)?;
    // 3 and 4: returns agreed, to the orchard's address; 4 shipped back.
    for i in [2, 3] {
        app.agree_aftersale(
            &owner,
            &mid,
            &requests[i].id,
            Some("江西省赣州市信丰县果园路 1 号 杨记果园 收（13800000006）".into()),
        )
        .await
        .map_err(e)?;
    }
    app.ship_aftersale_return(&buyer, &requests[3].id, "sf", "SF7000000004")
        .await
        .map_err(e)?;
    // And a box of the first fruit waits in the KOL's cart, not yet checked out.
    app.set_cart_item(&buyer, &mid, &skus[0].id, 2)
        .await
        .map_err(e)?;
    Ok(())
}

/// One unit of `sku` bought by `buyer` (paid from a wallet topped up through the sandbox
/// gateway) and shipped by the shop with 顺丰.
async fn shipped_order(
    app: &App,
    shop: (&Principal, &MerchantId),
    buyer: &Principal,
    address: &Address,
    sku: &SkuId,
    n: usize,
) -> anyhow::Result<Order> {
    let tracking = format!("SF{:010}", 6_000_000 + n);
    shipped_order_by(app, shop, buyer, address, sku, ("sf", &tracking)).await
}

/// As [`shipped_order`], with the given (carrier, tracking number).
async fn shipped_order_by(
    app: &App,
    (owner, mid): (&Principal, &MerchantId),
    buyer: &Principal,
    address: &Address,
    sku: &SkuId,
    (carrier, tracking): (&str, &str),
) -> anyhow::Result<Order> {
    let order = app
        .checkout(
            buyer,
            mid,
            CheckoutInput {
                coupon_id: None,
                points: None,
                delivery: DeliveryMethod::Shipping,
                pickup_store_id: None,
                address: Some(address.clone()),
                address_id: None,
                items: Some(vec![(sku.to_string(), 1)]),
            },
        )
        .await
        .map_err(e)?;
    top_up(app, buyer, order.total_fen.get()).await?;
    app.pay_with_wallet(buyer, &order.id).await.map_err(e)?;
    app.ship_order(owner, mid, &order.id, carrier, tracking)
        .await
        .map_err(e)?;
    Ok(order)
}
