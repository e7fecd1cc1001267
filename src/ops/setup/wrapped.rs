//! A wrapped status line that lives in one account's home (issue 22): a
//! script kept at `~/.claude/statusline.sh` is reached through the active
//! link, so after the first swap the link names another home, where it is
//! not (`sh: 1: .../.claude/statusline.sh: not found`). `setup claude-code`
//! warns when the command it wraps names such a path, and says where the
//! script must live: the shared dir, or anywhere outside the homes.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::fs::pathfmt::{shell_word, shown};
use crate::ops::setup::command::words;

/// One warning line for each path `wrapped` names inside a home or through
/// the active link. `home_env` is `$HOME`, for `~/` and `$HOME/`.
pub(crate) fn misplaced(wrapped: &str, config: &Config, home_env: Option<&Path>) -> Vec<String> {
    let words =
        words(wrapped).unwrap_or_else(|| wrapped.split_whitespace().map(str::to_string).collect());
    let mut out = Vec::new();
    for word in &words {
        // `--file=/x/y` names a path too.
        let tail = word.split_once('=').map(|(_, t)| t);
        for candidate in std::iter::once(word.as_str()).chain(tail) {
            let Some(path) = expand(candidate, config, home_env) else {
                continue;
            };
            if let Some(why) = where_it_is(&path, config) {
                out.push(advice(wrapped, &path, &why, config));
            }
        }
    }
    out
}

/// `word` as an absolute path: as it is, or with `~`, `$HOME` or
/// `$CLAUDE_CONFIG_DIR` (the active link, as Claude Code's environment has
/// it) in front expanded.
fn expand(word: &str, config: &Config, home_env: Option<&Path>) -> Option<PathBuf> {
    let prefixes: [(&str, Option<&Path>); 5] = [
        ("~/", home_env),
        ("$HOME/", home_env),
        ("${HOME}/", home_env),
        ("$CLAUDE_CONFIG_DIR/", Some(&config.active_link)),
        ("${CLAUDE_CONFIG_DIR}/", Some(&config.active_link)),
    ];
    for (prefix, base) in prefixes {
        if let Some(rest) = word.strip_prefix(prefix) {
            return base.map(|b| b.join(rest));
        }
    }
    word.starts_with('/').then(|| PathBuf::from(word))
}

/// Why `path` is in the wrong place, if it is: through the active link,
/// or inside a home (as written, or once its links are followed). A path
/// that leads into the shared dir is in the right place, whatever it went
/// through (e.g. a shared link of a home).
fn where_it_is(path: &Path, config: &Config) -> Option<String> {
    let real = std::fs::canonicalize(path).ok();
    let shared = std::fs::canonicalize(config.shared.dir()).ok();
    if let (Some(real), Some(shared)) = (&real, &shared) {
        if real.starts_with(shared) {
            return None;
        }
    }
    if path.starts_with(&config.active_link) {
        return Some(format!(
            "is reached through the active link {}, which names another account's home after a swap",
            shown(&config.active_link)
        ));
    }
    for (account, home) in &config.accounts {
        let real_home = std::fs::canonicalize(home).ok();
        let inside = path.starts_with(home)
            || matches!((&real, &real_home), (Some(r), Some(h)) if r.starts_with(h));
        if inside {
            return Some(format!(
                "is inside account {account}'s home {}, which the other accounts do not see",
                shown(home)
            ));
        }
    }
    None
}

/// The warning for `path`, with where it must live instead.
fn advice(wrapped: &str, path: &Path, why: &str, config: &Config) -> String {
    let shared = config.shared.dir();
    format!(
        "the status line kept ({:?}) runs {}, which {why}: move it into the shared dir (mv {} {}/) or anywhere outside the homes, and change the path after --wrap in settings.json's statusLine",
        wrapped,
        shown(path),
        shell_word(path),
        shell_word(shared)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(root: &Path) -> Config {
        let text = format!(
            "accounts:\n  a: {r}/home-a\n  b: {r}/home-b\nactive_link: {r}/active\nshared_dir: {r}/shared\nstate_dir: {r}/state\n",
            r = root.display()
        );
        Config::parse(Path::new("/x.yaml"), &text).unwrap()
    }

    #[test]
    fn a_script_through_the_active_link_or_in_a_home_is_warned_about() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        let c = config(r);
        let user = r.join("user");
        for (cmd, what) in [
            (
                format!("{}/active/statusline.sh", r.display()),
                "through the active link",
            ),
            (
                "$CLAUDE_CONFIG_DIR/st.sh".to_string(),
                "through the active link",
            ),
            (
                format!("bash {}/home-b/st.sh --x", r.display()),
                "account b's home",
            ),
            (
                format!("python3 --file={}/home-a/st.py", r.display()),
                "account a's home",
            ),
        ] {
            let w = misplaced(&cmd, &c, Some(&user));
            assert_eq!(w.len(), 1, "{cmd}: {w:?}");
            assert!(w[0].contains(what), "{w:?}");
            assert!(w[0].contains("move it into the shared dir"), "{w:?}");
        }
    }

    #[test]
    fn the_home_directory_of_the_user_matters_for_tilde() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        let c = config(r);
        // ~ is the directory holding the active link: ~/active/... is through it.
        assert_eq!(misplaced("~/active/st.sh", &c, Some(r)).len(), 1);
        assert!(misplaced("~/bin/st.sh", &c, Some(r)).is_empty());
        assert!(misplaced("~/active/st.sh", &c, None).is_empty());
    }

    #[test]
    fn the_shared_dir_and_paths_outside_the_homes_are_fine() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        let c = config(r);
        std::fs::create_dir_all(r.join("shared/commands")).unwrap();
        std::fs::write(r.join("shared/commands/st.sh"), b"").unwrap();
        std::fs::create_dir_all(r.join("home-a")).unwrap();
        std::os::unix::fs::symlink(r.join("shared/commands"), r.join("home-a/commands")).unwrap();
        std::os::unix::fs::symlink(r.join("home-a"), r.join("active")).unwrap();
        for cmd in [
            format!("{}/shared/st.sh", r.display()),
            format!("{}/active/commands/st.sh", r.display()),
            "/usr/local/bin/st --color".to_string(),
            "echo hi".to_string(),
        ] {
            assert_eq!(misplaced(&cmd, &c, None), Vec::<String>::new(), "{cmd}");
        }
    }
}
