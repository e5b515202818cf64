//! The templates (in `templates/`, compiled into the binary by askama) and what each one
//! is given. Every page gets the request's [`Ctx`] as `c`.

use askama::Template;
use kith_app::commerce::browse::{CommunityCard, Dashboard, ShopCard};
use kith_app::commerce::cart::CartItem;
use kith_app::commerce::catalog::Product;
use kith_app::commerce::orders::{Order, OrderEvent};
use kith_app::commerce::stores::{Clerk, Store};
use kith_app::commerce::tiers::Tier;
use kith_app::platform::challenge::Challenge;
use kith_app::platform::merchants::Merchant;
use kith_app::social::communities::Community;
use kith_app::social::posts::{Comment, Post};

use crate::Ctx;

pub mod social;

/// Filters the templates use: `{{ fen|yuan }}`, `{{ rfc3339|day }}`.
pub mod filters {
    /// Anything that is an amount in fen, or a reference to one.
    pub trait AsFen {
        fn fen(&self) -> i64;
    }
    impl AsFen for i64 {
        fn fen(&self) -> i64 {
            *self
        }
    }
    impl AsFen for kith_domain::Fen {
        fn fen(&self) -> i64 {
            self.get()
        }
    }
    impl<T: AsFen + ?Sized> AsFen for &T {
        fn fen(&self) -> i64 {
            (**self).fen()
        }
    }

    /// A SKU, or a reference to one.
    pub trait AsSku {
        fn sku(&self) -> &kith_app::commerce::catalog::Sku;
    }
    impl AsSku for kith_app::commerce::catalog::Sku {
        fn sku(&self) -> &kith_app::commerce::catalog::Sku {
            self
        }
    }
    impl<T: AsSku + ?Sized> AsSku for &T {
        fn sku(&self) -> &kith_app::commerce::catalog::Sku {
            (**self).sku()
        }
    }

    /// The reader's price of a SKU (their tier's, else the list price), as yuan.
    pub fn your_price(v: impl AsSku, _: &dyn askama::Values) -> askama::Result<String> {
        let s = v.sku();
        Ok(super::yuan(s.your_price_fen.unwrap_or(s.list_price_fen)))
    }

    /// Whether the reader pays less than the list price.
    pub fn discounted(v: impl AsSku, _: &dyn askama::Values) -> askama::Result<bool> {
        let s = v.sku();
        Ok(s.your_price_fen.is_some_and(|p| p < s.list_price_fen))
    }

    /// `12345` → `¥123.45`.
    pub fn yuan(v: impl AsFen, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::yuan(v.fen()))
    }

    /// Basis points as a rate people read: `1050` → `10.5%`.
    pub fn rate(v: impl AsFen, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(format!("{}%", super::bp_percent(v.fen())))
    }

    /// A post's text, escaped, with each share link in it (`/s/{code}`, with or without
    /// the site before it) as a link reading `label`. Use with `|safe`.
    pub fn linked(
        v: impl std::fmt::Display,
        _: &dyn askama::Values,
        label: &str,
    ) -> askama::Result<String> {
        Ok(super::link_shares(&v.to_string(), label))
    }

    /// The first character of a name, for the drawn avatar of someone without a picture.
    pub fn initial(v: impl AsRef<str>, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(v.as_ref()
            .trim()
            .chars()
            .next()
            .map_or_else(|| "·".to_owned(), |ch| ch.to_uppercase().collect()))
    }

    /// One of eight colour classes (`hue-0`…`hue-7`), always the same for a name, for the
    /// drawn avatar's circle (the CSP allows no inline style).
    pub fn hue(v: impl AsRef<str>, _: &dyn askama::Values) -> askama::Result<String> {
        let h = v
            .as_ref()
            .chars()
            .fold(0u32, |h, ch| h.wrapping_mul(31).wrapping_add(ch as u32));
        Ok(format!("hue-{}", h % 8))
    }

    /// A product image's small version (`/media/{id}` → its thumbnail).
    pub fn thumb(v: impl AsRef<str>, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(kith_app::commerce::catalog::thumbnail(v.as_ref()))
    }

    /// An RFC 3339 time in Beijing time, to the minute: `2026-11-22T16:05:09.123Z` →
    /// `2026-11-23 00:05`.
    pub fn day(v: impl AsRef<str>, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::beijing(v.as_ref()))
    }
}

