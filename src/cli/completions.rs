//! `completions SHELL` and the hidden `manpage`: text generated from the
//! clap definitions in [`args`](crate::cli::args), so the scripts and the
//! man page offer exactly what `--help` does. Neither reads a configuration.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::args::{Cli, CompletionShell};
use crate::cli::exit::Exit;
use crate::cli::manpage;
use crate::cli::output::Output;

/// Prints the completion script for `shell`.
pub(crate) fn completions_cmd(shell: CompletionShell, out: &mut Output) -> Exit {
    out.raw(&script(shell));
    Ok(())
}

/// Prints the man page (roff).
pub(crate) fn manpage_cmd(out: &mut Output) -> Exit {
    out.raw(&manpage::render(Cli::command()));
    Ok(())
}

/// The script, generated into memory: clap_complete panics on a failed
/// write, and a closed pipe is no reason to panic.
fn script(shell: CompletionShell) -> Vec<u8> {
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
        CompletionShell::Elvish => Shell::Elvish,
    };
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut offered(Cli::command()), "homeswap", &mut buf);
    buf
}

/// The command tree without its hidden subcommands (`manpage`), which the
/// generators would offer like any other. clap cannot remove a
/// subcommand, so the root is rebuilt from what completion needs of it:
/// name, version, about, its own arguments (`--config`, global) and the
/// visible subcommands, each whole.
fn offered(full: clap::Command) -> clap::Command {
    let mut root = clap::Command::new("homeswap")
        .version(env!("CARGO_PKG_VERSION"))
        .args(full.get_arguments().cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    if let Some(about) = full.get_about() {
        root = root.about(about.clone());
    }
    root
}
