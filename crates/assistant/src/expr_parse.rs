//! The expression parser: a lexer, then a Pratt parser over the grammar in [`crate::expr`].
//!
//! It never panics and never recurses without bound: nesting (parentheses, `not`, unary minus,
//! and the depth of the resulting tree) is capped at [`MAX_DEPTH`], so evaluating or dropping a
//! parsed tree cannot overflow the stack either. Function names and argument counts are checked
//! here, against [`crate::expr::FUNCTIONS`], so a misspelt function is a load error.

use crate::expr::{BinaryOp, Expr, FUNCTIONS, ParseError, Part, UnaryOp};
use crate::suggest::closest;
use crate::value::Value;

/// The deepest expression tree accepted.
pub(crate) const MAX_DEPTH: u32 = 100;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Number(f64),
    Text(String),
    Ident(String),
    True,
    False,
    Null,
    Not,
    LParen,
    RParen,
    Comma,
    Op(BinaryOp),
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

fn error(offset: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        offset,
        message: message.into(),
    }
}

fn lex(source: &str) -> Result<Vec<Token>, ParseError> {
    let mut tokens = Vec::new();
    let mut chars = source.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let single = |tok: Tok| Token {
            tok,
            start,
            end: start + c.len_utf8(),
        };
        let next_is = |expected: char| source[start + c.len_utf8()..].starts_with(expected);
        let token = match c {
            '(' => single(Tok::LParen),
            ')' => single(Tok::RParen),
            ',' => single(Tok::Comma),
            '+' => single(Tok::Op(BinaryOp::Add)),
            '-' => single(Tok::Op(BinaryOp::Sub)),
            '*' => single(Tok::Op(BinaryOp::Mul)),
            '/' => single(Tok::Op(BinaryOp::Div)),
            '%' => single(Tok::Op(BinaryOp::Rem)),
            '=' | '!' | '<' | '>' => {
                let (op, width) = match (c, next_is('=')) {
                    ('=', true) => (BinaryOp::Eq, 2),
                    ('!', true) => (BinaryOp::Ne, 2),
                    ('<', true) => (BinaryOp::Le, 2),
                    ('>', true) => (BinaryOp::Ge, 2),
                    ('<', false) => (BinaryOp::Lt, 1),
                    ('>', false) => (BinaryOp::Gt, 1),
                    ('=', false) => {
                        return Err(error(
                            start,
                            format!("`=` at offset {start} is not a comparison; write `==`"),
                        ));
                    }
                    _ => {
                        return Err(error(
                            start,
                            format!("`!` at offset {start} is not an operator; write `not`"),
                        ));
                    }
                };
                Token {
                    tok: Tok::Op(op),
                    start,
                    end: start + width,
                }
            }
            '&' | '|' => {
                let word = if c == '&' { "and" } else { "or" };
                return Err(error(
                    start,
                    format!("`{c}` at offset {start} is not an operator; write `{word}`"),
                ));
            }
            '"' | '\'' => {
                chars.next();
                let mut text = String::new();
                let mut closed = None;
                while let Some((offset, ch)) = chars.next() {
                    if ch == c {
                        closed = Some(offset + 1);
                        break;
                    }
                    if ch == '\\' {
                        match chars.next() {
                            Some((_, 'n')) => text.push('\n'),
                            Some((_, 't')) => text.push('\t'),
                            Some((_, escaped)) => text.push(escaped),
                            None => break,
                        }
                    } else {
                        text.push(ch);
                    }
                }
                let Some(end) = closed else {
                    return Err(error(
                        start,
                        format!("unterminated text: the `{c}` at offset {start} is never closed"),
                    ));
                };
                tokens.push(Token {
                    tok: Tok::Text(text),
                    start,
                    end,
                });
                continue;
            }
            '0'..='9' => {
                let mut end = start;
                let mut seen_dot = false;
                while let Some(&(offset, ch)) = chars.peek() {
                    let dot_then_digit = ch == '.'
                        && !seen_dot
                        && source[offset + 1..]
                            .chars()
                            .next()
                            .is_some_and(|after| after.is_ascii_digit());
                    if ch.is_ascii_digit() || ch == '_' || dot_then_digit {
                        seen_dot |= ch == '.';
                        end = offset + 1;
                        chars.next();
                    } else {
                        break;
                    }
                }
                let digits: String = source[start..end].chars().filter(|ch| *ch != '_').collect();
                let number: f64 = digits
                    .parse()
                    .map_err(|_| error(start, format!("`{}` is not a number", &source[start..end])))?;
                tokens.push(Token {
                    tok: Tok::Number(number),
                    start,
                    end,
                });
                continue;
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut end = start;
                while let Some(&(offset, ch)) = chars.peek() {
                    let dot_then_name = ch == '.'
                        && source[offset + 1..]
                            .chars()
                            .next()
                            .is_some_and(|after| after.is_alphabetic() || after == '_');
                    if ch.is_alphanumeric() || ch == '_' || dot_then_name {
                        end = offset + ch.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let word = &source[start..end];
                let tok = match word {
                    "and" => Tok::Op(BinaryOp::And),
                    "or" => Tok::Op(BinaryOp::Or),
                    "not" => Tok::Not,
                    "true" => Tok::True,
                    "false" => Tok::False,
                    "null" => Tok::Null,
                    _ => Tok::Ident(word.to_owned()),
                };
                tokens.push(Token { tok, start, end });
                continue;
            }
            '$' => {
                return Err(error(
                    start,
                    format!("unexpected `$` at offset {start}: variables are written by name, without `$`"),
                ));
            }
            other => {
                return Err(error(
                    start,
                    format!("unexpected character `{other}` at offset {start}"),
                ));
            }
        };
        for _ in 0..token.end - token.start {
            // Multi-byte tokens here are all ASCII, so one char per byte.
            chars.next();
        }
        tokens.push(token);
    }
    tokens.push(Token {
        tok: Tok::End,
        start: source.len(),
        end: source.len(),
    });
    Ok(tokens)
}

fn describe(token: &Token, source: &str) -> String {
    match &token.tok {
        Tok::End => "the end of the expression".to_owned(),
        _ => format!("`{}`", source.get(token.start..token.end).unwrap_or("?")),
    }
}

/// Left and right binding power of an infix operator.
fn binding_power(op: BinaryOp) -> (u8, u8) {
    match op {
        BinaryOp::Or => (1, 2),
        BinaryOp::And => (3, 4),
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => (7, 8),
        BinaryOp::Add | BinaryOp::Sub => (9, 10),
        BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => (11, 12),
    }
}

const NOT_POWER: u8 = 5;
const NEGATE_POWER: u8 = 13;

fn is_comparison(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
    )
}

