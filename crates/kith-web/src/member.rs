//! The member app: log in and out, register, the feed, posts with comments, threaded
//! replies and likes, editing and deleting one's posts, the composer, shops and products
//! with the member's tier price, cart and checkout, paying, orders, communities with their
//! announcements and invite links, and the member's own page with their commission wallet,
//! withdrawals, team and share links. Sharing makes (or re-uses) the member's share link
//! and shows it with a QR code; `/s/{code}` is where a shared link lands; opening a product
//! tagged in a post credits the post's author (content credit).

use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kith_app::commerce::orders::{Address, CheckoutInput};
use kith_app::money::sharing::{LinkKind, ShareLink};
use kith_app::platform::accounts::Registration;
use kith_app::platform::page::PageRequest;
use kith_app::social::posts::{NewPost, PostPatch, Visibility};
use kith_app::{AppError, Principal};
use kith_domain::order::DeliveryMethod;
use serde::Deserialize;

use crate::pages::social::{self as sp, WalletView};
use crate::pages::{self, Empty, opt_int, parse_int};
use crate::{CsrfForm, Ctx, Web, WebError, WebResult, csrf_token, render, see};

pub fn routes() -> Router<Web> {
    Router::new()
        .route("/", get(feed))
        .route("/login", get(login_page).post(login))
        .route("/register", get(register_page).post(register))
        .route("/logout", post(logout))
        .route("/posts/{id}", get(post_page))
        .route("/posts/{id}/like", post(like))
        .route("/posts/{id}/unlike", post(unlike))
        .route("/posts/{id}/comments", post(comment))
        .route("/compose", get(compose_page).post(compose))
        .route("/shops", get(shops))
        .route("/shops/{mid}", get(shop))
        .route("/shops/{mid}/products/{pid}", get(product))
        .route("/shops/{mid}/skus/{sid}", get(sku))
        .route("/shops/{mid}/cart", get(cart).post(set_cart))
        .route("/shops/{mid}/checkout", post(checkout))
        .route("/orders", get(orders))
        .route("/orders/{id}", get(order))
        .route("/orders/{id}/pay", post(pay))
        .route("/orders/{id}/cancel", post(cancel))
        .route("/orders/{id}/confirm", post(confirm))
        .route("/search", get(search))
        .route("/communities", get(communities))
        .route("/communities/{id}", get(community))
        .route("/communities/{id}/join", post(join))
        .route("/me", get(me))
        .route("/me/invitations", post(accept_invitation))
        .route("/me/topup", post(topup))
        .route("/me/wallet", get(wallet))
        .route("/me/wallet/withdrawals", post(withdraw))
        .route("/me/commissions/{order_id}", get(order_commission))
        .route("/me/team", get(team))
        .route("/me/links/{code}", get(share_page))
        .route("/share", post(share))
        .route("/s/{code}", get(follow_share))
        .route("/s/{code}/join", get(share_join_page).post(share_join))
        .route("/posts/{id}/edit", get(edit_post_page).post(edit_post))
        .route("/posts/{id}/delete", post(delete_post))
        .route("/communities/{id}/announcements", post(announce))
        .route("/communities/{id}/invites", post(create_invite))
        .route(
            "/communities/{id}/invites/{invite_id}/revoke",
            post(revoke_invite),
        )
        .route("/c/join/{code}", get(invite_page).post(accept_invite))
}

#[derive(Deserialize, Default)]
struct CursorQuery {
    cursor: Option<String>,
}

fn page(cursor: Option<&str>) -> WebResult<PageRequest> {
    Ok(PageRequest::parse(
        Some(20),
        cursor.filter(|c| !c.is_empty()),
    )?)
}

/// Where to go back to after a small action: a local path only (no open redirect).
fn local(back: Option<&str>, fallback: &str) -> String {
    match back {
        // Visible ASCII only: anything else could not stand in a Location header.
        Some(b)
            if b.starts_with('/')
                && !b.starts_with("//")
                && !b.contains('\\')
                && b.bytes().all(|c| c.is_ascii_graphic()) =>
        {
            b.to_owned()
        }
        _ => fallback.to_owned(),
    }
}

// --- sessions ---------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(c: Ctx, Query(q): Query<NextQuery>) -> WebResult<Response> {
    let next = local(q.next.as_deref(), "/");
    if c.viewer.is_some() {
        return Ok(see(next));
    }
    Ok(render(&pages::LoginPage {
        c,
        next,
        login: String::new(),
        error: None,
    })?
    .into_response())
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

