//! The intent classifier: TF-IDF n-grams, a linear model, and a calibrated no-match score.
//!
//! A message becomes a sparse TF-IDF vector of word 1–2-grams and word-bounded character
//! 2–5-grams ([`features`]). A multinomial logistic regression ([`linear`]) ranks the intents.
//! Whether the message belongs to any intent at all is a separate question, answered from how
//! similar the message is to the nearest training example and how sure the ranking is; the
//! top intent's confidence is that in-scope score, and every other intent's confidence is scaled
//! from it by its probability relative to the top one. So confidences are not a distribution:
//! two intents may both be above the threshold, which is when the runtime asks a clarifying
//! question (see [`Classifier::is_close`]).
//!
//! The top intent's confidence estimates the probability that it is the right answer (a logistic
//! model over the top probability, its ratio to the second, and the nearest-example similarity,
//! fitted on sub-assistants of 8 to 77 intents: `benches/calibration.rs`), so the default
//! threshold of 0.5 means "more likely right than wrong" whatever the assistant's size.
//!
//! Counterexamples are an extra class that is never returned; probability mass on it lowers
//! every intent's confidence.
//!
//! Decisions, each measured (docs/benchmarks.md): a single linear model on n-grams, because
//! every richer variant we tried (longer n-grams, n-grams across words, adding the neighbour
//! similarity to the ranking) moved accuracy by less than the noise, while a pretrained encoder
//! is ruled out and would cost milliseconds; weights as bytes, because latency is memory
//! traffic; neighbours over rare features only, because that is both faster and the better
//! no-match signal.

mod features;
mod linear;
mod neighbours;

use serde::{Deserialize, Serialize};

pub use features::NgramOptions;
use features::{Sparse, Vectorizer, VectorizerOptions};
use linear::{Linear, LinearOptions};
use neighbours::Neighbours;

/// One labelled example phrase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingExample {
    pub text: String,
    pub intent: String,
}

/// An intent and the classifier's calibrated confidence in it (0..=1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentScore {
    pub intent: String,
    pub confidence: f32,
}

/// The confidence threshold the classifier is calibrated for: at or above it, an intent matches.
pub const DEFAULT_THRESHOLD: f32 = 0.5;

/// The default clarify margin: when the second intent is within this of the first and both match.
pub const DEFAULT_CLARIFY_MARGIN: f32 = 0.1;

/// Options of [`Classifier::train_with`]; [`Default`] is what [`Classifier::train`] uses.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    /// Inverse regularisation strength of the logistic regression.
    pub c: f32,
    /// Passes of stochastic gradient descent over the examples.
    pub epochs: usize,
    /// Initial learning rate of the gradient descent (decayed linearly to a tenth of it).
    pub learning_rate: f32,
    /// Seed of the example order (training is deterministic for a given seed).
    pub seed: u64,
    /// With more than 1,000 examples, features in more than this fraction of them (and in more
    /// than 30) are ignored by the nearest-example similarity: they cost look-up time, and the
    /// similarity over rarer features is the better no-match signal (measured).
    pub neighbour_max_df: f32,
    /// Which n-grams are features.
    pub ngrams: NgramOptions,
}

impl Default for TrainOptions {
    fn default() -> TrainOptions {
        TrainOptions {
            c: 20.0,
            epochs: 15,
            learning_rate: 0.5,
            seed: 0,
            neighbour_max_df: 0.003,
            ngrams: NgramOptions::default(),
        }
    }
}

/// A trained classifier.
#[derive(Clone)]
pub struct Classifier {
    intents: Vec<String>,
    /// Whether the last class of the linear model is the counterexample class.
    has_counterexample_class: bool,
    vectorizer: Vectorizer,
    linear: Linear,
    neighbours: Neighbours,
}

/// Summarised: the weights would print megabytes.
impl std::fmt::Debug for Classifier {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Classifier")
            .field("intents", &self.intents)
            .field("features", &self.vectorizer.len())
            .field("has_counterexample_class", &self.has_counterexample_class)
            .field("model_bytes", &self.model_bytes())
            .finish()
    }
}

/// The raw signals behind one classification, before calibration; exposed for evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Signals {
    /// Softmax probabilities per intent (same order as [`Classifier::intents`]), counterexample
    /// class excluded.
    pub probabilities: Vec<f32>,
    /// Probability of the counterexample class (0 without counterexamples).
    pub counterexample_probability: f32,
    /// Cosine similarity to the nearest training example of each intent.
    pub similarities: Vec<f32>,
    /// Cosine similarity to the nearest counterexample (0 without counterexamples).
    pub counterexample_similarity: f32,
    /// Whether any n-gram of the message was seen in training; when none was, the message cannot
    /// be about any intent and every confidence is 0.
    pub known: bool,
}

impl Classifier {
    /// Trains on labelled examples; `counterexamples` are phrases that must match nothing.
    pub fn train(examples: &[TrainingExample], counterexamples: &[String]) -> Classifier {
        Classifier::train_with(examples, counterexamples, TrainOptions::default(), &mut |_, _| {})
    }

