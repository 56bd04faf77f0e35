//! `baton eval`: measures the classifier on a data set (filled in by the recognition work).

/// Arguments of `baton eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {}

/// Runs the evaluation; returns the process exit code.
pub fn run(args: EvalArgs) -> anyhow::Result<i32> {
    let _ = args;
    Ok(0)
}
