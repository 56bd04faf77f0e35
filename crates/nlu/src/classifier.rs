//! The intent classifier: TF-IDF n-grams and word meaning from a static embedding table, two small
//! neural networks, and a calibrated no-match score.
//!
//! A message becomes a sparse TF-IDF vector of word 1–2-grams and word-bounded character
//! 2–5-grams ([`features`]), followed by the mean of its WordPiece tokens' vectors from a static
//! embedding table compiled into the program ([`embedding`]: potion-base-8M, 256 dimensions; the
//! n-grams carry spelling and inflection, the table what words mean). Two networks with one
//! hidden layer of 96 ReLU units ([`mlp`]),
//! trained from different seeds on the two cores, rank the intents by the mean of their softmax
//! outputs. A multinomial logistic regression ([`linear`]) can rank instead (`hidden: 0`): it is
//! what Baton used before, kept as the baseline the benchmarks compare against.
//! Whether the message belongs to any intent at all is a separate question, answered from how
//! similar the message is to the nearest training example (by n-grams, and by embedding) and how
//! sure the ranking is; the
//! top intent's confidence is that in-scope score, and every other intent's confidence is scaled
//! from it by its probability relative to the top one, or, when one of that intent's examples is
//! nearly in the message too ("card lost or new card"), raised up to it. So confidences are not a
//! distribution: two intents may both be above the threshold, which is when the runtime asks a
//! clarifying question (see [`Classifier::is_close`]).
//!
//! The top intent's confidence estimates the probability that it is the right answer (a logistic
//! model over the top probability, its ratio to the second, the nearest-example similarities and,
//! with the table, the assistant's examples per intent, fitted on sub-assistants of 8 to 77
//! intents whose in-scope and out-of-scope messages weigh half each: `benches/calibration.rs`,
//! once per kind of ranking), so the default threshold of 0.5 means "more likely right than
//! wrong" whatever the assistant's size.
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
//! because that is both faster and the better no-match signal; the embedding table beside the
//! n-grams, because it gains 0.4–1.3 points of test accuracy on BANKING77 and HWU64 for about
//! 10 µs a message (less since the networks add each token's cached first-layer projection
//! rather than the embedding's 256 rows of weights: [`mlp::PooledInput`]), and its
//! nearest-example similarity lets the no-match score reject everyday
//! off-topic messages that share a word or a few letters with an example (docs/benchmarks.md);
//! a second intent's own nearest-example similarity, rather than the ranking alone, decides
//! whether the message names it too, because the networks nearly always prefer one of two
//! named intents by more than a clarify margin (with or without the table: "card lost or new
//! card" was close only with one seed of three before it) while the similarity tells a message
//! naming two intents' phrases from one naming one (`examples/clarify.rs`).

mod embedding;
mod features;
mod linear;
mod mlp;
mod neighbours;
mod spelling;

use serde::{Deserialize, Serialize};

use embedding::{DIMENSIONS, Embedding, ExampleVectors, Pooled};
pub use features::NgramOptions;
use features::{Sparse, Vectorizer, VectorizerOptions};
use linear::{Linear, LinearOptions};
use mlp::{MlpOptions, Network, Networks, PooledInput};
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
    /// Weight of the message's mean token vector from the static embedding table
    /// (`classifier/embedding.rs`), appended to the n-gram features (each block of which has
    /// length 1); 0 leaves the table out of the features and of the no-match score.
    pub embedding_weight: f32,
    /// Words the embedding table knows are never corrected, even when no example has them.
    pub known_words_from_table: bool,
    /// The table's weight instead of `embedding_weight` for an assistant with at most
    /// [`SMALL_EXAMPLES_PER_INTENT`] examples per intent (between that and twice that, a weight
    /// in between, by the logarithm of the examples per intent): with few examples, what the
    /// table knows of words matters more. Not used when `embedding_weight` is 0. Off by default
    /// (`None`: `embedding_weight` at every size): 1.5 gained 0.8 points of closed-set accuracy on the calibration
    /// bench and 6 points on `baton eval examples/bank`, but with the in-scope weights refitted
    /// for it one of the sixty everyday off-topic messages of the CLI's tests matched the bank
    /// ("the train was late this morning" started `say_hello` at 0.47; docs/benchmarks.md).
    pub small_embedding_weight: Option<f32>,
}

