//! The desk as the conversation sees it: the [`ServiceDesk`] that customers' transfers go to
//! (its agent side, when it has one, through [`ServiceDesk::console`]), and what this process
//! keeps about it: which transfer each open chat belongs to, the agents it knows, the agent
//! messages waiting to be acknowledged, and notices for agents' consoles.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use baton_desk::own::{AgentConfig, Presence};
use baton_desk::{AgentConsole, AgentId, Availability, ChatId, MessageId, Online, QueueName, ServiceDesk, TransferId};
use baton_store::AgentRecord;

/// The desk's view of a stored agent; `None` if the stored names are not valid ids.
pub(crate) fn desk_agent(record: &AgentRecord) -> Option<AgentConfig> {
    let queues = record
        .queues
        .iter()
        .map(|queue| QueueName::parse(queue).ok())
        .collect::<Option<Vec<_>>>()?;
    Some(AgentConfig {
        id: AgentId::parse(&record.username).ok()?,
        name: record.display_name.clone(),
        queues,
        capacity: record.capacity,
    })
}

/// How long a desk may take to say whether agents are there before it counts as unknown.
const AVAILABILITY_TIMEOUT: Duration = Duration::from_secs(2);

/// An availability nobody could tell.
pub(crate) fn unknown_availability() -> Availability {
    Availability {
        online: Online::Unknown,
        position: None,
        estimated_wait: None,
        offline_policy: None,
    }
}

/// How long an agent's message waits for the pump to commit it.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct Desk {
    /// Baton's own desk (`own` in routes), whose agents use the console.
    pub service: Arc<dyn ServiceDesk>,
    /// The other configured desks, by name.
    named: HashMap<String, Named>,
    /// Per queue, the desks in failover order (`None` is the own desk); `"*"` for the rest.
    routes: HashMap<String, Vec<Option<String>>>,
    /// Chat → transfer, for the chats this process has open.
    links: Mutex<HashMap<ChatId, Link>>,
    acks: Acks,
    /// The agents known to this process (from the configuration, and from the store at login).
    agents: Mutex<HashMap<AgentId, AgentConfig>>,
    /// Stops every pump at shutdown.
    pub stop: CancellationToken,
    /// Frames for one agent's consoles that the desk does not send (presence, a chat accepted
    /// on another console); every agent socket listens and keeps its own.
    notices: tokio::sync::broadcast::Sender<(AgentId, Notice)>,
}

/// What an agent's consoles hear from another console of the same agent.
#[derive(Debug, Clone)]
pub enum Notice {
    Presence(Presence),
    /// The agent accepted this chat (its transfer's id).
    ChatAccepted(ChatId),
}

/// The transfer and session a chat belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub transfer: TransferId,
    pub session: String,
    /// The chat whose events these are: once the transfer has moved to another chat (failed
    /// over to the next desk), what the old one still sends changes nothing.
    pub chat: ChatId,
}

/// A configured desk other than the own one.
pub(crate) struct Named {
    pub service: Arc<dyn ServiceDesk>,
    pub join_timeout: Option<Duration>,
}

impl Desk {
    pub fn new(
        service: Arc<dyn ServiceDesk>,
        configured: &[AgentConfig],
        named: Vec<crate::desks::NamedDesk>,
        routes: &std::collections::BTreeMap<String, Vec<String>>,
    ) -> Desk {
        let agents = configured
            .iter()
            .map(|agent| (agent.id.clone(), agent.clone()))
            .collect();
        let named = named
            .into_iter()
            .map(|desk| {
                let named = Named {
                    service: desk.service,
                    join_timeout: desk.join_timeout,
                };
                (desk.name, named)
            })
            .collect();
        let routes = routes
            .iter()
            .map(|(queue, desks)| {
                let desks = desks
                    .iter()
                    .map(|desk| (desk != crate::desks::OWN).then(|| desk.clone()))
                    .collect();
                (queue.clone(), desks)
            })
            .collect();
        Desk {
            service,
            named,
            routes,
            links: Mutex::new(HashMap::new()),
            acks: Acks::default(),
            agents: Mutex::new(agents),
            stop: CancellationToken::new(),
            notices: tokio::sync::broadcast::channel(256).0,
        }
    }

