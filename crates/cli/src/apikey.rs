//! `baton apikey create [--name N] [--database URL]`: make an API key for server-to-server clients.
//!
//! The key is printed once, on stdout, and only its SHA-256 is stored. Clients send it as IBM's
//! `BasicAuthenticator('apikey', KEY)` or `BearerTokenAuthenticator(KEY)`.
//! The SQLite store allows one writing process at a time, so create keys while `baton serve` is
//! not running on the same database.

use anyhow::Context as _;
use baton_store::Store as _;

use baton_server::auth::ApiKey;

/// Arguments of `baton apikey`.
#[derive(Debug, clap::Args)]
pub struct ApikeyArgs {
    #[command(subcommand)]
    pub command: ApikeyCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ApikeyCommand {
    /// Create a key and print it (shown only this once).
    Create {
        /// A name to recognise the key by.
        #[arg(long, default_value = "default")]
        name: String,
        /// `sqlite://PATH` [default: sqlite://baton.db, env BATON_DATABASE_URL].
        #[arg(long, env = "BATON_DATABASE_URL", default_value = baton_store::DEFAULT_DATABASE_URL)]
        database: String,
    },
}

pub fn run(args: ApikeyArgs) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match args.command {
        ApikeyCommand::Create { name, database } => runtime.block_on(async move {
            let store = baton_store::open(&database).await.context("opening the database")?;
            let key = ApiKey::generate();
            let record = store
                .create_api_key(&name, &key.hash(), chrono::Utc::now())
                .await
                .context("storing the api key")?;
            eprintln!("created api key {} ({name}); it is shown only once:", record.id);
            println!("{}", key.expose());
            anyhow::Ok(0)
        }),
    }
}