/// An assistant with at most this many examples per intent is small (see
/// [`TrainOptions::small_embedding_weight`]); from twice this many it is large.
pub const SMALL_EXAMPLES_PER_INTENT: f32 = 20.0;

impl TrainOptions {
    /// The table's weight for a classifier trained on `examples_per_intent` examples per intent.
    fn embedding_weight_for(&self, examples_per_intent: f32) -> f32 {
        if self.embedding_weight <= 0.0 {
            return 0.0;
        }
        let Some(small) = self.small_embedding_weight else {
            return self.embedding_weight;
        };
        let share = ((2.0 * SMALL_EXAMPLES_PER_INTENT).ln() - examples_per_intent.max(1.0).ln()) / 2_f32.ln();
        let share = share.clamp(0.0, 1.0);
        self.embedding_weight + share * (small.max(0.0) - self.embedding_weight)
    }
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
            embedding_weight: 1.0,
            known_words_from_table: true,
            small_embedding_weight: None,
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
    /// Weight of the embedding among the features; 0 when the table is not used.
    embedding_weight: f32,
    /// The training examples' embeddings, for their similarity to a message; `None` without
    /// the table.
    example_vectors: Option<ExampleVectors>,
    in_scope_weights: InScopeWeights,
}

/// The model that ranks the intents.
#[derive(Clone)]
enum Ranking {
    Linear(Linear),
    Networks(Networks),
}

/// Weights of the in-scope model (see [`in_scope_score`]): top probability, its log-ratio to the
/// second, nearest-example similarity (n-grams), nearest-example similarity (embedding),
/// intercept (for the networks over the table, with the assistant's size term folded in).
type InScopeWeights = [f32; 5];

