//! Yes or no.
//!
//! Reads yes: "yes", "yep", "yeah", "yup", "y", "sure", "sure thing", "absolutely", "of course",
//! "definitely", "correct", "that's right", "I think so", "go ahead", "please do", "I do",
//! "no problem", "👍", a few foreign words ("oui", "sí", "ja"), and weakly "ok", "okay", "fine",
//! "alright", "good", "right". Reads no: "no", "nope", "nah", "n", "negative", "never",
//! "not really", "not at all", "no thanks", "I don't think so", "I don't", "of course not",
//! "absolutely not", "incorrect", "wrong", "👎", "non", "nein". Letters repeated for emphasis
//! are folded ("yesss", "noooo"; doubled letters stay, "noon" is not "non"). A negation flips a yes ("not correct", "not ok").
//!
//! Decisions: doubt or confusion anywhere ("maybe", "not sure", "I don't know", "no idea",
//! "I don't understand", "never mind") reads as `None`, even beside a yes; a weak yes gives way
//! to a clear no ("ok, no thanks" is no); a clear yes and a clear no together ("yes no") read as
//! `None`.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::token::{FnvBuildHasher, Kind, normalise, tokenize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Polarity {
    Yes,
    WeakYes,
    No,
    Unsure,
}

const PHRASES: &[(&str, Polarity)] = &[
    ("maybe", Polarity::Unsure),
    ("mayb", Polarity::Unsure),
    ("perhaps", Polarity::Unsure),
    ("possibly", Polarity::Unsure),
    ("probably", Polarity::Unsure),
    ("not sure", Polarity::Unsure),
    ("unsure", Polarity::Unsure),
    ("not certain", Polarity::Unsure),
    ("uncertain", Polarity::Unsure),
    ("dunno", Polarity::Unsure),
    ("idk", Polarity::Unsure),
    ("dont know", Polarity::Unsure),
    ("do not know", Polarity::Unsure),
    ("no idea", Polarity::Unsure),
    ("not decided", Polarity::Unsure),
    ("undecided", Polarity::Unsure),
    ("might", Polarity::Unsure),
    ("depends", Polarity::Unsure),
    ("who knows", Polarity::Unsure),
    ("kind of", Polarity::Unsure),
    ("kinda", Polarity::Unsure),
    ("sort of", Polarity::Unsure),
    ("sorta", Polarity::Unsure),
    ("cant say", Polarity::Unsure),
    ("cannot say", Polarity::Unsure),
    ("hmm", Polarity::Unsure),
    ("hm", Polarity::Unsure),
    ("dont remember", Polarity::Unsure),
    ("dont care", Polarity::Unsure),
    ("dont understand", Polarity::Unsure),
    ("do not understand", Polarity::Unsure),
    ("dont get it", Polarity::Unsure),
    ("dont follow", Polarity::Unsure),
    ("what do you mean", Polarity::Unsure),
    ("never mind", Polarity::Unsure),
    ("nevermind", Polarity::Unsure),
    ("whatever", Polarity::Unsure),
    ("either", Polarity::Unsure),
    ("yes", Polarity::Yes),
    ("yess", Polarity::Yes),
    ("yees", Polarity::Yes),
    ("yeah", Polarity::Yes),
    ("yea", Polarity::Yes),
    ("yeh", Polarity::Yes),
    ("yah", Polarity::Yes),
    ("ya", Polarity::Yes),
    ("yep", Polarity::Yes),
    ("yup", Polarity::Yes),
    ("yas", Polarity::Yes),
    ("ye", Polarity::Yes),
    ("yis", Polarity::Yes),
    ("yse", Polarity::Yes),
    ("y", Polarity::Yes),
    ("aye", Polarity::Yes),
    ("yessir", Polarity::Yes),
    ("sure", Polarity::Yes),
    ("sure thing", Polarity::Yes),
    ("absolutely", Polarity::Yes),
    ("definitely", Polarity::Yes),
    ("certainly", Polarity::Yes),
    ("of course", Polarity::Yes),
    ("ofc", Polarity::Yes),
    ("indeed", Polarity::Yes),
    ("affirmative", Polarity::Yes),
    ("correct", Polarity::Yes),
    ("thats correct", Polarity::Yes),
    ("that is correct", Polarity::Yes),
    ("thats right", Polarity::Yes),
    ("that is right", Polarity::Yes),
    ("exactly", Polarity::Yes),
    ("precisely", Polarity::Yes),
    ("true", Polarity::Yes),
    ("totally", Polarity::Yes),
    ("for sure", Polarity::Yes),
    ("agreed", Polarity::Yes),
    ("i agree", Polarity::Yes),
    ("confirm", Polarity::Yes),
    ("confirmed", Polarity::Yes),
    ("please do", Polarity::Yes),
    ("go ahead", Polarity::Yes),
    ("do it", Polarity::Yes),
    ("i do", Polarity::Yes),
    ("i did", Polarity::Yes),
    ("i would", Polarity::Yes),
    ("i think so", Polarity::Yes),
    ("i dont mind", Polarity::Yes),
    ("dont mind", Polarity::Yes),
    ("i do not mind", Polarity::Yes),
    ("i guess so", Polarity::Yes),
    ("i believe so", Polarity::Yes),
    ("why not", Polarity::Yes),
    ("sounds good", Polarity::Yes),
    ("sounds great", Polarity::Yes),
    ("no problem", Polarity::Yes),
    ("no worries", Polarity::Yes),
    ("no doubt", Polarity::Yes),
    ("you bet", Polarity::Yes),
    ("yes please", Polarity::Yes),
    ("oui", Polarity::Yes),
    ("si", Polarity::Yes),
    ("sí", Polarity::Yes),
    ("ja", Polarity::Yes),
    ("ok", Polarity::WeakYes),
    ("okay", Polarity::WeakYes),
    ("okey", Polarity::WeakYes),
    ("k", Polarity::WeakYes),
    ("alright", Polarity::WeakYes),
    ("all right", Polarity::WeakYes),
    ("fine", Polarity::WeakYes),
    ("thats fine", Polarity::WeakYes),
    ("good", Polarity::WeakYes),
    ("great", Polarity::WeakYes),
    ("cool", Polarity::WeakYes),
    ("perfect", Polarity::WeakYes),
    ("right", Polarity::WeakYes),
    ("no", Polarity::No),
    ("noo", Polarity::No),
    ("nope", Polarity::No),
    ("nah", Polarity::No),
    ("na", Polarity::No),
    ("nay", Polarity::No),
    ("n", Polarity::No),
    ("nop", Polarity::No),
    ("never", Polarity::No),
    ("negative", Polarity::No),
    ("not really", Polarity::No),
    ("not at all", Polarity::No),
    ("not now", Polarity::No),
    ("not yet", Polarity::No),
    ("not today", Polarity::No),
    ("not interested", Polarity::No),
    ("no thanks", Polarity::No),
    ("no thank you", Polarity::No),
    ("no way", Polarity::No),
    ("no need", Polarity::No),
    ("i dont", Polarity::No),
    ("i do not", Polarity::No),
    ("i didnt", Polarity::No),
    ("i did not", Polarity::No),
    ("i wouldnt", Polarity::No),
    ("i dont think so", Polarity::No),
    ("i do not think so", Polarity::No),
    ("dont think so", Polarity::No),
    ("i think not", Polarity::No),
    ("think not", Polarity::No),
    ("i dont want", Polarity::No),
    ("dont", Polarity::No),
    ("do not", Polarity::No),
    ("rather not", Polarity::No),
    ("incorrect", Polarity::No),
    ("wrong", Polarity::No),
    ("false", Polarity::No),
    ("thats wrong", Polarity::No),
    ("non", Polarity::No),
    ("nein", Polarity::No),
];

