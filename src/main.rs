//! The homeswap binary: parse the arguments, run the library, exit.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Tests configure failpoints through $FAILPOINTS; compiled out otherwise.
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    ExitCode::from(homeswap::cli::run(homeswap::cli::Cli::parse()))
}