/// An RFC 3339 time as the viewer's wall-clock time to the minute (`YYYY-MM-DD HH:MM`):
/// Beijing time (UTC+8), where kith's members and merchants live, unless the viewer chose
/// another zone ([`crate::timezone`]). Text that is not such a time comes back as it was.
pub fn beijing(rfc3339: &str) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()
        .and_then(|t| t.to_offset(crate::timezone::offset()).format(&format).ok())
        .unwrap_or_else(|| rfc3339.to_owned())
}

/// Money for people: fen as yuan with two decimals.
pub fn yuan(fen: impl filters::AsFen) -> String {
    // The one money formatter (the domain's), so the pages, the CLI and the API's docs agree.
    kith_domain::Fen::new(fen.fen()).to_string()
}

/// Escapes `text` for HTML and turns each share link in it into an anchor reading `label`:
/// a word (between spaces) holding `/s/` then a code, alone or after `http(s)://host`.
pub fn link_shares(text: &str, label: &str) -> String {
    let escape = |s: &str, out: &mut String| out.push_str(&crate::charts::esc(s));
    let code_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("/s/") {
        let code_len = rest[at + 3..]
            .find(|c: char| !code_char(c))
            .unwrap_or(rest.len() - at - 3);
        // The link starts where its word starts, if that word is the site's address.
        let word_start = rest[..at]
            .rfind(|c: char| c.is_whitespace() || !c.is_ascii())
            .map_or(0, |i| {
                i + rest[i..].chars().next().map_or(1, char::len_utf8)
            });
        let prefix = &rest[word_start..at];
        let is_link = code_len > 0
            && (prefix.is_empty()
                || prefix.starts_with("http://")
                || prefix.starts_with("https://"));
        let end = at + 3 + code_len;
        if is_link {
            escape(&rest[..word_start], &mut out);
            out.push_str("<a class=\"share-link\" href=\"/s/");
            out.push_str(&rest[at + 3..end]);
            out.push_str("\">");
            escape(label, &mut out);
            out.push_str("</a>");
        } else {
            escape(&rest[..end], &mut out);
        }
        rest = &rest[end..];
    }
    escape(rest, &mut out);
    out
}

/// Basis points as a percentage with at most two decimals: `1050` → `10.5`.
pub fn bp_percent(bp: i64) -> String {
    let sign = if bp < 0 { "-" } else { "" };
    let a = bp.unsigned_abs();
    match a % 100 {
        0 => format!("{sign}{}", a / 100),
        r if r % 10 == 0 => format!("{sign}{}.{}", a / 100, r / 10),
        r => format!("{sign}{}.{r:02}", a / 100),
    }
}

/// An amount as a spreadsheet reads it: `12.50`, without the currency sign.
pub fn yuan_plain(fen: impl filters::AsFen) -> String {
    yuan(fen).replace('¥', "")
}

/// Parses a price typed in yuan ("12", "12.5", "12.50") into fen, naming `field` if wrong.
pub fn parse_yuan(field: &str, s: &str) -> Result<i64, kith_app::AppError> {
    kith_domain::Fen::parse_yuan(s.trim().trim_start_matches('¥'))
        .map(kith_domain::Fen::get)
        .ok_or_else(|| kith_app::AppError::invalid(field, "must be an amount in yuan, e.g. 12.50"))
}

/// A form with nothing but its CSRF token.
#[derive(serde::Deserialize, Default)]
pub struct Empty {}

/// An optional whole number: empty is `None`.
pub fn opt_int(field: &str, s: &str) -> Result<Option<i64>, kith_app::AppError> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        parse_int(field, s).map(Some)
    }
}

