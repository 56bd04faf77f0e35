//! Does one confidence threshold mean the same thing for small and large assistants?
//!
//! Samples sub-assistants from BANKING77 and HWU64 (8 to 40 intents with 6 to 15 examples each,
//! three seeds per shape, plus four fifths of all intents with every example); out of scope are
//! messages of the intents left out (150 per sub-assistant) and, as the off-topic messages real
//! customers send, messages of the other data set (150: HWU64's for BANKING77 and the reverse). For each sub-assistant it prints the closed-set accuracy,
//! the share of in-scope messages matched to the right intent at confidence ≥ 0.5, and the share
//! of out-of-scope messages below 0.5. It then refits the in-scope model of `classifier.rs`
//! (top probability, log-ratio to the second, nearest-example similarity by n-grams and by
//! embedding) on the same rows, each
//! sub-assistant weighing the same, and prints its weights: this is how the shipped ones were
//! obtained, for the default ranking (the networks; the logistic regression's weights came from
//! this bench when it was the default).
//!
//! The messages are the data sets' validation sets only (until 2026-12-07, validation and test):
//! every choice is made on validation data, and test data is kept for reporting.
//!
//! Run: `cargo bench -p baton-nlu --bench calibration` (data in `../shared/data/nlu`, or set
//! `BATON_NLU_DATA`).

use std::collections::{BTreeMap, BTreeSet};

use baton_nlu::TrainingExample;
use baton_nlu::classifier::{Classifier, DEFAULT_THRESHOLD};

#[path = "../examples/common/mod.rs"]
mod common;

use common::load;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// One test message: its sub-assistant, whether it is in scope, whether the top intent is right,
/// the shipped confidence, and the in-scope model's inputs.
struct Row {
    assistant: usize,
    in_scope: bool,
    correct: bool,
    confidence: f32,
    inputs: [f64; 4],
}