impl Ranking {
    /// The in-scope model fitted for this kind of ranking by `benches/calibration.rs`: the networks'
    /// probabilities are sharper than the linear model's, so the same weights would not fit both,
    /// and the embedding similarity has a weight only when the table is used.
    ///
    /// With the table the model also has the assistant's size as an input, the logarithm of its
    /// examples per intent (`examples_per_intent`, scaled so that 100 is 1), folded into the
    /// intercept here: the same signals mean more from a classifier trained on 8 examples an
    /// intent than on 130 (fitted with every sub-assistant's in-scope and out-of-scope messages
    /// weighing half each; docs/benchmarks.md, "An assistant's own examples").
    fn in_scope_weights(&self, table: bool, examples_per_intent: f32) -> InScopeWeights {
        let size = examples_per_intent.max(1.0).ln() / 100_f32.ln();
        match (self, table) {
            (Ranking::Linear(_), false) => [3.99, 3.61, 3.40, 0.0, -3.47],
            (Ranking::Networks(_), false) => [3.86, 1.71, 3.73, 0.0, -4.00],
            // Not fitted: the logistic regression over the table is no shipped configuration.
            (Ranking::Linear(_), true) => [3.99, 3.61, 3.40, 0.0, -3.47],
            (Ranking::Networks(_), true) => [4.20, 2.06, 0.89, 3.83, -3.68 - 4.23 * size],
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
    /// Cosine similarity to the nearest training example of each intent (n-gram features).
    pub similarities: Vec<f32>,
    /// Cosine similarity of the message's embedding to the nearest training example's of each
    /// intent (all 0 without the table, or when no word of the message is in it).
    pub embedding_similarities: Vec<f32>,
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
        let examples_per_intent = examples.len() as f32 / intents.len().max(1) as f32;
        let embedding_weight = options.embedding_weight_for(examples_per_intent);
        let mut scratch = String::new();
        let messages: Vec<Message> = text_words
            .iter()
            .map(|words| Message::new(&vectorizer, embedding_weight, words, &mut scratch, true))
            .collect();
        let inputs: Vec<&Sparse> = messages.iter().map(|message| &message.features).collect();
        let n_features = vectorizer.len() + if embedding_weight > 0.0 { DIMENSIONS } else { 0 };
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
                n_features,
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
            let (inputs, labels) = (&inputs, &labels);
            let (text_words, vectorizer) = (&text_words, &vectorizer);
            // Each network trains on the examples plus its own copies of them with one word left
            // out, built on its own thread.
            let train_one = move |index: usize, progress: &mut dyn FnMut(usize, usize)| {
                let options = network_options(index);
                let (extra_inputs, extra_labels) = left_out_copies(
                    text_words,
                    labels,
                    (vectorizer, embedding_weight),
                    options_augment(index),
                );
                let all_inputs: Vec<&Sparse> = inputs.iter().copied().chain(&extra_inputs).collect();
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
            let mut networks = Networks::new(networks, n_features);
            if embedding_weight > 0.0 {
                networks.project_table_rows(vectorizer.len());
            }
            Ranking::Networks(networks)
        };
        let ngram_inputs: Vec<&[(u32, f32)]> = messages.iter().map(Message::ngrams).collect();
        let neighbours = Neighbours::new(
            &ngram_inputs,
            &labels,
            n_classes,
            vectorizer.len(),
            options.neighbour_max_df,
        );
        let example_vectors = (embedding_weight > 0.0).then(|| {
            let embeddings: Vec<Option<&Embedding>> = messages.iter().map(Message::embedding).collect();
            ExampleVectors::new(&embeddings, &labels, n_classes)
        });
        let speller = options
            .autocorrect
            .then(|| Speller::new(text_words.iter().map(Vec::as_slice), options.known_words_from_table));
        let in_scope_weights = ranking.in_scope_weights(embedding_weight > 0.0, examples_per_intent);
        Classifier {
            intents,
            has_counterexample_class,
            vectorizer,
            speller,
            ranking,
            neighbours,
            embedding_weight,
            example_vectors,
            in_scope_weights,
        }
    }

    /// The intents this classifier knows, in a fixed order.
    pub fn intents(&self) -> &[String] {
        &self.intents
    }

    /// The uncalibrated signals behind [`Classifier::classify`].
    pub fn signals(&self, text: &str) -> Signals {
        let message = self.vectorize(text);
        let (probabilities, counterexample_probability) = self.rank(&message);
        let mut similarities = self.neighbours.nearest(message.ngrams());
        let counterexample_similarity = match self.has_counterexample_class {
            true => similarities.pop().unwrap_or(0.0),
            false => 0.0,
        };
        let mut embedding_similarities = match (&self.example_vectors, message.embedding()) {
            (Some(vectors), Some(embedding)) => vectors.nearest(embedding),
            _ => vec![0.0; self.intents.len()],
        };
        embedding_similarities.truncate(self.intents.len());
        Signals {
            probabilities,
            counterexample_probability,
            similarities,
            embedding_similarities,
            counterexample_similarity,
            known: message.known(),
        }
    }

    /// The features of `text`, its misspellings corrected first.
    fn vectorize(&self, text: &str) -> Message {
        let mut words = features::words(text);
        if let Some(speller) = &self.speller {
            speller.correct(&mut words);
        }
        // The networks read the embedding as its pooled rows (`Networks::probabilities`).
        let dense = matches!(self.ranking, Ranking::Linear(_));
        Message::new(
            &self.vectorizer,
            self.embedding_weight,
            &words,
            &mut String::new(),
            dense,
        )
    }

    /// The similarity of `message`'s embedding to the nearest training example of `class` (0
    /// without the table).
    fn embedding_similarity(&self, message: &Message, class: usize) -> f32 {
        match (&self.example_vectors, message.embedding()) {
            (Some(vectors), Some(embedding)) => vectors.nearest_in(embedding, class),
            _ => 0.0,
        }
    }

    /// The probability of each intent, and of the counterexample class (0 without one).
    fn rank(&self, message: &Message) -> (Vec<f32>, f32) {
        let mut probabilities = match &self.ranking {
            Ranking::Linear(linear) => {
                let mut scores = linear.scores(&message.features);
                linear::softmax(&mut scores);
                scores
            }
            Ranking::Networks(networks) => networks.probabilities(&message.features, message.pooled_input()),
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
        let message = self.vectorize(text);
        let (probabilities, counterexample_probability) = self.rank(&message);
        let ngrams = message.ngrams();
        let confidences = confidences(
            &probabilities,
            counterexample_probability,
            message.known(),
            self.in_scope_weights,
            |top| {
                let counterexample_similarity = match self.has_counterexample_class {
                    true => self.neighbours.nearest_in(ngrams, self.intents.len()),
                    false => 0.0,
                };
                Similarities {
                    ngrams: self.neighbours.nearest_in(ngrams, top),
                    embedding: self.embedding_similarity(&message, top),
                    counterexample: counterexample_similarity,
                }
            },
            |intent| self.neighbours.nearest_in(ngrams, intent),
        );
        ranked(&self.intents, &confidences, &probabilities)
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
            + self.example_vectors.as_ref().map_or(0, ExampleVectors::bytes)
    }

    /// Heap memory of the embedding table shared by every classifier once parsed (its rows are
    /// in the program's binary, 7.3 MiB, and not counted).
    pub fn shared_table_bytes() -> usize {
        embedding::table().bytes()
    }
}

/// A message as the models read it.
struct Message {
    /// The n-gram features, then, when the embedding is among them (for training and the
    /// logistic regression), the embedding's dimensions as features
    /// `n_ngram_features..n_ngram_features + DIMENSIONS`, times the embedding weight.
    features: Sparse,
    /// How many of `features` are n-grams.
    n_ngrams: usize,
    pooled: Option<Pooled>,
    /// The embedding's weight divided by the length of its rows' sum, when the embedding is
    /// not among `features`; the networks then read it from its rows.
    factor: Option<f32>,
}

impl Message {
    /// `dense`: the embedding's dimensions are appended to the features.
    fn new(
        vectorizer: &Vectorizer,
        embedding_weight: f32,
        words: &[String],
        scratch: &mut String,
        dense: bool,
    ) -> Message {
        let mut features = vectorizer.transform_words(words);
        let n_ngrams = features.len();
        let pooled = match embedding_weight > 0.0 {
            true => embedding::table().pool(words, scratch),
            false => None,
        };
        let mut factor = None;
        match &pooled {
            Some(pooled) if dense => {
                let first = vectorizer.len() as u32;
                features.reserve_exact(DIMENSIONS);
                features.extend(
                    (first..)
                        .zip(&pooled.vector)
                        .map(|(feature, &value)| (feature, embedding_weight * value)),
                );
            }
            Some(pooled) => factor = Some(embedding_weight / pooled.norm),
            None => {}
        }
        Message {
            features,
            n_ngrams,
            pooled,
            factor,
        }
    }

    fn embedding(&self) -> Option<&Embedding> {
        self.pooled.as_ref().map(|pooled| &pooled.vector)
    }

    /// The embedding for [`Networks::probabilities`], when it is not among the features.
    fn pooled_input(&self) -> Option<PooledInput<'_>> {
        match (&self.pooled, self.factor) {
            (Some(pooled), Some(factor)) => Some(PooledInput {
                rows: &pooled.rows,
                factor,
            }),
            _ => None,
        }
    }

    fn ngrams(&self) -> &[(u32, f32)] {
        &self.features[..self.n_ngrams]
    }

    /// Whether any n-gram of the message was seen in training.
    fn known(&self) -> bool {
        self.n_ngrams > 0
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
    text_words: &[Vec<String>],
    labels: &[usize],
    (vectorizer, embedding_weight): (&Vectorizer, f32),
    augment: Augment,
) -> (Vec<Sparse>, Vec<usize>) {
    let mut rng = linear::Rng::new(augment.seed);
    let mut inputs = Vec::new();
    let mut copied_labels = Vec::new();
    if augment.copies == 0 {
        return (inputs, copied_labels);
    }
    let mut scratch = String::new();
    for (words, &label) in text_words.iter().zip(labels) {
        if words.len() < augment.min_words.max(2) {
            continue;
        }
        for _ in 0..augment.copies {
            let left_out = rng.below(words.len());
            let copy: Vec<String> = words
                .iter()
                .enumerate()
                .filter(|(position, _)| *position != left_out)
                .map(|(_, word)| word.clone())
                .collect();
            inputs.push(Message::new(vectorizer, embedding_weight, &copy, &mut scratch, true).features);
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

/// The intents with their confidences, best first; equal confidences (an intent the message names
/// beside the top one, see [`confidences`]) keep the ranking's order.
fn ranked(intents: &[String], confidences: &[f32], probabilities: &[f32]) -> Vec<IntentScore> {
    let mut order: Vec<usize> = (0..intents.len()).collect();
    order.sort_by(|&a, &b| {
        confidences[b]
            .total_cmp(&confidences[a])
            .then_with(|| probabilities[b].total_cmp(&probabilities[a]))
            .then_with(|| intents[a].cmp(&intents[b]))
    });
    order
        .into_iter()
        .map(|index| IntentScore {
            intent: intents[index].clone(),
            confidence: confidences[index],
        })
        .collect()
}

/// A message names an intent beside its top one when that intent's nearest example is at least
/// this similar to it by n-grams (fully from the second value, not at all below the first)...
///
/// Chosen with [`NAMED_RATIO`] on sub-assistants of BANKING77 and HWU64 and their validation
/// messages (`examples/clarify.rs`): with these values about 1% of messages that name one intent
/// get a clarifying question at the default threshold and margin, and about 70% of messages that
/// join two intents' examples. The second intent's nearest example is less similar than 0.39 in
/// nine of ten messages that name one intent, and more similar than 0.56 in nine of ten that name
/// two.
const NAMED_SIMILARITY: (f32, f32) = (0.50, 0.55);

/// ... and the ranking gives that intent at least this share of the top one's probability (fully
/// from the second value, not at all below the first) ...
const NAMED_RATIO: (f32, f32) = (0.05, 0.10);

/// ... and an example of the top intent is not the whole message: the top intent's nearest
/// example is less similar than this (fully below the first value, not at all from the second).
/// A message that is one of the top intent's examples names that intent only, however much of
/// it another intent's example shares ("Test a long response in Server-Sent Events (SSE)"
/// beside an action whose example is "Test Server-Sent Events (SSE)"); a message that says two
/// intents' phrases is at most about 0.9 similar to either.
const NAMED_TOP_SIMILARITY: (f32, f32) = (0.90, 0.95);

/// Where `value` is between `low` and `high`, from 0 to 1.
fn ramp(value: f32, (low, high): (f32, f32)) -> f32 {
    ((value - low) / (high - low)).clamp(0.0, 1.0)
}

/// Each intent's confidence (see the module documentation); all 0 for a message with no known
/// n-gram. The top intent's is the in-scope score. Every other intent's is the in-scope score
/// times its probability relative to the top one's, or, when the message names that intent too
/// (one of its examples is nearly in the message, the ranking gives it some weight, and the
/// message is not just an example of the top intent: [`NAMED_SIMILARITY`], [`NAMED_RATIO`],
/// [`NAMED_TOP_SIMILARITY`]), up to the in-scope score itself, so that a message
/// that says two intents' phrases ("card lost or new card") has two close candidates and the
/// runtime asks which one was meant. The ranking alone cannot say so: between two intents it
/// nearly always prefers one by more than a clarify margin.
///
/// `similarities(top)` gives the nearest-example similarities of the top intent and of the
/// counterexamples, and is asked only when they are needed; `ngram_similarity(intent)` gives
/// another intent's nearest-example similarity by n-grams, and is asked only for intents the
/// ranking gives enough weight.
fn confidences(
    probabilities: &[f32],
    counterexample_probability: f32,
    known: bool,
    weights: InScopeWeights,
    similarities: impl FnOnce(usize) -> Similarities,
    mut ngram_similarity: impl FnMut(usize) -> f32,
) -> Vec<f32> {
    match top_two(probabilities) {
        Some(top) if known => {
            let similarities = similarities(top.index);
            let in_scope = in_scope_score(
                top,
                similarities,
                probabilities.len(),
                counterexample_probability,
                weights,
            );
            let one_example = ramp(similarities.ngrams, NAMED_TOP_SIMILARITY);
            probabilities
                .iter()
                .enumerate()
                .map(|(intent, probability)| {
                    let ratio = probability / top.probability.max(f32::MIN_POSITIVE);
                    let weight = ramp(ratio, NAMED_RATIO) * (1.0 - one_example);
                    let named = match intent != top.index && weight > 0.0 {
                        true => weight * ramp(ngram_similarity(intent), NAMED_SIMILARITY),
                        false => 0.0,
                    };
                    in_scope * ratio.max(named)
                })
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
        |top| Similarities {
            ngrams: signals.similarities[top],
            embedding: signals.embedding_similarities[top],
            counterexample: signals.counterexample_similarity,
        },
        |intent| signals.similarities[intent],
    )
}

/// A message's similarities to the nearest training example of its top intent, by n-grams and
/// by embedding, and to the nearest counterexample (by n-grams; 0 without counterexamples).
#[derive(Debug, Clone, Copy)]
struct Similarities {
    ngrams: f32,
    embedding: f32,
    counterexample: f32,
}

/// The probability that the top intent is the right answer, from a logistic model over the top
/// probability, its log-ratio to the second one, and the similarities to the nearest example of
/// the top intent (n-grams, embedding). Its weights were fitted on sub-assistants sampled from BANKING77 and HWU64
/// (8 to 77 intents, 6 to 130 examples each; out-of-scope messages from the intents left out
/// and from the other data set), each sub-assistant weighing the same and, with the table, its
/// in-scope and out-of-scope messages half each, so that one threshold means the same at every
/// size (with the table the assistant's size is an input too, folded into the intercept by
/// [`Ranking::in_scope_weights`]).
/// `counterexample_probability` is the counterexample class's probability (0 without one).
///
/// With a single intent and no counterexamples the probabilities say nothing (the top one is
/// always 1), so a model fitted on the n-gram similarity alone, on the same data, is used instead.
fn in_scope_score(
    top: Top,
    similarities: Similarities,
    n_intents: usize,
    counterexample_probability: f32,
    weights: InScopeWeights,
) -> f32 {
    let sigmoid = |z: f32| 1.0 / (1.0 + (-z).exp());
    if n_intents == 1 && counterexample_probability == 0.0 {
        return sigmoid(8.11 * similarities.ngrams - 2.92);
    }
    let log_ratio = (top.probability.max(1e-6) / top.second.max(1e-6)).ln().min(10.0) / 10.0;
    let [top_weight, ratio_weight, similarity_weight, embedding_weight, intercept] = weights;
    let z = top_weight * top.probability
        + ratio_weight * log_ratio
        + similarity_weight * similarities.ngrams
        + embedding_weight * similarities.embedding
        + intercept
        - 3.0 * counterexample_probability
        - 3.0 * similarities.counterexample;
    sigmoid(z)
}

#[cfg(test)]
mod tests;