/// A percentage with at most two decimals ("10", "2.5", "0.25 %") as basis points; empty is 0.
pub fn parse_percent(field: &str, s: &str) -> Result<i64, kith_app::AppError> {
    let t = s.trim().trim_end_matches('%').trim();
    if t.is_empty() {
        return Ok(0);
    }
    parse_yuan(field, t).map_err(|_| {
        kith_app::AppError::invalid(field, "must be a percentage with at most two decimals")
    })
}

/// Parses a whole number from a form field, naming it if wrong.
pub fn parse_int(field: &str, s: &str) -> Result<i64, kith_app::AppError> {
    s.trim()
        .parse()
        .map_err(|_| kith_app::AppError::invalid(field, "must be a whole number"))
}

/// An error page inside the site's frame (header, tabs, the viewer's name), with a way back
/// to the page the visitor came from when it was one of ours.
#[derive(Template)]
#[template(path = "shared/error_framed.html")]
pub struct FramedErrorPage {
    pub c: Ctx,
    pub status: u16,
    pub detail: String,
    /// The same-site page that led here (its path), if the browser said.
    pub back: Option<String>,
}

/// The bare error page: what is drawn when the frame cannot be (a forged cross-site
/// request, a failure while reading the viewer).
#[derive(Template)]
#[template(path = "shared/error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub detail: String,
    /// The stylesheet's URL ([`crate::assets::url`]).
    pub css: String,
}

#[derive(Template)]
#[template(path = "member/login.html")]
pub struct LoginPage {
    pub c: Ctx,
    pub next: String,
    pub login: String,
    pub error: Option<String>,
    /// A challenge to solve before the next attempt counts.
    pub challenge: Option<Challenge>,
    /// Show where the demo's logins are (only on a server started with `--demo`).
    pub demo: bool,
    /// Offer 微信登录 (WeChat sign-in is configured).
    pub wechat: bool,
    /// The SMS form: the number typed, the note after a code was sent, the errors beside
    /// the phone and code fields, and whether `challenge` belongs to it.
    pub sms: SmsForm,
}

/// 完成登录: a WeChat identity no account has yet — a new account, or sign in to link it.
#[derive(Template)]
#[template(path = "member/wechat_complete.html")]
pub struct WeChatCompletePage {
    pub c: Ctx,
    pub nickname: String,
    pub new_error: Option<String>,
    pub link_error: Option<String>,
    /// What was typed in the sign-in form, kept when it comes back.
    pub login: String,
    pub challenge: Option<Challenge>,
    /// Which form the challenge belongs to: `new`, `link`, `phone` or empty.
    pub challenge_for: &'static str,
    /// Whether the server sends SMS codes (the 「用手机验证码继续」 form shows then).
    pub sms_enabled: bool,
    /// That form's number, errors and "sent" line.
    pub sms: SmsForm,
    pub demo: bool,
}

/// 我的 → 微信关联: the linked identities, linking, unlinking with re-authentication.
#[derive(Template)]
#[template(path = "member/wechat_identities.html")]
pub struct WeChatIdentitiesPage {
    pub c: Ctx,
    pub ids: kith_app::platform::identities::Identities,
    pub password_needed: bool,
    pub enabled: bool,
    pub notice: Option<String>,
    pub error: Option<String>,
}

/// 我的 → 手机号: the bound number (masked) and the form that binds or replaces it.
#[derive(Template)]
#[template(path = "member/phone.html")]
pub struct PhonePage {
    pub c: Ctx,
    /// The number bound now, masked (`138****5678`), if any.
    pub current: Option<String>,
    pub sms_enabled: bool,
    pub sms: SmsForm,
    pub demo: bool,
}

/// What the SMS sign-in form shows ([`LoginPage`]).
#[derive(Debug, Default)]
pub struct SmsForm {
    pub phone: String,
    pub sent: bool,
    /// The code just "sent", shown only on a `--demo` server (its provider sends nothing).
    pub demo_code: Option<String>,
    pub phone_error: Option<String>,
    pub code_error: Option<String>,
    pub challenge_here: bool,
}

#[derive(Template)]
#[template(path = "member/register.html")]
pub struct RegisterPage {
    pub c: Ctx,
    pub form: SignUpForm,
    pub challenge: Option<Challenge>,
}

