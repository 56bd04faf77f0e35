//! Several `baton serve` replicas on one PostgreSQL database behind a real HAProxy (round-robin,
//! no stickiness, health checks on `/readyz`): any replica serves any conversation, one order per
//! session, no stale session, and `kill -9` of a replica loses no acknowledged message.
//!
//! Each test has a schema of its own on the database `BATON_TEST_POSTGRES` names (default: the
//! machine's `postgres://postgres@127.0.0.1:5432/test`), dropped afterwards. Without HAProxy or a
//! reachable PostgreSQL the tests pass as skipped and say so once; under `BATON_REQUIRE_PROGRAMS=1`
//! (CI) that is a failure.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use baton_store::{EntryKind, SessionId};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};

use crate::programs::{Missing, Needs, on_path};
use crate::served::{self, Server, texts};

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

struct Programs {
    haproxy: PathBuf,
    postgres: String,
}

static NEEDS: Needs<Programs> = Needs::new("replica test", "replicas::", || {
    let haproxy = on_path("haproxy").map_err(|reason| Missing {
        reason,
        remedy: "apt-get install haproxy".to_owned(),
    })?;
    let postgres = std::env::var("BATON_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
    // Found from a test's runtime, so no runtime here: is anything listening where the URL says?
    let missing = |reason: String| Missing {
        reason,
        remedy: "apt-get install postgresql, or set BATON_TEST_POSTGRES=postgres://USER@HOST:PORT/DATABASE".to_owned(),
    };
    let options = baton_store::PostgresOptions::from_url(&postgres).map_err(|error| missing(error.to_string()))?;
    let (host, port) = (options.connect.get_host(), options.connect.get_port());
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .ok()
        .and_then(|mut addresses| addresses.next())
        .is_some_and(|address| std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok());
    if !reachable {
        return Err(missing(format!("no PostgreSQL at {host}:{port}")));
    }
    Ok(Programs { haproxy, postgres })
});

/// A schema of its own on the test database, dropped with it.
struct Schema {
    base: String,
    name: String,
}

impl Schema {
    async fn new(base: &str) -> Schema {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.subsec_nanos());
        let name = format!(
            "baton_replicas_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let mut conn = PgConnection::connect(base).await.expect("connect to PostgreSQL");
        conn.execute(format!("CREATE SCHEMA {name}").as_str())
            .await
            .expect("create the schema");
        Schema {
            base: base.to_owned(),
            name,
        }
    }

    fn url(&self) -> String {
        let separator = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{separator}options=-csearch_path%3D{}", self.base, self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&base).await.ok()?;
                conn.execute(format!("DROP SCHEMA {name} CASCADE").as_str()).await.ok()
            })
        })
        .join();
    }
}

/// HAProxy in front of the replicas' addresses, in the foreground.
struct Balancer {
    child: Child,
    address: String,
}

