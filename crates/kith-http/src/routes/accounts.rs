use axum::Json;
use axum::extract::{FromRequest, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use kith_app::AppError;
use kith_app::platform::accounts::{Account, Me, Registration, Session};
use kith_app::platform::challenge::Solution;
use kith_app::platform::identities::Identities;
use kith_app::platform::sms::CodePurpose;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, Auth, ClientAddr, MaybeAuth, SESSION_COOKIE, session_token};
use crate::ids::IdentityId;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(identities))
        .routes(routes!(unlink_identity))
        .routes(routes!(request_sms_code))
        .routes(routes!(sms_login))
        .routes(routes!(set_password))
        .routes(routes!(bind_phone))
        .routes(routes!(set_avatar))
}

/// The `Set-Cookie` of a new session.
fn session_cookie(s: &AppState, session: &Session) -> HeaderMap {
    let max_age = s.app.config.session_ttl_secs;
    let secure = if s.http.cookie_secure { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        session.token
    );
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.insert(header::SET_COOKIE, v);
    }
    headers
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsCodeBody {
    /// A mainland China mobile number.
    #[schema(pattern = "^(\\+86|0086|86)?1[3-9][0-9]{9}$")]
    pub phone: String,
    /// `login` (sign in, or register when the number is new) or `bind` (prove a number
    /// for the signed-in caller).
    pub purpose: CodePurpose,
}

/// The answer to asking for a code: the same for every number.
#[derive(Debug, Serialize, ToSchema)]
pub struct SmsCodeSent {
    /// Always `true`: the answer never says whether the number has an account.
    pub accepted: bool,
    /// How long the code works.
    pub expires_in_secs: i64,
    /// When another code may be asked for this number.
    pub resend_after_secs: i64,
}

/// Ask for a 6-digit code by SMS. The answer is 202 with the same body whether or not the
/// number has an account. One request a minute and ten a day per number, and a limit per
/// client address (429 with `Retry-After`); `bind` needs a signed-in caller. 503 when
/// this server has no SMS provider or the provider failed.
#[utoipa::path(post, path = "/api/v1/auth/sms-codes", tag = "accounts", request_body = SmsCodeBody,
    responses((status = 202, body = SmsCodeSent), (status = 401, body = Problem), (status = 422, body = Problem),
        (status = 429, description = "wait Retry-After", body = Problem), (status = 503, body = Problem)))]
async fn request_sms_code(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    MaybeAuth(who): MaybeAuth,
    ApiJson(b): ApiJson<SmsCodeBody>,
) -> ApiResult<(StatusCode, Json<SmsCodeSent>)> {
    if b.purpose == CodePurpose::Bind && who.is_none() {
        return Err(AppError::Unauthenticated("sign in to bind a phone".into()).into());
    }
    s.app.request_sms_code(&b.phone, b.purpose, &addr).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SmsCodeSent {
            accepted: true,
            expires_in_secs: kith_app::platform::sms::otp::CODE_TTL_MS / 1000,
            resend_after_secs: 60,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsLoginBody {
    pub phone: String,
    /// The 6 digits received.
    pub code: String,
    /// For a new number: the name shown to other members (1–32 characters; default
    /// `用户` and the number's last four digits).
    pub display_name: Option<String>,
    /// A solved challenge, when a `challenge-required` answer asked for one.
    pub challenge: Option<Solution>,
}

/// Sign in with a phone and the code it received; a number without an account registers
/// in the same step (through the same sign-up limits as `POST /accounts`) and has no
/// password until one is set (`PUT /me/password`). Returns a session like `POST /sessions`.
/// A code works once, for five minutes and five tries.
#[utoipa::path(post, path = "/api/v1/auth/sms-login", tag = "accounts", request_body = SmsLoginBody,
    responses((status = 201, body = Session), (status = 401, description = "wrong, expired or used code", body = Problem),
        (status = 422, body = Problem), (status = 429, description = "solve the challenge, or wait Retry-After", body = Problem)))]
