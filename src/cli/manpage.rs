//! The man page, homeswap(1), rendered from the clap definitions: clap_mangen's
//! sections for the top level, then every command (nested ones too) with its
//! synopsis, description, options and exit codes, as `--help` has them, then
//! the exit-status overview. One page, so `man homeswap` and a search in it
//! find every command.

use std::io::{self, Write};

use clap::Command;
use clap_mangen::roff::{roman, Roff};
use clap_mangen::Man;

/// The page for the root command `cmd`, as roff.
pub(crate) fn render(mut cmd: Command) -> Vec<u8> {
    cmd.build();
    let man = Man::new(cmd.clone());
    let mut page = preamble();
    page.push_str(&title(&cmd));
    page.push_str(&part(&man, Man::render_name_section));
    page.push_str(&part(&man, Man::render_synopsis_section));
    page.push_str(&part(&man, Man::render_description_section));
    page.push_str(&part(&man, Man::render_options_section));
    page.push_str(".SH COMMANDS\n");
    for (path, sub) in commands(&cmd, cmd.get_name()) {
        page.push_str(&command_section(&path, sub));
    }
    page.push_str(&closing(&cmd));
    page.push_str(&part(&man, Man::render_version_section));
    page.into_bytes()
}

/// The `.TH` line, written here: clap_mangen leaves out an empty date
/// instead of quoting it, which shifts the source and manual into the
/// wrong fields. No date, so the page is the same bytes at every build.
fn title(cmd: &Command) -> String {
    format!(
        ".TH {} 1 \"\" \"{} {}\" \"User Commands\"\n",
        cmd.get_name().to_uppercase(),
        cmd.get_name(),
        cmd.get_version().unwrap_or_default()
    )
}

/// Every visible command below `cmd`, depth first in definition order,
/// each with its full name (`homeswap latch clear`).
fn commands<'a>(cmd: &'a Command, prefix: &str) -> Vec<(String, &'a Command)> {
    let mut all = Vec::new();
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        let path = format!("{prefix} {}", sub.get_name());
        all.push((path.clone(), sub));
        all.extend(commands(sub, &path));
    }
    all
}

/// One command under COMMANDS: its synopsis, description and own options
/// (the global --config and --help are described once, above), then the
/// exit codes of its `--help`. A group that only holds subcommands
/// (`latch`) gets its description alone.
fn command_section(path: &str, sub: &Command) -> String {
    let own = sub.clone().mut_args(|a| {
        let described_above = a.is_global_set() || a.get_id() == "help";
        if described_above {
            a.hide(true)
        } else {
            a
        }
    });
    let has_options = own.get_arguments().any(|a| !a.is_hide_set());
    let man = Man::new(own);
    let mut roff = Roff::new();
    roff.control("SS", [path]);
    let mut text = part_body(&roff);
    if !sub.is_subcommand_required_set() {
        text.push_str(&heading_removed(&part(&man, Man::render_synopsis_section)));
    }
    text.push_str(".PP\n");
    text.push_str(&heading_removed(&part(
        &man,
        Man::render_description_section,
    )));
    if has_options {
        text.push_str(&heading_removed(&part(&man, Man::render_options_section)));
    }
    if let Some(after) = sub
        .get_after_help()
        .filter(|_| !sub.is_subcommand_required_set())
    {
        text.push_str(&verbatim(&after.to_string()));
    }
    text
}

/// EXIT STATUS (the overview under `homeswap --help`), ENVIRONMENT and
/// SEE ALSO.
fn closing(cmd: &Command) -> String {
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    let mut text = part_body(&roff);
    if let Some(after) = cmd.get_after_help() {
        let after = after.to_string();
        let table = after.strip_prefix("Exit codes:\n").unwrap_or(&after);
        text.push_str(&verbatim(table));
    }
    let mut roff = Roff::new();
    roff.control("SH", ["ENVIRONMENT"]);
    roff.control("TP", []);
    roff.text([roman("HOMESWAP_CONFIG")]);
    roff.text([roman("The configuration file, when --config is not given.")]);
    roff.control("TP", []);
    roff.text([roman("XDG_CONFIG_HOME")]);
    roff.text([roman(
        "Without --config and HOMESWAP_CONFIG, the configuration is \
         $XDG_CONFIG_HOME/homeswap/config.yaml (~/.config/homeswap/config.yaml when it is unset).",
    )]);
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(
        "The README, docs/guide.md, docs/reference.md and docs/operations.md, and the example \
         configurations (in /usr/share/doc/homeswap/ when installed from the Debian package); \
         the systemd unit homeswap.service.",
    )]);
    text.push_str(&part_body(&roff));
    text
}

/// `text` line by line, unfilled and indented, as `--help` prints it.
fn verbatim(text: &str) -> String {
    let mut roff = Roff::new();
    roff.control("PP", [])
        .control("RS", ["4"])
        .control("nf", []);
    for line in text.lines() {
        roff.text([roman(line)]);
    }
    roff.control("fi", []).control("RE", []);
    part_body(&roff)
}

/// What roff puts before every document it renders; clap_mangen renders
/// each section as a document of its own, the page has it once.
fn preamble() -> String {
    Roff::new().render()
}

/// One of clap_mangen's sections, without the preamble.
fn part(man: &Man, section: fn(&Man, &mut dyn Write) -> io::Result<()>) -> String {
    let mut buf = Vec::new();
    // Writing into a Vec does not fail.
    let _ = section(man, &mut buf);
    let text = String::from_utf8_lossy(&buf);
    text.strip_prefix(&preamble()).unwrap_or(&text).to_string()
}

/// A section rendered by hand, without the preamble.
fn part_body(roff: &Roff) -> String {
    let text = roff.render();
    text.strip_prefix(&preamble()).unwrap_or(&text).to_string()
}

/// A section's text without its `.SH` heading line: under COMMANDS the
/// parts of one command follow its `.SS` heading instead.
fn heading_removed(section: &str) -> String {
    match section.split_once('\n') {
        Some((first, rest)) if first.starts_with(".SH") => rest.to_string(),
        _ => section.to_string(),
    }
}
