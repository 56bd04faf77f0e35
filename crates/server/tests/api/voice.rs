//! The phone channel: whole calls through `POST /v1/voice/{assistant_id}` as a carrier makes
//! them, with the request shapes of Twilio's documentation (incoming call, `<Gather>` speech and
//! digits results, the `<Dial>` action callback, the status callback), each signed with
//! `X-Twilio-Signature` as Twilio signs it.

use baton_connectors::signing::twilio_signature;
use baton_server::twiml::actions;
use baton_store::{SessionId, StoreError};

use crate::common::{TestApp, spawn_app, spawn_app_with};

/// Twilio's documented example auth token.
const TOKEN: &str = "12345";

/// A server with the phone channel on, its auth token in a file.
struct Phone {
    app: TestApp,
    /// The address the carrier calls (the signature's URL starts with it).
    public_url: String,
    _token: tempfile::TempDir,
}

async fn phone() -> Phone {
    phone_with(None).await
}

/// `public_url`: the address a reverse proxy in front of Baton answers at.
async fn phone_with(public_url: Option<&str>) -> Phone {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("auth_token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let proxy = public_url.map(str::to_owned);
    let app = spawn_app_with(move |config| {
        config.voice.auth_token_file = Some(token_file);
        config.voice.public_url = proxy;
    })
    .await;
    let public_url = match public_url {
        Some(url) => url.to_owned(),
        None => format!("http://{}", app.addr),
    };
    Phone {
        app,
        public_url,
        _token: dir,
    }
}

/// A carrier's answer: status and body (TwiML, or a JSON error).
struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    fn lines(&self) -> Vec<String> {
        assert_eq!(self.status, 200, "{}", self.body);
        actions(&self.body)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }

    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.json()["baton_code"], code, "{}", self.body);
    }

    /// The path and query the `<Gather>` (or `<Dial>`) sends its result to.
    fn action(&self, verb: &str) -> String {
        let start = self
            .body
            .find(&format!("<{verb} "))
            .unwrap_or_else(|| panic!("no <{verb}> in {}", self.body));
        let tag = &self.body[start..];
        let at = tag.find(" action=\"").unwrap() + 9;
        let end = tag[at..].find('"').unwrap();
        let url = tag[at..at + end].replace("&amp;", "&");
        let path = url.find("/v1/voice/").unwrap();
        url[path..].to_owned()
    }
}

/// The parameters Twilio sends with every call request (its "Voice webhooks" reference).
fn call_params<'a>(call_id: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("AccountSid", "AC00000000000000000000000000000000"),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", call_id),
        ("CallStatus", "in-progress"),
        ("Called", "+18005551212"),
        ("Caller", "+12349013030"),
        ("Direction", "inbound"),
        ("From", "+12349013030"),
        ("FromCountry", "US"),
        ("To", "+18005551212"),
        ("ToCountry", "US"),
    ];
    params.extend_from_slice(extra);
    params
}

impl Phone {
    /// A signed POST of `params` to `path_and_query`.
    async fn post(&self, path_and_query: &str, params: &[(&str, &str)]) -> Answer {
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        let signature = twilio_signature(TOKEN, &format!("{}{path_and_query}", self.public_url), &owned);
        self.send(path_and_query, params, Some(&signature)).await
    }

