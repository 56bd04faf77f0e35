//! The HTTP server: the Watson Assistant v2 compatible message API, API keys, rate limits,
//! health, metrics and the OpenAPI document.
//!
//! [`run`] takes an already bound listener and a future that says when to stop (STYLE §8): the
//! caller (the CLI, or a test on port 0) decides where and for how long the server runs.
//! No other crate serves HTTP, and no other crate sees the wire format (`wire`).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::serve::ListenerExt;
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::cors::{AllowOrigin, CorsLayer};

use baton_dialog::{Engine, Session};
use baton_store::{AnyStore, Store};

pub mod agents;
pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod events;
pub mod limit;
pub mod metrics;
pub mod openapi;
pub mod transfers;
pub mod turn;
pub mod web;
pub mod wire;

pub use config::Config;
pub use error::ApiError;

use crate::limit::RateLimiter;
use crate::metrics::Metrics;

/// What the server works with besides its configuration.
pub struct Services {
    /// The assistants served; the API's `assistant_id` is the assistant's id.
    pub assistants: Assistants,
    pub store: Arc<AnyStore>,
    pub clock: Clock,
}

/// Where "now" comes from: the system clock, or a hand-moved one for tests of inactivity.
#[derive(Debug, Clone)]
pub enum Clock {
    System,
    Manual(Arc<Mutex<DateTime<Utc>>>),
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Manual(now) => *now.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }

    /// Moves a manual clock forward; does nothing to the system clock.
    pub fn advance(&self, by: Duration) {
        if let Clock::Manual(now) = self {
            let mut now = now.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            *now += chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        }
    }
}

/// The assistants a server serves, by id, each ready to talk ([`Engine`]).
///
/// An assistant can be replaced while the server runs (`baton serve` reloads an edited folder):
/// a turn takes the engine when it starts and finishes with it, the next turn gets the new one,
/// and sessions carry on (the runtime reads a stored session against whatever assistant it is
/// given). The set of ids is fixed when the server starts. Clones share the same assistants.
#[derive(Clone, Default)]
pub struct Assistants {
    engines: Arc<HashMap<String, Slot>>,
}

/// One assistant: the engine serving it, and how its reloads went (read by the preview page).
struct Slot {
    engine: RwLock<Arc<Engine>>,
    reloads: Mutex<ReloadStatus>,
}

/// How an assistant's reloads went, for the preview page.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReloadStatus {
    /// Versions served since start: 0 until the first reload replaces the assistant.
    pub version: u64,
    /// Why the latest edit is not served (each problem with its file, line and column); empty
    /// when the version served is the latest.
    pub problems: Vec<String>,
}

impl std::fmt::Debug for Assistants {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_set().entries(self.engines.keys()).finish()
    }
}

impl Assistants {
    /// The assistants to serve; two with the same id are an error.
    pub fn new(engines: impl IntoIterator<Item = Engine>) -> Result<Assistants, ServerError> {
        let mut map = HashMap::new();
        for engine in engines {
            let id = engine.assistant().id.clone();
            let slot = Slot {
                engine: RwLock::new(Arc::new(engine)),
                reloads: Mutex::default(),
            };
            if map.insert(id.clone(), slot).is_some() {
                return Err(ServerError::DuplicateAssistant(id));
            }
        }
        Ok(Assistants { engines: Arc::new(map) })
    }

    /// The engine serving `id` now.
    pub fn get(&self, id: &str) -> Option<Arc<Engine>> {
        let slot = self.engines.get(id)?;
        Some(
            slot.engine
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
        )
    }

    /// How the assistant's reloads went.
    pub fn reload_status(&self, id: &str) -> Option<ReloadStatus> {
        let slot = self.engines.get(id)?;
        Some(
            slot.reloads
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
        )
    }

    /// Records that an edit of the assistant was not served, and why; the next successful
    /// [`Assistants::replace`] clears it.
    pub fn refuse(&self, id: &str, problems: Vec<String>) -> Result<(), ServerError> {
        let slot = self
            .engines
            .get(id)
            .ok_or_else(|| ServerError::UnknownAssistant(id.to_owned()))?;
        slot.reloads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .problems = problems;
        Ok(())
    }

