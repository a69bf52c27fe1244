//! loket-sync: keeps a Dutch employer's payroll in Loket.nl in line with the compensation data in Personio.
//!
//! `main` parses the command line, starts logging and the runtime, and hands the command to `commands`;
//! an error comes back with its causes, and the printer shows the whole chain.

use std::process::ExitCode;

use clap::Parser as _;
use loket_sync::cli::Cli;
use loket_sync::commands::{self, ExitStatus};
use loket_sync::printer::Printer;

fn main() -> ExitCode {
    let cli = Cli::parse();
    loket_sync::logs::init(cli.verbose, std::env::var(loket_sync::env::RUST_LOG).ok());
    let printer = Printer::new(cli.json);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            printer.error(&anyhow::Error::new(error).context("cannot start"));
            return ExitStatus::Error.into();
        }
    };
    match runtime.block_on(commands::run(cli, &printer)) {
        Ok(status) => status.into(),
        Err(error) => {
            printer.error(&error);
            ExitStatus::Error.into()
        }
    }
}