    /// Trains with explicit options; `progress(done, total)` is called as training advances.
    pub fn train_with(
        examples: &[TrainingExample],
        counterexamples: &[String],
        options: TrainOptions,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Classifier {
        let mut intents: Vec<String> = examples.iter().map(|example| example.intent.clone()).collect();
        intents.sort();
        intents.dedup();
        let texts: Vec<&str> = examples
            .iter()
            .map(|example| example.text.as_str())
            .chain(counterexamples.iter().map(String::as_str))
            .collect();
        let large = texts.len() >= 2000;
        let vectorizer = Vectorizer::fit(
            &texts,
            VectorizerOptions {
                char_min_df: if large { 2 } else { 1 },
                word_min_df: 1,
                ngrams: options.ngrams,
            },
        );
        let inputs: Vec<Sparse> = texts.iter().map(|text| vectorizer.transform(text)).collect();
        let has_counterexample_class = !counterexamples.is_empty();
        let labels: Vec<usize> = examples
            .iter()
            .map(|example| intents.binary_search(&example.intent).unwrap_or_default())
            .chain(counterexamples.iter().map(|_| intents.len()))
            .collect();
        let n_classes = intents.len() + usize::from(has_counterexample_class);
        let linear = Linear::train(
            &inputs,
            &labels,
            vectorizer.len(),
            n_classes,
            LinearOptions {
                c: options.c,
                epochs: options.epochs,
                learning_rate: options.learning_rate,
                seed: options.seed,
            },
            progress,
        );
        let neighbours = Neighbours::new(&inputs, &labels, n_classes, vectorizer.len(), options.neighbour_max_df);
        Classifier {
            intents,
            has_counterexample_class,
            vectorizer,
            linear,
            neighbours,
        }
    }

    /// The intents this classifier knows, in a fixed order.
    pub fn intents(&self) -> &[String] {
        &self.intents
    }

    /// The uncalibrated signals behind [`Classifier::classify`].
    pub fn signals(&self, text: &str) -> Signals {
        let input = self.vectorizer.transform(text);
        let mut probabilities = self.linear.scores(&input);
        linear::softmax(&mut probabilities);
        let mut similarities = self.neighbours.nearest(&input);
        let (counterexample_probability, counterexample_similarity) = if self.has_counterexample_class {
            (probabilities.pop().unwrap_or(0.0), similarities.pop().unwrap_or(0.0))
        } else {
            (0.0, 0.0)
        };
        Signals {
            probabilities,
            counterexample_probability,
            similarities,
            counterexample_similarity,
            known: !input.is_empty(),
        }
    }

    /// Every intent, best first, with confidences.
    pub fn classify(&self, text: &str) -> Vec<IntentScore> {
        let signals = self.signals(text);
        let confidences = calibrate(&signals);
        let mut scores: Vec<IntentScore> = self
            .intents
            .iter()
            .zip(confidences)
            .map(|(intent, confidence)| IntentScore {
                intent: intent.clone(),
                confidence,
            })
            .collect();
        scores.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then_with(|| a.intent.cmp(&b.intent))
        });
        scores
    }

    /// Whether `scores` (best first, from [`Classifier::classify`]) call for a clarifying question:
    /// the top two both reach `threshold` and are within `margin` of each other.
    pub fn is_close(scores: &[IntentScore], threshold: f32, margin: f32) -> bool {
        match scores {
            [first, second, ..] => second.confidence >= threshold && first.confidence - second.confidence <= margin,
            _ => false,
        }
    }

    /// Approximate memory held by the model, in bytes.
    pub fn model_bytes(&self) -> usize {
        std::mem::size_of::<Classifier>()
            + self.intents.iter().map(|intent| intent.capacity() + 24).sum::<usize>()
            + self.vectorizer.bytes()
            + self.linear.bytes()
            + self.neighbours.bytes()
    }
}

/// Turns raw signals into confidences (see the module documentation).
fn calibrate(signals: &Signals) -> Vec<f32> {
    let mut ranked = signals.probabilities.iter().copied().enumerate();
    let Some((mut top, mut top_probability)) = ranked.next() else {
        return Vec::new();
    };
    let mut second_probability = 0.0_f32;
    for (index, probability) in ranked {
        if probability > top_probability {
            (second_probability, top, top_probability) = (top_probability, index, probability);
        } else if probability > second_probability {
            second_probability = probability;
        }
    }
    if !signals.known {
        return vec![0.0; signals.probabilities.len()];
    }
    let in_scope = in_scope_score(top_probability, second_probability, signals.similarities[top], signals);
    signals
        .probabilities
        .iter()
        .map(|probability| in_scope * probability / top_probability.max(f32::MIN_POSITIVE))
        .collect()
}

/// The probability that the top intent is the right answer, from a logistic model over the top
/// probability, its log-ratio to the second one, and the similarity to the nearest example of the
/// top intent. Its weights were fitted on sub-assistants sampled from BANKING77 and HWU64
/// (8 to 77 intents, 6 to 130 examples each; out-of-scope messages from the intents left out),
/// each sub-assistant weighing the same, so that one threshold means the same at every size.
///
/// With a single intent and no counterexamples the probabilities say nothing (the top one is
/// always 1), so a model fitted on the similarity alone, on the same data, is used instead.
fn in_scope_score(top_probability: f32, second_probability: f32, similarity: f32, signals: &Signals) -> f32 {
    let sigmoid = |z: f32| 1.0 / (1.0 + (-z).exp());
    if signals.probabilities.len() == 1 && signals.counterexample_probability == 0.0 {
        return sigmoid(8.11 * similarity - 2.92);
    }
    let log_ratio = (top_probability.max(1e-6) / second_probability.max(1e-6))
        .ln()
        .min(10.0)
        / 10.0;
    let z = 3.99 * top_probability + 3.61 * log_ratio + 3.40 * similarity
        - 3.47
        - 3.0 * signals.counterexample_probability
        - 3.0 * signals.counterexample_similarity;
    sigmoid(z)
}

#[cfg(test)]
mod tests;
