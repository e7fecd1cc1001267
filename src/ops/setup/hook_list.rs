//! homeswap's entries in the `hooks` object of Claude Code's settings:
//! each event maps to a list of groups `{"matcher"?, "hooks": [{"type":
//! "command", "command": ...}]}`; homeswap's entry is the one whose command
//! is its hook (`command::is_our_hook`), in whatever group it sits.

use jsonc_parser::cst::{CstArray, CstInputValue, CstNode, CstObject, CstObjectProp};

use crate::ops::setup::change::Change;
use crate::ops::setup::command::is_our_hook;
use crate::ops::setup::tree::{command_entry, not_an, set_string, string_of, DocError};

/// Every `event -> [groups]` of the `hooks` object.
pub(super) fn event_arrays(hooks: &CstObject) -> Result<Vec<(String, CstArray)>, DocError> {
    hooks
        .properties()
        .into_iter()
        .filter_map(|p| Some((p.name()?.decoded_value().ok()?, p)))
        .map(|(name, p)| match p.array_value() {
            Some(a) => Ok((name, a)),
            None => Err(not_an(&format!("hooks.{name}"), "list")),
        })
        .collect()
}

/// One hook entry of homeswap's: the entry and the group holding it.
struct Entry {
    /// The group `{"hooks": [...]}` in the event's list.
    group: CstObject,
    /// The group's `hooks` list.
    list: CstArray,
    /// The entry `{"type": "command", "command": ...}`.
    entry: CstNode,
    /// Its command.
    command: String,
}

/// homeswap's hook entries in one event's list of groups, in order.
fn our_entries(array: &CstArray) -> Vec<Entry> {
    let mut out = Vec::new();
    for group in array.elements().iter().filter_map(CstNode::as_object) {
        let Some(list) = group.array_value("hooks") else {
            continue;
        };
        for entry in list.elements() {
            let command = entry
                .as_object()
                .and_then(|o| string_of(&o, "command"))
                .filter(|c| is_our_hook(c));
            if let Some(command) = command {
                out.push(Entry {
                    group: group.clone(),
                    list: list.clone(),
                    entry,
                    command,
                });
            }
        }
    }
    out
}

/// Takes `entry` out, and its group when that leaves it with no hook.
fn take_out(entry: Entry) {
    entry.entry.remove();
    if entry.list.elements().is_empty() {
        entry.group.remove();
    }
}

/// Takes every homeswap entry out of an event's `array`, and the event
/// (`prop`) when that leaves it empty; how many were taken.
pub(super) fn take_ours(array: &CstArray, prop: Option<CstObjectProp>) -> usize {
    let ours = our_entries(array);
    let n = ours.len();
    ours.into_iter().for_each(take_out);
    if n > 0 && array.elements().is_empty() {
        if let Some(p) = prop {
            p.remove();
        }
    }
    n
}

/// Puts the hook `want` into `event`: the first homeswap entry there made
/// `want`, any other taken out; none: a new group at the end.
pub(super) fn install_event(
    hooks: &CstObject,
    event: &str,
    want: &str,
    changes: &mut Vec<Change>,
) -> Result<(), DocError> {
    let array = match hooks.get(event) {
        Some(prop) => Some(
            prop.array_value()
                .ok_or_else(|| not_an(&format!("hooks.{event}"), "list"))?,
        ),
        None => None,
    };
    let mut ours = array.as_ref().map(our_entries).unwrap_or_default();
    if ours.is_empty() {
        let group = CstInputValue::Object(vec![(
            "hooks".to_string(),
            CstInputValue::Array(vec![command_entry(want)]),
        )]);
        hooks.array_value_or_set(event).append(group);
        changes.push(Change::HookAdded(event.to_string()));
        return Ok(());
    }
    let first = ours.remove(0);
    if first.command != want {
        if let Some(o) = first.entry.as_object() {
            set_string(&o, "command", want);
        }
        changes.push(Change::HookUpdated(event.to_string()));
    }
    for extra in ours {
        take_out(extra);
        changes.push(Change::HookDuplicateRemoved(event.to_string()));
    }
    Ok(())
}
