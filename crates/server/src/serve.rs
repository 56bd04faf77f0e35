//! Serving: [`run`] builds the conversations and the router and serves until told to stop.
//!
//! [`run`] takes an already bound listener and a future that says when to stop: the caller (the
//! CLI, or a test on port 0) decides where and for how long the server runs. Every API route
//! passes the [`guard`]: authentication (unless `dev`) and the rate limit.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};

use baton_store::Store;

use crate::assistants::Assistants;
use crate::auth::VerifiedKeys;
use crate::clock::Clock;
use crate::config::Config;
use crate::conversation::{Conversations, Settings};
use crate::error::ApiError;
use crate::limit::RateLimiter;
use crate::metrics::Metrics;
use crate::state::App;
use crate::{access, agents, api, auth, desks_http, events, openapi, ops, request, voice, web};

/// What the server works with besides its configuration.
pub struct Services {
    /// The assistants served; the API's `assistant_id` is the assistant's id.
    pub assistants: Assistants,
    pub store: Arc<dyn Store>,
    pub clock: Clock,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("serving HTTP: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid CORS origin {0}")]
    BadOrigin(String),
    #[error("desks in the configuration:\n{0}")]
    Desks(#[from] crate::desks::DeskConfigError),
    #[error("the phone channel in the configuration: {0}")]
    Voice(String),
    /// With replicas: another server took the desk while this one had lost its connection to
    /// the database; restarted, this one serves again (as a replica not holding the desk).
    #[error("another server took the desk while this one was cut off from the database; restart to serve again")]
    DeskSuperseded,
}

/// Serves until `shutdown` completes, then stops accepting, lets in-flight turns commit (up to
/// `shutdown_grace_secs`), and returns.
pub async fn run(
    listener: TcpListener,
    config: Config,
    services: Services,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let own_desk = baton_desk::OwnDesk::start(
        config.desk.own_desk(),
        baton_desk::own::Clock::starting_at(services.clock.now()),
    );
    let named = crate::desks::build(&config, &|name| std::env::var(name).ok()).await?;
    let public_url = config.public_url.clone().unwrap_or_else(|| {
        format!(
            "http://{}",
            listener
                .local_addr()
                .map(|address| address.to_string())
                .unwrap_or_default()
        )
    });
    let voice = crate::state::VoiceAuth::from_config(&config, &public_url, &|name| std::env::var(name).ok())
        .map_err(ServerError::Voice)?;
    let metrics = Arc::new(Metrics::default());
    let settings = Settings {
        routes: config.routes.clone(),
        public_url,
        history_link_ttl: Duration::from_secs(config.history_link_hours.max(1) * 3600),
        history_key: history_key(),
        session_timeout: config.session_timeout(),
        default_queue: config.desk.settings.default_queue.clone(),
        queues: config.desk.queues.iter().map(|queue| queue.name.clone()).collect(),
        agents: config.desk.agents.clone(),
        agents_online: config.agents_online,
    };
    let conversations = Conversations::new(
        settings,
        services.assistants,
        services.store.clone(),
        services.clock,
        Arc::new(own_desk),
        named,
        metrics.clone(),
    );
    let app = Arc::new(App {
        limiter: RateLimiter::new(&config.rate_limit),
        login_limiter: RateLimiter::new(&config.login_rate_limit),
        config,
        conversations: conversations.clone(),
        store: services.store,
        metrics,
        shutting_down: AtomicBool::new(false),
        verified_keys: VerifiedKeys::default(),
        voice,
    });
    let stop_sweeping = CancellationToken::new();
    conversations.start(stop_sweeping.clone()).await;
    let router = router(app.clone())?;
    let address = listener.local_addr()?;
    tracing::info!(%address, assistants = conversations.assistants().len(), dev = app.config.dev, "serving");
    let superseded = conversations.desk_superseded();
    let signal = {
        let app = app.clone();
        let superseded = superseded.clone();
        async move {
            tokio::select! {
                () = shutdown => {}
                () = superseded.cancelled() => {}
            }
            app.shutting_down.store(true, Ordering::SeqCst);
            // Agent sockets and chat pumps end now, so open WebSockets do not hold up the
            // graceful shutdown.
            app.conversations.stop_desk();
            tracing::info!("shutting down: finishing in-flight turns");
        }
    };
    // No Nagle delay: WebSocket frames (agent typing, messages) are small writes that must leave
    // at once, and a reply must not wait for the client's delayed acknowledgement.
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
    });
    let served = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(signal)
        .await;
    stop_sweeping.cancel();
    conversations.finish(grace).await;
    tracing::info!("stopped");
    served?;
    match superseded.is_cancelled() {
        true => Err(ServerError::DeskSuperseded),
        false => Ok(()),
    }
}

