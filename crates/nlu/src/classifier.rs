//! The intent classifier: TF-IDF n-grams, two small neural networks, and a calibrated no-match score.
//!
//! A message becomes a sparse TF-IDF vector of word 1–2-grams and word-bounded character
//! 2–5-grams ([`features`]). Two networks with one hidden layer of 96 ReLU units ([`mlp`]),
//! trained from different seeds on the two cores, rank the intents by the mean of their softmax
//! outputs. A multinomial logistic regression ([`linear`]) can rank instead (`hidden: 0`): it is
//! what Baton used before, kept as the baseline the benchmarks compare against.
//! Whether the message belongs to any intent at all is a separate question, answered from how
//! similar the message is to the nearest training example and how sure the ranking is; the
//! top intent's confidence is that in-scope score, and every other intent's confidence is scaled
//! from it by its probability relative to the top one. So confidences are not a distribution:
//! two intents may both be above the threshold, which is when the runtime asks a clarifying
//! question (see [`Classifier::is_close`]).
//!
//! The top intent's confidence estimates the probability that it is the right answer (a logistic
//! model over the top probability, its ratio to the second, and the nearest-example similarity,
//! fitted on sub-assistants of 8 to 77 intents: `benches/calibration.rs`, once per kind of
//! ranking), so the default threshold of 0.5 means "more likely right than wrong" whatever the
//! assistant's size.
//!
//! Counterexamples are an extra class that is never returned; probability mass on it lowers
//! every intent's confidence.
//!
//! Decisions, each measured (docs/benchmarks.md): networks over the same n-grams rather than the
//! linear model, because they gain about a point of test accuracy on BANKING77 and HWU64 and
//! move the no-match trade-off up, within the latency and training budgets, for more memory
//! (8–20 MiB on the benchmark data sets instead of 5) and training time, while every richer
//! linear variant we tried (longer n-grams, n-grams across words, adding the neighbour
//! similarity to the ranking) moved accuracy by less than the noise, and a pretrained encoder is
//! ruled out and would cost milliseconds; two networks of 96 units rather than one of 192,
//! because averaging independent networks gains more and each trains on its own core; weights
//! as bytes, because latency is memory traffic (a small model, whose rows stay in cache, keeps
//! the same values as floats and skips the conversion); neighbours over rare features only,
//! because that is both faster and the better no-match signal.

mod features;
mod linear;
mod mlp;
mod neighbours;
mod spelling;

use serde::{Deserialize, Serialize};

pub use features::NgramOptions;
use features::{Sparse, Vectorizer, VectorizerOptions};
use linear::{Linear, LinearOptions};
use mlp::{MlpOptions, Network, Networks};
use neighbours::Neighbours;
use spelling::Speller;

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
    /// Inverse regularisation strength of the logistic regression (used when `hidden` is 0).
    pub c: f32,
    /// Passes of stochastic gradient descent of the logistic regression.
    pub epochs: usize,
    /// Initial learning rate of the logistic regression (decayed linearly to a tenth of it).
    pub learning_rate: f32,
    /// Seed of the example order (training is deterministic for a given seed).
    pub seed: u64,
    /// With more than 1,000 examples, features in more than this fraction of them (and in more
    /// than 30) are ignored by the nearest-example similarity: they cost look-up time, and the
    /// similarity over rarer features is the better no-match signal (measured).
    pub neighbour_max_df: f32,
    /// Which n-grams are features.
    pub ngrams: NgramOptions,
    /// Hidden units of each network; 0 ranks with the logistic regression instead.
    pub hidden: usize,
    /// Networks trained from different seeds, each on its own thread; their probabilities are averaged.
    pub networks: usize,
    /// Passes of gradient descent of each network.
    pub hidden_epochs: usize,
    /// Initial learning rate of the networks (decayed linearly to a tenth of it).
    pub hidden_learning_rate: f32,
    /// Probability that a hidden unit is dropped during a training step.
    pub hidden_dropout: f32,
    /// Each network also trains on this many copies of each example with one word left out
    /// (its own copies, on its own thread; the vocabulary is fitted on the examples alone). Off by
    /// default: with four networks of 48 units it gained 0.7 points on BANKING77's validation set
    /// but about nothing on the test sets, for twice the training time (docs/benchmarks.md).
    pub augment_copies: usize,
    /// Only examples of at least this many words are copied.
    pub augment_min_words: usize,
    /// Misspelt words of a message are corrected towards the examples' words before it is
    /// classified (`classifier/spelling.rs`).
    pub autocorrect: bool,
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
            hidden: 96,
            networks: 2,
            hidden_epochs: 12,
            hidden_learning_rate: 0.15,
            hidden_dropout: 0.2,
            augment_copies: 0,
            augment_min_words: 5,
            autocorrect: true,
        }
    }
}

