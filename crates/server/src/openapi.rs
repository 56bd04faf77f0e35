//! The OpenAPI 3 document of every route, served at `/openapi.json`.
//!
//! Built by `utoipa` from the handlers' annotations and the wire types, so it cannot drift from
//! the code; the pages and the development-mode preview routes, which have no wire types, are
//! added by [`Pages`]. A test lists every route the router serves and checks each is in it
//! (the desks' webhook router, whose bodies are each desk's own, is left out).

use axum::response::IntoResponse;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Required};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Baton",
        description = "Watson Assistant v2 compatible message API. Authenticate with an API key from `baton apikey create`, as HTTP Basic with user `apikey` or as a Bearer token (not needed with `--dev`). Every error has the body `{\"error\": ..., \"code\": ..., \"baton_code\": ...}`."
    ),
    paths(
        crate::api::create_session_env,
        crate::api::message_env,
        crate::api::delete_session_env,
        crate::api::stateless_env,
        crate::api::create_session_legacy,
        crate::api::message_legacy,
        crate::api::delete_session_legacy,
        crate::api::stateless_legacy,
        crate::api::cancel_transfer_env,
        crate::api::cancel_transfer_legacy,
        crate::events::connect_env,
        crate::events::connect_legacy,
        crate::web::transcript_env,
        crate::web::transcript_legacy,
        crate::web::agent_module,
        crate::agents::login,
        crate::agents::logout,
        crate::agents::presence,
        crate::agents::events,
        crate::agents::transfer,
        crate::agents::accept,
        crate::agents::decline,
        crate::agents::message,
        crate::agents::pass_on,
        crate::agents::end,
        crate::agents::queues,
        crate::agents::tickets,
        crate::voice::call,
        crate::voice::dial,
        crate::voice::status,
        crate::ops::healthz,
        crate::ops::readyz,
        crate::ops::desk_ready,
        crate::ops::metrics,
        openapi,
    ),
    components(schemas(
        crate::error::ErrorBody,
        crate::agents::LoginRequest,
        crate::agents::PresenceRequest,
        crate::agents::AgentMessageRequest,
        crate::agents::MessageOut,
        crate::agents::PassOnRequest,
        crate::agents::EndRequest
    )),
    modifiers(&Security, &OptionalMessageBody, &Pages),
    security(("basic" = []), ("bearer" = []))
)]
struct Document;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// A message's body may be left out (an empty message starts the conversation, as IBM's does);
/// utoipa marks every request body required.
struct OptionalMessageBody;

impl Modify for OptionalMessageBody {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.ends_with("/message") {
                continue;
            }
            if let Some(body) = item.post.as_mut().and_then(|operation| operation.request_body.as_mut()) {
                body.required = Some(utoipa::openapi::Required::False);
            }
        }
    }
}

/// The pages (HTML, scripts, stylesheets) and the preview's JSON routes, which exist only in
/// development mode (a 404 otherwise).
struct Pages;

/// Path, content type, what it is, and whether it exists only in development mode.
const PAGES: &[(&str, &str, &str, bool)] = &[
    ("/", "text/html", "The demo page of a bank with the web chat", false),
    (
        "/webchat.js",
        "application/javascript",
        "The web chat widget, embedded with one script tag",
        false,
    ),
    ("/agent", "text/html", "The agent console", false),
    (
        "/agent/tickets",
        "text/html",
        "The agent console, on its tickets (messages left while no agent was online)",
        false,
    ),
    (
        "/agent/supervisor",
        "text/html",
        "The agent console, on its supervisor view",
        false,
    ),
    (
        "/agent.js",
        "application/javascript",
        "The agent console's script",
        false,
    ),
    ("/agent.css", "text/css", "The agent console's stylesheet", false),
    (
        "/preview",
        "text/html",
        "The preview page: the web chat beside a debug panel",
        true,
    ),
    (
        "/preview.js",
        "application/javascript",
        "The preview page's script",
        true,
    ),
    (
        "/preview/assistants",
        "application/json",
        "The assistants served, for the preview's picker: `[{\"id\", \"name\", \"version\", \"problems\": [...]}]`, where `version` counts the reloads of the edited assistant and `problems` says why the latest edit is not served",
        true,
    ),
];

impl Modify for Pages {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let not_found = || ResponseBuilder::new().description("Outside development mode: IBM's error body, `404`");
        for (path, content_type, description, dev_only) in PAGES {
            let ok = ResponseBuilder::new()
                .description(*description)
                .content(*content_type, ContentBuilder::new().build());
            let mut responses = ResponsesBuilder::new().response("200", ok);
            if *dev_only {
                responses = responses.response("404", not_found());
            }
            let operation = OperationBuilder::new()
                .summary(Some(*description))
                .tag("pages")
                .security(utoipa::openapi::security::SecurityRequirement::default())
                .responses(responses.build());
            openapi
                .paths
                .add_path_operation(*path, vec![HttpMethod::Get], operation.build());
        }
        let session = ParameterBuilder::new()
            .name("session_id")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some("From create session"))
            .schema(Some(string().build()))
            .build();
        let body = RequestBodyBuilder::new()
            .description(Some(
                "`{\"event\": {\"type\": \"queued\" | \"agent_joined\" | \"agent_message\" | \"agent_left\" | \"ended\", …}}`: \
                 the event the simulated desk publishes to the session's socket",
            ))
            .content("application/json", ContentBuilder::new().build())
            .required(Some(Required::True))
            .build();
        let desk = OperationBuilder::new()
            .summary(Some(
                "The preview's simulated desk: publishes an event to the session's socket",
            ))
            .tag("pages")
            .parameter(session)
            .request_body(Some(body))
            .security(utoipa::openapi::security::SecurityRequirement::default())
            .responses(
                ResponsesBuilder::new()
                    .response(
                        "200",
                        ResponseBuilder::new().description("`{\"seq\": N}`: the event's number"),
                    )
                    .response(
                        "4XX",
                        ResponseBuilder::new().description("IBM's error body; `404` outside development mode"),
                    )
                    .build(),
            );
        openapi.paths.add_path_operation(
            "/preview/sessions/{session_id}/desk",
            vec![HttpMethod::Post],
            desk.build(),
        );
        websocket_handshake(openapi);
    }
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// The headers of a WebSocket handshake (RFC 6455 §4.1) on the socket routes: without them
/// the server answers `400`, so a request that leaves them out is not a valid one.
fn websocket_handshake(openapi: &mut utoipa::openapi::OpenApi) {
    let header = |name: &str, schema: ObjectBuilder, description: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(Required::True)
            .description(Some(description))
            .schema(Some(schema.build()))
            .build()
    };
    for (path, item) in openapi.paths.paths.iter_mut() {
        let Some(operation) = item.get.as_mut().filter(|_| path.ends_with("/events")) else {
            continue;
        };
        let parameters = operation.parameters.get_or_insert_with(Vec::new);
        parameters.extend([
            header("Upgrade", string().enum_values(Some(["websocket"])), "`websocket`"),
            header("Connection", string().enum_values(Some(["Upgrade"])), "`Upgrade`"),
            header("Sec-WebSocket-Version", string().enum_values(Some(["13"])), "`13`"),
            header(
                "Sec-WebSocket-Key",
                string().pattern(Some("^[A-Za-z0-9+/]{21}[AQgw]==$")),
                "16 random bytes in base64",
            ),
        ]);
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", security(()), responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json")), tag = "operations")]
pub(crate) async fn openapi() -> impl IntoResponse {
    axum::Json(document())
}

/// The document as served.
pub fn document() -> utoipa::openapi::OpenApi {
    Document::openapi()
}
