//! A desk that could not connect when the server started (its homeserver was down, the network
//! not up yet) and keeps trying in the background, so starting Baton before its desk is not a
//! mistake that lasts until the next restart.
//!
//! Until it is connected, new chats are refused at once (the route goes to its next desk). Chats
//! resumed after a restart are accepted now and re-attached once the desk connects, so a chat
//! survives a restart of Baton and its desk together; what the customer writes, reads or ends in
//! the meantime is kept in order and delivered after the chat is re-attached (typing is dropped:
//! it is stale by then), while what the desk says already reaches the customer.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use baton_desk::{
    Availability, Capabilities, Chat, ChatId, ChatRequest, ChatResume, CustomerMessage, DeskError, DeskErrorKind,
    DeskEvent, DeskFuture, EndReason, MessageId, QueueName, ServiceDesk, WebhookReceiver,
};
use tokio::sync::{Notify, mpsc};

/// The first retry waits this long; each next one twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(15);

/// A desk still connecting. Cloning shares the connection.
#[derive(Clone)]
pub struct Connecting {
    name: String,
    capabilities: Capabilities,
    desk: Arc<OnceLock<Arc<dyn ServiceDesk>>>,
    connected: Arc<Notify>,
    /// Resumed chats not yet re-attached, with the customer's calls held for them, in order.
    waiting: Arc<Mutex<HashMap<ChatId, Vec<Held>>>>,
}

/// A customer call held for a chat until it is re-attached.
enum Held {
    Message(CustomerMessage),
    Read(MessageId),
    End(EndReason),
}

impl Connecting {
    /// Starts trying `connect` in the background until it succeeds. `capabilities` are the
    /// desk's own, declared before it connects.
    pub fn spawn<F, Fut, D>(name: &str, capabilities: Capabilities, connect: F) -> Connecting
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<D, DeskError>> + Send,
        D: ServiceDesk + 'static,
    {
        let connecting = Connecting {
            name: name.to_owned(),
            capabilities,
            desk: Arc::default(),
            connected: Arc::default(),
            waiting: Arc::default(),
        };
        let shared = connecting.clone();
        tokio::spawn(async move {
            let mut backoff = FIRST_BACKOFF;
            loop {
                tokio::time::sleep(backoff).await;
                match connect().await {
                    Ok(desk) => {
                        tracing::info!(desk = %shared.name, "the desk connected");
                        let _ = shared.desk.set(Arc::new(desk));
                        shared.connected.notify_waiters();
                        return;
                    }
                    Err(error) => {
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        tracing::warn!(desk = %shared.name, %error, retry_in = ?backoff, "the desk could not connect");
                    }
                }
            }
        });
        connecting
    }

    /// The desk, once connected.
    pub fn connected(&self) -> Option<&Arc<dyn ServiceDesk>> {
        self.desk.get()
    }

    /// Waits until the desk is connected.
    pub async fn ready(&self) -> Arc<dyn ServiceDesk> {
        loop {
            let notified = self.connected.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(desk) = self.desk.get() {
                return desk.clone();
            }
            notified.await;
        }
    }

    fn not_yet(&self) -> DeskError {
        DeskError::Desk(format!("the desk {} has not connected yet", self.name))
    }

    /// Holds `call` when `chat` is waiting to be re-attached; gives it back otherwise.
    fn hold(&self, chat: &ChatId, call: Held) -> Option<Held> {
        let mut waiting = self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match waiting.get_mut(chat) {
            Some(held) => {
                held.push(call);
                None
            }
            None => Some(call),
        }
    }

    /// Delivers what was held for a re-attached chat, in order, until nothing is left; then
    /// the chat's calls go straight to the desk.
    async fn deliver_held(&self, desk: &dyn ServiceDesk, chat: &ChatId) {
        loop {
            let held = {
                let mut waiting = self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let held = waiting.get_mut(chat).map(std::mem::take).unwrap_or_default();
                if held.is_empty() {
                    waiting.remove(chat);
                    return;
                }
                held
            };
            for call in held {
                let delivered = match call {
                    Held::Message(message) => desk.send_to_agent(chat, message).await,
                    Held::Read(up_to) => desk.customer_read(chat, &up_to).await,
                    Held::End(reason) => desk.end_chat(chat, reason).await,
                };
                if let Err(error) = delivered {
                    tracing::warn!(desk = %self.name, %error, %chat, "a held customer call failed");
                }
            }
        }
    }

