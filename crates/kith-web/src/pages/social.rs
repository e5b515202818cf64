//! Templates of the member app's money-sharing and social pages: the commission wallet,
//! the team, a share link with its QR code, an order's commission, editing a post and a
//! community invitation.

use askama::Template;
use kith_app::money::commissions::{OrderCommission, WalletBalances};
use kith_app::money::distributors::{Earnings, LinkFunnel, Team};
use kith_app::money::sharing::ShareLink;
use kith_app::money::withdrawals::Withdrawal;
use kith_app::social::posts::Post;

use super::filters;
use crate::Ctx;

/// One merchant's commission wallet: balances and the newest statement lines.
pub struct WalletView {
    pub b: WalletBalances,
    /// One line per order earned on, newest first.
    pub lines: Vec<kith_app::money::distributors::CommissionOrder>,
    /// The cursor of the next, older page of lines.
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "member/wallet.html")]
pub struct WalletPage {
    pub c: Ctx,
    pub wallets: Vec<WalletView>,
    /// Each withdrawal with its merchant's name.
    pub withdrawals: Vec<(Withdrawal, String)>,
    /// Why the withdrawal just asked for was refused (the use case's words).
    pub error: Option<String>,
    /// The amount typed and the merchant it was for, kept in that form when refused.
    pub amount: String,
    pub refused_at: String,
    /// The platform pays withdrawals out by Alipay: the form asks for the 支付宝账号.
    pub alipay: bool,
    /// The payee typed, kept when refused.
    pub payee_account: String,
    pub payee_name: String,
}

#[derive(Template)]
#[template(path = "member/commission.html")]
pub struct CommissionPage {
    pub c: Ctx,
    pub oc: OrderCommission,
    /// The viewer's account id (their own shares are marked).
    pub me: String,
}

#[derive(Template)]
#[template(path = "member/team.html")]
pub struct TeamPage {
    pub c: Ctx,
    pub earnings: Earnings,
    /// (merchant name, the team below me there), merchants with a team only.
    pub teams: Vec<(String, Team)>,
    pub links: Vec<LinkFunnel>,
}

#[derive(Template)]
#[template(path = "member/share.html")]
pub struct SharePage {
    pub c: Ctx,
    pub link: ShareLink,
    /// The absolute link to hand on.
    pub url: String,
    /// The link's QR code as inline SVG.
    pub qr: String,
    /// Where the shared thing is, on this site.
    pub target: String,
    /// A shared product's poster (分享海报): its picture, name and price with the QR code.
    pub poster: Option<Poster>,
}

/// What a product's share poster shows.
pub struct Poster {
    pub name: String,
    /// The product's main picture.
    pub image: Option<String>,
    /// Its lowest list price, in 元 ("¥39.00"): what a friend without a tier pays.
    pub price: String,
}

#[derive(Template)]
#[template(path = "member/post_edit.html")]
pub struct PostEditPage {
    pub c: Ctx,
    pub p: Post,
}

#[derive(Template)]
#[template(path = "member/invite.html")]
pub struct InvitePage {
    pub c: Ctx,
    pub code: String,
}

/// Where a share link lands for a visitor who is not signed in and what it shares needs an
/// account: sign up through the link, or log in.
#[derive(Template)]
#[template(path = "member/share_join.html")]
pub struct ShareJoinPage {
    pub c: Ctx,
    pub code: String,
    /// The shared thing's path, to go on to once signed in.
    pub next: String,
    pub form: super::SignUpForm,
    pub challenge: Option<kith_app::platform::challenge::Challenge>,
    /// Who shared what, shown above the form (none when the link's target is gone).
    pub shared: Option<SharedPreview>,
}

/// What a share link shows a visitor before they sign up: who shared what, at what price.
pub struct SharedPreview {
    pub sharer: String,
    pub title: String,
    /// The price to show ("¥12.90 起", a group's price), when the thing has one.
    pub price: Option<String>,
    pub image: Option<String>,
    /// A line under the title ("3 人团 · 还差 1"), when there is one.
    pub note: Option<String>,
}

/// `url` as a QR code in inline SVG: one unit per module, a 4-module quiet zone, scaled
/// by the stylesheet. `None` if the text is too long for a QR code.
pub fn qr_svg(url: &str) -> Option<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .module_dimensions(1, 1)
        .quiet_zone(true)
        .build();
    // Inline in HTML: without the XML declaration.
    let at = svg.find("<svg")?;
    Some(svg[at..].to_owned())
}

#[cfg(test)]
mod tests {
    use super::qr_svg;

    #[test]
    fn qr_codes_are_inline_svg_of_the_url() {
        let url = "http://127.0.0.1:8080/s/abcDEF2345";
        let svg = qr_svg(url).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("<?xml"));
        // One unit per module plus the quiet zone on both sides.
        let w = qrcode::QrCode::new(url).unwrap().width() + 8;
        assert!(svg.contains(&format!(r#"viewBox="0 0 {w} {w}""#)), "{svg}");
        assert_ne!(qr_svg("http://x/s/a"), qr_svg("http://x/s/b"));
    }
}
