//! How often the classifier's top two intents call for a clarifying question (both at the
//! threshold or above, within the clarify margin: [`Classifier::is_close`] with the defaults),
//! on messages that name one intent and on messages that name two.
//!
//! Sub-assistants of BANKING77 and HWU64 (8 to 40 intents with 8 to 15 training examples each,
//! two seeds per shape) are trained on `train`; the messages are
//! - `one intent`: up to 300 validation messages of the sub-assistant's intents;
//! - `one example`: up to 300 of the sub-assistant's own training examples (a message worded
//!   exactly like an example, as the conversation tests `baton import` derives are);
//! - `two phrases`: 150 pairs of the sub-assistant's own training examples of two intents, of 8
//!   words or fewer each, joined by "or", "and", a comma or "or maybe" ("card lost or new card":
//!   a customer who names two things the assistant does);
//! - `two messages`: the same with validation messages, which are worded unlike any example.
//!
//! For each kind it prints how often a clarifying question would be asked (for two intents: with
//! those two as the top two), with the confidences `classify` gives and, for comparison, with
//! the rule before issue 25's fix, where every intent but the top one had the top one's confidence
//! times its probability relative to the top one's (from [`Classifier::signals`]).
//!
//! Run: `cargo run --release -p baton-nlu --example clarify` (`EMBEDDING=0` leaves the table
//! out, as `--baseline ngram-networks` does).

use std::collections::{BTreeMap, BTreeSet};

use baton_nlu::TrainingExample;
use baton_nlu::classifier::{Classifier, DEFAULT_CLARIFY_MARGIN, DEFAULT_THRESHOLD, TrainOptions};

mod common;

use common::{load, setting};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

const JOINS: [&str; 4] = [" or ", " and ", ", ", " or maybe "];

/// A message and the intents it names (one or two).
struct Message {
    text: String,
    intents: Vec<String>,
}

/// Up to `n` messages joining two of `messages` (of `max_words` words or fewer) of different intents.
fn pairs(messages: &[&TrainingExample], rng: &mut Rng, n: usize, max_words: usize) -> Vec<Message> {
    let short: Vec<&TrainingExample> = messages
        .iter()
        .copied()
        .filter(|message| message.text.split_whitespace().count() <= max_words)
        .collect();
    let mut out = Vec::new();
    if short.len() < 2 {
        return out;
    }
    for _ in 0..n * 20 {
        if out.len() == n {
            break;
        }
        let (first, second) = (short[rng.below(short.len())], short[rng.below(short.len())]);
        if first.intent == second.intent {
            continue;
        }
        let join = JOINS[rng.below(JOINS.len())];
        out.push(Message {
            text: format!("{}{join}{}", first.text.trim_end_matches(['.', '?', '!']), second.text),
            intents: vec![first.intent.clone(), second.intent.clone()],
        });
    }
    out
}

/// Counts of one kind of message: messages, clarifying questions now and with the old rule, and
/// (for one intent) of those the ones whose top intent was right.
#[derive(Default)]
struct Counts {
    messages: usize,
    now: usize,
    now_top_right: usize,
    before: usize,
    before_top_right: usize,
}

impl Counts {
    fn add(&mut self, classifier: &Classifier, message: &Message) {
        self.messages += 1;
        let scores = classifier.classify(&message.text);
        let signals = classifier.signals(&message.text);
        let mut order: Vec<usize> = (0..signals.probabilities.len()).collect();
        order.sort_by(|&a, &b| signals.probabilities[b].total_cmp(&signals.probabilities[a]));
        let [first, second] = [order[0], order[1]];
        let names = [&classifier.intents()[first], &classifier.intents()[second]];
        let top_right = *names[0] == message.intents[0];
        // The pair asked about must be the message's two intents, when it names two.
        let right_pair = |a: &String, b: &String| {
            message.intents.len() == 1 || (message.intents.contains(a) && message.intents.contains(b))
        };
        let close_now = Classifier::is_close(&scores, DEFAULT_THRESHOLD, DEFAULT_CLARIFY_MARGIN);
        if close_now && right_pair(&scores[0].intent, &scores[1].intent) {
            self.now += 1;
            self.now_top_right += usize::from(top_right);
        }
        let top_confidence = scores[0].confidence;
        let second_before =
            top_confidence * signals.probabilities[second] / signals.probabilities[first].max(f32::MIN_POSITIVE);
        let close_before =
            second_before >= DEFAULT_THRESHOLD && top_confidence - second_before <= DEFAULT_CLARIFY_MARGIN;
        if close_before && right_pair(names[0], names[1]) {
            self.before += 1;
            self.before_top_right += usize::from(top_right);
        }
    }
}

