//! Fixture builders over the public API, in the style of crates.io's test builders: a story
//! says only what its shop differs in (`t.shop().name("酱香酒坊").stock(5).build().await`)
//! and gets one [`Shop`] back. Each test binary uses a part of it, so unused parts are
//! allowed here rather than copied per binary.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};

use crate::harness::{TestApp, User, address, id};

/// An approved merchant selling one active product, stocked, as [`ShopBuilder`] made it.
pub(crate) struct Shop {
    pub owner: User,
    pub merchant: String,
    pub product: String,
    /// The product's first SKU (`skus[0]`).
    pub sku: String,
    /// The product's SKUs in the order they were given.
    pub skus: Vec<String>,
    /// The merchant's warehouse location.
    pub warehouse: String,
    pickup: Option<Pickup>,
}

/// The store [`ShopBuilder::store`] opens.
pub(crate) struct Pickup {
    pub store: String,
    /// The store's stock location.
    pub location: String,
    /// A member who accepted a clerk invitation to the store.
    pub clerk: User,
}

impl Shop {
    /// The store; panics when the shop was built without [`ShopBuilder::store`].
    pub(crate) fn pickup(&self) -> &Pickup {
        self.pickup.as_ref().expect("a shop built with .store()")
    }
}

/// A [`Shop`] to build: by default a fresh `分享小铺{n}` selling 高山红茶 (one SKU,
/// TEA-250, at ¥100) with 1000 units in the warehouse, no tiers, no store, no plan.
pub(crate) struct ShopBuilder<'a> {
    t: &'a TestApp,
    name: Option<String>,
    product: String,
    price_fen: Option<i64>,
    skus: Vec<(String, String, i64)>,
    stock: i64,
    tiers: Vec<(String, String, i64)>,
    tier_prices: Vec<(String, i64)>,
    store: bool,
    plan: Option<Value>,
}

impl TestApp {
    /// A [`ShopBuilder`] with the defaults; `.build().await` makes the shop.
    pub(crate) fn shop(&self) -> ShopBuilder<'_> {
        ShopBuilder {
            t: self,
            name: None,
            product: "高山红茶".into(),
            price_fen: None,
            skus: Vec::new(),
            stock: 1000,
            tiers: Vec::new(),
            tier_prices: Vec::new(),
            store: false,
            plan: None,
        }
    }
}

impl ShopBuilder<'_> {
    /// The merchant's name (its owner is registered as `{name}老板`).
    pub(crate) fn name(mut self, name: &str) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The product's name.
    pub(crate) fn product(mut self, name: &str) -> Self {
        self.product = name.into();
        self
    }

    /// The list price of the default SKU (TEA-250), in fen; not with [`Self::sku`].
    pub(crate) fn price(mut self, fen: i64) -> Self {
        self.price_fen = Some(fen);
        self
    }

    /// A SKU `code` (规格 `spec`) listed at `fen`. Given once or more, these are the
    /// product's SKUs in place of the default one, the first being [`Shop::sku`].
    pub(crate) fn sku(mut self, code: &str, spec: &str, fen: i64) -> Self {
        self.skus.push((code.into(), spec.into(), fen));
        self
    }

    /// Units of each SKU put in the warehouse (and of the first SKU in the store).
    pub(crate) fn stock(mut self, units: i64) -> Self {
        self.stock = units;
        self
    }

    /// A member tier `code` named `name` at `rank`.
    pub(crate) fn tier(mut self, code: &str, name: &str, rank: i64) -> Self {
        self.tiers.push((code.into(), name.into(), rank));
        self
    }

    /// The first SKU's price for members of tier `code` (declared with [`Self::tier`]).
    pub(crate) fn tier_price(mut self, code: &str, fen: i64) -> Self {
        self.tier_prices.push((code.into(), fen));
        self
    }

    /// A store, 贵阳店, with a clerk and the first SKU's stock: [`Shop::pickup`].
    pub(crate) fn store(mut self) -> Self {
        self.store = true;
        self
    }

    /// The merchant's commission plan (the `PUT /commission-plan` body).
    pub(crate) fn plan(mut self, plan: Value) -> Self {
        self.plan = Some(plan);
        self
    }

    /// Makes the shop through the API, as its owner would.
    pub(crate) async fn build(self) -> Shop {
        static SHOPS: AtomicU32 = AtomicU32::new(0);
        let t = self.t;
        let name = self
            .name
            .unwrap_or_else(|| format!("分享小铺{}", SHOPS.fetch_add(1, Ordering::Relaxed)));
        let (owner, merchant) = t.approved_merchant(&name).await;
        let m = |p: &str| format!("/api/v1/merchants/{merchant}{p}");
        let tok = Some(owner.token.as_str());
        for (code, name, rank) in &self.tiers {
            t.post(
                &m("/tiers"),
                tok,
                json!({ "code": code, "name": name, "rank": rank }),
            )
            .await
            .expect(201);
        }
        let pickup_store = if self.store {
            let store = t.store(&owner, &merchant, "贵阳店").await;
            let clerk = t.clerk(&owner, &merchant, &store).await;
            Some((store, clerk))
        } else {
            None
        };
        let product = id(&t
            .post(
                &m("/products"),
                tok,
                json!({ "name": self.product, "description": "明前" }),
            )
            .await
            .expect(201));
        let specs = if self.skus.is_empty() {
            let fen = self.price_fen.unwrap_or(10_000);
            vec![("TEA-250".into(), "250g".into(), fen)]
        } else {
            assert!(self.price_fen.is_none(), ".price is for the default SKU");
            self.skus
        };
        let mut skus = Vec::new();
        for (code, spec, fen) in specs {
            skus.push(id(&t
                .post(
                    &m(&format!("/products/{product}/skus")),
                    tok,
                    json!({ "code": code, "attrs": { "规格": spec }, "list_price_fen": fen }),
                )
                .await
                .expect(201)));
        }
        let sku = skus[0].clone();
        for (code, fen) in &self.tier_prices {
            t.put(
                &m(&format!("/skus/{sku}/tier-prices/{code}")),
                tok,
                json!({ "price_fen": fen }),
            )
            .await
            .expect(200);
        }
        t.put(
            &m(&format!("/products/{product}/status")),
            tok,
            json!({ "status": "active" }),
        )
        .await
        .expect(200);
        let locations = t.get(&m("/locations"), tok).await.expect(200);
        let location = |kind: &str| {
            locations
                .as_array()
                .expect("locations")
                .iter()
                .find(|l| l["kind"] == kind)
                .map(id)
                .unwrap_or_else(|| panic!("a {kind} location"))
        };
        let warehouse = location("warehouse");
        let pickup = pickup_store.map(|(store, clerk)| Pickup {
            store,
            location: location("store"),
            clerk,
        });
        let in_warehouse = skus.iter().map(|s| (s, &warehouse));
        let in_store = pickup.iter().map(|p| (&sku, &p.location));
        for (s, l) in in_warehouse.chain(in_store) {
            t.post(
                &m("/stock/adjustments"),
                tok,
                json!({ "sku_id": s, "location_id": l, "delta": self.stock, "note": "入库" }),
            )
            .await
            .expect(201);
        }
        if let Some(plan) = self.plan {
            t.put(&m("/commission-plan"), tok, plan).await.expect(200);
        }
        Shop {
            owner,
            merchant,
            product,
            sku,
            skus,
            warehouse,
            pickup,
        }
    }
}