/// A trained classifier.
#[derive(Clone)]
pub struct Classifier {
    intents: Vec<String>,
    /// Whether the last class of the ranking model is the counterexample class.
    has_counterexample_class: bool,
    vectorizer: Vectorizer,
    /// Corrects a message's misspellings; `None` when training turned autocorrection off.
    speller: Option<Speller>,
    ranking: Ranking,
    neighbours: Neighbours,
}

/// The model that ranks the intents.
#[derive(Clone)]
enum Ranking {
    Linear(Linear),
    Networks(Networks),
}

/// Weights of the in-scope model (see [`in_scope_score`]): top probability, its log-ratio to the
/// second, nearest-example similarity, intercept.
type InScopeWeights = [f32; 4];

impl Ranking {
    /// The in-scope model fitted for this kind of ranking by `benches/calibration.rs`: the networks'
    /// probabilities are sharper than the linear model's, so the same weights would not fit both.
    fn in_scope_weights(&self) -> InScopeWeights {
        match self {
            Ranking::Linear(_) => [3.99, 3.61, 3.40, -3.47],
            Ranking::Networks(_) => [3.86, 1.71, 3.73, -4.00],
        }
    }
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
        // Each text is split into words once: for its features, and for the speller's vocabulary.
        let text_words: Vec<Vec<String>> = texts.iter().map(|text| features::words(text)).collect();
        let inputs: Vec<Sparse> = text_words
            .iter()
            .map(|words| vectorizer.transform_words(words))
            .collect();
        let has_counterexample_class = !counterexamples.is_empty();
        let labels: Vec<usize> = examples
            .iter()
            .map(|example| intents.binary_search(&example.intent).unwrap_or_default())
            .chain(counterexamples.iter().map(|_| intents.len()))
            .collect();
        let n_classes = intents.len() + usize::from(has_counterexample_class);
        let ranking = if options.hidden == 0 {
            Ranking::Linear(Linear::train(
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
            ))
        } else {
            let network_options = |index: usize| MlpOptions {
                hidden: options.hidden,
                epochs: options.hidden_epochs,
                learning_rate: options.hidden_learning_rate,
                dropout: options.hidden_dropout,
                seed: options.seed.wrapping_add(index as u64 * 0x0051_7cc1),
            };
            let options_augment = |index: usize| Augment {
                copies: options.augment_copies,
                min_words: options.augment_min_words,
                seed: options.seed.wrapping_add(index as u64 * 0x0051_7cc1) ^ 0x0061_7567,
            };
            let (inputs, labels, n_features) = (&inputs, &labels, vectorizer.len());
            let (texts, vectorizer) = (&texts, &vectorizer);
            // Each network trains on the examples plus its own copies of them with one word left
            // out, built on its own thread.
            let train_one = move |index: usize, progress: &mut dyn FnMut(usize, usize)| {
                let options = network_options(index);
                let (extra_inputs, extra_labels) = left_out_copies(texts, labels, vectorizer, options_augment(index));
                let all_inputs: Vec<&Sparse> = inputs.iter().chain(&extra_inputs).collect();
                let all_labels: Vec<usize> = labels.iter().chain(&extra_labels).copied().collect();
                Network::train(&all_inputs, &all_labels, n_features, n_classes, options, progress)
            };
            // The first network trains on this thread (and reports progress), the others each on
            // a thread of their own.
            let networks = std::thread::scope(|scope| {
                let others: Vec<_> = (1..options.networks.max(1))
                    .map(|index| scope.spawn(move || train_one(index, &mut |_, _| {})))
                    .collect();
                let first = train_one(0, progress);
                std::iter::once(first)
                    .chain(
                        others
                            .into_iter()
                            .map(|handle| handle.join().expect("training a network")),
                    )
                    .collect()
            });
            Ranking::Networks(Networks::new(networks, n_features))
        };
        let neighbours = Neighbours::new(&inputs, &labels, n_classes, vectorizer.len(), options.neighbour_max_df);
        let speller = options
            .autocorrect
            .then(|| Speller::new(text_words.iter().map(Vec::as_slice)));
        Classifier {
            intents,
            has_counterexample_class,
            vectorizer,
            speller,
            ranking,
            neighbours,
        }
    }

    /// The intents this classifier knows, in a fixed order.
    pub fn intents(&self) -> &[String] {
        &self.intents
    }

    /// The uncalibrated signals behind [`Classifier::classify`].
    pub fn signals(&self, text: &str) -> Signals {
        let input = self.vectorize(text);
        let (probabilities, counterexample_probability) = self.rank(&input);
        let mut similarities = self.neighbours.nearest(&input);
        let counterexample_similarity = match self.has_counterexample_class {
            true => similarities.pop().unwrap_or(0.0),
            false => 0.0,
        };
        Signals {
            probabilities,
            counterexample_probability,
            similarities,
            counterexample_similarity,
            known: !input.is_empty(),
        }
    }

    /// The features of `text`, its misspellings corrected first.
    fn vectorize(&self, text: &str) -> Sparse {
        let mut words = features::words(text);
        if let Some(speller) = &self.speller {
            speller.correct(&mut words);
        }
        self.vectorizer.transform_words(&words)
    }

    /// The probability of each intent, and of the counterexample class (0 without one).
    fn rank(&self, input: &Sparse) -> (Vec<f32>, f32) {
        let mut probabilities = match &self.ranking {
            Ranking::Linear(linear) => {
                let mut scores = linear.scores(input);
                linear::softmax(&mut scores);
                scores
            }
            Ranking::Networks(networks) => networks.probabilities(input),
        };
        let counterexample_probability = match self.has_counterexample_class {
            true => probabilities.pop().unwrap_or(0.0),
            false => 0.0,
        };
        (probabilities, counterexample_probability)
    }

    /// Every intent, best first, with confidences.
    ///
    /// The same confidences as calibrating [`Classifier::signals`], but the nearest-example
    /// similarity is looked up only for the two classes it uses (the top intent and the
    /// counterexamples), not for every intent.
    pub fn classify(&self, text: &str) -> Vec<IntentScore> {
        let input = self.vectorize(text);
        let (probabilities, counterexample_probability) = self.rank(&input);
        let confidences = confidences(
            &probabilities,
            counterexample_probability,
            !input.is_empty(),
            self.ranking.in_scope_weights(),
            |top| {
                let counterexample_similarity = match self.has_counterexample_class {
                    true => self.neighbours.nearest_in(&input, self.intents.len()),
                    false => 0.0,
                };
                (self.neighbours.nearest_in(&input, top), counterexample_similarity)
            },
        );
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
            + match &self.ranking {
                Ranking::Linear(linear) => linear.bytes(),
                Ranking::Networks(networks) => networks.bytes(),
            }
            + self.neighbours.bytes()
            + self.speller.as_ref().map_or(0, Speller::bytes)
    }
}

