//! The live transfer end to end, in two (or three) browsers: a customer in the web chat on the
//! demo page and human agents in the agent console (`/agent`), against the real server with
//! Baton's own desk and agents from the configuration.

use serde_json::json;

use baton_desk::OfflinePolicy;
use baton_desk::own::QueueConfig;
use baton_server::Config;

use crate::support::{Browser, PASSWORD, ServerProcess, TestServer, agent, run};

const LOG: &str = ".baton-wc-log";
const TRANSCRIPT: &str = "#transcript";
const ATTACK: &str = "<img src=x onerror=alert(1)>";

/// Ann serves billing, Bob every queue.
fn two_agents(config: &mut Config) {
    config.desk.agents = vec![agent("ann", "Ann Smith", &["billing"]), agent("bob", "Bob Jones", &[])];
}

/// The customer opens the chat on the demo page and waits for the greeting.
async fn customer_opens_chat(browser: &Browser, server: &TestServer) {
    browser.goto(&server.url("/")).await;
    browser.click(".baton-wc-launcher").await;
    browser
        .wait_until("document.querySelector('.baton-wc-log .baton-wc-assistant')")
        .await;
}

async fn customer_says(browser: &Browser, text: &str) {
    browser.type_into(".baton-wc-input", &format!("{text}\n")).await;
}

/// Replaces the browser's notifications with a recorder that has permission, so a test sees
/// what the console would show on the desktop.
async fn record_notifications(browser: &Browser) {
    browser
        .script(
            "window.shown = [];
             function Recorder(title, options) { window.shown.push({title: title, body: options && options.body}); }
             Recorder.permission = 'granted';
             Recorder.requestPermission = function () { return Promise.resolve('granted'); };
             window.Notification = Recorder;",
            Vec::new(),
        )
        .await;
}

/// Signs in at `/agent` and waits until the socket is up and the server confirmed "online".
async fn sign_in(browser: &Browser, server: &TestServer, username: &str) {
    sign_in_at(browser, &server.url("/agent"), username).await;
}

async fn sign_in_at(browser: &Browser, console: &str, username: &str) {
    browser.goto(console).await;
    record_notifications(browser).await;
    browser.type_into("#username", username).await;
    browser.type_into("#password", &format!("{PASSWORD}\n")).await;
    browser
        .wait_until("document.querySelector('#connection').dataset.state === 'online'")
        .await;
    browser.wait_until("document.body.dataset.presence === 'online'").await;
}

/// Waits for an offer and accepts it; returns the transfer id.
async fn accept_offer(browser: &Browser) -> String {
    browser
        .wait_until("document.querySelector('#offers [data-offer]')")
        .await;
    let transfer = browser
        .script(
            "return document.querySelector('#offers [data-offer]').dataset.offer;",
            Vec::new(),
        )
        .await;
    browser.click("#offers [data-offer] .accept").await;
    browser.wait_until("!document.querySelector('#chat').hidden").await;
    transfer.as_str().expect("a transfer id").to_owned()
}

async fn agent_says(browser: &Browser, text: &str) {
    browser.type_into("#message", &format!("{text}\n")).await;
}

/// Nothing ran: no alert is open and no image exists in `scope`.
async fn nothing_ran(browser: &Browser, scope: &str) {
    assert!(
        browser.client.get_alert_text().await.is_err(),
        "an alert is open: text ran as markup"
    );
    let images = browser
        .script(
            "return document.querySelectorAll(arguments[0] + ' img').length;",
            vec![json!(scope)],
        )
        .await;
    assert_eq!(images, json!(0), "an image element was created in {scope}");
}