fn session_cookie(s: &Web, token: &str, max_age: i64) -> HeaderMap {
    let secure = if s.cfg.cookie_secure { "; Secure" } else { "" };
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        kith_http::extract::SESSION_COOKIE
    )) {
        h.insert(header::SET_COOKIE, v);
    }
    h
}

async fn login(
    State(s): State<Web>,
    c: Ctx,
    addr: kith_http::extract::ClientAddr,
    CsrfForm(f): CsrfForm<LoginForm>,
) -> WebResult<Response> {
    let next = local(f.next.as_deref(), "/");
    match s.app.login(&f.login, &f.password, &addr.0).await {
        Ok(session) => {
            let ttl = s.app.config.session_ttl_secs;
            Ok((session_cookie(&s, &session.token, ttl), see(next)).into_response())
        }
        Err(e @ (AppError::Unauthenticated(_) | AppError::Invalid { .. })) => {
            let page = pages::LoginPage {
                c,
                next,
                login: f.login,
                error: Some(e.to_string()),
            };
            Ok((axum::http::StatusCode::UNAUTHORIZED, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn register_page(c: Ctx) -> WebResult<Response> {
    Ok(render(&pages::RegisterPage { c, error: None })?.into_response())
}

#[derive(Deserialize)]
struct RegisterForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    display_name: String,
}

async fn register(
    State(s): State<Web>,
    c: Ctx,
    addr: kith_http::extract::ClientAddr,
    CsrfForm(f): CsrfForm<RegisterForm>,
) -> WebResult<Response> {
    let input = Registration {
        phone: Some(f.phone.clone()),
        email: None,
        password: f.password.clone(),
        display_name: f.display_name,
    };
    match s.app.register(input).await {
        Ok(_) => {
            let session = s.app.login(&f.phone, &f.password, &addr.0).await?;
            let ttl = s.app.config.session_ttl_secs;
            Ok((session_cookie(&s, &session.token, ttl), see("/")).into_response())
        }
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict { .. })) => {
            let page = pages::RegisterPage {
                c,
                error: Some(e.to_string()),
            };
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn logout(
    State(s): State<Web>,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    if let Some((token, _)) = kith_http::extract::session_token(&headers) {
        s.app.logout(&token).await?;
    }
    Ok((session_cookie(&s, "", 0), see("/login")).into_response())
}

// --- feed and posts -----------------------------------------------------------------------

async fn feed(State(s): State<Web>, c: Ctx, Query(q): Query<CursorQuery>) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let p = s.app.feed(&who, page(q.cursor.as_deref())?).await?;
    Ok(render(&pages::FeedPage {
        c,
        posts: p.items,
        next: p.next_cursor,
    })?
    .into_response())
}

async fn post_page(State(s): State<Web>, c: Ctx, Path(id): Path<String>) -> WebResult<Response> {
    let who = c.viewer.as_ref().map(|v| v.principal.clone());
    let p = s.app.get_post(who.as_ref(), &id).await?;
    let comments = s
        .app
        .list_comments(who.as_ref(), &id, PageRequest::first(50))
        .await?
        .items;
    let mine = who.as_ref().is_some_and(|w| w.account_id == p.author.id);
    Ok(render(&pages::PostPage {
        c,
        p,
        comments,
        mine,
    })?
    .into_response())
}

#[derive(Deserialize)]
struct BackForm {
    back: Option<String>,
}

async fn like(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<BackForm>,
) -> WebResult<Response> {
    s.app.like_post(c.principal()?, &id).await?;
    Ok(see(local(f.back.as_deref(), &format!("/posts/{id}"))))
}

async fn unlike(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<BackForm>,
) -> WebResult<Response> {
    s.app.unlike_post(c.principal()?, &id).await?;
    Ok(see(local(f.back.as_deref(), &format!("/posts/{id}"))))
}

#[derive(Deserialize)]
struct CommentForm {
    #[serde(default)]
    body: String,
    /// The comment this replies to (replies go one level deep).
    parent_id: Option<String>,
}

async fn comment(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<CommentForm>,
) -> WebResult<Response> {
    let parent = f.parent_id.as_deref().filter(|p| !p.is_empty());
    let cm = s
        .app
        .add_comment(c.principal()?, &id, &f.body, parent)
        .await?;
    Ok(see(format!(
        "/posts/{id}#comment-{}",
        cm.parent_id.unwrap_or(cm.id)
    )))
}

async fn compose_page(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let communities = s
        .app
        .my_communities(&who, PageRequest::first(100))
        .await?
        .items;
    let mut products = Vec::new();
    for shop in s.app.trading_merchants().await? {
        let list = s
            .app
            .list_products(Some(&who), &shop.id, None, PageRequest::first(50))
            .await?;
        for p in list.items {
            for sku in p.skus {
                products.push((sku.id, format!("{} · {} ({})", shop.name, p.name, sku.code)));
            }
        }
    }
    Ok(render(&pages::ComposePage {
        c,
        communities,
        products,
    })?
    .into_response())
}

/// The composer's multipart form: text fields, at most one image, the CSRF token.
async fn compose(
    State(s): State<Web>,
    c: Ctx,
    headers: HeaderMap,
    mut form: Multipart,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let (mut body, mut visibility, mut community, mut tag, mut csrf) = (
        String::new(),
        String::from("public"),
        String::new(),
        String::new(),
        String::new(),
    );
    let mut image: Option<Vec<u8>> = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| AppError::invalid("form", e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "image" {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| AppError::invalid("image", e.body_text()))?;
            if !bytes.is_empty() {
                image = Some(bytes.to_vec());
            }
            continue;
        }
        let text = field
            .text()
            .await
            .map_err(|e| AppError::invalid(name.clone(), e.body_text()))?;
        match name.as_str() {
            "body" => body = text,
            "visibility" => visibility = text,
            "community_id" => community = text,
            "tag" => tag = text,
            "csrf" => csrf = text,
            _ => {}
        }
    }
    match kith_http::extract::session_token(&headers) {
        Some((t, _)) if csrf == csrf_token(&t) => {}
        _ => return Err(WebError::Csrf),
    }
    let visibility = Visibility::from_db(&visibility)
        .map_err(|_| AppError::invalid("visibility", "must be public, friends or community"))?;
    let mut images = Vec::new();
    if let Some(bytes) = image {
        images.push(s.app.upload_media(&who, bytes).await?.id);
    }
    let post = s
        .app
        .create_post(
            &who,
            NewPost {
                body,
                visibility,
                community_id: (!community.is_empty()).then_some(community),
                images,
                tags: if tag.is_empty() {
                    Vec::new()
                } else {
                    vec![tag]
                },
            },
        )
        .await?;
    Ok(see(format!("/posts/{}", post.id)))
}

// --- shops, products, cart, checkout ------------------------------------------------------

async fn shops(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    c.principal()?;
    let shops = s.app.trading_merchants().await?;
    Ok(render(&pages::ShopsPage { c, shops })?.into_response())
}

async fn shop(State(s): State<Web>, c: Ctx, Path(mid): Path<String>) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let m = s.app.get_merchant(Some(&who), &mid).await?;
    let products = s
        .app
        .list_products(Some(&who), &mid, Some("active"), PageRequest::first(100))
        .await?
        .items;
    Ok(render(&pages::ShopPage { c, m, products })?.into_response())
}

async fn product(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, pid)): Path<(String, String)>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let p = s.app.get_product(Some(&who), &mid, &pid).await?;
    let m = s.app.get_merchant(Some(&who), &mid).await?;
    let tier = s.app.my_tier(&who, &mid).await?.map(|t| t.tier_name);
    let r = s.app.product_rating(Some(&who), &mid, &pid).await?;
    let rating = (r.count > 0).then(|| {
        format!(
            "{}.{:02} ({})",
            r.mean_x100 / 100,
            r.mean_x100 % 100,
            r.count
        )
    });
    // Why to trust it: friends who bought it, friends' reviews first.
    let proof = s.app.social_proof(&who, &mid, &pid).await?;
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
        .map(|r| {
            (
                r.author.display_name,
                "★".repeat(r.rating.clamp(0, 5) as usize),
                r.body,
                r.by_friend,
            )
        })
        .collect();
    Ok(render(&pages::ProductPage {
        c,
        p,
        merchant_name: m.name,
        tier,
        rating,
        proof: social,
        reviews,
    })?
    .into_response())
}