/// How [`left_out_copies`] augments the training examples.
#[derive(Debug, Clone, Copy)]
struct Augment {
    copies: usize,
    min_words: usize,
    seed: u64,
}

/// Copies of the training texts of `augment.min_words` words or more, each with one word chosen
/// at random left out, as vectors, with their labels.
fn left_out_copies(
    texts: &[&str],
    labels: &[usize],
    vectorizer: &Vectorizer,
    augment: Augment,
) -> (Vec<Sparse>, Vec<usize>) {
    let mut rng = linear::Rng::new(augment.seed);
    let mut inputs = Vec::new();
    let mut copied_labels = Vec::new();
    if augment.copies == 0 {
        return (inputs, copied_labels);
    }
    for (text, &label) in texts.iter().zip(labels) {
        let words = features::words(text);
        if words.len() < augment.min_words.max(2) {
            continue;
        }
        for _ in 0..augment.copies {
            let left_out = rng.below(words.len());
            let copy: Vec<&str> = words
                .iter()
                .enumerate()
                .filter(|(position, _)| *position != left_out)
                .map(|(_, word)| word.as_str())
                .collect();
            inputs.push(vectorizer.transform(&copy.join(" ")));
            copied_labels.push(label);
        }
    }
    (inputs, copied_labels)
}