/// What a sign-up form (注册, and signing up through a share link) shows: what was typed
/// (never the password), the error beside the form, and — on a server that asks sign-ups
/// to prove their number — the phone and code fields with their own errors.
#[derive(Debug, Default)]
pub struct SignUpForm {
    pub error: Option<String>,
    pub display_name: String,
    /// The number, its errors and the "sent" line.
    pub sms: SmsForm,
    /// Whether the number must be proven by an SMS code (the 获取验证码 button shows).
    pub phone_code: bool,
    /// Where 获取验证码 posts (the form comes back with what was typed).
    pub code_action: String,
    pub demo: bool,
}

#[derive(Template)]
#[template(path = "member/post.html")]
pub struct PostPage {
    pub c: Ctx,
    pub p: Post,
    pub comments: Vec<Comment>,
    /// The viewer wrote it (the edit link).
    pub mine: bool,
}

#[derive(Template)]
#[template(path = "member/compose.html")]
pub struct ComposePage {
    pub c: Ctx,
    pub communities: Vec<Community>,
    /// (SKU id, "shop · product") of the products the member can tag.
    pub products: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "member/shops.html")]
pub struct ShopsPage {
    pub c: Ctx,
    pub shops: Vec<ShopCard>,
}

impl PostPage {
    /// The start of the post's words, for a pasted link's preview.
    pub fn og_desc(&self) -> String {
        let words: String = self.p.body.chars().take(80).collect();
        if words.len() < self.p.body.len() {
            format!("{words}…")
        } else {
            words
        }
    }

    /// The post's first picture.
    pub fn og_image(&self) -> Option<&str> {
        self.p.images.first().map(|i| i.url.as_str())
    }
}

/// What a pasted link previews as (Open Graph): absolute URLs, plain words.
pub struct OpenGraph {
    pub title: String,
    pub description: String,
    pub image: Option<String>,
    pub url: String,
}

impl OpenGraph {
    /// `path` made absolute against the server's public URL (`https://` URLs stay).
    pub fn absolute(public_url: &str, path: &str) -> String {
        if path.starts_with('/') {
            format!("{}{path}", public_url.trim_end_matches('/'))
        } else {
            path.to_owned()
        }
    }
}

/// The member's carts, one per shop.
#[derive(Template)]
#[template(path = "member/carts.html")]
pub struct CartsPage {
    pub c: Ctx,
    pub carts: Vec<kith_app::commerce::cart::CartShop>,
}

#[derive(Template)]
#[template(path = "member/shop.html")]
pub struct ShopPage {
    pub c: Ctx,
    pub m: Merchant,
    pub products: Vec<Product>,
    /// How many coupons the shop's 领券中心 offers now.
    pub offers: usize,
    /// The shop's live 满减 activities, in words.
    pub activities: Vec<String>,
    /// The shop's 秒杀 still to sell, each with its state and countdown.
    pub flash: crate::promotions::flash::Shelf,
    pub now_ms: i64,
}

impl ShopPage {
    /// What a pasted link to the shop shows: its banner, else its logo.
    pub fn og_image(&self) -> Option<&str> {
        self.m
            .banner
            .as_ref()
            .or(self.m.logo.as_ref())
            .map(|p| p.url.as_str())
    }

    pub fn left(&self, until: &i64) -> String {
        crate::promotions::flash::left(self.now_ms, *until)
    }
}

#[derive(Template)]
#[template(path = "member/product.html")]
pub struct ProductPage {
    pub c: Ctx,
    pub p: Product,
    /// The link preview (Open Graph) of this product.
    pub og: OpenGraph,
    /// For a visitor who came through a friend's share link: (its code, the sharer's name).
    pub invited: Option<(String, String)>,
    pub merchant_name: String,
    /// The viewer's tier name at this merchant.
    pub tier: Option<String>,
    /// "4.50 (12)" when there are reviews.
    pub rating: Option<String>,
    /// "3 位好友买过" and the friends who allow being named, when any friend bought it.
    pub proof: Option<(String, String)>,
    /// (author, stars, body, by a friend), friends' reviews first.
    pub reviews: Vec<(String, String, String, bool)>,
    /// The shop's coupons that cover this product, in words ("满 ¥199.00 可用 · 减 ¥20.00").
    pub coupons: Vec<String>,
    /// The shop's live 满减 activities that cover this product, in words.
    pub activities: Vec<String>,
}

