//! E-mail addresses and phone numbers.

use super::*;

#[test]
fn email_finds_an_address() {
    let s = |e: &str| Some(e.to_owned());
    let cases: &[(&str, Option<String>)] = &[
        ("me@example.com", s("me@example.com")),
        ("my email is John.Smith@Example.COM.", s("John.Smith@example.com")),
        (
            "it's <jane+billing@mail.example.co.uk>",
            s("jane+billing@mail.example.co.uk"),
        ),
        ("mailto:ops@baton.dev", s("ops@baton.dev")),
        (
            "a_b-c@sub-domain.example.org, thanks",
            s("a_b-c@sub-domain.example.org"),
        ),
        ("(x@y.io)", s("x@y.io")),
        ("\"q@w.de\"", s("q@w.de")),
        ("me@example.com or me@example.com", s("me@example.com")),
        ("user@bücher.de", s("user@bücher.de")),
        // Must not match.
        ("john at example dot com", s("john@example.com")),
        (
            "my email is jane.doe at mail dot example dot co dot uk thanks",
            s("jane.doe@mail.example.co.uk"),
        ),
        ("jane [at] mail [dot] com", s("jane@mail.com")),
        ("me at home", None),
        ("see you at 5 dot 30", None),
        ("at dot", None),
        ("me@home", None),
        ("@example.com", None),
        ("me@", None),
        ("me@.com", None),
        ("me@example.c", None),
        ("me@example.123", None),
        ("me..you@example.com", None),
        ("a@b@c", None),
        ("one@a.com and two@b.com", None),
        ("", None),
        ("@@@@", None),
        ("no email", None),
    ];
    check("email", cases, extract::email);
}

#[test]
fn phone_finds_a_number() {
    let s = |e: &str| Some(e.to_owned());
    let cases: &[(&str, Option<String>)] = &[
        ("+1 (555) 123-4567", s("+15551234567")),
        ("+15551234567", s("+15551234567")),
        ("(555) 123-4567", s("5551234567")),
        ("555-123-4567", s("5551234567")),
        ("555.123.4567", s("5551234567")),
        ("555 123 4567", s("5551234567")),
        ("call me on 020 7946 0958 please", s("02079460958")),
        ("+44 20 7946 0958", s("+442079460958")),
        ("+44 (0)20 7946 0958", s("+442079460958")),
        ("+49 30 1234567", s("+49301234567")),
        ("0049 30 1234567", s("0049301234567")),
        ("06 12 34 56 78", s("0612345678")),
        ("555-1234", s("5551234")),
        ("my number: 5551234.", s("5551234")),
        ("555-123-4567 ext 89", s("5551234567")),
        ("+1 555 123 4567 or +1 555 123 4567", s("+15551234567")),
        // Must not match.
        ("12", None),
        ("123456", None),
        ("1234567890123456", None),
        ("no phone", None),
        ("", None),
        ("2026-03-04", None),
        ("03.04.2026", None),
        ("3.14159265", None),
        ("order A1234567", None),
        ("$1,250.50", None),
        ("15:30", None),
        ("555-1234 or 555-9876", None),
        ("+", None),
        ("+-+-+-", None),
        ("((((((", None),
    ];
    check("phone", cases, extract::phone);
}