/// The top intent of `probabilities`, its probability and the second highest.
#[derive(Debug, Clone, Copy)]
struct Top {
    index: usize,
    probability: f32,
    second: f32,
}

/// The highest probability and the second (`None` when there is no intent).
fn top_two(probabilities: &[f32]) -> Option<Top> {
    let mut ranked = probabilities.iter().copied().enumerate();
    let (index, probability) = ranked.next()?;
    let mut top = Top {
        index,
        probability,
        second: 0.0,
    };
    for (index, probability) in ranked {
        if probability > top.probability {
            top = Top {
                index,
                probability,
                second: top.probability,
            };
        } else if probability > top.second {
            top.second = probability;
        }
    }
    Some(top)
}

/// Each intent's confidence: its probability relative to the top one's, times the in-scope score
/// (see the module documentation); all 0 for a message with no known n-gram. `similarities(top)`
/// gives the nearest-example similarity of the top intent and of the counterexamples, and is
/// asked only when they are needed.
fn confidences(
    probabilities: &[f32],
    counterexample_probability: f32,
    known: bool,
    weights: InScopeWeights,
    similarities: impl FnOnce(usize) -> (f32, f32),
) -> Vec<f32> {
    match top_two(probabilities) {
        Some(top) if known => {
            let (similarity, counterexample_similarity) = similarities(top.index);
            let in_scope = in_scope_score(
                top,
                similarity,
                probabilities.len(),
                (counterexample_probability, counterexample_similarity),
                weights,
            );
            probabilities
                .iter()
                .map(|probability| in_scope * probability / top.probability.max(f32::MIN_POSITIVE))
                .collect()
        }
        _ => vec![0.0; probabilities.len()],
    }
}

/// [`confidences`] from every intent's similarity, as [`Classifier::signals`] gives them: what
/// [`Classifier::classify`] must equal.
#[cfg(test)]
fn calibrate(signals: &Signals, weights: InScopeWeights) -> Vec<f32> {
    confidences(
        &signals.probabilities,
        signals.counterexample_probability,
        signals.known,
        weights,
        |top| (signals.similarities[top], signals.counterexample_similarity),
    )
}

/// The probability that the top intent is the right answer, from a logistic model over the top
/// probability, its log-ratio to the second one, and the similarity to the nearest example of the
/// top intent. Its weights were fitted on sub-assistants sampled from BANKING77 and HWU64
/// (8 to 77 intents, 6 to 130 examples each; out-of-scope messages from the intents left out),
/// each sub-assistant weighing the same, so that one threshold means the same at every size.
/// `counterexample` is the counterexample class's probability and similarity (0 without one).
///
/// With a single intent and no counterexamples the probabilities say nothing (the top one is
/// always 1), so a model fitted on the similarity alone, on the same data, is used instead.
fn in_scope_score(
    top: Top,
    similarity: f32,
    n_intents: usize,
    (counterexample_probability, counterexample_similarity): (f32, f32),
    weights: InScopeWeights,
) -> f32 {
    let sigmoid = |z: f32| 1.0 / (1.0 + (-z).exp());
    if n_intents == 1 && counterexample_probability == 0.0 {
        return sigmoid(8.11 * similarity - 2.92);
    }
    let log_ratio = (top.probability.max(1e-6) / top.second.max(1e-6)).ln().min(10.0) / 10.0;
    let [top_weight, ratio_weight, similarity_weight, intercept] = weights;
    let z = top_weight * top.probability + ratio_weight * log_ratio + similarity_weight * similarity + intercept
        - 3.0 * counterexample_probability
        - 3.0 * counterexample_similarity;
    sigmoid(z)
}

#[cfg(test)]
mod tests;
