//! Extractors that turn requests into typed input or a problem document: JSON bodies that
//! name the offending field, the authenticated principal (bearer token or session cookie,
//! the cookie only with a same-origin check against cross-site request forgery), the
//! client address, page parameters, and path segments that are not ids.

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use kith_app::Principal;
use serde::de::DeserializeOwned;

use crate::problem::{self, ApiError, Problem};
use crate::state::AppState;

/// Name of the session cookie used by the web pages.
pub const SESSION_COOKIE: &str = "kith_session";

/// A JSON body. Malformed JSON → 400; a wrong type, a missing or unknown field, or an
/// unknown enum value → 422 naming the field by its path (`opening_hours[0].weekday`);
/// a non-JSON content type → 415.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                let ct = ct
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                ct == "application/json"
                    || (ct.starts_with("application/") && ct.ends_with("+json"))
            });
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as application/json",
            )
            .with_field("Content-Type")
            .into());
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                let status = e.status();
                if is_body_timeout(&e) {
                    body_timeout_problem()
                } else if status == StatusCode::PAYLOAD_TOO_LARGE {
                    Problem::new(
                        status,
                        "payload-too-large",
                        "Payload too large",
                        "the request body is larger than allowed",
                    )
                } else {
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        "malformed-body",
                        "Malformed body",
                        e.body_text(),
                    )
                }
            })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Did reading the body fail because the client stopped sending it
/// ([`crate::serve`]'s body timeout)?
pub fn is_body_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// The answer to a body that stopped arriving.
pub fn body_timeout_problem() -> Problem {
    Problem::new(
        StatusCode::REQUEST_TIMEOUT,
        "request-timeout",
        "Request timeout",
        "the request body stopped arriving; send it again",
    )
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed-json",
                "Malformed JSON",
                format!("the body is not valid JSON: {inner}"),
            )
            .into(),
            Category::Data => {
                // serde reports a missing field at the parent path; name the field itself.
                let msg = inner.to_string();
                let field = missing_field(&msg)
                    .map(|f| {
                        if path == "." {
                            f.to_owned()
                        } else {
                            format!("{path}.{f}")
                        }
                    })
                    .unwrap_or_else(|| if path == "." { "body".to_owned() } else { path });
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation",
                    "Invalid input",
                    format!("{field}: {msg}"),
                )
                .with_field(field)
                .into()
            }
        }
    })
}

fn missing_field(msg: &str) -> Option<&str> {
    let rest = msg.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// The authenticated caller. 401 without valid credentials.
pub struct Auth(pub Principal);

/// The caller if authenticated; public endpoints show more to staff.
pub struct MaybeAuth(pub Option<Principal>);

/// The raw session token of the request, for logout.
pub fn session_token(headers: &axum::http::HeaderMap) -> Option<(String, bool)> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(t) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
    {
        return Some((t.trim().to_owned(), false));
    }
    for cookies in headers.get_all(header::COOKIE) {
        let Ok(s) = cookies.to_str() else { continue };
        for c in s.split(';') {
            if let Some((k, v)) = c.trim().split_once('=')
                && k == SESSION_COOKIE
                && !v.is_empty()
            {
                return Some((v.to_owned(), true));
            }
        }
    }
    None
}

/// A cookie-authenticated request that changes state must come from our own pages:
/// browsers send `Sec-Fetch-Site`, older ones at least `Origin`.
fn same_origin(parts: &Parts) -> bool {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let h = &parts.headers;
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    match (
        h.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        h.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some(origin), Some(host)) => origin.split_once("://").is_some_and(|(_, o)| o == host),
        // No browser headers at all: not a browser, so not a forged cross-site form.
        (None, _) => true,
        _ => false,
    }
}

/// A principal already resolved for this request (by the idempotency layer).
#[derive(Clone)]
struct Resolved(Principal);