#[derive(Deserialize, Default)]
struct SkuQuery {
    /// The post whose product tag was opened: its author gets the content credit.
    post: Option<String>,
}

async fn sku(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, sid)): Path<(String, String)>,
    Query(q): Query<SkuQuery>,
) -> WebResult<Response> {
    let who = c.principal()?;
    let pid = s.app.sku_product(&mid, &sid).await?;
    // Content credit is a side effect of following the link: a post that cannot be credited
    // (hidden since, or tagging nothing) must not stop the reader reaching the product.
    if let Some(post) = q.post.as_deref().filter(|p| !p.is_empty())
        && let Err(e) = s.app.visit_post_tag(who, post).await
    {
        tracing::debug!(error = %e, "no content credit for this visit");
    }
    Ok(see(format!("/shops/{mid}/products/{pid}")))
}

async fn cart(State(s): State<Web>, c: Ctx, Path(mid): Path<String>) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let m = s.app.get_merchant(Some(&who), &mid).await?;
    let items = s.app.cart(&who, &mid).await?;
    let stores = s.app.list_stores(Some(&who), &mid).await?;
    let goods_fen = items
        .iter()
        .filter(|i| i.available)
        .map(|i| i.unit_price_fen * i.quantity)
        .sum();
    let phone = c
        .viewer
        .as_ref()
        .and_then(|v| v.me.account.phone.clone())
        .unwrap_or_default();
    Ok(render(&pages::CartPage {
        c,
        merchant_id: mid,
        merchant_name: m.name,
        items,
        goods_fen,
        stores,
        phone,
    })?
    .into_response())
}

