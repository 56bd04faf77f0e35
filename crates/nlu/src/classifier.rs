//! The intent classifier.

use serde::{Deserialize, Serialize};

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

/// A trained classifier.
#[derive(Debug, Clone)]
pub struct Classifier {
    intents: Vec<String>,
}

impl Classifier {
    /// Trains on labelled examples; `counterexamples` are phrases that must match nothing.
    pub fn train(examples: &[TrainingExample], counterexamples: &[String]) -> Classifier {
        let _ = counterexamples;
        let mut intents: Vec<String> = examples.iter().map(|example| example.intent.clone()).collect();
        intents.sort();
        intents.dedup();
        Classifier { intents }
    }

    /// Every intent, best first, with confidences.
    pub fn classify(&self, text: &str) -> Vec<IntentScore> {
        let _ = text;
        self.intents
            .iter()
            .map(|intent| IntentScore {
                intent: intent.clone(),
                confidence: 0.0,
            })
            .collect()
    }
}
