//! Email addresses and phone numbers found in an answer.
//!
//! Email: the usual `local@domain.tld` shape, with the domain lower-cased and trailing sentence
//! punctuation dropped; the domain needs a dot and an alphabetic top-level label of two letters
//! or more, so "me at home" and "a@b" are not addresses. Addresses spelt out for spam filters
//! or speech ("john at example dot com", "jane [at] mail [dot] com") are read when no written
//! address is present; they need at least one "dot".
//!
//! Phone: 7 to 15 digits (E.164's limit), optionally after a `+`, grouped with spaces, dashes,
//! dots or parentheses: "+1 (555) 123-4567", "020 7946 0958", "555.123.4567". The national
//! trunk "(0)" after a country code is dropped ("+44 (0)20 …" → "+4420…"). Normalised to digits
//! with the `+` kept; "00" international prefixes are kept as written. Dates ("2026-03-04",
//! "03.04.2026"), decimals ("3.14159265") and digit runs glued to letters ("A1234567") are not
//! phone numbers.
//!
//! Two different addresses or numbers in one answer read as `None`.

use super::token::clip;

const LOCAL_PUNCTUATION: &str = ".!#$%&'*+/=?^_`{|}~-";

fn email_at(chars: &[char], at: usize) -> Option<String> {
    let local_char = |c: char| c.is_alphanumeric() || LOCAL_PUNCTUATION.contains(c);
    let domain_char = |c: char| c.is_alphanumeric() || c == '.' || c == '-';
    let mut start = at;
    while start > 0 && local_char(chars[start - 1]) && at - start < 64 {
        start -= 1;
    }
    let mut end = at + 1;
    while end < chars.len() && domain_char(chars[end]) && end - at < 254 {
        end += 1;
    }
    let local: String = chars[start..at].iter().collect();
    let local = local.trim_start_matches(['\'', '.', '`', '{', '|', '}']);
    let domain: String = chars[at + 1..end].iter().collect();
    let domain = domain.trim_end_matches(['.', '-']).to_lowercase();
    let local_ok = !local.is_empty() && !local.starts_with('.') && !local.ends_with('.') && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let labels_ok = labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().count() <= 63 && !l.starts_with('-') && !l.ends_with('-'));
    let tld_ok = labels
        .last()
        .is_some_and(|tld| tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic));
    (local_ok && labels_ok && tld_ok).then(|| format!("{local}@{domain}"))
}

/// "john at example dot com", "jane [at] mail [dot] co [dot] uk": spelt out, with at least one "dot".
fn spoken_emails(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let is = |i: usize, keyword: &str| {
        words.get(i).is_some_and(|w| {
            w.trim_matches(['(', ')', '[', ']', '<', '>', '{', '}'])
                .eq_ignore_ascii_case(keyword)
        })
    };
    let mut found = Vec::new();
    for at in 1..words.len() {
        if !is(at, "at") || !is(at + 2, "dot") {
            continue;
        }
        let mut address = format!("{}@{}", words[at - 1], words[at + 1]);
        let mut j = at + 2;
        while is(j, "dot") && j + 1 < words.len() {
            address.push('.');
            address.push_str(words[j + 1]);
            j += 2;
        }
        let chars: Vec<char> = address.chars().collect();
        let at_index = chars.iter().position(|c| *c == '@').unwrap_or(0);
        found.extend(email_at(&chars, at_index));
    }
    found
}

pub(super) fn email(text: &str) -> Option<String> {
    let text = clip(text);
    let chars: Vec<char> = text.chars().collect();
    let mut found: Vec<String> = (0..chars.len())
        .filter(|i| chars[*i] == '@')
        .filter_map(|at| email_at(&chars, at))
        .collect();
    if found.is_empty() {
        found = spoken_emails(text);
    }
    let first = found.first()?;
    found
        .iter()
        .all(|e| e.eq_ignore_ascii_case(first))
        .then(|| first.clone())
}

/// A phone-shaped run starting at `start`: the normalised number and where the run ends.
fn phone_at(chars: &[char], start: usize) -> (Option<String>, usize) {
    let mut number = String::new();
    let mut i = start;
    if chars[i] == '+' {
        number.push('+');
        i += 1;
        while i < chars.len() && chars[i] == ' ' {
            i += 1;
        }
    }
    let mut n_digits = 0;
    let mut groups: Vec<usize> = Vec::new();
    let mut separators = String::new();
    let mut group = 0;
    let mut end = i;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            number.push(c);
            n_digits += 1;
            group += 1;
            i += 1;
            end = i;
            continue;
        }
        // "(0)" after a country code is the national trunk prefix: dropped.
        let trunk =
            c == '(' && number.starts_with('+') && chars.get(i + 1) == Some(&'0') && chars.get(i + 2) == Some(&')');
        if trunk {
            i += 3;
            continue;
        }
        // A short run of separators, then a digit or an opening parenthesis, continues the number.
        let mut j = i;
        let trunk_at = |j: usize| {
            chars[j] == '('
                && number.starts_with('+')
                && chars.get(j + 1) == Some(&'0')
                && chars.get(j + 2) == Some(&')')
        };
        while j < chars.len() && j - i < 3 && matches!(chars[j], ' ' | '-' | '.' | '(' | ')') && !(j > i && trunk_at(j))
        {
            j += 1;
        }
        let run: String = chars[i..j].iter().collect();
        let continues = j > i && chars.get(j).is_some_and(|c| c.is_ascii_digit() || *c == '(');
        let sane = run.matches(['-', '.']).count() <= 1 && run.matches("  ").count() == 0;
        if !(continues && sane) {
            break;
        }
        if group > 0 {
            groups.push(group);
        }
        group = 0;
        separators.push_str(run.trim());
        i = j;
    }
    if group > 0 {
        groups.push(group);
    }
    let glued_to_letter = chars.get(end).is_some_and(|c| c.is_alphabetic());
    let date_like = matches!(groups[..], [4, 2, 2] | [2, 2, 4] | [1, 2, 4] | [2, 1, 4] | [1, 1, 4])
        && (separators == "--" || separators == ".." || separators == "//");
    let decimal_like = separators == "." && !number.starts_with('+');
    let valid = (7..=15).contains(&n_digits) && !glued_to_letter && !date_like && !decimal_like;
    (valid.then_some(number), end.max(start + 1))
}

pub(super) fn phone(text: &str) -> Option<String> {
    let chars: Vec<char> = clip(text).chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let opens = c.is_ascii_digit()
            || (c == '+'
                && chars
                    .get(i + 1)
                    .is_some_and(|n| n.is_ascii_digit() || *n == ' ' || *n == '('))
            || (c == '(' && chars.get(i + 1).is_some_and(char::is_ascii_digit));
        let glued =
            i > 0 && (chars[i - 1].is_alphanumeric() || matches!(chars[i - 1], '/' | ',' | '.' | ':' | '_' | '@'));
        if opens && !glued {
            let (number, end) = phone_at(&chars, i);
            found.extend(number);
            i = end;
        } else {
            i += 1;
        }
    }
    let first = found.first()?;
    found.iter().all(|n| n == first).then(|| first.clone())
}
