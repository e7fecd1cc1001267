//! Where a command writes: results to stdout, problems to stderr, one line
//! each. A closed pipe is not a reason to panic.

use std::io::Write;

use serde::Serialize;

/// The command's two streams.
pub(crate) struct Output;

impl Output {
    /// One result line on stdout.
    pub(crate) fn line(&mut self, s: String) {
        let _ = writeln!(std::io::stdout().lock(), "{s}");
    }

    /// Generated text on stdout as it is (a completion script, the man page).
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        let _ = std::io::stdout().lock().write_all(bytes);
    }

    /// A question on stdout, without a newline, for the answer typed
    /// after it.
    pub(crate) fn prompt(&mut self, s: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(s.as_bytes());
        let _ = stdout.flush();
    }

    /// One problem line on stderr.
    pub(crate) fn err(&mut self, s: String) {
        let _ = writeln!(std::io::stderr().lock(), "{s}");
    }

    /// A JSON document on stdout. Serializing fails only if a type's
    /// `Serialize` does (paths go through `fs::pathfmt`, which never
    /// fails); then the reason goes to stderr instead of a panic.
    pub(crate) fn json(&mut self, v: &impl Serialize) {
        match serde_json::to_string_pretty(v) {
            Ok(text) => self.line(text),
            Err(e) => self.err(format!("homeswap: cannot write the JSON document: {e}")),
        }
    }
}
