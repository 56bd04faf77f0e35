//! Which option of an options question the customer chose.
//!
//! Tried in order, the first rule that decides wins:
//! 1. the whole answer is an option's label, value or synonym (case, punctuation and spacing aside);
//! 2. an option's name appears inside the answer ("the savings account please"); a name inside a
//!    longer matched name does not count ("Savings" inside "Savings plus");
//! 3. a position: "the second one", "2nd", "last", "second to last", "the middle one" (odd
//!    counts), "option 2", "number two", "#2", "option b";
//! 4. a word of the answer that belongs to one option's names only ("the savings one" for
//!    "Savings account" beside "Checking account"), numbers included ("3" for "3 months");
//! 5. a bare number as a position ("2", "two please");
//! 6. for options named yes and no, the answer read by `yes_no` ("yeah", "nope");
//! 7. a close misspelling of a distinctive word or of a whole name ("savngs"): one edit for words
//!    of 4–6 letters, two from 7; words of 3 letters or fewer must be exact; or the start of one, of
//!    4 letters or more and at least 60% of the word, when it is the whole answer ("check" for
//!    "Checking"; not "after" for "Afternoon", nor "let me check").
//!
//! A negated mention ("not savings", "don't want checking") does not count for that option.
//!
//! A rule that finds two different options ("savings or checking", "the first or the second")
//! decides `None`: the runtime re-asks. Names therefore beat positions: with options "Economy",
//! "Business", "First", the answer "first" is the option named First.

use super::Locale;
use super::OptionRef;
use super::answer;
use super::quantity::quantity_at;
use super::token::{Kind, Token, edit_distance, n_chars, normalise, tokenize, typo_limit};

const MAX_OPTIONS: usize = 200;
const MAX_ANSWER_WORDS: usize = 64;

/// Words that say nothing about which option: they never pick one by themselves.
/// A `match`, not a list: every word of an answer, and of every name, is looked up.
fn is_filler(word: &str) -> bool {
    matches!(
        word,
        "the"
            | "a"
            | "an"
            | "one"
            | "ones"
            | "option"
            | "options"
            | "choice"
            | "please"
            | "pls"
            | "plz"
            | "i"
            | "id"
            | "i'd"
            | "im"
            | "i'm"
            | "want"
            | "wanna"
            | "would"
            | "like"
            | "take"
            | "go"
            | "with"
            | "for"
            | "me"
            | "my"
            | "that"
            | "this"
            | "it"
            | "its"
            | "it's"
            | "is"
            | "of"
            | "to"
            | "and"
            | "or"
            | "just"
            | "thanks"
            | "thank"
            | "you"
            | "number"
            | "think"
            | "prefer"
            | "pick"
            | "choose"
            | "select"
            | "guess"
            | "let's"
            | "lets"
            | "say"
            | "will"
            | "i'll"
            | "be"
            | "thx"
            | "need"
            | "get"
            | "have"
            | "in"
            | "on"
            | "at"
            | "um"
            | "uh"
            | "hmm"
            | "hi"
            | "hello"
            | "so"
            | "then"
            | "well"
            | "better"
    )
}

/// An option's names (label, value, synonyms) as word lists.
fn names(option: &OptionRef<'_>) -> Vec<Vec<String>> {
    let mut names: Vec<Vec<String>> = [option.label, option.value]
        .into_iter()
        .chain(option.synonyms.iter().map(String::as_str))
        .map(words)
        .filter(|w| !w.is_empty())
        .collect();
    names.dedup();
    names
}

fn words(text: &str) -> Vec<String> {
    tokenize(&normalise(text))
        .into_iter()
        .filter(|t| t.kind != Kind::Sym)
        .map(|t| t.text)
        .collect()
}

