//! The real `ibm-watson` Python SDK against the real server.
//!
//! Python comes from `BATON_PYTHON` (`.ci/run` points it at a virtual environment with
//! `ibm-watson`). Without it, the test makes that environment itself under Cargo's target folder
//! with `python3 -m venv` and `pip install ibm-watson` (once; later runs reuse it), so
//! `cargo test --workspace` needs nothing installed beforehand but Python.

use baton_server::auth::ApiKey;

use crate::common::spawn_app_with;

#[tokio::test]
async fn the_ibm_watson_python_sdk_converses_to_a_transfer() {
    let app = spawn_app_with(|config| config.dev = false).await;
    let key = ApiKey::generate();
    app.store
        .create_api_key("sdk", &key.hash(), chrono::Utc::now())
        .await
        .unwrap();
    let python = match std::env::var("BATON_PYTHON") {
        Ok(python) => python,
        Err(_) => sdk_python().await,
    };
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

/// A Python with `ibm-watson`: a virtual environment in Cargo's target folder, made on first use.
async fn sdk_python() -> String {
    let venv = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("ibm-watson-venv");
    let python = venv.join("bin/python");
    let has_sdk = |python: std::path::PathBuf| async move {
        tokio::process::Command::new(python)
            .args(["-c", "import ibm_watson"])
            .output()
            .await
            .is_ok_and(|output| output.status.success())
    };
    if !has_sdk(python.clone()).await {
        let steps: [(&str, Vec<&std::ffi::OsStr>); 2] = [
            ("python3", vec!["-m".as_ref(), "venv".as_ref(), venv.as_os_str()]),
            (
                python.to_str().expect("a UTF-8 path"),
                vec![
                    "-m".as_ref(),
                    "pip".as_ref(),
                    "install".as_ref(),
                    "-q".as_ref(),
                    "--disable-pip-version-check".as_ref(),
                    "ibm-watson".as_ref(),
                ],
            ),
        ];
        for (program, args) in steps {
            let output = tokio::process::Command::new(program)
                .args(&args)
                .output()
                .await
                .unwrap_or_else(|error| {
                    panic!("running {program}: {error}; set BATON_PYTHON to a Python with ibm-watson")
                });
            assert!(
                output.status.success(),
                "{program} {args:?} failed (set BATON_PYTHON to a Python with ibm-watson):\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    python.display().to_string()
}
