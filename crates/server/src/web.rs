//! The browser side: the web chat widget (`GET /webchat.js`), the Northwind Bank demo page
//! (`GET /`), the preview page (`GET /preview`), the agent console (`GET /agent`, with its
//! tickets and supervisor views at `/agent/tickets` and `/agent/supervisor`), and the small JSON
//! routes they need beyond the message API: a session's transcript (to restore the conversation
//! after a reload) and, in development mode, the simulated desk of the preview.
//!
//! The console is only a static page: everything it shows comes from the agent API
//! (`/v1/agent/…`) after the agent signs in, so serving the page itself needs no authentication.
//! It is sent with a strict Content-Security-Policy (scripts, styles and connections from this
//! origin only, no framing), a second line of defence behind inserting all text as text.
//!
//! The files live in this crate's `web/` folder as plain HTML, CSS and JavaScript and are
//! embedded with `include_str!`, so `cargo build` is the whole build. The widget's CSS is a
//! file of its own, spliced into the script when it is served, so embedding stays one tag.
//! The console's script is ES modules, one per concern: the entry `/agent.js` imports the
//! others from `/agent/…`, each embedded from `web/agent/` and served as JavaScript, so the
//! browser needs no bundle and the server no build step.
//!
//! Who may read a session from a browser is `access`'s to say.

use std::sync::{Arc, LazyLock};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value as JsonValue, json};

use baton_store::EntryKind;

use crate::access::customer_allowed;
use crate::assistants::ReloadStatus;
use crate::conversation::SessionEvent;
use crate::error::ApiError;
use crate::request::parse_body;
use crate::state::App;

const WEBCHAT_JS: &str = include_str!("../web/webchat.js");
const WEBCHAT_CSS: &str = include_str!("../web/webchat.css");
const INDEX_HTML: &str = include_str!("../web/index.html");
const PREVIEW_HTML: &str = include_str!("../web/preview.html");
const PREVIEW_JS: &str = include_str!("../web/preview.js");
const AGENT_HTML: &str = include_str!("../web/agent.html");
const AGENT_JS: &str = include_str!("../web/agent.js");
/// The console's modules, served at `/agent/{module}`; a test holds this list to `web/agent/`.
const AGENT_MODULES: [(&str, &str); 14] = [
    ("alerts.js", include_str!("../web/agent/alerts.js")),
    ("api.js", include_str!("../web/agent/api.js")),
    ("chat-actions.js", include_str!("../web/agent/chat-actions.js")),
    ("chats.js", include_str!("../web/agent/chats.js")),
    ("composer.js", include_str!("../web/agent/composer.js")),
    ("dom.js", include_str!("../web/agent/dom.js")),
    ("frames.js", include_str!("../web/agent/frames.js")),
    ("offers.js", include_str!("../web/agent/offers.js")),
    ("queues.js", include_str!("../web/agent/queues.js")),
    ("session.js", include_str!("../web/agent/session.js")),
    ("state.js", include_str!("../web/agent/state.js")),
    ("tickets.js", include_str!("../web/agent/tickets.js")),
    ("transcript.js", include_str!("../web/agent/transcript.js")),
    ("views.js", include_str!("../web/agent/views.js")),
];
const RICHTEXT_JS: &str = include_str!("../web/richtext.js");
const AGENT_CSS: &str = include_str!("../web/agent.css");

/// The console's Content-Security-Policy: nothing from elsewhere, nothing inline, no framing.
const AGENT_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The widget with its stylesheet in place of the `"__BATON_CSS__"` placeholder.
static WIDGET: LazyLock<String> = LazyLock::new(|| {
    let css = serde_json::to_string(WEBCHAT_CSS).unwrap_or_else(|_| "\"\"".to_owned());
    with_rich_text(WEBCHAT_JS).replacen("\"__BATON_CSS__\"", &css, 1)
});

