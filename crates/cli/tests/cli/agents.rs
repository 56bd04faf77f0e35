//! `baton agents` and `baton apikey` manage a database that a running store holds open.

use baton_store::{SqliteOptions, SqliteStore, Store as _};

use crate::{baton, run, stderr, stdout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_and_keys_are_managed_while_a_server_holds_the_database() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("baton.db");
    let url = format!("sqlite://{}", path.display());
    // Holds the database the way `baton serve` does: with the lock file and the writer thread.
    let server = SqliteStore::open(SqliteOptions::file(&path))
        .await
        .expect("the server's store opens");

    let added = run(
        &[
            "agents",
            "add",
            "alice",
            "--queue",
            "billing",
            "--queue",
            "cards",
            "--capacity",
            "2",
            "--password-stdin",
            "--database",
            &url,
        ],
        "s3cret\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(
        stderr(&added).contains("added agent alice (queues billing, cards)"),
        "{}",
        stderr(&added)
    );
    // The server's store sees the new agent at once: agents are read, not cached.
    let alice = server
        .find_agent("alice")
        .await
        .unwrap()
        .expect("visible to the server");
    assert_eq!(
        (alice.queues.as_slice(), alice.capacity),
        (["billing".to_owned(), "cards".to_owned()].as_slice(), 2)
    );
    assert!(baton_store::password::verify("s3cret", &alice.password_hash));

    // Re-adding updates; no --queue serves every queue.
    let readded = run(
        &[
            "agents",
            "add",
            "alice",
            "--display-name",
            "Alice A.",
            "--password-stdin",
            "--database",
            &url,
        ],
        "new",
    );
    assert!(readded.status.success(), "{}", stderr(&readded));
    assert!(
        stderr(&readded).contains("updated agent alice (every queue)"),
        "{}",
        stderr(&readded)
    );
    let alice = server.find_agent("alice").await.unwrap().expect("still there");
    assert_eq!(
        (alice.display_name.as_str(), alice.queues.len(), alice.capacity),
        ("Alice A.", 0, 3)
    );
    assert!(baton_store::password::verify("new", &alice.password_hash));

    let listed = run(&["agents", "list", "--database", &url], "");
    assert_eq!(stdout(&listed), "alice  Alice A.  every queue  capacity 3\n");

    let key = run(&["apikey", "create", "--name", "ci", "--database", &url], "");
    assert!(key.status.success(), "{}", stderr(&key));
    let hash = baton_server::auth::hash_key(stdout(&key).trim());
    assert!(
        server.find_api_key_by_hash(&hash).await.unwrap().is_some(),
        "the server sees the new key at once"
    );

    let removed = run(&["agents", "remove", "alice", "--database", &url], "");
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert!(server.find_agent("alice").await.unwrap().is_none());
    let again = run(&["agents", "remove", "alice", "--database", &url], "");
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("no agent is named \"alice\""),
        "{}",
        stderr(&again)
    );
}

#[test]
fn bad_names_and_passwords_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let url = format!("sqlite://{}", dir.path().join("baton.db").display());
    let cases = [
        (
            vec!["agents", "add", "al ice", "--password-stdin"],
            "pw",
            "contains ' '",
        ),
        (
            vec!["agents", "add", "alice", "--password-stdin"],
            "\n",
            "the password on stdin is empty",
        ),
        (vec!["agents", "add", "alice"], "pw", "--password-stdin"),
    ];
    for (mut args, input, why) in cases {
        args.extend(["--database", &url]);
        let output = run(&args, input);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(stderr(&output).contains(why), "{args:?}: {}", stderr(&output));
    }
    let listed = baton()
        .args(["agents", "list", "--database", &url])
        .output()
        .expect("baton runs");
    assert_eq!(stdout(&listed), "", "nothing was added");
}
