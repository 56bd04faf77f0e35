//! Measures variants of the classifier's training options on one data set: how the settings in
//! docs/benchmarks.md ("What was tried") were compared.
//!
//! Run: `cargo run --release -p baton-nlu --example sweep -- banking77 val` with options from
//! the environment (`HIDDEN`, `NETWORKS`, `HIDDEN_EPOCHS`, `HIDDEN_LEARNING_RATE`,
//! `HIDDEN_DROPOUT`, `COPIES`, `COPY_MIN`, `WORD_MAX`, `CHAR_MAX`, `CHAR_ACROSS`, `WORD_WEIGHT`,
//! `MAX_DF`, `EPOCHS`, `C`, `SEED`, `EMBEDDING` (the embedding table's weight, 0 = off),
//! `TABLE_WORDS`; unset ones keep `TrainOptions::default()`). `SEEDS=n` repeats
//! the run from n seeds and prints the mean; `KNN=0,0.1,...` also prints the accuracy when the
//! ranking adds that weight times the nearest-example similarity; `ERRORS=1` prints the
//! misclassified messages. Options measured and rejected (label smoothing, weight averaging,
//! Adagrad, ...) were removed from the code; they are in commit 5dbd51e, and those for the
//! table's dimensions in the networks (their own learning rate, a linear term to the output,
//! units of their own, ...) in commit 62bd7f2. Modes: `val`
//! trains on `train` and reports accuracy on `val` (where settings are chosen); `test` trains on
//! `train` + `val` and reports on `test`. Data in `../shared/data/nlu`, or set `BATON_NLU_DATA`.

use std::time::Instant;

use baton_nlu::classifier::{Classifier, TrainOptions};
use baton_nlu::eval;

mod common;

use common::{load, setting};

fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    let dataset = arguments.get(1).map_or("banking77", String::as_str);
    let mode = arguments.get(2).map_or("val", String::as_str);
    let defaults = TrainOptions::default();
    let options = TrainOptions {
        hidden: setting("HIDDEN", defaults.hidden),
        networks: setting("NETWORKS", defaults.networks),
        hidden_epochs: setting("HIDDEN_EPOCHS", defaults.hidden_epochs),
        hidden_learning_rate: setting("HIDDEN_LEARNING_RATE", defaults.hidden_learning_rate),
        hidden_dropout: setting("HIDDEN_DROPOUT", defaults.hidden_dropout),
        augment_copies: setting("COPIES", defaults.augment_copies),
        augment_min_words: setting("COPY_MIN", defaults.augment_min_words),
        epochs: setting("EPOCHS", defaults.epochs),
        c: setting("C", defaults.c),
        seed: setting("SEED", defaults.seed),
        embedding_weight: setting("EMBEDDING", defaults.embedding_weight),
        known_words_from_table: setting("TABLE_WORDS", defaults.known_words_from_table),
        neighbour_max_df: setting("MAX_DF", defaults.neighbour_max_df),
        ngrams: baton_nlu::classifier::NgramOptions {
            word_max: setting("WORD_MAX", defaults.ngrams.word_max),
            char_max: setting("CHAR_MAX", defaults.ngrams.char_max),
            char_across_words: setting("CHAR_ACROSS", defaults.ngrams.char_across_words),
            word_weight: setting("WORD_WEIGHT", defaults.ngrams.word_weight),
        },
        ..defaults
    };
    // SEEDS=n repeats the run with n seeds and reports each and their mean.
    let seeds: u64 = setting("SEEDS", 1);
    let mut train = load(dataset, "train");
    let val = load(dataset, "val");
    let test = match mode {
        "val" => val,
        "test" => {
            train.extend(val);
            load(dataset, "test")
        }
        other => panic!("unknown mode {other}: val or test"),
    };
    let mut accuracies = Vec::new();
    for run in 0..seeds {
        let options = TrainOptions {
            seed: options.seed + run * 1000,
            ..options
        };
        let start = Instant::now();
        let classifier = Classifier::train_with(&train, &[], options, &mut |_, _| {});
        let train_seconds = start.elapsed().as_secs_f64();
        let metrics = eval::metrics(&test, &eval::predict(&classifier, &test), 0.0);
        accuracies.push(100.0 * metrics.accuracy);
        if std::env::var("ERRORS").is_ok() {
            for example in &test {
                let predicted = classifier.classify(&example.text);
                if predicted[0].intent != example.intent {
                    println!("  {:?}: {} -> {}", example.text, example.intent, predicted[0].intent);
                }
            }
        }
        // KNN=w1,w2,...: accuracy when the ranking adds w times the nearest-example similarity.
        if let Ok(weights) = std::env::var("KNN") {
            let signals: Vec<_> = test.iter().map(|example| classifier.signals(&example.text)).collect();
            for weight in weights.split(',').filter_map(|weight| weight.parse::<f32>().ok()) {
                let right = test
                    .iter()
                    .zip(&signals)
                    .filter(|(example, signals)| {
                        let best = signals
                            .probabilities
                            .iter()
                            .zip(&signals.similarities)
                            .map(|(probability, similarity)| probability + weight * similarity)
                            .enumerate()
                            .max_by(|a, b| a.1.total_cmp(&b.1))
                            .map(|(index, _)| index);
                        best.map(|index| classifier.intents()[index].as_str()) == Some(example.intent.as_str())
                    })
                    .count();
                println!("  knn {weight}: {:.2}%", 100.0 * right as f64 / test.len() as f64);
            }
        }
        println!(
            "{dataset} {mode}: accuracy {:.2}%, train {train_seconds:.2} s, model {:.1} MiB ({options:?})",
            100.0 * metrics.accuracy,
            classifier.model_bytes() as f64 / (1024.0 * 1024.0)
        );
    }
    if seeds > 1 {
        println!(
            "{dataset} {mode}: mean accuracy {:.2}% over {seeds} seeds",
            accuracies.iter().sum::<f64>() / accuracies.len() as f64
        );
    }
}
