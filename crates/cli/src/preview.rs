//! `baton preview DIR`: chat with an assistant in the terminal, with a simulated desk.
//!
//! On a terminal it is an interactive chat (line editing and history by rustyline, colours unless
//! `NO_COLOR`); when stdin is not a terminal it reads one customer line per input line and prints
//! the transcript, so a preview can be scripted. Both print the same transcript lines as `baton test`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use chrono::Utc;

use baton_dialog::Engine;

use crate::conversation::{Agents, Conversation, Exchange, Options};
use crate::transcript::{self, Style};

/// Arguments of `baton preview`.
#[derive(Debug, clap::Args)]
pub struct PreviewArgs {
    /// The assistant folder.
    pub dir: PathBuf,
    /// Whether the simulated desk has agents online: picks the response shown after a transfer.
    #[arg(long, value_enum, default_value_t = Agents::Online)]
    pub agents: Agents,
    /// Print, per turn, the action matched, its confidence, the step and the variables.
    #[arg(long)]
    pub debug: bool,
    /// Be a phone caller: print what the caller hears and can press (the phone channel's TwiML
    /// as `[Say] …`, `[Gather speech,dtmf]`, `[Dial sip:…]`, `[Hangup]`); keys such as `1` are
    /// pressed, other text is speech, an empty line is silence.
    #[arg(long)]
    pub voice: bool,
}

pub fn run(args: PreviewArgs) -> anyhow::Result<i32> {
    let Some(assistant) = crate::check::load_reporting(&args.dir) else {
        return Ok(1);
    };
    let options = Options {
        agents: args.agents,
        debug: args.debug,
        ..Options::default()
    };
    let style = Style::detect();
    let name = assistant.name.clone();
    let engine = Engine::new(assistant);
    if args.voice {
        return crate::preview_voice::run(engine, args.agents);
    }
    let mut preview = Preview {
        conversation: Conversation::new(engine.clone(), options.clone()),
        last: Exchange::default(),
        style,
    };
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        println!(
            "{}",
            style.bold(&format!(
                "Previewing {} — type a message; a number picks an option; /restart starts over; Ctrl-D quits.",
                name
            ))
        );
    }
    preview.start()?;
    match interactive {
        true => interactive_loop(&mut preview, || Conversation::new(engine.clone(), options.clone())),
        false => scripted_loop(&mut preview),
    }
}

struct Preview {
    conversation: Conversation,
    /// The last exchange, whose option buttons a number picks.
    last: Exchange,
    style: Style,
}

impl Preview {
    fn start(&mut self) -> anyhow::Result<()> {
        let exchange = self.conversation.start(Utc::now());
        self.show(exchange, false)
    }

    /// Sends one customer line; a number picks one of the option buttons shown last.
    fn said(&mut self, typed: &str, echo: bool) -> anyhow::Result<()> {
        let picked = self.option_value(typed);
        if let Some(value) = &picked
            && !echo
        {
            // Interactively the customer typed a number; show what it sent.
            let line = transcript::Line::note(format!("  → {value}"));
            println!("{}", self.style.paint(&line));
        }
        let text = picked.unwrap_or_else(|| typed.to_owned());
        let exchange = self.conversation.said(&text, Utc::now());
        self.show(exchange, echo)
    }

    fn option_value(&self, typed: &str) -> Option<String> {
        let number: usize = typed.trim().parse().ok()?;
        let choices = self.last.last_options()?;
        let choice = choices.get(number.checked_sub(1)?)?;
        Some(choice.value.clone())
    }

    fn show(&mut self, exchange: Exchange, echo_customer: bool) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        for line in transcript::lines(&exchange.entries) {
            if line.kind == transcript::LineKind::Customer && !echo_customer {
                continue;
            }
            writeln!(out, "{}", self.style.paint(&line))?;
        }
        out.flush()?;
        self.last = exchange;
        Ok(())
    }
}

fn scripted_loop(preview: &mut Preview) -> anyhow::Result<i32> {
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let typed = line.trim();
        if typed.is_empty() {
            continue;
        }
        preview.said(typed, true)?;
    }
    Ok(0)
}

fn interactive_loop(preview: &mut Preview, restart: impl Fn() -> Conversation) -> anyhow::Result<i32> {
    use rustyline::error::ReadlineError;
    let mut editor = rustyline::DefaultEditor::new()?;
    let prompt = match preview.style.colour {
        true => "\x1b[1mcustomer:\x1b[0m ",
        false => "customer: ",
    };
    loop {
        let typed = match editor.readline(prompt) {
            Ok(typed) => typed,
            Err(ReadlineError::Interrupted | ReadlineError::Eof) => return Ok(0),
            Err(error) => return Err(error.into()),
        };
        let typed = typed.trim();
        if typed.is_empty() {
            continue;
        }
        editor.add_history_entry(typed)?;
        match typed {
            "/quit" | "/exit" => return Ok(0),
            "/restart" => {
                preview.conversation = restart();
                preview.last = Exchange::default();
                preview.start()?;
            }
            _ => preview.said(typed, false)?,
        }
    }
}
