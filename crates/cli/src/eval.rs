//! `baton eval`: measures the classifier on a data set in JSON Lines.
//!
//! Trains on `--train` (repeatable: `--train train.jsonl --train val.jsonl` refits on both),
//! chooses the no-match threshold on `--val` when it has out-of-scope (`oos`) examples, and
//! reports on `--test`. `--holdout-fraction` relabels a seeded choice of intents as `oos` in
//! every file, which turns a closed data set into an out-of-scope benchmark reproducibly.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use baton_nlu::classifier::{Classifier, DEFAULT_THRESHOLD, TrainOptions, TrainingExample};
use baton_nlu::eval::{self, OUT_OF_SCOPE};

/// Each test message is timed this many times and the fastest counts (see [`eval::latencies_us`]).
const LATENCY_REPEATS: usize = 3;

/// Arguments of `baton eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// An assistant folder: instead of a data set, measure how its own examples are recognised,
    /// each by the assistant trained without it (cross-validation, through the real runtime).
    #[arg(conflicts_with_all = ["train", "val", "test", "holdout_fraction", "baseline", "typos", "counterexamples", "threshold"])]
    pub assistant: Option<PathBuf>,
    /// With an assistant folder: into how many folds its examples are dealt (each fold trains
    /// the assistant once).
    #[arg(long)]
    pub folds: Option<usize>,
    /// Training data, JSON Lines of {"text", "intent"}; repeat to train on several files.
    #[arg(long, required_unless_present = "assistant")]
    pub train: Vec<PathBuf>,
    /// Validation data: the no-match threshold is chosen on it when it has `oos` examples.
    #[arg(long)]
    pub val: Option<PathBuf>,
    /// Test data the figures are reported on.
    #[arg(long, required_unless_present = "assistant")]
    pub test: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Train with the `oos` training examples as counterexamples (by default they are dropped).
    #[arg(long)]
    pub counterexamples: bool,
    /// Use this no-match threshold instead of choosing one (0 = never answer no-match).
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Relabel this fraction of the training intents as `oos` in every file (0.2 = a fifth).
    #[arg(long)]
    pub holdout_fraction: Option<f64>,
    /// Evaluate a baseline instead of Baton's classifier: `nearest-example` answers the intent of
    /// the most similar training example (TF-IDF cosine), with that similarity as the confidence;
    /// `linear` ranks with the logistic regression Baton used before its networks, on the n-gram
    /// features and with its own calibration; `ngram-networks` is Baton's networks without the
    /// embedding table (n-gram features only, misspellings corrected towards the examples' words
    /// alone), as before issue 25.
    #[arg(long, value_enum)]
    pub baseline: Option<Baseline>,
    /// Seed of the choice of held-out intents.
    #[arg(long, default_value_t = 0)]
    pub holdout_seed: u64,
    /// Misspell the test messages: each word of three letters or more gets one typing mistake
    /// with this probability (0.2 = a fifth of the words), seeded by `--typo-seed`.
    #[arg(long)]
    pub typos: Option<f64>,
    /// Seed of the typing mistakes of `--typos`.
    #[arg(long, default_value_t = 0)]
    pub typo_seed: u64,
    /// Classify the messages as typed, without correcting misspelt words towards the training
    /// examples' words first.
    #[arg(long)]
    pub no_autocorrect: bool,
}

/// Baselines `baton eval` can measure beside the classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Baseline {
    NearestExample,
    Linear,
    NgramNetworks,
}

fn load(path: &Path) -> anyhow::Result<Vec<TrainingExample>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    eval::parse_jsonl(&text).with_context(|| format!("reading {}", path.display()))
}

