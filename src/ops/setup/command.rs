//! The two commands `setup claude-code` writes into Claude Code's
//! settings, and how it knows its own among the user's.
//!
//! Written in the forms proven with the real client
//! (`tests/claude_failover.rs`, `tests/claude_statusline.rs`):
//! - hook: `trap '' TERM; exec homeswap --config 'PATH' hook`. `claude -p`
//!   sends its `StopFailure` hook SIGTERM some 20-40 ms after starting it;
//!   `trap ''` makes the shell ignore it from its first instruction, and
//!   `exec` makes homeswap the process Claude Code waits for.
//! - status line: `homeswap --config 'PATH' statusline`, or with
//!   `--wrap 'CMD'` around the user's own status line.
//!
//! The configuration's path is always given (Claude Code's environment need
//! not hold `$HOMESWAP_CONFIG`), quoted for the shell. A command is ours when
//! it runs a program named `homeswap` with nothing but `--config`, the
//! subcommand and (status line) `--wrap`, behind `trap '' TERM; exec` or
//! not: so an entry written for another configuration or by an older
//! homeswap is recognised, and updated rather than duplicated.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The hook command's shield against Claude Code's SIGTERM.
const SHIELD: &str = "trap '' TERM; exec ";

/// How a command names the homeswap binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Program {
    /// `homeswap`: the one on `PATH` is this binary.
    OnPath,
    /// This binary by its absolute path: `homeswap` on `PATH` is missing
    /// or another file.
    At(PathBuf),
}

impl Program {
    /// This binary as the commands should name it: `homeswap` when the
    /// `homeswap` found on `path` (a `PATH` value) is this very file, else
    /// `exe`, its absolute path (Claude Code's shell would find no
    /// `homeswap`, or another one).
    pub(crate) fn detect(exe: Option<&Path>, path: Option<&OsStr>) -> Program {
        let Some(exe) = exe else {
            return Program::OnPath;
        };
        let found = path
            .into_iter()
            .flat_map(std::env::split_paths)
            .filter(|dir| dir.is_absolute())
            .map(|dir| dir.join("homeswap"))
            .find(|p| p.is_file());
        let same = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        match found {
            Some(f) if same(&f, exe) => Program::OnPath,
            _ => Program::At(exe.to_path_buf()),
        }
    }
}

/// The commands for one configuration, ready to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Commands {
    /// `homeswap --config 'PATH'`, the common head.
    head: String,
}

/// A path that cannot go into a settings file (JSON holds text only).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} is not UTF-8 text: Claude Code's settings.json cannot name it; use a configuration (and a homeswap binary) whose path is", crate::fs::pathfmt::shown(.0))]
pub(crate) struct NotText(pub(crate) PathBuf);

impl Commands {
    /// The commands running `program` with the configuration at `config`
    /// (absolute).
    pub(crate) fn new(program: &Program, config: &Path) -> Result<Commands, NotText> {
        let text = |p: &Path| {
            p.to_str()
                .map(quote)
                .ok_or_else(|| NotText(p.to_path_buf()))
        };
        let program = match program {
            Program::OnPath => "homeswap".to_string(),
            Program::At(p) => text(p)?,
        };
        Ok(Commands {
            head: format!("{program} --config {}", text(config)?),
        })
    }

    /// The hook command, for every event of `ops::hook::EVENTS`.
    pub(crate) fn hook(&self) -> String {
        format!("{SHIELD}{} hook", self.head)
    }

    /// The status-line command, around `wrapped` when given.
    pub(crate) fn statusline(&self, wrapped: Option<&str>) -> String {
        match wrapped {
            Some(w) => format!("{} statusline --wrap {}", self.head, quote(w)),
            None => format!("{} statusline", self.head),
        }
    }
}

/// `text` as one single-quoted shell word (a `'` inside as `'\''`).
pub(crate) fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A command of homeswap's, as found in a settings file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ours {
    /// The status line it wraps (`--wrap`), if any.
    pub(crate) wrapped: Option<String>,
}

/// Whether `command` is homeswap's hook command (in any of its forms).
pub(crate) fn is_our_hook(command: &str) -> bool {
    ours(command, "hook").is_some()
}

/// homeswap's status-line command, if `command` is one.
pub(crate) fn our_statusline(command: &str) -> Option<Ours> {
    ours(command, "statusline")
}

/// `command` read as `[trap '' TERM;] [exec] homeswap [--config X]
/// SUBCOMMAND [--wrap X]`, the options in any order.
fn ours(command: &str, subcommand: &str) -> Option<Ours> {
    let tokens = tokens(command)?;
    let words = strip_shield(&tokens)?;
    let (program, args) = words.split_first()?;
    if Path::new(program).file_name() != Some(OsStr::new("homeswap")) {
        return None;
    }
    let mut seen = false;
    let mut wrapped = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => {
                args.next()?;
            }
            a if a.starts_with("--config=") => {}
            "--wrap" if subcommand == "statusline" && seen => {
                wrapped = Some(args.next()?.clone());
            }
            a if a.starts_with("--wrap=") && subcommand == "statusline" && seen => {
                wrapped = Some(a["--wrap=".len()..].to_string());
            }
            a if a == subcommand && !seen => seen = true,
            _ => return None,
        }
    }
    seen.then_some(Ours { wrapped })
}

