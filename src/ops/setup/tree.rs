//! Small reads and writes on a settings file's syntax tree, and why a
//! document cannot be edited.

use jsonc_parser::cst::{CstInputValue, CstObject};

/// Why a document cannot be edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DocError {
    /// Not JSON: where and why.
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's words.
        message: String,
    },
    /// JSON, but not the shape Claude Code's settings have where homeswap
    /// would write (e.g. `hooks` is a list).
    Shape(String),
}

/// The refusal for `key` that is not a JSON `kind`.
pub(super) fn not_an(key: &str, kind: &str) -> DocError {
    DocError::Shape(format!(
        "`{key}` is not a JSON {kind}, as Claude Code's settings have it"
    ))
}

/// Refuses an object holding one key twice: JSON readers disagree on which
/// one counts, so homeswap would not know which to edit.
pub(super) fn unique_keys(object: &CstObject, what: &str) -> Result<(), DocError> {
    let mut seen = std::collections::HashSet::new();
    for prop in object.properties() {
        if let Some(name) = prop.name().and_then(|n| n.decoded_value().ok()) {
            if !seen.insert(name.clone()) {
                return Err(DocError::Shape(format!(
                    "{what} hold the key {name:?} twice: keep one"
                )));
            }
        }
    }
    Ok(())
}

/// `{"type": "command", "command": COMMAND}`.
pub(super) fn command_entry(command: &str) -> CstInputValue {
    CstInputValue::Object(vec![
        ("type".to_string(), "command".into()),
        ("command".to_string(), command.into()),
    ])
}

/// The text of `object[key]`, when it is a string.
pub(super) fn string_of(object: &CstObject, key: &str) -> Option<String> {
    object
        .get(key)?
        .value()?
        .as_string_lit()?
        .decoded_value()
        .ok()
}

/// Sets `object[key]` to the string `value`.
pub(super) fn set_string(object: &CstObject, key: &str, value: &str) {
    match object.get(key) {
        Some(p) => p.set_value(value.into()),
        None => {
            object.append(key, value.into());
        }
    }
}
