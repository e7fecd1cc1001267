//! One policy for tests that need a program the README says to install
//! (Claude Code, Chromium, Prometheus, Alertmanager, tmux, ...) or root:
//! such a test is `#[ignore]`d in a plain `cargo test`, `.ci/run`
//! installs everything and runs it with `--ignored`, and where something
//! is missing it fails with the line that installs it. It never passes
//! without having run.

use std::path::PathBuf;

/// The program `name` on `$PATH`; fails the test, saying how to install
/// it (`install`, e.g. `apt-get install -y tmux`), when it is not there.
pub fn require(name: &str, install: &str) -> PathBuf {
    find(name).unwrap_or_else(|| {
        missing(
            &format!("{name} is not installed"),
            &format!("install it with `{install}`"),
        )
    })
}

/// The first of `names` found on `$PATH`.
pub fn find_any(names: &[&str]) -> Option<PathBuf> {
    names.iter().find_map(|n| find(n))
}

fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Fails the test unless it runs as root (`why` says what for).
pub fn require_root(why: &str) {
    if !nix::unistd::geteuid().is_root() {
        missing(
            &format!("this test needs root ({why})"),
            "run the ignored tests as root",
        );
    }
}

/// Fails the test: `what` is missing, `fix` says how to get it.
pub fn missing(what: &str, fix: &str) -> ! {
    panic!("{what}: {fix} (`bash .ci/run` installs everything the ignored tests need)")
}