    fn now<'a, T: Send + 'a>(
        &'a self,
        call: impl FnOnce(&'a dyn ServiceDesk) -> DeskFuture<'a, T>,
    ) -> DeskFuture<'a, T> {
        match self.desk.get() {
            Some(desk) => call(desk.as_ref()),
            None => Box::pin(std::future::ready(Err(self.not_yet()))),
        }
    }
}

impl ServiceDesk for Connecting {
    fn capabilities(&self) -> Capabilities {
        self.connected().map_or(self.capabilities, |desk| desk.capabilities())
    }

    fn availability<'a>(&'a self, queue: Option<&'a QueueName>) -> DeskFuture<'a, Availability> {
        self.now(|desk| desk.availability(queue))
    }

    fn start_chat(&self, request: ChatRequest) -> DeskFuture<'_, Chat> {
        self.now(|desk| desk.start_chat(request))
    }

    fn send_to_agent<'a>(&'a self, chat: &'a ChatId, message: CustomerMessage) -> DeskFuture<'a, ()> {
        match self.hold(chat, Held::Message(message)) {
            Some(Held::Message(message)) => self.now(|desk| desk.send_to_agent(chat, message)),
            _ => Box::pin(std::future::ready(Ok(()))),
        }
    }

    fn customer_typing<'a>(&'a self, chat: &'a ChatId, typing: bool) -> DeskFuture<'a, ()> {
        self.now(|desk| desk.customer_typing(chat, typing))
    }

    fn customer_read<'a>(&'a self, chat: &'a ChatId, up_to: &'a MessageId) -> DeskFuture<'a, ()> {
        match self.hold(chat, Held::Read(up_to.clone())) {
            Some(_) => self.now(|desk| desk.customer_read(chat, up_to)),
            None => Box::pin(std::future::ready(Ok(()))),
        }
    }

    fn end_chat<'a>(&'a self, chat: &'a ChatId, reason: EndReason) -> DeskFuture<'a, ()> {
        match self.hold(chat, Held::End(reason)) {
            Some(Held::End(reason)) => self.now(|desk| desk.end_chat(chat, reason)),
            _ => Box::pin(std::future::ready(Ok(()))),
        }
    }

    /// Connected: the desk resumes the chat. Not yet: the chat is accepted now, the customer
    /// hears that the desk is reconnecting, and the desk resumes it once it connects; if the
    /// desk then refuses it, the transfer fails over as one whose chat could not be opened.
    fn resume(&self, resume: ChatResume) -> DeskFuture<'_, Chat> {
        if let Some(desk) = self.desk.get() {
            return desk.resume(resume);
        }
        let (events, receiver) = mpsc::unbounded_channel();
        let id = resume.chat.clone();
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(id.clone())
            .or_default();
        let _ = events.send(DeskEvent::Error(DeskErrorKind::Disconnected));
        let connecting = self.clone();
        let chat_id = id.clone();
        tokio::spawn(async move {
            let id = chat_id;
            let desk = connecting.ready().await;
            match desk.resume(resume).await {
                Ok(mut chat) => {
                    if chat.id != id {
                        tracing::warn!(desk = %connecting.name, old = %id, new = %chat.id, "the desk resumed the chat under another id");
                    }
                    // The desk's events flow while the held calls are delivered: a long
                    // backlog (a customer who kept writing through the outage) must not keep
                    // the agent's words from the customer until the last held call is through.
                    let forward = async {
                        while let Some(event) = chat.events.recv().await {
                            if events.send(event).is_err() {
                                return;
                            }
                        }
                    };
                    tokio::join!(connecting.deliver_held(desk.as_ref(), &id), forward);
                }
                Err(error) => {
                    tracing::warn!(desk = %connecting.name, %error, chat = %id, "the desk could not resume the chat");
                    let held = connecting
                        .waiting
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .remove(&id);
                    let n_held = held.map_or(0, |held| held.len());
                    tracing::warn!(desk = %connecting.name, chat = %id, n_held, "customer calls held for the chat are dropped; the transfer fails over with its transcript");
                    let _ = events.send(DeskEvent::Error(DeskErrorKind::Connecting));
                }
            }
        });
        Box::pin(std::future::ready(Ok(Chat { id, events: receiver })))
    }

    fn webhook(&self) -> Option<&dyn WebhookReceiver> {
        self.desk.get().and_then(|desk| desk.webhook())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use baton_desk::contract::sample_request;

    use super::*;

    /// A desk that records the calls it gets; clones share the record.
    #[derive(Clone, Default)]
    struct Recording {
        calls: Arc<Mutex<Vec<String>>>,
        /// When set, each `send_to_agent` waits for a permit first: a slow homeserver working
        /// through a backlog.
        gate: Option<Arc<tokio::sync::Semaphore>>,
        /// What the last resumed chat's desk says through.
        desk_says: Arc<Mutex<Option<mpsc::UnboundedSender<DeskEvent>>>>,
    }

    impl Recording {
        fn record(&self, call: String) -> DeskFuture<'_, ()> {
            self.calls.lock().unwrap().push(call);
            Box::pin(std::future::ready(Ok(())))
        }

        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }

        /// Lets other tasks run until `done` holds of the recorded calls (or gives up).
        async fn until(&self, done: impl Fn(&[String]) -> bool) {
            for _ in 0..1000 {
                if done(&self.calls()) {
                    return;
                }
                tokio::task::yield_now().await;
            }
        }
    }

    impl ServiceDesk for Recording {
        fn capabilities(&self) -> Capabilities {
            Capabilities::default()
        }
        fn availability<'a>(&'a self, _: Option<&'a QueueName>) -> DeskFuture<'a, Availability> {
            Box::pin(std::future::ready(Err(DeskError::Unsupported("availability"))))
        }
        fn start_chat(&self, _: ChatRequest) -> DeskFuture<'_, Chat> {
            Box::pin(std::future::ready(Err(DeskError::Unsupported("start_chat"))))
        }
        fn send_to_agent<'a>(&'a self, chat: &'a ChatId, message: CustomerMessage) -> DeskFuture<'a, ()> {
            Box::pin(async move {
                if let Some(gate) = &self.gate {
                    gate.acquire().await.expect("the gate stays open").forget();
                }
                self.record(format!("{chat} says {}", message.text)).await
            })
        }
        fn customer_typing<'a>(&'a self, chat: &'a ChatId, typing: bool) -> DeskFuture<'a, ()> {
            self.record(format!("{chat} typing {typing}"))
        }
        fn customer_read<'a>(&'a self, chat: &'a ChatId, up_to: &'a MessageId) -> DeskFuture<'a, ()> {
            self.record(format!("{chat} read {up_to}"))
        }
        fn end_chat<'a>(&'a self, chat: &'a ChatId, _: EndReason) -> DeskFuture<'a, ()> {
            self.record(format!("{chat} ended"))
        }
        fn resume(&self, resume: ChatResume) -> DeskFuture<'_, Chat> {
            self.calls.lock().unwrap().push(format!("{} resumed", resume.chat));
            let (says, events) = mpsc::unbounded_channel();
            *self.desk_says.lock().unwrap() = Some(says);
            Box::pin(std::future::ready(Ok(Chat {
                id: resume.chat,
                events,
            })))
        }
    }

    fn message(id: &str, text: &str) -> CustomerMessage {
        CustomerMessage {
            id: MessageId::parse(id).unwrap(),
            at: chrono::Utc::now(),
            text: text.into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_desk_that_fails_to_connect_refuses_new_chats_until_a_later_attempt_succeeds() {
        let attempts = Arc::new(AtomicU32::new(0));
        let counted = attempts.clone();
        let desk = Connecting::spawn("team", Capabilities::default(), move || {
            let attempt = counted.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                if attempt < 3 {
                    Err(DeskError::Desk("connection refused".into()))
                } else {
                    Ok(Recording::default())
                }
            }
        });
        let queue = QueueName::parse("billing").unwrap();
        let error = desk
            .start_chat(sample_request("t-1", queue))
            .await
            .expect_err("not connected yet");
        assert!(error.to_string().contains("has not connected yet"), "{error}");
        let ready = tokio::time::timeout(Duration::from_secs(600), desk.ready()).await;
        assert!(ready.is_ok(), "connected in the end");
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            3,
            "retried until it worked, then stopped"
        );
        let error = desk
            .start_chat(sample_request("t-2", QueueName::parse("billing").unwrap()))
            .await
            .expect_err("the recording desk refuses chats");
        assert!(
            matches!(error, DeskError::Unsupported("start_chat")),
            "the connected desk answers: {error}"
        );
    }

    /// `recording` behind a [`Connecting`] that connects once the flag it gives back is set, and
    /// the chat `room-1` resumed on it before then: its events.
    async fn resumed_before_connecting(
        recording: &Recording,
    ) -> (Connecting, Arc<AtomicU32>, mpsc::UnboundedReceiver<DeskEvent>) {
        let up = Arc::new(AtomicU32::new(0));
        let (desk_for_connect, connected) = (recording.clone(), up.clone());
        let desk = Connecting::spawn("team", Capabilities::default(), move || {
            let desk = desk_for_connect.clone();
            let open = connected.load(Ordering::SeqCst) > 0;
            async move {
                if open {
                    Ok(desk)
                } else {
                    Err(DeskError::Desk("connection refused".into()))
                }
            }
        });
        let resumed = desk
            .resume(ChatResume {
                chat: ChatId::parse("room-1").unwrap(),
                request: sample_request("t-1", QueueName::parse("billing").unwrap()),
                queued_at: chrono::Utc::now(),
                agent: None,
                state: None,
            })
            .await
            .expect("a resume is accepted before the desk connects");
        let mut events = resumed.events;
        assert_eq!(
            events.recv().await,
            Some(DeskEvent::Error(DeskErrorKind::Disconnected)),
            "the customer hears that the desk is reconnecting"
        );
        (desk, up, events)
    }

    #[tokio::test(start_paused = true)]
    async fn a_resumed_chat_keeps_the_customers_calls_in_order_until_the_desk_connects() {
        let recording = Recording::default();
        let (desk, connected, _events) = resumed_before_connecting(&recording).await;
        let chat = ChatId::parse("room-1").unwrap();
        desk.send_to_agent(&chat, message("m1", "first")).await.unwrap();
        desk.customer_typing(&chat, true).await.expect_err("typing is not held");
        desk.customer_read(&chat, &MessageId::parse("a1").unwrap())
            .await
            .unwrap();
        desk.send_to_agent(&chat, message("m2", "second")).await.unwrap();
        assert!(recording.calls().is_empty());

        connected.store(1, Ordering::SeqCst);
        tokio::time::timeout(Duration::from_secs(600), desk.ready())
            .await
            .unwrap();
        desk.send_to_agent(&chat, message("m3", "third")).await.unwrap();
        recording.until(|calls| calls.len() == 5).await;
        assert_eq!(
            recording.calls(),
            [
                "room-1 resumed",
                "room-1 says first",
                "room-1 read a1",
                "room-1 says second",
                "room-1 says third"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_desk_is_heard_while_the_held_calls_are_still_being_delivered() {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let recording = Recording {
            gate: Some(gate.clone()),
            ..Recording::default()
        };
        let (desk, up, mut events) = resumed_before_connecting(&recording).await;
        let chat = ChatId::parse("room-1").unwrap();
        for n in 0..50 {
            desk.send_to_agent(&chat, message(&format!("m{n}"), "hello?"))
                .await
                .unwrap();
        }

        up.store(1, Ordering::SeqCst);
        tokio::time::timeout(Duration::from_secs(600), desk.ready())
            .await
            .unwrap();
        recording.until(|calls| calls == ["room-1 resumed"]).await;
        let says = recording.desk_says.lock().unwrap().clone().expect("resumed");
        says.send(DeskEvent::AgentTyping(true)).unwrap();
        let heard = tokio::time::timeout(Duration::from_secs(60), events.recv()).await;
        assert_eq!(
            heard.expect("the desk is heard before its backlog is through"),
            Some(DeskEvent::AgentTyping(true))
        );
        assert_eq!(
            recording.calls(),
            ["room-1 resumed"],
            "no held message went through yet"
        );

        gate.add_permits(50);
        recording.until(|calls| calls.len() == 51).await;
        assert_eq!(recording.calls().len(), 51, "then every held message is delivered");
    }
}
