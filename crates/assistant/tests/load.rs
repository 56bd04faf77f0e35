//! Loading folders: action files in name order, JSON files, refused files, filled-in defaults.

use std::path::Path;

use baton_assistant::{Output, SimpleThen, Then, defaults, load_dir, load_str};

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create folder");
    }
    std::fs::write(path, text).expect("write file");
}

fn rendered(dir: &Path, loaded: &baton_assistant::Loaded) -> Vec<String> {
    loaded
        .diagnostics
        .iter()
        .map(|diagnostic| {
            let file = diagnostic.file.strip_prefix(dir).unwrap_or(&diagnostic.file);
            format!(
                "{}:{}:{} {}",
                file.display(),
                diagnostic.line,
                diagnostic.column,
                diagnostic.code
            )
        })
        .collect()
}

#[test]
fn reads_every_action_file_and_reports_problems_in_each() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    write(dir, "assistant.yaml", "name: Shop\n");
    write(
        dir,
        "actions/b_refund.yaml",
        "id: refund\nexamples: [refund please]\nsteps:\n  - sya: hi\n",
    );
    write(
        dir,
        "actions/a_order.json",
        "{\n  \"id\": \"order\",\n  \"examples\": [\"where is my order\"],\n  \"steps\": [{\"then\": {\"go_to\": {\"action\": \"refnd\"}}}]\n}\n",
    );
    write(dir, "actions/notes.txt", "not an action");
    let loaded = load_dir(dir);
    assert!(loaded.assistant.is_none());
    assert_eq!(
        rendered(dir, &loaded),
        vec![
            "actions/a_order.json:4:43 unknown-action",
            "actions/b_refund.yaml:4:5 unknown-field"
        ]
    );
}

#[test]
fn duplicate_actions_across_files_name_the_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    write(dir, "assistant.yaml", "actions:\n  - id: hello\n    examples: [hi]\n");
    write(dir, "actions/hello.yaml", "id: hello\nexamples: [hello]\n");
    let loaded = load_dir(dir);
    assert_eq!(rendered(dir, &loaded), vec!["actions/hello.yaml:1:5 duplicate-action"]);
    assert!(
        loaded.diagnostics[0].message.contains("assistant.yaml:2:9"),
        "{}",
        loaded.diagnostics[0]
    );
}

#[test]
fn a_huge_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    write(dir, "assistant.yaml", "actions:\n  - id: hello\n    examples: [hi]\n");
    std::fs::create_dir_all(dir.join("actions")).expect("actions folder");
    let huge = std::fs::File::create(dir.join("actions/huge.yaml")).expect("create");
    huge.set_len(50 * 1024 * 1024).expect("grow to 50 MB");
    let loaded = load_dir(dir);
    assert_eq!(rendered(dir, &loaded), vec!["actions/huge.yaml:1:1 file-too-large"]);
    // The size reported is the file's own: it comes from its metadata. A refusal after reading
    // would have stopped one byte past the limit and reported that.
    assert!(
        loaded.diagnostics[0].message.starts_with("the file is 50.0 MB;"),
        "{}",
        loaded.diagnostics[0]
    );
    assert!(loaded.assistant.is_none());
}

#[test]
fn a_missing_folder_and_bad_bytes_are_diagnostics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = load_dir(&dir.path().join("nope"));
    assert_eq!(missing.diagnostics[0].code, "not-found");
    write(dir.path(), "assistant.yaml", "name: ok\n");
    std::fs::create_dir_all(dir.path().join("actions")).expect("actions folder");
    std::fs::write(dir.path().join("actions/bad.yaml"), b"id: x\n\xff\xfe\n").expect("write");
    let loaded = load_dir(dir.path());
    let codes: Vec<&str> = loaded.diagnostics.iter().map(|diagnostic| diagnostic.code).collect();
    assert!(codes.contains(&"not-utf8"), "{codes:?}");
}

