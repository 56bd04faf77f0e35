//! `baton agents add|list|remove`: the human agents of Baton's own desk.
//!
//! The password is read from stdin (never from the command line, where other users could see it
//! in the process list) and stored as an Argon2id PHC string.
//! These commands open the database in the store's admin mode, so they work while `baton serve`
//! runs on the same database; the server reads agents at every login, so a change applies at the
//! agent's next login (removing an agent also ends its login tokens at once).

use anyhow::{Context as _, bail};

/// How many chats an agent takes at once unless told otherwise (the desk's default).
const DEFAULT_CAPACITY: u32 = 3;
/// The longest agent name accepted.
const MAX_NAME_LEN: usize = 64;

/// Arguments of `baton agents`.
#[derive(Debug, clap::Args)]
pub struct AgentsArgs {
    #[command(subcommand)]
    pub command: AgentsCommand,
    /// `sqlite://PATH` [default: sqlite://baton.db, env BATON_DATABASE_URL].
    #[arg(long, global = true, env = "BATON_DATABASE_URL", default_value = baton_store::DEFAULT_DATABASE_URL)]
    pub database: String,
}

#[derive(Debug, clap::Subcommand)]
pub enum AgentsCommand {
    /// Add an agent, or update one with this name (queues, capacity, display name and password).
    Add {
        /// The login name: letters, digits, `.`, `-` and `_`, at most 64.
        name: String,
        /// A queue the agent serves; repeat for several. Without any, the agent serves every queue.
        #[arg(long = "queue", value_name = "QUEUE")]
        queues: Vec<String>,
        /// How many chats the agent takes at once.
        #[arg(long, default_value_t = DEFAULT_CAPACITY)]
        capacity: u32,
        /// The name customers and colleagues see [default: NAME].
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from stdin (required: passwords are never taken from the command line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List agents: name, display name, queues and capacity.
    List,
    /// Remove an agent; their login tokens stop working at once.
    Remove {
        /// The agent's login name.
        name: String,
    },
}

pub fn run(args: AgentsArgs) -> anyhow::Result<i32> {
    match args.command {
        AgentsCommand::Add {
            name,
            queues,
            capacity,
            display_name,
            password_stdin,
        } => {
            validate_name(&name)?;
            for queue in &queues {
                if queue.trim().is_empty() {
                    bail!("a --queue must not be empty");
                }
            }
            if capacity == 0 {
                bail!("--capacity must be at least 1");
            }
            if !password_stdin {
                bail!(
                    "give the password on stdin with --password-stdin, e.g. `printf %s \"$PASSWORD\" | baton agents add {name} --password-stdin`"
                );
            }
            let password = read_password(std::io::stdin().lock())?;
            let password_hash = baton_store::password::hash(&password).context("hashing the password")?;
            let store = open(&args.database)?;
            let existed = store
                .find_agent(&name)
                .with_context(|| format!("looking up agent {name}"))?
                .is_some();
            let record = baton_store::AgentRecord {
                display_name: display_name.unwrap_or_else(|| name.clone()),
                username: name.clone(),
                password_hash,
                queues,
                capacity,
                created_at: chrono::Utc::now(),
            };
            store
                .upsert_agent(&record)
                .with_context(|| format!("storing agent {name}"))?;
            let verb = if existed { "updated" } else { "added" };
            eprintln!("{verb} agent {name} ({})", describe_queues(&record.queues));
        }
        AgentsCommand::List => {
            let store = open(&args.database)?;
            for agent in store.list_agents().context("listing agents")? {
                println!(
                    "{}  {}  {}  capacity {}",
                    agent.username,
                    agent.display_name,
                    describe_queues(&agent.queues),
                    agent.capacity
                );
            }
        }
        AgentsCommand::Remove { name } => {
            let store = open(&args.database)?;
            let removed = store
                .remove_agent(&name)
                .with_context(|| format!("removing agent {name}"))?;
            if !removed {
                bail!("no agent is named {name:?}");
            }
            eprintln!("removed agent {name}");
        }
    }
    Ok(0)
}

fn open(database: &str) -> anyhow::Result<baton_store::AdminStore> {
    baton_store::open_admin(database).context("opening the database")
}

/// Checks an agent's login name: letters, digits, `.`, `-`, `_`, at most [`MAX_NAME_LEN`].
fn validate_name(name: &str) -> anyhow::Result<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    if name.is_empty() {
        bail!("the agent name is empty");
    }
    if name.len() > MAX_NAME_LEN {
        bail!(
            "the agent name is {} characters long; the most is {MAX_NAME_LEN}",
            name.len()
        );
    }
    if let Some(bad) = name.chars().find(|&c| !allowed(c)) {
        bail!("the agent name {name:?} contains {bad:?}; use letters, digits, '.', '-' and '_'");
    }
    Ok(())
}

/// Reads the password: everything on stdin but one trailing line ending; refuses an empty one.
fn read_password(mut input: impl std::io::Read) -> anyhow::Result<String> {
    let mut password = String::new();
    input
        .read_to_string(&mut password)
        .context("reading the password from stdin (it must be UTF-8)")?;
    let trimmed = password
        .strip_suffix("\r\n")
        .or_else(|| password.strip_suffix('\n'))
        .unwrap_or(&password);
    if trimmed.is_empty() {
        bail!("the password on stdin is empty");
    }
    Ok(trimmed.to_owned())
}

fn describe_queues(queues: &[String]) -> String {
    match queues {
        [] => "every queue".to_owned(),
        queues => format!("queues {}", queues.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::{read_password, validate_name};

    #[test]
    fn names_are_letters_digits_and_dot_dash_underscore() {
        for good in ["alice", "a.b-c_d", "Agent42", &"x".repeat(64)] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        let cases = [
            ("", "empty"),
            ("ali ce", "contains ' '"),
            ("é", "contains 'é'"),
            ("a/b", "contains '/'"),
            (&"x".repeat(65), "65 characters"),
        ];
        for (bad, why) in cases {
            let error = validate_name(bad).expect_err(bad).to_string();
            assert!(error.contains(why), "{bad:?}: {error}");
        }
    }

    #[test]
    fn the_password_loses_one_line_ending_and_must_not_be_empty() {
        assert_eq!(read_password("secret\n".as_bytes()).unwrap(), "secret");
        assert_eq!(read_password("secret\r\n".as_bytes()).unwrap(), "secret");
        assert_eq!(read_password(" two words \n\n".as_bytes()).unwrap(), " two words \n");
        assert!(read_password("".as_bytes()).is_err());
        assert!(read_password("\n".as_bytes()).is_err());
    }
}