/// Words that turn a following yes into a no ("not correct", "isn't right").
const NEGATORS: [&str; 7] = ["not", "isnt", "arent", "wasnt", "dont", "doesnt", "aint"];

/// Folds runs of three or more of a letter, typed for emphasis: "yesss" → "yes", "noooo" → "no".
/// Doubled letters stay, so "noon" is not "non" and "good" not "god".
fn fold(word: &str) -> String {
    let mut folded = String::with_capacity(word.len());
    let mut chars = word.chars().filter(|c| *c != '\'').peekable();
    while let Some(c) = chars.next() {
        let mut run = 1;
        while chars.next_if_eq(&c).is_some() {
            run += 1;
        }
        let kept = if run >= 3 { 1 } else { run };
        folded.extend(std::iter::repeat_n(c, kept));
    }
    folded
}

/// The phrase table, folded and split into words, longest phrases first.
static TABLE: LazyLock<Vec<(Vec<String>, Polarity)>> = LazyLock::new(|| {
    let mut table: Vec<(Vec<String>, Polarity)> = PHRASES
        .iter()
        .map(|(phrase, polarity)| (phrase.split(' ').map(fold).collect(), *polarity))
        .collect();
    table.sort_by_key(|(words, _)| std::cmp::Reverse(words.len()));
    table
});

