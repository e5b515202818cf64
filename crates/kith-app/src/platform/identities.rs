//! Signing in with WeChat, and the external identities linked to accounts.
//!
//! The flow ([`App::wechat_start`] → WeChat → [`App::wechat_callback`]):
//! - `state` is 256 random bits, stored only as its SHA-256 beside the SHA-256 of a second
//!   secret the browser keeps in an HttpOnly, SameSite=Lax cookie set on the redirect. The
//!   callback takes a state once, from the browser that started it, within ten minutes;
//!   a missing, forged, expired, reused or foreign state is refused (422 on `state`)
//!   before WeChat is asked anything.
//! - A `code` is spent once: its hash is remembered (ten minutes, twice WeChat's own life
//!   of a code) in the transaction that takes the state, so a replayed code is refused
//!   even if WeChat would still answer for it.
//! - The identity is looked up by `unionid` first (one person across the 公众号 of one
//!   Open Platform account), then by (app id, openid). A known identity signs in. An
//!   unknown one never makes an account by itself: it waits as a *pending* identity (ten
//!   minutes, keyed by a cookie) until its person chooses a new account
//!   ([`App::wechat_create_account`], through the sign-up gate) or signs in with their
//!   password to link it ([`App::wechat_link_pending`]), so one person does not end up with
//!   two accounts.
//! - In link mode (started signed in, from 我的) the identity is attached to that account,
//!   unless it belongs to another one (refused, nothing moves).
//! - Unlinking needs re-authentication (the password, or for an account without one a
//!   WeChat sign-in in the last ten minutes) and is refused when the account would be left
//!   with no way in (no password, no phone, no other identity).
//!
//! Tokens from WeChat are used for the one userinfo call and dropped: nothing stores or
//! emits them. Events: `account.identity_linked`, `account.identity_unlinked`.

use kith_store::Conn;
use serde::Serialize;

use super::store::accounts as account_rows;
use super::store::identities::{self as rows, recent_sign_in};
use crate::platform::accounts::{self, Session};
use crate::platform::challenge::Solution;
use crate::platform::error::UniqueAs;
use crate::platform::ids::{new_id, new_secret, sha256_hex};
use crate::platform::wechat::{Scope, WeChatClient, WeChatError};
use crate::{App, AppError, AppResult, Principal, platform::outbox};

/// How long a state, a pending identity and a spent code are kept.
pub const FLOW_TTL_MS: i64 = 10 * 60 * 1000;
/// How recent a WeChat sign-in must be to stand in for a password.
pub const REAUTH_WINDOW_MS: i64 = 10 * 60 * 1000;
/// The provider name stored with WeChat identities.
pub const WECHAT: &str = "wechat";
/// The path WeChat sends the browser back to, under the public URL.
pub const CALLBACK_PATH: &str = "/auth/wechat/callback";

/// Why the flow was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthMode {
    /// Sign in (or sign up) with WeChat.
    SignIn,
    /// Attach the identity to the signed-in account.
    Link,
}

impl OAuthMode {
    fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::Link => "link",
        }
    }
}

/// Where to send the browser, and the secret its cookie must hold when it comes back.
#[derive(Debug, Clone)]
pub struct OAuthStart {
    pub authorize_url: String,
    pub browser_secret: String,
}

/// What the callback did.
#[derive(Debug)]
pub enum CallbackOutcome {
    /// A known identity: signed in (boxed: a session holds the whole account).
    SignedIn { session: Box<Session>, next: String },
    /// An unknown identity: waiting for its person to choose (the token goes in a cookie).
    Pending { token: String },
    /// Link mode: the identity is this account's now.
    Linked { next: String },
}

/// An identity waiting for "new account" or "link to mine".
#[derive(Debug, Clone, Serialize)]
pub struct PendingIdentity {
    pub nickname: String,
    pub next: String,
}

/// An external identity as its owner sees it (no openid, unionid or token).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Identity {
    pub id: crate::platform::ids::IdentityId,
    /// `wechat`.
    pub provider: String,
    /// The 公众号's AppID the identity came through.
    pub app_id: String,
    pub nickname: String,
    pub created_at: String,
    pub last_sign_in_at: Option<String>,
}

/// How the account proves itself again before an identity is unlinked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reauth {
    /// The account's password.
    Password,
    /// A WeChat sign-in within the last ten minutes (the account has no password).
    RecentWechatSignIn,
}

