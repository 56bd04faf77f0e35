//! A real Synapse for the live tests: installed with pip into `target/synapse-venv` (once, then
//! reused), configured for tests (SQLite, loopback, a free port, no federation, rate limits out of
//! the way, shared-secret registration, presence on, `bcrypt_rounds: 4`), started, and stopped
//! when dropped or when the test binary exits.
//!
//! A machine without `python3 -m venv` or without access to PyPI skips these tests loudly: the
//! first test to find out prints once how many tests it skips and why, and each test returns at
//! once. Under `BATON_REQUIRE_PROGRAMS=1` (CI) that is a failure instead. The skip logic is a
//! small copy of the server's `tests/shared/programs.rs`, since connectors do not depend on the
//! server crate.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{LazyLock, Once};
use std::time::{Duration, Instant};

/// The version the notes measured (/work/shared/notes/measured.md).
const SYNAPSE_VERSION: &str = "1.163.2";
const REQUIRE: &str = "BATON_REQUIRE_PROGRAMS";
pub const SHARED_SECRET: &str = "baton-test-registration-secret";

/// The Synapse every test of the binary shares (each test makes its own users and rooms).
static SHARED: LazyLock<Result<Synapse, String>> = LazyLock::new(|| venv().map(|python| Synapse::start(&python)));
static ANNOUNCED: Once = Once::new();

/// The shared Synapse, or `None` when it cannot be installed here (the test then returns).
pub fn shared() -> Option<&'static Synapse> {
    match &*SHARED {
        Ok(synapse) => Some(synapse),
        Err(reason) => {
            skip(reason);
            None
        }
    }
}

/// A Synapse of the test's own (for a test that stops and restarts it).
pub fn own() -> Option<Synapse> {
    match venv() {
        Ok(python) => Some(Synapse::start(&python)),
        Err(reason) => {
            skip(&reason);
            None
        }
    }
}

fn skip(reason: &str) {
    if required() {
        panic!("synapse could not be installed — {reason}; {REQUIRE} is set, so this fails the matrix tests");
    }
    ANNOUNCED.call_once(|| {
        let count = tests_in_this_run().map_or("the".to_owned(), |count| count.to_string());
        let line = format!(
            "\nskipped {count} matrix tests: synapse could not be installed — {reason}; python3 -m venv and \
             network access to PyPI are needed ({REQUIRE}=1 makes this a failure)\n"
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
    });
}

fn required() -> bool {
    std::env::var_os(REQUIRE).is_some_and(|value| !value.is_empty() && value != "0")
}

/// How many live tests (named `matrix_…`) this run would run: the binary lists them itself,
/// given this run's arguments.
fn tests_in_this_run() -> Option<usize> {
    let output = Command::new(std::env::current_exe().ok()?)
        .args(std::env::args_os().skip(1))
        .arg("--list")
        .output()
        .ok()?;
    let listed = String::from_utf8_lossy(&output.stdout);
    let live = listed
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .filter(|name| name.starts_with("matrix_"));
    Some(live.count())
}

/// The workspace's `target/` (integration tests get `target/tmp` as `CARGO_TARGET_TMPDIR`).
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

/// The venv's python with Synapse installed, installing it the first time; a lock file keeps two
/// test binaries from installing at once.
fn venv() -> Result<PathBuf, String> {
    static VENV: LazyLock<Result<PathBuf, String>> = LazyLock::new(install);
    VENV.clone()
}

fn install() -> Result<PathBuf, String> {
    let dir = target_dir().join("synapse-venv");
    let python = dir.join("bin/python");
    let installed = || {
        Command::new(&python)
            .args(["-c", "import synapse; print(synapse.__version__)"])
            .current_dir(target_dir())
            .output()
            .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).starts_with(SYNAPSE_VERSION))
    };
    if installed() {
        return Ok(python);
    }
    let started = Instant::now();
    let run = |command: &mut Command, what: &str| -> Result<(), String> {
        let output = command.output().map_err(|error| format!("{what}: {error}"))?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .unwrap_or_default();
        Err(format!("{what} failed: {last}"))
    };
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&dir),
        "python3 -m venv",
    )?;
    run(
        Command::new(dir.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("matrix-synapse=={SYNAPSE_VERSION}"),
        ]),
        "pip install matrix-synapse",
    )?;
    if !installed() {
        return Err("synapse installed but cannot be imported".into());
    }
    eprintln!("installed synapse {SYNAPSE_VERSION} in {:.0?}", started.elapsed());
    Ok(python)
}

/// A running Synapse.
pub struct Synapse {
    pub url: String,
    port: u16,
    dir: tempfile::TempDir,
    python: PathBuf,
    child: std::sync::Mutex<Option<Child>>,
}