struct Parser<'a> {
    source: &'a str,
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // The token list always ends with `End`, and `pos` never moves past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        token
    }

    fn too_deep(&self, offset: usize) -> ParseError {
        error(
            offset,
            format!("the expression is nested too deeply (more than {MAX_DEPTH} levels)"),
        )
    }

    /// Parses an expression whose operators bind tighter than `min_power`; returns it with its tree depth.
    fn expression(&mut self, min_power: u8, nesting: u32) -> Result<(Expr, u32), ParseError> {
        if nesting > MAX_DEPTH {
            return Err(self.too_deep(self.peek().start));
        }
        let (mut left, mut depth) = self.prefix(nesting)?;
        let mut previous_comparison: Option<usize> = None;
        loop {
            let token = self.peek().clone();
            let Tok::Op(op) = token.tok else { break };
            let (left_power, right_power) = binding_power(op);
            if left_power < min_power {
                break;
            }
            if is_comparison(op) {
                if previous_comparison.is_some() {
                    return Err(error(
                        token.start,
                        format!(
                            "comparisons cannot be chained: `{}` at offset {} follows another comparison; join them with `and`",
                            op.symbol(),
                            token.start
                        ),
                    ));
                }
                previous_comparison = Some(token.start);
            } else {
                previous_comparison = None;
            }
            self.advance();
            if matches!(self.peek().tok, Tok::End) {
                return Err(error(
                    token.start,
                    format!(
                        "the expression ends too early: expected a value after `{}`",
                        op.symbol()
                    ),
                ));
            }
            let (right, right_depth) = self.expression(right_power, nesting + 1)?;
            depth = depth.max(right_depth) + 1;
            if depth > MAX_DEPTH {
                return Err(self.too_deep(token.start));
            }
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok((left, depth))
    }

    fn prefix(&mut self, nesting: u32) -> Result<(Expr, u32), ParseError> {
        let token = self.advance();
        match token.tok.clone() {
            Tok::Number(number) => Ok((Expr::Literal(Value::Number(number)), 1)),
            Tok::Text(text) => Ok((Expr::Literal(Value::Text(text)), 1)),
            Tok::True => Ok((Expr::Literal(Value::Bool(true)), 1)),
            Tok::False => Ok((Expr::Literal(Value::Bool(false)), 1)),
            Tok::Null => Ok((Expr::Literal(Value::Null), 1)),
            Tok::Not => {
                let (operand, depth) = self.operand_after(&token, NOT_POWER, nesting)?;
                Ok((Expr::Unary(UnaryOp::Not, Box::new(operand)), depth + 1))
            }
            Tok::Op(BinaryOp::Sub) => {
                let (operand, depth) = self.operand_after(&token, NEGATE_POWER, nesting)?;
                Ok((Expr::Unary(UnaryOp::Negate, Box::new(operand)), depth + 1))
            }
            Tok::LParen => {
                if matches!(self.peek().tok, Tok::End) {
                    return Err(self.unclosed(token.start));
                }
                let inner = self.expression(0, nesting + 1)?;
                let closing = self.advance();
                match closing.tok {
                    Tok::RParen => Ok(inner),
                    Tok::End => Err(self.unclosed(token.start)),
                    _ => Err(error(
                        closing.start,
                        format!(
                            "expected `)` to close the `(` at offset {}, found {}",
                            token.start,
                            describe(&closing, self.source)
                        ),
                    )),
                }
            }
            Tok::Ident(name) => {
                if matches!(self.peek().tok, Tok::LParen) {
                    self.call(name, &token, nesting)
                } else {
                    Ok((Expr::Variable(name), 1))
                }
            }
            Tok::End if token.start == 0 || self.source[..token.start].trim().is_empty() => {
                Err(error(token.start, "the expression is empty"))
            }
            Tok::End => Err(error(token.start, "the expression ends too early: expected a value")),
            Tok::RParen if !self.has_open_paren_before(self.pos - 1) => Err(error(
                token.start,
                format!(
                    "unbalanced parenthesis: `)` at offset {} has no matching `(`",
                    token.start
                ),
            )),
            _ => Err(error(
                token.start,
                format!("expected a value, found {}", describe(&token, self.source)),
            )),
        }
    }

    fn operand_after(&mut self, token: &Token, power: u8, nesting: u32) -> Result<(Expr, u32), ParseError> {
        if matches!(self.peek().tok, Tok::End) {
            return Err(error(
                token.start,
                format!(
                    "the expression ends too early: expected a value after {}",
                    describe(token, self.source)
                ),
            ));
        }
        self.expression(power, nesting + 1)
    }

    fn has_open_paren_before(&self, index: usize) -> bool {
        let mut balance: i64 = 0;
        for token in self.tokens.iter().take(index) {
            match token.tok {
                Tok::LParen => balance += 1,
                Tok::RParen => balance -= 1,
                _ => {}
            }
        }
        balance > 0
    }

    fn unclosed(&self, offset: usize) -> ParseError {
        error(
            offset,
            format!("unbalanced parenthesis: `(` at offset {offset} is never closed"),
        )
    }

    fn call(&mut self, name: String, name_token: &Token, nesting: u32) -> Result<(Expr, u32), ParseError> {
        let Some((_, arity)) = FUNCTIONS.iter().find(|(function, _)| *function == name) else {
            let suggestion = closest(&name, FUNCTIONS.iter().map(|(function, _)| *function));
            let message = match suggestion {
                Some(known) => format!("unknown function `{name}`; did you mean `{known}`?"),
                None => format!(
                    "unknown function `{name}`; the functions are: {}",
                    FUNCTIONS
                        .iter()
                        .map(|(function, _)| *function)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            return Err(error(name_token.start, message));
        };
        let open = self.advance();
        let mut arguments = Vec::new();
        let mut depth = 1;
        if matches!(self.peek().tok, Tok::RParen) {
            self.advance();
        } else {
            loop {
                if matches!(self.peek().tok, Tok::End) {
                    return Err(self.unclosed(open.start));
                }
                let (argument, argument_depth) = self.expression(0, nesting + 1)?;
                depth = depth.max(argument_depth + 1);
                arguments.push(argument);
                let separator = self.advance();
                match separator.tok {
                    Tok::Comma => {}
                    Tok::RParen => break,
                    Tok::End => return Err(self.unclosed(open.start)),
                    _ => {
                        return Err(error(
                            separator.start,
                            format!(
                                "expected `,` or `)` in the arguments of `{name}`, found {}",
                                describe(&separator, self.source)
                            ),
                        ));
                    }
                }
            }
        }
        if !arity.contains(&arguments.len()) {
            return Err(error(
                name_token.start,
                format!(
                    "`{name}` takes {}, found {}",
                    describe_arity(arity.clone()),
                    arguments.len()
                ),
            ));
        }
        if depth > MAX_DEPTH {
            return Err(self.too_deep(name_token.start));
        }
        Ok((Expr::Call(name, arguments), depth))
    }
}

fn describe_arity(arity: std::ops::RangeInclusive<usize>) -> String {
    let plural = |count: usize| if count == 1 { "argument" } else { "arguments" };
    let (low, high) = (*arity.start(), *arity.end());
    match high - low {
        0 if low == 0 => "no arguments".to_owned(),
        0 => format!("{low} {}", plural(low)),
        1 => format!("{low} or {high} {}", plural(high)),
        _ => format!("{low} to {high} {}", plural(high)),
    }
}

pub(crate) fn parse(source: &str) -> Result<Expr, ParseError> {
    let tokens = lex(source)?;
    let mut parser = Parser { source, tokens, pos: 0 };
    let (expr, _) = parser.expression(0, 0)?;
    let rest = parser.advance();
    match rest.tok {
        Tok::End => Ok(expr),
        Tok::RParen => Err(error(
            rest.start,
            format!(
                "unbalanced parenthesis: `)` at offset {} has no matching `(`",
                rest.start
            ),
        )),
        _ => Err(error(
            rest.start,
            format!(
                "expected an operator or the end of the expression, found {}",
                describe(&rest, source)
            ),
        )),
    }
}

/// Splits a template into literal text and `${expression}` parts; `$${` is a literal `${`.
pub(crate) fn parse_template(source: &str) -> Result<Vec<Part>, ParseError> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest_start = 0;
    let bytes = source.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        // Comparing bytes keeps `index` usable on any byte; it is sliced only at ASCII `$` and `}`.
        if bytes[index..].starts_with(b"$${") {
            literal.push_str(&source[rest_start..index]);
            literal.push_str("${");
            index += 3;
            rest_start = index;
            continue;
        }
        if !bytes[index..].starts_with(b"${") {
            index += 1;
            continue;
        }
        literal.push_str(&source[rest_start..index]);
        let start = index + 2;
        let Some(end) = interpolation_end(source, start) else {
            return Err(error(
                index,
                format!("unclosed `${{` at offset {index}: add `}}` after the expression"),
            ));
        };
        let inner = &source[start..end];
        if inner.trim().is_empty() {
            return Err(error(
                index,
                format!("empty `${{}}` at offset {index}: put a variable or expression inside"),
            ));
        }
        let expr = parse(inner).map_err(|problem| ParseError {
            offset: start + problem.offset,
            message: problem.message,
        })?;
        if !literal.is_empty() {
            parts.push(Part::Literal(std::mem::take(&mut literal)));
        }
        parts.push(Part::Interpolation { expr, offset: start });
        index = end + 1;
        rest_start = index;
    }
    literal.push_str(&source[rest_start..]);
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    Ok(parts)
}

