//! Share links, their visits, sign-ups through them, and referrer binding (锁客).
//!
//! Any member shares a product, a post or a community as a short link (one per sharer and
//! target: sharing again gives the same link). A link earns at the merchants it points to:
//! a product's merchant, the merchants whose products a post tags, a community's merchant.
//! A post with product tags shared by its author earns as **content** (content credit);
//! anything else as **share**. A group-buy group's link (`group_buy`) earns as
//! **group_buy**: whoever shared the group the buyer followed is their L1.
//!
//! Visits, bindings and content credit are recorded only by the use cases that say so
//! ([`App::visit_share_link`], [`App::visit_post_tag`], [`App::register_via_share`],
//! [`App::bind_referrer`]), which the API serves as POSTs and the pages call only for a
//! top-level navigation — never for an image or other sub-resource a page makes the
//! browser fetch (a product image pointing at `/s/{code}` must not move anyone's
//! commission). [`App::share_link_by_code`] reads a link without recording anything.
//!
//! Following a link records a visit (the funnel), and for a signed-in visitor who is not
//! the sharer binds them to the sharer at each of the link's merchants, under the
//! merchant's binding mode — never to oneself, never into a cycle, never moving a live
//! binding (`kith_domain::commission`). Signing up through a link does the same for the new
//! account and records the sign-up. A community invite code works as a referral code only
//! while it could still be used to join (`social::invites::usable_invite`: not withdrawn,
//! not expired, uses left, inviter still a member). Attribution reads the visits at checkout
//! (`commissions::snapshot`).

use kith_domain::commission::{self, BindingMode};
use kith_store::Conn;
use rand::Rng;
use serde::Serialize;

use crate::money::store;
use crate::platform::accounts::{Account, Registration};
use crate::platform::ids::{AccountId, MerchantId, PostId, new_id};
use crate::{App, AppError, AppResult, Principal, platform::outbox, rfc3339, social::visibility};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// How far up a binding chain the cycle check walks at most (deeper trees are refused).
const MAX_CHAIN: usize = 10_000;

/// What a link points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Product,
    Post,
    Community,
    /// A group-buy group that is still gathering (anyone may share it).
    GroupBuy,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Product => "product",
            Self::Post => "post",
            Self::Community => "community",
            Self::GroupBuy => "group_buy",
        }
    }
    fn from_db(s: &str) -> Option<Self> {
        [Self::Product, Self::Post, Self::Community, Self::GroupBuy]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A merchant a link earns at, and how.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinkMerchant {
    pub merchant_id: MerchantId,
    /// `share` or `content`.
    pub channel: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShareLink {
    pub id: String,
    /// The short code; the link is `/s/{code}`.
    pub code: String,
    pub path: String,
    pub sharer_id: AccountId,
    pub kind: LinkKind,
    pub target_id: String,
    pub merchants: Vec<LinkMerchant>,
    pub created_at: String,
}

/// What following a link did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Visit {
    pub link: ShareLink,
    /// Merchants at which the visitor is now bound to the sharer (empty when they were
    /// bound already, are the sharer, or visited without signing in).
    pub bound_at: Vec<MerchantId>,
}

/// A member's referrer at one merchant.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReferrerBinding {
    pub merchant_id: MerchantId,
    pub referrer_id: AccountId,
    pub referrer_name: String,
    pub bound_at: String,
    pub expires_at: Option<String>,
}

fn new_code() -> String {
    const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A share link's code, or a community invite code (base64url).
fn parse_code(code: &str) -> AppResult<String> {
    let code = code.trim();
    let ok = (4..=128).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(code.to_owned())
    } else {
        Err(AppError::NotFound("share link"))
    }
}

