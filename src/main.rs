//! The `shout` binary: parse, dispatch, map errors to exit codes.
//!
//! Exit codes: 0 when everything passed, 1 when something failed (a unit, or a role
//! where the reference would fail too), 2 when shout could not do its job (a flag, a
//! file, an incomplete run), 130 when interrupted. Nothing is validated or run here.
//!
//! # Layout
//!
//! - [`cli`]: the clap command, declared only.
//! - [`options`]: parsed flags → typed, validated options; one error type.
//! - [`isolation_args`]: the flags bounding and isolating each graded submission.
//! - [`commands`]: each subcommand as orchestration: options → library → reports.
//! - [`progress`]: the one progress display, for runs and for grading.
//! - [`signals`]: Ctrl-C and SIGTERM end every started process.

mod cli;
mod commands;
mod isolation_args;
mod options;
mod progress;
mod report_options;
mod signals;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use cli::{Cli, Command};

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // The subcommand's own matches: the order of --format and --output is read from them.
    let sub = matches
        .subcommand()
        .map(|(_, m)| m.clone())
        .unwrap_or_default();
    let outcome = match cli.command {
        Command::UdpServer(args) => commands::udp_server(&args),
        Command::TcpServer(args) => commands::tcp_server(&args),
        Command::UdpClient(args) => commands::udp_client(args),
        Command::TcpClient(args) => commands::tcp_client(args),
        Command::Matrix(args) => commands::matrix(args, &sub),
        Command::Check(args) => commands::check(args, &sub),
        Command::Merge(args) => commands::merge(args, &sub),
        Command::Grade(args) => commands::grade(args),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let _ = io::stdout().flush();
            eprintln!("shout: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
