//! Finding a collection of the configuration's YAML text (a mapping or a
//! sequence, in block or flow style) by its key path, with the byte span
//! of each entry, so that an edit can add or remove one entry and leave
//! every other byte, comments included, where it was.
//!
//! This reads the subset of YAML a configuration is written in: one block
//! mapping at the top, collections in block style (one entry a line,
//! deeper lines continuing it) or in flow style (`{a: /x, b: /y}`,
//! `[a, b]`, over one line or several). Anything else on the way (an
//! anchor, an alias, a tag, a tab for indentation) is reported as not
//! editable. The edit is checked afterwards by parsing the result, so a
//! shape read wrongly here refuses the edit instead of writing it.

pub(super) use super::scan::Lines;
use super::scan::{is_blank_or_comment, skip_quoted, split_key, strip_comment, unquote};

/// What a collection holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// `key: value` entries.
    Mapping,
    /// `- item` entries.
    Sequence,
}

/// How a collection is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    /// One entry a line, each starting at `indent` spaces.
    Block {
        /// The entries' indentation.
        indent: usize,
    },
    /// Between brackets: `close` is the offset of `}` or `]`; `multiline`
    /// when the entries are not on the opening bracket's line.
    Flow {
        /// Offset of the closing bracket.
        close: usize,
        /// The last entry is followed by a comma.
        trailing_comma: bool,
        /// The last entry starts on another line than the bracket.
        multiline: bool,
    },
}

/// One entry of a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    /// The mapping key, or the sequence item, unquoted.
    pub(super) name: String,
    /// Where it starts: block style, its first line's start; flow style,
    /// its first character.
    pub(super) start: usize,
    /// Where it ends: block style, past its last line's newline; flow
    /// style, past its last character (before any comma).
    pub(super) end: usize,
    /// Offset of the mapping value's first character (past `: `), or of
    /// the end of the line when the value is on the lines below.
    pub(super) value: usize,
    /// Flow style: offset past the comma that follows it.
    pub(super) comma: Option<usize>,
}

/// A collection of the text and its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Collection {
    /// Mapping or sequence.
    pub(super) shape: Shape,
    /// Block or flow.
    pub(super) style: Style,
    /// The entries, in the text's order (empty only for `{}` and `[]`).
    pub(super) entries: Vec<Entry>,
}

/// The collection at `path` (e.g. `["failover", "order"]`); `None` when a
/// key of the path is not in the text; an error when the text is not in a
/// shape these edits understand.
pub(super) fn find(text: &str, path: &[&str]) -> Result<Option<Collection>, String> {
    let lines = Lines::new(text);
    let mut place = match top_level(&lines, path[0])? {
        Some(p) => p,
        None => return Ok(None),
    };
    for key in &path[1..] {
        let parent = collection_at(&lines, place, &path_text(path))?;
        let Some(entry) = parent.entries.iter().find(|e| e.name == *key) else {
            return Ok(None);
        };
        if parent.shape != Shape::Mapping {
            return Err(format!("{} is not a mapping", path_text(path)));
        }
        place = value_place(&lines, entry.value, &parent.style);
    }
    collection_at(&lines, place, &path_text(path)).map(Some)
}

/// `a.b.c`, for messages.
fn path_text(path: &[&str]) -> String {
    path.join(".")
}

/// Where a value is written.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// On the lines below the key's line (`line`, indented `indent`).
    Below {
        /// The key's line.
        line: usize,
        /// The key's indentation.
        indent: usize,
    },
    /// A flow collection opening at this offset.
    Flow(usize),
    /// Something else (a scalar, an anchor, an alias, a tag).
    Other,
}

