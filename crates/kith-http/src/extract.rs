//! Extractors that turn requests into typed input or a problem document: JSON bodies that
//! name the offending field, the authenticated principal (bearer token or session cookie,
//! the cookie only with a same-origin check against cross-site request forgery), the
//! client address, page parameters, and path segments that are not ids.

use std::net::SocketAddr;

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
                if status == StatusCode::PAYLOAD_TOO_LARGE {
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

async fn resolve(parts: &Parts, state: &AppState) -> Result<Option<Principal>, ApiError> {
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

/// The peer's IP address (the key of per-address login throttling). kith does not trust
/// `X-Forwarded-For`; behind a proxy, every client shares the proxy's address.
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| "unknown".to_owned(), |ci| ci.0.ip().to_string()),
        ))
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
