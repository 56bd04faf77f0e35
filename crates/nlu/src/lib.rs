//! Intent recognition and value extraction. Pure: no I/O, no network, nothing downloaded (the
//! embedding table the classifier reads is compiled into the program).
//!
//! [`Classifier::train`] learns from an assistant's example phrases when it loads;
//! [`Classifier::classify`] ranks intents with calibrated confidences.
//! [`extract`] reads the typed values that questions need.

pub mod classifier;
pub mod eval;
pub mod extract;

pub use classifier::{Classifier, IntentScore, TrainingExample};
