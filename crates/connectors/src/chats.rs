//! The open chats of a connector to a SaaS desk (Chatwoot, Zendesk, Twilio Flex, Salesforce, Genesys), keyed by the
//! desk's conversation id, and what each of those connectors does with them the same way: an
//! ordered outbox per chat for the customer's calls, the chat's events, and the agent who has it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use baton_desk::{
    AgentId, AgentProfile, Availability, ChatId, ChatRequest, ChatResume, DeskError, DeskErrorKind, DeskEvent, Online,
    Speaker,
};
use tokio::sync::mpsc;

/// One open chat; `C` is the connector's customer call, `E` what else it keeps per chat.
pub(crate) struct OpenChat<C, E = ()> {
    pub chat: ChatId,
    pub events: mpsc::UnboundedSender<DeskEvent>,
    pub outbox: mpsc::UnboundedSender<C>,
    /// The agent who has the chat now, as last told.
    pub agent: Option<AgentProfile>,
    pub extra: E,
}

impl<C, E> OpenChat<C, E> {
    /// `agent` takes the chat: joined, or, after another agent, a transfer to them; nothing when
    /// they have it already (webhooks arrive out of order and twice).
    pub fn taken_by(&mut self, agent: AgentProfile, out: &mut Vec<DeskEvent>) {
        if self.agent.as_ref().map(|known| &known.id) == Some(&agent.id) {
            return;
        }
        if self.agent.is_some() {
            out.push(DeskEvent::TransferStarted(agent.clone()));
        }
        out.push(DeskEvent::AgentJoined(agent.clone()));
        self.agent = Some(agent);
    }
}

pub(crate) struct Chats<C, E = ()> {
    open: Mutex<HashMap<String, OpenChat<C, E>>>,
}

impl<C, E> Default for Chats<C, E> {
    fn default() -> Self {
        Chats {
            open: Mutex::new(HashMap::new()),
        }
    }
}

impl<C: Send + 'static, E> Chats<C, E> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, OpenChat<C, E>>> {
        self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a chat under `key` with its outbox, which `send` works through in order (a
    /// failed message is reported on the chat); with `queued`, `Queued` is its first event. The
    /// receiver of the chat's events.
    pub fn open<F, Fut>(
        &self,
        key: &str,
        (chat, agent, extra): (ChatId, Option<AgentProfile>, E),
        queued: bool,
        send: F,
    ) -> mpsc::UnboundedReceiver<DeskEvent>
    where
        F: Fn(C) -> Fut + Send + 'static,
        Fut: Future<Output = Outcome> + Send,
    {
        let (events, receiver) = mpsc::unbounded_channel();
        let (outbox, mut pending) = mpsc::unbounded_channel::<C>();
        if queued {
            let _ = events.send(DeskEvent::Queued {
                position: None,
                wait: None,
                note: None,
            });
        }
        let reports = events.clone();
        let what = key.to_owned();
        tokio::spawn(async move {
            while let Some(call) = pending.recv().await {
                if let Outcome::MessageLost(error) = send(call).await {
                    tracing::warn!(conversation = %what, %error, "a customer message did not reach the desk");
                    let _ = reports.send(DeskEvent::Error(DeskErrorKind::MessageFailed));
                }
            }
        });
        self.lock().insert(
            key.to_owned(),
            OpenChat {
                chat,
                events,
                outbox,
                agent,
                extra,
            },
        );
        receiver
    }

    /// Queues a customer call for `chat`, registered under `key`.
    pub fn enqueue(&self, key: &str, chat: &ChatId, call: C) -> Result<(), DeskError> {
        let open = self.lock();
        let found = open
            .get(key)
            .filter(|open| &open.chat == chat)
            .ok_or_else(|| DeskError::UnknownChat(chat.clone()))?;
        found
            .outbox
            .send(call)
            .map_err(|_| DeskError::UnknownChat(chat.clone()))
    }

    pub fn remove(&self, key: &str) -> Option<OpenChat<C, E>> {
        self.lock().remove(key)
    }

    pub fn with<T>(&self, key: &str, change: impl FnOnce(&mut OpenChat<C, E>) -> T) -> Option<T> {
        self.lock().get_mut(key).map(change)
    }

    /// The chat under `key` ended at the desk while Baton was away (found on resume): the agent
    /// resolved it.
    pub fn resolved_meanwhile(&self, key: &str) -> Result<usize, DeskError> {
        self.apply(key, |_, out| {
            out.push(DeskEvent::Ended {
                by: baton_desk::EndedBy::Agent,
                reason: baton_desk::EndReason::Resolved,
            });
            Ok(())
        })
    }

    /// Works out what a desk event means for the chat under `key` and sends it, in one step; an
    /// `Ended` closes the chat. How many events were sent (0 for a chat that is not open here).
    pub fn apply(
        &self,
        key: &str,
        translate: impl FnOnce(&mut OpenChat<C, E>, &mut Vec<DeskEvent>) -> Result<(), DeskError>,
    ) -> Result<usize, DeskError> {
        let mut open = self.lock();
        let Some(found) = open.get_mut(key) else {
            return Ok(0);
        };
        let mut out = Vec::new();
        translate(found, &mut out)?;
        let ends = out.iter().any(|event| matches!(event, DeskEvent::Ended { .. }));
        let n_events = out.len();
        for event in out {
            let _ = found.events.send(event);
        }
        if ends {
            open.remove(key);
        }
        Ok(n_events)
    }
}

