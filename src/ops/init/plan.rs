//! Init's request, its plan (what moves where, what is refused) and the
//! configuration text it writes. Read-only.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::InitError;
use crate::config::{is_valid_account_name, Config};
use crate::config::{RECOMMENDED_DIRS, RECOMMENDED_FILES, RECOMMENDED_THRESHOLD};
use crate::fs::pathfmt::shown;
use crate::fs::EntryKind;

/// What the operator asked for, with the defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InitRequest {
    /// The existing Claude Code home (`--from`), becomes the active link.
    pub(crate) from: PathBuf,
    /// The account's name (`--account`, default `a`).
    pub(crate) account: String,
    /// The account's home: `<from>-<account>`.
    pub(crate) home: PathBuf,
    /// The shared dir (`--shared-dir`, default `<from>-shared`).
    pub(crate) shared_dir: PathBuf,
    /// The state dir (`--state-dir`, default `<from>-state`).
    pub(crate) state_dir: PathBuf,
    /// The configuration file to write (`--config`, else the default place).
    pub(crate) config: PathBuf,
    /// True when the configuration goes to the default place, whose
    /// missing directories init creates (mode 0700); a `--config` or
    /// `$HOMESWAP_CONFIG` file's directory must exist.
    #[serde(default)]
    pub(crate) make_config_dir: bool,
}

impl InitRequest {
    /// The request for these arguments; a usage error for a bad account
    /// name or a path that is not absolute.
    pub(crate) fn new(
        from: &Path,
        account: Option<&str>,
        shared_dir: Option<&Path>,
        state_dir: Option<&Path>,
        config: &Path,
    ) -> Result<InitRequest, InitError> {
        let account = account.unwrap_or("a").to_string();
        if !is_valid_account_name(&account) {
            return Err(InitError::Usage(format!(
                "bad account name {account:?}: it must match ^[a-z0-9][a-z0-9_-]{{0,31}}$"
            )));
        }
        let plain = |p: &Path, what: &str| -> Result<PathBuf, InitError> {
            if !p.is_absolute() || p.components().any(|c| c == std::path::Component::ParentDir) {
                return Err(InitError::Usage(format!(
                    "{what} {} must be an absolute path without '..'",
                    shown(p)
                )));
            }
            Ok(p.components().collect())
        };
        let from = plain(from, "--from")?;
        if from.parent().is_none() {
            return Err(InitError::Usage("--from cannot be /".to_string()));
        }
        let beside = |suffix: &str| {
            let mut s = from.clone().into_os_string();
            s.push(suffix);
            PathBuf::from(s)
        };
        Ok(InitRequest {
            home: beside(&format!("-{account}")),
            shared_dir: match shared_dir {
                Some(p) => plain(p, "--shared-dir")?,
                None => beside("-shared"),
            },
            state_dir: match state_dir {
                Some(p) => plain(p, "--state-dir")?,
                None => beside("-state"),
            },
            config: config.to_path_buf(),
            make_config_dir: false,
            account,
            from,
        })
    }

    /// The same request, creating the configuration file's directory.
    pub(crate) fn making_config_dir(self) -> InitRequest {
        InitRequest {
            make_config_dir: true,
            ..self
        }
    }

    /// The configuration init writes: this account, the recommended
    /// shared set, the default private list.
    pub(crate) fn config_text(&self) -> Result<String, InitError> {
        let q = |p: &Path| -> Result<String, InitError> {
            let s = p.to_str().ok_or_else(|| {
                InitError::Usage(format!("{} is not UTF-8, which YAML cannot hold", shown(p)))
            })?;
            // A JSON string is a YAML double-quoted scalar.
            serde_json::to_string(s).map_err(|e| InitError::Usage(e.to_string()))
        };
        let list = |names: &[&str]| {
            names
                .iter()
                .map(|n| format!("  - {n}\n"))
                .collect::<String>()
        };
        Ok(format!(
            "# Written by 'homeswap init --from {from}'. Add an account with\n\
             # 'homeswap account add NAME'. docs/guide.md \"Drift\" says why\n\
             # each entry is shared or private.\n\
             accounts:\n  {account}: {home}\n\
             active_link: {from_q}\n\
             shared_dir: {shared}\n\
             shared:\n{dirs}\
             shared_files:\n{files}\
             # private: the default list (docs/guide.md \"Drift\"); a list here replaces it.\n\
             state_dir: {state}\n\
             failover:\n  \
             threshold: {threshold}      # the status line fails over at {threshold}% of a window (docs/guide.md \"Usage\")\n",
            from = shown(&self.from),
            account = self.account,
            home = q(&self.home)?,
            from_q = q(&self.from)?,
            shared = q(&self.shared_dir)?,
            dirs = list(&RECOMMENDED_DIRS),
            files = list(&RECOMMENDED_FILES),
            state = q(&self.state_dir)?,
            threshold = RECOMMENDED_THRESHOLD,
        ))
    }
}

