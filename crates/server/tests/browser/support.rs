//! What every browser test needs: the server with the bank example, chromedriver as a child
//! process, a Chromium session, and waiting for the page to show something; for the tests with
//! human agents, agents of Baton's own desk in the configuration.

use std::future::Future;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use baton_dialog::Engine;
use baton_server::config::ConfiguredAgent;
use baton_server::{Assistants, Clock, Config, Services};

use crate::programs::{self, Missing, Needs};

/// How long a page may take to show what a test waits for.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The password of every agent [`agent`] makes.
pub const PASSWORD: &str = "correct horse battery";

/// The stored form of [`PASSWORD`], hashed once: hashing is deliberately slow.
static PASSWORD_HASH: LazyLock<String> =
    LazyLock::new(|| baton_store::password::hash(PASSWORD).expect("hashing the agents' password"));

/// An agent of Baton's own desk, listed in the configuration, who signs in with [`PASSWORD`];
/// no queues means every queue.
pub fn agent(id: &str, name: &str, queues: &[&str]) -> ConfiguredAgent {
    ConfiguredAgent {
        id: baton_desk::AgentId::parse(id).expect("a valid agent id"),
        name: name.to_owned(),
        queues: queues
            .iter()
            .map(|queue| baton_desk::QueueName::parse(queue).expect("a valid queue name"))
            .collect(),
        capacity: 3,
        password_hash: Some(PASSWORD_HASH.clone()),
    }
}

