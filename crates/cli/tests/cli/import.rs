//! `baton import watson`: every public fixture imports into a folder that passes `baton check`
//! and its derived conversation tests; bad input is refused with a sentence and a code, and
//! nothing is written.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::programs::{self, Needs};
use crate::{baton, folder, stderr, stdout};

/// The Watson exports under `tests/fixtures/watson` (see its NOTICE.md).
fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/watson");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .collect();
    files.sort();
    files
}

fn import(export: &Path, output: &Path) -> Value {
    let imported = baton()
        .args(["import", "watson"])
        .arg(export)
        .arg("-o")
        .arg(output)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        imported.status.success(),
        "{}: {}{}",
        export.display(),
        stdout(&imported),
        stderr(&imported)
    );
    serde_json::from_str(&stdout(&imported)).unwrap()
}

/// The counts table of docs/import.md, one row per fixture.
fn row(file: &str, report: &Value) -> String {
    let counts = |key: &str| {
        let counts = &report[key];
        format!(
            "{} / {} / {}",
            counts["exact"], counts["approximate"], counts["not_carried"]
        )
    };
    match report["skill"].as_str() {
        Some("dialog") => format!(
            "| `{file}` | dialog | — | {} | {} |",
            counts("nodes"),
            report["tests"].as_array().map_or(0, Vec::len)
        ),
        _ => format!(
            "| `{file}` | actions | {} | {} | {} |",
            counts("actions"),
            counts("steps"),
            report["tests"].as_array().map_or(0, Vec::len)
        ),
    }
}

#[test]
fn every_fixture_imports_checks_and_passes_its_derived_tests() {
    let parent = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    // Exact, approximate, not carried over: actions, steps, dialog nodes; then the tests.
    let mut totals = [[0u64; 3]; 4];
    for export in fixtures() {
        let name = export.file_name().unwrap().to_string_lossy().into_owned();
        let dir = parent.path().join(name.trim_end_matches(".json"));
        let report = import(&export, &dir);
        let checked = baton().arg("check").arg(&dir).output().unwrap();
        assert!(checked.status.success(), "{name}: {}", stderr(&checked));
        let tested = baton().arg("test").arg(&dir).output().unwrap();
        assert!(
            tested.status.success(),
            "{name}: {}{}",
            stdout(&tested),
            stderr(&tested)
        );
        // Every test derived from these exports passes under Baton: none was removed.
        let not_written = report["tests_not_written"].as_array().unwrap();
        assert!(
            not_written
                .iter()
                .all(|why| !why.as_str().unwrap().contains("was removed")),
            "{name}: {not_written:?}"
        );
        let n_tests = report["tests"].as_array().unwrap().len();
        assert!(n_tests >= 1, "{name}: {report}");
        assert!(
            stdout(&tested).contains(&format!("{n_tests} passed, 0 failed")),
            "{name}: {}",
            stdout(&tested)
        );
        // Every note names its place in the export and says what happened in one sentence.
        for note in report["notes"].as_array().unwrap() {
            let pointer = note["pointer"].as_str().unwrap();
            assert!(pointer.starts_with('/'), "{name}: {note}");
            assert!(!note["message"].as_str().unwrap().is_empty(), "{name}: {note}");
        }
        rows.push(row(&name, &report));
        for (kind, key) in ["actions", "steps", "nodes"].iter().enumerate() {
            for (index, outcome) in ["exact", "approximate", "not_carried"].iter().enumerate() {
                totals[kind][index] += report[key][outcome].as_u64().unwrap();
            }
        }
        totals[3][0] += n_tests as u64;
    }
    let sum = |counts: &[u64; 3]| format!("{} / {} / {}", counts[0], counts[1], counts[2]);
    rows.push(format!(
        "| all {} exports | | {} | {} steps, {} nodes | {} |",
        rows.len(),
        sum(&totals[0]),
        sum(&totals[1]),
        sum(&totals[2]),
        totals[3][0]
    ));
    // docs/import.md shows these counts; this test keeps it true.
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/import.md")).unwrap_or_default();
    let table = rows.join("\n");
    println!("{table}");
    assert!(
        docs.contains(&table),
        "docs/import.md should hold this table (exact / approximate / not carried over):\n{table}"
    );
}

