//! Does one confidence threshold mean the same thing for small and large assistants?
//!
//! Samples sub-assistants from BANKING77 and HWU64 (8 to 40 intents with 6 to 15 examples each,
//! three seeds per shape, plus four fifths of all intents with every example); out of scope are
//! messages of the intents left out (150 per sub-assistant) and, as the off-topic messages real
//! customers send, messages of the other data set (150: HWU64's for BANKING77 and the reverse). For each sub-assistant it prints the closed-set accuracy,
//! the share of in-scope messages matched to the right intent at confidence ≥ 0.5, and the share
//! of out-of-scope messages below 0.5. It then refits the in-scope model of `classifier.rs`
//! (top probability, log-ratio to the second, nearest-example similarity by n-grams and by
//! embedding, and the sub-assistant's size: the logarithm of its examples per intent, 100 = 1) on
//! the same rows, each sub-assistant weighing the same and its in-scope and out-of-scope messages
//! half each (`IN_SCOPE_SHARE`), and prints its weights: this is how the shipped ones were
//! obtained, for the default ranking (the networks; the logistic regression's weights came from
//! this bench when it was the default, without the size and with every message of a
//! sub-assistant weighing the same). `BLEND` and `SETS` measure variants of the ranking and of
//! the in-scope model's inputs (see [`variants`]); `EMBEDDING`, `SMALL_EMBEDDING` and `HIDDEN_EPOCHS` train with
//! other settings.
//!
//! The messages are the data sets' validation sets only (until 2026-12-07, validation and test):
//! every choice is made on validation data, and test data is kept for reporting.
//!
//! Run: `cargo bench -p baton-nlu --bench calibration` (data in `../shared/data/nlu`, or set
//! `BATON_NLU_DATA`).

use std::collections::{BTreeMap, BTreeSet};

use baton_nlu::TrainingExample;
use baton_nlu::classifier::{Classifier, DEFAULT_THRESHOLD, TrainOptions};

#[path = "../examples/common/mod.rs"]
mod common;

use common::{load, setting};

/// The classifier's training options: the defaults, or settings from the environment
/// (`EMBEDDING`, `SMALL_EMBEDDING`, `HIDDEN_EPOCHS`), for measuring variants.
fn options() -> TrainOptions {
    let defaults = TrainOptions::default();
    TrainOptions {
        embedding_weight: setting("EMBEDDING", defaults.embedding_weight),
        small_embedding_weight: std::env::var("SMALL_EMBEDDING")
            .ok()
            .and_then(|value| value.parse().ok()),
        hidden_epochs: setting("HIDDEN_EPOCHS", defaults.hidden_epochs),
        ..defaults
    }
}

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
    /// The raw signals, for the ranking variants of `BLEND` (see [`variants`]).
    probabilities: Vec<f32>,
    similarities: Vec<f32>,
    embedding_similarities: Vec<f32>,
    /// The index of the message's intent among the classifier's (`None` out of scope).
    truth: Option<usize>,
    /// Training examples per intent of the sub-assistant.
    per_intent: f64,
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
                let classifier = Classifier::train_with(&examples, &[], options(), &mut |_, _| {});
                let per_intent = examples.len() as f64 / n_inside as f64;
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
                        truth: classifier
                            .intents()
                            .iter()
                            .position(|intent| in_scope && *intent == message.intent),
                        probabilities: signals.probabilities,
                        similarities: signals.similarities,
                        embedding_similarities: signals.embedding_similarities,
                        per_intent,
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

    // Refit: logistic regression of "top intent right" by full-batch gradient descent, with the
    // size of the sub-assistant (log of its examples per intent, 100 = 1) as an input, each
    // sub-assistant's in-scope and out-of-scope messages weighing half each.
    let inputs: Vec<Vec<f64>> = rows
        .iter()
        .map(|row| {
            let mut inputs = row.inputs.to_vec();
            inputs.push(row.per_intent.ln() / 100_f64.ln());
            inputs
        })
        .collect();
    let correct: Vec<bool> = rows.iter().map(|row| row.correct).collect();
    let in_scope: Vec<bool> = rows.iter().map(|row| row.in_scope).collect();
    let assistants: Vec<usize> = rows.iter().map(|row| row.assistant).collect();
    let weights = refit(&inputs, &correct, &in_scope, &assistants, names.len());
    println!(
        "\nrefitted in-scope model: {:.2} × top probability + {:.2} × log-ratio + {:.2} × similarity + {:.2} × embedding similarity {:+.2} × size {:+.2}",
        weights[0], weights[1], weights[2], weights[3], weights[4], weights[5]
    );
    if let Ok(blends) = std::env::var("BLEND") {
        variants(&rows, &names, &blends);
    }
}

