//! Measures the no-match trade-off of a training variant on one data set with a fifth of the
//! intents held out (as `baton eval --holdout-fraction 0.2 --holdout-seed 0`): trains on `train`,
//! and prints on `test` the closed-set in-scope accuracy, the out-of-scope recall at the highest
//! threshold that keeps in-scope accuracy within 1.5 points of it, and the figures at the
//! threshold chosen on `val`.
//!
//! Run: `cargo run --release -p baton-nlu --example oos -- banking77`, with the options of the
//! `sweep` example in the environment. Data in `../shared/data/nlu`, or set `BATON_NLU_DATA`.

#![allow(clippy::needless_range_loop)] // the probe's matrix code, removed after it

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
        outliers: setting("OUTLIERS", defaults.outliers),
        outlier_weight: setting("OUTLIER_WEIGHT", defaults.outlier_weight),
        outlier_kind: setting("OUTLIER_KIND", defaults.outlier_kind),
        ..defaults
    };
    let mut train = load(dataset, "train");
    let mut val = load(dataset, "val");
    let mut test = load(dataset, "test");
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
    if std::env::var("HIDDEN_SPACE").is_ok() {
        hidden_space(&classifier, &train, &test, &predictions);
    }
    println!(
        "{dataset}: closed {closed:.2}; within 1.5: {in_scope:.2} / recall {recall:.1} at {threshold:.3} \
         (top probability alone: {top_recall:.1} at {top_threshold:.3}); chosen on val {chosen:.3}: \
         {chosen_in_scope:.2} / {chosen_recall:.1}"
    );
}

fn normalized(mut vector: Vec<f32>) -> Vec<f32> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
    vector.iter_mut().for_each(|x| *x /= norm);
    vector
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Inverse of a symmetric positive definite matrix by Gauss-Jordan elimination.
fn invert(mut a: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let n = a.len();
    let mut inverse: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    for column in 0..n {
        let pivot = (column..n)
            .max_by(|&x, &y| a[x][column].abs().total_cmp(&a[y][column].abs()))
            .unwrap();
        a.swap(column, pivot);
        inverse.swap(column, pivot);
        let value = a[column][column];
        for j in 0..n {
            a[column][j] /= value;
            inverse[column][j] /= value;
        }
        for row in 0..n {
            if row != column {
                let factor = a[row][column];
                if factor != 0.0 {
                    for j in 0..n {
                        a[row][j] -= factor * a[column][j];
                        inverse[row][j] -= factor * inverse[column][j];
                    }
                }
            }
        }
    }
    inverse
}

/// Out-of-scope scores from the networks' hidden space, alone and added to the confidence.
fn hidden_space(
    classifier: &Classifier,
    train: &[TrainingExample],
    test: &[TrainingExample],
    predictions: &[Option<(String, f32)>],
) {
    let intents = classifier.intents();
    let raw_train: Vec<Vec<f32>> = train.iter().map(|e| classifier.hidden_activations(&e.text)).collect();
    let raw_test: Vec<Vec<f32>> = test.iter().map(|e| classifier.hidden_activations(&e.text)).collect();
    let labels: Vec<usize> = train
        .iter()
        .map(|e| intents.binary_search(&e.intent).unwrap())
        .collect();
    let dim = raw_train[0].len();
    let unit_train: Vec<Vec<f32>> = raw_train.iter().cloned().map(normalized).collect();
    let unit_test: Vec<Vec<f32>> = raw_test.iter().cloned().map(normalized).collect();
    // Class means of the raw activations, and the shared covariance around them.
    let mut means = vec![vec![0.0_f64; dim]; intents.len()];
    let mut counts = vec![0.0_f64; intents.len()];
    for (vector, &label) in raw_train.iter().zip(&labels) {
        counts[label] += 1.0;
        for (m, x) in means[label].iter_mut().zip(vector) {
            *m += f64::from(*x);
        }
    }
    for (mean, count) in means.iter_mut().zip(&counts) {
        mean.iter_mut().for_each(|m| *m /= count.max(1.0));
    }
    let mut covariance = vec![vec![0.0_f64; dim]; dim];
    for (vector, &label) in raw_train.iter().zip(&labels) {
        let centred: Vec<f64> = vector
            .iter()
            .zip(&means[label])
            .map(|(x, m)| f64::from(*x) - m)
            .collect();
        for i in 0..dim {
            for j in 0..dim {
                covariance[i][j] += centred[i] * centred[j];
            }
        }
    }
    let ridge: f64 = setting("RIDGE", 0.01);
    let trace: f64 = (0..dim).map(|i| covariance[i][i]).sum::<f64>() / train.len() as f64 / dim as f64;
    for i in 0..dim {
        for j in 0..dim {
            covariance[i][j] /= train.len() as f64;
        }
        covariance[i][i] += ridge * trace;
    }
    let precision = invert(covariance);
    let unit_means: Vec<Vec<f32>> = (0..intents.len())
        .map(|class| {
            let mut sum = vec![0.0_f32; dim];
            for (vector, &label) in unit_train.iter().zip(&labels) {
                if label == class {
                    sum.iter_mut().zip(vector).for_each(|(s, x)| *s += x);
                }
            }
            normalized(sum)
        })
        .collect();
    let mut scores: Vec<(&str, Vec<f32>)> = vec![
        ("knn1", vec![]),
        ("knn10", vec![]),
        ("centroid", vec![]),
        ("maha", vec![]),
    ];
    for (index, vector) in unit_test.iter().enumerate() {
        let mut similarities: Vec<f32> = unit_train.iter().map(|t| dot(vector, t)).collect();
        similarities.sort_by(|a, b| b.total_cmp(a));
        scores[0].1.push(similarities[0]);
        scores[1].1.push(similarities[9]);
        scores[2]
            .1
            .push(unit_means.iter().map(|m| dot(vector, m)).fold(f32::MIN, f32::max));
        let raw = &raw_test[index];
        let distance = means
            .iter()
            .map(|mean| {
                let centred: Vec<f64> = raw.iter().zip(mean).map(|(x, m)| f64::from(*x) - m).collect();
                let mut total = 0.0;
                for i in 0..dim {
                    let row: f64 = (0..dim).map(|j| precision[i][j] * centred[j]).sum();
                    total += centred[i] * row;
                }
                total
            })
            .fold(f64::MAX, f64::min);
        scores[3].1.push(-(distance.sqrt()) as f32);
    }
    let confidences: Vec<f32> = predictions.iter().map(|p| p.as_ref().map_or(0.0, |p| p.1)).collect();
    let zscore = |values: &[f32]| {
        let mean = values.iter().sum::<f32>() / values.len() as f32;
        let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / values.len() as f32)
            .sqrt()
            .max(1e-9);
        values.iter().map(|v| (v - mean) / sd).collect::<Vec<f32>>()
    };
    let confidence_z = zscore(&confidences);
    for (name, values) in &scores {
        let z = zscore(values);
        let mut line = format!("  {name}:");
        for alpha in [f32::INFINITY, 0.25, 0.5, 1.0, 2.0] {
            let with: Vec<Option<(String, f32)>> = predictions
                .iter()
                .zip(&z)
                .zip(&confidence_z)
                .map(|((p, s), c)| {
                    p.as_ref().map(|(intent, _)| {
                        let score = if alpha.is_infinite() { *s } else { c + alpha * s };
                        (intent.clone(), score)
                    })
                })
                .collect();
            let (_, recall, _) = recall_within(test, &with);
            line += &format!(" a={alpha}: {recall:.1}");
        }
        println!("{line}");
    }
}
