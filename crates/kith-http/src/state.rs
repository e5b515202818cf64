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
    /// Proxies whose `X-Forwarded-For` names the client ([`crate::extract::TrustedProxies`]).
    pub trusted_proxies: crate::extract::TrustedProxies,
    /// A connection must send a request's whole header within this time, or it is closed.
    pub header_timeout: std::time::Duration,
    /// A request body may pause this long between two pieces, or the request fails (408).
    pub body_timeout: std::time::Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit_bytes: 1024 * 1024,
            cookie_secure: false,
            trusted_proxies: crate::extract::TrustedProxies::default(),
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// What every handler can reach, behind one `Arc`: axum clones the state for every handler
/// and middleware that takes it, several times a request, and a clone of the fields one by
/// one was about fifteen atomic reference counts up and down each time (`perf` on `kith
/// bench http`: ~2 % of the server's CPU in cloning and dropping it).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    pub app: App,
    pub http: Arc<HttpConfig>,
    pub metrics: PrometheusHandle,
    /// The OpenAPI document and its human rendering, built once at start-up.
    pub openapi_json: Arc<String>,
    pub reference_html: Arc<String>,
}