fn link_view(c: &mut dyn Conn, id: &str) -> AppResult<ShareLink> {
    let r = store::share_link_row(c, id)?.ok_or(AppError::NotFound("share link"))?;
    let merchants = store::link_merchant_channels(c, id)?
        .into_iter()
        .map(|(m, channel)| LinkMerchant {
            merchant_id: MerchantId::from_row(m),
            channel,
        })
        .collect();
    let code = r.text(1)?;
    Ok(ShareLink {
        id: r.text(0)?,
        path: format!("/s/{code}"),
        code,
        sharer_id: AccountId::from_row(r.text(2)?),
        kind: LinkKind::from_db(&r.text(3)?)
            .ok_or_else(|| AppError::Internal("unknown link kind".into()))?,
        target_id: r.text(4)?,
        merchants,
        created_at: rfc3339(r.int(5)?),
    })
}

/// The merchant's binding mode (permanent when it has no plan).
pub(crate) fn binding_mode(c: &mut dyn Conn, merchant_id: &str) -> AppResult<BindingMode> {
    Ok(match store::plan_binding(c, merchant_id)? {
        None => BindingMode::Permanent,
        Some((mode, days)) => BindingMode::parse(&mode, days)?,
    })
}

/// Announces the read [`live_referrer`] makes ([`Conn::prefetch`]).
pub(crate) fn announce_live_referrer(
    c: &mut dyn Conn,
    merchant_id: &str,
    member: &str,
) -> AppResult<()> {
    store::announce_binding_of(c, merchant_id, member)
}

/// `member`'s live referrer at `merchant_id`.
pub(crate) fn live_referrer(
    c: &mut dyn Conn,
    merchant_id: &str,
    member: &str,
    now: i64,
) -> AppResult<Option<String>> {
    Ok(store::binding_of(c, merchant_id, member)?
        .filter(|(_, exp)| exp.is_none_or(|e| now < e))
        .map(|(r, _)| r))
}

/// Binds `member` to `referrer` at `merchant_id` if the rules allow; returns whether it
/// did. Never to oneself, never a cycle, never moving a live binding. A refused cycle is
/// not an error here (the visit still counts); [`App::bind_referrer`] reports it.
pub(crate) fn try_bind(
    c: &mut dyn Conn,
    now: i64,
    merchant_id: &str,
    member: &str,
    referrer: &str,
    link_id: Option<&str>,
) -> AppResult<Result<bool, AppError>> {
    let mode = binding_mode(c, merchant_id)?;
    let existing = store::binding_of(c, merchant_id, member)?;
    match commission::binding_decision(mode, member, referrer, existing.as_ref(), now) {
        Err(e) => return Ok(Err(e.into())),
        Ok(false) => return Ok(Ok(false)),
        Ok(true) => {}
    }
    // One binding at a time per merchant: two members following each other's links at
    // once must not both pass the cycle check (PostgreSQL reads committed rows only).
    store::lock_merchant(c, merchant_id)?;
    // The referrer's ancestors, walking up live and expired bindings alike: an expired
    // edge may come back to life only by a new binding, which this same check guards.
    let mut ancestors = Vec::new();
    let mut at = referrer.to_owned();
    while let Some((up, _)) = store::binding_of(c, merchant_id, &at)? {
        if ancestors.len() >= MAX_CHAIN || ancestors.contains(&up) {
            break;
        }
        ancestors.push(up.clone());
        at = up;
    }
    if let Err(e) = commission::check_no_cycle(member, referrer, &ancestors) {
        return Ok(Err(e.into()));
    }
    let expires = mode.days().map(|d| now + d * DAY_MS);
    let changed = if existing.is_some() {
        // Only an expired binding gets here; the WHERE re-checks it did expire.
        store::rebind_expired(c, merchant_id, member, referrer, link_id, now, expires)?
    } else {
        store::insert_binding(c, merchant_id, member, referrer, link_id, now, expires)?
    };
    if changed == 1 {
        outbox::emit(
            c,
            now,
            "referrer.bound",
            Some(merchant_id),
            member,
            &serde_json::json!({ "member_id": member, "referrer_id": referrer, "link_id": link_id }),
        )?;
    }
    Ok(Ok(changed == 1))
}

