//! `baton init DIR`: a new assistant folder to start from, with two actions, their conversation
//! tests and the JSON Schema for editors. It passes `baton check` and `baton test` as made.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Arguments of `baton init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The folder to create (it may exist if it is empty).
    pub dir: PathBuf,
    /// The assistant's name [default: from the folder's name: `acme-store` → `Acme Store`].
    #[arg(long)]
    pub name: Option<String>,
}

/// The starter's files: path in the folder, contents with `{{NAME}}`, `{{ID}}` and `{{DIR}}`.
pub(crate) const FILES: &[(&str, &str)] = &[
    ("assistant.yaml", include_str!("../templates/starter/assistant.yaml")),
    (
        "actions/opening_hours.yaml",
        include_str!("../templates/starter/actions/opening_hours.yaml"),
    ),
    (
        "actions/order_status.yaml",
        include_str!("../templates/starter/actions/order_status.yaml"),
    ),
    (
        "tests/opening_hours.yaml",
        include_str!("../templates/starter/tests/opening_hours.yaml"),
    ),
    (
        "tests/order_status.yaml",
        include_str!("../templates/starter/tests/order_status.yaml"),
    ),
    (
        "tests/damaged_up_front.yaml",
        include_str!("../templates/starter/tests/damaged_up_front.yaml"),
    ),
];

pub fn run(args: InitArgs) -> anyhow::Result<i32> {
    // `baton init .` in an empty folder names the assistant after that folder.
    let named = match args.dir.file_name() {
        Some(_) => Some(args.dir.clone()),
        None => args.dir.canonicalize().ok(),
    };
    let Some(folder_name) = named
        .as_deref()
        .and_then(Path::file_name)
        .and_then(|name| name.to_str())
    else {
        eprintln!("error: {} does not name a folder", args.dir.display());
        return Ok(1);
    };
    let id = id_from(folder_name);
    if id.is_empty() {
        eprintln!("error: the folder name `{folder_name}` has no letter or digit to make an assistant id from");
        return Ok(1);
    }
    let name = args.name.unwrap_or_else(|| name_from(folder_name));
    if let Err(problem) = check_name(&name) {
        eprintln!("error: --name {name:?}: {problem}");
        return Ok(1);
    }
    if is_nonempty_dir(&args.dir)? {
        eprintln!(
            "error: {} already exists and is not empty; choose a new folder",
            args.dir.display()
        );
        return Ok(1);
    }
    let dir_text = args.dir.display().to_string();
    for (path, template) in FILES {
        let text = template
            .replace("{{NAME}}", &name)
            .replace("{{ID}}", &id)
            .replace("{{DIR}}", &dir_text);
        write(&args.dir.join(path), &text)?;
    }
    let schema = serde_json::to_string_pretty(&baton_assistant::schema::schema())?;
    write(&args.dir.join("baton.schema.json"), &format!("{schema}\n"))?;
    let dir = shell_word(&dir_text);
    println!("created {dir_text}: the assistant `{id}` ({name}), with two actions and their tests");
    println!("next:");
    println!("  baton preview {dir}        chat with it in the terminal");
    println!("  baton serve {dir} --dev    web chat and preview on http://127.0.0.1:8080/preview; saved edits reload");
    println!("  baton test {dir}           run its conversation tests");
    println!("  baton eval {dir}           which of its examples it would miss, to add or reword");
    Ok(0)
}

/// `text` as one word of a POSIX shell command line: quoted when it needs to be.
fn shell_word(text: &str) -> String {
    let plain = |character: char| character.is_alphanumeric() || "/._-+:@,".contains(character);
    match !text.is_empty() && text.chars().all(plain) {
        true => text.to_owned(),
        false => format!("'{}'", text.replace('\'', r"'\''")),
    }
}

/// `Acme Store!` → `acme_store`: letters and digits lower-cased, anything else one underscore.
fn id_from(folder_name: &str) -> String {
    let mut id = String::new();
    for character in folder_name.chars() {
        if character.is_alphanumeric() {
            id.extend(character.to_lowercase());
        } else if !id.is_empty() && !id.ends_with('_') {
            id.push('_');
        }
    }
    id.trim_end_matches('_').to_owned()
}

/// `acme-store` → `Acme Store`.
fn name_from(folder_name: &str) -> String {
    folder_name
        .split(|character: char| !character.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut characters = word.chars();
            characters
                .next()
                .map(|first| first.to_uppercase().chain(characters).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The name goes into YAML and into sentences as written, so it keeps to what needs no quoting.
fn check_name(name: &str) -> Result<(), &'static str> {
    let mut characters = name.chars();
    if !characters.next().is_some_and(char::is_alphanumeric) {
        return Err("it must start with a letter or a digit");
    }
    let allowed = |character: char| character.is_alphanumeric() || " '&.,-".contains(character);
    match name.chars().all(allowed) && !name.ends_with(' ') {
        true => Ok(()),
        false => Err("use letters, digits, spaces and ' & . , - only"),
    }
}

fn is_nonempty_dir(dir: &Path) -> anyhow::Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) if error.kind() == std::io::ErrorKind::NotADirectory => Ok(true),
        Err(error) => Err(error).with_context(|| format!("reading {}", dir.display())),
    }
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_come_from_the_folder() {
        for (folder, id, name) in [
            ("acme-store", "acme_store", "Acme Store"),
            ("shop", "shop", "Shop"),
            ("My  Shop!", "my_shop", "My Shop"),
            ("__x__", "x", "X"),
            ("Café_2", "café_2", "Café 2"),
            ("---", "", ""),
        ] {
            assert_eq!(
                (id_from(folder).as_str(), name_from(folder).as_str()),
                (id, name),
                "{folder}"
            );
        }
    }

    #[test]
    fn commands_quote_a_folder_with_spaces() {
        assert_eq!(shell_word("shops/acme-store"), "shops/acme-store");
        assert_eq!(shell_word("Joe's Pizza"), r"'Joe'\''s Pizza'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn a_name_that_would_need_quoting_is_refused() {
        for good in ["Acme Store", "Joe's Pizza", "A&B Co.", "Shop 24, Inc", "Café-Bar"] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            " Shop",
            "&anchor",
            "Shop: the best",
            "Shop #1",
            "${x}",
            "\"Shop\"",
            "Shop\nTwo",
            "Shop ",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
