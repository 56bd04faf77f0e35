//! `baton apikey create|list|revoke`: API keys for server-to-server clients.
//!
//! A key is printed once, on stdout, when it is created; only its SHA-256 is stored. Clients send
//! it as IBM's `BasicAuthenticator('apikey', KEY)` or `BearerTokenAuthenticator(KEY)`.
//! The SQLite store allows one writing process at a time, so manage keys while `baton serve` is
//! not running on the same database.

use anyhow::Context as _;
use baton_store::Store as _;

use baton_server::auth::ApiKey;

/// Arguments of `baton apikey`.
#[derive(Debug, clap::Args)]
pub struct ApikeyArgs {
    #[command(subcommand)]
    pub command: ApikeyCommand,
    /// `sqlite://PATH` [default: sqlite://baton.db, env BATON_DATABASE_URL].
    #[arg(long, global = true, env = "BATON_DATABASE_URL", default_value = baton_store::DEFAULT_DATABASE_URL)]
    pub database: String,
}

#[derive(Debug, clap::Subcommand)]
pub enum ApikeyCommand {
    /// Create a key and print it (shown only this once).
    Create {
        /// A name to recognise the key by.
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// List keys: id, name, creation time, and revocation time if revoked.
    List,
    /// Revoke a key by id; requests with it are refused from then on.
    Revoke {
        /// The id shown by `create` and `list`.
        id: i64,
    },
}

pub fn run(args: ApikeyArgs) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let store = baton_store::open(&args.database)
            .await
            .context("opening the database")?;
        match args.command {
            ApikeyCommand::Create { name } => {
                let key = ApiKey::generate();
                let record = store
                    .create_api_key(&name, &key.hash(), chrono::Utc::now())
                    .await
                    .context("storing the api key")?;
                eprintln!("created api key {} ({name}); it is shown only this once:", record.id);
                println!("{}", key.expose());
            }
            ApikeyCommand::List => {
                for key in store.list_api_keys().await.context("listing api keys")? {
                    let revoked = key
                        .revoked_at
                        .map(|at| format!("  revoked {}", at.to_rfc3339()))
                        .unwrap_or_default();
                    println!(
                        "{}  {}  created {}{revoked}",
                        key.id,
                        key.name,
                        key.created_at.to_rfc3339()
                    );
                }
            }
            ApikeyCommand::Revoke { id } => {
                store
                    .revoke_api_key(baton_store::ApiKeyId(id), chrono::Utc::now())
                    .await
                    .with_context(|| format!("revoking api key {id}"))?;
                eprintln!("revoked api key {id}");
            }
        }
        anyhow::Ok(0)
    })
}