/// Records a visit of `link_id` by `visitor` (if signed in) and binds them where the rules
/// allow. Returns the merchants bound at.
/// The share link of `sharer` to `target`, created (earning at `merchants` with their
/// channels) if it does not exist yet: its id.
fn ensure_link(
    c: &mut dyn Conn,
    now: i64,
    sharer: &str,
    kind: LinkKind,
    target: &str,
    merchants: &[(String, &str)],
) -> AppResult<String> {
    if let Some(id) = store::find_link(c, sharer, kind.as_str(), target)? {
        return Ok(id);
    }
    let id = new_id();
    let mut inserted = false;
    for _ in 0..8 {
        // Either unique rule may stop the insert: a code already drawn (draw again), or a
        // concurrent first share of the same thing by the same sharer (take theirs).
        if store::insert_link(c, &id, &new_code(), sharer, kind.as_str(), target, now)? {
            inserted = true;
            break;
        }
        if let Some(id) = store::find_link(c, sharer, kind.as_str(), target)? {
            return Ok(id);
        }
    }
    if !inserted {
        return Err(AppError::Internal(
            "could not draw a free share code".into(),
        ));
    }
    for (m, channel) in merchants {
        store::insert_link_merchant(c, &id, m, channel)?;
    }
    outbox::emit(
        c,
        now,
        "share_link.created",
        None,
        &id,
        &serde_json::json!({
            "link_id": id, "sharer_id": sharer, "kind": kind.as_str(), "target_id": target,
        }),
    )?;
    Ok(id)
}

fn visit(
    c: &mut dyn Conn,
    now: i64,
    link_id: &str,
    sharer: &str,
    visitor: Option<&str>,
) -> AppResult<Vec<MerchantId>> {
    store::insert_visit(c, &new_id(), link_id, visitor, now)?;
    let mut bound = Vec::new();
    let Some(visitor) = visitor.filter(|v| *v != sharer) else {
        return Ok(bound);
    };
    let merchants = store::link_merchants(c, link_id)?;
    for m in merchants {
        if let Ok(true) = try_bind(c, now, &m, visitor, sharer, Some(link_id))? {
            bound.push(MerchantId::from_row(m));
        }
    }
    Ok(bound)
}

/// What a code given at sign-up (or typed in later) binds to: a share link's sharer at its
/// merchants, or a live community invite's inviter at the community's merchant.
struct Referral {
    link_id: Option<String>,
    referrer: String,
    merchants: Vec<String>,
}

fn referral_by_code(c: &mut dyn Conn, code: &str, now: i64) -> AppResult<Referral> {
    if let Some((link_id, referrer)) = store::link_by_code(c, code)? {
        let merchants = store::link_merchants(c, &link_id)?;
        return Ok(Referral {
            link_id: Some(link_id),
            referrer,
            merchants,
        });
    }
    // An invite binds only while it could still be used to join: withdrawn, expired and
    // used-up invites (and those whose inviter left) are refused with joining's 409.
    let invite = match crate::social::invites::usable_invite(
        c,
        &crate::platform::ids::sha256_hex(code),
        now,
    ) {
        Err(AppError::NotFound(_)) => return Err(AppError::NotFound("share link")),
        other => other?,
    };
    let merchant = store::community_merchant(c, &invite.community_id)?;
    Ok(Referral {
        link_id: None,
        referrer: invite.inviter_id.to_string(),
        merchants: merchant.into_iter().collect(),
    })
}

fn link_by_code(c: &mut dyn Conn, code: &str) -> AppResult<(String, String)> {
    store::link_by_code(c, code)?.ok_or(AppError::NotFound("share link"))
}