/// The one option among `candidates`, if they all agree.
fn unique(candidates: impl IntoIterator<Item = usize>) -> Decision {
    let mut candidates = candidates.into_iter();
    let Some(first) = candidates.next() else {
        return Decision::Undecided;
    };
    if candidates.all(|c| c == first) {
        Decision::Chosen(first)
    } else {
        Decision::Ambiguous
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Chosen(usize),
    Ambiguous,
    Undecided,
}

pub(super) fn option(text: &str, options: &[OptionRef<'_>]) -> Option<usize> {
    decide(text, options, false)
}

/// [`option`] by the first two rules only: an option named in the text. For a sentence that was
/// not an answer to the question (positions, numbers and misspellings there mean something else).
pub(super) fn option_named(text: &str, options: &[OptionRef<'_>]) -> Option<usize> {
    decide(text, options, true)
}

/// The options' names as word lists, and each name's words joined by spaces, computed once per
/// set of options: a question's options are read again with every answer to it.
struct Prepared {
    names: Vec<Vec<Vec<String>>>,
    joined: Vec<Vec<String>>,
}

impl Prepared {
    fn new(options: &[OptionRef<'_>]) -> Prepared {
        let names: Vec<Vec<Vec<String>>> = options.iter().map(names).collect();
        let joined = names
            .iter()
            .map(|names| names.iter().map(|name| name.join(" ")).collect())
            .collect();
        Prepared { names, joined }
    }
}

/// Sets of options prepared recently on this thread, by a hash of their names.
const PREPARED_KEPT: usize = 64;

thread_local! {
    /// A memo, not state: the same options always prepare the same way, so what is kept changes
    /// only how fast an answer is read, never what it reads as.
    static PREPARED: std::cell::RefCell<Vec<(u64, std::rc::Rc<Prepared>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `options` prepared, from the memo when they were seen recently.
fn prepared(options: &[OptionRef<'_>]) -> std::rc::Rc<Prepared> {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = super::token::Fnv::default();
    for option in options {
        (option.label, option.value, option.synonyms).hash(&mut hasher);
    }
    let key = hasher.finish();
    PREPARED.with(|kept| {
        let mut kept = kept.borrow_mut();
        if let Some((_, found)) = kept.iter().find(|(hash, _)| *hash == key) {
            return found.clone();
        }
        let fresh = std::rc::Rc::new(Prepared::new(options));
        if kept.len() == PREPARED_KEPT {
            kept.remove(0);
        }
        kept.push((key, fresh.clone()));
        fresh
    })
}

fn decide(text: &str, options: &[OptionRef<'_>], named_only: bool) -> Option<usize> {
    // Options questions have a handful of options and short answers; the caps bound the fuzzy rule's work.
    let options = &options[..options.len().min(MAX_OPTIONS)];
    let tokens = tokenize(&normalise(text));
    let answer: Vec<String> = tokens
        .iter()
        .filter(|t| t.kind != Kind::Sym)
        .take(MAX_ANSWER_WORDS)
        .map(|t| t.text.clone())
        .collect();
    let prepared = prepared(options);
    let all_names = &prepared.names;
    let rules: [&dyn Fn() -> Decision; 7] = [
        &|| whole_answer(&answer, all_names),
        &|| name_inside(&answer, all_names),
        &|| position(&tokens, options.len()),
        &|| distinctive_word(&answer, all_names, |a, b| a == b),
        &|| bare_number(&tokens, options.len()),
        &|| yes_or_no(text, all_names),
        &|| misspelt(&answer, &prepared),
    ];
    let n_rules = if named_only { 2 } else { rules.len() };
    for rule in &rules[..n_rules] {
        match rule() {
            Decision::Chosen(index) => return Some(index),
            Decision::Ambiguous => return None,
            Decision::Undecided => {}
        }
    }
    None
}

fn whole_answer(answer: &[String], all_names: &[Vec<Vec<String>>]) -> Decision {
    if answer.is_empty() {
        return Decision::Undecided;
    }
    unique(
        all_names
            .iter()
            .enumerate()
            .filter(|(_, names)| names.iter().any(|n| n == answer))
            .map(|(i, _)| i),
    )
}

/// Whether the answer's word at `at` is negated ("not savings", "don't want checking").
fn negated(answer: &[String], at: usize) -> bool {
    let negator = |w: &str| matches!(w, "not" | "don't" | "dont" | "no" | "never" | "except" | "without");
    let before = |k: usize| at.checked_sub(k).map(|i| answer[i].as_str());
    before(1).is_some_and(negator) || (before(2).is_some_and(negator) && before(1).is_some_and(is_filler))
}

fn name_inside(answer: &[String], all_names: &[Vec<Vec<String>>]) -> Decision {
    // (option, start, end) of every occurrence of a name in the answer.
    let mut spans: Vec<(usize, usize, usize)> = Vec::new();
    for (option, names) in all_names.iter().enumerate() {
        for name in names {
            // A name made only of filler words ("the one") would match too much.
            if name.iter().all(|w| is_filler(w)) || name.len() > answer.len() {
                continue;
            }
            for start in 0..=answer.len() - name.len() {
                if answer[start..start + name.len()] == name[..] && !negated(answer, start) {
                    spans.push((option, start, start + name.len()));
                }
            }
        }
    }
    let inside_longer = |(option, start, end): &(usize, usize, usize)| {
        spans
            .iter()
            .any(|(o, s, e)| o != option && s <= start && end <= e && e - s > end - start)
    };
    unique(
        spans
            .iter()
            .filter(|span| !inside_longer(span))
            .map(|(option, _, _)| *option),
    )
}

/// Positions named in the answer, 0-based; `n_options` resolves "last".
fn position(tokens: &[Token], n_options: usize) -> Decision {
    let word = |i: usize| tokens.get(i).filter(|t| t.kind == Kind::Word).map(|t| t.text.as_str());
    let mut positions: Vec<Option<usize>> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let from_last = match (word(i), word(i + 1), word(i + 2)) {
            (Some("second" | "2nd"), Some("to" | "from"), Some("last")) => Some((1, 3)),
            (Some("second"), Some("last"), _) | (Some("next"), Some("to"), Some("last")) => {
                Some((1, 2 + usize::from(word(i + 1) == Some("to"))))
            }
            (Some("penultimate"), _, _) => Some((1, 1)),
            (Some("last" | "final" | "bottom"), _, _) => Some((0, 1)),
            _ => None,
        };
        if let Some((back, length)) = from_last {
            positions.push(n_options.checked_sub(back + 1));
            i += length;
            continue;
        }
        if word(i) == Some("middle") {
            positions.push(Some(n_options / 2).filter(|_| n_options % 2 == 1));
            i += 1;
            continue;
        }
        if word(i) == Some("top") {
            positions.push(Some(0));
            i += 1;
            continue;
        }
        // "option 2", "number two", "#2", "no. 2", "option b".
        let introducer = tokens[i].is_any(&["option", "number", "choice", "item", "no", "nr", "num"])
            || tokens[i].is_sym('#')
            || tokens[i].is_sym('№');
        let skip = usize::from(tokens.get(i + 1).is_some_and(|t| t.is_sym('.')));
        if introducer {
            let at = i + 1 + skip;
            let hash_glued = !tokens[i].is_sym('#') || tokens.get(at).is_some_and(|t| t.joined);
            if let Some(quantity) = quantity_at(tokens, at, Locale::default(), false)
                .filter(|q| !q.ordinal && q.value.fract() == 0.0 && hash_glued)
            {
                positions.push(position_from_count(quantity.value, n_options));
                i = quantity.end;
                continue;
            }
            let letter = word(at)
                .filter(|w| w.len() == 1 && tokens[i].is_any(&["option", "choice"]))
                .and_then(|w| w.chars().next());
            if let Some(letter @ 'a'..='j') = letter {
                positions.push(Some(letter as usize - 'a' as usize).filter(|p| *p < n_options));
                i = at + 1;
                continue;
            }
        }
        if let Some(quantity) = quantity_at(tokens, i, Locale::default(), false).filter(|q| q.ordinal) {
            positions.push(position_from_count(quantity.value, n_options));
            i = quantity.end;
            continue;
        }
        i += 1;
    }
    if positions.is_empty() {
        return Decision::Undecided;
    }
    // An impossible position ("the fifth one" of three) decides `None` as surely as two positions do.
    let first = positions[0];
    match first {
        Some(index) if positions.iter().all(|p| *p == first) => Decision::Chosen(index),
        _ => Decision::Ambiguous,
    }
}

fn position_from_count(count: f64, n_options: usize) -> Option<usize> {
    let whole = count.fract() == 0.0 && count >= 1.0 && count <= n_options as f64;
    whole.then(|| count as usize - 1)
}

/// Words of the answer that belong to exactly one option's names, compared with `same`.
fn distinctive_word(answer: &[String], all_names: &[Vec<Vec<String>>], same: impl Fn(&str, &str) -> bool) -> Decision {
    let mut votes = Vec::new();
    let words = answer
        .iter()
        .enumerate()
        .filter(|(at, w)| !is_filler(w) && !negated(answer, *at));
    for (_, word) in words {
        let mut owners = all_names
            .iter()
            .enumerate()
            .filter(|(_, names)| names.iter().flatten().any(|n| !is_filler(n) && same(word, n)))
            .map(|(i, _)| i);
        if let (Some(owner), None) = (owners.next(), owners.next()) {
            votes.push(owner);
        }
    }
    unique(votes)
}

/// For options named yes and no (or true and false), the answer read as yes or no ("yeah", "nope").
fn yes_or_no(text: &str, all_names: &[Vec<Vec<String>>]) -> Decision {
    let named = |words: [&str; 2]| {
        all_names
            .iter()
            .position(|names| names.iter().any(|n| n.len() == 1 && words.contains(&n[0].as_str())))
    };
    let (Some(yes), Some(no)) = (named(["yes", "true"]), named(["no", "false"])) else {
        return Decision::Undecided;
    };
    match answer::yes_no(text) {
        Some(true) => Decision::Chosen(yes),
        Some(false) => Decision::Chosen(no),
        None => Decision::Undecided,
    }
}

fn bare_number(tokens: &[Token], n_options: usize) -> Decision {
    let meaningful: Vec<usize> = (0..tokens.len())
        .filter(|i| tokens[*i].kind != Kind::Sym && !is_filler(&tokens[*i].text))
        .collect();
    let Some(&first) = meaningful.first() else {
        return Decision::Undecided;
    };
    let Some(quantity) = quantity_at(tokens, first, Locale::default(), false).filter(|q| !q.ordinal) else {
        return Decision::Undecided;
    };
    let only_the_number = meaningful.iter().all(|i| *i < quantity.end);
    if !only_the_number {
        return Decision::Undecided;
    }
    match position_from_count(quantity.value, n_options) {
        Some(index) => Decision::Chosen(index),
        None => Decision::Ambiguous,
    }
}

fn misspelt(answer: &[String], prepared: &Prepared) -> Decision {
    let all_names = &prepared.names;
    // Whole names first ("chequing acount"), then single distinctive words.
    let joined = answer
        .iter()
        .filter(|w| !is_filler(w))
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let n_joined = n_chars(&joined);
    let mut best: Option<(usize, usize)> = None;
    let mut tied = false;
    for (option, names) in prepared.joined.iter().enumerate() {
        for name in names {
            let limit = typo_limit(n_chars(name).min(n_joined));
            let Some(distance) = edit_distance(&joined, name, limit) else {
                continue;
            };
            match best {
                Some((o, d)) if d < distance || (d == distance && o == option) => {}
                Some((_, d)) if d == distance => tied = true,
                _ => {
                    best = Some((option, distance));
                    tied = false;
                }
            }
        }
    }
    if let Some((option, _)) = best {
        return if tied {
            Decision::Ambiguous
        } else {
            Decision::Chosen(option)
        };
    }
    // A prefix stands for a name only when it is the whole answer: "check" is Checking, "let me check" is not.
    let n_content_words = answer.iter().filter(|w| !is_filler(w)).count();
    distinctive_word(answer, all_names, |word, name| {
        let (word_len, name_len) = (n_chars(word), n_chars(name));
        let len = word_len.min(name_len);
        let prefix = n_content_words == 1 && word_len >= 4 && 5 * word_len >= 3 * name_len && name.starts_with(word);
        prefix || (len >= 4 && edit_distance(word, name, typo_limit(len)).is_some())
    })
}