#[derive(Deserialize)]
struct CartForm {
    #[serde(default)]
    sku_id: String,
    #[serde(default)]
    quantity: String,
}

async fn set_cart(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<CartForm>,
) -> WebResult<Response> {
    let q = parse_int("quantity", &f.quantity)?;
    s.app
        .set_cart_item(c.principal()?, &mid, &f.sku_id, q)
        .await?;
    Ok(see(format!("/shops/{mid}/cart")))
}

#[derive(Deserialize)]
struct CheckoutForm {
    #[serde(default)]
    delivery: String,
    pickup_store_id: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    province: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    district: String,
    #[serde(default)]
    detail: String,
}

async fn checkout(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    CsrfForm(f): CsrfForm<CheckoutForm>,
) -> WebResult<Response> {
    let delivery = match f.delivery.as_str() {
        "pickup" => DeliveryMethod::Pickup,
        "shipping" => DeliveryMethod::Shipping,
        _ => return Err(AppError::invalid("delivery", "must be shipping or pickup").into()),
    };
    let input = CheckoutInput {
        delivery,
        pickup_store_id: (delivery == DeliveryMethod::Pickup)
            .then_some(f.pickup_store_id)
            .flatten(),
        address: (delivery == DeliveryMethod::Shipping).then_some(Address {
            name: f.name,
            phone: f.phone,
            province: f.province,
            city: f.city,
            district: f.district,
            detail: f.detail,
        }),
        items: None,
    };
    let who = c.principal()?.clone();
    let order = s.app.checkout(&who, &mid, input).await?;
    // The cart is what was bought: empty it.
    for line in &order.lines {
        s.app.set_cart_item(&who, &mid, &line.sku_id, 0).await?;
    }
    Ok(see(format!("/orders/{}", order.id)))
}

// --- orders -------------------------------------------------------------------------------

async fn orders(State(s): State<Web>, c: Ctx, Query(q): Query<CursorQuery>) -> WebResult<Response> {
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
async fn order(State(s): State<Web>, c: Ctx, Path(id): Path<String>) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let o = s.app.get_order(&who, &id).await?;
    if o.buyer_id != who.account_id {
        return Err(AppError::NotFound("order").into());
    }
    let events = s.app.order_events(&who, &id).await?;
    Ok(render(&pages::OrderPage { c, o, events })?.into_response())
}

#[derive(Deserialize)]
struct PayForm {
    #[serde(default)]
    provider: String,
}

async fn pay(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<PayForm>,
) -> WebResult<Response> {
    let who: Principal = c.principal()?.clone();
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
        _ => Err(AppError::invalid("provider", "must be wallet or sandbox").into()),
    }
}

async fn cancel(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    s.app.cancel_order(c.principal()?, &id).await?;
    Ok(see(format!("/orders/{id}")))
}

async fn confirm(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    s.app.confirm_receipt(c.principal()?, &id).await?;
    Ok(see(format!("/orders/{id}")))
}

