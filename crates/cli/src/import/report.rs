//! What an import could not carry over exactly: one note per element, with its JSON pointer in
//! the export, and counts of the actions, steps and dialog nodes that came across exactly,
//! approximately, or not at all.

use serde::Serialize;

/// How well one element of the export came across.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    #[default]
    Exact,
    Approximate,
    NotCarried,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Exact => "exact",
            Outcome::Approximate => "approximate",
            Outcome::NotCarried => "not carried over",
        }
    }
}

/// One element that was approximated or left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    /// Where the element is in the export (RFC 6901).
    pub pointer: String,
    pub outcome: Outcome,
    /// One sentence: what was done and why.
    pub message: String,
}

/// How many elements of one kind came across exactly, approximately, or not at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub exact: usize,
    pub approximate: usize,
    pub not_carried: usize,
}

impl Counts {
    pub fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Exact => self.exact += 1,
            Outcome::Approximate => self.approximate += 1,
            Outcome::NotCarried => self.not_carried += 1,
        }
    }

    /// Moves one element from one outcome to another.
    pub fn replace(&mut self, old: Outcome, new: Outcome) {
        match old {
            Outcome::Exact => self.exact = self.exact.saturating_sub(1),
            Outcome::Approximate => self.approximate = self.approximate.saturating_sub(1),
            Outcome::NotCarried => self.not_carried = self.not_carried.saturating_sub(1),
        }
        self.add(new);
    }

    pub fn total(&self) -> usize {
        self.exact + self.approximate + self.not_carried
    }
}

/// The import's report, printed after the files are written (`--json` prints it as is).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// `actions` or `dialog`.
    pub skill: &'static str,
    /// The export's name.
    pub name: String,
    /// Actions (system actions included) of an actions skill.
    pub actions: Counts,
    /// Steps of an actions skill.
    pub steps: Counts,
    /// Dialog nodes of a dialog skill.
    pub nodes: Counts,
    /// The conversation tests written under `tests/`.
    pub tests: Vec<String>,
    /// Why each test that could have been derived was not.
    pub tests_not_written: Vec<String>,
    pub notes: Vec<Note>,
}

impl Report {
    /// The human-readable report: a summary, then one line per note.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let line = |noun: &str, counts: &Counts| {
            format!(
                "{} {noun}: {} exact, {} approximate, {} not carried over\n",
                counts.total(),
                counts.exact,
                counts.approximate,
                counts.not_carried
            )
        };
        match self.skill {
            "dialog" => out.push_str(&line("dialog nodes", &self.nodes)),
            _ => {
                out.push_str(&line("actions", &self.actions));
                out.push_str(&line("steps", &self.steps));
            }
        }
        out.push_str(&format!("{} conversation tests written\n", self.tests.len()));
        for why in &self.tests_not_written {
            out.push_str(&format!("  {why}\n"));
        }
        if !self.notes.is_empty() {
            out.push('\n');
        }
        for note in &self.notes {
            out.push_str(&format!(
                "{} [{}] {}\n",
                note.pointer,
                note.outcome.label(),
                note.message
            ));
        }
        out
    }
}

/// A JSON pointer segment, escaped (RFC 6901).
pub fn segment(text: &str) -> String {
    text.replace('~', "~0").replace('/', "~1")
}