#[test]
fn a_planned_transfer_reaches_an_agent_who_chats_with_the_customer() {
    run(|| async {
        let server = TestServer::start_with(two_agents).await;
        let ann = Browser::start().await;
        sign_in(&ann, &server, "ann").await;
        assert_eq!(ann.text_of("#agent-name").await, "Ann Smith");

        let customer = Browser::start().await;
        customer_opens_chat(&customer, &server).await;
        customer_says(&customer, "I want to pay my bill").await;
        customer.wait_for_text(".baton-wc-status", "Waiting for an agent").await;

        // The offer arrives with a sound, a notification and a banner, and shows the reason.
        ann.wait_until("document.querySelector('#offers [data-offer]')").await;
        let offer = ann.text_of("#offers [data-offer]").await;
        assert!(offer.contains("billing"), "{offer}");
        assert!(offer.contains("Planned transfer"), "{offer}");
        assert!(
            offer.contains("Customer wants to pay a bill from their checking account."),
            "{offer}"
        );
        ann.wait_until("window.BatonConsole.beeps === 1").await;
        let shown = ann.script("return window.shown;", Vec::new()).await;
        assert_eq!(shown[0]["title"], json!("New customer in billing"), "{shown}");
        assert!(ann.text_of("#banner").await.contains("New customer in billing"));

        accept_offer(&ann).await;
        customer.wait_for_text(LOG, "Ann Smith joined the chat.").await;
        // The brief: why (planned, which action and step), the message, the variables except
        // private ones, and the whole transcript.
        let reason = ann.text_of("#brief-reason").await;
        assert!(
            reason.contains("Planned transfer") && reason.contains("pay_bill"),
            "{reason}"
        );
        assert_eq!(
            ann.text_of("#brief-message").await,
            "Customer wants to pay a bill from their checking account."
        );
        let variables = ann.text_of("#brief-variables").await;
        assert!(
            variables.contains("preferred_account") && variables.contains("checking"),
            "{variables}"
        );
        assert!(
            !variables.contains("card_last_digits"),
            "a private variable is in the brief: {variables}"
        );
        let transcript = ann.wait_for_text(TRANSCRIPT, "I want to pay my bill").await;
        assert!(transcript.contains("Welcome to Northwind Bank!"), "{transcript}");
        assert!(
            transcript.contains("Bill payments are handled by our billing team."),
            "{transcript}"
        );
        assert_eq!(
            transcript.to_lowercase().matches("requested").count(),
            1,
            "the request is shown once: {transcript}"
        );

        // Both ways, with typing indicators and read receipts.
        customer.type_into(".baton-wc-input", "Hello").await;
        ann.wait_until("!document.querySelector('#customer-typing').hidden")
            .await;
        customer.type_into(".baton-wc-input", ", is anyone there?\n").await;
        ann.wait_for_text(TRANSCRIPT, "Hello, is anyone there?").await;
        ann.wait_until("document.querySelector('#customer-typing').hidden")
            .await;
        customer.wait_for_text(".baton-wc-receipt", "Read").await;

        ann.type_into("#message", "Hi, I'm Ann").await;
        customer
            .wait_until("!document.querySelector('.baton-wc-typing').hidden")
            .await;
        ann.type_into("#message", ". How can I help?\n").await;
        let bubble = customer
            .wait_for_text(".baton-wc-agent .baton-wc-bubble", "Hi, I'm Ann. How can I help?")
            .await;
        assert!(bubble.contains("Ann Smith"), "the agent's name is shown: {bubble}");
        ann.wait_for_text("#transcript .entry-agent .receipt", "Read").await;
        assert_eq!(customer.text_of(".baton-wc-status").await, "");

        // After a reload the customer sees the agent's message again, still from Ann.
        customer.client.refresh().await.expect("reloading the page");
        customer
            .wait_for_text(".baton-wc-agent .baton-wc-bubble", "Hi, I'm Ann. How can I help?")
            .await;
        customer_says(&customer, "I'd like to pay 40 dollars").await;
        ann.wait_for_text(TRANSCRIPT, "I'd like to pay 40 dollars").await;

        // Resolved: the customer is back with the assistant.
        ann.click("#resolve").await;
        ann.wait_for_text("#chat-state", "Ended").await;
        customer.wait_for_text(LOG, "You're back with the assistant.").await;
        customer.close().await;
        ann.close().await;
    });
}

