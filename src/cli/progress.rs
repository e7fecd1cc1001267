//! Progress of long work (`adopt` across file systems, `init`) drawn on
//! stderr with `indicatif`, only when stderr is a terminal: piped or
//! redirected, a command's output stays byte for byte what it was. The
//! line is cleared when the work ends, before the command prints its
//! results. (`indicatif` also draws nothing for `TERM=dumb` or no `TERM`.)

use std::cell::{Cell, OnceCell, RefCell};
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ops::progress::Progress;

/// When the line appears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Show {
    /// From the start (init: its steps).
    Always,
    /// From the first byte copied: an adoption by rename is over in an
    /// instant, one that copies across file systems is not.
    WhenCopying,
}

/// The progress line of one command, drawn lazily.
pub(crate) struct Line {
    /// What the work is, e.g. `adopt b`.
    title: String,
    /// When it appears.
    show: Show,
    /// The line, once shown.
    bar: OnceCell<ProgressBar>,
    /// The step it is on.
    step: RefCell<String>,
    /// Entries done so far.
    entries: Cell<u64>,
    /// Bytes copied so far.
    bytes: Cell<u64>,
}

impl Line {
    /// A line for `title`, or `None` when stderr is not a terminal.
    pub(crate) fn on_terminal(title: &str, show: Show) -> Option<Line> {
        std::io::stderr().is_terminal().then(|| Line {
            title: title.to_string(),
            show,
            bar: OnceCell::new(),
            step: RefCell::new(String::new()),
            entries: Cell::new(0),
            bytes: Cell::new(0),
        })
    }

    /// The line, created (and drawn) when `now` says it is time.
    fn bar(&self, now: bool) -> Option<&ProgressBar> {
        if let Some(b) = self.bar.get() {
            return Some(b);
        }
        if !now {
            return None;
        }
        let template = match self.show {
            Show::Always => "{spinner} {prefix}: {msg} ({elapsed})",
            Show::WhenCopying => {
                "{spinner} {prefix}: {msg}, {binary_bytes} copied ({binary_bytes_per_sec}, {elapsed})"
            }
        };
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
            .with_style(style)
            .with_prefix(self.title.clone());
        let bar = self.bar.get_or_init(|| bar);
        self.redraw_message();
        bar.set_position(self.bytes.get());
        bar.enable_steady_tick(Duration::from_millis(120));
        Some(bar)
    }

    /// `projects: 1,204 entries done` (adopt), `projects: 2 entries moved`
    /// (init).
    fn redraw_message(&self) {
        if let Some(b) = self.bar.get() {
            let n = self.entries.get();
            let step = self.step.borrow();
            let done = match self.show {
                Show::Always => "moved",
                Show::WhenCopying => "done",
            };
            b.set_message(format!(
                "{step}{}{} entr{} {done}",
                if step.is_empty() { "" } else { ": " },
                indicatif::HumanCount(n),
                if n == 1 { "y" } else { "ies" }
            ));
        }
    }
}

impl Progress for Line {
    fn step(&self, what: &str) {
        *self.step.borrow_mut() = crate::fs::pathfmt::one_line(what);
        self.bar(self.show == Show::Always);
        self.redraw_message();
    }

    fn entries(&self, n: u64) {
        self.entries.set(self.entries.get() + n);
        self.redraw_message();
    }

    fn bytes(&self, n: u64) {
        self.bytes.set(self.bytes.get() + n);
        if let Some(b) = self.bar(true) {
            b.set_position(self.bytes.get());
        }
    }
}

impl Drop for Line {
    /// The line goes when the work ends: the results print where it was.
    fn drop(&mut self) {
        if let Some(b) = self.bar.get() {
            b.finish_and_clear();
        }
    }
}
