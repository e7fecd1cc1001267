//! Text into HTML: every name, path and message the page shows goes through
//! [`esc`], so a path holding `<script>` shows as text and cannot end an
//! attribute or open a tag.

use std::fmt::{self, Display, Write};
use std::path::Path;

use crate::fs::pathfmt::shown;

/// A value displayed with `& < > " '` replaced by entities and control
/// characters (other than newline and tab) written as `\u{..}` text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Esc<T>(T);

/// Escapes `value` for HTML text and quoted attribute values.
pub(crate) fn esc<T: Display>(value: T) -> Esc<T> {
    Esc(value)
}

/// Escapes a path: first displayed on one line with odd bytes as `\xff`
/// (as every problem line shows it), then escaped for HTML.
pub(crate) fn esc_path(path: &Path) -> Esc<impl Display + '_> {
    Esc(shown(path))
}

impl<T: Display> Display for Esc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(Escaping(f), "{}", self.0)
    }
}

/// Writes what it is given to the formatter, escaped.
struct Escaping<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl Write for Escaping<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Runs of plain text are written whole; only the rare special
        // character is written one by one.
        let mut rest = s;
        while let Some(i) = rest.find(|c: char| special(c).is_some()) {
            self.0.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or_default();
            match special(c) {
                Some(Special::Entity(e)) => self.0.write_str(e)?,
                Some(Special::Control) => write!(self.0, "{}", c.escape_unicode())?,
                None => self.0.write_char(c)?,
            }
            rest = &rest[i + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

/// How one character that may not appear as it is gets written.
enum Special {
    /// An HTML entity.
    Entity(&'static str),
    /// A control character, written as `\u{..}`.
    Control,
}

fn special(c: char) -> Option<Special> {
    Some(match c {
        '&' => Special::Entity("&amp;"),
        '<' => Special::Entity("&lt;"),
        '>' => Special::Entity("&gt;"),
        '"' => Special::Entity("&quot;"),
        '\'' => Special::Entity("&#39;"),
        '\n' | '\t' => return None,
        c if c.is_control() => Special::Control,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn markup_and_quotes_become_entities() {
        assert_eq!(
            esc("<script>alert('x' & \"y\")</script>").to_string(),
            "&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;"
        );
        assert_eq!(esc("plain é text").to_string(), "plain é text");
    }

    #[test]
    fn control_characters_show_as_text_and_newlines_stay() {
        assert_eq!(esc("a\u{0}b\u{1b}c\nd").to_string(), "a\\u{0}b\\u{1b}c\nd");
    }

    #[test]
    fn a_path_with_odd_bytes_and_markup_shows_as_escaped_text() {
        let p = Path::new(OsStr::from_bytes(b"/h/<b>\xff\n"));
        assert_eq!(esc_path(p).to_string(), "/h/&lt;b&gt;\\xff\\n");
    }
}
