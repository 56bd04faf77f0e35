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

#[test]
fn probe() {
    let yaml = "actions:\n  - id: pay\n    examples: [pay]\n    steps:\n      - sya: hi\n        then: ends\n      - question: {type: numbr, min: one}\n      - say: [{option: 1}]\n        then: {go_to: {actoin: y}}\n      - condition: amount > 5 and lenght(x) > 2\n        say: Hi ${custmer}\n";
    for line in diagnostics(yaml) {
        println!("{line}");
    }
}