impl App {
    /// The caller's share link to a product, a post, a community or a gathering group-buy
    /// group (the same link when shared again). The caller must be able to see what they
    /// share.
    pub async fn create_share_link(
        &self,
        who: &Principal,
        kind: LinkKind,
        target_id: &str,
    ) -> AppResult<ShareLink> {
        self.rate_limit(who, crate::platform::limits::Action::Share)
            .await?;
        let target = crate::platform::ids::parse_id(target_id)
            .ok_or_else(|| AppError::invalid("target_id", "is not an id"))?;
        let now = self.now_ms();
        let who = who.clone();
        self.db
            .write(move |c| {
                let me = who.account_id.as_str();
                // (merchant, channel) pairs this link earns at.
                let merchants: Vec<(String, &str)> = match kind {
                    LinkKind::Product => {
                        let m = store::active_product_merchant(c, &target)?.ok_or_else(|| {
                            AppError::invalid("target_id", "is not an active product")
                        })?;
                        vec![(m, "share")]
                    }
                    LinkKind::Post => {
                        if !visibility::can_see_post(c, Some(me), &target)? {
                            return Err(AppError::invalid(
                                "target_id",
                                "is not a post you can see",
                            ));
                        }
                        let author = store::post_author(c, &target)?;
                        let channel = if author == me { "content" } else { "share" };
                        store::post_tag_merchants(c, &target)?
                            .into_iter()
                            .map(|m| (m, channel))
                            .collect()
                    }
                    LinkKind::Community => {
                        let m = store::find_community_merchant(c, &target)?
                            .ok_or_else(|| AppError::invalid("target_id", "is not a community"))?;
                        m.map(|m| vec![(m, "share")]).unwrap_or_default()
                    }
                    LinkKind::GroupBuy => {
                        let m = store::gathering_group_merchant(c, &target)?.ok_or_else(|| {
                            AppError::invalid("target_id", "is not a group that is gathering")
                        })?;
                        vec![(m, "group_buy")]
                    }
                };
                let id = ensure_link(c, now, me, kind, &target, &merchants)?;
                link_view(c, &id)
            })
            .await
    }

    /// A member opened a product from a post that tags it. docs/PRODUCT.md §4: a post that tags
    /// products acts as its author's share link (content credit), so this is a visit of the
    /// author's link to the post — made for them if they never shared it — with the same
    /// effects as following it: attribution within the window, and binding where the
    /// merchant's rules allow. Only for posts the member can see; 404 otherwise.
    pub async fn visit_post_tag(&self, who: &Principal, post_id: &PostId) -> AppResult<Visit> {
        let post = post_id.clone();
        let now = self.now_ms();
        let me = who.account_id.clone();
        self.db
            .write(move |c| {
                if !visibility::can_see_post(c, Some(&me), &post)? {
                    return Err(AppError::NotFound("post"));
                }
                let author = store::post_author(c, &post)?;
                let merchants: Vec<(String, &str)> = store::post_tag_merchants(c, &post)?
                    .into_iter()
                    .map(|m| (m, "content"))
                    .collect();
                if merchants.is_empty() {
                    return Err(AppError::invalid("post_id", "the post tags no product"));
                }
                let link = ensure_link(c, now, &author, LinkKind::Post, &post, &merchants)?;
                let bound_at = visit(c, now, &link, &author, Some(&me))?;
                Ok(Visit {
                    link: link_view(c, &link)?,
                    bound_at,
                })
            })
            .await
    }

    /// Someone followed a share link: the visit is recorded, and a signed-in visitor is
    /// bound to the sharer where the merchant's rules allow.
    pub async fn visit_share_link(&self, who: Option<&Principal>, code: &str) -> AppResult<Visit> {
        let code = parse_code(code)?;
        let now = self.now_ms();
        let visitor = who.map(|p| p.account_id.clone());
        self.db
            .write(move |c| {
                let (link_id, sharer) = link_by_code(c, &code)?;
                let bound_at = visit(c, now, &link_id, &sharer, visitor.as_deref())?;
                Ok(Visit {
                    link: link_view(c, &link_id)?,
                    bound_at,
                })
            })
            .await
    }