/// How a customer call went, for the outbox.
pub(crate) enum Outcome {
    Done,
    /// A customer message the desk did not take: the customer's side is told.
    MessageLost(DeskError),
}

impl Outcome {
    /// The outcome of a call: a failed message is lost, any other failure is logged.
    pub fn of(result: Result<(), DeskError>, is_message: bool) -> Outcome {
        match result {
            Ok(()) => Outcome::Done,
            Err(error) if is_message => Outcome::MessageLost(error),
            Err(error) => {
                tracing::warn!(%error, "a customer call did not reach the desk");
                Outcome::Done
            }
        }
    }
}

/// Availability when the desk cannot tell.
pub(crate) fn unknown() -> Availability {
    Availability {
        online: Online::Unknown,
        position: None,
        estimated_wait: None,
        offline_policy: None,
    }
}

/// Availability from whether any agent is online.
pub(crate) fn online_if(any: bool) -> Availability {
    Availability {
        online: if any { Online::Yes } else { Online::No },
        ..unknown()
    }
}

/// The conversation so far as one message for a desk that shows only messages (Salesforce,
/// Genesys): a heading, `Who: text` lines, the link to the whole transcript; the newest lines kept
/// to stay within `max_chars`.
pub(crate) fn transcript_message(request: &ChatRequest, max_chars: usize) -> String {
    let heading = "[The conversation with the assistant before the transfer]";
    let mut lines: Vec<String> = request
        .transcript
        .iter()
        .map(|line| {
            let who = match &line.speaker {
                Speaker::Customer => "Customer",
                Speaker::Assistant => "Assistant",
                Speaker::Agent(name) => name.as_str(),
                Speaker::System => "System",
            };
            format!("{who}: {}", line.text.trim())
        })
        .collect();
    let tail = request
        .transcript_url
        .as_ref()
        .map(|url| format!("\nWhole transcript: {url}"))
        .unwrap_or_default();
    let mut length = lines.iter().map(|line| line.chars().count() + 1).sum::<usize>();
    let room = max_chars.saturating_sub(heading.len() + tail.chars().count());
    while lines.len() > 1 && length > room {
        length -= lines.remove(0).chars().count() + 1;
    }
    if lines.is_empty() {
        lines.push("The customer asks for an agent.".to_owned());
    }
    let body: String = lines.join("\n").chars().take(room).collect();
    format!("{heading}\n{body}{tail}")
}

/// The brief's message to the agent and summary as one text, each once.
pub(crate) fn brief_text(request: &ChatRequest) -> String {
    let summary = request.brief.summary.trim();
    let to_agent = request.brief.message_to_agent.trim();
    if to_agent.is_empty() || summary.contains(to_agent) {
        summary.to_owned()
    } else {
        format!("{to_agent}\n{summary}").trim().to_owned()
    }
}

/// An agent as desk `desk` tells of them: id `{desk}-{id}` (the name where the desk gives no id),
/// the name cut to 200 characters, "Agent" where there is none.
pub(crate) fn agent_profile(desk: &str, id: Option<&str>, name: Option<&str>) -> Result<AgentProfile, DeskError> {
    let name: String = name
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .unwrap_or("Agent")
        .chars()
        .take(200)
        .collect();
    let id: String = id
        .filter(|id| !id.is_empty())
        .unwrap_or(&name)
        .chars()
        .take(200)
        .collect();
    Ok(AgentProfile {
        id: AgentId::parse(&format!("{desk}-{id}"))?,
        name,
    })
}

/// The agent of a chat resumed after a restart, known by id only until the desk names them.
pub(crate) fn resumed_agent(desk: &str, resume: &ChatResume) -> Option<AgentProfile> {
    resume.agent.as_ref().map(|id| AgentProfile {
        id: id.clone(),
        name: id.as_str().trim_start_matches(&format!("{desk}-")).to_owned(),
    })
}