impl Balancer {
    fn start(haproxy: &Path, dir: &Path, replicas: &[&str]) -> Balancer {
        let port = free_port();
        let servers: String = replicas
            .iter()
            .enumerate()
            .map(|(index, address)| {
                let host = address.trim_start_matches("http://");
                format!("    server r{index} {host} check\n")
            })
            .collect();
        // The deployment guide's configuration (docs/deploy.md), with short check intervals:
        // agent routes go to the replica holding the desk, everything else round-robin.
        let config = format!(
            "global\n    maxconn 4096\n\
             defaults\n    mode http\n    timeout connect 2s\n    timeout client 60s\n    timeout server 60s\n    \
             timeout tunnel 1h\n    option redispatch\n    retries 2\n\
             frontend baton\n    bind 127.0.0.1:{port}\n    acl agent_route path_beg /v1/agent/\n    \
             use_backend desk if agent_route\n    default_backend replicas\n\
             backend replicas\n    balance roundrobin\n    option httpchk GET /readyz\n    \
             http-check expect status 200\n    default-server inter 300ms fall 2 rise 1\n{servers}\
             backend desk\n    option httpchk GET /readyz/desk\n    \
             http-check expect status 200\n    default-server inter 300ms fall 1 rise 1\n{servers}"
        );
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config).expect("write haproxy.cfg");
        let child = Command::new(haproxy)
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy starts");
        Balancer {
            child,
            address: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Waits until every replica answers through the balancer.
    async fn ready(&self, client: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = client
                .get(format!("{}/readyz", self.address))
                .send()
                .await
                .is_ok_and(|response| response.status() == 200);
            if ready {
                // Health checks every 300 ms: give each server its first one.
                tokio::time::sleep(Duration::from_millis(700)).await;
                return;
            }
            assert!(Instant::now() < deadline, "haproxy never answered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("address").port()
}

/// `n` replicas on a new schema, HAProxy in front.
struct Cluster {
    replicas: Vec<Server>,
    balancer: Balancer,
    schema: Schema,
    _dir: tempfile::TempDir,
    client: reqwest::Client,
}

impl Cluster {
    async fn start(programs: &Programs, n: usize) -> Cluster {
        Cluster::start_with(programs, n, "").await
    }

    /// [`Cluster::start`] with more configuration in `baton.toml`.
    async fn start_with(programs: &Programs, n: usize, config: &str) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        // No rate limit: the tests fire many messages from one address.
        let config = format!("[rate_limit]\nper_second = 0\n\n{config}");
        std::fs::write(dir.path().join("baton.toml"), config).unwrap();
        let schema = Schema::new(&programs.postgres).await;
        let url = schema.url();
        let replicas: Vec<Server> = (0..n).map(|_| Server::start_on(dir.path(), &url, &[])).collect();
        let addresses: Vec<&str> = replicas.iter().map(|server| server.address.as_str()).collect();
        let balancer = Balancer::start(&programs.haproxy, dir.path(), &addresses);
        let client = reqwest::Client::new();
        balancer.ready(&client).await;
        Cluster {
            replicas,
            balancer,
            schema,
            _dir: dir,
            client,
        }
    }

    /// The customer messages and replies of a session as stored, in order.
    async fn transcript(&self, session: &str) -> Vec<(EntryKind, Value)> {
        let store = baton_store::open(&self.schema.url()).await.expect("open the store");
        store
            .transcript(&SessionId::new(session))
            .await
            .expect("the transcript")
            .into_iter()
            .map(|entry| (entry.kind, serde_json::from_str(entry.payload.get()).unwrap()))
            .collect()
    }
}

/// Sends `text` (with `message_id` if any) to `address`; the status and body.
async fn send(
    client: &reqwest::Client,
    address: &str,
    session: &str,
    text: &str,
    message_id: Option<&str>,
) -> (u16, Value) {
    let mut request = client
        .post(served::api(address, &format!("/sessions/{session}/message")))
        .json(&json!({"input": {"text": text}}));
    if let Some(id) = message_id {
        request = request.header("x-client-message-id", id);
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

/// The customers' texts in a transcript, in order.
fn customer_texts(transcript: &[(EntryKind, Value)]) -> Vec<String> {
    transcript
        .iter()
        .filter(|(kind, _)| *kind == EntryKind::Customer)
        .map(|(_, payload)| payload["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Every customer entry is followed by its turn's own replies before the next customer entry:
/// no two turns interleaved.
fn assert_turns_whole(transcript: &[(EntryKind, Value)]) {
    let kinds: Vec<EntryKind> = transcript.iter().map(|(kind, _)| *kind).collect();
    for pair in kinds.windows(2) {
        assert!(
            !(pair[0] == EntryKind::Customer && pair[1] == EntryKind::Customer),
            "two customer messages without the first one's reply between them: {kinds:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleaved_messages_at_two_replicas_are_applied_one_after_another() {
    let Some(programs) = NEEDS.get() else { return };
    let cluster = Cluster::start(programs, 2).await;
    let client = &cluster.client;
    let (a, b) = (&cluster.replicas[0].address, &cluster.replicas[1].address);
    let session = served::new_session(client, &cluster.balancer.address).await;

    // 24 messages at once: alternately at replica A and B directly and through the balancer,
    // half with a client message id, and each id sent twice (to both replicas).
    let mut sends = Vec::new();
    for index in 0..24 {
        let address = match index % 3 {
            0 => a.clone(),
            1 => b.clone(),
            _ => cluster.balancer.address.clone(),
        };
        let text = format!("what are your opening hours {index}");
        let with_id = index % 2 == 0;
        let copies = if with_id { 2 } else { 1 };
        for copy in 0..copies {
            let target = if copy == 0 {
                address.clone()
            } else if address == *a {
                b.clone()
            } else {
                a.clone()
            };
            let (client, session, text) = (client.clone(), session.clone(), text.clone());
            let id = with_id.then(|| format!("m{index}"));
            sends.push(tokio::spawn(async move {
                let (status, body) = send(&client, &target, &session, &text, id.as_deref()).await;
                (index, id, status, body)
            }));
        }
    }
    let mut answered: HashMap<String, Vec<Value>> = HashMap::new();
    for sent in sends {
        let (index, id, status, body) = sent.await.unwrap();
        assert_eq!(status, 200, "message {index} ({id:?}): {body}");
        if let Some(id) = id {
            answered.entry(id).or_default().push(body);
        }
    }
    for (id, bodies) in &answered {
        assert_eq!(bodies.len(), 2);
        assert_eq!(bodies[0], bodies[1], "both sends of {id} got the one stored reply");
    }

    let transcript = cluster.transcript(&session).await;
    let mut said = customer_texts(&transcript);
    let mut expected: Vec<String> = (0..24)
        .map(|index| format!("what are your opening hours {index}"))
        .collect();
    said.sort();
    expected.sort();
    assert_eq!(said, expected, "every message applied exactly once");
    assert_turns_whole(&transcript);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_moving_between_replicas_never_sees_a_stale_session() {
    let Some(programs) = NEEDS.get() else { return };
    let cluster = Cluster::start(programs, 2).await;
    let client = &cluster.client;
    let replicas = [&cluster.replicas[0].address, &cluster.replicas[1].address];
    let session = served::new_session(client, replicas[0]).await;
    // Each turn at the other replica than the last: each replica keeps the session as its own
    // last turn left it, two versions old by the time it is asked again.
    let script = [
        ("I want to transfer money", "Who would you like to send money to?"),
        ("Alex Morgan", "How much would you like to send to Alex Morgan?"),
        ("$20,000", "You can transfer between $1 and $10,000 in chat."),
        ("$250", "When should the transfer happen?"),
    ];
    for (turn, (customer, expected)) in script.iter().enumerate() {
        let reply = served::say(client, replicas[turn % 2], &session, customer).await;
        let said = texts(&reply);
        assert!(
            said.iter().any(|text| text == expected),
            "turn {turn} at replica {}: {customer:?} -> {said:?}",
            turn % 2
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_replica_under_load_loses_no_acknowledged_message() {
    let Some(programs) = NEEDS.get() else { return };
    let mut cluster = Cluster::start(programs, 2).await;
    let lb = cluster.balancer.address.clone();
    let sessions: Vec<String> = {
        let mut sessions = Vec::new();
        for _ in 0..8 {
            sessions.push(served::new_session(&cluster.client, &lb).await);
        }
        sessions
    };
    // Customers send through the balancer and retry a failed send with the same message id,
    // as the widget does, until it is answered.
    let stop = Instant::now() + Duration::from_secs(6);
    let mut customers = Vec::new();
    for session in sessions.clone() {
        let (client, lb) = (cluster.client.clone(), lb.clone());
        customers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut index = 0;
            while Instant::now() < stop {
                let text = format!("opening hours please {index}");
                let id = format!("{session}-{index}");
                let deadline = Instant::now() + Duration::from_secs(30);
                loop {
                    let (status, _) = send(&client, &lb, &session, &text, Some(&id)).await;
                    if status == 200 {
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "{text} never answered (last status {status})"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                acknowledged.push(text);
                index += 1;
            }
            (session, acknowledged)
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.replicas.remove(0).kill();
    let mut total = 0;
    for customer in customers {
        let (session, acknowledged) = customer.await.unwrap();
        total += acknowledged.len();
        let transcript = cluster.transcript(&session).await;
        let said = customer_texts(&transcript);
        assert_eq!(
            said, acknowledged,
            "session {session}: every acknowledged message, once, in order"
        );
        assert_turns_whole(&transcript);
    }
    assert!(total > 16, "the load ran: {total} messages");
}

/// Copies a folder and everything in it.
fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        match entry.file_type().unwrap().is_dir() {
            true => copy_folder(&entry.path(), &target),
            false => {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_to_each_replica_serves_the_edited_assistant_everywhere() {
    let Some(programs) = NEEDS.get() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("baton.toml"), "[rate_limit]\nper_second = 0\n").unwrap();
    let folder = dir.path().join("bank");
    copy_folder(&crate::example("bank"), &folder);
    let schema = Schema::new(&programs.postgres).await;
    let unwatched = [("BATON_WATCH", "false")];
    let replicas: Vec<Server> = (0..2)
        .map(|_| Server::start_serving(&folder, dir.path(), &schema.url(), &unwatched))
        .collect();
    let addresses: Vec<&str> = replicas.iter().map(|server| server.address.as_str()).collect();
    let balancer = Balancer::start(&programs.haproxy, dir.path(), &addresses);
    let client = reqwest::Client::new();
    balancer.ready(&client).await;
    let session = served::new_session(&client, &balancer.address).await;
    let hours = folder.join("actions/branch_hours.yaml");
    let before = "Our branches are open Monday to Friday 9:00 to 17:00";
    let after = "Our branches are open Monday to Friday 8:00 to 18:00";
    let text = std::fs::read_to_string(&hours).unwrap();
    assert!(text.contains(before));
    std::fs::write(&hours, text.replace(before, after)).unwrap();
    for replica in &replicas {
        let pid = i32::try_from(replica.pid()).expect("a process id fits an i32");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGHUP).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !replicas.iter().all(|replica| replica.log().contains("reloaded bank")) {
        assert!(Instant::now() < deadline, "not every replica reloaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Round-robin: consecutive messages go to each replica in turn.
    for _ in 0..4 {
        let reply = served::say(&client, &balancer.address, &session, "what are your opening hours").await;
        let said = texts(&reply);
        assert!(said.iter().any(|text| text.starts_with(after)), "{said:?}");
    }
}

/// PostgreSQL's own programs (`initdb`, `pg_ctl`), for a private server the test may stop.
static POSTGRES_PROGRAMS: Needs<PathBuf> =
    Needs::new("replica test with a private PostgreSQL", "replicas::postgres_", || {
        let found = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("bin"))
            .find(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file());
        found.ok_or_else(|| Missing {
            reason: "PostgreSQL's initdb and pg_ctl not found under /usr/lib/postgresql".to_owned(),
            remedy: "apt-get install postgresql".to_owned(),
        })
    });

/// A PostgreSQL server of the test's own in a temporary directory, so it can be stopped without
/// touching the machine's. Run as the `postgres` user when the test runs as root (PostgreSQL
/// refuses to run as root).
struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PrivatePostgres {
    fn start(bin: &Path) -> PrivatePostgres {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        if as_root() {
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(chown.success());
        }
        let initdb = pg_command(&bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(initdb.success(), "initdb");
        let server = PrivatePostgres {
            bin: bin.to_owned(),
            data,
            port: free_port(),
            _dir: dir,
        };
        server.pg_ctl("start");
        server
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl(&self, action: &str) {
        let mut command = pg_command(&self.bin.join("pg_ctl"));
        command.arg(action).arg("-w").arg("-D").arg(&self.data);
        match action {
            "start" => {
                let options = format!(
                    "-p {} -k {} -c listen_addresses=127.0.0.1",
                    self.port,
                    self.data.display()
                );
                command.arg("-o").arg(options).arg("-l").arg(self.data.join("log"));
            }
            // Immediate: every backend killed at once, as in a crash; the restart recovers.
            _ => {
                command.args(["-m", "immediate"]);
            }
        }
        let status = command.stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
        assert!(status.success(), "pg_ctl {action}");
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = pg_command(&self.bin.join("pg_ctl"))
            .args(["stop", "-m", "immediate", "-D"])
            .arg(&self.data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn pg_command(program: &Path) -> Command {
    match as_root() {
        true => {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        }
        false => Command::new(program),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_gives_503_and_not_ready_then_recovers_without_a_restart() {
    let Some(bin) = POSTGRES_PROGRAMS.get() else { return };
    let postgres = PrivatePostgres::start(bin);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("baton.toml"), "").unwrap();
    let server = Server::start_on(dir.path(), &format!("{}?acquire_timeout_secs=2", postgres.url()), &[]);
    let client = reqwest::Client::new();
    let session = server.new_session().await;
    let (status, _) = send(&client, &server.address, &session, "hello", Some("before")).await;
    assert_eq!(status, 200);

    postgres.pg_ctl("stop");
    let (status, body) = send(&client, &server.address, &session, "anyone there?", Some("during")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["baton_code"], "database_unavailable", "{body}");
    let ready = client.get(format!("{}/readyz", server.address)).send().await.unwrap();
    assert_eq!(ready.status(), 503, "readiness goes red");

    postgres.pg_ctl("start");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _) = send(&client, &server.address, &session, "anyone there?", Some("during")).await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "never recovered (last status {status})");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A pooled connection broken by the stop is dropped at its first use: readiness may need one more look.
    let ready_again = loop {
        let ready = client.get(format!("{}/readyz", server.address)).send().await.unwrap();
        if ready.status() == 200 || Instant::now() > deadline {
            break ready.status();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(ready_again, 200, "ready again");
    let store = baton_store::open(&postgres.url()).await.unwrap();
    let said: Vec<String> = store
        .transcript(&SessionId::new(&session))
        .await
        .unwrap()
        .into_iter()
        .filter(|entry| entry.kind == EntryKind::Customer)
        .map(|entry| {
            serde_json::from_str::<Value>(entry.payload.get()).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        said,
        ["hello", "anyone there?"],
        "the refused message was not half written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_on_one_replica_reaches_the_customers_socket_on_another() {
    use futures_util::StreamExt;
    let Some(programs) = NEEDS.get() else { return };
    let cluster = Cluster::start(programs, 2).await;
    let (a, b) = (&cluster.replicas[0].address, &cluster.replicas[1].address);
    let session = served::new_session(&cluster.client, a).await;
    let ws = a.replacen("http://", "ws://", 1);
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{ws}/v2/assistants/bank/sessions/{session}/events"))
            .await
            .expect("the customer's socket opens on replica A");
    // The socket is subscribed once the upgrade is answered; the event is published on B.
    let published = cluster
        .client
        .post(format!("{b}/preview/sessions/{session}/desk"))
        .json(&json!({"event": {"type": "agent_message", "agent_name": "Ann", "text": "Hello from replica B"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 200);
    let heard = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(frame) = socket.next().await {
            let text = frame.expect("a frame").into_text().unwrap_or_default();
            if text.contains("Hello from replica B") {
                return text.to_string();
            }
        }
        String::new()
    })
    .await
    .expect("the event crossed to replica A within 10 s");
    let frame: Value = serde_json::from_str(&heard).unwrap();
    assert_eq!(frame["type"], "agent_message", "{frame}");
}

// ---- the desk across replicas ----

/// An agent of the test configuration, who may serve every queue.
fn agent_config(username: &str, capacity: u32) -> String {
    let hash = baton_store::password::hash(&format!("{username}-password")).unwrap();
    format!(
        "[[desk.agents]]\nid = \"{username}\"\nname = \"{username}\"\ncapacity = {capacity}\npassword_hash = \"{hash}\"\n"
    )
}

/// The replica whose `/readyz/desk` answers 200, once one does.
async fn holder(client: &reqwest::Client, replicas: &[&str]) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        for (index, address) in replicas.iter().enumerate() {
            let ready = client.get(format!("{address}/readyz/desk")).send().await;
            if ready.is_ok_and(|response| response.status() == 200) {
                return index;
            }
        }
        assert!(Instant::now() < deadline, "no replica took the desk");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next frame of `kind` on a socket, within 15 s.
async fn next_frame(socket: &mut Socket, kind: &str) -> Value {
    next_frame_seeing(socket, kind, &mut Vec::new()).await
}

/// [`next_frame`], keeping every frame read on the way in `seen`.
async fn next_frame_seeing(socket: &mut Socket, kind: &str, seen: &mut Vec<Value>) -> Value {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} frame within 15 s"))
            .expect("the socket is open")
            .expect("a frame");
        if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
            let value: Value = serde_json::from_str(&text).unwrap();
            seen.push(value.clone());
            if value["type"] == kind {
                return value;
            }
        }
    }
}

/// An agent using the console through the balancer, as a browser would.
struct Agent {
    base: String,
    token: String,
    socket: Socket,
    client: reqwest::Client,
    /// Every frame the socket delivered so far.
    seen: Vec<Value>,
}

impl Agent {
    /// Logs in, opens the event socket and goes online, retrying while no replica holds the desk.
    async fn online(base: &str, username: &str) -> Agent {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        let token = loop {
            let login = client
                .post(format!("{base}/v1/agent/login"))
                .json(&json!({"username": username, "password": format!("{username}-password")}))
                .send()
                .await;
            if let Ok(response) = login
                && response.status() == 200
            {
                let body: Value = response.json().await.unwrap();
                break body["token"].as_str().unwrap().to_owned();
            }
            assert!(Instant::now() < deadline, "the agent could not log in");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        Agent::reconnect(base, &token).await
    }

    /// Opens the event socket with the token it has and goes online (the console does both
    /// when its socket drops), retrying while no replica holds the desk.
    async fn reconnect(base: &str, token: &str) -> Agent {
        let ws = base.replacen("http://", "ws://", 1);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut socket = loop {
            match tokio_tungstenite::connect_async(format!("{ws}/v1/agent/events?token={token}")).await {
                Ok((socket, _)) => break socket,
                Err(error) => {
                    assert!(Instant::now() < deadline, "the agent's socket never opened: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        next_frame(&mut socket, "hello").await;
        let agent = Agent {
            base: base.to_owned(),
            token: token.to_owned(),
            socket,
            client: reqwest::Client::new(),
            seen: Vec::new(),
        };
        let (status, body) = agent
            .call(
                reqwest::Method::PUT,
                "/v1/agent/presence",
                json!({"presence": "online"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        agent
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Accepts an offered transfer.
    async fn accept(&self, transfer: &str) {
        let path = format!("/v1/agent/transfers/{transfer}/accept");
        let (status, body) = self.call(reqwest::Method::POST, &path, json!({})).await;
        assert_eq!(status, 200, "{body}");
    }

    /// Writes to the customer of an active transfer.
    async fn write(&self, transfer: &str, text: &str) {
        let path = format!("/v1/agent/transfers/{transfer}/messages");
        let (status, body) = self.call(reqwest::Method::POST, &path, json!({"text": text})).await;
        assert_eq!(status, 201, "{body}");
    }

    async fn next(&mut self, kind: &str) -> Value {
        next_frame_seeing(&mut self.socket, kind, &mut self.seen).await
    }
}

/// The customer's event socket on `address`.
async fn customer_socket(address: &str, session: &str) -> Socket {
    let ws = address.replacen("http://", "ws://", 1);
    let (socket, _) = tokio_tungstenite::connect_async(format!("{ws}/v2/assistants/bank/sessions/{session}/events"))
        .await
        .expect("the customer's socket opens");
    socket
}

/// A customer on `address` who asks for a person; the time the request left.
async fn ask_for_a_person(client: &reqwest::Client, address: &str) -> (String, Instant) {
    let session = served::new_session(client, address).await;
    let asked = Instant::now();
    let reply = served::say(client, address, &session, "I want to talk to a person").await;
    let kinds: Vec<&str> = reply["output"]["generic"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["response_type"].as_str())
        .collect();
    assert!(kinds.contains(&"connect_to_agent"), "{reply}");
    (session, asked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_at_the_desk_replica_serves_a_customer_at_another() {
    let Some(programs) = NEEDS.get() else { return };
    let cluster = Cluster::start_with(programs, 2, &agent_config("ann", 2)).await;
    let client = &cluster.client;
    let addresses: Vec<&str> = cluster.replicas.iter().map(|server| server.address.as_str()).collect();
    let desk = holder(client, &addresses).await;
    let other = addresses[1 - desk];
    // The other replica does not serve agent routes: the balancer sends them to the holder.
    let direct = client.get(format!("{other}/v1/agent/queues")).send().await.unwrap();
    assert_eq!(direct.status(), 503);
    let body: Value = direct.json().await.unwrap();
    assert_eq!(body["baton_code"], "desk_elsewhere", "{body}");

    let lb = cluster.balancer.address.clone();
    let mut ann = Agent::online(&lb, "ann").await;
    let (session, asked) = ask_for_a_person(client, other).await;
    let offer = ann.next("offer").await;
    let offered_after = asked.elapsed();
    let transfer = offer["transfer"].as_str().unwrap().to_owned();
    assert!(
        offer["brief"]["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("asked for a person"),
        "{offer}"
    );
    println!("offer reached the agent on the other replica {offered_after:?} after the customer's message was sent");

    let mut customer = customer_socket(other, &session).await;
    ann.accept(&transfer).await;
    next_frame(&mut customer, "agent_joined").await;
    ann.write(&transfer, "Hi, Ann here.").await;
    assert_eq!(
        next_frame(&mut customer, "agent_message").await["text"],
        "Hi, Ann here."
    );
    served::say(client, other, &session, "my card was swallowed by the machine").await;
    let heard = ann.next("customer_message").await;
    assert_eq!(
        heard["message"]["text"], "my card was swallowed by the machine",
        "{heard}"
    );
    // One replica offered it, once: every frame the console got on the way is counted.
    let offers = ann
        .seen
        .iter()
        .filter(|frame| frame["type"] == "offer" && frame["transfer"] == transfer.as_str())
        .count();
    assert_eq!(offers, 1, "{:?}", ann.seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_desk_replica_hands_the_desk_with_its_chats_to_a_survivor() {
    let Some(programs) = NEEDS.get() else { return };
    let mut cluster = Cluster::start_with(programs, 2, &agent_config("ann", 2)).await;
    let client = cluster.client.clone();
    let addresses: Vec<String> = cluster.replicas.iter().map(|server| server.address.clone()).collect();
    let desk = holder(&client, &[&addresses[0], &addresses[1]]).await;
    let survivor = addresses[1 - desk].clone();
    let lb = cluster.balancer.address.clone();

    // An active chat, its customer on the survivor.
    let mut ann = Agent::online(&lb, "ann").await;
    let (chatting, _) = ask_for_a_person(&client, &survivor).await;
    let first = ann.next("offer").await["transfer"].as_str().unwrap().to_owned();
    ann.accept(&first).await;
    // Acknowledged only once stored: whatever happens to the desk's replica now, the chat is the agent's.
    let store = baton_store::open(&cluster.schema.url()).await.unwrap();
    let accepted = store.load_transfer(&first).await.unwrap().expect("stored");
    assert_eq!(accepted.state, "active");
    let mut customer = customer_socket(&survivor, &chatting).await;
    // A second customer's transfer, offered and not answered when the desk's replica dies.
    let (waiting, _) = ask_for_a_person(&client, &survivor).await;
    let second = ann.next("offer").await["transfer"].as_str().unwrap().to_owned();
    assert_ne!(first, second);

    let token = ann.token.clone();
    drop(ann);
    cluster.replicas.remove(desk).kill();
    let took_over = Instant::now();
    assert_eq!(holder(&client, &[&survivor]).await, 0);
    println!("the survivor held the desk {:?} after the kill", took_over.elapsed());

    // The console reconnects through the balancer with its token and goes online again.
    let mut ann = Agent::reconnect(&lb, &token).await;
    let offered_again = ann.next("offer").await;
    assert_eq!(
        offered_again["transfer"],
        second.as_str(),
        "the waiting transfer is offered again"
    );
    // The active chat carries on: both ways.
    ann.write(&first, "Still here.").await;
    assert_eq!(next_frame(&mut customer, "agent_message").await["text"], "Still here.");
    served::say(&client, &survivor, &chatting, "great, thanks").await;
    assert_eq!(ann.next("customer_message").await["message"]["text"], "great, thanks");
    ann.accept(&second).await;
    let transcript = cluster.transcript(&waiting).await;
    assert!(
        transcript
            .iter()
            .any(|(kind, payload)| *kind == EntryKind::Event && payload["to"] == "active"),
        "the second transfer became active: {transcript:?}"
    );
}

/// The reference webhook desk (`examples/webhook-desk/desk.py`), stopped when dropped.
struct ReferenceDesk(Child);

impl Drop for ReferenceDesk {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_calling_a_replica_that_does_not_hold_the_desk_reaches_the_chat() {
    let Some(programs) = NEEDS.get() else { return };
    let python = on_path("python3").expect("Python 3 runs the reference desk");
    let secrets = tempfile::tempdir().unwrap();
    let secret = "whsec_a-replica-test-secret";
    std::fs::write(secrets.path().join("desk-secret"), secret).unwrap();
    let port = free_port();
    let config = format!(
        "[desks.helpdesk]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{port}/\"\nsecret_file = \"{}\"\n\n\
         [routes]\n\"*\" = [\"helpdesk\"]\n",
        secrets.path().join("desk-secret").display()
    );
    let cluster = Cluster::start_with(programs, 2, &config).await;
    let client = &cluster.client;
    let addresses: Vec<&str> = cluster.replicas.iter().map(|server| server.address.as_str()).collect();
    let other = addresses[1 - holder(client, &addresses).await];
    // The desk calls the replica that does not hold the desk; so does the customer.
    let script = crate::example("webhook-desk").join("desk.py");
    let mut desk = Command::new(python)
        .arg(script)
        .args(["--port", &port.to_string(), "--baton-url", other, "--desk", "helpdesk"])
        .env("DESK_SECRET", secret)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the reference desk starts");
    let stdout = desk.stdout.take().unwrap();
    let _desk = ReferenceDesk(desk);
    let first = std::io::BufRead::lines(std::io::BufReader::new(stdout)).next();
    assert!(
        first.is_some_and(|line| line.is_ok_and(|line| line.starts_with("desk: listening"))),
        "the reference desk did not start"
    );

    let session = served::new_session(client, other).await;
    served::say(client, other, &session, "").await;
    let mut customer = customer_socket(other, &session).await;
    served::say(client, other, &session, "I want to talk to a person").await;
    assert_eq!(
        next_frame(&mut customer, "agent_joined").await["agent_name"],
        "Agent Ada"
    );
    next_frame(&mut customer, "agent_message").await;
    served::say(client, other, &session, "my card is blocked").await;
    assert_eq!(
        next_frame(&mut customer, "agent_message").await["text"],
        "Agent Ada: you said my card is blocked"
    );
}
