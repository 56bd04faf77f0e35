//! The OpenAPI 3 document of every route, served at `/openapi.json`.
//!
//! Built by `utoipa` from the handlers' annotations and the wire types, so it cannot drift from
//! the code; a test checks that every route the router serves is in it.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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
        crate::healthz,
        crate::readyz,
        crate::metrics,
        crate::openapi,
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
    modifiers(&Security, &OptionalMessageBody),
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

/// The document as served.
pub fn document() -> utoipa::openapi::OpenApi {
    Document::openapi()
}
