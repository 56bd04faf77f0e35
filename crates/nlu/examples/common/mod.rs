//! What the measuring programs share: the `sweep` and `oos` examples, and the calibration bench
//! (which includes this file by path).

use baton_nlu::TrainingExample;
use baton_nlu::eval;

/// One split of a data set in `../shared/data/nlu` (or under `BATON_NLU_DATA`); panics with the
/// path when it cannot be read: these programs measure, they have nothing else to do without it.
pub fn load(dataset: &str, split: &str) -> Vec<TrainingExample> {
    let root = std::env::var("BATON_NLU_DATA")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/nlu").to_owned());
    let path = format!("{root}/{dataset}/{split}.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {path}: {error}"));
    eval::parse_jsonl(&text).unwrap_or_else(|error| panic!("reading {path}: {error}"))
}

/// A setting from the environment, or `default` when it is unset or does not parse.
#[allow(dead_code)] // the calibration bench takes no settings
pub fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}
