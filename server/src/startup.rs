//! Building and running the application: database, services, router, listener.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{MatchedPath, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{middleware, Json, Router};
use http::{Request, StatusCode};
use lendscope_app::{shell, App};
use lendscope_service::audit::checkpoint::CheckpointKey;
use lendscope_service::{db, Clock, Services, SystemClock};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use serde_json::json;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::error::ServerError;
use crate::http::{csrf, gate, headers, metrics, rpc, session, shed, upload, AppState};

pub struct Application {
    listener: TcpListener,
    router: Router,
    services: Services,
    /// The monitoring job's interval (`None`: only runs started from the page).
    monitoring_every: Option<Duration>,
    /// Scheduled signed checkpoints of the decision chain: key, directory, interval.
    checkpoints: Option<(Arc<CheckpointKey>, PathBuf, Duration)>,
}

impl Application {
    /// Connects to the database, applies migrations and binds the listener.
    pub async fn build(config: &Config) -> Result<Self, ServerError> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(
        config: &Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ServerError> {
        let conn = db::connect(&config.database_url).await?;
        db::migrate(&conn).await?;
        let services = Services::new(conn, clock, config.auth_settings());
        // Records written before the record chains existed are linked once, before serving.
        services.link_unchained_records().await?;
        // The serving models are loaded (parsed, hash-checked, compiled for TreeSHAP) before
        // the listener exists, so the first application after /health/ready is not slower
        // than the rest. No champion yet (a fresh database) is not an error here.
        match services.serving_pair().await {
            Ok(pair) => tracing::info!(
                champion = pair.champion.meta.id,
                challenger = pair.challenger.as_ref().map(|c| c.meta.id),
                "serving models loaded"
            ),
            Err(e) => tracing::info!(reason = %e, "no serving models loaded at start"),
        }
        services.set_retrain_base(config.retrain_base_data.clone());
        if config.max_concurrent_scoring == 0 {
            return Err(ServerError::Config(
                "max_concurrent_scoring = 0: at least 1 application must be scored at a time"
                    .into(),
            ));
        }
        if config.monitoring_window < 100 {
            return Err(ServerError::Config(format!(
                "monitoring_window = {}: at least 100 decisions",
                config.monitoring_window
            )));
        }
        services.set_monitoring_settings(lendscope_service::monitoring::MonitoringSettings {
            window: config.monitoring_window,
            interval_secs: config.monitoring_interval_secs,
            ..Default::default()
        });
        // The checkpoint key is read at start: a missing or bad key file stops the server
        // rather than leaving the chain unanchored unnoticed.
        let checkpoints = match (&config.checkpoint_key, &config.checkpoint_dir) {
            (Some(key), Some(dir)) if config.checkpoint_interval_secs > 0 => Some((
                Arc::new(CheckpointKey::load(key)?),
                dir.clone(),
                Duration::from_secs(config.checkpoint_interval_secs),
            )),
            (Some(key), _) => {
                CheckpointKey::load(key)?;
                None
            }
            _ => None,
        };
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let router = router(config, services.clone(), addr);
        Ok(Self {
            listener,
            router,
            services,
            monitoring_every: (config.monitoring_interval_secs > 0)
                .then(|| Duration::from_secs(config.monitoring_interval_secs)),
            checkpoints,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Serves until SIGTERM or Ctrl-C, then stops accepting and drains in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let housekeeping = tokio::spawn(housekeeping(self.services.clone()));
        let monitor = self
            .monitoring_every
            .map(|every| tokio::spawn(monitoring(self.services.clone(), every)));
        let checkpointer = self.checkpoints.map(|(key, dir, every)| {
            tokio::spawn(checkpoints(self.services.clone(), key, dir, every))
        });
        let result = crate::drain::serve(self.listener, self.router, stop).await;
        housekeeping.abort();
        for task in [monitor, checkpointer].into_iter().flatten() {
            task.abort();
        }
        result
    }
}

fn router(config: &Config, services: Services, addr: SocketAddr) -> Router {
    let state = AppState {
        services: services.clone(),
        cookies: config.cookie_policy(),
        trust_forwarded_for: config.trust_forwarded_for,
    };
    let leptos_options = LeptosOptions::builder()
        .output_name("lendscope")
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    let routes = page_routes().to_vec();
    let context = {
        let cookies = state.cookies;
        move || {
            provide_context(services.clone());
            provide_context(cookies);
            // The page's script nonce, chosen by `headers::page_nonce` with its CSP header.
            if let Some(nonce) = use_context::<http::request::Parts>()
                .and_then(|p| p.extensions.get::<headers::PageNonce>().cloned())
            {
                provide_context(leptos::nonce::Nonce::from_value(nonce.0));
            }
        }
    };
    let pages = Router::new()
        .leptos_routes_with_context(&leptos_options, routes, context.clone(), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(
            context, shell,
        ))
        .layer(middleware::from_fn(headers::page_nonce))
        .with_state(leptos_options);

    let hsts = config.session.secure_cookies;
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics::export))
        .route("/api/openapi.json", get(crate::api::openapi::document))
        .route(upload::UPLOAD_PATH, axum::routing::post(upload::upload))
        .merge(crate::api::router())
        .with_state(state.clone())
        .merge(pages)
        .layer(middleware::from_fn(rpc::error_status))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            gate::guard_pages,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), csrf::protect))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::resolve_session,
        ))
        .layer(middleware::from_fn(headers::cache_control))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(headers::default_csp())
                .layer(headers::fixed(0))
                .layer(headers::fixed(1))
                .layer(headers::fixed(2))
                .layer(headers::fixed(3))
                .layer(headers::fixed(4))
                .layer(headers::fixed(5))
                .option_layer(hsts.then(headers::hsts))
                // Refusals beyond the scoring capacity cost nothing of what follows.
                .layer(middleware::from_fn_with_state(
                    shed::Shedder {
                        permits: Arc::new(tokio::sync::Semaphore::new(
                            config.max_concurrent_scoring,
                        )),
                        queue: Duration::from_millis(config.scoring_queue_ms),
                        state,
                    },
                    shed::limit,
                ))
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(make_span))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CompressionLayer::new())
                .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    Duration::from_secs(config.request_timeout_secs),
                )),
        )
}

