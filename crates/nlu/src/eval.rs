//! Measuring the classifier on a labelled data set: the logic behind `baton eval`.
//!
//! Data sets are JSON Lines of `{"text": ..., "intent": ...}`; the intent [`OUT_OF_SCOPE`]
//! (`oos`) marks a message that belongs to no intent. Reading files is the caller's job: this
//! module parses text, so every malformed line is reported with its number.
//!
//! A message is predicted out of scope when the top confidence is below the threshold. The
//! threshold is chosen on validation data that contains out-of-scope examples, as the one that
//! maximises accuracy there (in-scope examples must get their intent, out-of-scope ones must get
//! no match); ties go to the middle of the best interval.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::classifier::{Classifier, TrainingExample};

/// The label of an out-of-scope example.
pub const OUT_OF_SCOPE: &str = "oos";

/// A problem in a JSON Lines data set.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("line {line}: {message}")]
    Malformed { line: usize, message: String },
    #[error("the data set has no examples")]
    Empty,
}

/// Parses JSON Lines of `{"text": ..., "intent": ...}`; blank lines are skipped.
pub fn parse_jsonl(text: &str) -> Result<Vec<TrainingExample>, EvalError> {
    let mut examples = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let malformed = |message: String| EvalError::Malformed {
            line: line_number,
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|error| malformed(format!("not JSON: {error}")))?;
        let field = |name: &str| match value.get(name) {
            Some(serde_json::Value::String(text)) => Ok(text.clone()),
            Some(_) => Err(malformed(format!("field `{name}` is not a string"))),
            None => Err(malformed(format!("missing field `{name}`"))),
        };
        let text = field("text")?;
        let intent = field("intent")?;
        if intent.trim().is_empty() {
            return Err(malformed("field `intent` is empty".to_owned()));
        }
        examples.push(TrainingExample { text, intent });
    }
    if examples.is_empty() {
        return Err(EvalError::Empty);
    }
    Ok(examples)
}

/// Intents chosen to be held out as out of scope: `fraction` of the distinct intents of
/// `examples` (rounded to the nearest whole number), picked by a seeded shuffle of the sorted
/// intent names, so a (data set, fraction, seed) triple always gives the same intents.
pub fn holdout_intents(examples: &[TrainingExample], fraction: f64, seed: u64) -> BTreeSet<String> {
    let mut intents: Vec<&str> = examples
        .iter()
        .map(|example| example.intent.as_str())
        .filter(|intent| *intent != OUT_OF_SCOPE)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2545_f491_4f6c_dd1d;
    for i in (1..intents.len()).rev() {
        state = splitmix(state);
        let j = (state % (i as u64 + 1)) as usize;
        intents.swap(i, j);
    }
    let count = (fraction.clamp(0.0, 1.0) * intents.len() as f64).round() as usize;
    intents.into_iter().take(count).map(str::to_owned).collect()
}

