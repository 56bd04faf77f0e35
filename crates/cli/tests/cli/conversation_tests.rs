//! `baton test`.

use crate::{baton, example, folder, stdout};

#[test]
fn the_bank_and_telecom_tests_pass() {
    for name in ["bank", "telecom"] {
        let output = baton().arg("test").arg(example(name)).output().unwrap();
        let out = stdout(&output);
        assert!(output.status.success(), "{name}:\n{out}");
        assert!(out.trim_end().ends_with(" passed, 0 failed"), "{out}");
        assert!(!out.contains("FAIL"), "{out}");
    }
}

const ASSISTANT: &str = "\
name: Tiny
system:
  greet:
    steps:
      - say: Hello!
";

const PAY: &str = "\
id: pay_bill
examples: [I want to pay my bill, pay my bill, bill payment, settle my bill]
steps:
  - say: Billing can help.
    then:
      connect_to_agent:
        queue: billing
        message_to_agent: Wants to pay.
";

const HOURS: &str = "\
id: hours
examples: [when are you open, opening hours, what time do you close, are you open today]
steps:
  - say: We're open 9 to 5.
";

const PASSING: &str = "\
name: Paying works
conversation:
  - assistant: Hello!
  - customer: I want to pay my bill
    action: pay_bill
    assistant: [Billing can help., Let's send you to an available agent]
    transfer: {reason: planned, queue: billing, message: Wants to pay.}
";

const FAILING: &str = "\
name: Wrong hours
conversation:
  - customer: when are you open
    action: hours
    assistant: We're open 8 to 6.
    no_transfer: true
  - customer: I want to pay my bill
    transfer:
      queue: sales
";

#[test]
fn a_failing_test_prints_the_place_and_a_diff_and_fails() {
    let dir = folder(&[
        ("assistant.yaml", ASSISTANT),
        ("actions/pay_bill.yaml", PAY),
        ("actions/hours.yaml", HOURS),
        ("tests/a_passing.yaml", PASSING),
        ("tests/b_failing.yaml", FAILING),
        (
            "tests/c_bad.yaml",
            "conversation:\n  - customer: hi\n    asistant: Hello\n",
        ),
    ]);
    let output = baton().arg("test").arg(dir.path()).output().unwrap();
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    let failing = dir.path().join("tests/b_failing.yaml");
    let failing = failing.display();
    assert!(out.contains("ok   Paying works"), "{out}");
    assert!(out.contains(&format!("FAIL Wrong hours ({failing})")), "{out}");
    assert!(
        out.contains(&format!(
            "{failing}:5:5: the assistant said something else (see the diff)"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{failing}:8:5: the transfer differs: got reason=planned queue=billing"
        )),
        "{out}"
    );
    assert!(out.contains("--- expected\n  +++ actual\n"), "{out}");
    assert!(
        out.contains(
            "\n   customer: when are you open\n  -assistant: We're open 8 to 6.\n  +assistant: We're open 9 to 5.\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("\n  -[Connect to an agent] reason=planned queue=sales message=\"Wants to pay.\"\n  +[Connect to an agent] reason=planned queue=billing message=\"Wants to pay.\"\n"),
        "{out}"
    );
    let bad = dir.path().join("tests/c_bad.yaml");
    assert!(
        out.contains(&format!(
            "{}:3:5: error[bad-test]: unknown key `asistant`",
            bad.display()
        )),
        "{out}"
    );
    assert!(out.trim_end().ends_with("1 passed, 2 failed"), "{out}");
}

#[test]
fn a_folder_without_tests_fails() {
    let dir = folder(&[("assistant.yaml", ASSISTANT), ("actions/hours.yaml", HOURS)]);
    let output = baton().arg("test").arg(dir.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
}