/// The place of the top-level key `key`.
fn top_level(lines: &Lines, key: &str) -> Result<Option<Place>, String> {
    for n in 0..lines.len() {
        let line = lines.get(n);
        let body = line.trim_start_matches(' ');
        if is_blank_or_comment(body) || body.starts_with("---") || body.starts_with('%') {
            continue;
        }
        if body.len() != line.len() {
            continue; // a line of some key's block
        }
        if body.starts_with(['{', '[']) {
            return Err("the file is one flow mapping".into());
        }
        if let Some((k, after)) = split_key(body) {
            if k == key {
                return Ok(Some(place_after_colon(lines, n, 0, lines.start(n) + after)));
            }
        }
    }
    Ok(None)
}

/// The value place of a key whose colon ends at `after` on line `n`.
fn place_after_colon(lines: &Lines, n: usize, indent: usize, after: usize) -> Place {
    let rest = &lines.text[after..lines.content_end(n)];
    let value = rest.trim_start();
    if is_blank_or_comment(value) {
        Place::Below { line: n, indent }
    } else if value.starts_with(['{', '[']) {
        Place::Flow(after + (rest.len() - value.len()))
    } else {
        Place::Other
    }
}

/// The place of an entry's value at offset `value` of a parent written so.
fn value_place(lines: &Lines, value: usize, style: &Style) -> Place {
    let n = lines.line_of(value);
    match style {
        Style::Block { indent } => place_after_colon(lines, n, *indent, value),
        Style::Flow { .. } => match lines.text[value..].chars().next() {
            Some('{' | '[') => Place::Flow(value),
            _ => Place::Other,
        },
    }
}

/// The collection written at `place`; `what` names it in errors.
fn collection_at(lines: &Lines, place: Place, what: &str) -> Result<Collection, String> {
    let found = match place {
        Place::Below { line, indent } => block(lines, line, indent)?,
        Place::Flow(open) => flow(lines, open)?,
        Place::Other => None,
    };
    found.ok_or_else(|| {
        format!(
            "{what} is not written as a plain list or mapping (an anchor, alias, tag or scalar)"
        )
    })
}

/// The block collection below the key on line `key_line` (indented
/// `key_indent`); `None` when no entry follows.
fn block(lines: &Lines, key_line: usize, key_indent: usize) -> Result<Option<Collection>, String> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut layout: Option<(Shape, usize)> = None;
    for n in key_line + 1..lines.len() {
        let line = lines.get(n);
        let body = line.trim_start_matches(' ');
        if is_blank_or_comment(body) {
            continue;
        }
        if body.starts_with('\t') {
            return Err(format!("line {} is indented with a tab", n + 1));
        }
        let indent = line.len() - body.len();
        let item = body == "-" || body.starts_with("- ");
        let (shape, at) = match layout {
            Some(l) => l,
            None if indent > key_indent || (indent == key_indent && item) => {
                let shape = if item {
                    Shape::Sequence
                } else {
                    Shape::Mapping
                };
                layout = Some((shape, indent));
                (shape, indent)
            }
            None => break,
        };
        let starts_entry = match (indent.cmp(&at), shape, item) {
            (std::cmp::Ordering::Less, ..) => break,
            (std::cmp::Ordering::Equal, Shape::Sequence, false) => break,
            (std::cmp::Ordering::Equal, Shape::Sequence, true)
            | (std::cmp::Ordering::Equal, Shape::Mapping, false) => true,
            // Deeper: a line continuing the entry above (a long scalar, a
            // nested collection); `- ` at a mapping's own indentation: the
            // entry above's compact list.
            _ => false,
        };
        if starts_entry {
            entries.push(block_entry(lines, n, indent, shape)?);
        } else if let Some(last) = entries.last_mut() {
            last.end = lines.end(n);
        }
    }
    Ok(layout.map(|(shape, indent)| Collection {
        shape,
        style: Style::Block { indent },
        entries,
    }))
}