/// `/agent/richtext.js`: the rich text the console shares with the widget, as a module.
static AGENT_RICH_TEXT: LazyLock<String> = LazyLock::new(|| {
    format!("const RICH_LINK_CLASS = \"rich-link\";\n{RICHTEXT_JS}\nexport {{ appendRichText, appendLink }};\n")
});

/// `script` with `web/richtext.js` in place of its `/*__BATON_RICHTEXT__*/` placeholder, inside
/// the script's own function so that nothing leaks into the page (the widget runs on customers'
/// sites, where it must stay one classic script).
fn with_rich_text(script: &str) -> String {
    script.replacen("/*__BATON_RICHTEXT__*/", RICHTEXT_JS, 1)
}

/// The routes of this module, merged into the server's router.
pub(crate) fn routes() -> Router<Arc<App>> {
    const BASE: &str = "/v2/assistants/{assistant_id}";
    const ENV: &str = "/v2/assistants/{assistant_id}/environments/{environment_id}";
    files()
        .route("/", get(index))
        .route("/preview", get(preview))
        .route("/preview.js", get(preview_js))
        .route("/preview/assistants", get(assistants))
        .route("/preview/sessions/{session_id}/desk", post(simulate_desk))
        .route(
            &format!("{BASE}/sessions/{{session_id}}/transcript"),
            get(transcript_legacy),
        )
        .route(
            &format!("{ENV}/sessions/{{session_id}}/transcript"),
            get(transcript_env),
        )
}

/// The files served as they are, the same for every request: the widget and the console's page,
/// script modules and stylesheet.
fn files<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/webchat.js", get(webchat))
        .route("/agent", get(agent_console))
        .route("/agent/tickets", get(agent_console))
        .route("/agent/supervisor", get(agent_console))
        .route("/agent.js", get(agent_js))
        .route("/agent/{module}", get(agent_module))
        .route("/agent.css", get(agent_css))
}

fn page(content_type: &'static str, body: String) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        body,
    )
        .into_response()
}

/// The assistant the pages show: `bank` when served, else the first by id.
fn default_assistant(app: &App) -> String {
    let assistants = app.conversations.assistants();
    if assistants.contains("bank") {
        return "bank".to_owned();
    }
    assistants.ids().first().map(|id| id.to_string()).unwrap_or_default()
}

/// Escapes text for an HTML attribute value or element content.
pub(crate) fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// `GET /`: the Northwind Bank demo page with the widget.
async fn index(State(app): State<Arc<App>>) -> Response {
    let body = INDEX_HTML.replace("{{ASSISTANT}}", &escape_html(&default_assistant(&app)));
    page("text/html; charset=utf-8", body)
}

/// A script, classic or module: browsers run a module only if it comes with a JavaScript type.
fn javascript(body: String) -> Response {
    page("application/javascript; charset=utf-8", body)
}

/// `GET /webchat.js`: the widget.
async fn webchat() -> Response {
    javascript(WIDGET.clone())
}

/// `GET /preview`: the web chat beside a debug panel; development mode only, because it shows
/// the assistant's inner workings.
async fn preview(State(app): State<Arc<App>>) -> Response {
    if !app.config.dev {
        return ApiError::RouteNotFound.into_response();
    }
    let body = PREVIEW_HTML.replace("{{ASSISTANT}}", &escape_html(&default_assistant(&app)));
    page("text/html; charset=utf-8", body)
}

async fn preview_js(State(app): State<Arc<App>>) -> Response {
    if !app.config.dev {
        return ApiError::RouteNotFound.into_response();
    }
    javascript(PREVIEW_JS.to_owned())
}

/// `GET /agent` (and `/agent/tickets`, `/agent/supervisor`): the agent console, one page whose
/// script picks the view from the path.
async fn agent_console() -> Response {
    let mut response = page("text/html; charset=utf-8", AGENT_HTML.to_owned());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(AGENT_CSP));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// `GET /agent.js`: the console's entry module.
async fn agent_js() -> Response {
    javascript(AGENT_JS.to_owned())
}