/// One entry of the existing home that moves into the shared dir.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Move {
    /// The entry name, e.g. `projects`.
    pub(crate) name: String,
    /// True for a directory, false for a regular file.
    pub(crate) dir: bool,
}

/// What init will do, or why it will not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InitPlan {
    /// The request.
    pub(crate) request: InitRequest,
    /// The shared entries the home holds, moved to the shared dir.
    pub(crate) moves: Vec<Move>,
    /// `~/.claude.json`, copied into the home (which has none).
    pub(crate) claude_json: Option<PathBuf>,
    /// Why a `~/.claude.json` that is there is not copied (a FIFO, a
    /// directory, a dangling link): said, never skipped silently.
    pub(crate) claude_json_skipped: Option<String>,
    /// Why init refuses, one line each (empty: it can go ahead).
    pub(crate) refusals: Vec<String>,
}

/// Plans init of `req`; read-only.
pub(crate) fn plan(req: &InitRequest, home_env: Option<&Path>) -> Result<InitPlan, InitError> {
    let config_text = req.config_text()?;
    // The configuration it would write must itself be valid (separate
    // paths, names): a usage error otherwise.
    Config::parse(&req.config, &config_text).map_err(|e| {
        InitError::Usage(format!(
            "the configuration init would write is invalid: {e}"
        ))
    })?;
    let mut refusals = config_file_refusals(req);
    let from_ok = match from_refusal(&req.from) {
        Some(r) => {
            refusals.push(r);
            false
        }
        None => true,
    };
    for (what, p) in [
        ("the account home", &req.home),
        ("the shared dir", &req.shared_dir),
        ("the state dir", &req.state_dir),
    ] {
        if exists(p) {
            refusals.push(format!(
                "{what} {} exists; init creates it: move it aside or choose another path",
                shown(p)
            ));
        }
    }
    let mut moves = Vec::new();
    if from_ok {
        entries(req, &mut moves, &mut refusals);
        same_fs(req, &mut refusals);
    }
    let (claude_json, claude_json_skipped) = match home_env {
        // A home with its own `.claude.json` keeps it.
        Some(h) if !exists(&req.from.join(".claude.json")) => {
            claude_json(&h.join(".claude.json"), &req.home.join(".claude.json"))
        }
        _ => (None, None),
    };
    Ok(InitPlan {
        request: req.clone(),
        moves,
        claude_json,
        claude_json_skipped,
        refusals,
    })
}

/// Whether anything (a link too) is at `p`.
fn exists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

/// Why the configuration file cannot be written where asked, if it
/// cannot.
fn config_file_refusals(req: &InitRequest) -> Vec<String> {
    if exists(&req.config) {
        return vec![format!(
            "the configuration file {} exists; init writes a new one: give another --config",
            shown(&req.config)
        )];
    }
    match req.config.parent().filter(|d| !d.is_dir()) {
        Some(dir) if !req.make_config_dir => vec![format!(
            "the configuration file's directory {} does not exist; create it first, or give another --config",
            shown(dir)
        )],
        _ => Vec::new(),
    }
}

/// Why `from` is not a Claude Code home init can convert, if it is not.
fn from_refusal(from: &Path) -> Option<String> {
    match std::fs::symlink_metadata(from) {
        Ok(m) if m.file_type().is_symlink() => Some(format!(
            "{} is already a link (to {}); init converts a real Claude Code home",
            shown(from),
            std::fs::read_link(from)
                .map(|t| shown(&t).to_string())
                .unwrap_or_default()
        )),
        Ok(m) if m.is_dir() => None,
        Ok(_) => Some(format!("{} is not a directory", shown(from))),
        Err(e) => Some(format!("{}: {e}", shown(from))),
    }
}