impl Synapse {
    fn start(python: &Path) -> Synapse {
        let dir = tempfile::Builder::new()
            .prefix("synapse-")
            .tempdir_in(target_dir().join("tmp"))
            .or_else(|_| tempfile::tempdir())
            .expect("a temporary directory");
        let port = free_port();
        std::fs::write(dir.path().join("homeserver.yaml"), config(dir.path(), port)).expect("write the config");
        let output = Command::new(python)
            .args([
                "-m",
                "synapse.app.homeserver",
                "-c",
                "homeserver.yaml",
                "--generate-keys",
            ])
            .current_dir(dir.path())
            .output()
            .expect("run synapse --generate-keys");
        assert!(
            output.status.success(),
            "synapse --generate-keys: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let synapse = Synapse {
            url: format!("http://127.0.0.1:{port}"),
            port,
            dir,
            python: python.to_path_buf(),
            child: std::sync::Mutex::new(None),
        };
        synapse.run();
        synapse
    }

    /// Starts the homeserver (again) and waits until it answers.
    pub fn run(&self) {
        let started = Instant::now();
        let log = std::fs::File::create(self.dir.path().join("synapse.log")).expect("log file");
        // A watchdog shell stops Synapse when this test process is gone, however it ends: a
        // static is never dropped.
        let script = format!(
            "\"$0\" -m synapse.app.homeserver -c homeserver.yaml & s=$!; trap 'kill $s; wait $s; exit' TERM; \
             while kill -0 {} 2>/dev/null && kill -0 $s 2>/dev/null; do sleep 0.3; done; kill $s 2>/dev/null; wait $s",
            std::process::id()
        );
        let child = Command::new("sh")
            .args(["-c", &script])
            .arg(&self.python)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start synapse");
        *self.child.lock().unwrap() = Some(child);
        while !self.answers() {
            let log = std::fs::read_to_string(self.dir.path().join("synapse.log")).unwrap_or_default();
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "synapse did not answer within 90 s; its log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("synapse on port {} answered in {:.1?}", self.port, started.elapsed());
    }

    /// Stops the homeserver (its data stays, for [`Synapse::run`]).
    pub fn stop(&self) {
        let Some(mut child) = self.child.lock().unwrap().take() else {
            return;
        };
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let _ = child.wait();
        while self.answers() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let request = "GET /_matrix/client/versions HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        if stream.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200")
    }

    /// Registers a user with the shared secret (Synapse admin API, "Shared-Secret Registration")
    /// and returns their Matrix id.
    pub async fn register(&self, name: &str, password: &str, display_name: &str) -> String {
        let http = reqwest::Client::new();
        baton_connectors::matrix::admin::register(&http, &self.url, SHARED_SECRET, (name, password, Some(display_name)))
            .await
            .unwrap_or_else(|error| panic!("register {name}: {error}"))
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

fn config(dir: &Path, port: u16) -> String {
    let dir = dir.display();
    let unlimited = "{per_second: 100000, burst_count: 100000}";
    format!(
        r#"server_name: "localhost"
pid_file: "{dir}/homeserver.pid"
listeners:
  - port: {port}
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: "{dir}/homeserver.db"
media_store_path: "{dir}/media_store"
signing_key_path: "{dir}/localhost.signing.key"
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
report_stats: false
enable_registration: false
registration_shared_secret: "{SHARED_SECRET}"
macaroon_secret_key: "baton-test-macaroon-secret"
form_secret: "baton-test-form-secret"
bcrypt_rounds: 4
# A sync's timeline holds at most this many events per room (Synapse's default is 100, then the
# sync is `limited` and skips the rest); a test's agent may let more pile up between syncs.
filter_timeline_limit: 100000
presence:
  enabled: true
rc_message: {unlimited}
rc_registration: {unlimited}
rc_registration_token_validity: {unlimited}
rc_login:
  address: {unlimited}
  account: {unlimited}
  failed_attempts: {unlimited}
rc_joins:
  local: {unlimited}
  remote: {unlimited}
rc_joins_per_room: {unlimited}
rc_invites:
  per_room: {unlimited}
  per_user: {unlimited}
  per_issuer: {unlimited}
rc_presence:
  per_user: {unlimited}
rc_admin_redaction: {unlimited}
rc_3pid_validation: {unlimited}
rc_third_party_invite: {unlimited}
rc_room_creation: {unlimited}
rc_media_create: {unlimited}
rc_delayed_event_mgmt: {unlimited}
rc_reports: {unlimited}
"#
    )
}