/// The block entry starting on line `n` at `indent`.
fn block_entry(lines: &Lines, n: usize, indent: usize, shape: Shape) -> Result<Entry, String> {
    let body = &lines.get(n)[indent..];
    let start = lines.start(n) + indent;
    let (name, value) = match shape {
        Shape::Sequence => {
            let item = body[1..].trim_start();
            let text = strip_comment(item);
            (unquote(text), start + (body.len() - item.len()))
        }
        Shape::Mapping => {
            let (key, after) = split_key(body)
                .ok_or_else(|| format!("line {} is not a 'key: value' line", n + 1))?;
            let rest = &body[after..];
            (key, start + after + (rest.len() - rest.trim_start().len()))
        }
    };
    Ok(Entry {
        name,
        start: lines.start(n),
        end: lines.end(n),
        value: value.min(lines.content_end(n)),
        comma: None,
    })
}

/// The flow collection opening at `open` (`{` or `[`).
fn flow(lines: &Lines, open: usize) -> Result<Option<Collection>, String> {
    let text = lines.text;
    let shape = if text[open..].starts_with('{') {
        Shape::Mapping
    } else {
        Shape::Sequence
    };
    let scan = scan_flow(text, open)?;
    let mut entries = Vec::new();
    let count = scan.segments.len();
    let mut trailing_comma = false;
    for (i, seg) in scan.segments.iter().enumerate() {
        let Some((start, end)) = seg.content else {
            if i + 1 == count && i > 0 {
                trailing_comma = true;
                continue;
            }
            if count == 1 {
                continue; // `{}` or `[]`
            }
            return Err(format!(
                "an empty entry in the list at line {}",
                lines.line_of(open) + 1
            ));
        };
        let item = &text[start..end];
        let (name, value) = match shape {
            Shape::Sequence => (unquote(item), start),
            Shape::Mapping => {
                let (key, after) = split_key(item)
                    .ok_or_else(|| format!("{item:?} is not a 'key: value' entry"))?;
                let rest = &item[after..];
                (key, start + after + (rest.len() - rest.trim_start().len()))
            }
        };
        entries.push(Entry {
            name,
            start,
            end,
            value,
            comma: seg.comma,
        });
    }
    let multiline = entries
        .last()
        .is_some_and(|e| lines.line_of(e.start) != lines.line_of(open));
    Ok(Some(Collection {
        shape,
        style: Style::Flow {
            close: scan.close,
            trailing_comma,
            multiline,
        },
        entries,
    }))
}

/// One comma-separated part of a flow collection.
struct Segment {
    /// The span of its text without surrounding spaces and comments.
    content: Option<(usize, usize)>,
    /// Offset past the comma that ends it.
    comma: Option<usize>,
}

/// A flow collection's parts and its closing bracket.
struct FlowScan {
    /// The parts, in order.
    segments: Vec<Segment>,
    /// Offset of the closing bracket.
    close: usize,
}

/// Splits the flow collection opening at `open` at its top-level commas,
/// skipping quoted scalars, comments and nested collections.
fn scan_flow(text: &str, open: usize) -> Result<FlowScan, String> {
    let bytes = text.as_bytes();
    let mut segments = Vec::new();
    let mut content: Option<(usize, usize)> = None;
    let mut depth = 0usize;
    // The last character outside spaces and comments: a quote opens a
    // quoted scalar only where a scalar may start.
    let mut prev = b'{';
    let mut i = open;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b'"' | b'\'' if b"{[,:".contains(&prev) => i = skip_quoted(bytes, i)?,
            b'#' if i == 0 || bytes[i - 1].is_ascii_whitespace() => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'{' | b'[' => {
                depth += 1;
                i += 1;
                if depth == 1 {
                    prev = c;
                    continue;
                }
            }
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    segments.push(Segment {
                        content,
                        comma: None,
                    });
                    return Ok(FlowScan { segments, close: i });
                }
                i += 1;
            }
            b',' if depth == 1 => {
                segments.push(Segment {
                    content: content.take(),
                    comma: Some(i + 1),
                });
                prev = c;
                i += 1;
                continue;
            }
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            _ => i += 1,
        }
        prev = c;
        content = Some((content.map_or(start, |(s, _)| s), i));
    }
    Err("a flow list or mapping is not closed".into())
}
