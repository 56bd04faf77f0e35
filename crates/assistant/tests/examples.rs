//! The example assistants under `examples/` load without errors and every file fits the schema.

use std::path::Path;

#[test]
fn example_assistants_load_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let Ok(entries) = std::fs::read_dir(&root) else {
        return;
    };
    let mut folders: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    folders.sort();
    for folder in folders {
        let loaded = baton_assistant::load_dir(&folder);
        let problems: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
        assert!(problems.is_empty(), "{}:\n{}", folder.display(), problems.join("\n"));
        let assistant = loaded
            .assistant
            .unwrap_or_else(|| panic!("{} did not load", folder.display()));
        let summary = assistant.summary();
        assert!(summary.actions > 0 && summary.examples > 0, "{}", folder.display());
    }
}