/// The page routes, computed once per process.
///
/// `generate_route_list` renders the whole app with resource loading suppressed through one
/// process-wide flag (`leptos_server`'s `IS_SUPPRESSING_RESOURCE_LOAD`, set by
/// `RouteList::generate`): a resource created on any thread while that flag is set never loads,
/// so a page rendered by another server in the same process at that moment waits forever
/// (leptos-rs/leptos#4773, still open for 0.8 and 0.9). The route list depends on `App` alone,
/// so it is generated exactly once, before the first server of the process can serve, and no
/// render can overlap it. (`ssr_stall.rs` in the integration tests reproduces the upstream race.)
fn page_routes() -> &'static [leptos_axum::AxumRouteListing] {
    static ROUTES: OnceLock<Vec<leptos_axum::AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App))
}

fn make_span<B>(req: &Request<B>) -> tracing::Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| req.uri().path().to_owned(), |m| m.as_str().to_owned());
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("http", method = %req.method(), route, request_id)
}

async fn live() -> impl IntoResponse {
    Json(json!({ "status": "live" }))
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    match db::readiness(state.services.db()).await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            let mut res = (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "reason": "database unreachable or migrations pending" })),
            )
                .into_response();
            res.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("5"),
            );
            res
        }
    }
}

/// Periodic clean-up of expired sessions and old sign-in attempts.
async fn housekeeping(services: Services) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        match services.purge_expired_credentials().await {
            Ok((sessions, attempts)) if sessions + attempts > 0 => {
                tracing::info!(sessions, attempts, "purged expired credentials");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
        }
    }
}

/// The scheduled monitoring job: one run per interval (the first one interval after start,
/// so a restart does not pile up runs). A failed run is logged and retried next interval.
async fn monitoring(services: Services, every: Duration) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match services.run_monitoring("scheduler").await {
            Ok(id) => tracing::info!(run = id, "monitoring run stored"),
            Err(e) => tracing::warn!(error = %e, "monitoring run failed"),
        }
    }
}

/// Writes a signed checkpoint of the chains' heads every `every` when a chain has moved.
async fn checkpoints(services: Services, key: Arc<CheckpointKey>, dir: PathBuf, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = None;
    loop {
        tick.tick().await;
        let heads = services.chain_heads().await.ok();
        if heads.is_some() && heads == last {
            continue;
        }
        match services.write_checkpoint(&key, &dir).await {
            Ok((c, path)) => {
                tracing::info!(heads = ?c.heads, path = %path.display(), "checkpoint written");
                last = Some(c.heads);
            }
            Err(e) => tracing::error!(error = %e, "writing a checkpoint failed"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}
