//! The real `ibm-watson` Python SDK against the real server.
//!
//! Python comes from `BATON_PYTHON` (`.ci/run` points it at a virtual environment with
//! `ibm-watson`). Without it, the test makes that environment itself under Cargo's target folder
//! with `python3 -m venv` and `pip install ibm-watson` (once; later runs reuse it), so
//! `cargo test --workspace` needs nothing installed beforehand but Python. A machine without
//! Python 3, its `venv` module or a way to PyPI skips the test and says so (`programs`), unless
//! `BATON_REQUIRE_PROGRAMS` is set.

use std::path::PathBuf;

use baton_server::auth::ApiKey;

use crate::common::spawn_app_with;
use crate::programs::{self, Needs};

/// A Python with `ibm-watson`, looked for (and made) once.
static SDK: Needs<PathBuf> = Needs::new("Python SDK test", "sdk::", programs::sdk_python);

#[tokio::test]
async fn the_ibm_watson_python_sdk_converses_to_a_transfer() {
    // Before the server starts: making the environment blocks this runtime's only thread.
    let Some(python) = SDK.get() else {
        return;
    };
    let app = spawn_app_with(|config| config.dev = false).await;
    let key = ApiKey::generate();
    app.store
        .create_api_key("sdk", &key.hash(), chrono::Utc::now())
        .await
        .unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/conversation.py");
    let output = tokio::process::Command::new(python)
        .arg(&script)
        .arg(app.url(""))
        .arg(key.expose())
        .output()
        .await
        .unwrap_or_else(|error| panic!("running {}: {error}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} {}:\n{stdout}\n{stderr}",
        python.display(),
        script.display()
    );
    assert!(stdout.contains("basic: conversation reached the transfer"), "{stdout}");
    assert!(stdout.contains("bearer: conversation reached the transfer"), "{stdout}");
}
