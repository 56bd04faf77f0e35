//! `baton bench hello-world` (hidden): the bare axum server `baton bench http` measures Baton
//! against, in a process of its own.
//!
//! It does what `../shared/bench/axum-hello` does, so the figures here and wrk's against that
//! server compare: Rasa's REST routes (`/webhooks/rest/webhook`, `/model/parse`), JSON in and
//! JSON out with no work between, on tokio's default multi-threaded runtime. It differs only in
//! being linked into `baton`, and so in using its allocator (mimalloc).

use anyhow::Context as _;
use axum::Json;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::process::SERVING_ON;

#[derive(Debug, clap::Args)]
pub struct HelloArgs {
    /// Where to listen; port 0 picks a free port, written to standard error.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
}

#[derive(Deserialize)]
struct Parse {
    text: String,
}

#[derive(Deserialize)]
struct Rest {
    sender: String,
    message: String,
}

async fn parse(Json(parse): Json<Parse>) -> Json<Value> {
    Json(json!({"text": parse.text, "intent": {"name": "greet", "confidence": 1.0}, "entities": []}))
}

async fn webhook(Json(rest): Json<Rest>) -> Json<Value> {
    // Read, as a real channel would, and not answered, as axum-hello does not.
    let _ = rest.message;
    Json(json!([{"recipient_id": rest.sender, "text": "Hey! How are you?"}]))
}

pub fn run(args: HelloArgs) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let app = axum::Router::new()
            .route("/", get(|| async { "Hello, World!" }))
            .route("/model/parse", post(parse))
            .route("/webhooks/rest/webhook", post(webhook));
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        eprintln!("hello-world: {SERVING_ON}{}", listener.local_addr()?);
        axum::serve(listener, app).await.context("serving")?;
        anyhow::Ok(0)
    })
}