/// The words after `trap '' TERM;` and `exec`, when the rest is one simple
/// command (no other operator).
fn strip_shield(tokens: &[Token]) -> Option<Vec<String>> {
    fn word(t: &Token) -> Option<&str> {
        match t {
            Token::Word(w) => Some(w.as_str()),
            Token::Op(_) => None,
        }
    }
    let mut rest = tokens;
    if let [Token::Word(trap), Token::Word(empty), Token::Word(term), Token::Op(';'), tail @ ..] =
        rest
    {
        if trap == "trap" && empty.is_empty() && term == "TERM" {
            rest = tail;
        }
    }
    if rest.first().and_then(word) == Some("exec") {
        rest = &rest[1..];
    }
    rest.iter().map(|t| word(t).map(str::to_string)).collect()
}

/// One shell token: a word with its quotes removed, or an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A word, unquoted.
    Word(String),
    /// One of `;&|<>()`.
    Op(char),
}

/// The POSIX shell's tokens of `command`, far enough to recognise a simple
/// command: blanks separate words, `'...'`, `"..."` and `\` quote, and the
/// operator characters stand alone; `$` stays as it is (nothing is
/// expanded). `None` for an unterminated quote or a backquote.
fn tokens(command: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => out.extend(word.take().map(Token::Word)),
            ';' | '&' | '|' | '<' | '>' | '(' | ')' => {
                out.extend(word.take().map(Token::Word));
                out.push(Token::Op(c));
            }
            '`' => return None,
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        q => w.push(q),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '`' => return None,
                        '\\' => match chars.next()? {
                            e @ ('"' | '\\' | '$' | '`') => w.push(e),
                            '\n' => {}
                            e => {
                                w.push('\\');
                                w.push(e);
                            }
                        },
                        q => w.push(q),
                    }
                }
            }
            '\\' => match chars.next()? {
                '\n' => {}
                e => word.get_or_insert_with(String::new).push(e),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    out.extend(word.take().map(Token::Word));
    Some(out)
}

/// The words of `command` as the shell would split them, for the paths a
/// wrapped status line names; `None` where [`tokens`] gives up.
pub(crate) fn words(command: &str) -> Option<Vec<String>> {
    Some(
        tokens(command)?
            .into_iter()
            .filter_map(|t| match t {
                Token::Word(w) => Some(w),
                Token::Op(_) => None,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands() -> Commands {
        Commands::new(&Program::OnPath, Path::new("/etc/home swap/it's.yaml")).unwrap()
    }

    #[test]
    fn the_commands_are_the_forms_proven_with_the_real_client() {
        let c = Commands::new(&Program::OnPath, Path::new("/etc/homeswap.yaml")).unwrap();
        assert_eq!(
            c.hook(),
            "trap '' TERM; exec homeswap --config '/etc/homeswap.yaml' hook"
        );
        assert_eq!(
            c.statusline(None),
            "homeswap --config '/etc/homeswap.yaml' statusline"
        );
        let at = Commands::new(
            &Program::At("/opt/hs/bin/homeswap".into()),
            Path::new("/etc/homeswap.yaml"),
        )
        .unwrap();
        assert_eq!(
            at.statusline(Some("~/bin/st --x 'y'")),
            r#"'/opt/hs/bin/homeswap' --config '/etc/homeswap.yaml' statusline --wrap '~/bin/st --x '\''y'\'''"#
        );
    }

    #[test]
    fn its_own_commands_are_recognised_and_the_wrapped_command_read_back_exactly() {
        let c = commands();
        assert!(is_our_hook(&c.hook()));
        assert_eq!(
            our_statusline(&c.statusline(None)),
            Some(Ours { wrapped: None })
        );
        for wrapped in ["~/bin/st", "echo \"a b\" 'c' $HOME \\ x", "it's", ""] {
            assert_eq!(
                our_statusline(&c.statusline(Some(wrapped))),
                Some(Ours {
                    wrapped: Some(wrapped.to_string())
                }),
                "{wrapped:?}"
            );
        }
        // Another configuration, an older form, a binary by its path.
        for hook in [
            "homeswap --config /etc/homeswap.yaml hook",
            "trap '' TERM; exec '/usr/local/bin/homeswap' --config=/x hook",
            "exec homeswap hook --config \"/a b\"",
            "/home/u/.cargo/bin/homeswap hook",
        ] {
            assert!(is_our_hook(hook), "{hook}");
        }
    }

    #[test]
    fn anything_else_is_the_users() {
        for hook in [
            "homeswap hook; rm -rf /",
            "homeswap hook | tee /tmp/log",
            "homeswap statusline",
            "homeswap --config /x hook extra",
            "my-homeswap hook",
            "homeswap --config",
            "homeswap 'hook",
            "`which homeswap` hook",
            "$(which homeswap) hook",
            "trap '' TERM; exec other hook",
            "echo homeswap hook",
        ] {
            assert!(!is_our_hook(hook), "{hook}");
        }
        for line in [
            "homeswap hook",
            "homeswap --wrap x statusline",
            "homeswap statusline --wrap",
            "~/bin/statusline.sh",
        ] {
            assert_eq!(our_statusline(line), None, "{line}");
        }
    }

    #[test]
    fn the_program_is_named_by_its_path_unless_path_finds_this_very_binary() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let exe = bin.join("homeswap");
        std::fs::write(&exe, b"x").unwrap();
        let other = dir.path().join("other");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("homeswap"), b"y").unwrap();
        let path = |dirs: &[&Path]| std::env::join_paths(dirs).unwrap();
        assert_eq!(
            Program::detect(Some(&exe), Some(&path(&[&bin]))),
            Program::OnPath
        );
        assert_eq!(
            Program::detect(Some(&exe), Some(&path(&[&other, &bin]))),
            Program::At(exe.clone())
        );
        assert_eq!(
            Program::detect(Some(&exe), Some(&path(&[dir.path()]))),
            Program::At(exe.clone())
        );
        assert_eq!(Program::detect(Some(&exe), None), Program::At(exe));
    }
}