/// Resolves the caller and keeps the answer in the request, so a later `Auth` does not
/// look the session up again. `None` when anonymous or refused (the handler's own
/// extractor then gives the refusal).
pub(crate) async fn resolve_into(parts: &mut Parts, state: &AppState) -> Option<Principal> {
    let p = resolve(parts, state).await.ok().flatten()?;
    parts.extensions.insert(Resolved(p.clone()));
    Some(p)
}

async fn resolve(parts: &Parts, state: &AppState) -> Result<Option<Principal>, ApiError> {
    if let Some(Resolved(p)) = parts.extensions.get::<Resolved>() {
        return Ok(Some(p.clone()));
    }
    let Some((token, from_cookie)) = session_token(&parts.headers) else {
        return Ok(None);
    };
    if from_cookie && !same_origin(parts) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "Cross-site request refused",
            "a cookie-authenticated change must come from kith's own pages",
        )
        .into());
    }
    Ok(Some(state.app.authenticate(&token).await?))
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match resolve(parts, state).await? {
            Some(p) => Ok(Auth(p)),
            None => Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                "send Authorization: Bearer <token> (from POST /api/v1/sessions)",
            )
            .into()),
        }
    }
}

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        resolve(parts, state).await.map(MaybeAuth)
    }
}

/// The proxies whose `X-Forwarded-For` kith believes (`--trusted-proxies`): addresses or
/// CIDR blocks. Empty by default, so a client cannot name its own address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    /// Parses `10.0.0.0/8, 127.0.0.1, ::1` (addresses or CIDR blocks, comma-separated).
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<ipnet::IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| format!("`{s}` is not an IP address or CIDR block"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer itself unless the peer is a trusted proxy; then the
    /// nearest address in `X-Forwarded-For` (read from the right, as each proxy appends
    /// the address it saw) that is not itself a trusted proxy. A malformed entry ends the
    /// walk at the last address a trusted proxy vouched for, so a client cannot smuggle
    /// an address past one.
    pub fn client_ip(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                break;
            };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`, what a dual-stack socket reports) as the
/// IPv4 address they are, so one client is one key.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client address of a request, as [`client_ip_layer`] resolved it.
#[derive(Debug, Clone, Copy)]
struct ResolvedClient(IpAddr);

/// Resolves every request's client address once, against the trusted proxies, before the
/// API and the pages see it. Installed around the whole server (`kith serve`).
pub async fn client_ip_layer(
    axum::extract::State(trusted): axum::extract::State<std::sync::Arc<TrustedProxies>>,
    mut req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(peer) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    {
        let ip = trusted.client_ip(peer, req.headers());
        req.extensions_mut().insert(ResolvedClient(ip));
    }
    next.run(req).await
}

/// The client's IP address (the key of per-address throttling): the peer's, or behind a
/// trusted proxy the one it forwarded ([`TrustedProxies`]).
pub struct ClientAddr(pub String);

impl ClientAddr {
    pub fn of(parts: &Parts) -> Self {
        let ip = parts
            .extensions
            .get::<ResolvedClient>()
            .map(|r| r.0)
            .or_else(|| {
                parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|ci| canonical(ci.0.ip()))
            });
        ClientAddr(ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts))
    }
}

/// A path segment that is not an id (a share code, a provider, a tier code): axum's `Path`,
/// read by name, with its refusals as problem documents rather than plain text. A segment
/// that is not UTF-8 once percent-decoded names nothing: 404 naming the parameter, as ids
/// answer (see [`crate::ids`]). Ids themselves are read with the types in `crate::ids`.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(ApiPath(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                use axum::extract::path::ErrorKind;
                let key = match e.kind() {
                    ErrorKind::InvalidUtf8InPathParam { key } => {
                        return Err(Problem::new(
                            StatusCode::NOT_FOUND,
                            "not-found",
                            "Not found",
                            format!("{key} not found"),
                        )
                        .with_field(key.clone())
                        .into());
                    }
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::DeserializeError { key, .. } => Some(key.clone()),
                    _ => None,
                };
                if e.status().is_server_error() {
                    return Err(problem::internal(&e.body_text()).into());
                }
                let p = Problem::new(
                    StatusCode::BAD_REQUEST,
                    "malformed-path",
                    "Malformed path",
                    e.body_text(),
                );
                Err(match key {
                    Some(k) => p.with_field(k),
                    None => p,
                }
                .into())
            }
            // The route has no such parameters: our bug, not the client's.
            Err(e) => Err(problem::internal(&e.body_text()).into()),
        }
    }
}

/// `?limit=&cursor=` on every list endpoint.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn parse(&self) -> Result<kith_app::platform::page::PageRequest, ApiError> {
        Ok(kith_app::platform::page::PageRequest::parse(
            self.limit,
            self.cursor.as_deref(),
        )?)
    }
}

/// Query strings parsed like bodies: a bad value → 422 naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let field = e.path().to_string();
                let detail = e.inner().to_string();
                let field = missing_field(&detail)
                    .map(str::to_owned)
                    .unwrap_or(if field == "." { "query".into() } else { field });
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation",
                    "Invalid input",
                    format!("{field}: {detail}"),
                )
                .with_field(field)
                .into()
            })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        use axum::http::HeaderMap;
        let trusted = super::TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let xff = |v: &[&str]| {
            let mut h = HeaderMap::new();
            for x in v {
                h.append("x-forwarded-for", x.parse().unwrap());
            }
            h
        };
        // An untrusted peer is the client, whatever it claims.
        assert_eq!(
            trusted.client_ip(ip("8.8.8.8"), &xff(&["1.2.3.4"])),
            ip("8.8.8.8")
        );
        // Behind one proxy: the address it appended.
        assert_eq!(
            trusted.client_ip(ip("10.0.0.5"), &xff(&["1.2.3.4"])),
            ip("1.2.3.4")
        );
        // A client-forged first entry is skipped: the rightmost untrusted hop counts.
        assert_eq!(
            trusted.client_ip(ip("10.0.0.5"), &xff(&["6.6.6.6, 1.2.3.4", "10.0.0.9"])),
            ip("1.2.3.4")
        );
        // Garbage ends the walk at the last vouched address; none at all: the proxy.
        assert_eq!(
            trusted.client_ip(ip("127.0.0.1"), &xff(&["evil, 10.1.1.1"])),
            ip("10.1.1.1")
        );
        assert_eq!(
            trusted.client_ip(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
        // A dual-stack socket's mapped form is the IPv4 address.
        assert_eq!(
            trusted.client_ip(ip("::ffff:10.0.0.5"), &xff(&["1.2.3.4"])),
            ip("1.2.3.4")
        );
        assert!(super::TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(super::TrustedProxies::parse("").unwrap().0.is_empty());
    }

    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn code(ApiPath(code): ApiPath<String>) -> String {
        code
    }

    #[tokio::test]
    async fn a_path_segment_that_is_not_utf8_is_a_problem_document() {
        let app = Router::new().route("/s/{code}/visits", get(code));
        let call = |uri: &'static str| {
            let app = app.clone();
            async move {
                let res = app
                    .oneshot(Request::get(uri).body(Body::empty()).unwrap())
                    .await
                    .unwrap();
                let status = res.status();
                let ct = res.headers().get(header::CONTENT_TYPE).cloned();
                let body = axum::body::to_bytes(res.into_body(), 1 << 16)
                    .await
                    .unwrap();
                (status, ct, body)
            }
        };
        let (status, _, body) = call("/s/%E7%BE%8A/visits").await;
        assert_eq!((status, &body[..]), (StatusCode::OK, "羊".as_bytes()));
        let (status, ct, body) = call("/s/%FF%FE/visits").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(ct.unwrap(), "application/problem+json");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["type"], "/problems/not-found");
        assert_eq!(v["detail"], "code not found");
        assert_eq!(v["field"], "code");
    }
}
