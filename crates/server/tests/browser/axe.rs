//! Accessibility checks with axe-core: the vendored `axe/axe.min.js` (4.14, MPL-2.0, see
//! `axe/README.md`) inlined into the page over WebDriver, then run against the whole document
//! for WCAG 2.0 and 2.1 levels A and AA plus axe's best practices.
//!
//! A violation of serious or critical impact fails the test, listing each one with its rule,
//! help text and the elements concerned. Moderate and minor findings are listed beside them to
//! help whoever reads the failure, but do not fail the test on their own.
//!
//! Inlining through WebDriver rather than a `<script>` tag keeps the pages as they are served and
//! works under the console's Content-Security-Policy, which refuses inline and foreign scripts;
//! no network is needed.

use serde_json::{Value, json};

use crate::support::Browser;

/// axe-core itself, as published on npm.
const AXE: &str = include_str!("axe/axe.min.js");

/// The rule sets run: WCAG 2.0 and 2.1, A and AA, and best practices.
const TAGS: [&str; 5] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

/// The impacts that fail a test.
const FAILING: [&str; 2] = ["serious", "critical"];

/// Runs axe-core over the page `browser` shows and panics, naming `what` (the page and its state),
/// when it finds a violation of serious or critical impact.
pub async fn assert_accessible(browser: &Browser, what: &str) {
    let violations = audit(browser, what).await;
    let failing = violations
        .iter()
        .any(|violation| FAILING.contains(&violation["impact"].as_str().unwrap_or_default()));
    assert!(
        !failing,
        "axe-core found violations of serious or critical impact in {what}:\n{}",
        describe(&violations)
    );
}

/// The violations axe-core finds in the page, as `{id, impact, help, helpUrl, nodes: [{target,
/// summary}]}`.
async fn audit(browser: &Browser, what: &str) -> Vec<Value> {
    // The source defines `window.axe` when run as a function body, which is how WebDriver runs it.
    let loaded = browser
        .script(&format!("{AXE}\n;return typeof window.axe === 'object';"), Vec::new())
        .await;
    assert_eq!(loaded, json!(true), "axe-core did not load into {what}");
    let run = "const [tags, done] = [arguments[0], arguments[arguments.length - 1]];
        window.axe
          .run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
          .then((results) => done({violations: results.violations.map((violation) => ({
              id: violation.id,
              impact: violation.impact,
              help: violation.help,
              helpUrl: violation.helpUrl,
              nodes: violation.nodes.map((node) => ({target: node.target, summary: node.failureSummary})),
            }))}))
          .catch((error) => done({error: String(error)}));";
    let answer = browser
        .client
        .execute_async(run, vec![json!(TAGS)])
        .await
        .unwrap_or_else(|error| panic!("running axe-core in {what}: {error}"));
    if let Some(error) = answer.get("error") {
        panic!("axe-core failed in {what}: {error}");
    }
    answer["violations"]
        .as_array()
        .unwrap_or_else(|| panic!("axe-core's answer in {what} has no violations list: {answer}"))
        .clone()
}

/// One paragraph per violation: id, impact, help (with its link) and each element's selector
/// with axe's summary of what to fix.
fn describe(violations: &[Value]) -> String {
    let mut text = String::new();
    for violation in violations {
        text.push_str(&format!(
            "- {} ({}): {} <{}>\n",
            violation["id"].as_str().unwrap_or("?"),
            violation["impact"].as_str().unwrap_or("no impact"),
            violation["help"].as_str().unwrap_or_default(),
            violation["helpUrl"].as_str().unwrap_or_default(),
        ));
        for node in violation["nodes"].as_array().into_iter().flatten() {
            let summary = node["summary"].as_str().unwrap_or_default().replace('\n', "\n      ");
            text.push_str(&format!("    {}\n      {summary}\n", node["target"]));
        }
    }
    text
}