/// The identities of an account, and what unlinking one asks for.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Identities {
    pub identities: Vec<Identity>,
    pub reauth: Reauth,
    /// Whether a WeChat sign-in happened within the last ten minutes.
    pub recent_wechat_sign_in: bool,
}

/// Who WeChat said the person is.
struct External {
    app_id: String,
    openid: String,
    unionid: Option<String>,
    nickname: String,
}

/// The identity already on file for `e`, with its account: by unionid, then by
/// (app id, openid).
fn find_identity(c: &mut dyn Conn, e: &External) -> AppResult<Option<(String, String)>> {
    if let Some(u) = &e.unionid
        && let Some(found) = rows::identity_by_unionid(c, u)?
    {
        return Ok(Some(found));
    }
    rows::identity_by_openid(c, &e.app_id, &e.openid)
}

pub(crate) use super::store::identities::wechat_openid;

/// Links `e` to `account_id` (refused when it is another account's), emitting
/// `account.identity_linked` when it is new. Returns the identity's id.
fn link(c: &mut dyn Conn, now: i64, e: &External, account_id: &str) -> AppResult<String> {
    if let Some((id, owner)) = find_identity(c, e)? {
        if owner != account_id {
            return Err(AppError::conflict(
                "wechat",
                "this WeChat account is already linked to another kith account",
            ));
        }
        return Ok(id);
    }
    let id = new_id();
    rows::insert_identity(
        c,
        &id,
        &e.app_id,
        &e.openid,
        e.unionid.as_deref(),
        account_id,
        &e.nickname,
        now,
    )
    .unique_as(
        "external_identities",
        &["provider", "app_id", "openid"],
        "wechat",
        "this WeChat account is already linked to another kith account",
    )?;
    outbox::emit(
        c,
        now,
        "account.identity_linked",
        None,
        account_id,
        &serde_json::json!({ "account_id": account_id, "identity_id": id, "provider": WECHAT, "app_id": e.app_id }),
    )?;
    Ok(id)
}

/// Takes a pending identity (deleting it), or 404 when it is unknown or expired.
fn take_pending(c: &mut dyn Conn, token: &str, now: i64) -> AppResult<(External, String)> {
    let r = rows::take_pending_row(c, &sha256_hex(token))?
        .ok_or(AppError::NotFound("pending WeChat sign-in"))?;
    if r.expires_at <= now {
        return Err(AppError::NotFound("pending WeChat sign-in"));
    }
    Ok((
        External {
            app_id: r.app_id,
            openid: r.openid,
            unionid: r.unionid,
            nickname: r.nickname,
        },
        r.next_path,
    ))
}

fn api_error(e: WeChatError) -> AppError {
    match e {
        WeChatError::Api { errcode, errmsg } => {
            tracing::info!(errcode, errmsg, "WeChat refused a sign-in code");
            AppError::invalid(
                "code",
                format!("WeChat refused the code (errcode {errcode})"),
            )
        }
        WeChatError::Transport(m) => AppError::Internal(format!("WeChat: {m}")),
    }
}

/// The display name of an account made from a WeChat identity: its nickname, at most 32
/// characters, or 微信用户 when it has none.
fn display_name(nickname: &str) -> String {
    let n: String = nickname.trim().chars().take(32).collect();
    if n.is_empty() {
        "微信用户".to_owned()
    } else {
        n
    }
}

impl App {
    fn wechat(&self) -> AppResult<WeChatClient> {
        self.config
            .wechat
            .clone()
            .map(WeChatClient::new)
            .ok_or(AppError::NotFound("WeChat sign-in"))
    }

    /// Whether WeChat sign-in is configured (the sign-in page shows its button then).
    pub fn wechat_enabled(&self) -> bool {
        self.config.wechat.is_some()
    }