    /// Serves `engine` in place of the assistant with its id, from the next turn on. An id that
    /// is not served is refused: the routes and the pages were set up for the ids at start.
    pub fn replace(&self, engine: Engine) -> Result<(), ServerError> {
        let id = &engine.assistant().id;
        let Some(slot) = self.engines.get(id) else {
            return Err(ServerError::UnknownAssistant(id.clone()));
        };
        *slot.engine.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(engine);
        let mut reloads = slot.reloads.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        reloads.version += 1;
        reloads.problems.clear();
        Ok(())
    }

    /// Whether an assistant has this id.
    pub fn contains(&self, id: &str) -> bool {
        self.engines.contains_key(id)
    }

    /// The ids served, sorted.
    pub fn ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.engines.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }

    pub fn len(&self) -> usize {
        self.engines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.engines.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("serving HTTP: {0}")]
    Io(#[from] std::io::Error),
    #[error("two assistants have the id {0}")]
    DuplicateAssistant(String),
    #[error("no assistant with the id {0} is served (the ids are fixed when the server starts)")]
    UnknownAssistant(String),
    #[error("invalid CORS origin {0}")]
    BadOrigin(String),
}

/// Shared by every request.
pub(crate) struct App {
    config: Config,
    engines: Assistants,
    store: Arc<AnyStore>,
    clock: Clock,
    locks: SessionLocks,
    /// Sessions this process created or answered, by last activity, for the active gauge; with
    /// the session each one's last turn here left, for the next turn.
    active: Mutex<HashMap<String, Active>>,
    metrics: Metrics,
    limiter: RateLimiter,
    tracker: TaskTracker,
    shutting_down: AtomicBool,
    /// What reaches customers' sockets between turns (`events.rs`).
    events: events::EventHub,
    /// Baton's own service desk and the chats this process pumps (`transfers.rs`).
    desk: transfers::Desk,
    /// Agent logins, per client address and per username.
    login_limiter: RateLimiter,
    /// API keys recently found in the store.
    verified_keys: auth::VerifiedKeys,
}

impl App {
    /// The engine for an assistant id and environment (`draft`, `live`, or none on old paths).
    fn engine(&self, assistant_id: &str, environment_id: Option<&str>) -> Result<Arc<Engine>, ApiError> {
        if let Some(environment) = environment_id
            && !api::ENVIRONMENTS.contains(&environment)
        {
            return Err(ApiError::EnvironmentNotFound(environment.to_owned()));
        }
        self.engines
            .get(assistant_id)
            .ok_or_else(|| ApiError::AssistantNotFound(assistant_id.to_owned()))
    }

    fn touch(&self, session_id: &str, now: DateTime<Utc>) {
        let mut active = self.active.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        active_entry(&mut active, session_id).last = now;
    }

    /// Like [`App::touch`], keeping the session as the turn just committed at `version` left it.
    fn touch_with(&self, session_id: &str, now: DateTime<Utc>, version: u64, session: Session) {
        let mut active = self.active.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let known = active_entry(&mut active, session_id);
        known.last = now;
        known.session = Some(Box::new((version, session)));
    }

    /// The session kept by the last turn here, if the stored one is still at its `version`.
    fn take_session(&self, session_id: &str, version: u64) -> Option<Session> {
        let mut active = self.active.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let known = active.get_mut(session_id)?;
        match known.session.take().map(|kept| *kept) {
            Some((kept_version, session)) if kept_version == version => Some(session),
            _ => None,
        }
    }

    fn forget(&self, session_id: &str) {
        let mut active = self.active.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        active.remove(session_id);
    }

    /// Open sessions active within the timeout, as seen by this process; forgets the others.
    fn count_active(&self) -> usize {
        let since = self.clock.now() - self.session_timeout();
        let mut active = self.active.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        active.retain(|_, known| known.last >= since);
        active.len()
    }

    fn session_timeout(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.config.session_timeout()).unwrap_or(chrono::Duration::MAX)
    }
}

/// The entry of a session in [`App::active`], made (and its id copied) only when it is missing;
/// the caller sets `last`.
fn active_entry<'a>(active: &'a mut HashMap<String, Active>, session_id: &str) -> &'a mut Active {
    if !active.contains_key(session_id) {
        let fresh = Active {
            last: DateTime::<Utc>::MIN_UTC,
            session: None,
        };
        active.insert(session_id.to_owned(), fresh);
    }
    active.get_mut(session_id).expect("inserted above")
}

