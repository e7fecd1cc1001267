//! The scanning pieces under `find.rs`: the text by lines with their
//! byte offsets, quoted scalars, keys and comments.

/// The offset past the quoted scalar opening at `i`.
pub(super) fn skip_quoted(bytes: &[u8], i: usize) -> Result<usize, String> {
    let quote = bytes[i];
    let mut j = i + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' if quote == b'"' => j += 2,
            b'\'' if quote == b'\'' && bytes.get(j + 1) == Some(&b'\'') => j += 2,
            b if b == quote => return Ok(j + 1),
            _ => j += 1,
        }
    }
    Err("a quoted value is not closed".into())
}

/// The key of a `key: value` text, unquoted, and the offset past its
/// colon; `None` when the text is not one.
pub(super) fn split_key(body: &str) -> Option<(String, usize)> {
    let key_end = match body.as_bytes().first()? {
        b'"' | b'\'' => skip_quoted(body.as_bytes(), 0).ok()?,
        _ => {
            let colon = body.match_indices(':').find(|(i, _)| {
                matches!(
                    body.as_bytes().get(i + 1),
                    None | Some(b' ' | b'\t' | b'\r' | b'\n')
                )
            })?;
            colon.0
        }
    };
    let rest = &body[key_end..];
    let colon = key_end + (rest.len() - rest.trim_start().len());
    if body.as_bytes().get(colon) != Some(&b':') {
        return None;
    }
    Some((unquote(body[..key_end].trim_end()), colon + 1))
}

/// A plain or quoted scalar's text as YAML reads it (a plain one as it is).
pub(super) fn unquote(text: &str) -> String {
    if text.starts_with(['"', '\'']) {
        if let Ok(s) = serde_yaml::from_str::<String>(text) {
            return s;
        }
    }
    text.to_string()
}

/// A block line's value without its comment.
pub(super) fn strip_comment(value: &str) -> &str {
    let end = if value.starts_with(['"', '\'']) {
        skip_quoted(value.as_bytes(), 0).unwrap_or(value.len())
    } else {
        value.find(" #").unwrap_or(value.len())
    };
    value[..end].trim_end()
}

/// True for a line (or what is left of one) that holds nothing or a comment.
pub(super) fn is_blank_or_comment(body: &str) -> bool {
    let b = body.trim();
    b.is_empty() || b.starts_with('#')
}

/// The text split into lines, by offset.
pub(super) struct Lines<'a> {
    /// The whole text.
    pub(super) text: &'a str,
    /// Where each line starts.
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    /// The lines of `text`.
    pub(super) fn new(text: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        if starts.last() == Some(&text.len()) && !text.is_empty() {
            starts.pop();
        }
        Lines { text, starts }
    }

    pub(super) fn len(&self) -> usize {
        self.starts.len()
    }

    /// Line `n` without its line ending.
    pub(super) fn get(&self, n: usize) -> &'a str {
        &self.text[self.start(n)..self.content_end(n)]
    }

    pub(super) fn start(&self, n: usize) -> usize {
        self.starts[n]
    }

    /// Past line `n`'s newline (the end of the text for the last line).
    pub(super) fn end(&self, n: usize) -> usize {
        self.starts.get(n + 1).copied().unwrap_or(self.text.len())
    }

    /// The end of line `n` before its line ending.
    pub(super) fn content_end(&self, n: usize) -> usize {
        let line = &self.text[self.start(n)..self.end(n)];
        self.start(n) + line.trim_end_matches(['\n', '\r']).len()
    }

    /// The line holding offset `at`.
    pub(super) fn line_of(&self, at: usize) -> usize {
        self.starts.partition_point(|s| *s <= at).saturating_sub(1)
    }

    /// The start of the line holding offset `at`.
    pub(super) fn line_start(&self, at: usize) -> usize {
        self.start(self.line_of(at))
    }
}
