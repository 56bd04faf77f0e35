//! A YAML (or JSON) file read into a `serde_json::Value` plus the source position of every node.
//!
//! yaml-rust2's event parser is driven by hand with an explicit stack rather than its recursive
//! loader, so nesting depth and alias expansion are bounded and no input can overflow the stack
//! or exhaust memory. Positions are kept per JSON pointer (`/actions/0/steps/1/say`), which is
//! also how the schema validator names places, so every diagnostic can point at a line and column.

use std::collections::HashMap;

use serde_json::{Map, Value};
use yaml_rust2::Event;
use yaml_rust2::parser::Parser;
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// The deepest nesting of mappings and sequences accepted.
const MAX_NESTING: usize = 64;
/// The most nodes a file may expand to (aliases included).
const MAX_NODES: usize = 2_000_000;

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// Where a node sits in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// The node itself.
    pub value: Position,
    /// The mapping key naming it, when it is a mapping value.
    pub key: Option<Position>,
    /// For a text scalar whose characters appear verbatim on one line (plain, or quoted without
    /// escapes): the position of its first character, so a column inside it can be computed.
    pub verbatim: Option<Position>,
}

/// A parsed file.
#[derive(Debug, Clone, Default)]
pub struct Document {
    pub value: Value,
    spans: HashMap<String, Span>,
}

/// A problem that stops a file from being read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub code: &'static str,
    pub message: String,
    pub position: Position,
}

impl Document {
    /// The span of the node at `pointer`, or of its closest ancestor that has one.
    pub fn span(&self, pointer: &str) -> Span {
        let mut pointer = pointer;
        loop {
            if let Some(span) = self.spans.get(pointer) {
                return *span;
            }
            match pointer.rfind('/') {
                Some(index) => pointer = &pointer[..index],
                None => {
                    return Span {
                        value: Position { line: 1, column: 1 },
                        key: None,
                        verbatim: None,
                    };
                }
            }
        }
    }

    /// Where to point for the node at `pointer`: its key when it has one, else the node.
    pub fn key_position(&self, pointer: &str) -> Position {
        let span = self.span(pointer);
        span.key.unwrap_or(span.value)
    }

    /// Where to point for the node's value.
    pub fn value_position(&self, pointer: &str) -> Position {
        self.span(pointer).value
    }

    /// The position of the character at byte `offset` of the text scalar at `pointer`, when the
    /// scalar is verbatim on one line; else the scalar's start.
    pub fn position_inside(&self, pointer: &str, text: &str, offset: usize) -> Position {
        let span = self.span(pointer);
        match span.verbatim {
            Some(start) => {
                let chars = text.get(..offset).map_or(0, |prefix| prefix.chars().count());
                Position {
                    line: start.line,
                    column: start.column.saturating_add(u32::try_from(chars).unwrap_or(u32::MAX)),
                }
            }
            None => span.value,
        }
    }
}

/// Escapes a mapping key for use in a JSON pointer.
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

enum Frame {
    Sequence {
        items: Vec<Value>,
        pointer: String,
        anchor: usize,
    },
    Mapping {
        entries: Map<String, Value>,
        pointer: String,
        anchor: usize,
        /// The key read, waiting for its value.
        key: Option<(String, Position)>,
    },
}

struct Builder<'a> {
    lines: Vec<&'a str>,
    stack: Vec<Frame>,
    spans: HashMap<String, Span>,
    anchors: HashMap<usize, Value>,
    nodes: usize,
    root: Option<Value>,
    /// Problems that do not stop reading (duplicate keys).
    problems: Vec<SyntaxError>,
}

fn position(mark: &Marker) -> Position {
    // yaml-rust2 reports 1-based lines and 0-based columns.
    Position {
        line: u32::try_from(mark.line()).unwrap_or(u32::MAX).max(1),
        column: u32::try_from(mark.col()).unwrap_or(u32::MAX).saturating_add(1),
    }
}

fn syntax(code: &'static str, message: impl Into<String>, position: Position) -> SyntaxError {
    SyntaxError {
        code,
        message: message.into(),
        position,
    }
}

/// Resolves a plain scalar per the YAML 1.2 core schema.
fn plain_value(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let looks_numeric = text
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_digit() || matches!(first, '-' | '+' | '.'));
    if looks_numeric {
        if let Ok(integer) = text.parse::<i64>() {
            return Value::from(integer);
        }
        let numeric_chars = text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
        if numeric_chars
            && text.chars().any(|c| c.is_ascii_digit())
            && let Ok(float) = text.parse::<f64>()
            && let Some(number) = serde_json::Number::from_f64(float)
        {
            return Value::Number(number);
        }
    }
    Value::String(text.to_owned())
}

