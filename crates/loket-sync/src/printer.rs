//! The one printer: every line a command shows goes through here, chosen once from `--json` (as uv's
//! `printer.rs`). Results go to stdout (text, or one JSON value per line with `--json`); warnings, errors and
//! prompts go to stderr; progress bars are drawn only on a terminal and never with `--json`. Logs are not
//! output: they go to stderr through `tracing` (see `logs.rs`).
//!
//! A closed stdout (`loket-sync plan | head`) ends the process quietly with 0, as a filter would.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Display;
use std::io::{IsTerminal, Write as _};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How output is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Text,
    Json,
}

#[derive(Clone, Debug)]
pub struct Printer {
    mode: Mode,
    /// Whether progress bars may be drawn: stderr is a terminal and the output is text.
    progress: bool,
}

impl Printer {
    pub fn new(json: bool) -> Printer {
        let mode = if json { Mode::Json } else { Mode::Text };
        // Bars are drawn on stderr, but only when a person watches the output: both ends are a terminal.
        let terminal = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        Printer { mode, progress: mode == Mode::Text && terminal }
    }

    /// A printer that never draws progress bars (tests, and output that is not a terminal).
    pub fn without_progress(json: bool) -> Printer {
        Printer { progress: false, ..Printer::new(json) }
    }

    pub fn json(&self) -> bool {
        self.mode == Mode::Json
    }

    pub fn shows_progress(&self) -> bool {
        self.progress
    }

    /// A line of the result on stdout.
    pub fn line(&self, text: impl Display) {
        if writeln!(std::io::stdout().lock(), "{text}").is_err() {
            std::process::exit(0);
        }
    }

    /// A line of text output only (nothing with `--json`).
    pub fn text(&self, text: impl Display) {
        if self.mode == Mode::Text {
            self.line(text);
        }
    }

    /// A JSON value on one line of stdout (only with `--json`).
    pub fn value(&self, value: &serde_json::Value) {
        if self.mode == Mode::Json {
            self.line(value);
        }
    }

    /// A list of records: the whole list as one JSON value with `--json`, else a line for each record.
    pub fn records<T: serde::Serialize + Display>(&self, records: &[T]) {
        match self.mode {
            Mode::Json => self.line(serde_json::json!(records)),
            Mode::Text => records.iter().for_each(|record| self.line(record)),
        }
    }

    /// `warning: …` on stderr.
    pub fn warn(&self, text: impl Display) {
        eprintln!("warning: {text}");
    }

    /// A line on stderr as it is (a list of problems, a hint).
    pub fn note(&self, text: impl Display) {
        eprintln!("{text}");
    }

    /// A question on stderr, without a newline, before reading the answer.
    pub fn prompt(&self, text: impl Display) {
        eprint!("{text}");
        let _ = std::io::stderr().flush();
    }

    /// An error and every cause below it, each on its own line (as ripgrep and uv print them).
    pub fn error(&self, error: &anyhow::Error) {
        eprintln!("error: {error}");
        for cause in error.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
    }

    /// A progress bar of `total` steps, drawn on stderr when the printer shows progress; otherwise hidden
    /// (every call on it does nothing).
    pub fn progress(&self, what: &str, total: u64) -> ProgressBar {
        if !self.progress || total == 0 {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{msg:>16} [{bar:30}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }
}
