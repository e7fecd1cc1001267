//! Editing the configuration file as text, for `account add` and `account
//! remove`: one entry goes into (or out of) `accounts:`, and the name into
//! (or out of) `failover.order` and `failover.thresholds` where the file
//! lists it, while every other byte (comments, order, quoting, blank
//! lines) stays as it was.
//!
//! 1. Parse the current text: the configuration before ([`Config`]).
//! 2. Find the collections to change (`find`), in block or flow style,
//!    and splice the entry in or out.
//! 3. Parse the edited text and compare it with what it must be: the
//!    configuration before with exactly this account added or removed
//!    (every other key equal). A text that does not pass every check, or
//!    reads back as anything else, is refused: nothing is written.
//!
//! Writing the text is the caller's (atomically, under the state lock).

mod find;
mod scan;

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::model::Config;
use find::{find, Collection, Lines, Shape, Style};

/// An edited configuration: the new text and what it parses to.
#[derive(Debug, Clone)]
pub(crate) struct Edited {
    /// The new text of the file.
    pub(crate) text: String,
    /// The configuration it holds.
    pub(crate) config: Config,
}

/// Why the configuration was not edited; nothing was written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EditError {
    /// The file does not pass the checks as it is.
    #[error("the configuration as it is now does not load: {0}")]
    Current(ConfigError),
    /// The text is not in a shape these edits can change safely.
    #[error("{}: {what} cannot be edited as text: {why}; edit the file by hand", path.display())]
    Shape {
        /// The file.
        path: PathBuf,
        /// The key, e.g. `accounts`.
        what: String,
        /// What is in the way.
        why: String,
    },
    /// The edited configuration does not pass the checks.
    #[error("the configuration would not validate with this change: {0}")]
    Invalid(ConfigError),
    /// The edited text reads back as something else than intended.
    #[error("{}: the edited text does not read back as the configuration with only this change ({what}); edit the file by hand", path.display())]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// What differs.
        what: String,
    },
}

/// The text of `path` with account `name` (home `home`) added at the end
/// of `accounts:` and of `failover.order` (when the file lists an order).
pub(crate) fn add_account(
    path: &Path,
    text: &str,
    name: &str,
    home: &Path,
) -> Result<Edited, EditError> {
    let before = Config::parse(path, text).map_err(EditError::Current)?;
    let value = scalar(home).ok_or_else(|| shape(path, "accounts", "the home is not UTF-8"))?;
    let mut splices = Vec::new();
    let accounts = collection(path, text, &["accounts"])?
        .ok_or_else(|| shape(path, "accounts", "no accounts: key"))?;
    splices.extend(insert(text, &accounts, &format!("{name}: {value}")));
    if let Some(order) = collection(path, text, &["failover", "order"])? {
        splices.extend(insert(text, &order, name));
    }
    let mut want = before.clone();
    want.accounts
        .insert(name.to_string(), home.components().collect());
    want.failover.order.push(name.to_string());
    finish(path, text, splices, &want)
}

/// The text of `path` without account `name`: its entry of `accounts:`,
/// and its name in `failover.order` and `failover.thresholds` where the
/// file has them.
pub(crate) fn remove_account(path: &Path, text: &str, name: &str) -> Result<Edited, EditError> {
    let before = Config::parse(path, text).map_err(EditError::Current)?;
    let mut splices = Vec::new();
    for key in [
        &["accounts"][..],
        &["failover", "order"],
        &["failover", "thresholds"],
    ] {
        if let Some(c) = collection(path, text, key)? {
            splices.extend(remove(text, &c, name));
        }
    }
    let mut want = before.clone();
    want.accounts.remove(name);
    want.failover.order.retain(|a| a != name);
    want.failover.thresholds.remove(name);
    finish(path, text, splices, &want)
}

/// Applies `splices`, parses the result and compares it with `want`.
fn finish(
    path: &Path,
    text: &str,
    mut splices: Vec<Splice>,
    want: &Config,
) -> Result<Edited, EditError> {
    splices.sort_by_key(|s| std::cmp::Reverse(s.at.start));
    let mut edited = text.to_string();
    for s in splices {
        edited.replace_range(s.at, &s.with);
    }
    let config = Config::parse(path, &edited).map_err(EditError::Invalid)?;
    if config != *want {
        return Err(EditError::Mismatch {
            path: path.to_path_buf(),
            what: difference(&config, want),
        });
    }
    Ok(Edited {
        text: edited,
        config,
    })
}

/// What differs between the configuration read back and the one wanted.
fn difference(got: &Config, want: &Config) -> String {
    if got.accounts != want.accounts {
        format!(
            "accounts: {} instead of {}",
            names(got.accounts.keys()),
            names(want.accounts.keys())
        )
    } else if got.failover.order != want.failover.order {
        format!(
            "failover.order: {} instead of {}",
            names(got.failover.order.iter()),
            names(want.failover.order.iter())
        )
    } else {
        "another key changed".to_string()
    }
}

fn names<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names.map(String::as_str).collect::<Vec<_>>().join(", ")
}

/// The collection at `key`, or why it cannot be edited.
fn collection(path: &Path, text: &str, key: &[&str]) -> Result<Option<Collection>, EditError> {
    find(text, key).map_err(|why| shape(path, &key.join("."), &why))
}

