//! A small YAML tree that remembers where each node is, for reading conversation test files.
//!
//! The assistant loader has its own reader; this one exists because test files are the CLI's format,
//! and every problem in them must be reported with its line and column.
//! JSON is read by the same parser (JSON is YAML), so test files may be written in either.

use std::fmt;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One node of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub position: Position,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A scalar and whether it was quoted (a quoted `"12"` is text, a plain `12` may be a number).
    Scalar {
        text: String,
        quoted: bool,
    },
    Sequence(Vec<Node>),
    /// Entries in document order.
    Mapping(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar's text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// True for a plain `~`, `null` or empty scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, quoted: false } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// What the node is, for error messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Scalar { .. } if self.is_null() => "nothing",
            Kind::Scalar { .. } => "a single value",
            Kind::Sequence(_) => "a list",
            Kind::Mapping(_) => "a mapping",
        }
    }
}

/// A syntax error with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub position: Position,
    pub message: String,
}

/// Parses one document; an empty document is `Ok(None)`.
pub fn parse(source: &str) -> Result<Option<Node>, SyntaxError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(source);
    if let Err(error) = parser.load(&mut builder, false) {
        let marker = error.marker();
        return Err(SyntaxError {
            position: position(marker),
            message: error.info().to_owned(),
        });
    }
    if let Some(message) = builder.error {
        return Err(SyntaxError {
            position: builder.error_position,
            message,
        });
    }
    Ok(builder.root)
}

fn position(marker: &Marker) -> Position {
    // yaml-rust2 counts lines from 1 and columns from 0.
    Position {
        line: marker.line().max(1),
        column: marker.col() + 1,
    }
}

/// Builds the tree from parser events. Anchors and aliases are refused: test files have no use for them.
#[derive(Default)]
struct Builder {
    stack: Vec<Node>,
    /// For each open mapping on `stack`, the key waiting for its value.
    keys: Vec<Option<Node>>,
    root: Option<Node>,
    error: Option<String>,
    error_position: Position,
}

impl Builder {
    fn push_value(&mut self, node: Node) {
        let Some(parent) = self.stack.last_mut() else {
            if self.root.is_none() {
                self.root = Some(node);
            }
            return;
        };
        match &mut parent.kind {
            Kind::Sequence(items) => items.push(node),
            Kind::Mapping(entries) => {
                let slot = self.keys.last_mut().expect("every open mapping has a key slot");
                match slot.take() {
                    Some(key) => entries.push((key, node)),
                    None => *slot = Some(node),
                }
            }
            Kind::Scalar { .. } => {}
        }
    }

    fn fail(&mut self, position: Position, message: &str) {
        if self.error.is_none() {
            self.error = Some(message.to_owned());
            self.error_position = position;
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, marker: Marker) {
        let position = position(&marker);
        match event {
            Event::Scalar(text, style, _, _) => {
                let quoted = !matches!(style, TScalarStyle::Plain);
                self.push_value(Node {
                    kind: Kind::Scalar { text, quoted },
                    position,
                });
            }
            Event::SequenceStart(_, _) => self.stack.push(Node {
                kind: Kind::Sequence(Vec::new()),
                position,
            }),
            Event::MappingStart(_, _) => {
                self.stack.push(Node {
                    kind: Kind::Mapping(Vec::new()),
                    position,
                });
                self.keys.push(None);
            }
            Event::SequenceEnd => {
                if let Some(node) = self.stack.pop() {
                    self.push_value(node);
                }
            }
            Event::MappingEnd => {
                self.keys.pop();
                if let Some(mut node) = self.stack.pop() {
                    // yaml-rust2 places a block mapping's start after its first key; the first key
                    // is where a reader looks for the mapping.
                    if let Kind::Mapping(entries) = &node.kind
                        && let Some((key, _)) = entries.first()
                    {
                        node.position = key.position;
                    }
                    self.push_value(node);
                }
            }
            Event::Alias(_) => self.fail(position, "aliases (*name) are not supported in test files"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_positions() {
        let node = parse("name: x\nconversation:\n  - customer: hi\n").unwrap().unwrap();
        let Kind::Mapping(entries) = &node.kind else {
            panic!("not a mapping")
        };
        let (key, value) = &entries[1];
        assert_eq!(key.as_str(), Some("conversation"));
        assert_eq!(key.position, Position { line: 2, column: 1 });
        let Kind::Sequence(items) = &value.kind else {
            panic!("not a list")
        };
        let Kind::Mapping(turn) = &items[0].kind else {
            panic!("not a mapping")
        };
        assert_eq!(turn[0].1.position, Position { line: 3, column: 15 });
    }

    #[test]
    fn reads_json_and_reports_syntax_errors() {
        let node = parse(r#"{"name": "x", "conversation": [{"customer": "12"}]}"#)
            .unwrap()
            .unwrap();
        assert!(matches!(node.kind, Kind::Mapping(_)));
        let error = parse("name: [unclosed\n").unwrap_err();
        assert!(error.position.line >= 1, "{error:?}");
        assert_eq!(parse("").unwrap(), None);
    }
}