impl Builder<'_> {
    /// The pointer of the node about to be added, and its key position if it is a mapping value.
    fn next_pointer(&self) -> (String, Option<Position>) {
        match self.stack.last() {
            None => (String::new(), None),
            Some(Frame::Sequence { items, pointer, .. }) => (format!("{pointer}/{}", items.len()), None),
            Some(Frame::Mapping { pointer, key, .. }) => match key {
                Some((key, position)) => (format!("{pointer}/{}", escape(key)), Some(*position)),
                None => (pointer.clone(), None),
            },
        }
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Mapping { key: None, .. }))
    }

    fn count(&mut self, nodes: usize, at: Position) -> Result<(), SyntaxError> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > MAX_NODES {
            return Err(syntax(
                "too-large",
                format!("the file expands to more than {MAX_NODES} values (through aliases?)"),
                at,
            ));
        }
        Ok(())
    }

    /// Adds a finished node to its parent (or makes it the root).
    fn add(&mut self, value: Value, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Sequence { items, .. }) => items.push(value),
            Some(Frame::Mapping { entries, key, .. }) => {
                if let Some((key, _)) = key.take() {
                    entries.insert(key, value);
                }
            }
        }
    }

    fn scalar(&mut self, text: String, style: TScalarStyle, anchor: usize, mark: &Marker) -> Result<(), SyntaxError> {
        let at = position(mark);
        self.count(1, at)?;
        if self.expecting_key() {
            if let Some(Frame::Mapping {
                entries, key, pointer, ..
            }) = self.stack.last_mut()
            {
                // yaml-rust2 marks a block mapping where its first value starts; point at its first key instead.
                if entries.is_empty()
                    && let Some(span) = self.spans.get_mut(pointer.as_str())
                    && (span.value.line, span.value.column) > (at.line, at.column)
                {
                    span.value = at;
                }
                if entries.contains_key(&text) {
                    let message = format!("duplicate key `{text}`; each key may appear only once in a mapping");
                    self.problems.push(syntax("duplicate-key", message, at));
                    // The later value wins, as in most YAML readers; the duplicate is reported.
                    entries.shift_remove(&text);
                }
                *key = Some((text, at));
            }
            return Ok(());
        }
        let value = match style {
            TScalarStyle::Plain => plain_value(&text),
            _ => Value::String(text),
        };
        let (pointer, key) = self.next_pointer();
        let verbatim = match (&value, style) {
            (Value::String(text), TScalarStyle::Plain) => self.verbatim_at(at, text, 0),
            (Value::String(text), TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted) => {
                self.verbatim_at(at, text, 1)
            }
            _ => None,
        };
        self.spans.insert(
            pointer,
            Span {
                value: at,
                key,
                verbatim,
            },
        );
        self.add(value, anchor);
        Ok(())
    }

    /// The position of the scalar's first character when `text` appears verbatim on its line.
    fn verbatim_at(&self, at: Position, text: &str, skip: u32) -> Option<Position> {
        let line = self.lines.get(usize::try_from(at.line).ok()?.checked_sub(1)?)?;
        let column = usize::try_from(at.column.checked_sub(1)? + skip).ok()?;
        let rest: String = line.chars().skip(column).collect();
        let rest = rest.strip_suffix('\r').unwrap_or(&rest);
        if text.contains('\n') || !rest.starts_with(text) {
            return None;
        }
        Some(Position {
            line: at.line,
            column: at.column + skip,
        })
    }

    fn start(&mut self, mapping: bool, anchor: usize, mark: &Marker) -> Result<(), SyntaxError> {
        let at = position(mark);
        self.count(1, at)?;
        if self.expecting_key() {
            return Err(syntax(
                "bad-key",
                "a mapping key must be plain text, not a mapping or a list",
                at,
            ));
        }
        if self.stack.len() >= MAX_NESTING {
            return Err(syntax(
                "nested-too-deeply",
                format!("the file is nested too deeply (more than {MAX_NESTING} levels)"),
                at,
            ));
        }
        let (pointer, key) = self.next_pointer();
        self.spans.insert(
            pointer.clone(),
            Span {
                value: at,
                key,
                verbatim: None,
            },
        );
        self.stack.push(if mapping {
            Frame::Mapping {
                entries: Map::new(),
                pointer,
                anchor,
                key: None,
            }
        } else {
            Frame::Sequence {
                items: Vec::new(),
                pointer,
                anchor,
            }
        });
        Ok(())
    }

    fn end(&mut self) {
        let (value, anchor) = match self.stack.pop() {
            Some(Frame::Sequence { items, anchor, .. }) => (Value::Array(items), anchor),
            Some(Frame::Mapping { entries, anchor, .. }) => (Value::Object(entries), anchor),
            None => return,
        };
        self.add(value, anchor);
    }

    fn alias(&mut self, anchor: usize, mark: &Marker) -> Result<(), SyntaxError> {
        let at = position(mark);
        let Some(value) = self.anchors.get(&anchor).cloned() else {
            return Err(syntax("bad-alias", "this alias refers to an unknown anchor", at));
        };
        self.count(size(&value), at)?;
        if self.expecting_key() {
            let text = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            if let Some(Frame::Mapping { key, .. }) = self.stack.last_mut() {
                *key = Some((text, at));
            }
            return Ok(());
        }
        let (pointer, key) = self.next_pointer();
        self.spans.insert(
            pointer,
            Span {
                value: at,
                key,
                verbatim: None,
            },
        );
        self.add(value, 0);
        Ok(())
    }
}