    /// Starts the OAuth flow: a state bound to a new browser secret, ten minutes. Link mode
    /// needs the signed-in principal. `next` is a local path to land on afterwards.
    pub async fn wechat_start(
        &self,
        mode: OAuthMode,
        who: Option<&Principal>,
        next: &str,
    ) -> AppResult<OAuthStart> {
        let client = self.wechat()?;
        let account_id = match (mode, who) {
            (OAuthMode::Link, Some(p)) => Some(p.account_id.clone()),
            (OAuthMode::Link, None) => {
                return Err(AppError::Unauthenticated("log in to link WeChat".into()));
            }
            (OAuthMode::SignIn, _) => None,
        };
        let state = new_secret("");
        let browser_secret = new_secret("");
        let redirect_uri = format!("{}{CALLBACK_PATH}", self.config.public_url);
        let authorize_url = client
            .authorize_url(&redirect_uri, &state)
            .map_err(api_error)?;
        let now = self.now_ms();
        let (sh, bh, next) = (
            sha256_hex(&state),
            sha256_hex(&browser_secret),
            next.to_owned(),
        );
        self.db
            .write(move |c| {
                rows::insert_state(
                    c,
                    &sh,
                    &bh,
                    mode.as_str(),
                    account_id.as_deref(),
                    &next,
                    now + FLOW_TTL_MS,
                )
            })
            .await?;
        Ok(OAuthStart {
            authorize_url,
            browser_secret,
        })
    }

    /// WeChat's redirect back: takes the state (once, from its browser), spends the code
    /// (once), asks WeChat who this is, then signs in, links, or keeps a pending identity.
    /// `who` is the browser's current session (link mode needs the account that started
    /// the flow).
    pub async fn wechat_callback(
        &self,
        code: &str,
        state: &str,
        browser_secret: Option<&str>,
        who: Option<&Principal>,
    ) -> AppResult<CallbackOutcome> {
        let client = self.wechat()?;
        if state.is_empty() || state.len() > 128 {
            return Err(AppError::invalid("state", "is missing"));
        }
        if code.is_empty() || code.len() > 256 {
            return Err(AppError::invalid("code", "is missing"));
        }
        let Some(browser) = browser_secret.filter(|b| !b.is_empty() && b.len() <= 128) else {
            return Err(AppError::invalid(
                "state",
                "this sign-in was not started in this browser",
            ));
        };
        let now = self.now_ms();
        let (sh, bh, ch) = (sha256_hex(state), sha256_hex(browser), sha256_hex(code));
        let app_id = client.app_id().to_owned();
        let (mode, owner, next) = self
            .db
            .write(move |c| {
                let r = rows::lock_state(c, &sh)?
                    .ok_or_else(|| AppError::invalid("state", "is unknown"))?;
                if r.browser_hash != bh {
                    return Err(AppError::invalid(
                        "state",
                        "this sign-in was not started in this browser",
                    ));
                }
                if r.used_at.is_some() {
                    return Err(AppError::invalid("state", "has already been used"));
                }
                if r.expires_at <= now {
                    return Err(AppError::invalid("state", "has expired; start again"));
                }
                rows::mark_state_used(c, &sh, now)?;
                rows::insert_used_code(c, &app_id, &ch, now + FLOW_TTL_MS).unique_as(
                    "oauth_used_codes",
                    &["provider", "app_id", "code_hash"],
                    "code",
                    "has already been used",
                )?;
                let mode = if r.mode == "link" {
                    OAuthMode::Link
                } else {
                    OAuthMode::SignIn
                };
                Ok::<_, AppError>((mode, r.account_id, r.next_path))
            })
            .await
            .map_err(|e| match e {
                // The code's row is written with the state's: a replay fails here.
                AppError::Conflict {
                    field: Some(f),
                    reason,
                } if f == "code" => AppError::invalid("code", reason),
                e => e,
            })?;
        let token = client.exchange_code(code).await.map_err(api_error)?;
        let mut external = External {
            app_id: client.app_id().to_owned(),
            openid: token.openid.clone(),
            unionid: token.unionid.clone().filter(|u| !u.is_empty()),
            nickname: String::new(),
        };
        let userinfo = client.scope() == Scope::UserInfo
            || token.scope.split(',').any(|s| s == "snsapi_userinfo");
        if userinfo {
            let info = client.userinfo(&token).await.map_err(api_error)?;
            external.nickname = info.nickname.chars().take(64).collect();
            if external.unionid.is_none() {
                external.unionid = info.unionid.filter(|u| !u.is_empty());
            }
        }
        drop(token);
        let ttl_ms = self.config.session_ttl_secs * 1000;
        match mode {
            OAuthMode::Link => {
                let account =
                    owner.ok_or_else(|| AppError::Internal("link state without account".into()))?;
                if who.map(|p| p.account_id.as_str()) != Some(account.as_str()) {
                    return Err(AppError::invalid(
                        "state",
                        "this link was started by another session; log in and start again",
                    ));
                }
                self.db
                    .write(move |c| {
                        link(c, now, &external, &account)?;
                        Ok::<_, AppError>(())
                    })
                    .await?;
                Ok(CallbackOutcome::Linked { next })
            }
            OAuthMode::SignIn => {
                let pending = new_secret("kith_p_");
                let ph = sha256_hex(&pending);
                self.db
                    .write(move |c| {
                        if let Some((id, account_id)) = find_identity(c, &external)? {
                            rows::touch_identity(
                                c,
                                &id,
                                now,
                                external.unionid.as_deref(),
                                &external.nickname,
                            )?;
                            let session = accounts::insert_session(c, &account_id, now, ttl_ms)?;
                            return Ok(CallbackOutcome::SignedIn {
                                session: Box::new(session),
                                next: next.clone(),
                            });
                        }
                        rows::insert_pending(
                            c,
                            &ph,
                            &external.app_id,
                            &external.openid,
                            external.unionid.as_deref(),
                            &external.nickname,
                            &next,
                            now + FLOW_TTL_MS,
                        )?;
                        Ok::<_, AppError>(CallbackOutcome::Pending {
                            token: pending.clone(),
                        })
                    })
                    .await
            }
        }
    }

