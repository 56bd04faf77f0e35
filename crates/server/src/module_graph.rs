//! Holds the server's modules to the layout ARCHITECTURE.md describes, by reading their source:
//! the modules' imports form a graph without cycles (the crate's top-level modules, and the
//! conversation's own modules), and the conversation uses nothing of HTTP or the wire format.
//!
//! A module's dependencies are the paths it names: `crate::x` (also inside `use crate::{x, y}`)
//! and, inside `conversation/`, `super::x`. The roots that declare modules (`lib.rs`,
//! `conversation/mod.rs`) are left out: every module may name what they define.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What the conversation may use from the rest of the crate.
const CONVERSATION_MAY_USE: [&str; 5] = ["assistants", "clock", "config", "desks", "metrics"];

/// The first segments of every `prefix::…` path in `source`, with `{a, b::c}` groups spread.
fn named_after(source: &str, prefix: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in source.match_indices(prefix) {
        // `crate::` must not be the tail of another name (`baton_crate::`).
        let before = source[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &source[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != "self" {
                    names.insert(name);
                }
            }
            continue;
        }
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            names.insert(name);
        }
    }
    names
}

/// Every `.rs` file under `dir`, as (module name, source).
fn modules(dir: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("reading the source folder") {
        let path = entry.expect("a folder entry").path();
        if path.extension().is_some_and(|extension| extension == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let source = std::fs::read_to_string(&path).expect("reading a module");
            // Tests inside a module name their own parent as `super`.
            let source = match source.find("#[cfg(test)]\nmod tests") {
                Some(at) => source[..at].to_owned(),
                None => source,
            };
            found.insert(name, source);
        }
    }
    found
}

/// A cycle in `graph`, if it has one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|seen| seen == node) {
            let mut found = path[start..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

fn source_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_crates_modules_import_each_other_without_a_cycle() {
    let top = modules(&source_dir());
    let conversation = modules(&source_dir().join("conversation"));
    let names: BTreeSet<String> = top.keys().cloned().chain(["conversation".to_owned()]).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let files = top
        .iter()
        .filter(|(name, _)| name.as_str() != "lib")
        .map(|(name, source)| (name.clone(), source))
        .chain(conversation.values().map(|source| ("conversation".to_owned(), source)));
    for (name, source) in files {
        let uses: Vec<String> = named_after(source, "crate::")
            .into_iter()
            .filter(|used| names.contains(used) && *used != name)
            .collect();
        graph.entry(name).or_default().extend(uses);
    }
    assert!(
        graph.contains_key("api") && graph["api"].contains("conversation"),
        "{graph:?}"
    );
    assert_eq!(cycle(&graph), None, "{graph:#?}");
}

#[test]
fn the_conversations_modules_import_each_other_without_a_cycle() {
    let conversation = modules(&source_dir().join("conversation"));
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, source) in conversation.iter().filter(|(name, _)| name.as_str() != "mod") {
        let uses = named_after(source, "super::")
            .into_iter()
            .filter(|used| conversation.contains_key(used) && used != "mod" && used != name);
        graph.entry(name.clone()).or_default().extend(uses);
    }
    assert!(graph["turn"].contains("transfer"), "{graph:?}");
    assert_eq!(cycle(&graph), None, "{graph:#?}");
}

#[test]
fn the_conversation_knows_neither_http_nor_the_wire_format() {
    for (name, source) in modules(&source_dir().join("conversation")) {
        assert!(!source.contains("axum"), "conversation/{name}.rs names axum");
        for used in named_after(&source, "crate::") {
            assert!(
                CONVERSATION_MAY_USE.contains(&used.as_str()) || used == "conversation",
                "conversation/{name}.rs uses crate::{used}"
            );
        }
    }
}

#[test]
fn reading_paths_spreads_groups_and_skips_longer_names() {
    let source =
        "use crate::{access, agents::x, self};\nuse baton_crate::y;\nfn f() { crate::web::page(); super::pump::z(); }";
    assert_eq!(
        named_after(source, "crate::"),
        ["access", "agents", "web"].map(String::from).into()
    );
    assert_eq!(named_after(source, "super::"), ["pump"].map(String::from).into());
    let graph = BTreeMap::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    assert_eq!(
        cycle(&graph),
        Some(vec!["a".to_owned(), "b".to_owned(), "a".to_owned()])
    );
}