fn shape(path: &Path, what: &str, why: &str) -> EditError {
    EditError::Shape {
        path: path.to_path_buf(),
        what: what.to_string(),
        why: why.to_string(),
    }
}

/// A path as a YAML scalar: plain when it holds only characters that mean
/// nothing to YAML in block or flow style, else double-quoted (a JSON
/// string is a YAML double-quoted scalar). `None` when it is not UTF-8.
fn scalar(p: &Path) -> Option<String> {
    let s = p.to_str()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+@~".contains(c);
    if s.starts_with('/') && s.chars().all(plain) {
        Some(s.to_string())
    } else {
        serde_json::to_string(s).ok()
    }
}

/// Replace the bytes `at` of the text with `with`.
#[derive(Debug)]
struct Splice {
    /// The bytes replaced (empty: an insertion).
    at: Range<usize>,
    /// The new bytes.
    with: String,
}

impl Splice {
    fn insert(at: usize, with: String) -> Splice {
        Splice { at: at..at, with }
    }

    fn delete(at: Range<usize>) -> Splice {
        Splice {
            at,
            with: String::new(),
        }
    }
}

/// The line ending the text uses.
fn eol(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// The splices that add `item` (`b: /x` or `b`) after the last entry.
fn insert(text: &str, c: &Collection, item: &str) -> Vec<Splice> {
    let lines = Lines::new(text);
    let nl = eol(text);
    let Some(last) = c.entries.last() else {
        // `{}` or `[]`: between the brackets.
        let Style::Flow { close, .. } = c.style else {
            return Vec::new();
        };
        return vec![Splice::insert(close, item.to_string())];
    };
    match c.style {
        Style::Block { indent } => {
            let dash = if c.shape == Shape::Sequence { "- " } else { "" };
            let newline = if text[..last.end].ends_with('\n') {
                ""
            } else {
                nl
            };
            let line = format!("{newline}{}{dash}{item}{nl}", " ".repeat(indent));
            vec![Splice::insert(last.end, line)]
        }
        Style::Flow {
            close,
            trailing_comma,
            multiline,
        } => {
            let after = last.comma.unwrap_or(last.end);
            let same_line_as_close = lines.line_of(after) == lines.line_of(close);
            if !multiline || same_line_as_close {
                return vec![match trailing_comma {
                    true => Splice::insert(after, format!(" {item},")),
                    false => Splice::insert(last.end, format!(", {item}")),
                }];
            }
            // One entry a line: the new one on a line of its own, after
            // the last entry's line (and its comment).
            let indent = &text[lines.line_start(last.start)..last.start];
            let line_end = lines.content_end(lines.line_of(after));
            let mut out = vec![Splice::insert(
                line_end,
                format!(
                    "{nl}{indent}{item}{}",
                    if trailing_comma { "," } else { "" }
                ),
            )];
            if !trailing_comma {
                out.push(Splice::insert(last.end, ",".to_string()));
            }
            out
        }
    }
}

/// The splices that take the entry named `name` out; none when the
/// collection does not hold it.
fn remove(text: &str, c: &Collection, name: &str) -> Vec<Splice> {
    let Some(i) = c.entries.iter().position(|e| e.name == name) else {
        return Vec::new();
    };
    let e = &c.entries[i];
    let Style::Flow { multiline, .. } = c.style else {
        return vec![Splice::delete(e.start..e.end)];
    };
    let lines = Lines::new(text);
    let prev = i.checked_sub(1).map(|p| &c.entries[p]);
    let next = c.entries.get(i + 1);
    let alone = multiline && alone_on_its_line(text, &lines, e);
    match (e.comma, prev) {
        // `b: /y,` on a line of its own: the whole line.
        (Some(comma), _) if alone => {
            vec![Splice::delete(
                lines.line_start(e.start)..lines.end(lines.line_of(comma)),
            )]
        }
        // The last entry, without a comma: its line, and the comma before it.
        (None, Some(p)) if alone => vec![
            Splice::delete(lines.line_start(e.start)..lines.end(lines.line_of(e.end))),
            Splice::delete(p.end..p.comma.unwrap_or(p.end)),
        ],
        // `a: /x, b: /y, c: /z`: the entry up to the next one.
        (Some(comma), _) => {
            let to = next.map_or_else(|| skip_spaces(text, comma), |n| n.start);
            vec![Splice::delete(e.start..to)]
        }
        // `a: /x, b: /y`: from the end of the one before.
        (None, Some(p)) => vec![Splice::delete(p.end..e.end)],
        // The only entry.
        (None, None) => vec![Splice::delete(e.start..e.end)],
    }
}

/// True when only spaces precede the flow entry `e` on its line and only
/// its comma, spaces and a comment follow it.
fn alone_on_its_line(text: &str, lines: &Lines, e: &find::Entry) -> bool {
    let before = &text[lines.line_start(e.start)..e.start];
    let after_at = e.comma.unwrap_or(e.end);
    let line_end = lines.end(lines.line_of(after_at));
    let after = text[after_at..line_end].trim();
    before.trim().is_empty() && (after.is_empty() || after.starts_with('#'))
}

/// The offset of the first character at or after `at` that is not a space.
fn skip_spaces(text: &str, at: usize) -> usize {
    at + (text[at..].len() - text[at..].trim_start_matches(' ').len())
}

#[cfg(test)]
mod tests;