#[test]
fn repeated_no_matches_end_in_a_fallback_transfer_that_lists_what_failed() {
    run(|| async {
        let server = TestServer::start_with(two_agents).await;
        let bob = Browser::start().await;
        sign_in(&bob, &server, "bob").await;
        let customer = Browser::start().await;
        customer_opens_chat(&customer, &server).await;
        // The bank allows three misses; the fourth brings in a person.
        let misses = ["blorp fizzle wug", "quux zorp flim", "snarf glorp", "wibble frotz"];
        for (n, miss) in misses.iter().enumerate() {
            customer_says(&customer, miss).await;
            customer
                .wait_until(&format!(
                    "document.querySelectorAll('.baton-wc-log .baton-wc-customer').length === {} && document.querySelector('.baton-wc').getAttribute('aria-busy') === 'false'",
                    n + 1
                ))
                .await;
        }
        customer
            .wait_for_text(LOG, "I'll bring in a colleague who can help")
            .await;

        accept_offer(&bob).await;
        let reason = bob.text_of("#brief-reason").await;
        assert!(
            reason.contains("Fallback") && reason.contains("no action matches"),
            "{reason}"
        );
        let failed = bob.text_of("#brief-failed").await;
        for miss in misses {
            assert!(
                failed.contains(miss),
                "{miss:?} is not among the failed inputs: {failed:?}"
            );
        }
        customer.wait_for_text(LOG, "Bob Jones joined the chat.").await;
        customer.close().await;
        bob.close().await;
    });
}

#[test]
fn a_customer_who_asks_for_a_human_gets_one() {
    run(|| async {
        let server = TestServer::start_with(two_agents).await;
        let bob = Browser::start().await;
        sign_in(&bob, &server, "bob").await;
        let customer = Browser::start().await;
        customer_opens_chat(&customer, &server).await;
        customer_says(&customer, "when are your branches open").await;
        customer.wait_for_text(LOG, "Find your nearest branch").await;
        customer_says(&customer, "I want to talk to a person").await;
        customer
            .wait_for_text(LOG, "Of course, I'll connect you to one of our team.")
            .await;

        accept_offer(&bob).await;
        let reason = bob.text_of("#brief-reason").await;
        assert!(reason.contains("agent requested"), "{reason}");
        customer.wait_for_text(LOG, "Bob Jones joined the chat.").await;
        // The agent reads the assistant's lines as the customer saw them: a Markdown link is a
        // link, and the agent's own emphasis shows on both sides.
        let link = bob
            .script(
                "const a = document.querySelector('#transcript .entry-assistant .bubble a.rich-link'); \
                 return a && [a.textContent, a.getAttribute('href'), a.target];",
                vec![],
            )
            .await;
        assert_eq!(
            link,
            json!([
                "Find your nearest branch",
                "https://bank.example.com/branches",
                "_blank"
            ])
        );
        assert!(!bob.text_of(TRANSCRIPT).await.contains("]("));
        agent_says(&bob, "**Welcome** back").await;
        bob.wait_for_text("#transcript .entry-agent .bubble strong", "Welcome")
            .await;
        customer
            .wait_for_text(".baton-wc-agent .baton-wc-bubble strong", "Welcome")
            .await;
        bob.click("#resolve").await;
        customer.wait_for_text(LOG, "You're back with the assistant.").await;
        customer.close().await;
        bob.close().await;
    });
}

#[test]
fn a_waiting_customer_can_cancel_and_the_offer_goes_away() {
    run(|| async {
        let server = TestServer::start_with(two_agents).await;
        let ann = Browser::start().await;
        sign_in(&ann, &server, "ann").await;
        let customer = Browser::start().await;
        customer_opens_chat(&customer, &server).await;
        customer_says(&customer, "I want to pay my bill").await;
        customer.wait_for_text(".baton-wc-status", "Waiting for an agent").await;
        ann.wait_until("document.querySelector('#offers [data-offer]')").await;

        customer.click(".baton-wc-cancel").await;
        customer.wait_for_text(LOG, "You left the queue.").await;
        customer
            .wait_until("document.querySelector('.baton-wc-statusbar').hidden")
            .await;
        ann.wait_until("!document.querySelector('#offers [data-offer]')").await;
        // The assistant answers again.
        customer_says(&customer, "what's my balance").await;
        customer
            .wait_until("document.querySelectorAll('.baton-wc-log .baton-wc-customer').length === 2")
            .await;
        customer.close().await;
        ann.close().await;
    });
}

