//! The `clusterdeck` binary: parses the command line and runs one command.

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    // color-eyre turns any unexpected error or panic into a readable report;
    // expected failures are reported below as one line each.
    let _ = color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .install();
    let cli = cli::Cli::parse();
    match cli::execute(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "error: {}", failure.message());
            failure.exit_code()
        }
    }
}
