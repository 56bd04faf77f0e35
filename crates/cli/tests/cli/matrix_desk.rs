//! `baton serve` with a Matrix desk, against a real Synapse (the connectors' live-test harness):
//! a customer on the HTTP API and an agent in a Matrix client through a whole transfer that
//! survives `kill -9` of the server, and a server started while its homeserver is down, which
//! connects when the homeserver comes back and resumes the open chat.

#[path = "../../../connectors/tests/matrix/synapse.rs"]
mod synapse;

// Shared with the connectors' tests, which use every helper; these tests use some.
#[allow(dead_code)]
#[path = "../../../connectors/tests/matrix/agent.rs"]
mod agent;

use std::path::Path;

use agent::Agent;
use synapse::Synapse;

use crate::served::Server;

const PASSWORD: &str = "correct horse battery staple";

/// Registers a bot and an agent named after `prefix`, makes the agents' room (the agent invites
/// the bot), sets the agent online, and writes `DIR/baton.toml` routing every queue to the
/// Matrix desk `team`. The agent and the bot's id.
async fn matrix_desk(synapse: &Synapse, prefix: &str, dir: &Path) -> (Agent, String) {
    let bot = synapse.register(&format!("{prefix}_bot"), PASSWORD, "Baton").await;
    let ann = synapse.register(&format!("{prefix}_ann"), PASSWORD, "Ann").await;
    let mut ann = Agent::login(&synapse.url, &ann, PASSWORD, "Ann").await;
    let agents_room = ann.create_room(&[&bot]).await;
    ann.set_presence("online").await;
    let password = dir.join("matrix-password");
    std::fs::write(&password, format!("{PASSWORD}\n")).unwrap();
    std::fs::write(
        dir.join("baton.toml"),
        format!(
            "[desks.team]\nkind = \"matrix\"\nhomeserver = \"{}\"\nuser = \"{bot}\"\npassword_file = {:?}\n\
             join_timeout_secs = 120\n\n[desks.team.default]\nagents_room = \"{agents_room}\"\n\n\
             [routes]\n\"*\" = [\"team\"]\n",
            synapse.url,
            password.display().to_string()
        ),
    )
    .unwrap();
    (ann, bot)
}

/// Waits until the room shows the customer (through the bot) saying `wanted`.
async fn agent_hears(ann: &mut Agent, room: &str, bot: &str, wanted: &str) {
    loop {
        let (body, _) = ann.next_text_from(room, bot, "m.text").await;
        if body.contains(wanted) {
            return;
        }
    }
}

/// A customer asks for a person; the agent takes the chat from the invitation and the brief.
/// The chat's room.
async fn transfer(server: &Server, session: &str, ann: &mut Agent, bot: &str) -> String {
    server.say(session, "I want to talk to a person").await;
    let room = ann.next_invite().await;
    ann.join(&room).await;
    let (brief, _) = ann.next_text_from(&room, bot, "m.notice").await;
    assert!(
        brief.contains("asks for an agent"),
        "the first notice is the brief: {brief}"
    );
    room
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_chat_through_the_server_goes_on_after_kill_9() {
    let Some(synapse) = synapse::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut ann, bot) = matrix_desk(synapse, "serve", dir.path()).await;
    let server = Server::start(dir.path());
    let session = server.new_session().await;
    let room = transfer(&server, &session, &mut ann, &bot).await;

    ann.say(&room, "Hello before the crash").await;
    server
        .say_until_hearing(&session, "hello Ann", "still there?", "Hello before the crash")
        .await;
    agent_hears(&mut ann, &room, &bot, "hello Ann").await;

    server.kill();
    let server = Server::start(dir.path());
    ann.say(&room, "Hello after the restart").await;
    server
        .say_until_hearing(&session, "are you still there", "hello?", "Hello after the restart")
        .await;
    agent_hears(&mut ann, &room, &bot, "are you still there").await;

    // The agent ends the chat from the room: the customer is back with the assistant, and what
    // they write no longer reaches the room.
    ann.say(&room, "!end").await;
    server
        .say_until_hearing(
            &session,
            "what are your opening hours",
            "what are your opening hours",
            "Our branches are open",
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_server_started_while_the_homeserver_is_down_resumes_the_chat_when_it_is_back() {
    let Some(synapse) = synapse::own() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut ann, bot) = matrix_desk(&synapse, "late", dir.path()).await;
    let server = Server::start(dir.path());
    let session = server.new_session().await;
    let room = transfer(&server, &session, &mut ann, &bot).await;
    ann.say(&room, "Hello before the outage").await;
    server
        .say_until_hearing(&session, "hello", "still there?", "Hello before the outage")
        .await;

    // Baton dies, and its homeserver is down when it starts again: the server starts anyway,
    // and keeps the chat.
    server.kill();
    synapse.stop();
    let server = Server::start(dir.path());
    server.say(&session, "is anyone there?").await;
    synapse.run();

    ann.say(&room, "Back after the outage").await;
    server
        .say_until_hearing(&session, "hello again", "hello?", "Back after the outage")
        .await;
    // What the customer wrote while the desk was away arrives first, then the rest, in order.
    // (On its own task: the agent's client panics when it waits too long, and the server's log
    // is what tells why.)
    let heard = tokio::spawn(async move {
        for wanted in ["is anyone there?", "hello again"] {
            agent_hears(&mut ann, &room, &bot, wanted).await;
        }
    })
    .await;
    if let Err(error) = heard {
        panic!(
            "the agent did not see the customer's messages in order ({error}); the server's log:\n{}",
            server.log()
        );
    }
}

#[test]
fn matrix_bench_transfer_measures_every_invitation() {
    let Some(synapse) = synapse::shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("registration-secret");
    std::fs::write(&secret, synapse::SHARED_SECRET).unwrap();
    let report = crate::bench::bench_transfer(&[
        "--desk",
        "matrix",
        "--homeserver",
        &synapse.url,
        "--registration-secret-file",
        secret.to_str().unwrap(),
        "--customers",
        "4",
        "--rate",
        "10",
        "--others",
        "2",
    ]);
    assert_eq!(report["desk"], "matrix");
    assert_eq!(report["requests_at_desk"], 4, "{report}");
    assert_eq!(report["missing"], 0);
    assert!(report["desk_p50_ms"].as_f64().unwrap() > 0.0, "{report}");
}
