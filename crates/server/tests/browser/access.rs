//! Who reaches a session's event socket from a browser: only an existing session of the
//! assistant in the path. The HTTP side of access (the transcript route, allowed origins, the
//! preview in development mode only) is tested in the `api` test binary (`access`).

use serde_json::json;

use crate::support::{Browser, TestServer, run};

#[test]
fn the_event_socket_answers_pings_rejects_bad_frames_and_unknown_sessions() {
    run(|| async {
        let server = TestServer::start().await;
        let browser = Browser::start().await;
        browser.goto(&server.url("/preview")).await;
        browser.wait_until("document.querySelector('[data-turn=\"1\"]')").await;
        let session_id = browser
            .script(
                "for (const key of Object.keys(sessionStorage)) {
                   if (key.endsWith(':session')) return sessionStorage.getItem(key);
                 }
                 return null;",
                Vec::new(),
            )
            .await;
        let session_id = session_id.as_str().expect("the widget keeps its session id").to_owned();
        let probe = "const [url, done] = [arguments[0], arguments[arguments.length - 1]];
            const socket = new WebSocket(url);
            const seen = [];
            socket.onopen = () => { socket.send('{\"type\":\"ping\"}'); socket.send('not json'); };
            socket.onmessage = (message) => {
              seen.push(JSON.parse(message.data));
              if (seen.length === 2) { socket.close(); done({opened: true, seen}); }
            };
            socket.onerror = () => done({opened: false, seen});
            setTimeout(() => done({opened: 'timeout', seen}), 10000);";
        let base = format!("ws://{}/v2/assistants/bank/sessions", server.addr);
        let answer = browser
            .client
            .execute_async(probe, vec![json!(format!("{base}/{session_id}/events"))])
            .await
            .expect("probing the event socket");
        assert_eq!(answer["opened"], json!(true), "{answer}");
        assert_eq!(answer["seen"][0], json!({"type": "pong"}));
        assert_eq!(answer["seen"][1]["baton_code"], json!("invalid_frame"));

        let answer = browser
            .client
            .execute_async(probe, vec![json!(format!("{base}/{}/events", uuid_like()))])
            .await
            .expect("probing the event socket of an unknown session");
        assert_eq!(answer["opened"], json!(false), "{answer}");
        browser.close().await;
    });
}

/// A well-formed session id that no session has.
fn uuid_like() -> String {
    "00000000-0000-4000-8000-000000000000".to_owned()
}