    /// The desk called `name` (`None`: the own desk); an unknown name (a desk removed from the
    /// configuration since the transfer opened) is `None`.
    pub fn named(&self, name: Option<&str>) -> Option<&Arc<dyn ServiceDesk>> {
        match name {
            None => Some(&self.service),
            Some(name) => self.named.get(name).map(|named| &named.service),
        }
    }

    /// The desk that holds a transfer's chat; the own desk for one whose desk is gone.
    pub fn of(&self, desk: Option<&str>) -> &Arc<dyn ServiceDesk> {
        self.named(desk).unwrap_or(&self.service)
    }

    /// How long the desk gives an agent to join before the transfer goes to the next one.
    pub fn join_timeout(&self, desk: Option<&str>) -> Option<Duration> {
        desk.and_then(|name| self.named.get(name))
            .and_then(|named| named.join_timeout)
    }

    /// The desks that serve `queue`, in failover order (`None`: the own desk).
    pub fn route(&self, queue: &QueueName) -> Vec<Option<String>> {
        self.routes
            .get(queue.as_str())
            .or_else(|| self.routes.get("*"))
            .cloned()
            .unwrap_or_else(|| vec![None])
    }

    /// What the desks of the queue's route say, first to last: the first with agents (or that
    /// cannot tell) answers; if every desk says nobody is there, the last one's answer (its
    /// offline policy) stands. A desk that cannot answer counts as online, so the customer is not
    /// told "nobody is there" by mistake and `start_chat` decides. `None`: the default queue.
    pub async fn availability(&self, queue: Option<&str>, default_queue: &QueueName) -> Availability {
        let queue = queue.and_then(|queue| QueueName::parse(queue).ok());
        let routed = queue.clone().unwrap_or_else(|| default_queue.clone());
        let mut last = unknown_availability();
        for desk in self.route(&routed) {
            let Some(service) = self.named(desk.as_deref()) else {
                continue;
            };
            let name = desk.as_deref().unwrap_or(crate::desks::OWN);
            last = match tokio::time::timeout(AVAILABILITY_TIMEOUT, service.availability(queue.as_ref())).await {
                Ok(Ok(availability)) => availability,
                Ok(Err(error)) => {
                    tracing::warn!(%error, desk = name, "desk availability failed");
                    unknown_availability()
                }
                Err(_) => {
                    tracing::warn!(desk = name, "desk availability timed out");
                    unknown_availability()
                }
            };
            if last.online != Online::No {
                return last;
            }
        }
        last
    }

    /// The desk's agent side, when its agents use Baton's console.
    pub fn console(&self) -> Option<&dyn AgentConsole> {
        self.service.console()
    }

    /// Tells every console of an agent.
    pub fn notify(&self, agent: &AgentId, notice: Notice) {
        // No receiver (no console open) is fine.
        let _ = self.notices.send((agent.clone(), notice));
    }

    pub fn notices(&self) -> tokio::sync::broadcast::Receiver<(AgentId, Notice)> {
        self.notices.subscribe()
    }

    pub fn link(&self, chat: &ChatId) -> Option<Link> {
        let links = self.links.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        links.get(chat).cloned()
    }

    pub fn add_link(&self, chat: ChatId, link: Link) {
        let mut links = self.links.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        links.insert(chat, link);
    }

    pub fn remove_link(&self, chat: &ChatId) {
        let mut links = self.links.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        links.remove(chat);
    }

