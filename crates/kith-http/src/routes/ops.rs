use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::problem::Problem;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi))
        .routes(routes!(reference))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
    /// `sqlite` or `postgres`.
    pub engine: &'static str,
}

/// Liveness: the process answers. Does not touch storage.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
async fn healthz(State(s): State<AppState>) -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        engine: s.app.db.engine().as_str(),
    })
}

/// Readiness: storage answers a query. 503 while it does not.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, body = Health), (status = 503, body = Problem)))]
async fn readyz(State(s): State<AppState>) -> axum::response::Response {
    match s.app.db.ping().await {
        Ok(()) => axum::Json(Health {
            status: "ready",
            version: env!("CARGO_PKG_VERSION"),
            engine: s.app.db.engine().as_str(),
        })
        .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Not ready",
                "storage does not answer",
            )
            .into_response()
        }
    }
}

/// Prometheus metrics in the text exposition format. Besides the request metrics, the
/// storage layer's counts since the process started: `kith_db_statements_total`,
/// `kith_db_units_total{kind="read"|"write"}` (units of work), `kith_db_commits_total` and
/// `kith_db_round_trips_total` (exchanges with PostgreSQL; 0 on SQLite), and
/// `kith_db_sqlite_maps_total{kind="kept"|"dropped"}` (SQLite read transactions after
/// another connection's commit that kept or dropped their memory map of the database file;
/// 0 on PostgreSQL).
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, content_type = "text/plain", body = String)))]
async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let db = kith_store::stats::counters();
    metrics::counter!("kith_db_statements_total").absolute(db.statements);
    metrics::counter!("kith_db_units_total", "kind" => "read").absolute(db.reads);
    metrics::counter!("kith_db_units_total", "kind" => "write").absolute(db.writes);
    metrics::counter!("kith_db_commits_total").absolute(db.commits);
    metrics::counter!("kith_db_round_trips_total").absolute(db.round_trips);
    metrics::counter!("kith_db_sqlite_maps_total", "kind" => "kept").absolute(db.maps_kept);
    metrics::counter!("kith_db_sqlite_maps_total", "kind" => "dropped").absolute(db.maps_dropped);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "ops", responses((status = 200, content_type = "application/json", body = Object)))]
async fn openapi(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        s.openapi_json.as_str().to_owned(),
    )
}

/// The human API reference, rendered from the OpenAPI document (no external assets).
#[utoipa::path(get, path = "/api/docs", tag = "ops", responses((status = 200, content_type = "text/html", body = String)))]
async fn reference(State(s): State<AppState>) -> Html<String> {
    Html(s.reference_html.as_str().to_owned())
}