#[derive(Template)]
#[template(path = "member/search.html")]
pub struct SearchPage {
    pub c: Ctx,
    pub q: String,
    pub scope: String,
    pub target: String,
    pub total: i64,
    pub items: Vec<kith_app::discovery::search::SearchItem>,
    /// The "who" view (posts only): who among the scope wrote about it.
    pub who: Vec<kith_app::discovery::search::WhoEntry>,
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "member/cart.html")]
pub struct CartPage {
    pub c: Ctx,
    pub merchant_id: String,
    pub merchant_name: String,
    pub items: Vec<CartItem>,
    pub goods_fen: i64,
    pub stores: Vec<Store>,
    /// The buyer's available coupons as they fit this cart, the best first (preselected).
    pub coupons: Vec<kith_app::commerce::promotions::fit::CouponFit>,
    /// What the shop's live 满减 activities do for this cart: the discount checkout will
    /// take and what is missing to the next tier (凑单).
    pub activity: kith_app::commerce::promotions::activities::CartActivity,
    /// The checkout form's values: the member's name and phone at first, what they typed
    /// after a refusal.
    pub typed: crate::member::CheckoutForm,
    /// Why the last checkout was refused, shown beside the order button.
    pub error: Option<String>,
    /// The address field that was refused (`province`, `address_id`…): its words are shown
    /// beside it too.
    pub bad_field: Option<String>,
    /// The member's saved addresses, the default first (preselected).
    pub addresses: Vec<kith_app::commerce::addresses::SavedAddress>,
    /// The member's points at this shop (with the shop's rule, if it takes points).
    pub points: Option<kith_app::loyalty::PointsBalance>,
    /// The shop's shipping rule, for the freight shown before checkout.
    pub shipping: kith_domain::pricing::ShippingRule,
}

// The cart's template words its coupons with these.
use crate::promotions::Terms as _;

impl CartPage {
    /// The refused address field's words, when `at` is it (`province`, `detail`…).
    pub fn bad_at(&self, at: &str) -> Option<&'static str> {
        let bad = self.bad_field.as_deref()?;
        (bad.strip_prefix("address.").unwrap_or(bad) == at).then(|| self.c.t.addr_refusal(bad))
    }

    /// The region picker's three parts as typed: (name, label, value).
    pub fn regions(&self) -> Vec<(&'static str, &'static str, &str)> {
        let t = self.c.t;
        vec![
            ("province", t.addr_province, self.typed.province.as_str()),
            ("city", t.addr_city, self.typed.city.as_str()),
            ("district", t.addr_district, self.typed.district.as_str()),
        ]
    }

    /// Whether no coupon is preselected (none fits the cart).
    pub fn no_best(&self) -> bool {
        !self.coupons.iter().any(|f| f.best)
    }

    /// The preselected coupon's discount (0 without one).
    pub fn best_discount(&self) -> i64 {
        self.coupons
            .iter()
            .find(|f| f.best)
            .and_then(|f| f.discount_fen)
            .map_or(0, kith_domain::Fen::get)
    }

    /// The goods to pay with the 满减 and the preselected coupon taken off, before shipping
    /// (each priced by checkout's own pricing, the coupon after the activity).
    pub fn goods_to_pay(&self) -> i64 {
        self.goods_fen - self.activity.discount_fen.get() - self.best_discount()
    }

    /// The freight of a shipped order of this cart (checkout's own rule, on the goods to
    /// pay with the preselected coupon; a pickup order ships nothing).
    pub fn shipping_fen(&self) -> i64 {
        self.shipping
            .fee(
                kith_domain::Fen::new(self.goods_to_pay().max(0)),
                kith_domain::order::DeliveryMethod::Shipping,
            )
            .get()
    }

    /// The freight in words: the fee and from what it is waived, or that it is free.
    pub fn shipping_words(&self) -> String {
        let zh = self.c.lang == crate::i18n::Lang::Zh;
        let fee = self.shipping_fen();
        let waived = self.shipping.free_over.map(|f| yuan(f.get()));
        match (fee, waived, zh) {
            (0, _, true) => "包邮".to_owned(),
            (0, _, false) => "free".to_owned(),
            (f, Some(w), true) => format!("{}（满 {w} 包邮）", yuan(f)),
            (f, Some(w), false) => format!("{} (free from {w})", yuan(f)),
            (f, None, _) => yuan(f),
        }
    }

    /// The points this cart may spend with the preselected coupon and what they take off:
    /// what the member holds, under the shop's cap (checkout's own rule, stage 4).
    pub fn points_offer(&self) -> Option<(i64, i64)> {
        let b = self.points.as_ref()?;
        let s = b.settings.as_ref()?;
        let cap = self.goods_to_pay().max(0) * s.cap_percent / 100;
        let worth = b.available.max(0) * 100 / s.points_per_yuan.max(1);
        let fen = cap.min(worth);
        if fen <= 0 {
            return None;
        }
        let ppy = u32::try_from(s.points_per_yuan).ok()?;
        Some((
            kith_domain::points::cost(kith_domain::Fen::new(fen), ppy),
            fen,
        ))
    }

    /// "使用 150 积分抵扣 ¥1.50".
    pub fn points_words(&self, points: &i64, fen: &i64) -> String {
        self.c
            .t
            .pts()
            .use_points
            .replace("{points}", &points.to_string())
            .replace("{yuan}", &yuan(*fen))
    }
}