    /// The pending identity behind a 完成登录 page's cookie.
    pub async fn wechat_pending(&self, token: &str) -> AppResult<PendingIdentity> {
        let now = self.now_ms();
        let h = sha256_hex(token);
        self.db
            .read(move |c| {
                let (nickname, next) = rows::live_pending(c, &h, now)?
                    .ok_or(AppError::NotFound("pending WeChat sign-in"))?;
                Ok(PendingIdentity { nickname, next })
            })
            .await
    }

    /// 「创建新账号」: through the sign-up gate, a new account named after the WeChat
    /// nickname, with the pending identity linked, signed in.
    pub async fn wechat_create_account(
        &self,
        token: &str,
        client_addr: &str,
        device: Option<&str>,
        solution: Option<&Solution>,
    ) -> AppResult<(Session, String)> {
        self.wechat_pending(token).await?;
        self.admit_sign_up(client_addr, device, solution).await?;
        let now = self.now_ms();
        let ttl_ms = self.config.session_ttl_secs * 1000;
        let token = token.to_owned();
        self.db
            .write(move |c| {
                let (external, next) = take_pending(c, &token, now)?;
                if find_identity(c, &external)?.is_some() {
                    return Err(AppError::conflict(
                        "wechat",
                        "this WeChat account is already linked to a kith account; sign in with WeChat",
                    ));
                }
                let id = new_id();
                account_rows::insert_wechat_account(c, &id, &display_name(&external.nickname), now)?;
                outbox::emit(c, now, "account.registered", None, &id, &serde_json::json!({ "account_id": id }))?;
                link(c, now, &external, &id)?;
                let session = accounts::insert_session(c, &id, now, ttl_ms)?;
                Ok((session, next))
            })
            .await
    }

    /// 「已有账号？登录后关联」: signs in with the password form (throttled like any login),
    /// then links the pending identity to that account.
    pub async fn wechat_link_pending(
        &self,
        token: &str,
        login: &str,
        password: &str,
        client_addr: &str,
        solution: Option<&Solution>,
    ) -> AppResult<(Session, String)> {
        self.wechat_pending(token).await?;
        let session = self
            .login_solved(login, password, client_addr, solution)
            .await?;
        self.link_pending_to(token, session).await
    }

    /// 「用手机验证码继续」: the number proven by its `login` code signs in — or, when it has
    /// no account, registers one in the same step (the sign-up gate, the WeChat nickname
    /// as its name) — and the pending identity is linked to that account. So a person who
    /// signed up by SMS and later by WeChat keeps one account, and a WeChat sign-up gets
    /// its phone bound at once.
    pub async fn wechat_continue_with_phone(
        &self,
        token: &str,
        phone: &str,
        code: &str,
        client_addr: &str,
        device: Option<&str>,
        solution: Option<&Solution>,
    ) -> AppResult<(Session, String)> {
        let pending = self.wechat_pending(token).await?;
        let session = self
            .sms_login(
                phone,
                code,
                Some(&display_name(&pending.nickname)),
                client_addr,
                device,
                solution,
            )
            .await?;
        self.link_pending_to(token, session).await
    }

