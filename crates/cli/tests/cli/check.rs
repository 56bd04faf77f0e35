//! `baton check`.

use crate::{baton, example, folder, stderr, stdout};

#[test]
fn the_examples_pass_with_a_summary() {
    for (name, summary_start) in [("bank", "bank: 18 actions, "), ("telecom", "telecom: 6 actions, ")] {
        let output = baton().arg("check").arg(example(name)).output().unwrap();
        let out = stdout(&output);
        assert!(output.status.success(), "{name}: {}{}", out, stderr(&output));
        assert!(out.starts_with(summary_start), "{out}");
        assert!(out.trim_end().ends_with("examples — ok"), "{out}");
    }
}

#[test]
fn a_broken_assistant_fails_with_every_problem_and_its_place() {
    let dir = folder(&[
        ("assistant.yaml", "name: Broken\n"),
        (
            "actions/pay.yaml",
            "id: pay\nexamples:\n  - pay my bill\nsteps:\n  - say: Paying.\n    then:\n      reask: [nowhere]\n  - say: ok\n    condition: amount >\n",
        ),
    ]);
    let output = baton().arg("check").arg(dir.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    let file = dir.path().join("actions/pay.yaml");
    let file = file.display();
    assert!(err.contains(&format!("{file}:7:15: error[unknown-step]: ")), "{err}");
    assert!(err.contains(&format!("{file}:9:23: error[bad-expression]: ")), "{err}");
    assert!(stdout(&output).is_empty(), "no summary for a broken assistant");
}

#[test]
fn a_missing_folder_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let output = baton()
        .arg("check")
        .arg(dir.path().join("nothing here"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("error["), "{}", stderr(&output));
}