fn main() {
    let embedding_weight: f32 = setting("EMBEDDING", 1.0);
    let options = TrainOptions {
        embedding_weight,
        known_words_from_table: embedding_weight > 0.0,
        ..TrainOptions::default()
    };
    println!(
        "| data set | messages | clarifying question now | of which the top intent was right | before | of which the top intent was right |"
    );
    println!("|---|---|---|---|---|---|");
    for dataset in ["banking77", "hwu64"] {
        let train = load(dataset, "train");
        let val = load(dataset, "val");
        let mut intents: Vec<String> = train
            .iter()
            .map(|example| example.intent.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut counts: [Counts; 4] = Default::default();
        for (n_intents, n_examples) in [(8_usize, 8_usize), (12, 12), (18, 10), (25, 10), (40, 15)] {
            for seed in 0..2 {
                let mut rng = Rng(seed * 7919 + n_intents as u64 * 31 + n_examples as u64);
                rng.shuffle(&mut intents);
                let inside: BTreeSet<&String> = intents[..n_intents].iter().collect();
                let mut by_intent: BTreeMap<&str, Vec<&TrainingExample>> = BTreeMap::new();
                for example in train.iter().filter(|example| inside.contains(&example.intent)) {
                    by_intent.entry(&example.intent).or_default().push(example);
                }
                let mut examples = Vec::new();
                for (_, mut group) in by_intent {
                    rng.shuffle(&mut group);
                    examples.extend(group.into_iter().take(n_examples).cloned());
                }
                let classifier = Classifier::train_with(&examples, &[], options, &mut |_, _| {});
                let mut plain: Vec<&TrainingExample> =
                    val.iter().filter(|message| inside.contains(&message.intent)).collect();
                rng.shuffle(&mut plain);
                plain.truncate(300);
                let trained: Vec<&TrainingExample> = examples.iter().collect();
                let one = |messages: &[&TrainingExample]| -> Vec<Message> {
                    messages
                        .iter()
                        .take(300)
                        .map(|message| Message {
                            text: message.text.clone(),
                            intents: vec![message.intent.clone()],
                        })
                        .collect()
                };
                let kinds = [
                    one(&plain),
                    one(&trained),
                    pairs(&trained, &mut rng, 150, 8),
                    pairs(&plain, &mut rng, 150, 8),
                ];
                for (count, messages) in counts.iter_mut().zip(&kinds) {
                    for message in messages {
                        count.add(&classifier, message);
                    }
                }
            }
        }
        let percent = |part: usize, whole: usize| 100.0 * part as f64 / whole.max(1) as f64;
        for (kind, count) in ["one intent", "one example", "two phrases", "two messages"]
            .iter()
            .zip(&counts)
        {
            // Which half of a two-intent message is the top one says nothing.
            let top_right = |part: usize| match *kind {
                "one intent" | "one example" => format!("{:.1}%", percent(part, count.messages)),
                _ => String::new(),
            };
            println!(
                "| {dataset} | {kind}: {} | {:.1}% | {} | {:.1}% | {} |",
                count.messages,
                percent(count.now, count.messages),
                top_right(count.now_top_right),
                percent(count.before, count.messages),
                top_right(count.before_top_right),
            );
        }
    }
}
