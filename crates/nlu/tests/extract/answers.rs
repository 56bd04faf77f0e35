//! Yes or no, and choosing one of a question's options.

use super::*;

#[test]
fn yes_no_reads_agreement_and_refusal() {
    let yes = [
        "yes",
        "Yes.",
        "YES!",
        "yesss",
        "yep",
        "yup",
        "yeah",
        "yea",
        "ya",
        "y",
        "Y",
        "aye",
        "sure",
        "sure thing",
        "Sure!",
        "absolutely",
        "definitely",
        "certainly",
        "of course",
        "ofc",
        "ok",
        "OK",
        "okay",
        "k",
        "alright",
        "all right",
        "fine",
        "correct",
        "that's right",
        "that’s right",
        "thats correct",
        "exactly",
        "indeed",
        "affirmative",
        "yes please",
        "please do",
        "go ahead",
        "I do",
        "I think so",
        "i guess so",
        "why not",
        "sounds good",
        "no problem",
        "yes, no problem",
        "yes of course",
        "yes I want to cancel my order",
        "👍",
        "ok 👍",
        "oui",
        "sí",
        "ja",
        "yes yes",
        "sure, that's fine",
        "right",
        "perfect",
        "true",
        "you bet",
        "for sure",
        "yeah sure",
        "I'm sure",
        "Yes, thank you!",
        "I don't mind",
        "don't mind at all",
    ];
    let no = [
        "no",
        "No.",
        "NO!",
        "noooo",
        "nope",
        "nah",
        "n",
        "N",
        "not really",
        "no thanks",
        "no thank you",
        "negative",
        "I don't think so",
        "i dont think so",
        "I do not think so",
        "never",
        "no way",
        "not at all",
        "not now",
        "absolutely not",
        "definitely not",
        "of course not",
        "certainly not",
        "incorrect",
        "that's wrong",
        "wrong",
        "not correct",
        "not right",
        "isn't right",
        "not ok",
        "nein",
        "non",
        "👎",
        "no, that's fine",
        "ok, no thanks",
        "I don't",
        "no no no",
        "I'd rather not",
        "not interested",
        "no I don't want that",
        "nope, not today",
        "false",
        "I think not",
        "not good",
    ];
    let neither = [
        "maybe",
        "not sure",
        "I'm not sure",
        "perhaps",
        "possibly",
        "I don't know",
        "dunno",
        "idk",
        "no idea",
        "yes no",
        "yes and no",
        "no, yes",
        "yes or no",
        "maybe yes",
        "yes but I'm not sure",
        "it depends",
        "hmm",
        "kind of",
        "sort of",
        "what?",
        "who are you",
        "cancel my order",
        "",
        "   ",
        "🤔",
        "42",
        "yesterday",
        "nothing",
        "none",
        "notebook",
        "know",
        "yellow",
        "yeast",
        "nobody",
        "noon",
    ];
    let mut cases: Vec<(&str, Option<bool>)> = Vec::new();
    cases.extend(yes.iter().map(|t| (*t, Some(true))));
    cases.extend(no.iter().map(|t| (*t, Some(false))));
    cases.extend(neither.iter().map(|t| (*t, None)));
    check("yes_no", &cases, extract::yes_no);
}
#[test]
fn option_named_reads_names_and_nothing_looser() {
    let accounts: &[(&str, &str, &[&str])] = &[
        ("Savings account", "savings", &["saver"]),
        ("Checking account", "checking", &["current account"]),
    ];
    let named = |text: &str| choose_with(extract::option_named, text, accounts);
    let cases = [
        ("what's in my savings account", Some(0)),
        ("move it from my current account", Some(1)),
        ("checking", Some(1)),
        ("transfer from savings to checking", None),
        ("not my savings account", None),
        ("the second one", None),
        ("2", None),
        ("my savngs account", None),
        ("what is my balance", None),
    ];
    check("option_named", &cases, named);
    // The full reader takes what option_named refuses.
    assert_eq!(choose("the second one", accounts), Some(1));
}

