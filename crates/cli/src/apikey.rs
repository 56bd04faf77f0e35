//! `baton apikey create|list|revoke`: API keys for server-to-server clients.
//!
//! A key is printed once, on stdout, when it is created; only its SHA-256 is stored. Clients send
//! it as IBM's `BasicAuthenticator('apikey', KEY)` or `BearerTokenAuthenticator(KEY)`.
//! The database is opened in the store's admin mode, so keys can be managed while `baton serve`
//! runs on it; the server reads keys at every request, so a new or revoked key applies at once.

use anyhow::Context as _;

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
    let store = baton_store::open_admin(&args.database).context("opening the database")?;
    match args.command {
        ApikeyCommand::Create { name } => {
            let key = ApiKey::generate();
            let record = store
                .create_api_key(&name, &key.hash(), chrono::Utc::now())
                .context("storing the api key")?;
            eprintln!("created api key {} ({name}); it is shown only this once:", record.id);
            println!("{}", key.expose());
        }
        ApikeyCommand::List => {
            for key in store.list_api_keys().context("listing api keys")? {
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
                .with_context(|| format!("revoking api key {id}"))?;
            eprintln!("revoked api key {id}");
        }
    }
    Ok(0)
}
