//! # kith
//!
//! The `kith` binary's library half: settings ([`config`]), the one way to start the
//! server ([`Application`]), and the demo community ([`demo`]). `main.rs` is the CLI; the
//! tests start servers through [`Application`] exactly as `kith serve` does.

pub mod analytics;
pub mod backup;
pub mod bench;
pub mod config;
pub mod demo;
pub mod demo_aftersales;
pub mod demo_coupons;
pub mod demo_group_buy;
pub mod demo_leaders;
pub mod demo_pictures;
pub mod reconcile;
pub mod reindex;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use kith_app::App;
use kith_domain::{Clock, SystemClock};
use kith_store::Db;

pub use config::Settings;

/// A typed id of a row the demo or the bench just wrote through the app (so it parses).
pub(crate) fn typed<T: kith_app::platform::ids::TypedId>(id: &str) -> T {
    T::parse(id).expect("an id the app wrote is a UUID")
}

/// Opens storage and applies migrations: shared by `serve`, `migrate` and `admin`.
pub async fn open_app(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
    let db = Db::open(&settings.db)
        .await
        .map_err(|e| anyhow::anyhow!("open storage: {e}"))?;
    let applied = kith_store::migrate::run(&db, clock.now_ms())
        .await
        .map_err(|e| anyhow::anyhow!("migrate {}: {e}", db.describe()))?;
    if !applied.is_empty() {
        tracing::info!(?applied, "migrations applied");
    }
    Ok(App::new(db, clock, settings.app.clone()))
}

/// A built server: storage open and migrated, listener bound, not yet serving.
pub struct Application {
    app: App,
    listener: tokio::net::TcpListener,
    router: axum::Router,
    http: kith_http::HttpConfig,
    workers: bool,
}

impl Application {
    /// Builds with the wall clock.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Builds with an injected clock (tests move time instead of sleeping).
    pub async fn build_with_clock(
        settings: &Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .map_err(|e| anyhow::anyhow!("listen on {}: {e}", settings.listen))?;
        let mut settings = settings.clone();
        if !settings.public_url_set {
            // Pay links and the sandbox gateway's callbacks come back to this very server.
            let mut addr = listener.local_addr()?;
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            settings.app.public_url = format!("http://{addr}");
        }
        let settings = &settings;
        let app = open_app(settings, clock).await?;
        // This server's own search index, fed from the outbox while it runs.
        app.attach_search_index(kith_app::discovery::search::open_index(
            &settings.db.data_dir.join("search"),
        )?);
        // The API and the web pages share the server; an unknown path is the pages' error
        // page for a browser and the API's 404 problem for everyone else ([`kith_web::fallback`]).
        let pages = kith_web::WebConfig {
            cookie_secure: settings.http.cookie_secure,
            upload_limit_bytes: kith_app::social::media::MAX_UPLOAD_BYTES + 64 * 1024,
            demo: settings.demo,
        };
        let web = kith_web::router(app.clone(), pages.clone());
        let router = kith_http::router(app.clone(), settings.http.clone())
            .merge(web)
            .fallback_service(kith_web::fallback(app.clone(), pages));
        Ok(Self {
            app,
            listener,
            router,
            http: settings.http.clone(),
            workers: settings.workers,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    /// Serves until `shutdown` resolves; then stops taking connections, lets in-flight
    /// requests finish, and stops the background worker after its current job.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let indexer = tokio::spawn(kith_app::discovery::search::run_indexer(
            self.app.clone(),
            stop_rx.clone(),
        ));
        let sweeper = self.workers.then(|| {
            tokio::spawn(kith_app::platform::run_sweeper(
                self.app.clone(),
                stop_rx.clone(),
            ))
        });
        let worker = self.workers.then(|| {
            let owner = format!("{}-{}", hostname(), std::process::id());
            tokio::spawn(kith_app::events::jobs::run_worker(
                self.app.clone(),
                owner,
                stop_rx,
            ))
        });
        let served = kith_http::serve(self.listener, self.router, &self.http, shutdown).await;
        let _ = stop_tx.send(true);
        let _ = indexer.await;
        if let Some(w) = worker {
            let _ = w.await;
        }
        if let Some(s) = sweeper {
            let _ = s.await;
        }
        served.map_err(|e| anyhow::anyhow!("serve: {e}"))
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "kith".to_owned())
}

/// A future that resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when
/// this is *called*, not when the future is first polled: a signal that arrives between
/// "serving" being printed and the server loop starting must not kill the process.
pub fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
            tracing::info!("shutting down: finishing in-flight requests");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down: finishing in-flight requests");
        })
    }
}