#[test]
fn with_no_agent_online_the_customer_leaves_a_message_that_the_console_lists() {
    run(|| async {
        let server = TestServer::start_with(|config| {
            two_agents(config);
            config.desk.queues = vec![QueueConfig {
                name: baton_desk::QueueName::parse("billing").expect("a queue name"),
                hours: None,
                offline_policy: OfflinePolicy::LeaveMessage,
            }];
        })
        .await;
        let customer = Browser::start().await;
        customer_opens_chat(&customer, &server).await;
        customer_says(&customer, "I want to pay my bill").await;
        customer
            .wait_for_text(
                LOG,
                "Our billing team is offline. You can pay bills any time in the app under Payments.",
            )
            .await;
        customer_says(&customer, "Please call me back on 555 0100").await;
        customer.wait_for_text(LOG, "your message has been passed on").await;

        let ann = Browser::start().await;
        sign_in(&ann, &server, "ann").await;
        ann.click("#tabs a[data-view='tickets']").await;
        ann.wait_for_text("#tickets", "Please call me back on 555 0100").await;
        assert_eq!(ann.text_of("#tickets tbody tr td:nth-child(2)").await, "billing");
        let path = ann.script("return location.pathname;", Vec::new()).await;
        assert_eq!(path, json!("/agent/tickets"));
        customer.close().await;
        ann.close().await;
    });
}

#[test]
fn an_agent_transfers_the_customer_to_another_agent() {
    run(|| async {
        let server = TestServer::start_with(two_agents).await;
        let ann = Browser::start().await;
        sign_in(&ann, &server, "ann").await;
        let customer = Browser::start().await;
        customer_opens_chat(&customer, &server).await;
        customer_says(&customer, "I want to pay my bill").await;
        accept_offer(&ann).await;
        customer.wait_for_text(LOG, "Ann Smith joined the chat.").await;
        agent_says(&ann, "Let me pass you to Bob.").await;
        customer.wait_for_text(LOG, "Let me pass you to Bob.").await;

        let bob = Browser::start().await;
        sign_in(&bob, &server, "bob").await;
        ann.click("#transfer-box summary").await;
        ann.type_into("#transfer-target", "bob").await;
        ann.click("#transfer-form button[type='submit']").await;
        ann.wait_for_text("#chat-state", "Ended").await;

        bob.wait_until("document.querySelector('#offers [data-offer]')").await;
        let offer = bob.text_of("#offers [data-offer]").await;
        assert!(offer.contains("from Ann Smith"), "{offer}");
        accept_offer(&bob).await;
        // Bob reads everything that was said, Ann's words included.
        bob.wait_for_text(TRANSCRIPT, "Let me pass you to Bob.").await;
        customer.wait_for_text(LOG, "Bob Jones joined the chat.").await;
        agent_says(&bob, "Hello, Bob here.").await;
        let last = customer
            .wait_for_text(".baton-wc-agent:last-child .baton-wc-bubble", "Hello, Bob here.")
            .await;
        assert!(last.contains("Bob Jones"), "{last}");
        customer_says(&customer, "Hi Bob").await;
        bob.wait_for_text(TRANSCRIPT, "Hi Bob").await;
        customer.close().await;
        bob.close().await;
        ann.close().await;
    });
}

#[test]
fn an_agent_hands_back_and_the_assistant_continues() {
    run(|| async {
        let server = TestServer::start_with(two_agents).await;
        let ann = Browser::start().await;
        sign_in(&ann, &server, "ann").await;
        let customer = Browser::start().await;
        customer_opens_chat(&customer, &server).await;
        customer_says(&customer, "I want to pay my bill").await;
        accept_offer(&ann).await;
        customer.wait_for_text(LOG, "Ann Smith joined the chat.").await;

        let assistant_rows = "document.querySelectorAll('.baton-wc-log .baton-wc-assistant').length";
        let before = customer.script(&format!("return {assistant_rows};"), Vec::new()).await;
        ann.click("#handback-box summary").await;
        ann.type_into("#resume-action", "check_balance").await;
        ann.click("#handback-form button[type='submit']").await;
        ann.wait_for_text("#chat-state", "Ended").await;
        customer.wait_for_text(LOG, "You're back with the assistant.").await;
        // The assistant speaks again by itself, running the action the agent chose.
        customer.wait_until(&format!("{assistant_rows} > {before}")).await;
        let before = customer.script(&format!("return {assistant_rows};"), Vec::new()).await;
        customer_says(&customer, "when are you open").await;
        customer.wait_until(&format!("{assistant_rows} > {before}")).await;
        assert_eq!(customer.text_of(".baton-wc-status").await, "");
        customer.close().await;
        ann.close().await;
    });
}

