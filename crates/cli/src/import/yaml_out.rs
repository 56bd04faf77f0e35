//! A small YAML writer for the files an import produces: block mappings and sequences, scalars
//! quoted only where YAML would read them as something else, and comments above any entry.
//!
//! The workspace reads YAML with yaml-rust2, whose emitter cannot write comments; the comments are
//! where an import explains the choices it made, so the few lines of writing are ours.

/// A YAML value with the comment lines written above it.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub comments: Vec<String>,
    pub value: Y,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Y {
    /// Text, quoted when needed.
    Str(String),
    /// A number or boolean written as is.
    Raw(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    pub fn str(text: impl Into<String>) -> Node {
        Y::Str(text.into()).into()
    }

    pub fn raw(text: impl Into<String>) -> Node {
        Y::Raw(text.into()).into()
    }

    pub fn number(number: f64) -> Node {
        match number.fract() == 0.0 && number.abs() < 1e15 {
            true => Node::raw(format!("{}", number as i64)),
            false => Node::raw(format!("{number}")),
        }
    }

    pub fn seq(items: Vec<Node>) -> Node {
        Y::Seq(items).into()
    }

    pub fn map() -> Node {
        Y::Map(Vec::new()).into()
    }

    /// Adds a comment line above this node (one per call; `\n` splits lines).
    pub fn comment(mut self, text: impl AsRef<str>) -> Node {
        self.comments.extend(text.as_ref().lines().map(str::to_owned));
        self
    }

    /// Adds a key to a mapping (does nothing to other values).
    pub fn with(mut self, key: &str, value: Node) -> Node {
        self.insert(key, value);
        self
    }

    pub fn insert(&mut self, key: &str, value: Node) {
        if let Y::Map(entries) = &mut self.value {
            entries.push((key.to_owned(), value));
        }
    }

    pub fn is_empty_collection(&self) -> bool {
        match &self.value {
            Y::Seq(items) => items.is_empty(),
            Y::Map(entries) => entries.is_empty(),
            _ => false,
        }
    }
}

impl From<Y> for Node {
    fn from(value: Y) -> Node {
        Node {
            comments: Vec::new(),
            value,
        }
    }
}

/// The document text of a top-level mapping or sequence, ending with a newline.
pub fn to_string(document: &Node) -> String {
    let mut out = String::new();
    comments(&mut out, 0, &document.comments);
    match &document.value {
        Y::Map(entries) if !entries.is_empty() => map(&mut out, 0, entries),
        Y::Seq(items) if !items.is_empty() => seq(&mut out, 0, items),
        _ => {
            out.push_str(&inline(&document.value));
            out.push('\n');
        }
    }
    out
}

fn comments(out: &mut String, indent: usize, lines: &[String]) {
    for line in lines {
        out.push_str(&" ".repeat(indent));
        match line.is_empty() {
            true => out.push_str("#\n"),
            false => {
                out.push_str("# ");
                // A comment is one line of printable text: a line break would end it, and YAML
                // refuses control characters.
                let printable: String = line
                    .chars()
                    .map(
                        |c| match c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') {
                            true => ' ',
                            false => c,
                        },
                    )
                    .collect();
                out.push_str(&printable);
                out.push('\n');
            }
        }
    }
}

fn is_block(value: &Y) -> bool {
    match value {
        Y::Seq(items) => !items.is_empty(),
        Y::Map(entries) => !entries.is_empty(),
        _ => false,
    }
}

fn inline(value: &Y) -> String {
    match value {
        Y::Str(text) => scalar(text),
        Y::Raw(text) => text.clone(),
        Y::Seq(_) => "[]".to_owned(),
        Y::Map(_) => "{}".to_owned(),
    }
}

fn map(out: &mut String, indent: usize, entries: &[(String, Node)]) {
    for (index, (key, node)) in entries.iter().enumerate() {
        // The first entry of a mapping inside a sequence shares the `- ` line; its comments were
        // written above the dash.
        let first_in_item = index == 0 && out.ends_with("- ");
        if !first_in_item {
            comments(out, indent, &node.comments);
            out.push_str(&" ".repeat(indent));
        }
        entry(out, indent, key, node);
    }
}

fn entry(out: &mut String, indent: usize, key: &str, node: &Node) {
    out.push_str(&scalar(key));
    out.push(':');
    match &node.value {
        Y::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            map(out, indent + 2, entries);
        }
        Y::Seq(items) if !items.is_empty() => {
            out.push('\n');
            seq(out, indent + 2, items);
        }
        value => {
            out.push(' ');
            out.push_str(&inline(value));
            out.push('\n');
        }
    }
}

fn seq(out: &mut String, indent: usize, items: &[Node]) {
    for item in items {
        comments(out, indent, &item.comments);
        match &item.value {
            Y::Map(entries) if !entries.is_empty() => {
                comments(out, indent, &entries[0].1.comments);
                out.push_str(&" ".repeat(indent));
                out.push_str("- ");
                map(out, indent + 2, entries);
            }
            value if is_block(value) => {
                out.push_str(&" ".repeat(indent));
                out.push_str("-\n");
                if let Y::Seq(inner) = value {
                    seq(out, indent + 2, inner);
                }
            }
            value => {
                out.push_str(&" ".repeat(indent));
                out.push_str("- ");
                out.push_str(&inline(value));
                out.push('\n');
            }
        }
    }
}

/// Text as a YAML scalar: plain when YAML reads it back as the same text, else double-quoted
/// (JSON's escaping is valid in a YAML double-quoted scalar).
pub fn scalar(text: &str) -> String {
    match is_plain(text) {
        true => text.to_owned(),
        false => serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned()),
    }
}

fn is_plain(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    let special_word = matches!(
        text.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
    );
    let looks_numeric = text.parse::<f64>().is_ok()
        || text.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '+' || c == '-');
    let allowed = |c: char| c.is_alphanumeric() || " .,;!?'()/$_-+%&=@{}".contains(c);
    (first.is_alphabetic() || first == '$' || first == '_')
        && !special_word
        && !looks_numeric
        && !text.ends_with(' ')
        && text.chars().all(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_quoted_only_when_yaml_would_misread_them() {
        for plain in ["Hello there", "Pay ${amount} now", "it's fine", "step_1"] {
            assert_eq!(scalar(plain), plain);
        }
        for (text, quoted) in [
            ("yes", "\"yes\""),
            ("12", "\"12\""),
            ("a: b", "\"a: b\""),
            ("# not a comment", "\"# not a comment\""),
            ("line\nbreak", "\"line\\nbreak\""),
            ("", "\"\""),
            ("- item", "\"- item\""),
            ("[x]", "\"[x]\""),
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
        ] {
            assert_eq!(scalar(text), quoted, "{text:?}");
        }
    }

    #[test]
    fn documents_nest_with_comments() {
        let step = Node::map()
            .with("id", Node::str("ask").comment("first"))
            .with("say", Node::str("How much?"));
        let document = Node::map()
            .with("id", Node::str("pay"))
            .with("examples", Node::seq(vec![Node::str("pay my bill")]))
            .with(
                "steps",
                Node::seq(vec![step, Node::map().with("then", Node::str("end"))]),
            )
            .with("set", Node::map());
        assert_eq!(
            to_string(&document),
            "id: pay\nexamples:\n  - pay my bill\nsteps:\n  # first\n  - id: ask\n    say: How much?\n  - then: end\nset: {}\n"
        );
    }
}