#[test]
fn defaults_are_filled_in() {
    let loaded = load_str(
        "assistant.yaml",
        "settings:\n  no_match_limit: 5\nactions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - question: {type: number}\n      - id: thanks\n        say: Thanks\n        then: connect_to_agent\n",
    );
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let assistant = loaded.assistant.expect("loads");
    assert_eq!(assistant.id, "assistant");
    assert_eq!(assistant.locale, "en-US");
    assert_eq!(assistant.settings.no_match_limit, 5);
    assert_eq!(assistant.settings.invalid_answer_limit, 3);
    let pay = assistant.action("pay").expect("pay");
    assert_eq!(pay.steps[0].id(), "step_1");
    assert_eq!(
        pay.steps[0].question.as_ref().map(|question| question.variable()),
        Some("step_1")
    );
    assert_eq!(pay.steps[1].id(), "thanks");
    assert!(matches!(pay.steps[1].then, Then::Simple(SimpleThen::ConnectToAgent)));

    let system = &assistant.system;
    let greet = &system.greet.as_ref().expect("greet").steps[0];
    assert!(matches!(greet.say.as_slice(), [Output::Text(text)] if text.source() == defaults::GREETING));
    assert_eq!(greet.id(), "step_1");
    let fallback = system.fallback.as_ref().expect("fallback");
    assert_eq!(
        fallback.examples.as_ref().map(Vec::len),
        Some(defaults::AGENT_REQUESTED_EXAMPLES.len())
    );
    assert_eq!(
        fallback.messages.profanity.as_ref().map(|text| text.source()),
        Some(defaults::FALLBACK_PROFANITY)
    );
    assert_eq!(
        fallback.connect.online.as_ref().map(|text| text.source()),
        Some(defaults::DEFAULT_AGENT_ONLINE)
    );
    let words = system.trigger_words.as_ref().expect("trigger words");
    assert_eq!(
        words.profanity.as_ref().map(|group| group.words.len()),
        Some(defaults::PROFANITY_WORDS.len())
    );
    assert_eq!(words.danger.as_ref().map(|group| group.words.len()), Some(0));
    let clarify = system.clarifying_question.as_ref().expect("clarify");
    assert_eq!(clarify.max_candidates, Some(defaults::CLARIFY_MAX_CANDIDATES));
    assert_eq!(
        system
            .change_topic
            .as_ref()
            .and_then(|change| change.return_prompt.as_deref()),
        Some(defaults::CHANGE_TOPIC_RETURN)
    );
    let summary = assistant.summary();
    assert_eq!((summary.actions, summary.steps, summary.examples), (1, 2, 1));
    assert_eq!(summary.to_string(), "1 action, 2 steps, 1 example");
}

#[test]
fn folder_name_is_the_default_id_and_warnings_do_not_block() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("helpdesk");
    write(&folder, "assistant.yml", "name: Help\n");
    write(
        &folder,
        "actions/hi.yml",
        "id: hi\nexamples: [hi]\nsteps:\n  - then: end\n  - say: never\n",
    );
    let loaded = load_dir(&folder);
    assert_eq!(rendered(&folder, &loaded), vec!["actions/hi.yml:5:5 unreachable-step"]);
    assert_eq!(
        loaded.assistant.map(|assistant| assistant.id),
        Some("helpdesk".to_owned())
    );
}

proptest::proptest! {
    #[test]
    fn load_str_never_panics(text in "\\PC*") {
        let _ = load_str("assistant.yaml", &text);
    }

    #[test]
    fn load_str_never_panics_on_yaml_like_text(text in "(actions:\n  - id: [a-z]{1,3}\n    examples: \\[x\\]\n    steps:\n      - [a-z_]{1,9}: [a-z0-9${}() '\"<>=:\\[\\]{},-]{0,20}\n){0,3}") {
        let _ = load_str("assistant.yaml", &text);
    }
}