/// [`TABLE`] by each phrase's first word, in the table's order (longest first), so a position
/// is matched against the phrases that start with its word only.
/// Phrases that start with one word: each phrase's words and what it answers.
type PhrasesFrom = Vec<(&'static [String], Polarity)>;

static BY_FIRST_WORD: LazyLock<HashMap<&'static str, PhrasesFrom, FnvBuildHasher>> = LazyLock::new(|| {
    let mut by_first: HashMap<&'static str, PhrasesFrom, FnvBuildHasher> = HashMap::default();
    for (words, polarity) in TABLE.iter() {
        if let Some(first) = words.first() {
            by_first
                .entry(first.as_str())
                .or_default()
                .push((words.as_slice(), *polarity));
        }
    }
    by_first
});

enum Item {
    Word(String),
    Emoji(Polarity),
    Break,
}

pub(super) fn yes_no(text: &str) -> Option<bool> {
    let items: Vec<Item> = tokenize(&normalise(text))
        .into_iter()
        .map(|token| match token.kind {
            Kind::Word => Item::Word(fold(&token.text)),
            Kind::Num => Item::Break,
            Kind::Sym => match token.text.as_str() {
                "👍" | "👌" | "✅" | "✔" | "☑" | "🙆" => Item::Emoji(Polarity::Yes),
                "👎" | "❌" | "✖" | "🚫" | "🙅" => Item::Emoji(Polarity::No),
                _ => Item::Break,
            },
        })
        .collect();
    let word = |i: usize| match items.get(i) {
        Some(Item::Word(w)) => Some(w.as_str()),
        _ => None,
    };
    let matches_at =
        |i: usize, words: &[String]| words.iter().enumerate().all(|(k, w)| word(i + k) == Some(w.as_str()));
    // The phrases that start at each position, looked up once.
    let starting: Vec<&[(&[String], Polarity)]> = (0..items.len())
        .map(|i| {
            word(i)
                .and_then(|first| BY_FIRST_WORD.get(first))
                .map_or(&[][..], Vec::as_slice)
        })
        .collect();
    let phrase_at = |i: usize| starting[i].iter().find(|(words, _)| matches_at(i, words));
    // Doubt anywhere wins, even where a longer yes or no phrase overlaps it ("I don't know").
    let unsure = (0..items.len()).any(|i| {
        starting[i]
            .iter()
            .any(|(words, polarity)| *polarity == Polarity::Unsure && matches_at(i, words))
    });
    if unsure {
        return None;
    }
    let mut seen = Vec::new();
    let mut i = 0;
    while i < items.len() {
        if let Item::Emoji(polarity) = items[i] {
            seen.push(polarity);
            i += 1;
            continue;
        }
        let Some((words, polarity)) = phrase_at(i) else {
            i += 1;
            continue;
        };
        let mut polarity = *polarity;
        let mut end = i + words.len();
        let affirmative = matches!(polarity, Polarity::Yes | Polarity::WeakYes);
        let negated_before = i > 0 && word(i - 1).is_some_and(|w| NEGATORS.contains(&w));
        let negated_after = word(end) == Some("not");
        if affirmative && (negated_before || negated_after) {
            polarity = Polarity::No;
            end += usize::from(negated_after);
        }
        seen.push(polarity);
        i = end;
    }
    let strong_yes = seen.contains(&Polarity::Yes);
    let no = seen.contains(&Polarity::No);
    let weak_yes = seen.contains(&Polarity::WeakYes);
    match (strong_yes, no, weak_yes) {
        (true, true, _) => None,
        (true, false, _) => Some(true),
        (false, true, _) => Some(false),
        (false, false, true) => Some(true),
        (false, false, false) => None,
    }
}
