//! The homeswap binary: parse the arguments, run the library, exit.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Tests configure failpoints through $FAILPOINTS; compiled out otherwise.
    #[cfg(feature = "failpoints")]
    homeswap::failpoints::setup();
    // The status line runs on every status update: it skips clap.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = homeswap::statusline_fast_path(&args) {
        return ExitCode::from(code);
    }
    ExitCode::from(homeswap::run(homeswap::Cli::parse_from(args)))
}
