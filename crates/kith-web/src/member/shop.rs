//! Buying: shops and products at the member's tier price, the cart, checkout, paying,
//! and the member's orders.

use super::*;

// --- shops, products, cart, checkout ------------------------------------------------------

pub(super) async fn shops(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    let shops = s.app.trading_merchants().await?;
    Ok(render(&pages::ShopsPage { c, shops })?.into_response())
}

/// A shop, readable without an account (a visitor sees list prices).
pub(super) async fn shop(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
) -> WebResult<Response> {
    let who = c.viewer.as_ref().map(|v| v.principal.clone());
    let mid = MerchantId::parse_or_404(&mid)?;
    let m = s.app.get_merchant(who.as_ref(), &mid).await?;
    let products = s
        .app
        .list_products(who.as_ref(), &mid, Some("active"), PageRequest::first(100))
        .await?
        .items;
    // A shop not trading (its staff previewing it) offers no coupons; a store failure is
    // an error, not zero.
    let offers = match s.app.shop_coupon_templates(&m.id).await {
        Ok(list) => list.len(),
        Err(AppError::NotFound(_)) => 0,
        Err(e) => return Err(e.into()),
    };
    let activities = crate::promotions::activity_words(&s, &c, &mid, None).await?;
    let flash = crate::promotions::flash::shelf(&s, &c, &mid).await?;
    Ok(render(&pages::ShopPage {
        now_ms: s.app.now_ms(),
        c,
        m,
        products,
        offers,
        activities,
        flash,
    })?
    .into_response())
}

#[derive(Deserialize, Default)]
pub(super) struct ProductQuery {
    /// The share link a visitor came through (`/s/{code}` sends them here with it).
    via: Option<String>,
}