#[test]
fn markup_from_a_customer_or_an_agent_runs_on_neither_side() {
    run(|| async {
        let server = TestServer::start_with(two_agents).await;
        let bob = Browser::start().await;
        sign_in(&bob, &server, "bob").await;
        let customer = Browser::start().await;
        customer_opens_chat(&customer, &server).await;
        // Four misses with markup: the fallback brief lists them as failed inputs.
        for n in 1..=4 {
            customer_says(&customer, &format!("{ATTACK} {n}")).await;
            customer
                .wait_until(&format!(
                    "document.querySelectorAll('.baton-wc-log .baton-wc-customer').length === {n} && document.querySelector('.baton-wc').getAttribute('aria-busy') === 'false'"
                ))
                .await;
        }
        bob.wait_until("document.querySelector('#offers [data-offer]')").await;
        nothing_ran(&bob, "body").await;
        accept_offer(&bob).await;
        bob.wait_for_text("#brief-failed", ATTACK).await;
        bob.wait_for_text(TRANSCRIPT, ATTACK).await;
        customer_says(&customer, ATTACK).await;
        bob.wait_until(&format!(
            "Array.from(document.querySelectorAll('#transcript .entry-customer .bubble')).some(b => b.textContent === {})",
            json!(ATTACK)
        ))
        .await;
        nothing_ran(&bob, "body").await;

        agent_says(&bob, ATTACK).await;
        customer.wait_for_text(".baton-wc-agent .baton-wc-bubble", ATTACK).await;
        nothing_ran(&customer, "body").await;
        customer.client.refresh().await.expect("reloading the page");
        customer.wait_for_text(".baton-wc-agent .baton-wc-bubble", ATTACK).await;
        nothing_ran(&customer, "body").await;
        bob.client.refresh().await.expect("reloading the console");
        bob.wait_for_text(TRANSCRIPT, ATTACK).await;
        nothing_ran(&bob, "body").await;
        customer.close().await;
        bob.close().await;
    });
}

#[test]
fn the_supervisor_sees_queues_waiting_customers_and_agents() {
    run(|| async {
        let server = TestServer::start_with(two_agents).await;
        let ann = Browser::start().await;
        sign_in(&ann, &server, "ann").await;
        ann.client
            .find(fantoccini::Locator::Css("#presence"))
            .await
            .expect("the presence switch")
            .select_by_value("away")
            .await
            .expect("choosing away");
        ann.wait_until("document.body.dataset.presence === 'away'").await;

        let customer = Browser::start().await;
        customer_opens_chat(&customer, &server).await;
        customer_says(&customer, "I want to pay my bill").await;
        customer.wait_for_text(".baton-wc-status", "Waiting for an agent").await;

        ann.click("#tabs a[data-view='supervisor']").await;
        ann.wait_for_text("#sv-queues tbody", "billing").await;
        ann.wait_for_text("#sv-waiting tbody", "billing").await;
        ann.wait_for_text("#sv-agents tbody", "Ann Smith").await;
        let agents = ann.text_of("#sv-agents tbody").await;
        assert!(agents.contains("away"), "{agents}");
        let path = ann.script("return location.pathname;", Vec::new()).await;
        assert_eq!(path, json!("/agent/supervisor"));
        // Nobody took an offer while away.
        assert_eq!(ann.text_of("#offer-count").await, "0");

        // Back online, the waiting customer is offered.
        ann.client
            .find(fantoccini::Locator::Css("#presence"))
            .await
            .expect("the presence switch")
            .select_by_value("online")
            .await
            .expect("choosing online");
        ann.click("#tabs a[data-view='chats']").await;
        ann.wait_until("document.querySelector('#offers [data-offer]')").await;
        customer.close().await;
        ann.close().await;
    });
}