    /// Links the pending identity behind `token` to the account `session` signed in, and
    /// hands the session out; when it cannot be linked the session is ended, so nothing
    /// changed but the sign-in that was refused.
    async fn link_pending_to(&self, token: &str, session: Session) -> AppResult<(Session, String)> {
        let now = self.now_ms();
        let token = token.to_owned();
        let account_id = session.account.id.clone();
        let next = self
            .db
            .write(move |c| {
                let (external, next) = take_pending(c, &token, now)?;
                let id = link(c, now, &external, &account_id)?;
                rows::set_last_sign_in(c, &id, now)?;
                Ok::<_, AppError>(next)
            })
            .await;
        match next {
            Ok(next) => Ok((session, next)),
            Err(e) => {
                self.logout(&session.token).await?;
                Err(e)
            }
        }
    }

    /// The caller's external identities, and what unlinking asks for.
    pub async fn identities(&self, who: &Principal) -> AppResult<Identities> {
        let id = who.account_id.clone();
        let since = self.now_ms() - REAUTH_WINDOW_MS;
        self.db
            .read(move |c| {
                let has_password = account_rows::password_hash(c, &id)?.is_some();
                let identities = rows::account_identities(c, &id)?;
                let recent = recent_sign_in(c, &id, since)?;
                Ok(Identities {
                    identities,
                    reauth: if has_password {
                        Reauth::Password
                    } else {
                        Reauth::RecentWechatSignIn
                    },
                    recent_wechat_sign_in: recent,
                })
            })
            .await
    }

    /// Unlinks one of the caller's identities after re-authentication: the password when
    /// the account has one, else a WeChat sign-in within ten minutes. Refused when the
    /// account would have no way in left. Another account's identity is 404.
    pub async fn unlink_identity(
        &self,
        who: &Principal,
        identity_id: &crate::platform::ids::IdentityId,
        password: Option<&str>,
    ) -> AppResult<()> {
        let identity_id = identity_id.clone();
        let account_id = who.account_id.clone();
        let now = self.now_ms();
        let (a, i) = (account_id.clone(), identity_id.clone());
        let stored = self
            .db
            .read(move |c| {
                if !rows::identity_is_accounts(c, &i, &a)? {
                    return Err(AppError::NotFound("identity"));
                }
                account_rows::password_hash(c, &a)
            })
            .await?;
        if let Some(hash) = stored {
            let given = password.unwrap_or_default();
            if given.is_empty() {
                return Err(AppError::invalid("password", "is required to unlink"));
            }
            if !accounts::verify_password(given.to_owned(), Some(hash)).await? {
                return Err(AppError::invalid(
                    "password",
                    "is not this account's password",
                ));
            }
        }
        self.db
            .write(move |c| {
                let (has_password, phone) = account_rows::lock_sign_in_means(c, &account_id)?;
                if !has_password && !recent_sign_in(c, &account_id, now - REAUTH_WINDOW_MS)? {
                    return Err(AppError::Forbidden(
                        "sign in with WeChat again (within 10 minutes) before unlinking".into(),
                    ));
                }
                let others = rows::count_other_identities(c, &account_id, &identity_id)?;
                if !has_password && phone.is_none() && others == 0 {
                    return Err(AppError::conflict(
                        "identity",
                        "this is the account's only way to sign in; set a password or link another way first",
                    ));
                }
                if !rows::delete_identity(c, &identity_id, &account_id)? {
                    return Err(AppError::NotFound("identity"));
                }
                outbox::emit(
                    c,
                    now,
                    "account.identity_unlinked",
                    None,
                    &account_id,
                    &serde_json::json!({ "account_id": account_id, "identity_id": identity_id, "provider": WECHAT }),
                )?;
                Ok(())
            })
            .await
    }

    /// Deletes expired states, spent codes and pending identities.
    pub(crate) async fn identities_sweep(&self) -> AppResult<u64> {
        let now = self.now_ms();
        self.db.write(move |c| rows::sweep_flows(c, now)).await
    }
}