// --- search -------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct SearchParams {
    q: Option<String>,
    scope: Option<String>,
    #[serde(rename = "type")]
    target: Option<String>,
    cursor: Option<String>,
}

/// Search with scopes (friends / following / my communities / everyone), ranked by the
/// search use case; for posts, the "who" view of people in the scope who wrote about it.
async fn search(
    State(s): State<Web>,
    c: Ctx,
    Query(q): Query<SearchParams>,
) -> WebResult<Response> {
    use kith_app::discovery::search::SearchQuery;
    let who = c.principal()?.clone();
    let text = q.q.clone().unwrap_or_default();
    let scope = q
        .scope
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "friends".into());
    let target = q
        .target
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "posts".into());
    let mut page = pages::SearchPage {
        c,
        q: text.clone(),
        scope: scope.clone(),
        target: target.clone(),
        total: 0,
        items: Vec::new(),
        who: Vec::new(),
        next: None,
    };
    if !text.trim().is_empty() {
        let query = SearchQuery::parse(
            Some(&text),
            Some(&scope),
            Some(&target),
            PageRequest::parse(Some(20), q.cursor.as_deref().filter(|c| !c.is_empty()))?,
        )?;
        // The results first, then the who view: the index only grows, so the who view then
        // covers every post the results show (the other way round, a post indexed between
        // the two reads would be listed with no one in the who view).
        let r = s.app.search(Some(&who), query.clone()).await?;
        if target == "posts" && q.cursor.is_none() {
            page.who = s.app.search_who(&who, query, 10).await?.people;
        }
        page.total = r.total;
        page.items = r.items;
        page.next = r.next_cursor;
    }
    Ok(render(&page)?.into_response())
}

// --- communities and me -------------------------------------------------------------------

async fn communities(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let list = s.app.browse_communities(&who).await?;
    Ok(render(&pages::CommunitiesPage { c, list })?.into_response())
}

async fn community(State(s): State<Web>, c: Ctx, Path(id): Path<String>) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let cm = s.app.get_community(Some(&who), &id).await?;
    community_page(&s, c, cm, None).await
}

