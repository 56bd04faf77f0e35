//! The real `ibm-watson` Python SDK against the real server.
//!
//! Python comes from `BATON_PYTHON`, else `python3`; it needs `ibm-watson` installed
//! (`.ci/run` installs it with pip).

use baton_server::auth::ApiKey;
use baton_store::Store as _;

use crate::common::spawn_app_with;

#[tokio::test]
async fn the_ibm_watson_python_sdk_converses_to_a_transfer() {
    let app = spawn_app_with(|config| config.dev = false).await;
    let key = ApiKey::generate();
    app.store
        .create_api_key("sdk", &key.hash(), chrono::Utc::now())
        .await
        .unwrap();
    let python = std::env::var("BATON_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/conversation.py");
    let output = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(app.url(""))
        .arg(key.expose())
        .output()
        .await
        .unwrap_or_else(|error| panic!("running {python}: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{python} {}:\n{stdout}\n{stderr}",
        script.display()
    );
    assert!(stdout.contains("basic: conversation reached the transfer"), "{stdout}");
    assert!(stdout.contains("bearer: conversation reached the transfer"), "{stdout}");
}
