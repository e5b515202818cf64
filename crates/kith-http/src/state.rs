//! What every handler can reach.

use std::sync::Arc;

use kith_app::App;
use metrics_exporter_prometheus::PrometheusHandle;

/// Settings of the HTTP face itself.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes (413 beyond it).
    pub body_limit_bytes: usize,
    /// Mark the session cookie `Secure` (set when kith is served over HTTPS).
    pub cookie_secure: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit_bytes: 1024 * 1024,
            cookie_secure: false,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub http: Arc<HttpConfig>,
    pub metrics: PrometheusHandle,
    /// The OpenAPI document and its human rendering, built once at start-up.
    pub openapi_json: Arc<String>,
    pub reference_html: Arc<String>,
}