    /// The link behind a code, recording nothing: what a page shows or redirects to when
    /// a request for `/s/{code}` is not a person following the link (an image, a prefetch,
    /// a sub-resource), so that only [`App::visit_share_link`] ever counts or binds.
    pub async fn share_link_by_code(&self, code: &str) -> AppResult<ShareLink> {
        let code = parse_code(code)?;
        self.db
            .read(move |c| {
                let (link_id, _) = link_by_code(c, &code)?;
                link_view(c, &link_id)
            })
            .await
    }

    /// Signs up through a share link or a community invite code: the account is created,
    /// the new member bound to the sharer (inviter) at its merchants, and for a share link
    /// the sign-up and a visit recorded — one transaction. (Joining the community stays
    /// `accept_invite`'s business.)
    pub async fn register_via_share(&self, input: Registration, code: &str) -> AppResult<Account> {
        let code = parse_code(code)?;
        let parsed = crate::platform::accounts::parse_registration(&input)?;
        self.prove_sign_up_phone(&parsed, input.code.as_deref())
            .await?;
        let hash = crate::platform::accounts::hash_password(parsed.password.clone()).await?;
        let now = self.now_ms();
        self.db
            .write(move |c| {
                let referral = referral_by_code(c, &code, now)?;
                let account = crate::platform::accounts::insert_account(
                    c,
                    now,
                    parsed.phone.as_ref(),
                    parsed.email.as_ref(),
                    &parsed.name,
                    Some(&hash),
                    false,
                )?;
                match &referral.link_id {
                    Some(link_id) => {
                        store::insert_signup(c, &account.id, link_id, now)?;
                        visit(c, now, link_id, &referral.referrer, Some(&account.id))?;
                    }
                    None => {
                        for m in &referral.merchants {
                            // A brand-new account has no binding and nobody below it.
                            try_bind(c, now, m, &account.id, &referral.referrer, None)??;
                        }
                    }
                }
                // The sharer learns that someone joined through their link or code (the
                // notification centre tells them); no merchant's webhook carries it.
                outbox::emit(
                    c,
                    now,
                    "share.signed_up",
                    None,
                    &account.id,
                    &serde_json::json!({
                        "account_id": account.id, "referrer_id": referral.referrer,
                        "link_id": referral.link_id, "display_name": account.display_name,
                    }),
                )?;
                Ok(account)
            })
            .await
    }

    /// Binds the caller to the sharer of `code` at its merchants, reporting why not when
    /// the rules refuse (self, cycle) — e.g. for an invite code typed in after sign-up.
    pub async fn bind_referrer(
        &self,
        who: &Principal,
        code: &str,
    ) -> AppResult<Vec<ReferrerBinding>> {
        let code = parse_code(code)?;
        let now = self.now_ms();
        let me = who.account_id.clone();
        self.db
            .write(move |c| {
                let Referral {
                    link_id,
                    referrer: sharer,
                    merchants,
                } = referral_by_code(c, &code, now)?;
                if sharer == me {
                    return Err(AppError::invalid(
                        "code",
                        "a member cannot be bound to themselves",
                    ));
                }
                if merchants.is_empty() {
                    return Err(AppError::invalid("code", "this code earns at no merchant"));
                }
                for m in &merchants {
                    if let Err(e) = try_bind(c, now, m, &me, &sharer, link_id.as_deref())? {
                        return Err(match e {
                            AppError::Invalid { reason, .. } => AppError::conflict("code", reason),
                            other => other,
                        });
                    }
                }
                store::member_bindings(c, &me)
            })
            .await
    }

    /// The caller's referrers, one per merchant.
    pub async fn my_referrers(&self, who: &Principal) -> AppResult<Vec<ReferrerBinding>> {
        let me = who.account_id.clone();
        self.db.read(move |c| store::member_bindings(c, &me)).await
    }

    /// The caller's share links, newest first.
    pub async fn my_share_links(&self, who: &Principal) -> AppResult<Vec<ShareLink>> {
        let me = who.account_id.clone();
        self.db
            .read(move |c| {
                let ids = store::sharer_links(c, &me)?;
                ids.iter().map(|id| link_view(c, id)).collect()
            })
            .await
    }
}