#[test]
fn an_actions_export_comes_across_in_order_with_its_transfer() {
    // Steps listed out of order, an options question with a condition on its answer, a yes/no
    // condition, a connect_to_agent with its messages, and a callout.
    let export = serde_json::json!({
        "name": "Shop",
        "type": "dialog",
        "workspace": {
            "intents": [
                {"intent": "order_intent", "examples": [{"text": "I want to order a pizza"}, {"text": "pizza please"}]},
                {"intent": "fallback_connect_to_agent", "examples": [{"text": "I would like to speak to a human"}]}
            ],
            "entities": [
                {"entity": "sizes", "values": [
                    {"type": "synonyms", "value": "Small", "synonyms": ["little"]},
                    {"type": "synonyms", "value": "Large", "synonyms": ["big"]}
                ]}
            ],
            "variables": [{"variable": "order-count", "data_type": "number", "initial_value": {"scalar": 0}}],
            "actions": [
                {"action": "order", "title": "Order a pizza", "condition": {"intent": "order_intent"}, "steps": [
                    {"step": "step_3", "output": {"generic": [{"response_type": "text", "values": [{"text": "Passing you to our pizzaiolo."}]}]},
                     "condition": {"eq": [{"variable": "step_2"}, {"scalar": "Large"}]},
                     "resolver": {"type": "connect_to_agent", "response": {
                        "agent_available": {"message": "A pizzaiolo will be with you."},
                        "agent_unavailable": {"message": "Our pizzaiolos are busy."},
                        "message_to_human_agent": "Large pizza order"}}},
                    {"step": "step_2", "output": {"generic": [{"response_type": "text", "values": [{"text_expression": {"concat": [{"scalar": "Which size?"}]}}]}]},
                     "question": {"entity": "sizes", "max_tries": 3},
                     "handlers": [{"type": "not_found", "resolver": {"type": "prompt_again"}, "output": {"generic": [{"response_type": "text", "values": [{"text": "Small or Large?"}]}]}}],
                     "resolver": {"type": "continue"}, "next_step": "step_3"},
                    {"step": "step_4", "output": {"generic": [{"response_type": "text", "values": [{"text_expression": {"concat": [{"scalar": "A "}, {"variable": "step_2"}, {"scalar": " pizza is on its way."}]}}]}]},
                     "context": {"variables": [{"skill_variable": "order-count", "value": {"expression": "${order-count} + 1"}}]},
                     "resolver": {"type": "callout", "callout": {"path": "/orders", "method": "POST", "result_variable": "step_4_result_1"}}}
                ]},
                {"action": "fallback", "title": "Fallback", "condition": {"intent": "fallback_connect_to_agent"}, "steps": [
                    {"step": "step_1", "output": {"generic": [{"response_type": "text", "values": [{"text": "Let me get someone."}]}]},
                     "condition": {"eq": [{"system_variable": "fallback_reason"}, {"scalar": "Agent requested"}]},
                     "resolver": {"type": "connect_to_agent", "response": {}}}
                ]}
            ]
        }
    });
    let input = folder(&[("shop.json", &export.to_string())]);
    let dir = input.path().join("shop");
    let report = import(&input.path().join("shop.json"), &dir);
    let action = std::fs::read_to_string(dir.join("actions/order.yaml")).unwrap();
    // `next_step` decides the order, not the list.
    let (question, transfer) = (action.find("id: step_2").unwrap(), action.find("id: step_3").unwrap());
    assert!(question < transfer, "{action}");
    for expected in [
        "condition: step_2 == 'Large'",
        "type: options",
        "synonyms:",
        "invalid: Small or Large?",
        "online: A pizzaiolo will be with you.",
        "offline: Our pizzaiolos are busy.",
        "message_to_agent: Large pizza order",
        "say: A ${step_2} pizza is on its way.",
        "order_count: order_count + 1",
        "TODO(import): Watson called a custom extension here: POST /orders",
    ] {
        assert!(action.contains(expected), "{expected:?} in:\n{action}");
    }
    let notes = report["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|note| note["pointer"] == "/workspace/actions/0/steps/2/resolver"
                && note["outcome"] == "not_carried"
                && note["message"].as_str().unwrap().contains("POST /orders")),
        "{report}"
    );
    assert_eq!(report["steps"]["not_carried"], 1, "{report}");
    // Check, and the derived tests (the action starts; a person; the options path; no no-match test,
    // since this Fallback has no step for `no_action_matches`).
    let checked = baton().arg("check").arg(&dir).output().unwrap();
    assert!(checked.status.success(), "{}", stderr(&checked));
    std::fs::write(
        dir.join("tests/large_pizza.yaml"),
        "conversation:\n  - customer: I want to order a pizza\n  - customer: big\n    assistant:\n      - Passing you to our pizzaiolo.\n      - A pizzaiolo will be with you.\n    transfer:\n      reason: planned\n      message: Large pizza order\n",
    )
    .unwrap();
    let tested = baton().arg("test").arg(&dir).output().unwrap();
    assert!(tested.status.success(), "{}{}", stdout(&tested), stderr(&tested));
    assert!(stdout(&tested).contains("4 passed, 0 failed"), "{}", stdout(&tested));
}

