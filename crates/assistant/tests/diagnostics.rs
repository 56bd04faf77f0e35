//! One test per diagnostic kind: code, line:column and message.

use baton_assistant::{Severity, load_str};

/// Loads `yaml` and renders its diagnostics as `line:column severity[code] message` lines.
fn diagnostics(yaml: &str) -> Vec<String> {
    load_str("assistant.yaml", yaml)
        .diagnostics
        .iter()
        .map(|diagnostic| {
            let severity = match diagnostic.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            format!(
                "{}:{} {severity}[{}] {}",
                diagnostic.line, diagnostic.column, diagnostic.code, diagnostic.message
            )
        })
        .collect()
}

const CASES: &[(&str, &str)] = &[
    (
        "unknown-field",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - sya: hi\n",
    ),
    (
        "unknown-field-root",
        "nmae: Bank\nactions:\n  - id: pay\n    examples: [pay]\n",
    ),
    ("missing-field", "actions:\n  - examples: [pay]\n    steps: []\n"),
    (
        "wrong-type",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - question: {type: number, min: one}\n",
    ),
    (
        "bad-value-enum",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - question: {type: numbr}\n",
    ),
    (
        "bad-value-then",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - then: ends\n",
    ),
    (
        "wrong-form-say",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - say: [{option: 1}]\n",
    ),
    ("bad-yaml", "actions:\n  - id: pay\n    examples: [pay\n  - id: x\n"),
    (
        "duplicate-key",
        "name: a\nname: b\nactions:\n  - id: pay\n    examples: [pay]\n",
    ),
    (
        "duplicate-action",
        "actions:\n  - id: pay\n    examples: [pay]\n  - id: pay\n    examples: [pay it]\n",
    ),
    (
        "duplicate-step",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - id: ask\n        say: a\n      - id: ask\n        say: b\n",
    ),
    ("bad-id", "actions:\n  - id: pay-bill\n    examples: [pay]\n"),
    (
        "unknown-action",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - then: {go_to: {action: checkk}}\n  - id: check\n    examples: [check]\n",
    ),
    (
        "unknown-step",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - id: amount\n        question: {type: number}\n      - then: {reask: [amout]}\n",
    ),
    (
        "unknown-variable",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - id: amount\n        question: {type: number}\n      - condition: amout > 5\n        say: Paid ${amount} to ${payee}\n",
    ),
    (
        "unknown-variable-function",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - condition: today > '2026-01-01'\n",
    ),
    (
        "bad-expression",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - condition: lenght(turn_count) > 3\n      - condition: (turn_count > 1\n",
    ),
    (
        "bad-expression-block",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - condition: >-\n          turn_count >\n",
    ),
    (
        "bad-template",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - say: \"Hello ${user_id\"\n",
    ),
    (
        "bad-set",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - set:\n          total: turn_count * \n",
    ),
    (
        "bad-pattern",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - question: {type: regex, pattern: '[a-z'}\n",
    ),
    (
        "missing-pattern",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - question: {type: regex}\n",
    ),
    (
        "no-options",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - question:\n          type: options\n",
    ),
    (
        "min-greater-than-max",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - question: {type: number, min: 10, max: 1}\n",
    ),
    (
        "bad-initial",
        "variables:\n  count:\n    type: number\n    initial: three\n  since:\n    type: date\n    initial: '2026-13-01'\nactions:\n  - id: pay\n    examples: [pay]\n",
    ),
    (
        "go-to-cycle",
        "actions:\n  - id: a\n    examples: [a]\n    steps:\n      - then: {go_to: {action: b}}\n  - id: b\n    examples: [b]\n    steps:\n      - then: {go_to: {action: a}}\n",
    ),
    (
        "no-cycle-without-return",
        "actions:\n  - id: a\n    examples: [a]\n    steps:\n      - then: {go_to: {action: b}}\n  - id: b\n    examples: [b]\n    steps:\n      - then: {go_to: {action: a, return: false}}\n",
    ),
    (
        "unreachable-step",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - say: bye\n        then: end\n      - say: never\n",
    ),
    (
        "no-examples",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - then: {go_to: {action: helper}}\n  - id: helper\n    steps:\n      - say: hi\n",
    ),
    (
        "unreachable-action",
        "actions:\n  - id: pay\n    examples: [pay]\n  - id: orphan\n    steps:\n      - say: hi\n",
    ),
    (
        "duplicate-example",
        "counterexamples:\n  - what's the weather\n  - Pay my bill!\nactions:\n  - id: pay\n    examples:\n      - pay my bill\n      - settle my bill\n      - Pay  my BILL.\n  - id: card\n    examples:\n      - order a card\n      - settle my bill\n",
    ),
    ("empty-assistant", "name: Empty\n"),
    (
        "bad-setting",
        "settings:\n  confidence_threshold: 1.5\nactions:\n  - id: pay\n    examples: [pay]\n",
    ),
    (
        "bad-timezone",
        "timezone: Mars/Olympus\nactions:\n  - id: pay\n    examples: [pay]\n",
    ),
    (
        "bad-locale",
        "locale: english\nactions:\n  - id: pay\n    examples: [pay]\n",
    ),
    ("multiple-documents", "actions: []\n---\nname: x\n"),
    (
        "built-in-variable",
        "variables:\n  now:\n    type: text\nactions:\n  - id: pay\n    examples: [pay]\n",
    ),
    (
        "empty-reask",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - then: {reask: []}\n",
    ),
    (
        "reask-without-question",
        "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - id: hello\n        say: hi\n      - then: {reask: [hello]}\n",
    ),
    ("root-not-a-mapping", "- id: pay\n"),
    (
        "everything-at-once",
        "variables:\n  total:\n    type: numbr\nactions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - sya: hi\n      - condition: total > 5 and lenght(x) > 2\n        say: Hi ${custmer}\n      - then: {go_to: {action: nowhere}}\n",
    ),
];

const EXPECTED: &[(&str, &[&str])] = &[
    (
        "unknown-field",
        &[
            "5:9 error[unknown-field] unknown field `sya` in step 1; did you mean `say`? Expected one of: id, condition, say, question, set, then, settings",
        ],
    ),
    (
        "unknown-field-root",
        &[
            "1:1 error[unknown-field] unknown field `nmae` in the assistant file; did you mean `name`? Expected one of: id, name, description, locale, timezone, settings, variables, counterexamples, system, actions, voice",
        ],
    ),
    (
        "missing-field",
        &["2:5 error[missing-field] action 1 is missing the required field `id`"],
    ),
    (
        "wrong-type",
        &["5:39 error[wrong-type] `min` must be a number, found text `one`"],
    ),
    (
        "bad-value-enum",
        &[
            "5:26 error[bad-value] `type` must be one of: free_text, number, currency, percentage, date, time, yes_no, options, regex, email, phone; found text `numbr`; did you mean `number`?",
        ],
    ),
    (
        "bad-value-then",
        &[
            "5:15 error[bad-value] `then` must be `continue`, `end`, `connect_to_agent`, `hang_up` or a mapping with one of `reask`, `go_to`, `connect_to_agent`; found text `ends`; did you mean `end`?",
        ],
    ),
    (
        "wrong-form-say",
        &[
            "5:15 error[wrong-form] item 1 of `say` must be a mapping with one of `text`, `options`, `link`, `pause`, `channels`; found a mapping with `option`; did you mean `options`?",
        ],
    ),
    (
        "bad-yaml",
        &["4:7 error[bad-yaml] the file is not valid YAML: illegal placement of ':' indicator"],
    ),
    (
        "duplicate-key",
        &["2:1 error[duplicate-key] duplicate key `name`; each key may appear only once in a mapping"],
    ),
    (
        "duplicate-action",
        &["4:9 error[duplicate-action] duplicate action id `pay`; it is first defined at assistant.yaml:2:9"],
    ),
    (
        "duplicate-step",
        &["7:13 error[duplicate-step] duplicate step id `ask`; step ids must be unique within an action"],
    ),
    (
        "bad-id",
        &["2:9 error[bad-id] action id `pay-bill` may contain only letters, digits and underscores"],
    ),
    (
        "unknown-action",
        &["5:32 error[unknown-action] unknown action `checkk` in go_to; did you mean `check`?"],
    ),
    (
        "unknown-step",
        &["7:24 error[unknown-step] unknown step `amout` in reask; did you mean `amount`?"],
    ),
    (
        "unknown-variable",
        &[
            "7:20 error[unknown-variable] unknown variable `amout`; did you mean `amount`?",
            "8:34 error[unknown-variable] unknown variable `payee`; declare it under `variables:` in assistant.yaml, or collect it with a question",
        ],
    ),
    (
        "unknown-variable-function",
        &["5:20 error[unknown-variable] unknown variable `today`; did you mean the function `today()`?"],
    ),
    (
        "bad-expression",
        &[
            "5:20 error[bad-expression] invalid expression: unknown function `lenght`; did you mean `length`?",
            "6:20 error[bad-expression] invalid expression: unbalanced parenthesis: `(` at offset 0 is never closed",
        ],
    ),
    (
        "bad-expression-block",
        &["6:11 error[bad-expression] invalid expression: the expression ends too early: expected a value after `>`"],
    ),
    (
        "bad-template",
        &["5:21 error[bad-template] invalid `${…}` in text: unclosed `${` at offset 6: add `}` after the expression"],
    ),
    (
        "bad-set",
        &["6:29 error[bad-expression] invalid expression: the expression ends too early: expected a value after `*`"],
    ),
    (
        "bad-pattern",
        &["5:42 error[bad-pattern] `pattern` is not a valid regular expression: unclosed character class"],
    ),
    (
        "missing-pattern",
        &["5:19 error[missing-pattern] a `regex` question needs a `pattern`"],
    ),
    (
        "no-options",
        &["6:11 error[no-options] an `options` question needs a list of `options` to choose from"],
    ),
    (
        "min-greater-than-max",
        &["5:39 error[min-greater-than-max] `min` (10) is greater than `max` (1), so no answer can be accepted"],
    ),
    (
        "bad-initial",
        &[
            "4:14 error[bad-initial] the initial value of `count` must be a number, found text `three`",
            "7:14 error[bad-initial] the initial value of `since` must be a date written YYYY-MM-DD, found text `2026-13-01`",
        ],
    ),
    (
        "go-to-cycle",
        &[
            "9:23 error[go-to-cycle] go-to cycle: a → b → a; every go_to here returns, so the conversation would never end",
        ],
    ),
    ("no-cycle-without-return", &[]),
    (
        "unreachable-step",
        &[
            "7:9 warning[unreachable-step] step `step_2` can never run: step `step_1` always leaves the action (`then: end`)",
        ],
    ),
    (
        "no-examples",
        &["6:5 warning[no-examples] action `helper` has no examples, so it can only be reached by go_to"],
    ),
    (
        "unreachable-action",
        &[
            "4:5 error[unreachable-action] action `orphan` has no examples and no go_to leads to it, so it can never run",
        ],
    ),
    (
        "duplicate-example",
        &[
            "3:5 warning[duplicate-example] counterexample \"Pay my bill!\" is also an example of action `pay` (assistant.yaml:7:9): it cannot both match it and match nothing",
            "9:9 warning[duplicate-example] example \"Pay  my BILL.\" repeats an example of this action (assistant.yaml:7:9); once is enough",
            "13:9 warning[duplicate-example] example \"settle my bill\" is also an example of action `pay` (assistant.yaml:8:9): the same words cannot point to both; keep it in one",
        ],
    ),
    (
        "empty-assistant",
        &["1:1 error[empty-assistant] the assistant has no actions; add a file under actions/ or an `actions:` list"],
    ),
    (
        "bad-setting",
        &["2:25 error[bad-setting] `confidence_threshold` must be between 0 and 1, found 1.5"],
    ),
    (
        "bad-timezone",
        &[
            "1:11 error[bad-timezone] `Mars/Olympus` is not a time zone; use an IANA name such as `Europe/London` or an offset such as `+02:00`",
        ],
    ),
    (
        "bad-locale",
        &["1:9 error[bad-locale] `english` is not a locale; use a BCP 47 tag such as `en-US`, `en-GB` or `de-DE`"],
    ),
    (
        "multiple-documents",
        &["2:1 error[multiple-documents] a file holds one document; remove the second `---`"],
    ),
    (
        "built-in-variable",
        &["2:3 error[built-in-variable] `now` is a built-in variable and cannot be declared"],
    ),
    (
        "empty-reask",
        &["5:23 error[empty-reask] `reask` needs the ids of the steps to ask again"],
    ),
    (
        "reask-without-question",
        &["7:24 warning[reask-without-question] step `hello` asks no question, so reasking it does nothing"],
    ),
    (
        "root-not-a-mapping",
        &["1:1 error[wrong-type] the file must be a mapping, found a list"],
    ),
    (
        "everything-at-once",
        &[
            "3:11 error[bad-value] `type` must be one of: text, number, currency, percentage, date, time, boolean, any; found text `numbr`; did you mean `number`?",
            "8:9 error[unknown-field] unknown field `sya` in step 1; did you mean `say`? Expected one of: id, condition, say, question, set, then, settings",
            "9:34 error[bad-expression] invalid expression: unknown function `lenght`; did you mean `length`?",
            "10:19 error[unknown-variable] unknown variable `custmer`; declare it under `variables:` in assistant.yaml, or collect it with a question",
            "11:32 error[unknown-action] unknown action `nowhere` in go_to",
        ],
    ),
];

#[test]
fn each_diagnostic_kind_has_its_code_place_and_sentence() {
    assert_eq!(CASES.len(), EXPECTED.len());
    for ((name, yaml), (expected_name, expected)) in CASES.iter().zip(EXPECTED) {
        assert_eq!(name, expected_name);
        assert_eq!(diagnostics(yaml), *expected, "case {name}");
    }
}

#[test]
fn the_phone_channel_settings_are_checked() {
    let yaml = r#"voice:
  language: english please
  timeout_secs: 0
  transfer:
    sip: support@pbx.example.com
    number: "+1555"
    headers: {Foo: bar}
actions:
  - id: pay
    examples: [pay my bill]
    steps:
      - say:
          channels:
            web: Hello.
            voice: [{channels: {web: Hi.}}]
        question: {type: number, dtmf: {max_digits: 0, terminator: x}}
      - say: Bye.
        then:
          connect_to_agent:
            voice: {flex_workflow: WW1, on_failure: hang_up}
"#;
    assert_eq!(
        diagnostics(yaml),
        [
            "2:13 error[bad-voice-language] `language` \"english please\" is not a language tag such as `en-US`",
            "3:17 error[bad-voice-timeout] `timeout_secs` is 0; it must be between 1 and 60 seconds",
            "5:5 error[several-voice-targets] give one of `sip`, `number` and `flex_workflow`, not several",
            "5:10 error[bad-sip-uri] `sip` \"support@pbx.example.com\" is not a SIP URI such as `sip:support@pbx.example.com`",
            "6:13 error[bad-phone-number] `number` \"+1555\" is not a phone number in E.164 form such as `+15551234567`",
            "7:15 error[bad-sip-header] SIP header \"Foo\": a carrier passes only headers named `X-…` (letters, digits, `-`) and `User-to-User`",
            "15:21 error[nested-channels] `channels` cannot hold another `channels`: give each channel's wording directly",
            "16:53 error[bad-max-digits] `max_digits` is 0; it must be between 1 and 64",
            "16:68 error[bad-terminator] `terminator` 'x' is not a keypad key: use a digit, `*` or `#`",
        ]
    );
}

#[test]
fn a_valid_phone_channel_loads() {
    let yaml = r#"voice:
  language: en-GB
  voice: Polly.Amy
  timeout_secs: 8
  transfer:
    sip: sip:support@pbx.example.com
    headers: {X-Line: retail, User-to-User: "00ff;encoding=hex"}
    on_failure: continue
    failure_message: Sorry.
actions:
  - id: pay
    examples: [pay my bill]
    steps:
      - say:
          channels:
            web: "See [rates](https://example.com)."
            voice: Our rates are on our website.
        question: {type: number, dtmf: {max_digits: 4, terminator: "*"}}
      - then: hang_up
"#;
    let loaded = load_str("assistant.yaml", yaml);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let assistant = loaded.assistant.expect("loads");
    assert_eq!(assistant.voice.language.as_deref(), Some("en-GB"));
    let transfer = assistant.voice_transfer(true, Some("pay"), Some("step_2"));
    assert_eq!(transfer.sip.as_deref(), Some("sip:support@pbx.example.com"));
}
