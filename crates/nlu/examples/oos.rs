//! Measures the no-match trade-off of a training variant on one data set with a fifth of the
//! intents held out (as `baton eval --holdout-fraction 0.2 --holdout-seed 0`): trains on `train`,
//! and prints on `test` the closed-set in-scope accuracy, the out-of-scope recall at the highest
//! threshold that keeps in-scope accuracy within 1.5 points of it, and the figures at the
//! threshold chosen on `val`.
//!
//! Run: `cargo run --release -p baton-nlu --example oos -- banking77`, with `HIDDEN`, `NETWORKS`,
//! `HIDDEN_EPOCHS`, `SEED`, `EMBEDDING` and `TABLE_WORDS` as in the `sweep` example;
//! `-- banking77 val` reports on `val` instead of `test` (where settings are chosen). The probes of commit 8a58828 (made-up
//! out-of-scope examples, distances in the networks' hidden space) were measured with it. Data in `../shared/data/nlu`, or set `BATON_NLU_DATA`.

use baton_nlu::TrainingExample;
use baton_nlu::classifier::{Classifier, TrainOptions};
use baton_nlu::eval;

mod common;

use common::{load, setting};

/// In-scope accuracy and out-of-scope recall of `predictions` at `threshold`.
fn rates(examples: &[TrainingExample], predictions: &[Option<(String, f32)>], threshold: f32) -> (f64, f64) {
    let metrics = eval::metrics(examples, predictions, threshold);
    (
        metrics.in_scope_accuracy.unwrap_or(0.0) * 100.0,
        metrics.oos_recall.unwrap_or(0.0) * 100.0,
    )
}

/// The out-of-scope recall at the highest in-scope accuracy drop of at most 1.5 points.
fn recall_within(examples: &[TrainingExample], predictions: &[Option<(String, f32)>]) -> (f64, f64, f32) {
    let (closed, _) = rates(examples, predictions, f32::NEG_INFINITY);
    let mut best = (closed, 0.0, 0.0);
    let mut levels: Vec<f32> = predictions.iter().flatten().map(|(_, score)| *score).collect();
    levels.sort_by(f32::total_cmp);
    levels.dedup();
    for threshold in levels.into_iter().step_by(3) {
        let (in_scope, recall) = rates(examples, predictions, threshold);
        if in_scope + 1.5 >= closed && recall > best.1 {
            best = (in_scope, recall, threshold);
        }
    }
    best
}

fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    let dataset = arguments.get(1).map_or("banking77", String::as_str);
    let defaults = TrainOptions::default();
    let options = TrainOptions {
        hidden: setting("HIDDEN", defaults.hidden),
        networks: setting("NETWORKS", defaults.networks),
        hidden_epochs: setting("HIDDEN_EPOCHS", defaults.hidden_epochs),
        seed: setting("SEED", defaults.seed),
        embedding_weight: setting("EMBEDDING", defaults.embedding_weight),
        known_words_from_table: setting("TABLE_WORDS", defaults.known_words_from_table),
        ..defaults
    };
    let mut train = load(dataset, "train");
    let mut val = load(dataset, "val");
    let mut test = match arguments.get(2).map(String::as_str) {
        Some("val") => load(dataset, "val"),
        _ => load(dataset, "test"),
    };
    let held_out = eval::holdout_intents(&train, 0.2, 0);
    for examples in [&mut train, &mut val, &mut test] {
        eval::relabel(examples, &held_out);
    }
    let (train, _) = eval::split_out_of_scope(train);
    let classifier = Classifier::train_with(&train, &[], options, &mut |_, _| {});
    let predictions = eval::predict(&classifier, &test);
    // The same ranking, with the top probability as the confidence.
    let top_probability: Vec<Option<(String, f32)>> = test
        .iter()
        .map(|example| {
            let signals = classifier.signals(&example.text);
            signals
                .probabilities
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(index, &probability)| (classifier.intents()[index].clone(), probability))
        })
        .collect();
    let (closed, _) = rates(&test, &predictions, 0.0);
    let (in_scope, recall, threshold) = recall_within(&test, &predictions);
    let (_, top_recall, top_threshold) = recall_within(&test, &top_probability);
    let chosen = eval::choose_threshold(&val, &eval::predict(&classifier, &val)).unwrap_or(0.5);
    let (chosen_in_scope, chosen_recall) = rates(&test, &predictions, chosen);
    println!(
        "{dataset}: closed {closed:.2}; within 1.5: {in_scope:.2} / recall {recall:.1} at {threshold:.3} \
         (top probability alone: {top_recall:.1} at {top_threshold:.3}); chosen on val {chosen:.3}: \
         {chosen_in_scope:.2} / {chosen_recall:.1}"
    );
}
