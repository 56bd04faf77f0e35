//! The example assistants under `examples/` load without errors or warnings, and every file fits
//! the published schema (what editors check) as well as its own kind's schema.

use std::path::{Path, PathBuf};

use baton_assistant::{load_dir, schema, yaml_to_json};

/// The paths in `dir`; a folder that cannot be read fails the test rather than checking nothing.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let unreadable = |error: std::io::Error| format!("reading {}: {error}", dir.display());
    std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}", unreadable(error)))
        .map(|entry| entry.unwrap_or_else(|error| panic!("{}", unreadable(error))).path())
        .collect()
}

fn example_folders() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut folders: Vec<PathBuf> = entries(&root)
        .into_iter()
        .filter(|path| path.join("assistant.yaml").is_file() || path.join("assistant.json").is_file())
        .collect();
    folders.sort();
    assert!(!folders.is_empty(), "{} holds no assistant", root.display());
    folders
}

#[test]
fn example_assistants_load_cleanly() {
    for folder in example_folders() {
        let loaded = load_dir(&folder);
        let problems: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
        assert!(problems.is_empty(), "{}:\n{}", folder.display(), problems.join("\n"));
        let assistant = loaded
            .assistant
            .unwrap_or_else(|| panic!("{} did not load", folder.display()));
        let summary = assistant.summary();
        assert!(summary.actions > 0 && summary.examples > 0, "{}", folder.display());
    }
}

#[test]
fn example_files_fit_the_schema() {
    let validator = |schema: serde_json::Value| jsonschema::validator_for(&schema).expect("schema compiles");
    let whole = validator(schema::schema());
    let assistant = validator(schema::assistant_schema());
    let action = validator(schema::action_schema());
    for folder in example_folders() {
        let mut files: Vec<(PathBuf, bool)> = ["assistant.yaml", "assistant.yml", "assistant.json"]
            .iter()
            .map(|name| folder.join(name))
            .filter(|path| path.is_file())
            .map(|path| (path, false))
            .collect();
        // An assistant may keep all its actions in assistant.yaml; a folder that is there is read.
        let actions = folder.join("actions");
        if actions.exists() {
            files.extend(entries(&actions).into_iter().map(|path| (path, true)));
        }
        for (path, is_action) in files {
            let text = std::fs::read_to_string(&path).expect("readable");
            let value = yaml_to_json(&text).unwrap_or_else(|error| panic!("{}:{error}", path.display()));
            let own = if is_action { &action } else { &assistant };
            for validator in [&whole, own] {
                let errors: Vec<String> = validator.iter_errors(&value).map(|error| error.to_string()).collect();
                assert!(errors.is_empty(), "{}: {}", path.display(), errors.join("; "));
            }
        }
    }
}
