//! The documentation says what the binary does: docs/reference.md has a
//! row for every command `--help` lists, every option `--help` offers and
//! every metric a sidecar exposes; every link between the documents leads
//! somewhere; the README stays short.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Sandbox;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_homeswap"))
        .args(args)
        .arg("--help")
        .env_remove("HOMESWAP_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?} --help: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The names under a help text's `Commands:` heading, without `help`.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l[2..].starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Every command a user can run, as `--help` lists them: `swap`,
/// `latch clear`, ... (a group's own name too when it runs without one,
/// as `limits` does: its usage says `[COMMAND]`).
fn commands() -> Vec<String> {
    let mut all = Vec::new();
    for top in subcommands(&help(&[])) {
        let text = help(&[&top]);
        let subs = subcommands(&text);
        if subs.is_empty() || text.contains("[COMMAND]") {
            all.push(top.clone());
        }
        all.extend(subs.into_iter().map(|s| format!("{top} {s}")));
    }
    all
}

/// The `--long` options a help text offers, but `--help` and `--version`.
fn options(help: &str) -> BTreeSet<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .flat_map(|l| l.split([' ', ',', '=', '<', '[']))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .filter(|w| *w != "--help" && *w != "--version")
        .map(str::to_string)
        .collect()
}

/// The lines of `text` under the heading `start` up to the next heading of
/// the same or a higher level (fenced code is text).
fn section<'a>(text: &'a str, start: &str) -> Vec<&'a str> {
    let level = start.chars().take_while(|c| *c == '#').count();
    let mut lines = text.lines().skip_while(|l| *l != start);
    assert!(lines.next().is_some(), "no heading {start:?}");
    let mut fence = false;
    lines
        .take_while(|l| {
            if l.starts_with("```") {
                fence = !fence;
            }
            let h = l.chars().take_while(|c| *c == '#').count();
            fence || h == 0 || h > level || !l[h..].starts_with(' ')
        })
        .collect()
}

fn first_cells(rows: &[&str]) -> Vec<String> {
    rows.iter()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.split(" | ").next().unwrap().to_string())
        .collect()
}

#[test]
fn the_reference_has_a_row_for_every_command_help_lists() {
    let reference = read("docs/reference.md");
    let commands_table = first_cells(&section(&reference, "## Commands"));
    let exits_table = first_cells(&section(&reference, "### Exit codes"));
    let listed = commands();
    assert!(listed.len() >= 15, "{listed:?}");
    for command in &listed {
        let named = format!("`{command}");
        assert!(
            commands_table.iter().any(|c| c.contains(&named)),
            "docs/reference.md's Commands table has no row for {command}"
        );
        assert!(
            exits_table
                .iter()
                .any(|c| c.starts_with(&format!("| `{command}`"))),
            "docs/reference.md's Exit codes table has no row for {command}"
        );
    }
}

/// Whether `text` names `option` whole (`--dry-run` is not `--dry`).
fn mentions(text: &str, option: &str) -> bool {
    text.match_indices(option).any(|(i, _)| {
        let next = text[i + option.len()..].chars().next();
        !matches!(next, Some(c) if c.is_ascii_alphanumeric() || c == '-')
    })
}

#[test]
fn every_option_help_offers_is_in_the_reference() {
    let reference = read("docs/reference.md");
    let mut missing = Vec::new();
    let mut seen = 0;
    let top = help(&[]);
    let mut texts = vec![(String::new(), top)];
    for command in commands() {
        let args: Vec<&str> = command.split(' ').collect();
        texts.push((command.clone(), help(&args)));
    }
    for (command, text) in texts {
        for option in options(&text) {
            seen += 1;
            if !mentions(&reference, &option) {
                missing.push(format!("{command} {option}"));
            }
        }
    }
    assert!(seen >= 20, "the help texts offer {seen} options?");
    assert!(missing.is_empty(), "not in docs/reference.md: {missing:?}");
}

#[test]
fn every_metric_a_sidecar_exposes_is_in_the_reference() {
    let reference = read("docs/reference.md");
    let metrics = section(&reference, "## Metrics").join("\n");
    let sb = Sandbox::ready();
    sb.ok(&["swap", "a"]);
    let server = sb.serve(None);
    let text = server.get("/metrics").text();
    let names: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# HELP "))
        .filter_map(|l| l.split(' ').next())
        .filter(|n| n.starts_with("homeswap_"))
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    let missing: Vec<_> = names.iter().filter(|n| !metrics.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "exposed but not in docs/reference.md's Metrics: {missing:?}"
    );
}

/// `[text](target)` links of a markdown file, outside fenced code.
fn links(text: &str) -> Vec<String> {
    let mut fence = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fence = !fence;
        }
        if fence {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            let tail = &rest[i + 2..];
            let Some(end) = tail.find(')') else { break };
            out.push(tail[..end].to_string());
            rest = &tail[end..];
        }
    }
    out
}

/// GitHub's anchor of a heading: lower case, punctuation dropped, spaces
/// as dashes.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let mut fence = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fence = !fence;
        }
        let h = line.chars().take_while(|c| *c == '#').count();
        if !fence && h > 0 && line[h..].starts_with(' ') {
            out.insert(anchor(&line[h..]));
        }
    }
    out
}

#[test]
fn every_link_between_the_documents_leads_somewhere() {
    let files = [
        "README.md",
        "docs/guide.md",
        "docs/reference.md",
        "docs/operations.md",
        "docs/development.md",
    ];
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in files {
        let text = read(file);
        let dir = Path::new(file).parent().unwrap();
        for link in links(&text) {
            if link.starts_with("http://") || link.starts_with("https://") {
                continue;
            }
            checked += 1;
            let (path, frag) = link.split_once('#').unwrap_or((&link, ""));
            let target = if path.is_empty() {
                file.to_string()
            } else {
                dir.join(path).to_string_lossy().into_owned()
            };
            if !repo(&target).exists() {
                broken.push(format!("{file}: {link} (no {target})"));
            } else if !frag.is_empty() && !anchors(&read(&target)).contains(frag) {
                broken.push(format!("{file}: {link} (no heading #{frag} in {target})"));
            }
        }
    }
    assert!(checked >= 10, "only {checked} links?");
    assert!(broken.is_empty(), "{broken:#?}");
}

#[test]
fn the_readme_is_short_and_for_a_person() {
    let readme = read("README.md");
    let lines = readme.lines().count();
    assert!(lines < 200, "README.md has {lines} lines");
    assert!(
        !readme.to_lowercase().contains("contract"),
        "README.md talks about the contract"
    );
    let first: Vec<&str> = readme.lines().take(12).collect();
    let setup: Vec<&&str> = first.iter().filter(|l| l.starts_with("cargo ")).collect();
    assert_eq!(setup.len(), 2, "two set-up commands at the top: {first:#?}");
    assert!(
        setup[0].starts_with("cargo run --release -- demo"),
        "{setup:?}"
    );
    assert!(setup[1].starts_with("cargo test"), "{setup:?}");
}