    /// Adds or updates an agent in this process and in the desk's console.
    pub async fn register_agent(&self, agent: AgentConfig) {
        if let Some(console) = self.console()
            && let Err(error) = console.register_agent(agent.clone()).await
        {
            tracing::warn!(%error, agent = %agent.id, "the desk could not register an agent");
        }
        let mut agents = self.agents.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        agents.insert(agent.id.clone(), agent);
    }

    pub fn agent(&self, id: &AgentId) -> Option<AgentConfig> {
        let agents = self.agents.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        agents.get(id).cloned()
    }

    pub fn agents(&self) -> Vec<AgentConfig> {
        let agents = self.agents.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut list: Vec<AgentConfig> = agents.values().cloned().collect();
        list.sort_by(|a, b| a.id.cmp(&b.id));
        list
    }

    /// Records that the pump has committed (or failed to commit) the agent message the desk
    /// calls `id`.
    pub fn acknowledge(&self, id: &MessageId, stored: Option<String>) {
        self.acks.fill(id.as_str(), stored);
    }

    /// Waits until the pump has committed the agent message the desk calls `id`; returns the id
    /// it was stored under (unique, unlike the desk's, which restart with the chat), or `None`
    /// if it was not stored.
    pub async fn committed(&self, id: &MessageId) -> Option<String> {
        self.acks.wait(id.as_str()).await
    }

    /// Records that the pump has committed (or failed to commit) an agent joining `chat`.
    pub fn acknowledge_joined(&self, chat: &ChatId, committed: bool) {
        self.acks.fill(&joined(chat), committed.then(String::new));
    }

    /// Forgets what an earlier join of `chat` left, before an agent accepts it.
    pub fn forget_joined(&self, chat: &ChatId) {
        self.acks.remove(&joined(chat));
    }

    /// Waits until the pump has committed an agent joining `chat`; false if it was not stored.
    pub async fn joined_committed(&self, chat: &ChatId) -> bool {
        self.acks.wait(&joined(chat)).await.is_some()
    }
}

/// The acknowledgement slot of an agent joining a chat (message ids never start with this).
fn joined(chat: &ChatId) -> String {
    format!("joined {chat}")
}

/// Agent messages committed (or not) by the pump, for the routes that wait for them.
/// A slot may be filled before the route waits; both orders work.
#[derive(Default)]
struct Acks {
    slots: Mutex<HashMap<String, Ack>>,
}

enum Ack {
    /// The id the message was stored under, or `None` if storing it failed.
    Done(Option<String>),
    Waiting(oneshot::Sender<Option<String>>),
}

impl Acks {
    fn wait(&self, key: &str) -> impl std::future::Future<Output = Option<String>> + use<'_> {
        let receiver = {
            let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match slots.remove(key) {
                Some(Ack::Done(stored)) => Err(stored),
                Some(Ack::Waiting(_)) | None => {
                    let (sender, receiver) = oneshot::channel();
                    slots.insert(key.to_owned(), Ack::Waiting(sender));
                    Ok(receiver)
                }
            }
        };
        let key = key.to_owned();
        async move {
            let receiver = match receiver {
                Ok(receiver) => receiver,
                Err(stored) => return stored,
            };
            match tokio::time::timeout(ACK_TIMEOUT, receiver).await {
                Ok(Ok(stored)) => stored,
                _ => {
                    self.remove(&key);
                    None
                }
            }
        }
    }

    fn remove(&self, key: &str) {
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        slots.remove(key);
    }

    fn fill(&self, key: &str, stored: Option<String>) {
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match slots.remove(key) {
            Some(Ack::Waiting(sender)) => {
                let _ = sender.send(stored);
            }
            _ => {
                // The console's routes wait for what they caused (a message, an accept); a join
                // on an external desk has nobody waiting: keep the map from growing.
                if slots.len() > 10_000 {
                    slots.retain(|_, ack| matches!(ack, Ack::Waiting(_)));
                }
                slots.insert(key.to_owned(), Ack::Done(stored));
            }
        }
    }
}