#[test]
fn a_dialog_export_keeps_intent_nodes_and_reports_the_rest() {
    let export = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/watson/dialog-multi-assist-primary.json");
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("primary");
    let imported = baton()
        .args(["import", "watson"])
        .arg(&export)
        .arg("-o")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(imported.status.success(), "{}", stderr(&imported));
    let out = stdout(&imported);
    assert!(out.contains("4 dialog nodes: "), "{out}");
    // The welcome node's jump_to is reported with its place.
    assert!(
        out.contains("/dialog_nodes/3/next_step [approximate] `jump_to` to `Anything else`"),
        "{out}"
    );
    let support = std::fs::read_to_string(dir.join("actions/Support.yaml")).unwrap();
    assert!(support.contains("- I want support"), "{support}");
    assert!(support.contains("say: Ok, transferring you to support."), "{support}");
}

#[test]
fn what_is_not_an_export_is_refused_and_nothing_is_written() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let long = format!(
        "{{\"workspace\": {{\"actions\": [], \"x\": \"{}\"}}}}",
        "a".repeat(2 * 1024 * 1024)
    );
    let input = folder(&[
        ("bank.yaml", "id: bank\n"),
        ("broken.json", "{\"workspace\": {\"actions\": [}"),
        ("other.json", "{\"intents\": []}"),
        ("deep.json", &deep),
        ("long.json", &long),
    ]);
    for (file, code, sentence) in [
        ("bank.yaml", "import-not-json", "the file is not JSON"),
        ("broken.json", "import-not-json", "1:28: the file is not JSON"),
        (
            "other.json",
            "import-not-an-export",
            "is not a Watson Assistant skill export",
        ),
        ("deep.json", "import-too-deep", "nests deeper than 128 levels"),
        ("long.json", "import-string-too-long", "a string is longer than 1024 KB"),
    ] {
        let output = input.path().join(format!("out-{file}"));
        let refused = baton()
            .args(["import", "watson"])
            .arg(input.path().join(file))
            .arg("-o")
            .arg(&output)
            .output()
            .unwrap();
        assert_eq!(refused.status.code(), Some(1), "{file}: {}", stderr(&refused));
        let err = stderr(&refused);
        assert!(err.contains(&format!("error[{code}]")), "{file}: {err}");
        assert!(err.contains(sentence), "{file}: {err}");
        assert_eq!(err.lines().count(), 1, "{file}: one sentence: {err}");
        assert!(!output.exists(), "{file}: nothing is written");
    }

    // A folder that is not empty is never written into.
    let export = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/watson/appconnect.json");
    let taken = folder(&[("notes.txt", "mine")]);
    let refused = baton()
        .args(["import", "watson"])
        .arg(&export)
        .arg("-o")
        .arg(taken.path())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("error[import-folder-not-empty]"),
        "{}",
        stderr(&refused)
    );
    let entries: Vec<_> = std::fs::read_dir(taken.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);
}