/// Full-batch logistic regression of "top intent right" on `inputs` (an intercept added), each
/// sub-assistant weighing the same.
fn refit(
    inputs: &[Vec<f64>],
    correct: &[bool],
    in_scope: &[bool],
    assistants: &[usize],
    n_assistants: usize,
) -> Vec<f64> {
    // Each sub-assistant's in-scope messages weigh `IN_SCOPE_SHARE` in all (0.5 unless set), its
    // out-of-scope ones the rest; a negative share weighs every message of a sub-assistant the same
    // (as before 2026-12-07 evening).
    let share: f64 = setting("IN_SCOPE_SHARE", 0.5);
    let mut per_assistant = vec![[0_usize; 2]; n_assistants];
    for (&assistant, &inside) in assistants.iter().zip(in_scope) {
        per_assistant[assistant][usize::from(inside)] += 1;
    }
    let row_weight = |assistant: usize, inside: bool| {
        let [n_out, n_in] = per_assistant[assistant];
        match (share >= 0.0, inside) {
            (false, _) => 1.0 / (n_out + n_in) as f64,
            (true, true) => share / n_in.max(1) as f64,
            (true, false) => (1.0 - share) / n_out.max(1) as f64,
        }
    };
    let n_inputs = inputs[0].len() + 1;
    let mut weights = vec![0.0_f64; n_inputs];
    for _ in 0..4000 {
        let mut gradient = vec![0.0_f64; n_inputs];
        for (((row, &right), &assistant), &inside) in inputs.iter().zip(correct).zip(assistants).zip(in_scope) {
            let z: f64 = weights[n_inputs - 1] + row.iter().zip(&weights).map(|(x, w)| x * w).sum::<f64>();
            let error = 1.0 / (1.0 + (-z).exp()) - f64::from(u8::from(right));
            let weight = error * row_weight(assistant, inside);
            for (g, x) in gradient.iter_mut().zip(row.iter().chain([&1.0])) {
                *g += weight * x;
            }
        }
        for (w, g) in weights.iter_mut().zip(&gradient) {
            *w -= 2.0 * g / n_assistants as f64;
        }
    }
    weights
}

