//! `baton check-config FILE`: reads a server configuration as `baton serve --config FILE`
//! would (the file, then `BATON_*` variables) and checks what serving would check first: every
//! key and value, the desks with their secrets, the routes. Prints every problem, located by
//! line and column or by key, and changes nothing.

use std::path::PathBuf;

use baton_server::Config;

#[derive(Debug, clap::Args)]
pub struct CheckConfigArgs {
    /// The configuration file (TOML).
    pub file: PathBuf,
}

pub fn run(args: CheckConfigArgs) -> anyhow::Result<i32> {
    let config = match Config::load(Some(&args.file), std::env::vars()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return Ok(1);
        }
    };
    match baton_server::desks::check(&config, &|name| std::env::var(name).ok()) {
        Ok(desks) => {
            println!(
                "{}: ok ({} desk{} besides Baton's own, {} route{})",
                args.file.display(),
                desks.len(),
                if desks.len() == 1 { "" } else { "s" },
                config.routes.len(),
                if config.routes.len() == 1 { "" } else { "s" },
            );
            Ok(0)
        }
        Err(error) => {
            for problem in &error.0 {
                eprintln!("{}: {problem}", args.file.display());
            }
            Ok(1)
        }
    }
}
