//! What a long operation (an adoption across file systems, an init)
//! reports while it works, for a person watching it: the step it is on,
//! and the entries and bytes it has done. The CLI draws it on a terminal
//! (`cli::progress`); everywhere else it goes to [`Quiet`], so nothing
//! below the CLI knows how, or whether, it is shown.

/// Where an operation reports its progress. Every method does nothing by
/// default.
pub(crate) trait Progress {
    /// A step begins, e.g. `projects` (a link being adopted).
    fn step(&self, _what: &str) {}

    /// `n` more entries are done (moved, removed as duplicates, kept).
    fn entries(&self, _n: u64) {}

    /// `n` more bytes were copied (across file systems).
    fn bytes(&self, _n: u64) {}
}

/// Progress nobody watches: the HTTP API, the tests, a pipe.
pub(crate) struct Quiet;

impl Progress for Quiet {}