fn splitmix(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Misspells the texts of `examples` the way people mistype: each word of three letters or more
/// gets, with probability `rate`, one edit at a random position after its first letter — a
/// letter left out, doubled, swapped with the next, or replaced by a neighbour on a QWERTY
/// keyboard. Seeded, so a (data set, rate, seed) triple always gives the same texts.
pub fn misspell(examples: &mut [TrainingExample], rate: f64, seed: u64) {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x7970_6f73;
    let mut next = move || {
        state = splitmix(state);
        state
    };
    for example in examples {
        let words: Vec<String> = example
            .text
            .split(' ')
            .map(|word| {
                let letters: Vec<char> = word.chars().collect();
                let eligible = letters.len() >= 3 && letters.iter().all(|c| c.is_ascii_alphabetic());
                if !eligible || (next() >> 11) as f64 / (1u64 << 53) as f64 >= rate {
                    return word.to_owned();
                }
                mistype(letters, &mut next)
            })
            .collect();
        example.text = words.join(" ");
    }
}

/// One edit of `letters` (at least three ASCII letters) after the first letter.
fn mistype(mut letters: Vec<char>, next: &mut impl FnMut() -> u64) -> String {
    const ROWS: [&str; 3] = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];
    let at = 1 + (next() % (letters.len() as u64 - 1)) as usize;
    match next() % 4 {
        0 => {
            letters.remove(at);
        }
        1 => letters.insert(at, letters[at]),
        2 if at + 1 < letters.len() => letters.swap(at, at + 1),
        2 => letters.swap(at - 1, at),
        _ => {
            let lower = letters[at].to_ascii_lowercase();
            let neighbour = ROWS.iter().find_map(|row| {
                let row: Vec<char> = row.chars().collect();
                let position = row.iter().position(|&key| key == lower)?;
                let choices: Vec<char> = [position.checked_sub(1), Some(position + 1)]
                    .into_iter()
                    .flatten()
                    .filter_map(|index| row.get(index).copied())
                    .collect();
                Some(choices[(next() % choices.len() as u64) as usize])
            });
            letters[at] = neighbour.unwrap_or(lower);
        }
    }
    letters.into_iter().collect()
}

/// Relabels the examples of `held_out` intents as [`OUT_OF_SCOPE`].
pub fn relabel(examples: &mut [TrainingExample], held_out: &BTreeSet<String>) {
    for example in examples {
        if held_out.contains(&example.intent) {
            example.intent = OUT_OF_SCOPE.to_owned();
        }
    }
}

/// Splits training data into in-scope examples and the texts of out-of-scope ones.
pub fn split_out_of_scope(examples: Vec<TrainingExample>) -> (Vec<TrainingExample>, Vec<String>) {
    let (out_of_scope, in_scope): (Vec<_>, Vec<_>) =
        examples.into_iter().partition(|example| example.intent == OUT_OF_SCOPE);
    (in_scope, out_of_scope.into_iter().map(|example| example.text).collect())
}

/// The top intent and its confidence for each example (`None` when the classifier knows no intent).
pub fn predict(classifier: &Classifier, examples: &[TrainingExample]) -> Vec<Option<(String, f32)>> {
    examples
        .iter()
        .map(|example| {
            classifier
                .classify(&example.text)
                .into_iter()
                .next()
                .map(|score| (score.intent, score.confidence))
        })
        .collect()
}

/// A baseline for comparison: the intent of the most similar training example (TF-IDF cosine)
/// and that similarity as the confidence. Train the classifier with `neighbour_max_df: 1.0` so
/// that the similarity uses every feature.
pub fn predict_nearest_example(classifier: &Classifier, examples: &[TrainingExample]) -> Vec<Option<(String, f32)>> {
    examples
        .iter()
        .map(|example| {
            let signals = classifier.signals(&example.text);
            signals
                .similarities
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(index, &similarity)| (classifier.intents()[index].clone(), similarity))
        })
        .collect()
}

/// What was predicted for one example once the threshold is applied.
fn decide(prediction: &Option<(String, f32)>, threshold: f32) -> &str {
    match prediction {
        Some((intent, confidence)) if *confidence >= threshold => intent,
        _ => OUT_OF_SCOPE,
    }
}

