//! One `settings.json` edited in place: homeswap's hook for each event of
//! [`EVENTS`] and its status line put in ([`Document::install`]) or taken
//! out ([`Document::remove`]), everything else kept as the file has it.
//!
//! The text is edited through its concrete syntax tree (`jsonc-parser`'s
//! CST), so every other key, its order, its formatting and the file's
//! indentation stay as they were; what is added follows the file's
//! indentation. The file must be strict JSON (as Claude Code reads it):
//! [`Document::parse`] refuses anything else with its line and column.
//!
//! Claude Code's shapes (`CLAUDE-CODE.md`): `hooks` maps an event to a list
//! of groups `{"matcher"?, "hooks": [{"type": "command", "command": ...}]}`;
//! `statusLine` is `{"type": "command", "command": ...}`.

use jsonc_parser::cst::{CstObject, CstObjectProp, CstRootNode};
use jsonc_parser::ParseOptions;

use crate::ops::hook::EVENTS;
use crate::ops::setup::change::Change;
use crate::ops::setup::command::{our_statusline, Commands};
use crate::ops::setup::hook_list::{event_arrays, install_event, take_ours};
use crate::ops::setup::tree::DocError;
use crate::ops::setup::tree::{command_entry, not_an, set_string, string_of, unique_keys};

/// What [`Document::install`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Installed {
    /// The changes, in the order made.
    pub(crate) changes: Vec<Change>,
    /// The user's status-line command homeswap's wraps, if any.
    pub(crate) wrapped: Option<String>,
}

/// A parsed `settings.json`, edited in place.
pub(crate) struct Document {
    /// The syntax tree, every byte of the file in it.
    root: CstRootNode,
    /// Whether the file held nothing but blanks (Claude Code reads that
    /// as no settings).
    blank: bool,
}

/// Strict JSON, as Claude Code reads its settings.
fn strict() -> ParseOptions {
    ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

impl Document {
    /// Parses `text`; an empty (or all-blank) file is an empty object.
    pub(crate) fn parse(text: &str) -> Result<Document, DocError> {
        let blank = text.trim().is_empty();
        let root = CstRootNode::parse(text, &strict()).map_err(|e| DocError::Syntax {
            line: e.line_display(),
            column: e.column_display(),
            message: e.kind().to_string(),
        })?;
        if !blank {
            // And serde_json's word on it: RFC 8259 to the letter, where
            // the syntax tree's parser is more lenient.
            serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| DocError::Syntax {
                line: e.line(),
                column: e.column(),
                message: strip_position(&e.to_string()),
            })?;
        }
        if root.value().is_some() && root.object_value().is_none() {
            return Err(DocError::Shape(
                "the settings are not a JSON object".to_string(),
            ));
        }
        Ok(Document { root, blank })
    }

    /// The text as edited so far.
    pub(crate) fn text(&self) -> String {
        let text = self.root.to_string();
        if self.blank && !text.trim().is_empty() && !text.ends_with('\n') {
            return text + "\n";
        }
        text
    }

    /// Puts homeswap's hook into every event of [`EVENTS`] (updating an
    /// older entry of its own in place, or adding a group at the end) and
    /// takes it out of any other event; puts its status line in, wrapping
    /// the user's own.
    pub(crate) fn install(&self, commands: &Commands) -> Result<Installed, DocError> {
        let root = self.root.object_value_or_set();
        unique_keys(&root, "the settings")?;
        let mut done = Installed::default();
        let hooks = match root.get("hooks") {
            Some(prop) => prop
                .object_value()
                .ok_or_else(|| not_an("hooks", "object"))?,
            None => root.object_value_or_set("hooks"),
        };
        unique_keys(&hooks, "hooks")?;
        let want = commands.hook();
        for event in EVENTS {
            install_event(&hooks, event, &want, &mut done.changes)?;
        }
        for (event, array) in event_arrays(&hooks)? {
            if !EVENTS.contains(&event.as_str()) && take_ours(&array, hooks.get(&event)) > 0 {
                done.changes.push(Change::HookUnusedRemoved(event));
            }
        }
        done.wrapped = install_statusline(&root, commands, &mut done.changes)?;
        Ok(done)
    }

    /// The user's command homeswap's status line wraps, if it does.
    pub(crate) fn wrapped_statusline(&self) -> Option<String> {
        let line = self.root.object_value()?.object_value("statusLine")?;
        our_statusline(&string_of(&line, "command")?)?.wrapped
    }

    /// Whether the settings turn every hook off (`"disableAllHooks":
    /// true`), the status line with them.
    pub(crate) fn hooks_disabled(&self) -> bool {
        self.root
            .object_value()
            .and_then(|o| o.get("disableAllHooks")?.value()?.as_boolean_lit())
            .is_some_and(|b| b.value())
    }

    /// Takes out exactly homeswap's entries: its hook from every event (a
    /// group, an event or the `hooks` object left empty by that goes too)
    /// and its status line (the one it wrapped put back).
    pub(crate) fn remove(&self) -> Result<Vec<Change>, DocError> {
        let Some(root) = self.root.object_value() else {
            return Ok(Vec::new());
        };
        unique_keys(&root, "the settings")?;
        let mut changes = Vec::new();
        if let Some(prop) = root.get("hooks") {
            let hooks = prop
                .object_value()
                .ok_or_else(|| not_an("hooks", "object"))?;
            unique_keys(&hooks, "hooks")?;
            let had_events = !hooks.properties().is_empty();
            for (event, array) in event_arrays(&hooks)? {
                if take_ours(&array, hooks.get(&event)) > 0 {
                    changes.push(Change::HookRemoved(event));
                }
            }
            if had_events && hooks.properties().is_empty() {
                prop.remove();
            }
        }
        if let Some(prop) = root.get("statusLine") {
            let (line, command) = statusline_command(&prop)?;
            if let Some(ours) = our_statusline(&command) {
                match ours.wrapped {
                    Some(theirs) => {
                        set_string(&line, "command", &theirs);
                        changes.push(Change::StatusLineRestored(theirs));
                    }
                    None => {
                        prop.remove();
                        changes.push(Change::StatusLineRemoved);
                    }
                }
            }
        }
        Ok(changes)
    }
}