#[derive(Template)]
#[template(path = "member/orders.html")]
pub struct OrdersPage {
    pub c: Ctx,
    pub orders: Vec<Order>,
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "member/order.html")]
pub struct OrderPage {
    pub c: Ctx,
    pub o: Order,
    pub events: Vec<OrderEvent>,
    /// The parcel's journey, newest first (物流信息).
    pub tracking: Vec<kith_app::commerce::tracking::TrackingEvent>,
    /// The shop takes WeChat Pay (its pay step offers 微信支付).
    pub wechat: bool,
    /// The sandbox gateway is served (`--demo` / `--sandbox-payments`): only then is it offered.
    pub sandbox: bool,
    /// WeChat Pay's code_url of the payment just started, to scan or open.
    pub wechat_link: Option<String>,
    /// The shop takes Alipay (its pay step offers 支付宝).
    pub alipay: bool,
    /// Alipay's signed pay page of the payment just started.
    pub alipay_link: Option<String>,
    /// Its refunds, newest first, each with whether it gave back money alone.
    pub refunds: Vec<(kith_app::commerce::refunds::Refund, bool)>,
    /// The pickup store (name, address, phone), for a pickup order whose store still exists.
    pub store: Option<Store>,
    /// Its opening hours in words ("周一 09:00–12:00 · 周六 10:00–24:00"), empty without any.
    pub store_hours: String,
    /// The pickup code as a QR code (inline SVG) a clerk scans, while it can be redeemed.
    pub pickup_qr_svg: Option<String>,
    /// The order's after-sale requests, each a way to its page (售后进度, 寄回, 申请介入).
    pub aftersales: Vec<kith_app::commerce::aftersale::AftersaleRequest>,
    /// The 拼团 this order took a seat in, to follow its progress.
    pub group_id: Option<kith_app::group_buy::GroupId>,
}

/// An order's refunds as the pages show them: newest first (`list_refunds` gives them
/// oldest first), each with whether it gave back money alone.
pub fn refund_rows(
    list: Vec<kith_app::commerce::refunds::Refund>,
) -> Vec<(kith_app::commerce::refunds::Refund, bool)> {
    list.into_iter()
        .rev()
        .map(|r| {
            let money_only = r.money_only();
            (r, money_only)
        })
        .collect()
}

#[derive(Template)]
#[template(path = "member/communities.html")]
pub struct CommunitiesPage {
    pub c: Ctx,
    pub list: Vec<CommunityCard>,
}

