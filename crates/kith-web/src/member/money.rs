//! The member's own page and money sharing: top-ups, staff invitations, the commission
//! wallet and withdrawals, the team, share links with their QR code and the `/s/{code}`
//! landing.

use super::*;
use kith_app::money::commissions::PlanView;

pub(super) async fn me(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let wallet = s.app.wallet(&who, PageRequest::first(1)).await?;
    let me = AccountId::parse_or_404(&who.account_id)?;
    let profile = s.app.profile(Some(&who), &me).await?;
    let posts = s
        .app
        .account_posts(Some(&who), &me, PageRequest::first(20))
        .await?
        .items;
    Ok(render(&pages::MePage {
        c,
        balance_fen: wallet.balance_fen.get(),
        friends: profile.friends,
        following: profile.following,
        followers: profile.followers,
        posts,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub(super) struct TopupForm {
    #[serde(default)]
    amount: String,
}

/// Tops the wallet up through the sandbox gateway: its page confirms the payment.
pub(super) async fn topup(
    State(s): State<Web>,
    c: Ctx,
    CsrfForm(f): CsrfForm<TopupForm>,
) -> WebResult<Response> {
    let fen = pages::parse_yuan("amount", &f.amount)?;
    let p = s.app.start_topup(c.principal()?, fen).await?;
    Ok(see(format!("/sandbox/pay/{}", p.id)))
}

#[derive(Deserialize)]
pub(super) struct CodeForm {
    #[serde(default)]
    code: String,
}

/// Accepts a staff or clerk invitation (the code the merchant handed over).
pub(super) async fn accept_invitation(
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
pub(super) struct WalletQuery {
    /// The wallet whose statement is paged on with `cursor`.
    merchant: Option<String>,
    cursor: Option<String>,
}

pub(super) async fn wallet(
    State(s): State<Web>,
    c: Ctx,
    Query(q): Query<WalletQuery>,
) -> WebResult<Response> {
    let paged = q.merchant.zip(q.cursor);
    wallet_page(&s, c, paged, None, Default::default(), StatusCode::OK).await
}

/// Orders one page of a wallet's statement lists (a phone's screen of lines).
const WALLET_LINES: i64 = 10;

fn wallet_page_of(cursor: Option<&str>) -> WebResult<kith_app::platform::page::PageRequest> {
    Ok(kith_app::platform::page::PageRequest::parse(
        Some(WALLET_LINES),
        cursor.filter(|c| !c.is_empty()),
    )?)
}

/// The member's commission wallets (one per merchant they earned at) with the newest
/// statement lines (one per order earned on, with what it bought), and their withdrawals. Always the viewer's own: no id in the path.
pub(super) async fn wallet_page(
    s: &Web,
    c: Ctx,
    paged: Option<(String, String)>,
    error: Option<String>,
    (refused_at, amount, payee_account, payee_name): (String, String, String, String),
    status: StatusCode,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let me = who.id();
    let mut wallets = Vec::new();
    for b in s.app.commission_wallets(&who, &me).await? {
        let cursor = paged
            .as_ref()
            .filter(|(m, _)| *m == b.merchant_id)
            .map(|(_, cur)| cur.as_str());
        let lines = s
            .app
            .commission_orders(&who, &me, &b.merchant_id, wallet_page_of(cursor)?)
            .await?;
        wallets.push(WalletView {
            b,
            lines: lines.items,
            next: lines.next_cursor,
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
        alipay: s.app.has_alipay(kith_app::rails::PLATFORM).await?,
        payee_account,
        payee_name,
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Deserialize)]
pub(super) struct WithdrawForm {
    #[serde(default)]
    merchant_id: String,
    #[serde(default)]
    amount: String,
    /// 支付宝账号 and real name (offered when the platform pays out by Alipay); both empty:
    /// no Alipay payee.
    #[serde(default)]
    payee_account: String,
    #[serde(default)]
    payee_name: String,
}

/// Asks to withdraw an amount in yuan; a refusal is shown on the wallet page in the use
/// case's words (422 for bad input such as below the minimum, 409 for the balance or the
/// daily limit).
pub(super) async fn withdraw(
    State(s): State<Web>,
    c: Ctx,
    CsrfForm(f): CsrfForm<WithdrawForm>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let payee =
        (!f.payee_account.trim().is_empty() || !f.payee_name.trim().is_empty()).then(|| {
            kith_app::money::withdrawals::Payee {
                account: f.payee_account.clone(),
                name: f.payee_name.clone(),
            }
        });
    let asked = match pages::parse_yuan("amount", &f.amount) {
        Ok(fen) => s
            .app
            .request_withdrawal_to(&who, &who.id(), &f.merchant_id, fen, payee)
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
            let plan = match kith_app::platform::ids::MerchantId::parse(&f.merchant_id) {
                Some(mid) => s.app.commission_plan(&mid).await.ok(),
                None => None,
            };
            let words = withdraw_refusal(&c, plan.as_ref(), &e);
            let typed = (f.merchant_id, f.amount, f.payee_account, f.payee_name);
            wallet_page(&s, c, None, Some(words), typed, status).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A refused withdrawal in the page's words, with the shop's own figures where its rule
/// has one (the minimum, the daily limit); in English, the use case's own words.
fn withdraw_refusal(c: &Ctx, plan: Option<&PlanView>, e: &AppError) -> String {
    if c.lang != crate::i18n::Lang::Zh {
        return e.to_string();
    }
    let (field, reason) = match e {
        AppError::Invalid { field, reason } => (Some(field.as_str()), reason.as_str()),
        AppError::Conflict { field, reason } => (field.as_deref(), reason.as_str()),
        _ => (None, ""),
    };
    let conflict = matches!(e, AppError::Conflict { .. });
    match field {
        Some("amount") => "提现金额请填写数字，最多两位小数（如 100 或 99.50）".to_owned(),
        Some("amount_fen") if reason.contains("daily limit") => match plan {
            Some(p) => format!(
                "超出每日提现额度 {}（24 小时内合计）",
                pages::yuan(p.withdraw_daily_limit_fen)
            ),
            None => "超出每日提现额度".to_owned(),
        },
        Some("amount_fen") if reason.contains("minimum") => match plan {
            Some(p) => format!("最低提现金额为 {}", pages::yuan(p.withdraw_min_fen)),
            None => "低于最低提现金额".to_owned(),
        },
        Some("amount_fen") if conflict => "可提现余额不足".to_owned(),
        Some("amount_fen") => "提现金额须大于 0".to_owned(),
        Some("payee_account") => "支付宝账号须为 11 位手机号或电子邮箱".to_owned(),
        Some("payee_name") => "请填写支付宝账号的实名（1–50 个字）".to_owned(),
        Some("merchant_id") => "这家店铺没有开通分销佣金，无法提现".to_owned(),
        _ => format!("提现未能完成：{e}"),
    }
}

/// An order the member earns on: its attribution and the member's shares of it.
pub(super) async fn order_commission(
    State(s): State<Web>,
    c: Ctx,
    Path(order_id): Path<String>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let order_id = kith_app::platform::ids::OrderId::parse_or_404(&order_id)?;
    let oc = s.app.order_commission(&who, &order_id).await?;
    Ok(render(&sp::CommissionPage {
        c,
        oc,
        me: who.account_id,
    })?
    .into_response())
}

/// My team: earnings by source, who is bound to me at each merchant, my links' funnels.
pub(super) async fn team(State(s): State<Web>, c: Ctx) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let me = who.id();
    let earnings = s.app.distributor_earnings(&who, &me, None).await?;
    let mut teams = Vec::new();
    for shop in s.app.trading_merchants().await? {
        let mid = kith_app::platform::ids::MerchantId::parse_or_404(&shop.id)?;
        let t = s.app.distributor_team(&who, &me, &mid).await?;
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
pub(super) struct ShareForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    target_id: String,
}

/// The share button: makes (or re-uses) the member's link to a product, post or community.
pub(super) async fn share(
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
pub(super) fn shared_path(l: &ShareLink) -> String {
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
pub(super) async fn share_page(
    State(s): State<Web>,
    c: Ctx,
    Path(code): Path<String>,
) -> WebResult<Response> {
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
    // A product's poster: what the sharer's friends see of it, with the link's QR code.
    let poster = poster(&s, &who, &link).await?;
    Ok(render(&sp::SharePage {
        c,
        link,
        url,
        qr,
        target,
        poster,
    })?
    .into_response())
}

/// A shared product's poster: what the sharer's friends see of it (its main picture, name and
/// lowest list price — what a friend without a tier pays, not the sharer's own tier price). None for other links, and for a product gone or off sale
/// since it was shared (the link stands).
async fn poster(s: &Web, who: &Principal, link: &ShareLink) -> WebResult<Option<sp::Poster>> {
    let (LinkKind::Product, Some(m)) = (link.kind, link.merchants.first()) else {
        return Ok(None);
    };
    let Some(pid) = kith_app::platform::ids::ProductId::parse(&link.target_id) else {
        return Ok(None);
    };
    let p = match s.app.get_product(Some(who), &m.merchant_id, &pid).await {
        Ok(p) => p,
        Err(AppError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(sp::Poster {
        image: p.images.first().cloned(),
        price: p
            .skus
            .iter()
            .map(|k| k.list_price_fen)
            .min()
            .map(pages::yuan)
            .unwrap_or_default(),
        name: p.name,
    }))
}

/// A share link followed: the visit is recorded (anonymous visitors too; a signed-in
/// visitor is bound to the sharer where the merchant's rules allow), then on to the thing.
/// Only a top-level navigation records anything ([`top_level_navigation`]): the same URL
/// fetched as an image or other sub-resource just redirects.
pub(super) async fn follow_share(
    State(s): State<Web>,
    c: Ctx,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> WebResult<Response> {
    let who = c.viewer.as_ref().map(|v| &v.principal);
    let link = if top_level_navigation(&headers) {
        s.app.visit_share_link(who, &code).await?.link
    } else {
        s.app.share_link_by_code(&code).await?
    };
    let to = shared_path(&link);
    // Posts and products read without an account: a visitor reading a product through a
    // link sees who shared it and is offered to sign up through it (binding them to the
    // sharer) when they buy. Communities and groups need an account: the link's landing
    // shows what was shared and asks the visitor to sign up through it or log in.
    if who.is_none() {
        match link.kind {
            LinkKind::Post => {}
            LinkKind::Product => return Ok(see(format!("{to}?via={}", link.code))),
            LinkKind::Community | LinkKind::GroupBuy => {
                return Ok(see(format!(
                    "/s/{}/join?next={}",
                    link.code,
                    crate::encode(&to)
                )));
            }
        }
    }
    Ok(see(to))
}

/// The share link `code` as the visitor reading `path` sees it — its code and the sharer's
/// name —, when it is a live link to exactly that page (anything else shows no banner).
pub(super) async fn shared_by(s: &Web, code: &str, path: &str) -> Option<(String, String)> {
    let code = share_code(code).ok()?;
    let link = s.app.share_link_by_code(code).await.ok()?;
    if shared_path(&link) != path {
        return None;
    }
    let sharer_id = AccountId::parse(&link.sharer_id)?;
    let sharer = s.app.profile(None, &sharer_id).await.ok()?;
    Some((link.code, sharer.display_name))
}

/// What the link `code` shares, for its landing: the sharer, the thing, its price.
async fn shared_preview(s: &Web, c: &Ctx, code: &str) -> Option<sp::SharedPreview> {
    let link = s.app.share_link_by_code(code).await.ok()?;
    let sharer_id = AccountId::parse(&link.sharer_id)?;
    let sharer = s.app.profile(None, &sharer_id).await.ok()?.display_name;
    let p = c.t.public();
    let preview = |title: String, price, image, note| sp::SharedPreview {
        sharer: sharer.clone(),
        title,
        price,
        image,
        note,
    };
    match link.kind {
        LinkKind::Product => {
            let m = link.merchants.first()?;
            let product = s
                .app
                .get_product(
                    None,
                    &m.merchant_id,
                    &kith_app::platform::ids::ProductId::parse(&link.target_id)?,
                )
                .await
                .ok()?;
            let from = product.skus.iter().map(|s| s.list_price_fen).min();
            Some(preview(
                product.name,
                from.map(|f| format!("{} {}", crate::pages::yuan(f), p.from_price)),
                product.images.first().cloned(),
                None,
            ))
        }
        LinkKind::GroupBuy => {
            let g = s
                .app
                .group(&kith_app::platform::ids::GroupId::parse(&link.target_id)?)
                .await
                .ok()?;
            Some(preview(
                g.title,
                Some(crate::pages::yuan(g.group_price_fen)),
                None,
                Some(format!(
                    "{}{} · {} {}",
                    g.size, p.group_of, p.seats_left, g.seats_left
                )),
            ))
        }
        LinkKind::Community => {
            let id = kith_app::platform::ids::CommunityId::parse(&link.target_id)?;
            let cm = s.app.get_community(None, &id).await.ok()?;
            Some(preview(cm.name, None, None, None))
        }
        LinkKind::Post => {
            let id = kith_app::platform::ids::PostId::parse(&link.target_id)?;
            let post = s.app.get_post(None, &id).await.ok()?;
            let title: String = post.body.chars().take(40).collect();
            Some(preview(title, None, None, None))
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct JoinQuery {
    next: Option<String>,
}

/// The landing of a share link for a visitor without an account.
pub(super) async fn share_join_page(
    State(s): State<Web>,
    c: Ctx,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(q): Query<JoinQuery>,
) -> WebResult<Response> {
    let next = local(q.next.as_deref(), "/");
    if c.viewer.is_some() {
        return Ok(see(next));
    }
    let code = share_code(&code)?.to_owned();
    let shared = shared_preview(&s, &c, &code).await;
    let page = sp::ShareJoinPage {
        form: super::guard::blank_form(&s, join_code_action(&code), String::new(), String::new()),
        c,
        code,
        next,
        challenge: None,
        shared,
    };
    let device = super::guard::device_cookie(&headers, s.cfg.cookie_secure);
    Ok((device, render(&page)?).into_response())
}

#[derive(Deserialize)]
pub(super) struct ShareJoinForm {
    next: Option<String>,
    #[serde(flatten)]
    fields: super::guard::SignUpFields,
}

/// Signs up through a share link: the new member is bound to the sharer and counted as
/// the link's sign-up, then signed in and on to what was shared.
pub(super) async fn share_join(
    State(s): State<Web>,
    c: Ctx,
    addr: kith_http::extract::ClientAddr,
    headers: HeaderMap,
    Path(code): Path<String>,
    CsrfForm(f): CsrfForm<ShareJoinForm>,
) -> WebResult<Response> {
    let next = local(f.next.as_deref(), "/");
    let code = share_code(&code)?.to_owned();
    let (app, link) = (s.app.clone(), code.clone());
    let done = super::guard::sign_up(
        &s,
        &c,
        &addr.0,
        &headers,
        &f.fields,
        join_code_action(&code),
        |input| async move { app.register_via_share(input, &link).await },
    )
    .await?;
    let refused = match done {
        Ok(cookie) => return Ok((cookie, see(next)).into_response()),
        Err(refused) => refused,
    };
    let shared = shared_preview(&s, &c, &code).await;
    let page = sp::ShareJoinPage {
        c,
        code,
        next,
        shared,
        form: refused.form,
        challenge: refused.challenge,
    };
    Ok((refused.status, render(&page)?).into_response())
}

/// Where the share sign-up's 获取验证码 posts.
fn join_code_action(code: &str) -> String {
    format!("/s/{code}/join/code")
}

/// Signing up through a share link → 获取验证码: the form back with what was typed.
pub(super) async fn share_join_code(
    State(s): State<Web>,
    c: Ctx,
    addr: kith_http::extract::ClientAddr,
    Path(code): Path<String>,
    CsrfForm(f): CsrfForm<ShareJoinForm>,
) -> WebResult<Response> {
    let next = local(f.next.as_deref(), "/");
    let code = share_code(&code)?.to_owned();
    let (status, form) =
        super::guard::send_sign_up_code(&s, &c, &addr.0, &f.fields, join_code_action(&code))
            .await?;
    let shared = shared_preview(&s, &c, &code).await;
    let page = sp::ShareJoinPage {
        c,
        code,
        next,
        shared,
        form,
        challenge: None,
    };
    Ok((status, render(&page)?).into_response())
}

/// A share code as it may appear in a link; anything else names no link.
pub(super) fn share_code(code: &str) -> WebResult<&str> {
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
