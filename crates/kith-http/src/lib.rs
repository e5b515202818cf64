//! # kith-http
//!
//! The HTTP face: the JSON API under `/api/v1`, its OpenAPI 3.1 document and a reference
//! page rendered from it, health, readiness and Prometheus metrics.
//!
//! ## Layout
//! - [`routes`]: one module per area; handlers parse, call one `kith_app` use case, shape
//!   the answer.
//! - [`extract`]: JSON bodies and queries that name the offending field, the principal
//!   (bearer token, or session cookie with a same-origin check), the client address.
//! - [`ids`]: ids in the path (`OrderId`, `MerchantId`, …), checked to be UUIDs before a
//!   handler runs, and documented as such by the same type.
//! - [`problem`]: the one mapping from errors to RFC 9457 problem documents.
//! - [`middleware`]: `Idempotency-Key` replay for POSTs, request metrics.
//! - [`reference`]: the human API reference, rendered from the OpenAPI document.
//!
//! Architecture invariant: no SQL and no business rule here. Every decision about who may
//! do what to which resource is made in `kith_app`, inside the use case's transaction.

pub mod extract;
pub mod ids;
pub mod middleware;
pub mod problem;
pub mod reference;
pub mod routes;
pub mod state;

use std::future::Future;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use kith_app::App;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

pub use state::{AppState, HttpConfig};

use crate::problem::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kith API",
        description = "kith is a self-hostable community commerce engine. Every error is an RFC 9457 problem document (application/problem+json) naming the offending `field`. Authenticate with `Authorization: Bearer <token>` from `POST /api/v1/sessions`. POST requests accept an `Idempotency-Key` header: the first response is replayed for 24 h. Lists are cursor-paginated (`limit` ≤ 100, `cursor` = previous `next_cursor`). Webhooks are signed: `Kith-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, \"<t>.<body>\")>`.",
    ),
    modifiers(&Security),
    components(schemas(Problem))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A session token from POST /api/v1/sessions"))
                    .build(),
            ),
        );
        openapi.tags = Some(
            routes::TAGS
                .iter()
                .map(|(name, desc)| {
                    TagBuilder::new()
                        .name(*name)
                        .description(Some(*desc))
                        .build()
                })
                .collect(),
        );
    }
}

/// Every route with its documentation, before state is attached.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::accounts::router())
        .merge(routes::addresses::router())
        .merge(routes::merchants::router())
        .merge(routes::tiers::router())
        .merge(routes::coupons::router())
        .merge(routes::activities::router())
        .merge(routes::points::router())
        .merge(routes::stores::router())
        .merge(routes::catalog::router())
        .merge(routes::inventory::router())
        .merge(routes::webhooks::router())
        .merge(routes::orders::router())
        .merge(routes::aftersales::router())
        .merge(routes::payments::router())
        .merge(routes::tracking::router())
        .merge(routes::sandbox_payouts::router())
        .merge(routes::rails::router())
        .merge(routes::reconcile::router())
        .merge(routes::settlement::router())
        .merge(routes::relationships::router())
        .merge(routes::communities::router())
        .merge(routes::posts::router())
        .merge(routes::media::router())
        .merge(routes::reviews::router())
        .merge(routes::search::router())
        .merge(routes::discovery::router())
        .merge(routes::notifications::router())
        .merge(routes::insight::router())
        .merge(routes::sharing::router())
        .merge(routes::group_buy::router())
        .merge(routes::neighbourhood::router())
        .merge(routes::commissions::router())
        .merge(routes::ops::router())
}

/// The OpenAPI document of this build.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}

/// One recorder per process (the `metrics` facade is global); every server built in this
/// process (tests build many) renders from it.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; metrics then go there.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Builds the whole HTTP application for `app`.
pub fn router(app: App, http: HttpConfig) -> Router {
    let (router, doc) = api().split_for_parts();
    let spec = serde_json::to_value(&doc).unwrap_or_default();
    let state = AppState::new(state::Shared {
        app,
        http: Arc::new(http.clone()),
        metrics: metrics_handle(),
        openapi_json: Arc::new(serde_json::to_string_pretty(&spec).unwrap_or_default()),
        reference_html: Arc::new(reference::render(&spec)),
    });
    let request_id = HeaderName::from_static("x-request-id");
    router
        // Route layers run after routing, for routes that exist: idempotency inside metrics.
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), middleware::idempotency))
        .route_layer(axum::middleware::from_fn(middleware::metrics))
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(http.body_limit_bytes))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            problem::internal(&"a handler panicked").into_response()
        }))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"),
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
            })
            .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// The API's answer to a path nothing serves (the server's fallback, unless the pages'
/// takes it first for browsers).
pub async fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        "no such endpoint; see /api/docs",
    )
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting and lets
/// in-flight requests finish. The one way kith serves HTTP: `kith serve` and the tests
/// both come here.
///
/// Slow clients cannot hold connections: a request's header must arrive within
/// `header_timeout` (then the connection is closed), and a body that pauses longer than
/// `body_timeout` between two pieces fails the request with 408. Every request carries the
/// peer address (`ConnectInfo`) and, resolved against `trusted_proxies`, the client's.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    http: &HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let router = router.layer(axum::middleware::from_fn_with_state(
        Arc::new(http.trusted_proxies.clone()),
        extract::client_ip_layer,
    ));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let (header_timeout, body_timeout) = (http.header_timeout, http.body_timeout);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: keep
                    // serving the others, without spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let mut req = req.map(|body| {
                    axum::body::Body::new(tower_http::timeout::TimeoutBody::new(body_timeout, body))
                });
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                tower::ServiceExt::oneshot(router.clone(), req)
            });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