/// A Python with `ibm-watson`: `BATON_PYTHON`, or the virtual environment the server's SDK test
/// makes under Cargo's target folder (made here too when missing).
static SDK: Needs<PathBuf> = Needs::new("imported-assistant SDK test", "import::sdk_", programs::sdk_python);

#[test]
fn sdk_drives_an_imported_assistant_to_its_transfer() {
    let Some(python) = SDK.get() else {
        return;
    };
    let export = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/watson/language-model-watsonx.json");
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("watsonx");
    import(&export, &dir);

    // What Watson answered to an agent request: the Fallback step for "Agent requested".
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let fallback = json["workspace"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|action| action["action"] == "fallback")
        .unwrap();
    let step = fallback["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|step| step["condition"]["eq"][1]["scalar"] == "Agent requested")
        .unwrap();
    let text = step["output"]["generic"][0]["values"][0]["text"].as_str().unwrap();
    let response = &step["resolver"]["response"];
    let online = response["agent_available"]["message"].as_str().unwrap();
    let offline = response["agent_unavailable"]["message"].as_str().unwrap();

    let database = format!("sqlite://{}", parent.path().join("baton.db").display());
    let created = baton()
        .args(["apikey", "create", "--name", "sdk", "--database", &database])
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", stderr(&created));
    let key = stdout(&created).trim().to_owned();
    let mut server = baton()
        .arg("serve")
        .arg(&dir)
        .args(["--listen", "127.0.0.1:0", "--database", &database])
        .env("BATON_DEV", "false")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = std::io::BufReader::new(server.stderr.take().unwrap());
    let (found, address) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in lines.lines().map_while(Result::ok) {
            if let Some(at) = line.strip_prefix("baton: serving on ") {
                let _ = found.send(at.to_owned());
            }
        }
    });
    let address = address
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the server says where it listens");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/imported_transfer.py");
    let output = std::process::Command::new(python)
        .arg(&script)
        .arg(&address)
        .arg(&key)
        .arg("watsonx_extension_sample_actions")
        .arg("I would like to speak to a human")
        .args([text, online, offline])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("imported assistant reached the transfer"));
}

#[test]
fn when_no_test_can_be_derived_a_baseline_keeps_baton_test_passing() {
    // The greeting asks a question, so the customer's first message would answer it: the import
    // cannot predict any conversation.
    let export = serde_json::json!({
        "workspace": {
            "intents": [{"intent": "hours", "examples": [{"text": "when are you open"}]}],
            "actions": [
                {"action": "welcome", "steps": [{"step": "step_1", "question": {"free_text": true},
                    "output": {"generic": [{"response_type": "text", "values": [{"text": "Hello! What is your name?"}]}]}}]},
                {"action": "hours", "condition": {"intent": "hours"}, "steps": [{"step": "step_1",
                    "output": {"generic": [{"response_type": "text", "values": [{"text": "We open at 9."}]}]}}]}
            ]
        }
    });
    let input = folder(&[("export.json", &export.to_string())]);
    let dir = input.path().join("out");
    let report = import(&input.path().join("export.json"), &dir);
    assert_eq!(report["tests"], serde_json::json!(["tests/greeting.yaml"]), "{report}");
    assert!(
        report["tests_not_written"][0]
            .as_str()
            .unwrap()
            .contains("the greeting asks a question"),
        "{report}"
    );
    let tested = baton().arg("test").arg(&dir).output().unwrap();
    assert!(tested.status.success(), "{}{}", stdout(&tested), stderr(&tested));
    assert!(stdout(&tested).contains("1 passed, 0 failed"), "{}", stdout(&tested));
}