    async fn send(&self, path_and_query: &str, params: &[(&str, &str)], signature: Option<&str>) -> Answer {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish();
        let mut request = self
            .app
            .client
            .post(self.app.url(path_and_query))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("X-Twilio-Signature", signature);
        }
        let response = request.send().await.unwrap();
        Answer {
            status: response.status().as_u16(),
            body: response.text().await.unwrap(),
        }
    }

    /// The call's first request (Twilio's incoming call: `CallStatus=ringing`).
    async fn ring(&self, call_id: &str) -> Answer {
        let mut params = call_params(call_id, &[]);
        params.retain(|(name, _)| *name != "CallStatus");
        params.push(("CallStatus", "ringing"));
        self.post("/v1/voice/bank", &params).await
    }

    /// The `<Gather>` result with speech (`SpeechResult`, `Confidence`).
    async fn say(&self, previous: &Answer, call_id: &str, speech: &str) -> Answer {
        let params = call_params(call_id, &[("SpeechResult", speech), ("Confidence", "0.9215")]);
        self.post(&previous.action("Gather"), &params).await
    }

    /// The `<Gather>` result with keys (`Digits`, `FinishedOnKey`).
    async fn press(&self, previous: &Answer, call_id: &str, digits: &str) -> Answer {
        let params = call_params(call_id, &[("Digits", digits), ("FinishedOnKey", "")]);
        self.post(&previous.action("Gather"), &params).await
    }

    /// The `<Gather>` result when the caller said nothing (`actionOnEmptyResult`).
    async fn silence(&self, previous: &Answer, call_id: &str) -> Answer {
        self.post(&previous.action("Gather"), &call_params(call_id, &[])).await
    }

    /// The `<Dial>` action callback.
    async fn dial_ended(&self, previous: &Answer, call_id: &str, status: &str) -> Answer {
        let params = call_params(
            call_id,
            &[
                ("DialCallStatus", status),
                ("DialCallSid", "CA99999999999999999999999999999999"),
                ("DialCallDuration", "42"),
                ("DialBridged", "false"),
            ],
        );
        self.post(&previous.action("Dial"), &params).await
    }

    /// The status callback when the call ends.
    async fn hang_up(&self, call_id: &str) -> Answer {
        let mut params = call_params(call_id, &[("CallDuration", "73"), ("SequenceNumber", "0")]);
        params.retain(|(name, _)| *name != "CallStatus");
        params.push(("CallStatus", "completed"));
        self.post("/v1/voice/bank/status", &params).await
    }
}