/// The community page: its posts, and for active members its announcements and the
/// member's invite links (`new_invite`: the URL of one just made, shown once).
async fn community_page(
    s: &Web,
    c: Ctx,
    cm: kith_app::social::communities::Community,
    new_invite: Option<String>,
) -> WebResult<Response> {
    use kith_app::social::communities::{CommunityRole, MemberState};
    let who = c.principal()?.clone();
    // Only active members read a community's posts; others see its card and a join button.
    let posts = match s
        .app
        .community_posts(Some(&who), &cm.id, PageRequest::first(20))
        .await
    {
        Ok(p) => p.items,
        Err(AppError::Forbidden(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let member = cm.my_state == Some(MemberState::Active);
    let admin = member
        && matches!(
            cm.my_role,
            Some(CommunityRole::Owner | CommunityRole::Admin)
        );
    let (announcements, invites) = if member {
        (
            s.app
                .list_announcements(&who, &cm.id, PageRequest::first(10))
                .await?
                .items,
            s.app.list_invites(&who, &cm.id).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(render(&pages::CommunityPage {
        c,
        cm,
        posts,
        member,
        admin,
        announcements,
        invites,
        new_invite,
    })?
    .into_response())
}

async fn join(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    s.app.join_community(c.principal()?, &id).await?;
    Ok(see(format!("/communities/{id}")))
}

async fn me(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let wallet = s.app.wallet(&who, PageRequest::first(1)).await?;
    let profile = s.app.profile(Some(&who), &who.account_id).await?;
    let posts = s
        .app
        .account_posts(Some(&who), &who.account_id, PageRequest::first(20))
        .await?
        .items;
    Ok(render(&pages::MePage {
        c,
        balance_fen: wallet.balance_fen,
        friends: profile.friends,
        following: profile.following,
        followers: profile.followers,
        posts,
    })?
    .into_response())
}

#[derive(Deserialize)]
struct TopupForm {
    #[serde(default)]
    amount: String,
}

/// Tops the wallet up through the sandbox gateway: its page confirms the payment.
async fn topup(
    State(s): State<Web>,
    c: Ctx,
    CsrfForm(f): CsrfForm<TopupForm>,
) -> WebResult<Response> {
    let fen = pages::parse_yuan("amount", &f.amount)?;
    let p = s.app.start_topup(c.principal()?, fen).await?;
    Ok(see(format!("/sandbox/pay/{}", p.id)))
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

/// Accepts a staff or clerk invitation (the code the merchant handed over).
async fn accept_invitation(
    State(s): State<Web>,
    c: Ctx,
    CsrfForm(f): CsrfForm<CodeForm>,
) -> WebResult<Response> {
    let inv = s
        .app
        .accept_invitation(c.principal()?, f.code.trim())
        .await?;
    Ok(see(match inv.store_id {
        Some(store) => format!("/clerk/{store}"),
        None => format!("/console/{}", inv.merchant_id),
    }))
}

// --- money sharing: the commission wallet, withdrawals, team and share links ----------------

#[derive(Deserialize, Default)]
struct WalletQuery {
    /// The wallet whose statement is paged on with `cursor`.
    merchant: Option<String>,
    cursor: Option<String>,
}

async fn wallet(State(s): State<Web>, c: Ctx, Query(q): Query<WalletQuery>) -> WebResult<Response> {
    let paged = q.merchant.zip(q.cursor);
    wallet_page(&s, c, paged, None, Default::default(), StatusCode::OK).await
}

/// The member's commission wallets (one per merchant they earned at) with the newest
/// statement lines, and their withdrawals. Always the viewer's own: no id in the path.
async fn wallet_page(
    s: &Web,
    c: Ctx,
    paged: Option<(String, String)>,
    error: Option<String>,
    (refused_at, amount): (String, String),
    status: StatusCode,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let me = who.account_id.clone();
    let mut wallets = Vec::new();
    for b in s.app.commission_wallets(&who, &me).await? {
        let cursor = paged
            .as_ref()
            .filter(|(m, _)| *m == b.merchant_id)
            .map(|(_, cur)| cur.as_str());
        let w = s
            .app
            .commission_wallet(&who, &me, &b.merchant_id, page(cursor)?)
            .await?;
        wallets.push(WalletView {
            b: w.balances,
            lines: w.lines.items,
            next: w.lines.next_cursor,
        });
    }
    let withdrawals = s
        .app
        .member_withdrawals(&who, &me)
        .await?
        .into_iter()
        .map(|w| {
            let shop = wallets
                .iter()
                .find(|v| v.b.merchant_id == w.merchant_id)
                .map(|v| v.b.merchant_name.clone())
                .unwrap_or_default();
            (w, shop)
        })
        .collect();
    let page = sp::WalletPage {
        c,
        wallets,
        withdrawals,
        error,
        amount,
        refused_at,
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Deserialize)]
struct WithdrawForm {
    #[serde(default)]
    merchant_id: String,
    #[serde(default)]
    amount: String,
}

/// Asks to withdraw an amount in yuan; a refusal is shown on the wallet page in the use
/// case's words (422 for bad input such as below the minimum, 409 for the balance or the
/// daily limit).
async fn withdraw(
    State(s): State<Web>,
    c: Ctx,
    CsrfForm(f): CsrfForm<WithdrawForm>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let asked = match pages::parse_yuan("amount", &f.amount) {
        Ok(fen) => s
            .app
            .request_withdrawal(&who, &who.account_id, &f.merchant_id, fen)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match asked {
        Ok(()) => Ok(see("/me/wallet")),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict { .. })) => {
            let status = match e {
                AppError::Conflict { .. } => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let typed = (f.merchant_id, f.amount);
            wallet_page(&s, c, None, Some(e.to_string()), typed, status).await
        }
        Err(e) => Err(e.into()),
    }
}

/// An order the member earns on: its attribution and the member's shares of it.
async fn order_commission(
    State(s): State<Web>,
    c: Ctx,
    Path(order_id): Path<String>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let oc = s.app.order_commission(&who, &order_id).await?;
    Ok(render(&sp::CommissionPage {
        c,
        oc,
        me: who.account_id,
    })?
    .into_response())
}

/// My team: earnings by source, who is bound to me at each merchant, my links' funnels.
async fn team(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let me = who.account_id.clone();
    let earnings = s.app.distributor_earnings(&who, &me, None).await?;
    let mut teams = Vec::new();
    for shop in s.app.trading_merchants().await? {
        let t = s.app.distributor_team(&who, &me, &shop.id).await?;
        if t.total > 0 {
            teams.push((shop.name, t));
        }
    }
    let links = s.app.distributor_links(&who, &me).await?;
    Ok(render(&sp::TeamPage {
        c,
        earnings,
        teams,
        links,
    })?
    .into_response())
}

#[derive(Deserialize)]
struct ShareForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    target_id: String,
}

/// The share button: makes (or re-uses) the member's link to a product, post or community.
async fn share(
    State(s): State<Web>,
    c: Ctx,
    CsrfForm(f): CsrfForm<ShareForm>,
) -> WebResult<Response> {
    let kind = match f.kind.as_str() {
        "product" => LinkKind::Product,
        "post" => LinkKind::Post,
        "community" => LinkKind::Community,
        _ => {
            return Err(AppError::invalid("kind", "must be product, post or community").into());
        }
    };
    let link = s
        .app
        .create_share_link(c.principal()?, kind, &f.target_id)
        .await?;
    Ok(see(format!("/me/links/{}", link.code)))
}

/// Where a share link leads on this site.
fn shared_path(l: &ShareLink) -> String {
    match l.kind {
        LinkKind::Product => match l.merchants.first() {
            Some(m) => format!("/shops/{}/products/{}", m.merchant_id, l.target_id),
            None => "/shops".to_owned(),
        },
        LinkKind::Post => format!("/posts/{}", l.target_id),
        LinkKind::Community => format!("/communities/{}", l.target_id),
        LinkKind::GroupBuy => format!("/groups/{}", l.target_id),
    }
}

/// One of my share links: the URL to hand on and its QR code. Another member's is 404.
async fn share_page(State(s): State<Web>, c: Ctx, Path(code): Path<String>) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let link = s
        .app
        .my_share_links(&who)
        .await?
        .into_iter()
        .find(|l| l.code == code)
        .ok_or(AppError::NotFound("share link"))?;
    let url = format!("{}{}", s.app.config.public_url, link.path);
    let qr = sp::qr_svg(&url)
        .ok_or_else(|| AppError::Internal("a share link too long for a QR code".into()))?;
    let target = shared_path(&link);
    Ok(render(&sp::SharePage {
        c,
        link,
        url,
        qr,
        target,
    })?
    .into_response())
}

/// A share link followed: the visit is recorded (anonymous visitors too; a signed-in
/// visitor is bound to the sharer where the merchant's rules allow), then on to the thing.
async fn follow_share(
    State(s): State<Web>,
    c: Ctx,
    Path(code): Path<String>,
) -> WebResult<Response> {
    let who = c.viewer.as_ref().map(|v| &v.principal);
    let v = s.app.visit_share_link(who, &code).await?;
    let to = shared_path(&v.link);
    // Posts read without an account; products and communities need one: a visitor who
    // is not signed in may sign up through the link (binding them to the sharer) or log in.
    if who.is_none() && v.link.kind != LinkKind::Post {
        return Ok(see(format!(
            "/s/{}/join?next={}",
            v.link.code,
            crate::encode(&to)
        )));
    }
    Ok(see(to))
}

#[derive(Deserialize, Default)]
struct JoinQuery {
    next: Option<String>,
}

/// The landing of a share link for a visitor without an account.
async fn share_join_page(
    c: Ctx,
    Path(code): Path<String>,
    Query(q): Query<JoinQuery>,
) -> WebResult<Response> {
    let next = local(q.next.as_deref(), "/");
    if c.viewer.is_some() {
        return Ok(see(next));
    }
    let code = share_code(&code)?.to_owned();
    Ok(render(&sp::ShareJoinPage {
        c,
        code,
        next,
        error: None,
    })?
    .into_response())
}

#[derive(Deserialize)]
struct ShareJoinForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    display_name: String,
    next: Option<String>,
}

/// Signs up through a share link: the new member is bound to the sharer and counted as
/// the link's sign-up, then signed in and on to what was shared.
async fn share_join(
    State(s): State<Web>,
    c: Ctx,
    addr: kith_http::extract::ClientAddr,
    Path(code): Path<String>,
    CsrfForm(f): CsrfForm<ShareJoinForm>,
) -> WebResult<Response> {
    let next = local(f.next.as_deref(), "/");
    let code = share_code(&code)?.to_owned();
    let input = Registration {
        phone: Some(f.phone.clone()),
        email: None,
        password: f.password.clone(),
        display_name: f.display_name,
    };
    match s.app.register_via_share(input, &code).await {
        Ok(_) => {
            let session = s.app.login(&f.phone, &f.password, &addr.0).await?;
            let ttl = s.app.config.session_ttl_secs;
            Ok((session_cookie(&s, &session.token, ttl), see(next)).into_response())
        }
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict { .. })) => {
            let page = sp::ShareJoinPage {
                c,
                code,
                next,
                error: Some(e.to_string()),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// A share code as it may appear in a link; anything else names no link.
fn share_code(code: &str) -> WebResult<&str> {
    let ok = (4..=128).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(code)
    } else {
        Err(AppError::NotFound("share link").into())
    }
}

// --- editing posts ------------------------------------------------------------------------

async fn edit_post_page(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let p = s.app.get_post(Some(&who), &id).await?;
    if p.author.id != who.account_id {
        return Err(AppError::Forbidden("only its author may change a post".into()).into());
    }
    Ok(render(&sp::PostEditPage { c, p })?.into_response())
}

#[derive(Deserialize)]
struct EditForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    visibility: String,
}

async fn edit_post(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<EditForm>,
) -> WebResult<Response> {
    let visibility = Visibility::from_db(&f.visibility)
        .map_err(|_| AppError::invalid("visibility", "must be public, friends or community"))?;
    let patch = PostPatch {
        body: Some(f.body),
        visibility: Some(visibility),
        ..Default::default()
    };
    s.app.update_post(c.principal()?, &id, patch).await?;
    Ok(see(format!("/posts/{id}")))
}

async fn delete_post(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    s.app.delete_post(c.principal()?, &id).await?;
    Ok(see("/me"))
}

// --- community announcements and invite links ----------------------------------------------

async fn announce(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<CommentForm>,
) -> WebResult<Response> {
    s.app
        .post_announcement(c.principal()?, &id, &f.body)
        .await?;
    Ok(see(format!("/communities/{id}")))
}

#[derive(Deserialize)]
struct InviteForm {
    #[serde(default)]
    max_uses: String,
    #[serde(default)]
    expires_in_hours: String,
}

/// Makes an invite link; its code is shown this once, on the page this answers with.
async fn create_invite(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<InviteForm>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let max_uses = opt_int("max_uses", &f.max_uses)?;
    let hours = opt_int("expires_in_hours", &f.expires_in_hours)?;
    let inv = s.app.create_invite(&who, &id, max_uses, hours).await?;
    let url = inv
        .url_path
        .map(|p| format!("{}{p}", s.app.config.public_url));
    let cm = s.app.get_community(Some(&who), &id).await?;
    community_page(&s, c, cm, url).await
}

/// The inviter, the owner or an admin withdraws an invite link.
async fn revoke_invite(
    State(s): State<Web>,
    c: Ctx,
    Path((id, invite_id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    s.app.revoke_invite(c.principal()?, &id, &invite_id).await?;
    Ok(see(format!("/communities/{id}")))
}

/// An invite code as it may appear in a link (base64url); anything else names no invite.
fn invite_code(code: &str) -> WebResult<&str> {
    let ok = !code.is_empty()
        && code.len() <= 128
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(code)
    } else {
        Err(AppError::NotFound("invite").into())
    }
}

async fn invite_page(c: Ctx, Path(code): Path<String>) -> WebResult<Response> {
    c.principal()?;
    let code = invite_code(&code)?.to_owned();
    Ok(render(&sp::InvitePage { c, code })?.into_response())
}

async fn accept_invite(
    State(s): State<Web>,
    c: Ctx,
    Path(code): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let cm = s
        .app
        .accept_invite(c.principal()?, invite_code(&code)?)
        .await?;
    Ok(see(format!("/communities/{}", cm.id)))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::local;

    #[test]
    fn only_local_paths_come_back() {
        assert_eq!(local(Some("/orders/1"), "/"), "/orders/1");
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil",
            "evil",
            "",
        ] {
            assert_eq!(local(Some(bad), "/x"), "/x", "{bad}");
        }
        assert_eq!(local(None, "/x"), "/x");
    }

    proptest! {
        /// A `back`/`next` parameter never leads off the site.
        #[test]
        fn redirects_stay_on_the_site(s in "\\PC{0,20}") {
            let to = local(Some(&s), "/");
            prop_assert!(to.starts_with('/'));
            prop_assert!(!to.starts_with("//"));
            prop_assert!(!to.contains('\\'));
        }
    }
}
