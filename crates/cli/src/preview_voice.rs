//! `baton preview DIR --voice`: what a caller would hear and could press, turn by turn, as the
//! phone channel's TwiML says it (`[Say] …`, `[Gather speech,dtmf]`, `[Dial sip:…]`,
//! `[Hangup]`), from the same documents the server answers a carrier with.
//!
//! One input line per turn, typed or scripted on stdin: keys (`1`, `1234#`) are a keypad entry,
//! other text is speech, an empty line is silence. After a `[Dial …]` or `[Enqueue …]`, a dial
//! status (`busy`, `no-answer`, `failed`, `canceled`) makes the transfer fail; anything else
//! means the agent took the call, which ends the preview, as `[Hangup]` does.

use std::io::{BufRead, IsTerminal, Write};

use chrono::Utc;

use baton_assistant::OnTransferFailure;
use baton_dialog::{
    AgentsAvailable, Effect, Engine, Event, Session, TransferOutcome, TransferReason, TransferRequest, VOICE_CHANNEL,
};
use baton_server::twiml;

use crate::conversation::Agents;

/// The dial statuses that make a transfer fail.
const FAILURES: [&str; 4] = ["busy", "no-answer", "failed", "canceled"];

pub fn run(engine: Engine, agents: Agents) -> anyhow::Result<i32> {
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        println!(
            "Calling {}: say something; keys such as 1 or 1234# are pressed; an empty line is silence; \
             after a transfer, busy, no-answer, failed or canceled makes it fail; Ctrl-D hangs up.",
            engine.assistant().name
        );
    }
    let mut out = std::io::stdout().lock();
    let session = Session::new(None, Some(VOICE_CHANNEL.to_owned()));
    let turn = engine.start(session, Utc::now());
    let mut session = turn.session;
    let mut last = show(&mut out, &engine, &session, &turn.effects, None)?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let heard = line.trim();
        if !interactive {
            match heard.is_empty() {
                true => writeln!(out, "caller> (silence)")?,
                false => writeln!(out, "caller> {heard}")?,
            }
        }
        let now = Utc::now();
        if let Some(request) = &last.transfer {
            if !FAILURES.contains(&heard) {
                writeln!(out, "[the agent has the call]")?;
                return Ok(0);
            }
            let target = engine.assistant().voice_transfer(
                request.reason == TransferReason::Planned,
                request.action.as_deref(),
                request.step.as_deref(),
            );
            let target = baton_assistant::VoiceTransfer {
                on_failure: Some(target.on_failure.unwrap_or(OnTransferFailure::Continue)),
                ..target
            };
            let event = Event::TransferEnded {
                outcome: TransferOutcome::Failed,
            };
            let turn = engine.event(session, event, now);
            session = turn.session;
            last = show(&mut out, &engine, &session, &turn.effects, Some(target))?;
        } else {
            let keys = !heard.is_empty() && heard.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#');
            let text = match keys {
                true => twiml::keypad(&engine, &session, heard),
                false => heard.to_owned(),
            };
            let intents = match text.is_empty() {
                true => Vec::new(),
                false => engine.classifier().classify(&text),
            };
            let mut turn = engine.event(session, Event::UserSaid { text, intents }, now);
            let available = match agents {
                Agents::Online => AgentsAvailable::Online,
                Agents::Offline => AgentsAvailable::Offline {
                    back_to_assistant: false,
                },
            };
            baton_dialog::answer_transfer(&mut turn, available);
            session = turn.session;
            last = show(&mut out, &engine, &session, &turn.effects, None)?;
        }
        if last.hung_up {
            return Ok(0);
        }
    }
    Ok(0)
}

/// What the last document ended with.
struct Shown {
    hung_up: bool,
    /// The transfer it dialled.
    transfer: Option<TransferRequest>,
}

fn show(
    out: &mut impl Write,
    engine: &Engine,
    session: &Session,
    effects: &[Effect],
    failed: Option<baton_assistant::VoiceTransfer>,
) -> anyhow::Result<Shown> {
    let document = twiml::document_for(engine, "preview", session, effects, failed);
    let lines = twiml::actions(&document);
    for line in &lines {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    let dialled = lines
        .last()
        .is_some_and(|line| line.starts_with("[Dial ") || line.starts_with("[Enqueue "));
    let transfer = effects.iter().find_map(|effect| match effect {
        Effect::Transfer(request) if dialled => Some(request.clone()),
        _ => None,
    });
    Ok(Shown {
        hung_up: lines.last().is_some_and(|line| line == "[Hangup]"),
        transfer,
    })
}
