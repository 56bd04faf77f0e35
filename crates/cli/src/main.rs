//! The `baton` binary: serve, check, schema, preview, test and eval an assistant; import one from
//! Watson Assistant; manage API keys and agents.
//!
//! Each subcommand lives in its own module and returns the process exit code; this file only
//! parses the command line and dispatches. The CLI is the only crate that prints.

mod agents;
mod apikey;
mod bench;
mod check;
mod check_config;
mod conversation;
mod crossval;
mod eval;
mod import;
mod init;
mod preview;
mod preview_voice;
mod reload;
mod schema;
mod serve;
mod test;
mod test_file;
mod transcript;
mod yaml;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: a turn allocates many small short-lived buffers
/// (JSON, hyper, the classifier), and glibc malloc/free took about a tenth of the server's CPU
/// in `baton bench http`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "baton",
    version,
    about = "A customer-service assistant that knows when to hand over to a human"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve assistants over the Watson Assistant v2 compatible HTTP API, with the web chat.
    Serve(serve::ServeArgs),
    /// Create, list and revoke API keys for server-to-server clients.
    Apikey(apikey::ApikeyArgs),
    /// Add, list and remove the human agents of Baton's own desk.
    Agents(agents::AgentsArgs),
    /// Create a new assistant folder to start from, with two actions and their tests.
    Init(init::InitArgs),
    /// Check an assistant folder and print every problem with its file, line and column.
    Check(check::CheckArgs),
    /// Check a server configuration file (desks, secrets, routes) without serving.
    CheckConfig(check_config::CheckConfigArgs),
    /// Print the JSON Schema of the assistant format.
    Schema,
    /// Chat with an assistant in the terminal, with a simulated desk.
    Preview(preview::PreviewArgs),
    /// Run the conversation tests in DIR/tests.
    Test(test::TestArgs),
    /// Measure the classifier on a data set.
    Eval(eval::EvalArgs),
    /// Convert another product's assistant: `baton import watson EXPORT.json -o DIR`.
    Import(import::ImportArgs),
    /// Measure serving: `baton bench http` drives a Baton server and a hello-world reference.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Apikey(args) => apikey::run(args),
        Command::Agents(args) => agents::run(args),
        Command::Init(args) => init::run(args),
        Command::Check(args) => check::run(args),
        Command::CheckConfig(args) => check_config::run(args),
        Command::Schema => schema::run(),
        Command::Preview(args) => preview::run(args),
        Command::Test(args) => test::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Import(args) => import::run(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
