//! The real `ibm-watson` Python SDK against the real server.
//!
//! Python comes from `BATON_PYTHON` (`.ci/run` points it at a virtual environment with
//! `ibm-watson`). Without it, the test makes that environment itself under Cargo's target folder
//! with `python3 -m venv` and `pip install ibm-watson` (once; later runs reuse it), so
//! `cargo test --workspace` needs nothing installed beforehand but Python. A machine without
//! Python 3, its `venv` module or a way to PyPI skips the test and says so (`programs`), unless
//! `BATON_REQUIRE_PROGRAMS` is set.

use std::path::{Path, PathBuf};
use std::process::Command;

use baton_server::auth::ApiKey;

use crate::common::spawn_app_with;
use crate::programs::{self, Missing, Needs};

/// A Python with `ibm-watson`, looked for (and made) once.
static SDK: Needs<PathBuf> = Needs::new("Python SDK test", "sdk::", sdk_python);

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

/// `BATON_PYTHON`, or a virtual environment with `ibm-watson` in Cargo's target folder, made on
/// first use; what is missing when neither can be had.
fn sdk_python() -> Result<PathBuf, Missing> {
    if std::env::var_os("BATON_PYTHON").is_some() {
        return programs::program("BATON_PYTHON", "python").map_err(|reason| Missing {
            reason,
            remedy: "point BATON_PYTHON at a Python with ibm-watson".to_owned(),
        });
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ibm-watson-venv");
    let python = venv.join("bin/python");
    let has_sdk = Command::new(&python)
        .args(["-c", "import ibm_watson"])
        .output()
        .is_ok_and(|output| output.status.success());
    if has_sdk {
        return Ok(python);
    }
    let python3 = programs::on_path("python3").map_err(|reason| Missing {
        reason,
        remedy: "apt-get install python3 python3-venv, or set BATON_PYTHON to a Python with ibm-watson".to_owned(),
    })?;
    let make_venv = Command::new(&python3).arg("-m").arg("venv").arg(&venv).output();
    failed(make_venv).map_err(|error| Missing {
        reason: format!("{} -m venv failed: {error}", python3.display()),
        remedy: "apt-get install python3-venv, or set BATON_PYTHON to a Python with ibm-watson".to_owned(),
    })?;
    let install = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "ibm-watson",
        ])
        .output();
    failed(install).map_err(|error| Missing {
        reason: format!("pip could not install ibm-watson: {error}"),
        remedy: "let pip reach PyPI, or set BATON_PYTHON to a Python with ibm-watson".to_owned(),
    })?;
    Ok(python)
}

/// A command's failure in one line: the error starting it, or the last line it wrote to stderr.
fn failed(output: std::io::Result<std::process::Output>) -> Result<(), String> {
    let output = output.map_err(|error| error.to_string())?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().rev().find(|line| !line.trim().is_empty());
    Err(last.map_or_else(|| output.status.to_string(), |line| line.trim().to_owned()))
}
