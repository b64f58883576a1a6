//! The `clusterdeck` binary: parses the command line and runs one command.

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // color-eyre turns any unexpected error or panic into a readable report;
    // expected failures are reported below as one line each.
    let _ = color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .install();
    // Parsed before any runtime exists, so `--help` and bad arguments cost
    // no threads.
    let cli = cli::Cli::parse();
    let runtime = if cli.needs_workers() {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let result = match runtime {
        Ok(runtime) => runtime.block_on(cli::execute(cli)),
        Err(err) => Err(cli::Failure::Failed(format!(
            "cannot start the async runtime: {err}"
        ))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(
                stderr,
                "error: {}",
                clusterdeck::text::printable_lines(failure.message())
            );
            failure.exit_code()
        }
    }
}