fn said(lines: &[String]) -> String {
    lines
        .iter()
        .filter_map(|line| line.strip_prefix("[Say] "))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn a_whole_call_from_greeting_to_sip_transfer() {
    let phone = phone().await;
    let call = "CA1000000000000000000000000000000a";
    let greeting = phone.ring(call).await;
    assert_eq!(
        greeting.lines(),
        [
            "[Say] Welcome to Northwind Bank! I'm the Northwind assistant.",
            "[Say] You can ask me about balances, transfers, cards, loans or branch hours.",
            "[Gather speech,dtmf]",
        ]
    );
    assert!(
        greeting.body.contains(r#"<Say voice="Polly.Joanna" language="en-US">"#),
        "{}",
        greeting.body
    );
    assert!(
        greeting.body.contains(r#"actionOnEmptyResult="true""#),
        "{}",
        greeting.body
    );
    assert!(
        greeting
            .body
            .contains("hints=\"Book an appointment, Branch opening hours, "),
        "speech hints: {}",
        greeting.body
    );

    let which = phone.say(&greeting, call, "I lost my card").await;
    assert_eq!(
        which.lines(),
        [
            "[Say] I'm sorry to hear that. Which card is it?",
            "[Say] Say Debit card or press 1. Say Credit card or press 2.",
            "[Gather speech,dtmf numDigits=1]",
        ]
    );
    assert!(
        which.body.contains("hints=\"debit, credit, Debit card, bank card"),
        "{}",
        which.body
    );

    let digits = phone.press(&which, call, "2").await;
    assert_eq!(
        digits.lines(),
        [
            "[Say] What are the last four digits of the card? You can say them or type them on your keypad.",
            "[Gather speech,dtmf numDigits=4]",
        ]
    );
    let frozen = phone.press(&digits, call, "1234").await;
    assert_eq!(
        said(&frozen.lines()),
        "I've frozen your credit card ending 1234. Nobody can use it now. Would you like us to send you a replacement?"
    );

    let transfer = phone.say(&frozen, call, "I want to talk to a person").await;
    let lines = transfer.lines();
    assert_eq!(
        lines.last().map(String::as_str),
        Some("[Dial sip:support@pbx.northwind.example]")
    );
    assert!(
        said(&lines).starts_with("Of course, I'll connect you to one of our team."),
        "{lines:?}"
    );
    // The SIP headers: the session (the call) as User-to-User, the history link, the author's.
    let hex_call: String = call.bytes().map(|byte| format!("{byte:02x}")).collect();
    assert!(
        transfer
            .body
            .contains(&format!("User-to-User={hex_call}%3Bencoding%3Dhex")),
        "{}",
        transfer.body
    );
    assert!(transfer.body.contains("X-Baton-History=http"), "{}", transfer.body);
    assert!(transfer.body.contains("X-Northwind-Line=retail"), "{}", transfer.body);
    let open = phone.app.store.open_transfer_of(&SessionId::new(call)).await.unwrap();
    let open = open.expect("the call's transfer is open in Baton, with its brief");
    assert!(
        open.request.get().contains(r#""reason":"agent_requested""#),
        "{}",
        open.request.get()
    );

    // The agent answered, talked, and the call ended: hang up, the session ends.
    let over = phone.dial_ended(&transfer, call, "completed").await;
    assert_eq!(over.lines(), ["[Hangup]"]);
    let ended = phone
        .app
        .store
        .load_session(&SessionId::new(call), chrono::Utc::now())
        .await;
    assert!(
        matches!(ended, Err(StoreError::Expired(_))),
        "{:?}",
        ended.map(|s| s.id)
    );
    // The status callback then finds the call over already.
    let status = phone.hang_up(call).await;
    assert_eq!(status.status, 200, "{}", status.body);

    let transcript = phone.app.transcript(call).await;
    assert!(
        transcript
            .iter()
            .any(|line| line == r#"customer: {"type":"text","text":"credit"}"#),
        "the key 2 picked the second option: {transcript:#?}"
    );
    assert!(
        transcript.iter().any(|line| line.contains("transfer_requested")),
        "{transcript:#?}"
    );
}

#[tokio::test]
async fn a_failed_transfer_continues_with_the_assistant_for_each_failure_status() {
    let phone = phone().await;
    for (index, status) in ["busy", "no-answer", "failed", "canceled"].into_iter().enumerate() {
        let call = format!("CA20000000000000000000000000000{index:02}");
        let greeting = phone.ring(&call).await;
        let transfer = phone.say(&greeting, &call, "agent please").await;
        assert!(
            transfer.lines().iter().any(|line| line.starts_with("[Dial sip:")),
            "{}",
            transfer.body
        );
        let back = phone.dial_ended(&transfer, &call, status).await;
        assert_eq!(
            back.lines(),
            [
                "[Say] Sorry, I couldn't reach an agent. I can still help you here: what do you need?",
                "[Gather speech,dtmf]",
            ],
            "{status}"
        );
        let open = phone.app.store.open_transfer_of(&SessionId::new(&call)).await.unwrap();
        assert!(open.is_none(), "{status}: the transfer is closed");
        // And the assistant carries on.
        let hours = phone.say(&back, &call, "when are you open").await;
        assert!(said(&hours.lines()).contains("9"), "{status}: {}", hours.body);
        assert!(hours.body.contains("<Gather "), "{status}");
    }
}

#[tokio::test]
async fn a_step_s_own_number_and_a_failed_transfer_that_hangs_up() {
    let phone = phone().await;
    let call = "CA30000000000000000000000000000001";
    let greeting = phone.ring(call).await;
    let transfer = phone.say(&greeting, call, "my husband passed away").await;
    let lines = transfer.lines();
    assert_eq!(
        lines.last().map(String::as_str),
        Some("[Dial +15550100200]"),
        "{lines:?}"
    );
    assert!(
        transfer.action("Dial").contains("a=report_bereavement&s=step_1"),
        "{}",
        transfer.body
    );
    let goodbye = phone.dial_ended(&transfer, call, "no-answer").await;
    assert_eq!(
        goodbye.lines(),
        [
            "[Say] Our bereavement team could not take your call just now. They will call you back on the next working day. Goodbye.",
            "[Hangup]",
        ]
    );
}

#[tokio::test]
async fn silence_counts_as_a_miss_and_ends_in_fallback_as_typed_input_does() {
    let phone = phone().await;
    let call = "CA40000000000000000000000000000001";
    let mut answer = phone.ring(call).await;
    let mut heard = Vec::new();
    for _ in 0..4 {
        answer = phone.silence(&answer, call).await;
        heard.push(answer.lines());
    }
    assert_eq!(
        heard[0],
        [
            "[Say] I'm sorry, I didn't catch that. Could you put it another way?",
            "[Gather speech,dtmf]",
        ]
    );
    // The second miss offers options, answered by number.
    assert!(heard[1].iter().any(|line| line.contains("press 1")), "{:?}", heard[1]);
    let last = heard.last().unwrap();
    assert!(
        said(last).starts_with("I'm still not sure what you need, so I'll bring in a colleague who can help."),
        "{last:?}"
    );
    assert_eq!(
        last.last().map(String::as_str),
        Some("[Dial sip:support@pbx.northwind.example]")
    );
    let transcript = phone.app.transcript(call).await;
    assert_eq!(
        transcript.iter().filter(|line| line.contains("(no answer)")).count(),
        4,
        "{transcript:#?}"
    );
}

#[tokio::test]
async fn an_invalid_answer_by_voice_or_keypad_counts_as_typed_input_does() {
    let phone = phone().await;
    let call = "CA50000000000000000000000000000001";
    let greeting = phone.ring(call).await;
    let mut answer = phone.say(&greeting, call, "I lost my card").await;
    // A key with no option, silence, speech that is no option: invalid answers, re-prompted.
    answer = phone.press(&answer, call, "7").await;
    assert!(answer.body.contains("<Gather "), "{}", answer.body);
    answer = phone.silence(&answer, call).await;
    answer = phone.say(&answer, call, "a pineapple").await;
    assert!(answer.body.contains("<Gather "), "{}", answer.body);
    let fallback = phone.say(&answer, call, "a banana").await;
    let lines = fallback.lines();
    assert!(
        said(&lines).starts_with("I'm having trouble with that answer, so I'll connect you to a colleague."),
        "{lines:?}"
    );
    assert!(lines.last().unwrap().starts_with("[Dial sip:"), "{lines:?}");
}

#[tokio::test]
async fn a_retried_webhook_gets_the_same_answer_and_runs_once() {
    let phone = phone().await;
    let call = "CA60000000000000000000000000000001";
    let greeting = phone.ring(call).await;
    let again = phone.ring(call).await;
    assert_eq!(greeting.body, again.body);
    let first = phone.say(&greeting, call, "what is my balance").await;
    let retried = phone.say(&greeting, call, "what is my balance").await;
    assert_eq!(first.body, retried.body);
    let next = phone.say(&first, call, "checking").await;
    // An old prompt answered again after the call moved on: the stored answer, nothing runs.
    let replayed = phone.say(&greeting, call, "what is my balance").await;
    assert_eq!(first.body, replayed.body);
    let transcript = phone.app.transcript(call).await;
    let asked = transcript
        .iter()
        .filter(|line| line.contains("what is my balance"))
        .count();
    assert_eq!(asked, 1, "{transcript:#?}");
    // A prompt that was never given.
    let params = call_params(call, &[("SpeechResult", "hello"), ("Confidence", "0.9")]);
    phone
        .post("/v1/voice/bank?t=40", &params)
        .await
        .assert_error(409, "stale_turn");
    assert!(next.body.contains("<Gather "), "{}", next.body);
}

#[tokio::test]
async fn unsigned_or_wrongly_signed_requests_are_refused_and_change_nothing() {
    let phone = phone().await;
    let call = "CA70000000000000000000000000000001";
    let params = call_params(call, &[]);
    phone
        .send("/v1/voice/bank", &params, None)
        .await
        .assert_error(403, "voice_signature_invalid");
    phone
        .send("/v1/voice/bank", &params, Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ="))
        .await
        .assert_error(403, "voice_signature_invalid");
    // Signed for other parameters than those sent.
    let owned: Vec<(String, String)> = vec![("CallSid".to_owned(), "CAother".to_owned())];
    let other = twilio_signature(TOKEN, &format!("{}/v1/voice/bank", phone.public_url), &owned);
    phone
        .send("/v1/voice/bank", &params, Some(&other))
        .await
        .assert_error(403, "voice_signature_invalid");
    let nothing = phone
        .app
        .store
        .load_session(&SessionId::new(call), chrono::Utc::now())
        .await;
    assert!(matches!(nothing, Err(StoreError::NotFound(_))), "no session was opened");
    phone
        .send("/v1/voice/bank/status", &params, None)
        .await
        .assert_error(403, "voice_signature_invalid");
    phone
        .send("/v1/voice/bank/dial?t=1", &params, None)
        .await
        .assert_error(403, "voice_signature_invalid");
}

#[tokio::test]
async fn behind_a_reverse_proxy_the_public_url_is_signed_and_called_back() {
    let phone = phone_with(Some("https://voice.northwind.example/baton")).await;
    let call = "CA80000000000000000000000000000001";
    let greeting = phone.ring(call).await;
    assert!(
        greeting
            .body
            .contains(r#"action="https://voice.northwind.example/baton/v1/voice/bank?t=0""#),
        "{}",
        greeting.body
    );
    // Signed for the server's own address instead: refused.
    let params = call_params(call, &[]);
    let owned: Vec<(String, String)> = params.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
    let local = twilio_signature(TOKEN, &phone.app.url("/v1/voice/bank"), &owned);
    phone
        .send("/v1/voice/bank", &params, Some(&local))
        .await
        .assert_error(403, "voice_signature_invalid");
}

#[tokio::test]
async fn bad_requests_get_a_clear_error_and_lose_nothing() {
    let phone = phone().await;
    let call = "CA90000000000000000000000000000001";
    let greeting = phone.ring(call).await;
    let gather = greeting.action("Gather");

    let no_call_id: Vec<(&str, &str)> = call_params(call, &[("SpeechResult", "hi")])
        .into_iter()
        .filter(|(name, _)| *name != "CallSid")
        .collect();
    let missing = phone.post(&gather, &no_call_id).await;
    missing.assert_error(400, "missing_field");
    assert!(
        missing.json()["error"].as_str().unwrap().contains("CallSid"),
        "{}",
        missing.body
    );

    let too_big = "blah ".repeat(20_000);
    phone
        .post(&gather, &call_params(call, &[("SpeechResult", too_big.as_str())]))
        .await
        .assert_error(413, "payload_too_large");
    let huge = "blah ".repeat(1000);
    phone
        .post(&gather, &call_params(call, &[("SpeechResult", huge.as_str())]))
        .await
        .assert_error(400, "text_too_long");
    phone
        .post(&gather, &call_params(call, &[("Digits", "12ab")]))
        .await
        .assert_error(400, "invalid_request");
    phone
        .post(&gather, &call_params("CA<script>", &[("SpeechResult", "hi")]))
        .await
        .assert_error(400, "invalid_request");
    phone
        .post("/v1/voice/bank?t=zero", &call_params(call, &[]))
        .await
        .assert_error(400, "invalid_query");
    phone
        .post(&gather, &call_params("CAunknown", &[("SpeechResult", "hi")]))
        .await
        .assert_error(404, "session_not_found");
    phone
        .post("/v1/voice/nobank", &call_params(call, &[]))
        .await
        .assert_error(404, "assistant_not_found");
    phone
        .post("/v1/voice/bank/dial?t=0", &call_params(call, &[]))
        .await
        .assert_error(400, "missing_field");
    phone
        .post(
            "/v1/voice/bank/dial?t=0",
            &call_params(call, &[("DialCallStatus", "exploded")]),
        )
        .await
        .assert_error(400, "invalid_request");
    let mut ended: Vec<(&str, &str)> = call_params("CAunknown", &[]);
    ended.retain(|(name, _)| *name != "CallStatus");
    ended.push(("CallStatus", "completed"));
    phone
        .post("/v1/voice/bank/status", &ended)
        .await
        .assert_error(404, "session_not_found");

    // Nothing was lost: the prompt is still answered as if none of that happened.
    let hello = phone.say(&greeting, call, "hello").await;
    assert_eq!(
        hello.lines(),
        ["[Say] Hello! What can I help you with today?", "[Gather speech,dtmf]"]
    );
    let transcript = phone.app.transcript(call).await;
    assert_eq!(
        transcript.iter().filter(|line| line.starts_with("customer:")).count(),
        1,
        "{transcript:#?}"
    );
}

#[tokio::test]
async fn what_the_caller_says_is_escaped_in_the_twiml() {
    let phone = phone().await;
    let call = "CAa0000000000000000000000000000001";
    let greeting = phone.ring(call).await;
    let rates = phone.say(&greeting, call, "what are your savings rates").await;
    let answer = phone.say(&rates, call, "5% <Hangup/> & \"more\"").await;
    assert!(!answer.body.contains("<Hangup/>"), "{}", answer.body);
    assert!(answer.body.contains("<Gather "), "{}", answer.body);
}

#[tokio::test]
async fn hanging_up_ends_the_session_and_goodbye_hangs_up() {
    let phone = phone().await;
    let call = "CAb0000000000000000000000000000001";
    let greeting = phone.ring(call).await;
    let bye = phone.say(&greeting, call, "thanks, bye").await;
    assert_eq!(
        bye.lines(),
        [
            "[Say] Thank you for banking with Northwind. Have a lovely day!",
            "[Hangup]"
        ]
    );
    let status = phone.hang_up(call).await;
    assert_eq!(status.status, 200, "{}", status.body);
    let ended = phone
        .app
        .store
        .load_session(&SessionId::new(call), chrono::Utc::now())
        .await;
    assert!(
        matches!(ended, Err(StoreError::Expired(_))),
        "the call's session has ended"
    );
    // A late request for the ended call.
    phone
        .say(&greeting, call, "hello")
        .await
        .assert_error(404, "session_expired");
}

#[tokio::test]
async fn without_an_auth_token_the_phone_channel_is_off() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/v1/voice/bank"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("CallSid=CA1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["baton_code"], "voice_not_configured", "{body}");
}

/// Whatever a caller says or presses (any text, control characters and markup included), the
/// answer is TwiML or a clear 4xx, never a 5xx, and what was said never escapes into the markup.
#[test]
fn any_speech_or_keys_get_twiml_or_a_clear_error() {
    use proptest::prelude::*;
    use std::cell::RefCell;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let phone = runtime.block_on(phone());
    // The call in progress, how many were made, and its last answer.
    let first = runtime.block_on(phone.ring(&format!("CAc{:031}", 0)));
    let state = RefCell::new((0usize, first));
    let input = prop_oneof![
        ".{0,80}".prop_map(|speech| ("SpeechResult", speech)),
        "[0-9*#]{0,70}".prop_map(|keys| ("Digits", keys)),
        ".{0,8}".prop_map(|keys| ("Digits", keys)),
        Just(("SpeechResult", "<Hangup/> & </Say><Dial>".to_owned())),
    ];
    proptest!(ProptestConfig::with_cases(120), |((name, value) in input)| {
        let mut state = state.borrow_mut();
        let call = format!("CAc{:031}", state.0);
        let params = call_params(&call, &[(name, value.as_str())]);
        let answer = runtime.block_on(phone.post(&state.1.action("Gather"), &params));
        prop_assert!(answer.status < 500, "{} {}", answer.status, answer.body);
        if answer.status != 200 {
            prop_assert!(answer.json()["baton_code"].is_string(), "{}", answer.body);
            return Ok(());
        }
        prop_assert!(!answer.body.contains("</Say><Dial>"), "{}", answer.body);
        if answer.body.contains("<Gather ") {
            state.1 = answer;
        } else {
            // The call moved on to a transfer or hung up: make another.
            state.0 += 1;
            let next = runtime.block_on(phone.ring(&format!("CAc{:031}", state.0)));
            prop_assert_eq!(next.status, 200, "{}", next.body);
            state.1 = next;
        }
    });
}
