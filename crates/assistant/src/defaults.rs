//! The built-in wording and phrases of the system actions, in one place.
//!
//! The loader copies these into an [`crate::Assistant`] wherever the author left a system action
//! unedited, so the runtime never has to know what was defaulted.

pub use crate::spec::{DEFAULT_AGENT_OFFLINE, DEFAULT_AGENT_ONLINE};

/// Greet customer.
pub const GREETING: &str = "Welcome, how can I assist you?";
/// No action matches (said for each of the first `no_match_limit` consecutive misses).
pub const NO_ACTION_MATCHES: &str = "I'm afraid I don't understand. Please rephrase your question.";

/// Fallback, one message per reason, said before connecting.
pub const FALLBACK_NO_ACTION_MATCHES: &str =
    "I'm afraid I still don't understand. I'll connect you to an agent who can help.";
pub const FALLBACK_STEP_VALIDATION_FAILED: &str =
    "Sorry, I'm not able to understand your answer. I'll connect you to an agent who can help.";
pub const FALLBACK_AGENT_REQUESTED: &str = "Sure, I'll connect you to an agent.";
pub const FALLBACK_DANGER_WORD: &str = "I'll connect you to an agent right away.";
pub const FALLBACK_PROFANITY: &str = "I'm going to connect you to an agent now.";

/// Trigger words: the warning of the profanity group.
pub const PROFANITY_WARNING: &str = "Please keep our conversation respectful, or I'll have to connect you to an agent.";

/// Clarifying question.
pub const CLARIFY_PROMPT: &str = "Did you mean:";
pub const CLARIFY_NONE_OF_THE_ABOVE: &str = "None of the above";
pub const CLARIFY_CONNECT_TO_SUPPORT: &str = "Connect to support";
pub const CLARIFY_NONE_RESPONSE: &str = "Sorry about that. Could you rephrase what you need?";
pub const CLARIFY_MAX_CANDIDATES: u32 = 3;

/// Change topic: `{action}` is the interrupted action's title.
pub const CHANGE_TOPIC_RETURN: &str = "Do you want to go back to {action}?";

/// Phrases by which a customer asks for a human, recognised as the Fallback action (reason `agent_requested`).
pub const AGENT_REQUESTED_EXAMPLES: &[&str] = &[
    "I want to talk to a person",
    // The embedding table does not put "manager" or "supervisor" near "person" or "agent"
    // (cosine 0.14 and 0.16), so without phrases of their own "I want a manager" ranks the
    // request for a person below the threshold (0.39 in a two-action assistant). They replace
    // two phrases that said what others say ("talk to a human please", "is there a real person
    // I can talk to"): more phrases would make the request the larger class in a small
    // assistant, and lower every action's confidence there.
    "I want to speak to a manager",
    "can I talk to your supervisor",
    "connect me to an agent",
    "let me speak to someone",
    "talk to a human please",
    "get me a live agent",
    "I need to speak with a representative",
    "transfer me to customer service",
    "agent please",
    "human",
    "operator",
    "representative",
    "is there a real person I can talk to",
    "I'd rather talk to somebody",
];

/// English words that say nothing of what a message is about. A message is taken as a request
/// for a person only when it shares a word outside this list with the ways customers ask for one
/// (see [`crate::words::shares_content_word`]): "I want to order a pizza" shares only "I want to"
/// and "a" with "I want to talk to a person".
pub const FUNCTION_WORDS: &[&str] = &[
    "a", "about", "also", "am", "an", "and", "any", "are", "at", "be", "been", "but", "by", "can", "can't", "could",
    "did", "do", "does", "don't", "for", "from", "get", "give", "go", "had", "has", "have", "hello", "hey", "hi",
    "how", "i", "i'd", "i'll", "i'm", "i've", "if", "in", "into", "is", "it", "it's", "its", "just", "let", "let's",
    "like", "make", "may", "me", "might", "must", "my", "need", "no", "not", "now", "of", "on", "one", "or", "our",
    "please", "pls", "rather", "real", "really", "should", "so", "some", "than", "thank", "thanks", "that", "the",
    "then", "there", "these", "this", "those", "to", "too", "us", "very", "wanna", "want", "was", "we", "were", "what",
    "when", "where", "which", "who", "why", "will", "with", "would", "yes", "you", "your",
];

/// Words for a person to talk to. A message that [`crate::words::shares_content_word`] with none
/// of the phrases that ask for a person still asks for one when it names one of these ("I want a
/// manager"), whatever those phrases are.
pub const PERSON_WORDS: &[&str] = &[
    "advisor",
    "adviser",
    "agent",
    "anybody",
    "anyone",
    "colleague",
    "employee",
    "human",
    "manager",
    "operator",
    "people",
    "person",
    "representative",
    "somebody",
    "someone",
    "staff",
    "supervisor",
    "team",
];

/// A small default list for the profanity group, replaced when the author gives one.
pub const PROFANITY_WORDS: &[&str] = &[
    "damn",
    "crap",
    "shit",
    "fuck",
    "fucking",
    "bullshit",
    "bastard",
    "asshole",
    "idiot",
    "stupid bot",
];