/// `src` (`~/.claude.json`) when it is a regular file (or a link to one)
/// to copy to `dest`; else why it is not copied. Nothing there: neither.
fn claude_json(src: &Path, dest: &Path) -> (Option<PathBuf>, Option<String>) {
    let what = match std::fs::symlink_metadata(src) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (None, None),
        Err(e) => format!("not inspectable ({e})"),
        Ok(m) if m.is_file() => return (Some(src.to_path_buf()), None),
        Ok(m) if m.file_type().is_symlink() => match std::fs::metadata(src) {
            Ok(t) if t.is_file() => return (Some(src.to_path_buf()), None),
            Ok(t) => format!("a symlink to {}", EntryKind::from_mode(t.mode())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => format!(
                "a symlink to {}, which does not exist",
                std::fs::read_link(src)
                    .map(|t| shown(&t).to_string())
                    .unwrap_or_else(|_| "?".into())
            ),
            Err(e) => format!("a symlink that cannot be followed ({e})"),
        },
        Ok(m) => EntryKind::from_mode(m.mode()).to_string(),
    };
    let note = format!(
        "{} is {what}, not a regular file: not copied (init never opens it), so Claude Code starts this home without it (onboarding and trust prompts again); if you keep that file elsewhere, copy it by hand to {}",
        shown(src),
        shown(dest)
    );
    (None, Some(note))
}

/// The recommended shared entries the home holds; one of the wrong kind
/// (or a symlink) is refused.
fn entries(req: &InitRequest, moves: &mut Vec<Move>, refusals: &mut Vec<String>) {
    let named = RECOMMENDED_DIRS
        .iter()
        .map(|n| (n, true))
        .chain(RECOMMENDED_FILES.iter().map(|n| (n, false)));
    for (name, dir) in named {
        let p = req.from.join(name);
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let kind = EntryKind::from_mode(m.mode());
        let want = if dir { EntryKind::Dir } else { EntryKind::File };
        if kind == want {
            moves.push(Move {
                name: name.to_string(),
                dir,
            });
        } else {
            refusals.push(format!(
                "{} is {kind}, but init shares it as {}; make it {} (or move it aside), then run init again",
                shown(&p),
                want,
                want
            ));
        }
    }
}

/// The home and the shared dir must be on one file system: init moves by
/// exchanging entries, which never copies.
fn same_fs(req: &InitRequest, refusals: &mut Vec<String>) {
    let dev = |p: &Path| std::fs::metadata(p).map(|m| m.dev());
    let from_parent = req.from.parent().unwrap_or(Path::new("/"));
    if let (Ok(a), Ok(b)) = (dev(&req.from), dev(from_parent)) {
        if a != b {
            // Nothing beside it shares its file system, and a mount point
            // cannot be renamed: no --shared-dir would help.
            refusals.push(format!(
                "{from} is a mount point (the root of its own file system): init cannot move it (a mount point cannot be renamed) and no --shared-dir beside it is on its file system; what works: mount that file system elsewhere (e.g. /srv/claude), move the home's entries into a directory on it (/srv/claude/claude), run 'homeswap init --from /srv/claude/claude' and use CLAUDE_CONFIG_DIR=/srv/claude/claude (once {from} is unmounted, it can be a symlink to that); or copy the home to a directory that is not a mount point and run init on the copy",
                from = shown(&req.from)
            ));
            return;
        }
    }
    let parent = req.shared_dir.parent().unwrap_or(Path::new("/"));
    match (dev(&req.from), dev(parent)) {
        (Ok(a), Ok(b)) if a == b => {}
        (Ok(_), Ok(_)) => refusals.push(format!(
            "the shared dir {} is on another file system than {}; init moves entries without copying: choose a --shared-dir beside it (then 'homeswap adopt' can move across file systems later)",
            shown(&req.shared_dir),
            shown(&req.from)
        )),
        (_, Err(e)) => refusals.push(format!(
            "the shared dir's parent {}: {e}; create it first",
            shown(parent)
        )),
        (Err(_), _) => {}
    }
}