/// A product, readable without an account: a visitor sees the list price, the reviews and
/// a way to buy that asks them to sign in (or, arriving through a friend's link, to sign up
/// through it); a member sees their tier's price and which friends bought it.
pub(super) async fn product(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, pid)): Path<(String, String)>,
    Query(q): Query<ProductQuery>,
) -> WebResult<Response> {
    let who = c.viewer.as_ref().map(|v| v.principal.clone());
    let (mid, pid) = (
        MerchantId::parse_or_404(&mid)?,
        kith_app::platform::ids::ProductId::parse_or_404(&pid)?,
    );
    let p = s.app.get_product(who.as_ref(), &mid, &pid).await?;
    let m = s.app.get_merchant(who.as_ref(), &mid).await?;
    let r = s.app.product_rating(who.as_ref(), &mid, &pid).await?;
    let rating = (r.count > 0).then(|| {
        format!(
            "{}.{:02} ({})",
            r.mean_x100 / 100,
            r.mean_x100 % 100,
            r.count
        )
    });
    let stars = |n: i64| "★".repeat(n.clamp(0, 5) as usize);
    let (tier, social, reviews) = match &who {
        Some(who) => {
            let tier = s.app.my_tier(who, &mid).await?.map(|t| t.tier_name);
            // Why to trust it: friends who bought it, friends' reviews first.
            let proof = s.app.social_proof(who, &mid, &pid).await?;
            let named: Vec<String> = proof
                .friend_names
                .iter()
                .map(|f| f.display_name.clone())
                .collect();
            let summary = if c.lang == crate::i18n::Lang::Zh {
                proof.summary.clone()
            } else if proof.friends_bought == 1 {
                "1 friend bought this".to_owned()
            } else {
                format!("{} friends bought this", proof.friends_bought)
            };
            let social = (proof.friends_bought > 0).then(|| (summary, named.join("、")));
            let reviews = proof
                .reviews
                .into_iter()
                .map(|r| (r.author.display_name, stars(r.rating), r.body, r.by_friend))
                .collect();
            (tier, social, reviews)
        }
        None => {
            let reviews = s
                .app
                .product_reviews(None, &mid, &pid, PageRequest::first(20))
                .await?
                .items
                .into_iter()
                .map(|r| (r.author.display_name, stars(r.rating), r.body, false))
                .collect();
            (None, None, reviews)
        }
    };
    let path = format!("/shops/{mid}/products/{pid}");
    let invited = match (&who, q.via.as_deref()) {
        (None, Some(code)) => super::money::shared_by(&s, code, &path).await,
        _ => None,
    };
    // The shop's coupons that cover this product, in words (a shop not trading offers none).
    let coupons = match s.app.shop_coupon_templates(&mid).await {
        Ok(list) => list
            .into_iter()
            .filter(|t| t.scope().covers(&pid))
            .map(|t| {
                use crate::promotions::Terms;
                format!("{} · {}", t.threshold_words(&c), t.value_words(&c))
            })
            .collect(),
        Err(AppError::NotFound(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let activities = crate::promotions::activity_words(&s, &c, &mid, Some(&pid)).await?;
    let public_url = &s.app.config.public_url;
    let from = p.skus.iter().map(|s| s.list_price_fen).min();
    let og = pages::OpenGraph {
        title: p.name.clone(),
        description: match from {
            Some(f) => format!("{} · {}", pages::yuan(f), m.name),
            None => m.name.clone(),
        },
        image: p
            .images
            .first()
            .map(|i| pages::OpenGraph::absolute(public_url, i)),
        url: pages::OpenGraph::absolute(public_url, &path),
    };
    Ok(render(&pages::ProductPage {
        c,
        p,
        og,
        invited,
        merchant_name: m.name,
        tier,
        rating,
        proof: social,
        reviews,
        coupons,
        activities,
    })?
    .into_response())
}

#[derive(Deserialize, Default)]
pub(super) struct SkuQuery {
    /// The post whose product tag was opened: its author gets the content credit.
    post: Option<String>,
}

pub(super) async fn sku(
    State(s): State<Web>,
    c: Ctx,
    headers: HeaderMap,
    Path((mid, sid)): Path<(String, String)>,
    Query(q): Query<SkuQuery>,
) -> WebResult<Response> {
    let who = c.principal()?;
    let pid = s
        .app
        .sku_product(
            &MerchantId::parse_or_404(&mid)?,
            &SkuId::parse_or_404(&sid)?,
        )
        .await?;
    // Content credit is a side effect of a reader following the link — only a top-level
    // navigation, never an image or sub-resource pointed here. A post that cannot be
    // credited (hidden since, or tagging nothing) must not stop the reader reaching the
    // product.
    if let Some(post) = q
        .post
        .as_deref()
        .and_then(kith_app::platform::ids::PostId::parse)
        && top_level_navigation(&headers)
        && let Err(e) = s.app.visit_post_tag(who, &post).await
    {
        tracing::debug!(error = %e, "no content credit for this visit");
    }
    Ok(see(format!("/shops/{mid}/products/{pid}")))
}

/// The cart tab: a cart is per shop, so one shop's cart opens directly and several are
/// listed.
pub(super) async fn carts(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let carts = s.app.carts(&who).await?;
    if let [only] = carts.as_slice() {
        return Ok(see(format!("/shops/{}/cart", only.merchant_id)));
    }
    Ok(render(&pages::CartsPage { c, carts })?.into_response())
}

#[derive(Deserialize)]
pub(super) struct CartQuery {
    /// The address just saved through the cart's 新增地址: preselected.
    #[serde(default)]
    address: Option<String>,
}

pub(super) async fn cart(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    Query(q): Query<CartQuery>,
) -> WebResult<Response> {
    cart_page(&s, c, mid, None, q.address).await
}

/// The cart with its checkout form; after a refused checkout, why (beside the order
/// button) and what was typed, kept.
async fn cart_page(
    s: &Web,
    c: Ctx,
    mid: String,
    refused: Option<(String, Option<String>, CheckoutForm)>,
    chosen: Option<String>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let m = s
        .app
        .get_merchant(Some(&who), &MerchantId::parse_or_404(&mid)?)
        .await?;
    let items = s.app.cart(&who, &m.id).await?;
    let stores = s.app.list_stores(Some(&who), &m.id).await?;
    let coupons = s.app.cart_coupons(&who, &m.id).await?;
    let activity = s.app.cart_activity(&who, &m.id).await?;
    let first = kith_app::platform::page::PageRequest::parse(Some(1), None)?;
    let points = Some(s.app.my_points_at(&who, &m.id, first).await?.balance);
    let shipping = s.app.shipping_rule(&m.id).await?;
    let goods_fen = items
        .iter()
        .filter(|i| i.available)
        .map(|i| i.unit_price_fen.get() * i.quantity)
        .sum();
    let addresses = s.app.my_addresses(&who).await?;
    // The address just added, else the default.
    let preselected = chosen
        .filter(|id| addresses.iter().any(|a| &a.id == id))
        .or_else(|| {
            addresses
                .iter()
                .find(|a| a.is_default)
                .map(|a| a.id.to_string())
        })
        .unwrap_or_default();
    let (error, bad_field, typed) = match refused {
        Some((e, field, typed)) => (Some(e), field, typed),
        None => (
            None,
            None,
            CheckoutForm {
                address_id: preselected,
                ..CheckoutForm::for_viewer(&c)
            },
        ),
    };
    Ok(render(&pages::CartPage {
        c,
        merchant_id: mid,
        merchant_name: m.name,
        items,
        goods_fen,
        stores,
        coupons,
        activity,
        typed,
        error,
        bad_field,
        addresses,
        points,
        shipping,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub(super) struct CartForm {
    #[serde(default)]
    sku_id: String,
    #[serde(default)]
    quantity: String,
    /// `checkout` (立即购买): straight to the cart's checkout form.
    #[serde(default)]
    then: String,
}

pub(super) async fn set_cart(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<CartForm>,
) -> WebResult<Response> {
    let q = parse_int("quantity", &f.quantity)?;
    let who = c.principal()?;
    let (m, sku) = (
        MerchantId::parse_or_404(&mid)?,
        SkuId::parse_or_404(&f.sku_id)?,
    );
    s.app.set_cart_item(who, &m, &sku, q).await?;
    Ok(see(if f.then == "checkout" {
        format!("/shops/{mid}/cart#checkout")
    } else {
        format!("/shops/{mid}/cart")
    }))
}

/// The checkout form as typed (and, after a refusal, as shown again).
#[derive(Deserialize, Default, Clone)]
pub struct CheckoutForm {
    #[serde(default)]
    pub delivery: String,
    pub pickup_store_id: Option<String>,
    /// A saved address chosen (empty: the typed one below).
    #[serde(default)]
    pub address_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub province: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub district: String,
    #[serde(default)]
    pub detail: String,
    /// The coupon chosen (empty: none).
    #[serde(default)]
    pub coupon_id: String,
    /// Points to spend (empty or 0: none), as the cart offered them.
    #[serde(default)]
    pub points: String,
}

impl CheckoutForm {
    /// The form as first shown: delivered, to the viewer's name and phone.
    pub fn for_viewer(c: &Ctx) -> Self {
        CheckoutForm {
            delivery: "shipping".into(),
            name: c.display_name().to_owned(),
            phone: c.phone(),
            ..CheckoutForm::default()
        }
    }

    /// How the order is to arrive, as chosen.
    pub fn delivery_method(&self) -> Result<DeliveryMethod, AppError> {
        match self.delivery.as_str() {
            "pickup" => Ok(DeliveryMethod::Pickup),
            "shipping" => Ok(DeliveryMethod::Shipping),
            _ => Err(AppError::invalid("delivery", "must be shipping or pickup")),
        }
    }

    /// The saved address chosen, if any.
    pub fn saved_address(&self) -> Option<String> {
        Some(self.address_id.trim().to_owned()).filter(|a| !a.is_empty())
    }

    /// Where the order goes by `delivery`, as typed: the pickup store, or the address (none
    /// when a saved one is chosen).
    pub fn destination(&self, delivery: DeliveryMethod) -> (Option<String>, Option<Address>) {
        match delivery {
            DeliveryMethod::Pickup => (self.pickup_store_id.clone(), None),
            DeliveryMethod::Shipping if self.saved_address().is_some() => (None, None),
            DeliveryMethod::Shipping => (
                None,
                Some(Address {
                    name: self.name.clone(),
                    phone: self.phone.clone(),
                    province: self.province.clone(),
                    city: self.city.clone(),
                    district: self.district.clone(),
                    detail: self.detail.clone(),
                }),
            ),
        }
    }

    /// The coupon chosen, if any.
    pub fn coupon(&self) -> Option<String> {
        Some(self.coupon_id.trim().to_owned()).filter(|c| !c.is_empty())
    }

    /// The points offered, if any.
    pub fn points_offered(&self) -> Option<i64> {
        self.points.trim().parse::<i64>().ok().filter(|p| *p > 0)
    }
}

/// A refused address (or pickup store) in the page's words: the address book's words for a
/// field (`address.city` → 请选择该省份下的城市).
pub(crate) fn address_words(c: &Ctx, field: &str) -> &'static str {
    if field == "pickup_store_id" {
        return if c.lang == crate::i18n::Lang::Zh {
            "请选择自提门店"
        } else {
            "Choose a pickup store"
        };
    }
    c.t.addr_refusal(field)
}

pub(super) async fn checkout(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<CheckoutForm>,
) -> WebResult<Response> {
    let delivery = f.delivery_method()?;
    let (pickup_store_id, address) = f.destination(delivery);
    let input = CheckoutInput {
        coupon_id: f.coupon(),
        points: f.points_offered(),
        delivery,
        pickup_store_id,
        address,
        address_id: match delivery {
            DeliveryMethod::Shipping => f.saved_address(),
            DeliveryMethod::Pickup => None,
        },
        items: None,
    };
    let who = c.principal()?.clone();
    let m = MerchantId::parse_or_404(&mid)?;
    let (status, msg, bad_field) = match s.app.checkout(&who, &m, input).await {
        Ok(order) => {
            // The cart is what was bought: empty it.
            for line in &order.lines {
                s.app.set_cart_item(&who, &m, &line.sku_id, 0).await?;
            }
            return Ok(see(format!("/orders/{}", order.id)));
        }
        // Refused for stock or by the per-member hold limits: back to the cart, with why
        // beside the order button, in the page's language, what was typed kept.
        Err(AppError::Conflict {
            field: Some(field),
            reason,
        }) if field == "items" || field.starts_with("items[") => {
            let msg = if reason == kith_app::commerce::inventory::NOT_ENOUGH_STOCK {
                c.t.checkout_no_stock.to_owned()
            } else {
                c.t.checkout_hold_limit
                    .replace("{orders}", &s.app.config.max_unpaid_orders.to_string())
                    .replace(
                        "{units}",
                        &s.app.config.max_unpaid_units_per_sku.to_string(),
                    )
            };
            (StatusCode::CONFLICT, msg, None)
        }
        // The coupon broke a rule (used meanwhile in another order, under its minimum…):
        // back to the cart, which shows the coupons as they fit now, with why.
        Err(AppError::Conflict {
            field: Some(code), ..
        }) if code.starts_with("coupon_") => (
            StatusCode::CONFLICT,
            c.t.coupon_refusal(&code).to_owned(),
            None,
        ),
        // The points were spent meanwhile (another order), or the shop stopped taking them.
        Err(AppError::Conflict {
            field: Some(code), ..
        }) if code.starts_with("points") => {
            (StatusCode::CONFLICT, c.t.pts().short.to_owned(), None)
        }
        // A coupon that is not the buyer's is as if it did not exist.
        Err(AppError::NotFound("coupon")) => (
            StatusCode::CONFLICT,
            c.t.coupon_refusal("coupon_not_available").to_owned(),
            None,
        ),
        // A missing or malformed address (also beside its field) or store.
        Err(AppError::Invalid { field, .. })
            if field.starts_with("address") || field == "pickup_store_id" =>
        {
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                address_words(&c, &field).to_owned(),
                Some(field),
            )
        }
        Err(e) => return Err(e.into()),
    };
    let page = cart_page(&s, c, mid, Some((msg, bad_field, f)), None).await?;
    Ok((status, page).into_response())
}

// --- orders -------------------------------------------------------------------------------

pub(super) async fn orders(
    State(s): State<Web>,
    c: Ctx,
    Query(q): Query<CursorQuery>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let p = s.app.my_orders(&who, page(q.cursor.as_deref())?).await?;
    Ok(render(&pages::OrdersPage {
        c,
        orders: p.items,
        next: p.next_cursor,
    })?
    .into_response())
}

/// The buyer's order. Staff of the merchant may read it through the console instead.
pub(super) async fn order(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    Query(q): Query<OrderQuery>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let id = OrderId::parse_or_404(&id)?;
    let o = s.app.get_order(&who, &id).await?;
    if o.buyer_id != who.account_id {
        return Err(AppError::NotFound("order").into());
    }
    let events = s.app.order_events(&who, &id).await?;
    let mut tracking = s.app.order_tracking(&who, &id).await?;
    tracking.reverse();
    let wechat = o.status.can_pay() && s.app.has_wechatpay(&o.merchant_id).await?;
    // The WeChat Pay payment just started: its code_url, to scan or open.
    let wechat_link = match q.wechat.as_deref().and_then(PaymentId::parse) {
        Some(pid) if wechat => s
            .app
            .get_payment(&who, &pid)
            .await
            .ok()
            .filter(|p| p.provider == "wechat" && p.order_id.as_deref() == Some(o.id.as_str()))
            .and_then(|p| p.pay_url),
        _ => None,
    };
    let alipay = o.status.can_pay() && s.app.has_alipay(&o.merchant_id).await?;
    // The Alipay payment just started: its signed pay page, to open.
    let alipay_link = match q.alipay.as_deref().and_then(PaymentId::parse) {
        Some(pid) if alipay => s
            .app
            .get_payment(&who, &pid)
            .await
            .ok()
            .filter(|p| p.provider == "alipay" && p.order_id.as_deref() == Some(o.id.as_str()))
            .and_then(|p| p.pay_url),
        _ => None,
    };
    let refunds = pages::refund_rows(s.app.list_refunds(&who, &o.merchant_id, &o.id).await?);
    // A pickup order: where to go and when it is open, and the code as a QR code to scan.
    let store = match &o.pickup_store_id {
        Some(sid) => s.app.get_store(Some(&who), &o.merchant_id, sid).await.ok(),
        None => None,
    };
    let store_hours = store
        .as_ref()
        .map(|st| {
            let days = c.t.addr().weekdays;
            st.opening_hours
                .iter()
                .map(|w| {
                    let day = days
                        .get(usize::from(w.weekday).saturating_sub(1))
                        .copied()
                        .unwrap_or("");
                    format!("{day} {}–{}", w.opens, w.closes)
                })
                .collect::<Vec<_>>()
                .join(" · ")
        })
        .unwrap_or_default();
    let pickup_qr_svg = o.pickup_qr.as_deref().and_then(pages::social::qr_svg);
    let aftersales = s.app.order_aftersales(&who, &id).await?;
    let group_id = s.app.group_of_my_order(&who, &id).await?;
    Ok(render(&pages::OrderPage {
        aftersales,
        group_id,
        store,
        store_hours,
        pickup_qr_svg,
        c,
        o,
        events,
        tracking,
        wechat,
        sandbox: s.app.config.sandbox_enabled,
        wechat_link,
        alipay,
        alipay_link,
        refunds,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub(super) struct OrderQuery {
    /// The WeChat Pay payment the pay step just started.
    #[serde(default)]
    wechat: Option<String>,
    /// The Alipay payment the pay step just started.
    #[serde(default)]
    alipay: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct PayForm {
    #[serde(default)]
    provider: String,
}

pub(super) async fn pay(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    CsrfForm(f): CsrfForm<PayForm>,
) -> WebResult<Response> {
    let who: Principal = c.principal()?.clone();
    let id = OrderId::parse_or_404(&id)?;
    match f.provider.as_str() {
        "wallet" => {
            s.app.pay_with_wallet(&who, &id).await?;
            Ok(see(format!("/orders/{id}")))
        }
        "sandbox" => {
            let p = s.app.pay_with_gateway(&who, &id).await?;
            // The gateway's page is served by this server: go there by its path.
            Ok(see(format!("/sandbox/pay/{}", p.id)))
        }
        "wechat" => {
            // Native: the order page shows WeChat Pay's code_url to scan or open.
            let p = s
                .app
                .pay_with_wechat(
                    &who,
                    &id,
                    kith_app::rails::wechatpay::WechatMode::Native,
                    "",
                )
                .await?;
            Ok(see(format!("/orders/{id}?wechat={}", p.id)))
        }
        "alipay" => {
            // The order page links to Alipay's signed pay page (phone or desktop by the
            // browser), rather than redirecting off-site from a form post.
            let mobile = headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ua| {
                    ["Mobile", "Android", "iPhone"]
                        .iter()
                        .any(|m| ua.contains(m))
                });
            let mode = if mobile {
                kith_app::rails::alipay::AlipayMode::Wap
            } else {
                kith_app::rails::alipay::AlipayMode::Page
            };
            let p = s.app.pay_with_alipay(&who, &id, mode).await?;
            Ok(see(format!("/orders/{id}?alipay={}", p.id)))
        }
        _ => Err(AppError::invalid("provider", "must be wallet, sandbox, wechat or alipay").into()),
    }
}

pub(super) async fn cancel(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let who = c.principal()?;
    s.app
        .cancel_order(who, &OrderId::parse_or_404(&id)?)
        .await?;
    Ok(see(format!("/orders/{id}")))
}

pub(super) async fn confirm(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let who = c.principal()?;
    s.app
        .confirm_receipt(who, &OrderId::parse_or_404(&id)?)
        .await?;
    Ok(see(format!("/orders/{id}")))
}