/// The threshold that maximises accuracy on `examples` given their `predictions`, or `None` when
/// the examples contain no out-of-scope example (nothing to choose it from).
pub fn choose_threshold(examples: &[TrainingExample], predictions: &[Option<(String, f32)>]) -> Option<f32> {
    if !examples.iter().any(|example| example.intent == OUT_OF_SCOPE) {
        return None;
    }
    // Sweep candidate thresholds from high to low: lowering it past an example's confidence turns
    // that example from "no match" into its predicted intent.
    let mut events: Vec<(f32, i32)> = Vec::new();
    let mut correct_at_infinity = 0_i32;
    for (example, prediction) in examples.iter().zip(predictions) {
        let is_out_of_scope = example.intent == OUT_OF_SCOPE;
        if is_out_of_scope {
            correct_at_infinity += 1;
        }
        if let Some((intent, confidence)) = prediction {
            let right_when_matched = *intent == example.intent;
            let change = i32::from(right_when_matched) - i32::from(is_out_of_scope);
            events.push((*confidence, change));
        }
    }
    events.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut best = (correct_at_infinity, f32::INFINITY, f32::INFINITY);
    let mut correct = correct_at_infinity;
    let mut index = 0;
    while index < events.len() {
        let level = events[index].0;
        while index < events.len() && events[index].0 == level {
            correct += events[index].1;
            index += 1;
        }
        let next = events.get(index).map_or(0.0, |event| event.0);
        if correct > best.0 {
            best = (correct, level, next);
        }
    }
    let (_, upper, lower) = best;
    if upper.is_infinite() {
        return Some(1.0 + f32::EPSILON);
    }
    Some((upper + lower) / 2.0)
}

/// Quality figures on a test set.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    /// Fraction of all examples predicted right (out-of-scope ones right when nothing matched).
    pub accuracy: f64,
    /// Fraction of in-scope examples given their intent; a no-match counts wrong.
    pub in_scope_accuracy: Option<f64>,
    /// Fraction of out-of-scope examples given no match.
    pub oos_recall: Option<f64>,
    /// Fraction of no-match predictions that were out of scope.
    pub oos_precision: Option<f64>,
    /// Unweighted mean of per-label F1 over every label in the gold labels or the predictions
    /// (`oos` included when present).
    pub macro_f1: f64,
}

/// Computes [`Metrics`] for `predictions` at `threshold`.
pub fn metrics(examples: &[TrainingExample], predictions: &[Option<(String, f32)>], threshold: f32) -> Metrics {
    let mut correct = 0_usize;
    let (mut in_scope, mut in_scope_correct) = (0_usize, 0_usize);
    let (mut out_of_scope, mut out_of_scope_found, mut predicted_out_of_scope) = (0_usize, 0_usize, 0_usize);
    // Per label: (true positives, predicted, gold).
    let mut counts: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for (example, prediction) in examples.iter().zip(predictions) {
        let predicted = decide(prediction, threshold);
        let gold = example.intent.as_str();
        let right = predicted == gold;
        correct += usize::from(right);
        if gold == OUT_OF_SCOPE {
            out_of_scope += 1;
            out_of_scope_found += usize::from(right);
        } else {
            in_scope += 1;
            in_scope_correct += usize::from(right);
        }
        predicted_out_of_scope += usize::from(predicted == OUT_OF_SCOPE);
        counts.entry(gold).or_default().2 += 1;
        let entry = counts.entry(predicted).or_default();
        entry.1 += 1;
        entry.0 += usize::from(right);
    }
    let ratio = |numerator: usize, denominator: usize| (denominator > 0).then(|| numerator as f64 / denominator as f64);
    let f1_sum: f64 = counts
        .values()
        .map(|&(true_positives, predicted, gold)| {
            let denominator = predicted + gold;
            if denominator == 0 {
                0.0
            } else {
                2.0 * true_positives as f64 / denominator as f64
            }
        })
        .sum();
    Metrics {
        accuracy: ratio(correct, examples.len()).unwrap_or(0.0),
        in_scope_accuracy: ratio(in_scope_correct, in_scope),
        oos_recall: ratio(out_of_scope_found, out_of_scope),
        oos_precision: ratio(out_of_scope_found, predicted_out_of_scope),
        macro_f1: if counts.is_empty() {
            0.0
        } else {
            f1_sum / counts.len() as f64
        },
    }
}