#[test]
fn option_reads_names_positions_and_misspellings() {
    let accounts: &[(&str, &str, &[&str])] = &[
        ("Savings account", "savings", &["saver"]),
        ("Checking account", "checking", &["current account", "chequing"]),
        ("Credit card", "credit_card", &[]),
    ];
    let cases: &[(&str, Option<usize>)] = &[
        ("Savings account", Some(0)),
        ("savings account", Some(0)),
        ("SAVINGS ACCOUNT!", Some(0)),
        ("savings", Some(0)),
        ("the savings one please", Some(0)),
        ("I'd like a savings account", Some(0)),
        ("saver", Some(0)),
        ("checking", Some(1)),
        ("current account", Some(1)),
        ("my current account", Some(1)),
        ("chequing", Some(1)),
        ("credit_card", Some(2)),
        ("credit card", Some(2)),
        ("the credit one", Some(2)),
        ("card", Some(2)),
        ("the first one", Some(0)),
        ("first", Some(0)),
        ("the 1st", Some(0)),
        ("the second one", Some(1)),
        ("second", Some(1)),
        ("2nd please", Some(1)),
        ("the third", Some(2)),
        ("last one", Some(2)),
        ("the last", Some(2)),
        ("second to last", Some(1)),
        ("the top one", Some(0)),
        ("2", Some(1)),
        ("#2", Some(1)),
        ("option 2", Some(1)),
        ("option two", Some(1)),
        ("number 3", Some(2)),
        ("no. 3", Some(2)),
        ("option b", Some(1)),
        ("3 please", Some(2)),
        ("two", Some(1)),
        ("savngs", Some(0)),
        ("savigns", Some(0)),
        ("the savngs one", Some(0)),
        ("chekcing", Some(1)),
        ("cheking acount", Some(1)),
        ("credt card", Some(2)),
        ("check", Some(1)),
        ("cred", Some(2)),
        ("not savings, checking", Some(1)),
        ("I don't want savings, checking please", Some(1)),
        ("the middle one", Some(1)),
        ("I'd go with the second", Some(1)),
        ("yes, the savings one", Some(0)),
        ("Savings Account.", Some(0)),
        ("not savings", None),
        ("savings, no wait, checking", None),
        ("sav acc", None),
        ("both", None),
        ("all of them", None),
        ("other", None),
        // Must not match.
        ("account", None),
        ("an account", None),
        ("savings or checking", None),
        ("the first or the second", None),
        ("the fourth one", None),
        ("4", None),
        ("0", None),
        ("#4", None),
        ("none of them", None),
        ("neither", None),
        ("", None),
        ("?!", None),
        ("mortgage", None),
        ("sav", None),
        ("I don't know", None),
        ("🙂", None),
    ];
    check("option", cases, |t| choose(t, accounts));

    let durations: &[(&str, &str, &[&str])] = &[
        ("1 month", "1m", &[]),
        ("3 months", "3m", &[]),
        ("12 months", "12m", &["a year", "one year"]),
    ];
    let duration_cases: &[(&str, Option<usize>)] = &[
        ("3", Some(1)),
        ("3 months", Some(1)),
        ("12", Some(2)),
        ("a year", Some(2)),
        ("one year please", Some(2)),
        ("the first one", Some(0)),
        ("1", Some(0)),
        ("2", Some(1)),
        ("the second one", Some(1)),
        ("months", None),
    ];
    check("option(durations)", duration_cases, |t| choose(t, durations));

    let plans: &[(&str, &str, &[&str])] = &[("Savings", "s", &[]), ("Savings Plus", "sp", &[]), ("Basic", "b", &[])];
    let plan_cases: &[(&str, Option<usize>)] = &[
        ("savings", Some(0)),
        ("savings plus", Some(1)),
        ("I'll take savings plus please", Some(1)),
        ("plus", Some(1)),
        ("basic", Some(2)),
        ("basc", Some(2)),
        ("s", Some(0)),
        ("last", Some(2)),
    ];
    check("option(plans)", plan_cases, |t| choose(t, plans));

    let classes: &[(&str, &str, &[&str])] = &[
        ("Economy", "economy", &[]),
        ("Business", "business", &[]),
        ("First", "first", &[]),
    ];
    check(
        "option(classes)",
        &[
            ("first", Some(2)),
            ("economy", Some(0)),
            ("buisness", Some(1)),
            ("the second one", Some(1)),
        ],
        |t| choose(t, classes),
    );
    let yes_no: &[(&str, &str, &[&str])] = &[("Yes", "yes", &[]), ("No", "no", &[])];
    let yes_no_cases: &[(&str, Option<usize>)] = &[
        ("yes", Some(0)),
        ("no", Some(1)),
        ("yes please", Some(0)),
        ("yeah", Some(0)),
        ("y", Some(0)),
        ("nope", Some(1)),
        ("no thanks", Some(1)),
        ("I don't think so", Some(1)),
        ("the first one", Some(0)),
        ("maybe", None),
    ];
    check("option(yes_no)", yes_no_cases, |t| choose(t, yes_no));

    let services: &[(&str, &str, &[&str])] = &[
        ("Internet", "internet", &["wifi", "broadband"]),
        ("Mobile", "mobile", &["cell phone", "phone"]),
        ("TV", "tv", &["television"]),
        ("Landline", "landline", &["home phone"]),
    ];
    let service_cases: &[(&str, Option<usize>)] = &[
        ("my wifi is down", Some(0)),
        ("the phone", Some(1)),
        ("my home phone", Some(3)),
        ("cell phone", Some(1)),
        ("home", Some(3)),
        ("intenet", Some(0)),
        ("televison", Some(2)),
        ("tv", Some(2)),
        ("landlien", Some(3)),
        ("4", Some(3)),
        ("the last one", Some(3)),
        ("the middle one", None),
        ("tv and internet", None),
        ("telly", None),
    ];
    check("option(services)", service_cases, |t| choose(t, services));

    let slots: &[(&str, &str, &[&str])] = &[
        ("Morning (8-12)", "am", &[]),
        ("Afternoon (12-5)", "pm", &[]),
        ("Evening (5-8)", "eve", &[]),
    ];
    let slot_cases: &[(&str, Option<usize>)] = &[
        ("mornings", Some(0)),
        ("in the afternoon", Some(1)),
        ("evening please", Some(2)),
        ("8-12", Some(0)),
        ("the 2nd", Some(1)),
        ("afternoon or evening", None),
        ("after 5", None),
    ];
    check("option(slots)", slot_cases, |t| choose(t, slots));
    check(
        "option(empty)",
        &[("anything", None), ("1", None), ("first", None)],
        |t| choose(t, &[]),
    );
}