/// The key history links are signed with: new for each process, so a link outlives neither the
/// process nor its expiry. (Replicas will share one in the store.)
fn history_key() -> Vec<u8> {
    let mut key = Vec::with_capacity(32);
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key
}

fn router(app: Arc<App>) -> Result<Router, ServerError> {
    const BASE: &str = "/v2/assistants/{assistant_id}";
    const ENV: &str = "/v2/assistants/{assistant_id}/environments/{environment_id}";
    let v2 = Router::new()
        .route(&format!("{ENV}/sessions"), post(api::create_session_env))
        .route(
            &format!("{ENV}/sessions/{{session_id}}/message"),
            post(api::message_env),
        )
        .route(
            &format!("{ENV}/sessions/{{session_id}}"),
            delete(api::delete_session_env),
        )
        .route(&format!("{ENV}/message"), post(api::stateless_env))
        .route(&format!("{BASE}/sessions"), post(api::create_session_legacy))
        .route(
            &format!("{BASE}/sessions/{{session_id}}/message"),
            post(api::message_legacy),
        )
        .route(
            &format!("{BASE}/sessions/{{session_id}}"),
            delete(api::delete_session_legacy),
        )
        .route(&format!("{BASE}/message"), post(api::stateless_legacy))
        .route(
            &format!("{ENV}/sessions/{{session_id}}/transfer/cancel"),
            post(api::cancel_transfer_env),
        )
        .route(
            &format!("{BASE}/sessions/{{session_id}}/transfer/cancel"),
            post(api::cancel_transfer_legacy),
        )
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), guard));
    let mut router = Router::new()
        .merge(v2)
        .merge(agents::routes().route_layer(axum::middleware::from_fn_with_state(app.clone(), desk_here)))
        .merge(web::routes())
        .merge(events::routes())
        .merge(desks_http::routes())
        .merge(voice::routes())
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/readyz/desk", get(ops::desk_ready))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(openapi::openapi))
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(app.config.max_body_bytes))
        .with_state(app.clone());
    if !app.config.cors_origins.is_empty() {
        router = router.layer(cors(&app.config.cors_origins)?);
    }
    Ok(router)
}

fn cors(origins: &[String]) -> Result<CorsLayer, ServerError> {
    let origins = origins
        .iter()
        .map(|origin| HeaderValue::from_str(origin).map_err(|_| ServerError::BadOrigin(origin.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static(request::CLIENT_MESSAGE_ID),
        ])
        .max_age(Duration::from_secs(3600)))
}

/// Authentication (unless `dev`) and the rate limit, for every API route.
async fn guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let by_ip = || match peer {
        Some(ip) => format!("ip:{ip}"),
        None => "ip:unknown".to_owned(),
    };
    // Who the request counts against: its API key, or without one its address (built only when
    // a limit is on).
    let key = match app.config.dev {
        true => None,
        false if access::public_client(&app, &request) => None,
        false => match authenticate(&app, request.headers().get(header::AUTHORIZATION).cloned()).await {
            Ok(key_id) => Some(format!("key:{key_id}")),
            Err(error) => {
                // Failed attempts count against the address, so guessing keys is throttled too.
                if app.limiter.enabled()
                    && let Err(retry_after_secs) = app.limiter.check(&by_ip())
                {
                    return ApiError::RateLimited { retry_after_secs }.into_response();
                }
                return error.into_response();
            }
        },
    };
    if app.limiter.enabled() {
        let client = key.unwrap_or_else(by_ip);
        if let Err(retry_after_secs) = app.limiter.check(&client) {
            tracing::warn!(client = %client, "rate limited");
            return ApiError::RateLimited { retry_after_secs }.into_response();
        }
    }
    next.run(request).await
}

/// Agent routes are served where the desk is: with replicas, by the server holding it.
async fn desk_here(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    match app.conversations.holds_desk() {
        true => next.run(request).await,
        false => ApiError::DeskElsewhere.into_response(),
    }
}

/// The id of the API key the request carries.
async fn authenticate(app: &App, authorization: Option<HeaderValue>) -> Result<String, ApiError> {
    let header = authorization.ok_or(ApiError::Unauthorized)?;
    let header = header.to_str().map_err(|_| ApiError::Unauthorized)?;
    let key = auth::key_from_authorization(header).ok_or(ApiError::Unauthorized)?;
    let hash = key.hash();
    if let Some(id) = app.verified_keys.get(&hash, Instant::now()) {
        return Ok(id);
    }
    let found = app.store.find_api_key_by_hash(&hash).await?;
    let id = found
        .map(|record| record.id.to_string())
        .ok_or(ApiError::Unauthorized)?;
    app.verified_keys.put(hash, id.clone(), Instant::now());
    Ok(id)
}