/// Classification latency in microseconds, sorted: each text classified alone, on this thread.
/// `classify` is the call being timed.
/// Each text is classified `repeats` times and its latency is the fastest of them, which removes
/// the time the thread spent preempted by other processes on a shared machine.
pub fn latencies_us<T>(classify: impl Fn(&str) -> T, texts: &[&str], repeats: usize) -> Vec<f64> {
    let mut latencies: Vec<f64> = texts
        .iter()
        .map(|text| {
            (0..repeats.max(1))
                .map(|_| {
                    let start = Instant::now();
                    let scores = classify(text);
                    let elapsed = start.elapsed();
                    std::hint::black_box(scores);
                    elapsed.as_secs_f64() * 1e6
                })
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    latencies
}

/// The `q`-quantile (0..=1) of sorted values, by the nearest-rank method; 0 when empty.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(text: &str, intent: &str) -> TrainingExample {
        TrainingExample {
            text: text.to_owned(),
            intent: intent.to_owned(),
        }
    }

    #[test]
    fn malformed_lines_are_reported_with_their_number() {
        let text = "{\"text\": \"hi\", \"intent\": \"greet\"}\n\n{\"text\": \"bye\"}\n";
        assert_eq!(
            parse_jsonl(text),
            Err(EvalError::Malformed {
                line: 3,
                message: "missing field `intent`".to_owned()
            })
        );
        assert!(matches!(
            parse_jsonl("{oops"),
            Err(EvalError::Malformed { line: 1, .. })
        ));
        assert!(matches!(
            parse_jsonl("{\"text\": 3, \"intent\": \"a\"}"),
            Err(EvalError::Malformed { line: 1, .. })
        ));
        assert_eq!(parse_jsonl("\n  \n"), Err(EvalError::Empty));
        assert_eq!(
            parse_jsonl("{\"text\": \"hi\", \"intent\": \"greet\"}").unwrap(),
            [example("hi", "greet")]
        );
    }

    #[test]
    fn holdout_is_deterministic_and_takes_the_fraction() {
        let examples: Vec<_> = (0..10).map(|i| example("x", &format!("intent{i}"))).collect();
        let first = holdout_intents(&examples, 0.2, 0);
        assert_eq!(first.len(), 2);
        assert_eq!(first, holdout_intents(&examples, 0.2, 0));
        assert_ne!(first, holdout_intents(&examples, 0.2, 1));
    }

    #[test]
    fn threshold_separates_confident_from_unsure() {
        let examples = [
            example("a", "x"),
            example("b", "y"),
            example("c", OUT_OF_SCOPE),
            example("d", OUT_OF_SCOPE),
        ];
        let predictions = [
            Some(("x".to_owned(), 0.9)),
            Some(("y".to_owned(), 0.7)),
            Some(("x".to_owned(), 0.4)),
            Some(("y".to_owned(), 0.2)),
        ];
        let threshold = choose_threshold(&examples, &predictions).unwrap();
        assert!((threshold - 0.55).abs() < 1e-6, "{threshold}");
        let metrics = metrics(&examples, &predictions, threshold);
        assert_eq!(metrics.accuracy, 1.0);
        assert_eq!(metrics.oos_recall, Some(1.0));
        assert_eq!(metrics.oos_precision, Some(1.0));
        assert_eq!(metrics.macro_f1, 1.0);
        assert_eq!(choose_threshold(&examples[..2], &predictions[..2]), None);
    }

    #[test]
    fn no_match_on_an_in_scope_example_counts_wrong() {
        let examples = [example("a", "x"), example("b", "y")];
        let predictions = [Some(("x".to_owned(), 0.9)), Some(("y".to_owned(), 0.3))];
        let metrics = metrics(&examples, &predictions, 0.5);
        assert_eq!(metrics.accuracy, 0.5);
        assert_eq!(metrics.in_scope_accuracy, Some(0.5));
        assert_eq!(metrics.oos_recall, None);
        assert_eq!(metrics.oos_precision, Some(0.0));
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.5), 50.0);
        assert_eq!(percentile(&values, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