/// serde_json's message without its " at line L column C" (said apart).
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Puts homeswap's status line in: added when there is none, brought up to
/// date when it is homeswap's, else wrapped around the user's. Returns the
/// command it wraps.
fn install_statusline(
    root: &CstObject,
    commands: &Commands,
    changes: &mut Vec<Change>,
) -> Result<Option<String>, DocError> {
    let Some(prop) = root.get("statusLine") else {
        root.append("statusLine", command_entry(&commands.statusline(None)));
        changes.push(Change::StatusLineAdded);
        return Ok(None);
    };
    let (line, command) = statusline_command(&prop)?;
    let (want, wrapped) = match our_statusline(&command) {
        Some(ours) => (commands.statusline(ours.wrapped.as_deref()), ours.wrapped),
        None => (commands.statusline(Some(&command)), Some(command.clone())),
    };
    if want != command {
        set_string(&line, "command", &want);
        changes.push(match our_statusline(&command) {
            Some(_) => Change::StatusLineUpdated,
            None => Change::StatusLineWrapped(command),
        });
    }
    Ok(wrapped)
}

/// The `statusLine` object and its command.
fn statusline_command(prop: &CstObjectProp) -> Result<(CstObject, String), DocError> {
    let line = prop
        .object_value()
        .ok_or_else(|| not_an("statusLine", "object"))?;
    unique_keys(&line, "statusLine")?;
    let command = string_of(&line, "command").ok_or_else(|| {
        DocError::Shape(
            "`statusLine` has no `command` text, as Claude Code's settings have it".to_string(),
        )
    })?;
    Ok((line, command))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::ops::setup::command::Program;

    fn commands(config: &str) -> Commands {
        Commands::new(&Program::OnPath, Path::new(config)).unwrap()
    }

    fn install(text: &str) -> (String, Installed) {
        let doc = Document::parse(text).unwrap();
        let done = doc.install(&commands("/etc/hs.yaml")).unwrap();
        (doc.text(), done)
    }

    fn remove(text: &str) -> (String, Vec<Change>) {
        let doc = Document::parse(text).unwrap();
        let changes = doc.remove().unwrap();
        (doc.text(), changes)
    }

    #[test]
    fn an_empty_file_gets_both_hooks_and_the_status_line() {
        let (text, done) = install("");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let hook = "trap '' TERM; exec homeswap --config '/etc/hs.yaml' hook";
        for e in EVENTS {
            assert_eq!(v["hooks"][e][0]["hooks"][0]["command"], hook, "{text}");
            assert_eq!(v["hooks"][e][0]["hooks"][0]["type"], "command");
        }
        assert_eq!(
            v["statusLine"]["command"],
            "homeswap --config '/etc/hs.yaml' statusline"
        );
        assert!(text.ends_with("}\n"), "{text:?}");
        assert_eq!(done.changes.len(), EVENTS.len() + 1);
        assert_eq!(done.wrapped, None);
    }

    #[test]
    fn everything_else_keeps_its_bytes_and_order() {
        let before = "{\n    \"model\": \"opus\",\n    \"n\": 1.50e3,\n    \"hooks\": {\n        \"PreToolUse\": [{\"matcher\": \"Bash\", \"hooks\": [{\"type\": \"command\", \"command\": \"audit.sh\"}]}]\n    },\n    \"z\": [1,2]\n}\n";
        let (after, _) = install(before);
        assert!(
            after.starts_with("{\n    \"model\": \"opus\",\n    \"n\": 1.50e3,\n    \"hooks\": {\n        \"PreToolUse\": [{\"matcher\": \"Bash\", \"hooks\": [{\"type\": \"command\", \"command\": \"audit.sh\"}]}],\n        \"SessionStart\": ["),
            "{after}"
        );
        assert!(
            after.contains(
                "\n    \"z\": [1,2],\n    \"statusLine\": {\n        \"type\": \"command\",\n"
            ),
            "{after}"
        );
        let (back, changes) = remove(&after);
        assert_eq!(changes.len(), EVENTS.len() + 1, "{changes:?}");
        assert_eq!(back, before);
    }

    #[test]
    fn twice_changes_nothing() {
        let (once, _) =
            install("{\n  \"statusLine\": {\"type\": \"command\", \"command\": \"~/bin/st\"}\n}\n");
        let (twice, done) = install(&once);
        assert_eq!(twice, once);
        assert_eq!(done.changes, Vec::<Change>::new());
        assert_eq!(done.wrapped.as_deref(), Some("~/bin/st"));
    }

    #[test]
    fn an_older_entry_is_updated_in_place_and_a_second_one_taken_out() {
        let before = r#"{"hooks": {"StopFailure": [{"hooks": [{"type": "command", "command": "homeswap --config /old.yaml hook"}, {"type": "command", "command": "notify.sh"}]}, {"hooks": [{"type": "command", "command": "exec homeswap hook"}]}], "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "homeswap hook"}]}]}}"#;
        let (after, done) = install(before);
        let v: serde_json::Value = serde_json::from_str(&after).unwrap();
        let stop = v["hooks"]["StopFailure"].as_array().unwrap();
        assert_eq!(stop.len(), 1, "{after}");
        let entries = stop[0]["hooks"].as_array().unwrap();
        assert_eq!(
            entries[0]["command"],
            "trap '' TERM; exec homeswap --config '/etc/hs.yaml' hook"
        );
        assert_eq!(entries[1]["command"], "notify.sh");
        assert!(v["hooks"].get("UserPromptSubmit").is_none(), "{after}");
        assert!(done
            .changes
            .contains(&Change::HookUpdated("StopFailure".into())));
        assert!(done
            .changes
            .contains(&Change::HookDuplicateRemoved("StopFailure".into())));
        assert!(done
            .changes
            .contains(&Change::HookUnusedRemoved("UserPromptSubmit".into())));
    }

    #[test]
    fn remove_takes_out_exactly_its_own_and_restores_the_wrapped_status_line() {
        let before = "{\n  \"hooks\": {\n    \"SessionStart\": [\n      {\n        \"hooks\": [\n          {\n            \"type\": \"command\",\n            \"command\": \"echo hi\"\n          }\n        ]\n      }\n    ]\n  },\n  \"statusLine\": {\n    \"type\": \"command\",\n    \"command\": \"~/bin/st 'x'\",\n    \"padding\": 0\n  }\n}\n";
        let (installed, done) = install(before);
        assert_eq!(done.wrapped.as_deref(), Some("~/bin/st 'x'"));
        let v: serde_json::Value = serde_json::from_str(&installed).unwrap();
        assert_eq!(v["hooks"]["SessionStart"].as_array().unwrap().len(), 2);
        assert_eq!(v["statusLine"]["padding"], 0);
        let (back, _) = remove(&installed);
        assert_eq!(back, before);
        let (again, changes) = remove(&back);
        assert_eq!((again.as_str(), changes), (before, Vec::new()));
    }

    #[test]
    fn the_hooks_object_goes_when_removing_empties_it_and_stays_when_it_was_empty() {
        let (from_nothing, _) = install("{}");
        let (back, _) = remove(&from_nothing);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&back).unwrap(),
            serde_json::json!({})
        );
        // Nothing of homeswap's in it: left as it is.
        let (kept, changes) = remove("{\"hooks\": {}}");
        assert_eq!((kept.as_str(), changes), ("{\"hooks\": {}}", Vec::new()));
    }

    #[test]
    fn what_does_not_parse_is_refused_with_its_line_and_column() {
        for (text, line, column) in [
            ("{\n  \"a\": 1,\n}\n", 2, 9),
            ("{\n  // comment\n  \"a\": 1\n}", 2, 3),
            ("{\"a\": 1} {}", 1, 10),
        ] {
            match Document::parse(text) {
                Err(DocError::Syntax {
                    line: l,
                    column: c,
                    message,
                }) => {
                    assert_eq!((l, c), (line, column), "{text:?}: {message}");
                    assert!(!message.contains(" at line "), "{message}");
                }
                other => panic!("{text:?}: {:?}", other.map(|d| d.text())),
            }
        }
        for text in [
            "[1]",
            "{\"hooks\": []}",
            "{\"statusLine\": \"x\"}",
            "{\"hooks\": {\"Stop\": {}}}",
            "{\"a\": 1, \"a\": 2}",
        ] {
            let refused =
                Document::parse(text).and_then(|d| d.install(&commands("/x")).map(|_| ()));
            assert!(
                matches!(refused, Err(DocError::Shape(_))),
                "{text}: {refused:?}"
            );
        }
    }
}