/// An order to place at a shop, for shipping to the harness address: by default one unit of
/// the shop's first SKU, with the buyer's wallet topped up by ¥100 a unit and ¥50 for the
/// freight first. `.placed()` checks it out; `.paid()` also pays it from the wallet.
pub(crate) struct OrderBuilder<'a> {
    t: &'a TestApp,
    buyer: &'a User,
    merchant: String,
    lines: Vec<(String, i64)>,
    top_up: TopUp,
}

/// What [`OrderBuilder::paid`] puts in the wallet first.
enum TopUp {
    /// ¥100 a unit and ¥50 for the freight.
    PerUnit,
    Exactly(i64),
    Nothing,
}

impl TestApp {
    /// An [`OrderBuilder`] for one unit of `shop`'s first SKU.
    pub(crate) fn order<'a>(&'a self, shop: &Shop, buyer: &'a User) -> OrderBuilder<'a> {
        self.order_at(&shop.merchant, &shop.sku, buyer)
    }

    /// An [`OrderBuilder`] for one unit of `sku` at the merchant `merchant` (by id).
    pub(crate) fn order_at<'a>(
        &'a self,
        merchant: &str,
        sku: &str,
        buyer: &'a User,
    ) -> OrderBuilder<'a> {
        OrderBuilder {
            t: self,
            buyer,
            merchant: merchant.to_owned(),
            lines: vec![(sku.to_owned(), 1)],
            top_up: TopUp::PerUnit,
        }
    }
}

impl OrderBuilder<'_> {
    /// Units of the (single) line.
    pub(crate) fn qty(mut self, units: i64) -> Self {
        for line in &mut self.lines {
            line.1 = units;
        }
        self
    }

    /// One unit of each of these SKUs instead, a line each.
    pub(crate) fn skus(mut self, skus: &[&str]) -> Self {
        self.lines = skus.iter().map(|s| ((*s).to_owned(), 1)).collect();
        self
    }

    /// Tops the wallet up by exactly `fen` first (instead of ¥100 a unit + ¥50).
    pub(crate) fn top_up(mut self, fen: i64) -> Self {
        self.top_up = TopUp::Exactly(fen);
        self
    }

    /// Leaves the wallet as it is: the buyer was topped up already.
    pub(crate) fn no_top_up(mut self) -> Self {
        self.top_up = TopUp::Nothing;
        self
    }

    /// Checks out (201): the order as placed.
    pub(crate) async fn placed(&self) -> Value {
        let items: Vec<Value> = self
            .lines
            .iter()
            .map(|(sku, quantity)| json!({ "sku_id": sku, "quantity": quantity }))
            .collect();
        self.t
            .post(
                &format!("/api/v1/merchants/{}/checkout", self.merchant),
                Some(&self.buyer.token),
                json!({ "delivery": "shipping", "address": address(), "items": items }),
            )
            .await
            .expect(201)
    }

    /// Tops up, checks out and pays from the wallet (200): the order as paid.
    pub(crate) async fn paid(self) -> Value {
        match self.top_up {
            TopUp::PerUnit => {
                let units: i64 = self.lines.iter().map(|l| l.1).sum();
                self.t.top_up(self.buyer, 10_000 * units + 5_000).await;
            }
            TopUp::Exactly(fen) => self.t.top_up(self.buyer, fen).await,
            TopUp::Nothing => {}
        }
        let order = self.placed().await;
        let oid = id(&order);
        self.t
            .post(
                &format!("/api/v1/orders/{oid}/pay"),
                Some(&self.buyer.token),
                json!({ "provider": "wallet" }),
            )
            .await
            .expect(200)["order"]
            .clone()
    }
}