#[derive(Template)]
#[template(path = "member/community.html")]
pub struct CommunityPage {
    pub c: Ctx,
    pub cm: Community,
    pub posts: Vec<Post>,
    /// The viewer is an active member (announcements, invite links).
    pub member: bool,
    /// The viewer is its owner or an admin (the announcement form).
    pub admin: bool,
    pub announcements: Vec<kith_app::social::communities::Announcement>,
    /// The viewer's invite links (all of them for the owner and admins).
    pub invites: Vec<kith_app::social::communities::CommunityInvite>,
    /// The absolute URL of an invite link just made, shown once.
    pub new_invite: Option<String>,
}

#[derive(Template)]
#[template(path = "member/me.html")]
pub struct MePage {
    pub c: Ctx,
    pub balance_fen: i64,
    pub friends: i64,
    pub following: i64,
    pub followers: i64,
    pub posts: Vec<Post>,
}

// --- merchant console -------------------------------------------------------------------

/// The merchant a console page is about, for its sub-navigation.
pub struct Shop {
    pub id: kith_app::platform::ids::MerchantId,
    pub name: String,
}

impl Shop {
    /// The console page `section` of this shop (`""` for its dashboard).
    pub fn href(&self, section: &str) -> String {
        if section.is_empty() {
            format!("/console/{}", self.id)
        } else {
            format!("/console/{}/{section}", self.id)
        }
    }
}

#[derive(Template)]
#[template(path = "console/home.html")]
pub struct ConsoleHome {
    pub c: Ctx,
    pub applied: bool,
}

#[derive(Template)]
#[template(path = "console/dash.html")]
pub struct ConsoleDash {
    pub c: Ctx,
    pub shop: Shop,
    pub d: Dashboard,
    /// Webhook endpoints disabled because they kept failing.
    pub disabled: Vec<kith_app::events::webhooks::Endpoint>,
}

#[derive(Template)]
#[template(path = "console/products.html")]
pub struct ConsoleProducts {
    pub c: Ctx,
    pub shop: Shop,
    pub products: Vec<Product>,
}

#[derive(Template)]
#[template(path = "console/product.html")]
pub struct ConsoleProduct {
    pub c: Ctx,
    pub shop: Shop,
    pub p: Product,
    pub tiers: Vec<Tier>,
    /// One row per SKU and location, including locations that never held the SKU.
    pub stock: Vec<StockRow>,
    /// Why the picture just sent was refused, in words (said beside the file input).
    pub image_error: Option<String>,
}

pub struct StockRow {
    pub sku_id: String,
    pub location_id: String,
    pub location_name: String,
    pub on_hand: i64,
    pub reserved: i64,
}

#[derive(Template)]
#[template(path = "console/orders.html")]
pub struct ConsoleOrders {
    pub c: Ctx,
    pub shop: Shop,
    /// What was typed into the buyer search.
    pub q: String,
    /// The search cannot be one (a phone of 7 digits): said beside the box, no rows.
    pub refused: bool,
    pub status: String,
    pub statuses: Vec<&'static str>,
    pub orders: Vec<Order>,
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "console/order.html")]
pub struct ConsoleOrder {
    pub c: Ctx,
    pub shop: Shop,
    pub o: Order,
    pub events: Vec<OrderEvent>,
    /// The order's commission split (attribution and shares).
    pub split: Option<crate::console::Split>,
    /// Its refunds, newest first, each with whether it gave back money alone.
    pub refunds: Vec<(kith_app::commerce::refunds::Refund, bool)>,
}

#[derive(Template)]
#[template(path = "console/stores.html")]
pub struct ConsoleStores {
    pub c: Ctx,
    pub shop: Shop,
    /// Each store with its clerks.
    pub stores: Vec<(Store, Vec<Clerk>)>,
    /// A clerk invitation code just created, shown once.
    pub code: Option<String>,
}

#[derive(Template)]
#[template(path = "console/communities.html")]
pub struct ConsoleCommunities {
    pub c: Ctx,
    pub shop: Shop,
    pub list: Vec<CommunityCard>,
}

// --- clerk and admin --------------------------------------------------------------------