/// `GET /agent/{module}`: one of the console's modules, which the entry module imports.
#[utoipa::path(
    get,
    path = "/agent/{module}",
    params(("module" = String, Path, description = "A module's file name, such as `api.js`")),
    responses(
        (status = 200, description = "One of the agent console's script modules", content_type = "application/javascript"),
        (status = 404, description = "No module has that name", body = crate::error::ErrorBody),
    ),
    security(()),
    tag = "pages"
)]
pub(crate) async fn agent_module(Path(module): Path<String>) -> Response {
    if module == "richtext.js" {
        return javascript(AGENT_RICH_TEXT.clone());
    }
    match AGENT_MODULES.iter().find(|(name, _)| *name == module) {
        Some((_, source)) => javascript((*source).to_owned()),
        None => ApiError::RouteNotFound.into_response(),
    }
}

async fn agent_css() -> Response {
    page("text/css; charset=utf-8", AGENT_CSS.to_owned())
}

#[derive(Debug, Serialize)]
struct AssistantSummary {
    id: String,
    name: String,
    /// How reloading the edited assistant went: the version served, and why the latest edit
    /// is not served (if it is not).
    #[serde(flatten)]
    reloads: ReloadStatus,
}

/// `GET /preview/assistants`: the assistants served, for the preview's picker, with how their
/// reloads went (dev only).
async fn assistants(State(app): State<Arc<App>>) -> Result<Json<Vec<AssistantSummary>>, ApiError> {
    if !app.config.dev {
        return Err(ApiError::RouteNotFound);
    }
    let assistants = app.conversations.assistants();
    let list: Vec<AssistantSummary> = assistants
        .ids()
        .into_iter()
        .filter_map(|id| {
            Some(AssistantSummary {
                id: id.to_owned(),
                name: assistants.get(id)?.assistant().name.clone(),
                reloads: assistants.reload_status(id)?,
            })
        })
        .collect();
    Ok(Json(list))
}

#[derive(Debug, Serialize, Deserialize)]
struct DeskRequest {
    event: SessionEvent,
}