/// A session this process has served recently.
struct Active {
    last: DateTime<Utc>,
    /// The session as its last turn here left it, with the version that turn committed: the
    /// next turn takes it instead of parsing the stored state (JSON) again, about 5% of a
    /// message's instructions. Keyed by version, it is never stale: every change to a session's
    /// state raises its version. Ended and expired sessions leave the map with their entry.
    /// Boxed: a `Session` is some hundreds of bytes, and most entries (idle sessions) hold none.
    session: Option<Box<(u64, Session)>>,
}

/// One async mutex per session with a turn in progress, so turns on one session run one at a
/// time in this process; entries are removed when nobody holds or waits for them.
#[derive(Default)]
pub(crate) struct SessionLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl SessionLocks {
    fn get(&self, session_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        locks.entry(session_id.to_owned()).or_default().clone()
    }

    /// Gives back a lock from [`SessionLocks::get`] after its guard is dropped.
    fn release(&self, session_id: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut locks = self.locks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Two references: the map's and ours. More means another request holds or waits for it.
        if Arc::strong_count(&lock) == 2 {
            locks.remove(session_id);
        }
    }
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
    let configured: Vec<_> = config.desk.agents.iter().map(|agent| agent.desk_agent()).collect();
    let app = Arc::new(App {
        limiter: RateLimiter::new(&config.rate_limit),
        login_limiter: RateLimiter::new(&config.login_rate_limit),
        desk: transfers::Desk::new(own_desk, &configured),
        config,
        engines: services.assistants,
        store: services.store,
        clock: services.clock,
        locks: SessionLocks::default(),
        active: Mutex::new(HashMap::new()),
        metrics: Metrics::default(),
        tracker: TaskTracker::new(),
        shutting_down: AtomicBool::new(false),
        events: events::EventHub::default(),
        verified_keys: auth::VerifiedKeys::default(),
    });
    start_desk(&app).await;
    let router = router(app.clone())?;
    let address = listener.local_addr()?;
    tracing::info!(%address, assistants = app.engines.len(), dev = app.config.dev, "serving");
    let signal = {
        let app = app.clone();
        async move {
            shutdown.await;
            app.shutting_down.store(true, Ordering::SeqCst);
            // Agent sockets and chat pumps end now, so open WebSockets do not hold up the
            // graceful shutdown; what the desk says from here on is lost with the process, and
            // an agent's message not yet stored was not acknowledged.
            app.desk.stop.cancel();
            tracing::info!("shutting down: finishing in-flight turns");
        }
    };
    let stop_sweeping = CancellationToken::new();
    app.tracker.spawn(sweep(app.clone(), stop_sweeping.clone()));
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
    app.tracker.close();
    if tokio::time::timeout(grace, app.tracker.wait()).await.is_err() {
        tracing::warn!(
            n_turns = app.tracker.len(),
            "shutdown grace period over with turns still running"
        );
    }
    tracing::info!("stopped");
    served.map_err(ServerError::from)
}

/// Makes the store's agents known to the desk and re-attaches the open transfers.
async fn start_desk(app: &Arc<App>) {
    match app.store.list_agents().await {
        Ok(records) => {
            for record in &records {
                if let Some(agent) = agents::desk_agent(record) {
                    app.desk.register_agent(agent);
                }
            }
        }
        Err(error) => tracing::error!(%error, "loading agents failed"),
    }
    match app.store.open_transfers().await {
        Ok(open) => app.metrics.set_transfers_open(open.len() as i64),
        Err(error) => tracing::error!(%error, "counting open transfers failed"),
    }
    match transfers::resume_all(app).await {
        Ok(0) => {}
        Ok(resumed) => tracing::info!(n_transfers = resumed, "open transfers resumed"),
        Err(error) => tracing::error!(%error, "resuming open transfers failed"),
    }
}

/// Ends sessions idle past their timeout, every quarter of the timeout (at most every minute),
/// so the store marks them ended and the expired counter moves even if nobody writes to them again.
async fn sweep(app: Arc<App>, stop: CancellationToken) {
    let period = (app.config.session_timeout() / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = interval.tick() => {}
        }
        match app.store.expire_idle(app.clock.now()).await {
            Ok(expired) => {
                for id in &expired {
                    app.forget(id.as_str());
                    app.metrics.session_expired();
                    abandon(&app, id.as_str()).await;
                }
                if !expired.is_empty() {
                    tracing::info!(n_sessions = expired.len(), "sessions expired");
                }
            }
            Err(error) => tracing::warn!(%error, "expiring idle sessions failed"),
        }
    }
}