/// Runs the evaluation; returns the process exit code.
pub fn run(args: EvalArgs) -> anyhow::Result<i32> {
    anyhow::ensure!(
        args.folds.is_none() || args.assistant.is_some(),
        "--folds goes with an assistant folder (`baton eval DIR --folds N`)"
    );
    if let Some(dir) = &args.assistant {
        return crate::crossval::run(crate::crossval::CrossValidation {
            dir: dir.clone(),
            folds: args.folds.unwrap_or(5),
            json: args.json,
        });
    }
    // clap requires --test without an assistant folder.
    let Some(test_path) = &args.test else {
        anyhow::bail!("--test is required");
    };
    let mut train = Vec::new();
    for path in &args.train {
        train.extend(load(path)?);
    }
    let mut val = args.val.as_deref().map(load).transpose()?;
    let mut test = load(test_path)?;
    if let Some(fraction) = args.holdout_fraction {
        let held_out = eval::holdout_intents(&train, fraction, args.holdout_seed);
        eval::relabel(&mut train, &held_out);
        if let Some(val) = &mut val {
            eval::relabel(val, &held_out);
        }
        eval::relabel(&mut test, &held_out);
        if !args.json {
            let names: Vec<&str> = held_out.iter().map(String::as_str).collect();
            eprintln!("held out as {OUT_OF_SCOPE} ({}): {}", names.len(), names.join(", "));
        }
    }
    if let Some(rate) = args.typos {
        anyhow::ensure!((0.0..=1.0).contains(&rate), "--typos is a probability, from 0 to 1");
        eval::misspell(&mut test, rate, args.typo_seed);
    }
    let (train, out_of_scope_texts) = eval::split_out_of_scope(train);
    let counterexamples = if args.counterexamples {
        out_of_scope_texts
    } else {
        Vec::new()
    };
    anyhow::ensure!(!train.is_empty(), "the training data has no in-scope examples");

    let bar = if std::io::stderr().is_terminal() && !args.json {
        indicatif::ProgressBar::new(0).with_message("training")
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} [{elapsed}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let defaults = TrainOptions {
        autocorrect: !args.no_autocorrect,
        ..TrainOptions::default()
    };
    // The baselines are Baton before the embedding table: n-grams only.
    let without_table = TrainOptions {
        embedding_weight: 0.0,
        known_words_from_table: false,
        ..defaults
    };
    let options = match args.baseline {
        // The nearest-example baseline keeps the linear model, the cheaper of the two it ignores.
        Some(Baseline::NearestExample) => TrainOptions {
            neighbour_max_df: 1.0,
            hidden: 0,
            ..without_table
        },
        Some(Baseline::Linear) => TrainOptions {
            hidden: 0,
            ..without_table
        },
        Some(Baseline::NgramNetworks) => without_table,
        None => defaults,
    };
    let start = Instant::now();
    let classifier = Classifier::train_with(&train, &counterexamples, options, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    let train_seconds = start.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let predict = |examples: &[TrainingExample]| match args.baseline {
        Some(Baseline::NearestExample) => eval::predict_nearest_example(&classifier, examples),
        Some(Baseline::Linear | Baseline::NgramNetworks) | None => eval::predict(&classifier, examples),
    };
    let chosen = val.as_ref().and_then(|val| {
        let predictions = predict(val);
        eval::choose_threshold(val, &predictions)
    });
    let threshold = args.threshold.or(chosen).unwrap_or(DEFAULT_THRESHOLD);
    let predictions = predict(&test);
    let metrics = eval::metrics(&test, &predictions, threshold);
    let texts: Vec<&str> = test.iter().map(|example| example.text.as_str()).collect();
    // The baseline's time is that of computing the signals it reads (an upper bound: it includes
    // the linear model it does not use).
    let latencies = match args.baseline {
        Some(Baseline::NearestExample) => eval::latencies_us(|text| classifier.signals(text), &texts, LATENCY_REPEATS),
        Some(Baseline::Linear | Baseline::NgramNetworks) | None => {
            eval::latencies_us(|text| classifier.classify(text), &texts, LATENCY_REPEATS)
        }
    };
    let p50_us = eval::percentile(&latencies, 0.5);
    let p99_us = eval::percentile(&latencies, 0.99);
    let model_bytes = classifier.model_bytes();

    if args.json {
        let report = serde_json::json!({
            "accuracy": metrics.accuracy,
            "in_scope_accuracy": metrics.in_scope_accuracy,
            "oos_recall": metrics.oos_recall,
            "oos_precision": metrics.oos_precision,
            "macro_f1": metrics.macro_f1,
            "train_seconds": train_seconds,
            "p50_us": p50_us,
            "p99_us": p99_us,
            "threshold": threshold,
            "model_bytes": model_bytes,
        });
        println!("{report}");
        return Ok(0);
    }
    let percent = |value: Option<f64>| value.map_or_else(|| "n/a".to_owned(), |value| format!("{:.2}%", 100.0 * value));
    println!(
        "examples           {} train ({} intents), {} test",
        train.len(),
        classifier.intents().len(),
        test.len()
    );
    println!(
        "threshold          {threshold:.4}{}",
        if chosen.is_some() && args.threshold.is_none() {
            " (chosen on val)"
        } else {
            ""
        }
    );
    println!("accuracy           {}", percent(Some(metrics.accuracy)));
    println!("in-scope accuracy  {}", percent(metrics.in_scope_accuracy));
    println!("oos recall         {}", percent(metrics.oos_recall));
    println!("oos precision      {}", percent(metrics.oos_precision));
    println!("macro F1           {}", percent(Some(metrics.macro_f1)));
    println!("train              {train_seconds:.2} s");
    println!("latency            p50 {p50_us:.1} µs, p99 {p99_us:.1} µs (one message at a time, one thread)");
    println!("model              {:.1} MiB", model_bytes as f64 / (1024.0 * 1024.0));
    Ok(0)
}