fn main() {
    let mut names = Vec::new();
    let mut rows = Vec::new();
    for (dataset, other) in [("banking77", "hwu64"), ("hwu64", "banking77")] {
        let train = load(dataset, "train");
        let test = load(dataset, "val");
        let off_topic = load(other, "val");
        let mut intents: Vec<String> = train
            .iter()
            .map(|example| example.intent.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // (intents, examples per intent); 0 means four fifths of the intents, every example.
        for (n_intents, n_examples) in [(8_usize, 8_usize), (12, 6), (12, 12), (25, 10), (40, 15), (0, 0)] {
            let seeds = if n_intents == 0 { 1 } else { 3 };
            for seed in 0..seeds {
                let mut rng = Rng(seed * 7919 + n_intents as u64 * 31 + n_examples as u64);
                rng.shuffle(&mut intents);
                let n_inside = if n_intents == 0 {
                    intents.len() * 4 / 5
                } else {
                    n_intents
                };
                let inside: BTreeSet<&String> = intents[..n_inside].iter().collect();
                let mut by_intent: BTreeMap<&str, Vec<&TrainingExample>> = BTreeMap::new();
                for example in train.iter().filter(|example| inside.contains(&example.intent)) {
                    by_intent.entry(&example.intent).or_default().push(example);
                }
                let mut examples = Vec::new();
                for (_, mut group) in by_intent {
                    rng.shuffle(&mut group);
                    let keep = if n_examples == 0 {
                        group.len()
                    } else {
                        n_examples.min(group.len())
                    };
                    examples.extend(group[..keep].iter().map(|example| (*example).clone()));
                }
                let classifier = Classifier::train(&examples, &[]);
                let mut messages: Vec<&TrainingExample> = test.iter().collect();
                rng.shuffle(&mut messages);
                let mut off_topic: Vec<&TrainingExample> = off_topic.iter().collect();
                rng.shuffle(&mut off_topic);
                let messages = messages
                    .into_iter()
                    .map(|message| (message, false))
                    .chain(off_topic.into_iter().take(150).map(|message| (message, true)));
                let (mut n_in, mut n_out) = (0, 0);
                for (message, is_off_topic) in messages {
                    let in_scope = !is_off_topic && inside.contains(&message.intent);
                    if (in_scope && n_in >= 600) || (!in_scope && !is_off_topic && n_out >= 150) {
                        continue;
                    }
                    if in_scope {
                        n_in += 1;
                    } else if !is_off_topic {
                        n_out += 1;
                    }
                    let signals = classifier.signals(&message.text);
                    let mut order: Vec<usize> = (0..signals.probabilities.len()).collect();
                    order.sort_by(|&a, &b| signals.probabilities[b].total_cmp(&signals.probabilities[a]));
                    let top = order[0];
                    let p1 = signals.probabilities[top];
                    let p2 = order.get(1).map_or(0.0, |&second| signals.probabilities[second]);
                    let log_ratio = (p1.max(1e-6) / p2.max(1e-6)).ln().min(10.0) / 10.0;
                    let scores = classifier.classify(&message.text);
                    rows.push(Row {
                        assistant: names.len(),
                        in_scope,
                        correct: in_scope && classifier.intents()[top] == message.intent,
                        confidence: scores[0].confidence,
                        inputs: [
                            f64::from(p1),
                            f64::from(log_ratio),
                            f64::from(signals.similarities[top]),
                            f64::from(signals.embedding_similarities[top]),
                        ],
                    });
                }
                let shape = if n_intents == 0 {
                    format!("{n_inside} intents, all examples")
                } else {
                    format!("{n_intents} intents × {n_examples}")
                };
                names.push(format!("{dataset} {shape} (seed {seed})"));
            }
        }
    }

    println!("| sub-assistant | closed-set accuracy | right intent at ≥ 0.5 | out-of-scope below 0.5 |");
    println!("|---|---|---|---|");
    let mut totals = [0.0; 3];
    for (assistant, name) in names.iter().enumerate() {
        let mine: Vec<&Row> = rows.iter().filter(|row| row.assistant == assistant).collect();
        let n_in = mine.iter().filter(|row| row.in_scope).count() as f64;
        let n_out = mine.iter().filter(|row| !row.in_scope).count() as f64;
        let closed = mine.iter().filter(|row| row.correct).count() as f64 / n_in;
        let matched = mine
            .iter()
            .filter(|row| row.correct && row.confidence >= DEFAULT_THRESHOLD)
            .count() as f64
            / n_in;
        let rejected = mine
            .iter()
            .filter(|row| !row.in_scope && row.confidence < DEFAULT_THRESHOLD)
            .count() as f64
            / n_out;
        for (total, value) in totals.iter_mut().zip([closed, matched, rejected]) {
            *total += value;
        }
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} |",
            100.0 * closed,
            100.0 * matched,
            100.0 * rejected
        );
    }
    let n = names.len() as f64;
    println!(
        "| mean | {:.1} | {:.1} | {:.1} |",
        100.0 * totals[0] / n,
        100.0 * totals[1] / n,
        100.0 * totals[2] / n
    );

    // Refit: logistic regression of "top intent right" by full-batch gradient descent.
    let mut per_assistant = vec![0_usize; names.len()];
    for row in &rows {
        per_assistant[row.assistant] += 1;
    }
    let mut weights = [0.0_f64; 5];
    for _ in 0..6000 {
        let mut gradient = [0.0_f64; 5];
        for row in &rows {
            let inputs = [row.inputs[0], row.inputs[1], row.inputs[2], row.inputs[3], 1.0];
            let z: f64 = weights.iter().zip(&inputs).map(|(w, x)| w * x).sum();
            let error = 1.0 / (1.0 + (-z).exp()) - f64::from(u8::from(row.correct));
            let weight = 1.0 / per_assistant[row.assistant] as f64;
            for (g, x) in gradient.iter_mut().zip(&inputs) {
                *g += weight * error * x;
            }
        }
        for (w, g) in weights.iter_mut().zip(&gradient) {
            *w -= 2.0 * g / n;
        }
    }
    println!(
        "\nrefitted in-scope model: {:.2} × top probability + {:.2} × log-ratio + {:.2} × similarity + {:.2} × embedding similarity {:+.2}",
        weights[0], weights[1], weights[2], weights[3], weights[4]
    );
}