/// Screenshots of the console at desktop and phone widths in the temporary directory; at phone
/// width nothing is wider than the screen.
#[test]
fn the_console_fits_desktop_and_phone_screens() {
    run(|| async {
        let server = TestServer::start_with(two_agents).await;
        let ann = Browser::start().await;
        sign_in(&ann, &server, "ann").await;
        let customer = Browser::start().await;
        customer_opens_chat(&customer, &server).await;
        customer_says(&customer, "I want to pay my bill").await;
        accept_offer(&ann).await;
        ann.wait_for_text(TRANSCRIPT, "I want to pay my bill").await;
        let dir = std::env::temp_dir();
        ann.screenshot(&dir.join("baton-console-desktop.png")).await;

        ann.client.set_window_size(390, 844).await.expect("resizing the window");
        ann.wait_until("window.innerWidth <= 480").await;
        let fits = ann
            .script(
                "return document.documentElement.scrollWidth <= document.documentElement.clientWidth;",
                Vec::new(),
            )
            .await;
        assert_eq!(fits, json!(true), "the console is wider than a phone screen");
        ann.screenshot(&dir.join("baton-console-phone.png")).await;
        customer.close().await;
        ann.close().await;
    });
}

/// `kill -9` of the server during a chat: after it starts again on the same database the console
/// and the widget reconnect by themselves and the chat goes on, nothing lost.
#[test]
fn after_the_server_is_killed_and_restarted_the_console_and_the_widget_carry_on() {
    run(|| async {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let database_url = format!("sqlite://{}", dir.path().join("baton.db").display());
        {
            // One writer per database: the agent is added before the server opens it.
            let store = baton_store::open(&database_url).await.expect("opening the database");
            store
                .upsert_agent(baton_store::AgentRecord {
                    username: "ann".to_owned(),
                    display_name: "Ann Smith".to_owned(),
                    password_hash: baton_store::password::hash(PASSWORD).expect("hashing"),
                    queues: vec!["billing".to_owned()],
                    capacity: 3,
                    created_at: chrono::Utc::now(),
                })
                .await
                .expect("adding ann");
        }
        let first = ServerProcess::start(&database_url, 0).await;
        let port = first.port;
        let ann = Browser::start().await;
        sign_in_at(&ann, &first.url("/agent"), "ann").await;
        let customer = Browser::start().await;
        customer.goto(&first.url("/")).await;
        customer.click(".baton-wc-launcher").await;
        customer
            .wait_until("document.querySelector('.baton-wc-log .baton-wc-assistant')")
            .await;
        customer_says(&customer, "I want to pay my bill").await;
        accept_offer(&ann).await;
        customer.wait_for_text(LOG, "Ann Smith joined the chat.").await;
        agent_says(&ann, "Hi, Ann from billing here.").await;
        customer.wait_for_text(LOG, "Hi, Ann from billing here.").await;
        customer_says(&customer, "It is invoice 42").await;
        ann.wait_for_text(TRANSCRIPT, "It is invoice 42").await;

        first.kill().await;
        ann.wait_until("document.querySelector('#connection').dataset.state !== 'online'")
            .await;
        let second = ServerProcess::start(&database_url, port).await;
        ann.wait_until("document.querySelector('#connection').dataset.state === 'online'")
            .await;
        ann.wait_until("document.body.dataset.presence === 'online'").await;
        // The chat is rebuilt from the server: still open, with everything said before.
        ann.wait_until("!document.querySelector('#chat').hidden").await;
        assert_eq!(ann.text_of("#chat-state").await, "Active");
        ann.wait_for_text(TRANSCRIPT, "It is invoice 42").await;

        agent_says(&ann, "Still here after the restart.").await;
        customer.wait_for_text(LOG, "Still here after the restart.").await;
        customer_says(&customer, "Great, thanks").await;
        ann.wait_for_text(TRANSCRIPT, "Great, thanks").await;
        let log = customer.text_of(LOG).await;
        assert_eq!(log.matches("Hi, Ann from billing here.").count(), 1, "{log}");
        let transcript = ann.text_of(TRANSCRIPT).await;
        assert_eq!(transcript.matches("It is invoice 42").count(), 1, "{transcript}");
        assert_eq!(
            transcript.matches("Still here after the restart.").count(),
            1,
            "{transcript}"
        );
        second.kill().await;
        customer.close().await;
        ann.close().await;
    });
}

