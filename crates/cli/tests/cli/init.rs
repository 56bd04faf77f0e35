//! `baton init`: a new assistant that passes its own checks and tests as made.

use crate::{baton, stderr, stdout};

#[test]
fn a_new_assistant_passes_its_checks_and_tests() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("acme-store");
    let made = baton().arg("init").arg(&dir).output().unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    assert!(
        stdout(&made).contains("the assistant `acme_store` (Acme Store)"),
        "{}",
        stdout(&made)
    );

    let checked = baton().arg("check").arg(&dir).output().unwrap();
    assert!(checked.status.success(), "{}", stderr(&checked));
    assert!(
        stdout(&checked).starts_with("acme_store: 2 actions, "),
        "{}",
        stdout(&checked)
    );
    let tested = baton().arg("test").arg(&dir).output().unwrap();
    assert!(tested.status.success(), "{}{}", stdout(&tested), stderr(&tested));
    assert!(stdout(&tested).contains("3 passed, 0 failed"), "{}", stdout(&tested));
    // Its examples are worded so that each is recognised by the assistant trained without it,
    // and its counterexamples so that each matches nothing: a style to copy.
    let evaluated = baton().arg("eval").arg(&dir).arg("--json").output().unwrap();
    assert!(evaluated.status.success(), "{}", stderr(&evaluated));
    let report: serde_json::Value = serde_json::from_str(&stdout(&evaluated)).unwrap();
    assert!(report["totals"]["recognised"].as_u64().unwrap() >= 14, "{report}");
    let counterexamples = report["counterexamples"].as_array().unwrap();
    assert_eq!(counterexamples.len(), 3);
    assert!(
        counterexamples.iter().all(|trial| trial["outcome"] == "no_match"),
        "{report}"
    );

    // The schema the editor is pointed at is the one `baton schema` prints.
    let schema = baton().arg("schema").output().unwrap();
    let written = std::fs::read_to_string(dir.join("baton.schema.json")).unwrap();
    assert_eq!(written, stdout(&schema));
    let yaml = std::fs::read_to_string(dir.join("assistant.yaml")).unwrap();
    assert!(yaml.starts_with("# yaml-language-server: $schema=./baton.schema.json\n"));
    assert!(!yaml.contains("{{"), "every placeholder is filled:\n{yaml}");

    // A second init into the same folder changes nothing.
    std::fs::write(dir.join("actions/opening_hours.yaml"), "edited").unwrap();
    let again = baton().arg("init").arg(&dir).output().unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already exists and is not empty"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("actions/opening_hours.yaml")).unwrap(),
        "edited"
    );
}

#[test]
fn a_name_is_used_as_given_or_refused() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("shop");
    let refused = baton()
        .arg("init")
        .arg(&dir)
        .args(["--name", "Shop: #1"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("--name"), "{}", stderr(&refused));
    assert!(!dir.exists(), "nothing is written");

    let made = baton()
        .arg("init")
        .arg(&dir)
        .args(["--name", "Joe's Pizza"])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let tested = baton().arg("test").arg(&dir).output().unwrap();
    assert!(tested.status.success(), "{}{}", stdout(&tested), stderr(&tested));
    let yaml = std::fs::read_to_string(dir.join("assistant.yaml")).unwrap();
    assert!(yaml.contains("\nname: Joe's Pizza\n"), "{yaml}");
}

#[test]
fn init_dot_names_the_assistant_after_the_current_folder() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("corner-cafe");
    std::fs::create_dir(&dir).unwrap();
    let made = baton().arg("init").arg(".").current_dir(&dir).output().unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let yaml = std::fs::read_to_string(dir.join("assistant.yaml")).unwrap();
    assert!(yaml.contains("\nid: corner_cafe\nname: Corner Cafe\n"), "{yaml}");
    assert!(stdout(&made).contains("baton serve . --dev"), "{}", stdout(&made));
}