/// `POST /preview/sessions/{session_id}/desk`: the preview's simulated desk publishes an event
/// (queued, agent joined, message, left, ended) to the session's sockets (dev only).
async fn simulate_desk(
    State(app): State<Arc<App>>,
    Path(session_id): Path<String>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<JsonValue>, ApiError> {
    if !app.config.dev {
        return Err(ApiError::RouteNotFound);
    }
    let request: DeskRequest = parse_body(&headers, body)?;
    let seq = app.conversations.simulate(&session_id, request.event).await?;
    Ok(Json(json!({"seq": seq})))
}

/// A transcript entry as the widget reads it.
#[derive(Debug, Serialize)]
struct EntryOut {
    seq: u64,
    at: chrono::DateTime<chrono::Utc>,
    kind: &'static str,
    payload: JsonValue,
}

/// A session's transcript, for the web chat to restore the conversation after a reload.
#[utoipa::path(
    get,
    path = "/v2/assistants/{assistant_id}/sessions/{session_id}/transcript",
    params(
        ("assistant_id" = String, Path, description = "The assistant's id"),
        ("session_id" = String, Path, description = "From create session"),
    ),
    responses(
        (status = 200, description = "`{\"session_id\": ..., \"entries\": [{\"seq\", \"at\", \"kind\": \"customer\" | \"assistant\" | \"agent\" | \"event\", \"payload\"}]}`; an event's payload is only its `type` (and `to`, the state a transfer reached)"),
        (status = "4XX", body = crate::error::ErrorBody),
    ),
    security((), ("basic" = []), ("bearer" = [])),
    tag = "web chat"
)]
pub(crate) async fn transcript_legacy(
    State(app): State<Arc<App>>,
    Path((assistant_id, session_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    transcript(app, &assistant_id, None, &session_id, &headers).await
}

/// A session's transcript (environment-scoped path).
#[utoipa::path(
    get,
    path = "/v2/assistants/{assistant_id}/environments/{environment_id}/sessions/{session_id}/transcript",
    params(
        ("assistant_id" = String, Path, description = "The assistant's id"),
        ("environment_id" = String, Path, description = "`draft` or `live`"),
        ("session_id" = String, Path, description = "From create session"),
    ),
    responses(
        (status = 200, description = "As the path without environment"),
        (status = "4XX", body = crate::error::ErrorBody),
    ),
    security((), ("basic" = []), ("bearer" = [])),
    tag = "web chat"
)]
pub(crate) async fn transcript_env(
    State(app): State<Arc<App>>,
    Path((assistant_id, environment_id, session_id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    transcript(app, &assistant_id, Some(&environment_id), &session_id, &headers).await
}

/// `GET …/sessions/{session_id}/transcript`: what the customer and the assistant said in an open
/// session, so the widget can show it again after a reload. Event entries carry only their type:
/// a transfer's message to the agent and failed inputs are for the agent, not the customer.
async fn transcript(
    app: Arc<App>,
    assistant_id: &str,
    environment_id: Option<&str>,
    session_id: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    customer_allowed(&app, headers).await?;
    app.engine(assistant_id, environment_id)?;
    let entries = app.conversations.transcript(assistant_id, session_id).await?;
    let entries: Vec<EntryOut> = entries
        .into_iter()
        .map(|entry| {
            let payload: JsonValue = serde_json::from_str(entry.payload.get()).unwrap_or(JsonValue::Null);
            let payload = match entry.kind {
                EntryKind::Event => customer_event(&payload),
                _ => payload,
            };
            EntryOut {
                seq: entry.seq,
                at: entry.at,
                kind: entry.kind.as_str(),
                payload,
            }
        })
        .collect();
    let mut response = Json(json!({"session_id": session_id, "entries": entries})).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// An event entry as the customer's transcript shows it: its type, and for a transfer's
/// transition the state it reached (so a reloaded widget knows whether an agent is there).
/// The rest (the message to the agent, failed inputs, who declined) is for agents.
fn customer_event(payload: &JsonValue) -> JsonValue {
    let kind = payload.get("type").cloned().unwrap_or(JsonValue::Null);
    match payload.get("to") {
        Some(to) if kind == "transfer" => json!({"type": kind, "to": to}),
        _ => json!({"type": kind}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_widget_carries_its_stylesheet() {
        assert!(!WIDGET.contains("__BATON_CSS__"));
        for script in [&*WIDGET, &*AGENT_RICH_TEXT] {
            assert!(!script.contains("__BATON_RICHTEXT__"));
            assert!(script.contains("function appendRichText(parent, text)"));
        }
        assert!(WIDGET.contains(".baton-wc-launcher"));
        assert!(AGENT_RICH_TEXT.contains("export { appendRichText, appendLink };"));
    }

    /// The console's scripts: the entry module, the modules listed, and the rich text module.
    fn console_scripts() -> Vec<(String, &'static str)> {
        let mut scripts = vec![("agent.js".to_owned(), AGENT_JS)];
        for (name, source) in AGENT_MODULES {
            scripts.push((format!("agent/{name}"), source));
        }
        scripts
    }

    #[test]
    fn every_console_module_in_the_folder_is_served_and_every_import_is_one() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/agent");
        let mut on_disk: Vec<String> = std::fs::read_dir(&folder)
            .unwrap_or_else(|error| panic!("reading {}: {error}", folder.display()))
            .map(|entry| {
                entry
                    .expect("a folder entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        on_disk.sort();
        let listed: Vec<&str> = AGENT_MODULES.iter().map(|(name, _)| *name).collect();
        assert_eq!(on_disk, listed, "AGENT_MODULES lists web/agent/, in order");

        let mut served: Vec<String> = listed.iter().map(|name| format!("/agent/{name}")).collect();
        served.push("/agent/richtext.js".to_owned());
        for (name, source) in console_scripts() {
            let base = if name.contains('/') { "/agent/" } else { "/" };
            for line in source.lines().filter(|line| line.starts_with("import ")) {
                let target = line
                    .rsplit_once(" from \"")
                    .and_then(|(_, rest)| rest.strip_suffix("\";"))
                    .unwrap_or_else(|| panic!("{name}: an import this test cannot read: {line}"));
                let url = format!("{base}{}", target.trim_start_matches("./"));
                assert!(served.contains(&url), "{name} imports {url}, which is not served");
            }
        }
    }

    #[tokio::test]
    async fn serves_each_file_with_its_type_and_caching() {
        use tower::ServiceExt as _;

        let module = "application/javascript; charset=utf-8";
        let mut cases = vec![
            ("/webchat.js", module),
            ("/agent", "text/html; charset=utf-8"),
            ("/agent/tickets", "text/html; charset=utf-8"),
            ("/agent/supervisor", "text/html; charset=utf-8"),
            ("/agent.js", module),
            ("/agent/richtext.js", module),
            ("/agent.css", "text/css; charset=utf-8"),
        ];
        let paths: Vec<String> = AGENT_MODULES.iter().map(|(name, _)| format!("/agent/{name}")).collect();
        cases.extend(paths.iter().map(|path| (path.as_str(), module)));
        for (path, content_type) in cases {
            let request = axum::http::Request::get(path)
                .body(axum::body::Body::empty())
                .expect("a request");
            let response = files::<()>().oneshot(request).await.expect("an answer");
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let headers = response.headers();
            assert_eq!(headers[header::CONTENT_TYPE], content_type, "{path}");
            assert_eq!(headers[header::CACHE_CONTROL], "no-cache", "{path}");
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
            let console = path == "/agent" || (path.starts_with("/agent/") && !path.ends_with(".js"));
            assert_eq!(
                headers.get(header::CONTENT_SECURITY_POLICY).is_some(),
                console,
                "{path}"
            );
        }
        let request = axum::http::Request::get("/agent/nothing.js")
            .body(axum::body::Body::empty())
            .expect("a request");
        let response = files::<()>().oneshot(request).await.expect("an answer");
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    /// The OpenAPI paths of this module.
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(transcript_legacy, transcript_env))]
    struct Document;

    #[test]
    fn documents_its_json_routes() {
        use utoipa::OpenApi as _;
        let document = Document::openapi();
        let paths: Vec<&String> = document.paths.paths.keys().collect();
        assert_eq!(paths.len(), 2, "{paths:?}");
        assert!(paths.iter().all(|path| path.ends_with("/transcript")));
    }

    #[test]
    fn the_console_page_loads_its_own_script_and_stylesheet_only() {
        assert!(AGENT_HTML.contains(r#"<script type="module" src="/agent.js"></script>"#));
        assert!(AGENT_HTML.contains(r#"<link rel="stylesheet" href="/agent.css">"#));
        // The policy forbids inline code: the page has none.
        assert!(!AGENT_HTML.contains("<script>") && !AGENT_HTML.contains("<style>"));
        assert!(!AGENT_HTML.contains(" onclick=") && !AGENT_HTML.contains(" style="));
        // Text from people goes in as text.
        for (name, source) in console_scripts()
            .into_iter()
            .chain([("webchat.js".to_owned(), WEBCHAT_JS)])
        {
            assert!(
                !source.contains("innerHTML") && !source.contains("insertAdjacentHTML"),
                "{name} inserts markup"
            );
        }
    }

    #[test]
    fn a_customer_sees_only_where_a_transfer_went() {
        let transition = json!({"type": "transfer", "transfer": "t1", "from": "queued", "to": "active",
            "cause": {"agent_joined": {"name": "Ann"}}});
        assert_eq!(customer_event(&transition), json!({"type": "transfer", "to": "active"}));
        let requested = json!({"type": "transfer_requested", "message_to_agent": "secret", "to": "x"});
        assert_eq!(customer_event(&requested), json!({"type": "transfer_requested"}));
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape_html("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