/// The byte offset of the `}` closing an interpolation that starts at `start`, skipping quoted text.
fn interpolation_end(source: &str, start: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (offset, c) in source[start..].char_indices() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(open) if c == open => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '}' => return Some(start + offset),
            None => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(expr: &Expr) -> String {
        match expr {
            Expr::Literal(Value::Text(text)) => format!("{text:?}"),
            Expr::Literal(value) => format!("{value:?}"),
            Expr::Variable(name) => name.clone(),
            Expr::Unary(UnaryOp::Not, operand) => format!("(not {})", show(operand)),
            Expr::Unary(UnaryOp::Negate, operand) => format!("(-{})", show(operand)),
            Expr::Binary(op, left, right) => format!("({} {} {})", show(left), op.symbol(), show(right)),
            Expr::Call(name, arguments) => {
                format!("{name}({})", arguments.iter().map(show).collect::<Vec<_>>().join(", "))
            }
        }
    }

    #[test]
    fn parses_with_precedence() {
        let cases = [
            ("1 + 2 * 3", "(Number(1.0) + (Number(2.0) * Number(3.0)))"),
            ("(1 + 2) * 3", "((Number(1.0) + Number(2.0)) * Number(3.0))"),
            ("a - b - c", "((a - b) - c)"),
            ("not a and b", "((not a) and b)"),
            ("not a == b", "(not (a == b))"),
            ("a or b and c", "(a or (b and c))"),
            ("-x * 2", "((-x) * Number(2.0))"),
            (
                "amount >= 100 and is_set(card.type)",
                "((amount >= Number(100.0)) and is_set(card.type))",
            ),
            ("x == 'it''s'", "x == ..."),
            ("\"a\\\"b\" != null", "(\"a\\\"b\" != Null)"),
            ("round(1.25, 1) % 2", "(round(Number(1.25), Number(1.0)) % Number(2.0))"),
            ("today()", "today()"),
            ("true or false", "(Bool(true) or Bool(false))"),
            ("1_000.5", "Number(1000.5)"),
        ];
        for (source, expected) in cases {
            if expected == "x == ..." {
                assert!(parse(source).is_err(), "{source}");
                continue;
            }
            let expr = parse(source).unwrap_or_else(|error| panic!("{source}: {error}"));
            assert_eq!(show(&expr), expected, "{source}");
        }
    }

    #[test]
    fn reports_clear_errors() {
        let cases = [
            ("", 0, "the expression is empty"),
            ("   ", 3, "the expression is empty"),
            (
                "a + (b * 2",
                4,
                "unbalanced parenthesis: `(` at offset 4 is never closed",
            ),
            (
                "a + b)",
                5,
                "unbalanced parenthesis: `)` at offset 5 has no matching `(`",
            ),
            ("lenght(x) > 3", 0, "unknown function `lenght`; did you mean `length`?"),
            ("round(1, 2, 3)", 0, "`round` takes 1 or 2 arguments, found 3"),
            ("today(1)", 0, "`today` takes no arguments, found 1"),
            ("is_set()", 0, "`is_set` takes 1 argument, found 0"),
            ("a = 1", 2, "`=` at offset 2 is not a comparison; write `==`"),
            ("a && b", 2, "`&` at offset 2 is not an operator; write `and`"),
            ("a +", 2, "the expression ends too early: expected a value after `+`"),
            ("not", 0, "the expression ends too early: expected a value after `not`"),
            ("a b", 2, "expected an operator or the end of the expression, found `b`"),
            ("'abc", 0, "unterminated text: the `'` at offset 0 is never closed"),
            (
                "1 < x < 3",
                6,
                "comparisons cannot be chained: `<` at offset 6 follows another comparison; join them with `and`",
            ),
            (
                "$name",
                0,
                "unexpected `$` at offset 0: variables are written by name, without `$`",
            ),
            (
                "max(1 2)",
                6,
                "expected `,` or `)` in the arguments of `max`, found `2`",
            ),
            ("(a + 1 b", 7, "expected `)` to close the `(` at offset 0, found `b`"),
            ("()", 1, "expected a value, found `)`"),
            ("a # b", 2, "unexpected character `#` at offset 2"),
        ];
        for (source, offset, message) in cases {
            let error = parse(source).expect_err(source);
            assert_eq!((error.offset, error.message.as_str()), (offset, message), "{source}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&deep).unwrap_err().message.contains("nested too deeply"));
        let long = vec!["1"; 10_000].join(" + ");
        assert!(parse(&long).unwrap_err().message.contains("nested too deeply"));
        assert!(parse(&"-".repeat(10_000)).is_err());
        assert!(parse(&"not ".repeat(10_000)).is_err());
    }

    #[test]
    fn templates() {
        let parts = parse_template("Hi ${name}, you owe ${amount * 2}. $${literal}").unwrap();
        assert_eq!(parts.len(), 5);
        assert_eq!(parts[0], Part::Literal("Hi ".into()));
        assert!(matches!(&parts[1], Part::Interpolation { offset: 5, .. }));
        assert_eq!(parts[4], Part::Literal(". ${literal}".into()));
        assert_eq!(parse_template("").unwrap(), vec![]);
        assert!(matches!(
            &parse_template("${ '}' }").unwrap()[0],
            Part::Interpolation { .. }
        ));

        let cases = [
            (
                "Hi ${name",
                3,
                "unclosed `${` at offset 3: add `}` after the expression",
            ),
            (
                "Hi ${ }",
                3,
                "empty `${}` at offset 3: put a variable or expression inside",
            ),
            (
                "Hi ${lenght(x)}",
                5,
                "unknown function `lenght`; did you mean `length`?",
            ),
            (
                "ab ${x +}",
                7,
                "the expression ends too early: expected a value after `+`",
            ),
        ];
        for (source, offset, message) in cases {
            let error = parse_template(source).expect_err(source);
            assert_eq!((error.offset, error.message.as_str()), (offset, message), "{source}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(source in "\\PC*") {
            let _ = parse(&source);
            let _ = parse_template(&source);
        }

        #[test]
        fn parse_never_panics_on_expression_like_text(source in "[a-z0-9_ .,()'\"+*/%<>=!$&{}-]{0,60}") {
            let _ = parse(&source);
            let _ = parse_template(&source);
            let _ = parse_template(&format!("x ${{{source}}} y"));
        }
    }
}