async fn sms_login(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(b): ApiJson<SmsLoginBody>,
) -> ApiResult<impl IntoResponse> {
    let session = s
        .app
        .sms_login(
            &b.phone,
            &b.code,
            b.display_name.as_deref(),
            &addr,
            None,
            b.challenge.as_ref(),
        )
        .await?;
    let headers = session_cookie(&s, &session);
    Ok((StatusCode::CREATED, headers, Json(session)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    /// The password now; not needed by an account that has none (made by SMS code).
    pub current_password: Option<String>,
    /// 8–128 characters, not easy to guess.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// Set or change the caller's password.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "accounts", request_body = PasswordBody, security(("bearer" = [])),
    responses((status = 204, description = "password set"), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn set_password(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(b): ApiJson<PasswordBody>,
) -> ApiResult<StatusCode> {
    s.app
        .set_password(&p, b.current_password.as_deref(), &b.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneBody {
    /// The mainland mobile number to bind.
    pub phone: String,
    /// The 6 digits sent to it for `bind` (`POST /auth/sms-codes` with `purpose: bind`).
    pub code: String,
}

/// Bind a phone to the caller's account, or replace the one it has, proven by a `bind`
/// code sent to that number. 409 on `phone` when the number is another account's.
#[utoipa::path(put, path = "/api/v1/me/phone", tag = "accounts", request_body = PhoneBody, security(("bearer" = [])),
    responses((status = 200, body = Account), (status = 401, description = "not signed in, or a wrong, expired or used code", body = Problem),
        (status = 409, description = "the number is another account's", body = Problem), (status = 422, body = Problem)))]
async fn bind_phone(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(b): ApiJson<PhoneBody>,
) -> ApiResult<Json<Account>> {
    Ok(Json(s.app.bind_phone(&p, &b.phone, &b.code).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvatarBody {
    /// The id of an image the caller uploaded (`POST /api/v1/media`); `null` or `""`
    /// removes the avatar.
    #[schema(max_length = 64)]
    pub media_id: Option<String>,
}

/// Set or remove the caller's avatar. Only an image the caller uploaded is accepted (422
/// on `media_id` otherwise).
#[utoipa::path(put, path = "/api/v1/me/avatar", tag = "accounts", request_body = AvatarBody, security(("bearer" = [])),
    responses((status = 200, body = Account), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn set_avatar(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(b): ApiJson<AvatarBody>,
) -> ApiResult<Json<Account>> {
    Ok(Json(s.app.set_avatar(&p, b.media_id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// A mainland China mobile number (`13812345678`, `+86 138 1234 5678`).
    pub phone: Option<String>,
    pub email: Option<String>,
    /// 8–128 characters.
    pub password: String,
    /// 1–32 characters, shown to other members.
    pub display_name: String,
    /// The 6 digits sent to `phone` for `login` (`POST /auth/sms-codes`): required on a
    /// server that asks sign-ups to prove their number (the default with an SMS provider).
    pub code: Option<String>,
    /// A solved challenge, when a `challenge-required` answer asked for one.
    pub challenge: Option<Solution>,
}

/// Register a member account (phone or email, and a password). On a server that asks
/// sign-ups to prove their number, a phone and its `login` code are required, and a wrong
/// code is 401 whether or not the number has an account: only its holder learns that
/// (409). Past a few sign-ups from one address in an hour, each must carry a solved
/// challenge (429 `challenge-required` carries one); past `signups_per_hour`, none is
/// taken (429 with `Retry-After`).
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = RegisterBody,
    responses((status = 201, body = Account), (status = 401, description = "wrong, expired or used code", body = Problem), (status = 409, description = "phone or email already registered", body = Problem), (status = 422, body = Problem),
        (status = 429, description = "solve the challenge in the answer, or wait Retry-After", body = Problem)))]
async fn register(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(b): ApiJson<RegisterBody>,
) -> ApiResult<(StatusCode, Json<Account>)> {
    s.app
        .admit_sign_up(&addr, None, b.challenge.as_ref())
        .await?;
    let account = s
        .app
        .register(Registration {
            phone: b.phone,
            email: b.email,
            password: b.password,
            display_name: b.display_name,
            code: b.code,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(account)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// The phone number or email registered.
    pub login: String,
    pub password: String,
    /// A solved challenge, when a `challenge-required` answer asked for one.
    pub challenge: Option<Solution>,
}

/// Log in. Returns a bearer token and sets the `kith_session` cookie (HttpOnly,
/// SameSite=Lax) for the web pages. After ten failures for a login in 15 minutes (or fifty
/// from one address), each attempt must carry a solved challenge: the answer is 429
/// `challenge-required` with the challenge to solve, never a lock-out of the right password.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "accounts", request_body = LoginBody,
    responses((status = 201, body = Session), (status = 401, body = Problem), (status = 422, body = Problem),
        (status = 429, description = "solve the challenge in the answer and try again", body = Problem)))]
async fn login(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(b): ApiJson<LoginBody>,
) -> ApiResult<impl IntoResponse> {
    let session = s
        .app
        .login_solved(&b.login, &b.password, &addr, b.challenge.as_ref())
        .await?;
    let headers = session_cookie(&s, &session);
    Ok((StatusCode::CREATED, headers, Json(session)))
}

/// Log out: ends the current session and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "accounts", security(("bearer" = [])),
    responses((status = 204, description = "logged out"), (status = 401, body = Problem)))]
async fn logout(
    State(s): State<AppState>,
    _auth: Auth,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    if let Some((token, _)) = session_token(&headers) {
        s.app.logout(&token).await?;
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_static("kith_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok((StatusCode::NO_CONTENT, headers))
}

/// The caller's account, and the merchants and stores they work for.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
async fn me(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Me>> {
    Ok(Json(s.app.me(&p).await?))
}

/// The caller's linked sign-in identities (WeChat), and how unlinking one re-authenticates:
/// `password`, or for an account without one `recent_wechat_sign_in` (a WeChat sign-in in
/// the last ten minutes). No openid, unionid or token is shown.
#[utoipa::path(get, path = "/api/v1/me/identities", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Identities), (status = 401, body = Problem)))]
async fn identities(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Identities>> {
    Ok(Json(s.app.identities(&p).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnlinkBody {
    /// The account's current password (required when the account has one).
    pub password: Option<String>,
}

/// Unlink one of the caller's identities. Re-authentication: the current `password`, or,
/// for an account without a password, a WeChat sign-in within the last ten minutes (403
/// otherwise; the body may then be left out). Refused (409) when the account would be left with no way to sign in (no
/// password, no phone, no other identity); another account's identity is 404.
#[utoipa::path(delete, path = "/api/v1/me/identities/{identity_id}", tag = "accounts",
    params(IdentityId), request_body = UnlinkBody, security(("bearer" = [])),
    responses((status = 204, description = "unlinked"), (status = 401, body = Problem),
        (status = 403, description = "sign in with WeChat again first", body = Problem),
        (status = 404, body = Problem), (status = 409, description = "it is the only way to sign in", body = Problem),
        (status = 422, description = "password missing or wrong", body = Problem)))]
async fn unlink_identity(
    State(s): State<AppState>,
    Auth(p): Auth,
    id: IdentityId,
    req: axum::extract::Request,
) -> ApiResult<StatusCode> {
    // No body at all (no Content-Type, nothing sent) is an unlink without a password.
    let sent = req.headers().contains_key(header::CONTENT_TYPE)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    let password = if sent {
        let ApiJson(b) = ApiJson::<UnlinkBody>::from_request(req, &s).await?;
        b.password
    } else {
        None
    };
    s.app.unlink_identity(&p, &id, password.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