/// The number of nodes in a value, counted without recursion.
fn size(value: &Value) -> usize {
    let mut count = 0usize;
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        count = count.saturating_add(1);
        match value {
            Value::Array(items) => pending.extend(items),
            Value::Object(entries) => pending.extend(entries.values()),
            _ => {}
        }
    }
    count
}

/// Parses YAML or JSON text. Returns the document, or the error that stopped reading, plus the
/// problems found that did not stop it (duplicate keys).
pub fn parse(text: &str) -> (Result<Document, SyntaxError>, Vec<SyntaxError>) {
    let mut builder = Builder {
        lines: text.split('\n').collect(),
        stack: Vec::new(),
        spans: HashMap::new(),
        anchors: HashMap::new(),
        nodes: 0,
        root: None,
        problems: Vec::new(),
    };
    let result = read(text, &mut builder);
    let problems = std::mem::take(&mut builder.problems);
    let result = result.map(|()| Document {
        value: builder.root.take().unwrap_or(Value::Null),
        spans: std::mem::take(&mut builder.spans),
    });
    (result, problems)
}

fn read(text: &str, builder: &mut Builder<'_>) -> Result<(), SyntaxError> {
    let mut parser = Parser::new_from_str(text);
    let mut documents = 0;
    loop {
        let (event, mark) = parser.next_token().map_err(|error| {
            let message = error.info().to_owned();
            syntax(
                "bad-yaml",
                format!("the file is not valid YAML: {message}"),
                position(error.marker()),
            )
        })?;
        match event {
            Event::StreamEnd => return Ok(()),
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(syntax(
                        "multiple-documents",
                        "a file holds one document; remove the second `---`",
                        position(&mark),
                    ));
                }
            }
            Event::Scalar(text, style, anchor, _tag) => builder.scalar(text, style, anchor, &mark)?,
            Event::SequenceStart(anchor, _) => builder.start(false, anchor, &mark)?,
            Event::MappingStart(anchor, _) => builder.start(true, anchor, &mark)?,
            Event::SequenceEnd | Event::MappingEnd => builder.end(),
            Event::Alias(anchor) => builder.alias(anchor, &mark)?,
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_values_and_positions() {
        let text = "a: 1\nb:\n  - x\n  - \"y z\"\n  - {c: d}\nlong: plain text here\nf: 1.5\nn: ~\nt: yes\n";
        let (document, problems) = parse(text);
        let document = document.unwrap_or_else(|error| panic!("{error:?}"));
        assert!(problems.is_empty());
        assert_eq!(
            document.value,
            serde_json::json!({"a": 1, "b": ["x", "y z", {"c": "d"}], "long": "plain text here", "f": 1.5, "n": null, "t": "yes"})
        );
        assert_eq!(document.key_position("/a"), Position { line: 1, column: 1 });
        assert_eq!(document.value_position("/a"), Position { line: 1, column: 4 });
        assert_eq!(document.value_position("/b/1"), Position { line: 4, column: 5 });
        assert_eq!(document.value_position("/b/2/c"), Position { line: 5, column: 9 });
        assert_eq!(
            document.position_inside("/long", "plain text here", 6),
            Position { line: 6, column: 13 }
        );
        assert_eq!(
            document.position_inside("/b/1", "y z", 2),
            Position { line: 4, column: 8 }
        );
    }

    #[test]
    fn reports_problems() {
        let (result, problems) = parse("a: 1\na: 2\n");
        assert!(result.is_ok());
        assert_eq!(problems[0].code, "duplicate-key");
        assert_eq!(problems[0].position, Position { line: 2, column: 1 });

        let (result, _) = parse("a: [1, 2\nb: 3\n");
        assert_eq!(result.map(|_| ()).unwrap_err().code, "bad-yaml");

        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&deep).0.is_err());
        let deep = format!("{}{}", "[".repeat(70), "]".repeat(70));
        assert_eq!(parse(&deep).0.map(|_| ()).unwrap_err().code, "nested-too-deeply");

        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
        assert_eq!(parse(bomb).0.map(|_| ()).unwrap_err().code, "too-large");

        assert_eq!(
            parse("{a: 1}\n---\n{b: 2}\n").0.map(|_| ()).unwrap_err().code,
            "multiple-documents"
        );
        assert_eq!(parse("").0.map(|document| document.value).ok(), Some(Value::Null));
        assert!(parse("{\"a\": [1, 2.5, \"x\"]}").0.is_ok());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse(&text);
        }

        #[test]
        fn never_panics_on_yaml_like_text(text in "[a-z0-9 :\\-\\[\\]{},&*!|>'\"#\n]{0,80}") {
            let _ = parse(&text);
        }
    }
}
