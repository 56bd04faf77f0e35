//! The expression language of conditions, assignments, date bounds and `${...}` interpolation.
//!
//! Expressions are parsed when the assistant loads ([`Expression`] and [`Template`] parse while
//! deserializing), so a typo is a load error with file, line and column, never a runtime surprise.
//! Evaluation is pure: variables come from a lookup function and the clock from an argument.
//!
//! Grammar (lowest precedence first):
//! `or` · `and` · `not` · comparison (`==` `!=` `<` `<=` `>` `>=`) · `+` `-` · `*` `/` `%` · unary `-` ·
//! call `f(a, b)` · literal (number, `"text"` or `'text'`, `true`, `false`, `null`) · variable (`name`, dotted `a.b`) · `( … )`.

use std::fmt;
use std::ops::RangeInclusive;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::value::Value;

/// Every function of the language with the number of arguments it takes.
/// The parser rejects any other name (suggesting the closest) and any other argument count.
pub const FUNCTIONS: &[(&str, RangeInclusive<usize>)] = &[
    ("is_set", 1..=1),
    ("length", 1..=1),
    ("lower", 1..=1),
    ("upper", 1..=1),
    ("trim", 1..=1),
    ("contains", 2..=2),
    ("starts_with", 2..=2),
    ("ends_with", 2..=2),
    ("round", 1..=2),
    ("floor", 1..=1),
    ("ceil", 1..=1),
    ("abs", 1..=1),
    ("min", 2..=2),
    ("max", 2..=2),
    ("number", 1..=1),
    ("text", 1..=1),
    ("date", 1..=1),
    ("add_days", 2..=2),
    ("add_months", 2..=2),
    ("days_between", 2..=2),
    ("weekday", 1..=1),
    ("year", 1..=1),
    ("month", 1..=1),
    ("day", 1..=1),
    ("hour", 1..=1),
    ("minute", 1..=1),
    ("today", 0..=0),
];

/// A parsed expression tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Value),
    Variable(String),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

impl Expr {
    /// The variable names the expression reads, in order of appearance (dotted names whole).
    pub fn variables(&self) -> Vec<&str> {
        let mut names = Vec::new();
        let mut pending = vec![self];
        while let Some(expr) = pending.pop() {
            match expr {
                Expr::Literal(_) => {}
                Expr::Variable(name) => names.push(name.as_str()),
                Expr::Unary(_, operand) => pending.push(operand),
                Expr::Binary(_, left, right) => {
                    pending.push(right);
                    pending.push(left);
                }
                Expr::Call(_, arguments) => pending.extend(arguments.iter().rev()),
            }
        }
        names
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Negate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinaryOp {
    /// The operator as written in an expression.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }
}

/// A syntax error, at a byte offset of the expression's source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

/// Parses an expression. Never panics, whatever the input.
pub fn parse(source: &str) -> Result<Expr, ParseError> {
    crate::expr_parse::parse(source)
}

/// An expression as written in a file, with its parse result.
/// Deserializes from a string (or a number/boolean, taken as a literal expression).
#[derive(Clone, PartialEq)]
pub struct Expression {
    source: String,
    parsed: Result<Expr, ParseError>,
}

impl Expression {
    pub fn new(source: impl Into<String>) -> Expression {
        let source = source.into();
        let parsed = parse(&source);
        Expression { source, parsed }
    }
    pub fn source(&self) -> &str {
        &self.source
    }
    /// The tree, or the syntax error the loader reports.
    pub fn parsed(&self) -> Result<&Expr, &ParseError> {
        self.parsed.as_ref()
    }
}

impl fmt::Debug for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Expression({:?})", self.source)
    }
}

impl Serialize for Expression {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for Expression {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = serde_json::Value::deserialize(deserializer)?;
        let source = match raw {
            serde_json::Value::String(text) => text,
            serde_json::Value::Number(number) => number.to_string(),
            serde_json::Value::Bool(flag) => flag.to_string(),
            serde_json::Value::Null => "null".to_owned(),
            _ => return Err(serde::de::Error::custom("an expression must be a string")),
        };
        Ok(Expression::new(source))
    }
}

impl JsonSchema for Expression {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Expression".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An expression: comparisons, and/or/not, arithmetic, functions such as is_set(x), variables by name.",
            "type": ["string", "number", "boolean", "null"]
        })
    }
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Literal(String),
    /// `${expression}`, with the expression's byte offset in the template source.
    Interpolation {
        expr: Expr,
        offset: usize,
    },
}

/// Text with `${expression}` interpolation (`$${` writes a literal `${`).
#[derive(Clone, PartialEq)]
pub struct Template {
    source: String,
    parsed: Result<Vec<Part>, ParseError>,
}

impl Template {
    pub fn new(source: impl Into<String>) -> Template {
        let source = source.into();
        let parsed = crate::expr_parse::parse_template(&source);
        Template { source, parsed }
    }
    pub fn source(&self) -> &str {
        &self.source
    }
    pub fn parts(&self) -> Result<&[Part], &ParseError> {
        match &self.parsed {
            Ok(parts) => Ok(parts),
            Err(error) => Err(error),
        }
    }
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Template({:?})", self.source)
    }
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = serde_json::Value::deserialize(deserializer)?;
        let source = match raw {
            serde_json::Value::String(text) => text,
            serde_json::Value::Number(number) => number.to_string(),
            serde_json::Value::Bool(flag) => flag.to_string(),
            _ => return Err(serde::de::Error::custom("expected text")),
        };
        Ok(Template::new(source))
    }
}

impl JsonSchema for Template {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Template".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Text; ${expression} inserts a value, e.g. ${customer_name}.",
            "type": ["string", "number", "boolean"]
        })
    }
}