#[derive(Template)]
#[template(path = "staff/clerk.html")]
pub struct ClerkPage {
    pub c: Ctx,
    pub store: Store,
    pub pickups: Vec<Order>,
    /// The order just redeemed.
    pub redeemed: Option<Order>,
}

#[derive(Template)]
#[template(path = "staff/admin.html")]
pub struct AdminPage {
    pub c: Ctx,
    pub pending: Vec<Merchant>,
    pub approved: Vec<Merchant>,
    /// Withdrawals waiting for a decision, oldest first.
    pub withdrawals: Vec<crate::staff::WithdrawalRow>,
    /// The platform's reconciliations (its payments and payouts), newest day first.
    pub(crate) recon: Vec<crate::console::reconcile::RunRow>,
}

#[cfg(test)]
mod beijing_tests {
    #[test]
    fn times_show_in_beijing_time() {
        assert_eq!(
            super::beijing("2026-11-22T16:05:09.123Z"),
            "2026-11-23 00:05"
        );
        assert_eq!(
            super::beijing("2026-11-22T01:00:00+08:00"),
            "2026-11-22 01:00"
        );
        assert_eq!(super::beijing("not a time"), "not a time");
        // A viewer in Tokyo sees the same moment an hour later; in UTC, as written.
        assert_eq!(
            crate::timezone::with_minutes(540, || super::beijing("2026-11-22T16:05:09.123Z")),
            "2026-11-23 01:05"
        );
        assert_eq!(
            crate::timezone::with_minutes(0, || super::beijing("2026-11-22T16:05:09.123Z")),
            "2026-11-22 16:05"
        );
    }

    #[test]
    fn share_links_in_a_post_become_links_and_the_rest_is_escaped() {
        let l = |s| super::link_shares(s, "看看");
        assert_eq!(
            l("好酒：/s/sGRHMDZbUa 快来"),
            "好酒：<a class=\"share-link\" href=\"/s/sGRHMDZbUa\">看看</a> 快来"
        );
        assert_eq!(
            l("https://shop.example/s/Ab_9-x。"),
            "<a class=\"share-link\" href=\"/s/Ab_9-x\">看看</a>。"
        );
        assert_eq!(l("<b>/s/</b> a/s/x"), "&lt;b&gt;/s/&lt;/b&gt; a/s/x");
        assert_eq!(l("\"/s/x\""), "&quot;/s/x&quot;");
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{parse_yuan, yuan};

    #[test]
    fn yuan_reads_and_writes_money() {
        assert_eq!(yuan(0), "¥0.00");
        assert_eq!(yuan(59900), "¥599.00");
        assert_eq!(yuan(-5), "-¥0.05");
        assert_eq!(parse_yuan("price", "12").unwrap(), 1200);
        assert_eq!(parse_yuan("price", "12.5").unwrap(), 1250);
        assert_eq!(parse_yuan("price", "¥0.07").unwrap(), 7);
        for bad in [
            "",
            "1.234",
            "-1",
            "1e3",
            "1.2.3",
            "¥",
            "12,5",
            ".5",
            "9999999999",
        ] {
            let err = parse_yuan("price", bad).unwrap_err();
            assert!(err.to_string().starts_with("price:"), "{bad}: {err}");
        }
    }

    proptest! {
        /// Every amount a page shows reads back as the same number of fen.
        #[test]
        fn shown_amounts_parse_back(fen in 0i64..100_000_000_000) {
            prop_assert_eq!(parse_yuan("price", &yuan(fen)).unwrap(), fen);
        }

        /// Whatever is typed, a price is either refused naming the field or a
        /// non-negative number of fen that prints back to the same yuan value.
        #[test]
        fn typed_prices_are_exact_or_refused(s in "[0-9¥.,-]{0,12}") {
            match parse_yuan("price", &s) {
                Ok(fen) => {
                    prop_assert!(fen >= 0);
                    prop_assert_eq!(parse_yuan("price", &yuan(fen)).unwrap(), fen);
                }
                Err(e) => prop_assert!(e.to_string().starts_with("price:")),
            }
        }
    }
}
