//! `homeswap completions SHELL` and the man page: generated from the same
//! definitions as `--help`, so each offers every command `--help` lists,
//! loads in its shell, and needs no configuration.
//!
//! The shells and the man page renderer are real programs: bash, zsh, fish
//! and groff (.ci/run installs zsh, fish and groff-base where missing).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

/// `homeswap ARGS`, with a configuration that does not exist: nothing here
/// may need one.
fn homeswap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_homeswap"))
        .args(args)
        .env("HOMESWAP_CONFIG", "/nonexistent/homeswap.yaml")
        .output()
        .unwrap()
}

fn stdout(args: &[&str]) -> String {
    let out = homeswap(args);
    assert_eq!(out.status.code(), Some(0), "homeswap {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The commands under "Commands:" in `homeswap [PATH] --help`, without
/// `help`: a name indented by two spaces opens each entry.
fn help_commands(path: &[&str]) -> Vec<String> {
    let mut args = path.to_vec();
    args.push("--help");
    stdout(&args)
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Every command as its words (`["latch", "clear"]`), from the help texts.
fn every_command() -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for top in help_commands(&[]) {
        let nested = help_commands(&[top.as_str()]);
        all.push(vec![top.clone()]);
        all.extend(nested.into_iter().map(|sub| vec![top.clone(), sub]));
    }
    all
}

/// A file in a fresh temporary directory.
fn written(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .env("HOME", "/nonexistent")
        .output()
        .unwrap_or_else(|e| panic!("{program} cannot run ({e}): .ci/run installs it"));
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// What bash's completion offers after `homeswap WORDS... <TAB>`: the
/// script sourced, then its function called as bash would call it.
fn bash_offers(script: &Path, words: &[&str]) -> BTreeSet<String> {
    let line: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let code = format!(
        "set -e; source '{}'
         COMP_WORDS=(homeswap {} ''); COMP_CWORD=${{#COMP_WORDS[@]}}; COMP_CWORD=$((COMP_CWORD - 1))
         _homeswap homeswap '' \"${{COMP_WORDS[COMP_CWORD - 1]}}\"
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        line.join(" ")
    );
    run("bash", &["--norc", "-c", &code])
        .lines()
        .map(str::to_string)
        .collect()
}

fn names(words: &[&str]) -> BTreeSet<String> {
    words.iter().map(|w| w.to_string()).collect()
}

#[test]
fn bash_completion_registers_and_offers_exactly_the_commands_help_lists() {
    let dir = tempfile::tempdir().unwrap();
    let script = written(&dir, "homeswap.bash", &stdout(&["completions", "bash"]));
    run("bash", &["-n", script.to_str().unwrap()]);
    let registered = run(
        "bash",
        &[
            "--norc",
            "-c",
            &format!("source '{}'; complete -p homeswap", script.display()),
        ],
    );
    assert!(registered.contains("-F _homeswap homeswap"), "{registered}");

    let offered: BTreeSet<String> = bash_offers(&script, &[])
        .into_iter()
        .filter(|w| !w.starts_with('-'))
        .collect();
    let mut expected: BTreeSet<String> = help_commands(&[]).into_iter().collect();
    expected.insert("help".into());
    assert_eq!(
        offered, expected,
        "the hidden manpage command is not offered"
    );
    assert!(expected.contains("completions"), "{expected:?}");

    let latch: BTreeSet<String> = bash_offers(&script, &["latch"])
        .into_iter()
        .filter(|w| !w.starts_with('-'))
        .collect();
    assert_eq!(latch, names(&["show", "clear", "help"]));
    assert_eq!(
        bash_offers(&script, &["completions"])
            .into_iter()
            .filter(|w| !w.starts_with('-'))
            .collect::<BTreeSet<_>>(),
        names(&["bash", "zsh", "fish", "elvish"])
    );
    assert_eq!(
        bash_offers(&script, &["failover", "--reason"]),
        names(&["rate_limit", "auth", "usage", "manual"])
    );
    assert!(bash_offers(&script, &["swap"]).contains("--help"));
}

#[test]
fn fish_completion_offers_every_command_with_its_description() {
    let dir = tempfile::tempdir().unwrap();
    let script = written(&dir, "homeswap.fish", &stdout(&["completions", "fish"]));
    run("fish", &["--no-execute", script.to_str().unwrap()]);
    let complete = |line: &str| -> BTreeSet<String> {
        let code = format!("source '{}'; complete -C '{line}'", script.display());
        run("fish", &["--no-config", "-c", &code])
            .lines()
            .filter_map(|l| l.split('\t').next())
            .filter(|w| !w.starts_with('-'))
            .map(str::to_string)
            .collect()
    };
    let mut expected: BTreeSet<String> = help_commands(&[]).into_iter().collect();
    expected.insert("help".into());
    assert_eq!(complete("homeswap "), expected);
    assert_eq!(complete("homeswap limits "), names(&["clear", "help"]));
}

#[test]
fn zsh_completion_parses_registers_with_compinit_and_names_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let text = stdout(&["completions", "zsh"]);
    assert!(text.starts_with("#compdef homeswap\n"), "{text}");
    let script = written(&dir, "_homeswap", &text);
    run("zsh", &["-n", script.to_str().unwrap()]);
    let code = format!(
        "autoload -U compinit; compinit -u -D; source '{}'; print -r -- ${{_comps[homeswap]}}",
        script.display()
    );
    assert_eq!(run("zsh", &["-f", "-c", &code]).trim(), "_homeswap");
    for command in every_command() {
        let name = command.last().unwrap();
        assert!(
            text.contains(&format!("'{name}:")),
            "zsh does not offer {command:?}"
        );
    }
    assert!(!text.contains("manpage"), "the hidden command is offered");
}

#[test]
fn elvish_completion_names_every_command() {
    let text = stdout(&["completions", "elvish"]);
    assert!(
        text.contains("set edit:completion:arg-completer[homeswap]"),
        "{text}"
    );
    for command in every_command() {
        let path = format!("homeswap;{}", command.join(";"));
        assert!(text.contains(&path), "elvish does not offer {command:?}");
    }
    assert!(!text.contains("manpage"));
}

#[test]
fn completions_refuses_another_shell_as_a_usage_error() {
    for args in [&["completions", "tcsh"][..], &["completions"][..]] {
        let out = homeswap(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("bash, zsh, fish, elvish") || err.contains("<SHELL>"),
            "{err}"
        );
    }
}

#[test]
fn completions_needs_no_configuration_and_ignores_a_given_one() {
    let plain = stdout(&["completions", "bash"]);
    assert_eq!(
        stdout(&["--config", "/nonexistent/x.yaml", "completions", "bash"]),
        plain
    );
    assert_eq!(
        stdout(&["completions", "bash", "--config", "/nonexistent/x.yaml"]),
        plain
    );
    let help = stdout(&["completions", "--help"]);
    assert!(!help.contains("--config"), "{help}");
}

/// The man page through groff, as `man` shows it: warnings on stderr fail.
fn rendered_man_page(dir: &tempfile::TempDir) -> String {
    let page = written(dir, "homeswap.1", &stdout(&["manpage"]));
    let out = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-P", "-cbou"])
        .arg(&page)
        .output()
        .expect("groff renders the man page (.ci/run installs groff-base)");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "groff warnings");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn man_page_renders_and_describes_every_command_with_its_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let text = rendered_man_page(&dir);
    assert!(text.contains("NAME\n       homeswap"), "{text}");
    for section in [
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "COMMANDS",
        "EXIT STATUS",
    ] {
        assert!(
            text.contains(&format!("\n{section}\n")),
            "no {section}:\n{text}"
        );
    }
    let headings: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("   homeswap "))
        .map(str::trim)
        .collect();
    let expected: Vec<String> = every_command()
        .iter()
        .map(|c| format!("homeswap {}", c.join(" ")))
        .collect();
    assert_eq!(headings, expected, "one section per command, in help order");

    // Each leaf command's section carries the exit codes of its --help.
    let swap = section(&text, "homeswap swap");
    assert!(
        swap.contains("4  busy: another homeswap held the lock"),
        "{swap}"
    );
    assert!(swap.contains("<ACCOUNT>"), "{swap}");
    let failover = section(&text, "homeswap failover");
    assert!(failover.contains("--until <TIME>"), "{failover}");
    assert!(failover.contains("rate_limit"), "{failover}");
    // The global options are described once, not under every command.
    assert!(!swap.contains("--config"), "{swap}");
    assert!(
        !text.contains("manpage"),
        "the hidden command is not in the page"
    );
    assert!(text.contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn man_page_has_no_build_date_so_every_build_makes_the_same_bytes() {
    let page = stdout(&["manpage"]);
    let title = page.lines().find(|l| l.starts_with(".TH ")).unwrap();
    let expected = format!(
        ".TH HOMESWAP 1 \"\" \"homeswap {}\" \"User Commands\"",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(title, expected);
    assert_eq!(stdout(&["manpage"]), page);
}

/// The lines of one command's section: from its heading to the next one.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text
        .find(&format!("\n   {heading}\n"))
        .unwrap_or_else(|| panic!("no section {heading}"));
    let rest = &text[start + 1..];
    let end = rest[1..]
        .find("\n   homeswap ")
        .map_or(rest.len(), |i| i + 1);
    &rest[..end]
}
