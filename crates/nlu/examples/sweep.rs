//! Measures variants of the classifier's training options on one data set: how the settings in
//! docs/benchmarks.md ("What was tried") were compared.
//!
//! Run: `cargo run --release -p baton-nlu --example sweep -- banking77 val` with options from
//! the environment (`HIDDEN`, `NETWORKS`, `HIDDEN_EPOCHS`, `HIDDEN_LEARNING_RATE`,
//! `HIDDEN_DROPOUT`, `EPOCHS`, `C`; unset ones keep `TrainOptions::default()`). Modes: `val`
//! trains on `train` and reports accuracy on `val` (where settings are chosen); `test` trains on
//! `train` + `val` and reports on `test`. Data in `../shared/data/nlu`, or set `BATON_NLU_DATA`.

use std::time::Instant;

use baton_nlu::TrainingExample;
use baton_nlu::classifier::{Classifier, TrainOptions};
use baton_nlu::eval;

fn load(dataset: &str, split: &str) -> Vec<TrainingExample> {
    let root = std::env::var("BATON_NLU_DATA")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/nlu").to_owned());
    let path = format!("{root}/{dataset}/{split}.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {path}: {error}"));
    eval::parse_jsonl(&text).unwrap_or_else(|error| panic!("reading {path}: {error}"))
}

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

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
        epochs: setting("EPOCHS", defaults.epochs),
        c: setting("C", defaults.c),
        ..defaults
    };
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
    let start = Instant::now();
    let classifier = Classifier::train_with(&train, &[], options, &mut |_, _| {});
    let train_seconds = start.elapsed().as_secs_f64();
    let metrics = eval::metrics(&test, &eval::predict(&classifier, &test), 0.0);
    println!(
        "{dataset} {mode}: accuracy {:.2}%, train {train_seconds:.2} s, model {:.1} MiB ({options:?})",
        100.0 * metrics.accuracy,
        classifier.model_bytes() as f64 / (1024.0 * 1024.0)
    );
}