/// `BLEND=a:beta:g,...`: ranks by `(1 - a) × network probabilities + a × softmax(beta ×
/// (embedding similarity + g × n-gram similarity))` of the nearest examples, refits the in-scope
/// model on those probabilities with the inputs `SETS` names (digits, comma-separated sets:
/// 0 top probability, 1 log-ratio, 2 n-gram similarity, 3 embedding similarity, 4 size (log of
/// examples per intent, 100 = 1), 5–7 size times 0, 3 and 2; default `0123,01234`) and prints,
/// per shape of sub-assistant, closed-set accuracy, right intent at ≥ 0.5 and
/// out-of-scope below 0.5.
fn variants(rows: &[Row], names: &[String], blends: &str) {
    let shape_of = |assistant: usize| {
        let name = &names[assistant];
        name[name.find(' ').unwrap_or(0) + 1..name.find(" (").unwrap_or(name.len())]
            .replace("51 intents", "N intents")
            .replace("61 intents", "N intents")
    };
    let mut shapes: Vec<String> = (0..names.len()).map(shape_of).collect();
    shapes.sort();
    shapes.dedup();
    for blend in blends.split(',') {
        let parts: Vec<f32> = blend.split(':').filter_map(|part| part.parse().ok()).collect();
        let [a, beta, g] = [0, 1, 2].map(|index| parts.get(index).copied().unwrap_or(0.0));
        let mut inputs = Vec::new();
        let mut correct = Vec::new();
        let mut assistants = Vec::new();
        let in_scope: Vec<bool> = rows.iter().map(|row| row.in_scope).collect();
        for row in rows {
            let prototype: Vec<f32> = row
                .embedding_similarities
                .iter()
                .zip(&row.similarities)
                .map(|(embedding, ngrams)| beta * (embedding + g * ngrams))
                .collect();
            let largest = prototype.iter().copied().fold(f32::MIN, f32::max);
            let exps: Vec<f32> = prototype.iter().map(|z| (z - largest).exp()).collect();
            let total: f32 = exps.iter().sum();
            let q: Vec<f32> = row
                .probabilities
                .iter()
                .zip(&exps)
                .map(|(p, e)| (1.0 - a) * p + a * e / total)
                .collect();
            let mut order: Vec<usize> = (0..q.len()).collect();
            order.sort_by(|&x, &y| q[y].total_cmp(&q[x]));
            let top = order[0];
            let (p1, p2) = (q[top], order.get(1).map_or(0.0, |&second| q[second]));
            let log_ratio = (p1.max(1e-6) / p2.max(1e-6)).ln().min(10.0) / 10.0;
            let size = row.per_intent.ln() / 100_f64.ln();
            let (sn, se) = (
                f64::from(row.similarities[top]),
                f64::from(row.embedding_similarities[top]),
            );
            inputs.push(vec![
                f64::from(p1),
                f64::from(log_ratio),
                sn,
                se,
                size,
                size * f64::from(p1),
                size * se,
                size * sn,
            ]);
            correct.push(row.truth == Some(top));
            assistants.push(row.assistant);
        }
        let sets = std::env::var("SETS").unwrap_or_else(|_| "0123,01234".to_owned());
        for set in sets.split(',') {
            let chosen: Vec<usize> = set
                .chars()
                .filter_map(|digit| digit.to_digit(10))
                .map(|d| d as usize)
                .collect();
            let with_size = set;
            let used: Vec<Vec<f64>> = inputs
                .iter()
                .map(|row| chosen.iter().map(|&index| row[index]).collect())
                .collect();
            let weights = refit(&used, &correct, &in_scope, &assistants, names.len());
            println!("\nBLEND a {a} beta {beta} g {g}, inputs {with_size}: weights {weights:.2?}");
            let mut all = [0.0; 3];
            for shape in &shapes {
                let mut sums = [0.0; 3];
                let mut count = 0.0;
                for assistant in (0..names.len()).filter(|&assistant| shape_of(assistant) == *shape) {
                    let mut n = [0.0; 4];
                    for (index, row) in rows.iter().enumerate().filter(|(_, row)| row.assistant == assistant) {
                        let z: f64 = weights[weights.len() - 1]
                            + used[index].iter().zip(&weights).map(|(x, w)| x * w).sum::<f64>();
                        let matched = 1.0 / (1.0 + (-z).exp()) >= f64::from(DEFAULT_THRESHOLD);
                        if row.in_scope {
                            n[0] += 1.0;
                            n[1] += f64::from(u8::from(correct[index]));
                            n[2] += f64::from(u8::from(correct[index] && matched));
                        } else {
                            n[3] += f64::from(u8::from(!matched));
                        }
                    }
                    let n_out = rows
                        .iter()
                        .filter(|row| row.assistant == assistant && !row.in_scope)
                        .count() as f64;
                    sums[0] += n[1] / n[0];
                    sums[1] += n[2] / n[0];
                    sums[2] += n[3] / n_out;
                    count += 1.0;
                }
                for (total, sum) in all.iter_mut().zip(sums) {
                    *total += sum;
                }
                println!(
                    "  {shape:>22}: closed {:.1}, right at 0.5 {:.1}, out of scope below 0.5 {:.1}",
                    100.0 * sums[0] / count,
                    100.0 * sums[1] / count,
                    100.0 * sums[2] / count
                );
            }
            let n = names.len() as f64;
            println!(
                "  {:>22}: closed {:.1}, right at 0.5 {:.1}, out of scope below 0.5 {:.1}",
                "mean of all",
                100.0 * all[0] / n,
                100.0 * all[1] / n,
                100.0 * all[2] / n
            );
        }
    }
}
