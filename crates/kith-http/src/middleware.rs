//! Cross-cutting request handling: `Idempotency-Key` replay for authenticated POSTs, and
//! request metrics.

use std::time::Instant;

use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kith_app::platform::idempotency::Begin;
use sha2::{Digest, Sha256};

use crate::problem::{ApiError, Problem};
use crate::state::AppState;

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// For a POST with an `Idempotency-Key` from an authenticated caller, on a route that
/// exists: the first response (unless a 5xx) is stored and replayed, marked
/// `Idempotent-Replayed: true`, for the same key and account within the TTL; the same key
/// with a different method, path or body is refused with 422.
///
/// It runs after routing (a `route_layer`), so an unknown path costs nothing, and it
/// authenticates before it reads a byte of the body, so an anonymous caller's key is
/// ignored (anonymous POSTs — sign-up, login, signed callbacks — have their own guards) and
/// nothing is buffered or stored for it. The body is buffered within the route's own limit.
pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req
        .headers()
        .get(IDEMPOTENCY_HEADER)
        .map(|v| v.to_str().map(str::to_owned))
    else {
        return next.run(req).await;
    };
    let (mut parts, body) = req.into_parts();
    let principal = match authenticated(&mut parts, &state).await {
        Some(p) => p,
        None => return next.run(Request::from_parts(parts, body)).await,
    };
    let Ok(key) = key else {
        return ApiError::from(kith_app::AppError::invalid(
            "Idempotency-Key",
            "must be visible ASCII",
        ))
        .into_response();
    };
    let scope = format!("account:{}", principal.account_id);
    // The route's own limit: media uploads take more than the rest.
    let cap = match parts
        .extensions
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
    {
        Some(crate::routes::media::UPLOAD_PATH) => kith_app::social::media::MAX_UPLOAD_BYTES,
        _ => state.http.body_limit_bytes,
    };
    let bytes = match to_bytes(body, cap).await {
        Ok(b) => b,
        Err(e) if crate::extract::is_body_timeout(&e) => {
            return crate::extract::body_timeout_problem().into_response();
        }
        Err(_) => {
            return Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
                "the request body is larger than allowed",
            )
            .into_response();
        }
    };
    let mut h = Sha256::new();
    h.update(parts.method.as_str().as_bytes());
    h.update(b" ");
    h.update(parts.uri.to_string().as_bytes());
    h.update(b"\n");
    h.update(&bytes);
    let request_hash = hex::encode(h.finalize());
    match state
        .app
        .idempotency_begin(&scope, &key, &request_hash)
        .await
    {
        Err(e) => ApiError::from(e).into_response(),
        Ok(Begin::Replay {
            status,
            content_type,
            body,
        }) => {
            let mut res = Response::new(Body::from(body));
            *res.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            if let Some(ct) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
                res.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            res.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            res
        }
        Ok(Begin::Fresh) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            let res = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (parts, body) = res.into_parts();
            // Our own responses are small JSON documents; the bound only guards memory.
            let body = match to_bytes(body, 16 * 1024 * 1024).await {
                Ok(b) => b,
                Err(e) => return crate::problem::internal(&e).into_response(),
            };
            let ct = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if let Err(e) = state
                .app
                .idempotency_finish(&scope, &key, parts.status.as_u16(), ct, body.to_vec())
                .await
            {
                tracing::error!(error = %e, "could not store the idempotent response");
            }
            Response::from_parts(parts, Body::from(body))
        }
    }
}

/// The caller, when the request authenticates (the same checks as the `Auth` extractor,
/// whose work is then not repeated: the principal rides along in the request).
async fn authenticated(
    parts: &mut axum::http::request::Parts,
    state: &AppState,
) -> Option<kith_app::Principal> {
    crate::extract::resolve_into(parts, state).await
}

/// Counts requests and their latency by method, matched route and status.
pub async fn metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("kith_http_requests_total", &labels).increment(1);
    metrics::histogram!("kith_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    res
}