/// Browser tests take turns: see the crate documentation.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Chromium and chromedriver, looked for once: see [`BROWSER`].
pub struct Programs {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

/// What every test of this binary needs; without it the tests pass as skipped and say so, or fail
/// under `BATON_REQUIRE_PROGRAMS` (see `programs`).
static BROWSER: Needs<Programs> = Needs::new("browser test", "", find_browser);

/// `BATON_CHROMIUM` and `BATON_CHROMEDRIVER`, or `chromium` and `chromedriver` on `PATH`.
fn find_browser() -> Result<Programs, Missing> {
    match (
        programs::program("BATON_CHROMIUM", "chromium"),
        programs::program("BATON_CHROMEDRIVER", "chromedriver"),
    ) {
        (Ok(chromium), Ok(chromedriver)) => Ok(Programs { chromium, chromedriver }),
        (chromium, chromedriver) => Err(Missing {
            reason: [chromium.err(), chromedriver.err()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", "),
            remedy: "apt-get install chromium chromium-driver, or set BATON_CHROMIUM and BATON_CHROMEDRIVER to them"
                .to_owned(),
        }),
    }
}

/// Runs one browser test on its own runtime, after the previous one has finished; returns at
/// once, the test skipped, when the machine has no browser.
pub fn run<F: Future<Output = ()>>(test: impl FnOnce() -> F) {
    if BROWSER.get().is_none() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("starting a tokio runtime");
    runtime.block_on(test());
}

/// The server, serving `examples/bank` in development mode from a temporary SQLite file.
pub struct TestServer {
    pub addr: SocketAddr,
    /// The assistants served, to replace one as a reload does.
    pub assistants: Assistants,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// Starts the server after `adjust` has changed the test configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("creating a temporary directory");
        let bank = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/bank");
        let loaded = baton_assistant::load_dir(&bank);
        let assistant = loaded.assistant.unwrap_or_else(|| {
            panic!(
                "the bank example did not load from {}: {:?}",
                bank.display(),
                loaded.diagnostics.iter().map(ToString::to_string).collect::<Vec<_>>()
            )
        });
        let mut config = Config::for_tests();
        config.database_url = format!("sqlite://{}", dir.path().join("test.db").display());
        adjust(&mut config);
        let store = baton_store::open(&config.database_url)
            .await
            .expect("opening the test database");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding port 0");
        let addr = listener.local_addr().expect("the bound address");
        let assistants = Assistants::new([Engine::new(assistant)]).expect("one assistant");
        let services = Services {
            assistants: assistants.clone(),
            store,
            clock: Clock::System,
        };
        tokio::spawn(async move {
            if let Err(error) = baton_server::run(listener, config, services, std::future::pending()).await {
                panic!("the server stopped: {error}");
            }
        });
        TestServer {
            addr,
            assistants,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// A chromedriver process, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium controlled through chromedriver; the driver dies with it.
pub struct Browser {
    pub client: Client,
    _driver: Driver,
}

impl Browser {
    pub async fn start() -> Browser {
        let Programs { chromium, chromedriver } = BROWSER
            .get()
            .expect("`run` starts a test only when the browser is there");
        let port = StdListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("finding a free port")
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {}: {error}", chromedriver.display()));
        let profile = tempfile::tempdir().expect("creating a browser profile directory");
        let driver = Driver {
            child,
            port,
            _profile: profile,
        };
        let deadline = Instant::now() + PATIENCE;
        while std::net::TcpStream::connect(("127.0.0.1", driver.port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen on port {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1280,800".to_owned(),
            format!("--user-data-dir={}", driver._profile.path().display()),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
            "unhandledPromptBehavior": "ignore",
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|error| panic!("starting a Chromium session through chromedriver: {error}"));
        Browser {
            client,
            _driver: driver,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|error| panic!("opening {url}: {error}"));
    }

    /// Runs JavaScript in the page and returns its result.
    pub async fn script(&self, source: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(source, args)
            .await
            .unwrap_or_else(|error| panic!("running a script in the page: {error}"))
    }

    /// The text of the first element matching `css`, or "" when there is none.
    pub async fn text_of(&self, css: &str) -> String {
        let found = self
            .script(
                "const node = document.querySelector(arguments[0]); return node ? node.textContent : '';",
                vec![json!(css)],
            )
            .await;
        found.as_str().unwrap_or_default().to_owned()
    }

    /// Waits until the element matching `css` contains `expected`.
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = self.text_of(css).await;
            if text.contains(expected) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "waited {PATIENCE:?} for {css:?} to contain {expected:?}; it has {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `condition` (a JavaScript expression) is true in the page.
    pub async fn wait_until(&self, condition: &str) {
        let deadline = Instant::now() + PATIENCE;
        let source = format!("return Boolean({condition});");
        while self.script(&source, Vec::new()).await != json!(true) {
            assert!(Instant::now() < deadline, "waited {PATIENCE:?} for `{condition}`");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let element = self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("finding {css}: {error}"));
        element
            .click()
            .await
            .unwrap_or_else(|error| panic!("clicking {css}: {error}"));
    }

    /// Types into the element matching `css` as a person would (keys, then Enter if it ends in `\n`).
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("finding {css}: {error}"));
        let keys = match text.strip_suffix('\n') {
            Some(line) => format!("{line}\u{E007}"),
            None => text.to_owned(),
        };
        element
            .send_keys(&keys)
            .await
            .unwrap_or_else(|error| panic!("typing into {css}: {error}"));
    }

    /// Saves a PNG screenshot of the page.
    pub async fn screenshot(&self, path: &Path) {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|error| panic!("taking a screenshot: {error}"));
        std::fs::write(path, png).unwrap_or_else(|error| panic!("writing {}: {error}", path.display()));
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// The `baton-server` binary as a child process serving the bank example in development mode on
/// a fixed port, so it can be killed (`kill -9`) and started again where the pages expect it.
pub struct ServerProcess {
    child: tokio::process::Child,
    pub port: u16,
}

impl ServerProcess {
    /// Starts the server on `port` (0: any free port) with `database_url`.
    pub async fn start(database_url: &str, port: u16) -> ServerProcess {
        use tokio::io::AsyncBufReadExt;

        let bank = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/bank");
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton-server"))
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database",
                database_url,
                "--dev",
            ])
            .arg(&bank)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("starting baton-server");
        let stdout = child.stdout.take().expect("the server's stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let address = tokio::time::timeout(PATIENCE, async {
            loop {
                match lines.next_line().await {
                    Ok(Some(line)) => {
                        if let Some(address) = line.strip_prefix("listening on ") {
                            return address.to_owned();
                        }
                    }
                    _ => panic!("baton-server stopped before it listened"),
                }
            }
        })
        .await
        .expect("baton-server listening in time");
        let port = address
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .expect("a port in the address");
        ServerProcess { child, port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `kill -9`, and waits until the process is gone.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("killing baton-server");
        let _ = self.child.wait().await;
    }
}