/// The customer of an expired session has gone: their transfer is abandoned.
async fn abandon(app: &Arc<App>, session_id: &str) {
    let lock = app.locks.get(session_id);
    let guard = lock.lock().await;
    let result = transfers::end_by_customer(app, session_id, baton_desk::TransferCommand::Abandon, None).await;
    drop(guard);
    app.locks.release(session_id, lock);
    if let Err(error) = result {
        tracing::warn!(%error, session_id = %session_id, "abandoning the transfer of an expired session failed");
    }
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
        .merge(agents::routes())
        .merge(web::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
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
            header::HeaderName::from_static(api::CLIENT_MESSAGE_ID),
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
        false if web::public_client(&app, &request) => None,
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

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", security(()), responses((status = 200, description = "`{\"status\": \"ok\"}`")), tag = "operations")]
async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// Readiness: the store answers and the server is not shutting down.
#[utoipa::path(get, path = "/readyz", security(()), responses((status = 200, description = "`{\"status\": \"ready\"}`"), (status = 503, body = error::ErrorBody)), tag = "operations")]
async fn readyz(State(app): State<Arc<App>>) -> Result<axum::Json<serde_json::Value>, ApiError> {
    if app.shutting_down.load(Ordering::SeqCst) {
        return Err(ApiError::Unavailable);
    }
    // A lookup that goes to the database: cheap, and fails when the store cannot answer.
    match app.store.find_api_key_by_hash("readiness-probe").await {
        Ok(_) => Ok(axum::Json(serde_json::json!({"status": "ready"}))),
        Err(error) => {
            tracing::warn!(%error, "store not ready");
            Err(ApiError::Unavailable)
        }
    }
}

/// Prometheus metrics: messages, turn latency, sessions, transfers by reason.
#[utoipa::path(get, path = "/metrics", security(()), responses((status = 200, description = "Prometheus text format", content_type = "text/plain")), tag = "operations")]
async fn metrics(State(app): State<Arc<App>>) -> Response {
    let body = app.metrics.render(app.count_active() as u64);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
        .into_response()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", security(()), responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json")), tag = "operations")]
async fn openapi() -> impl IntoResponse {
    axum::Json(openapi::document())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(id: &str, says: &str) -> Engine {
        let json = serde_json::json!({
            "id": id,
            "actions": [{"id": "hours", "examples": ["when are you open"], "steps": [{"say": says}]}]
        });
        let loaded = baton_assistant::load::load_str("assistant.json", &json.to_string());
        Engine::new(loaded.assistant.expect("the fixture loads"))
    }

    fn first_say(engine: &Engine) -> String {
        let turn = engine.said(Session::default(), "when are you open", Utc::now());
        format!("{:?}", turn.effects)
    }

    #[test]
    fn an_assistant_is_replaced_for_the_next_turn_and_the_ids_are_fixed() {
        let assistants = Assistants::new([engine("shop", "At 9."), engine("bank", "At 10.")]).unwrap();
        assert_eq!(assistants.ids(), ["bank", "shop"]);
        let running = assistants.get("shop").unwrap();
        assistants.replace(engine("shop", "At 8.")).unwrap();
        // A turn that took the engine before finishes with it; the next one gets the new one.
        assert!(first_say(&running).contains("At 9."));
        assert!(first_say(&assistants.get("shop").unwrap()).contains("At 8."));
        assert!(first_say(&assistants.clone().get("bank").unwrap()).contains("At 10."));
        assert!(matches!(
            assistants.replace(engine("cafe", "At 7.")),
            Err(ServerError::UnknownAssistant(id)) if id == "cafe"
        ));
        assert!(assistants.get("cafe").is_none());
        assert_eq!(assistants.reload_status("shop").unwrap().version, 1);
        assert_eq!(assistants.reload_status("bank").unwrap(), ReloadStatus::default());
        assistants
            .refuse("shop", vec!["hours.yaml:4:11: error".into()])
            .unwrap();
        assert_eq!(
            assistants.reload_status("shop").unwrap().problems,
            ["hours.yaml:4:11: error"]
        );
        assistants.replace(engine("shop", "At 6.")).unwrap();
        assert_eq!(
            assistants.reload_status("shop").unwrap(),
            ReloadStatus {
                version: 2,
                problems: Vec::new()
            }
        );
        assert!(matches!(
            Assistants::new([engine("shop", "a"), engine("shop", "b")]),
            Err(ServerError::DuplicateAssistant(id)) if id == "shop"
        ));
    }
}
