//! `$FAILPOINTS` for a test run (compiled only with `--features failpoints`).
//!
//! Every action the `fail` crate knows (the contract's `return`, `panic`,
//! `sleep(ms)`) goes to it unchanged. One more is ours: `NAME=hold(PATH)`.
//! Each time the process reaches `NAME` it creates `PATH.reached` and
//! waits until `PATH` exists; then it removes `PATH` and `PATH.reached`
//! (in that order) and goes on as if the failpoint were off. A test in
//! another process so learns that the point is reached (an event, not a
//! guess) and decides when the process may go on: each `PATH` it creates
//! lets one pass, and the marker's removal says it has. `fail`'s own
//! `pause` can only be released from inside the process. A hold whose
//! directory disappears (the test's sandbox removed) stops waiting.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often a hold looks for its release file.
const POLL: Duration = Duration::from_millis(5);

/// Configures the failpoints `$FAILPOINTS` names (`NAME=ACTIONS;...`).
/// Panics on a malformed entry, as `fail::FailScenario::setup` does: a
/// test that sets a failpoint wrongly must not run without it.
pub fn setup() {
    let Some(spec) = std::env::var_os("FAILPOINTS") else {
        return;
    };
    let spec = spec
        .into_string()
        .unwrap_or_else(|s| panic!("FAILPOINTS is not UTF-8: {s:?}"));
    for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((name, actions)) = entry.split_once('=') else {
            panic!("FAILPOINTS: {entry:?} is not NAME=ACTIONS");
        };
        let (name, actions) = (name.trim(), actions.trim());
        let configured = match hold_path(actions) {
            Some(release) => fail::cfg_callback(name, move || hold(&release)),
            None => fail::cfg(name, actions),
        };
        if let Err(e) = configured {
            panic!("FAILPOINTS: unable to configure failpoint {name:?}: {e}");
        }
    }
}

/// The release file of a `hold(PATH)` action, or `None` for any other.
fn hold_path(actions: &str) -> Option<PathBuf> {
    let path = actions.strip_prefix("hold(")?.strip_suffix(')')?;
    assert!(!path.is_empty(), "FAILPOINTS: hold() needs a path");
    Some(PathBuf::from(path))
}

/// The file a hold creates once its point is reached: `PATH.reached`.
fn reached_marker(release: &Path) -> PathBuf {
    let mut name = release.as_os_str().to_os_string();
    name.push(".reached");
    PathBuf::from(name)
}

/// Says the point is reached, waits for the release file, takes it and
/// says the point is left.
fn hold(release: &Path) {
    let marker = reached_marker(release);
    if let Err(e) = std::fs::write(&marker, format!("{}\n", std::process::id())) {
        panic!("failpoint hold: cannot create {}: {e}", marker.display());
    }
    let dir = release.parent().unwrap_or(Path::new("/"));
    while !release.exists() && dir.exists() {
        std::thread::sleep(POLL);
    }
    // Errors only where the directory is gone, and with it the test.
    let _ = std::fs::remove_file(release);
    let _ = std::fs::remove_file(&marker);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_whole_hold_action_is_a_hold() {
        assert_eq!(
            hold_path("hold(/tmp/x/go)"),
            Some(PathBuf::from("/tmp/x/go"))
        );
        assert_eq!(hold_path("return"), None);
        assert_eq!(hold_path("return(hold:/tmp/x)"), None);
        assert_eq!(hold_path("sleep(50)"), None);
        assert_eq!(hold_path("1*hold(/x)"), None);
    }

    #[test]
    fn the_marker_sits_next_to_the_release_file() {
        assert_eq!(
            reached_marker(Path::new("/tmp/x/go")),
            PathBuf::from("/tmp/x/go.reached")
        );
    }

    #[test]
    fn a_hold_marks_its_point_waits_for_one_release_and_takes_it() {
        let dir = tempfile::tempdir().unwrap();
        let release = dir.path().join("go");
        let held = std::thread::spawn({
            let release = release.clone();
            move || hold(&release)
        });
        let marker = reached_marker(&release);
        while !marker.exists() {
            std::thread::sleep(POLL);
        }
        assert!(!held.is_finished(), "the hold went on before its release");
        std::fs::write(&release, b"").unwrap();
        held.join().unwrap();
        // Both gone: the next time the point is reached, it holds again.
        assert!(!marker.exists() && !release.exists());
    }
}