/// A wrong password is refused with a plain sentence; the page is served with a policy that
/// allows nothing from elsewhere; signing out revokes the token and shows the form again.
#[test]
fn signing_in_and_out_of_the_console() {
    run(|| async {
        let server = TestServer::start_with(two_agents).await;
        let response = reqwest::get(server.url("/agent")).await.expect("fetching the console");
        let policy = response
            .headers()
            .get("content-security-policy")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"),
            "{policy}"
        );

        let ann = Browser::start().await;
        ann.goto(&server.url("/agent")).await;
        ann.type_into("#username", "ann").await;
        ann.type_into("#password", "not the password\n").await;
        ann.wait_for_text("#login-error", "Wrong username or password.").await;
        assert!(
            ann.script("return document.querySelector('#chats-view').hidden;", Vec::new())
                .await
                == json!(true)
        );

        ann.client
            .find(fantoccini::Locator::Css("#password"))
            .await
            .expect("the password field")
            .clear()
            .await
            .expect("clearing the password");
        ann.type_into("#password", &format!("{PASSWORD}\n")).await;
        ann.wait_until("document.querySelector('#connection').dataset.state === 'online'")
            .await;
        assert_eq!(ann.text_of("#queue-summary").await, "billing");
        let token = ann
            .script("return sessionStorage.getItem('baton-agent:token');", Vec::new())
            .await;
        let token = token.as_str().expect("a token in sessionStorage").to_owned();

        // A reload keeps the agent signed in (the token is in sessionStorage).
        ann.client.refresh().await.expect("reloading the console");
        ann.wait_until("document.querySelector('#connection').dataset.state === 'online'")
            .await;

        ann.click("#logout").await;
        ann.wait_until("!document.querySelector('#login-view').hidden").await;
        // The console shows the form at once; the revocation may still be on its way.
        let client = reqwest::Client::new();
        let deadline = std::time::Instant::now() + crate::support::PATIENCE;
        let status = loop {
            let status = client
                .get(server.url("/v1/agent/tickets"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("asking with the old token")
                .status();
            if status.as_u16() == 401 || std::time::Instant::now() > deadline {
                break status;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        assert_eq!(status.as_u16(), 401, "the token still works after signing out");
        ann.close().await;
    });
}

#[test]
fn an_agent_passes_the_customer_to_another_queue() {
    run(|| async {
        let server = TestServer::start_with(two_agents).await;
        let ann = Browser::start().await;
        sign_in(&ann, &server, "ann").await;
        let bob = Browser::start().await;
        sign_in(&bob, &server, "bob").await;
        let customer = Browser::start().await;
        customer_opens_chat(&customer, &server).await;
        customer_says(&customer, "I want to pay my bill").await;
        // Bob serves billing too: whoever gets the offer first passes the customer on.
        let (first, second) = loop {
            let ann_has = ann
                .script("return !!document.querySelector('#offers [data-offer]');", Vec::new())
                .await;
            if ann_has == json!(true) {
                break (&ann, &bob);
            }
            let bob_has = bob
                .script("return !!document.querySelector('#offers [data-offer]');", Vec::new())
                .await;
            if bob_has == json!(true) {
                break (&bob, &ann);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        accept_offer(first).await;
        first.click("#transfer-box summary").await;
        first.click("#transfer-form input[value='queue']").await;
        first.type_into("#transfer-target", "general").await;
        first.click("#transfer-form button[type='submit']").await;
        first.wait_for_text("#chat-state", "Ended").await;
        let ended = first.text_of(TRANSCRIPT).await;
        assert!(ended.contains("You transferred this chat to queue general."), "{ended}");
        if std::ptr::eq(first, &bob) {
            // Ann does not serve general: nobody else can take it, and the customer waits.
            customer.wait_for_text(".baton-wc-status", "Waiting for an agent").await;
        } else {
            accept_offer(second).await;
            customer.wait_for_text(LOG, "Bob Jones joined the chat.").await;
        }
        customer.close().await;
        bob.close().await;
        ann.close().await;
    });
}
