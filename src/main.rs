//! The `shout` binary: parse, dispatch, map errors to exit codes.

mod cli;
mod commands;
mod progress;
mod signals;

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches};

use cli::{Cli, ClientArgs, Command, ServerArgs};
use shout::roles::{self, ClientConfig, RoleError, ServerConfig};

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let sub = matches
        .subcommand()
        .map(|(_, m)| m.clone())
        .unwrap_or_default();
    let result = match cli.command {
        Command::UdpServer(args) => roles::udp_server(
            &server_config(&args, Duration::from_secs(10)),
            &mut io::stdout(),
        ),
        Command::TcpServer(args) => {
            roles::idle_timeout_from_secs(args.idle_timeout).and_then(|idle| {
                roles::tcp_server(&server_config(&args.server, idle), &mut io::stdout())
            })
        }
        Command::UdpClient(args) => client_config(args).and_then(|config| {
            roles::udp_client(&config, &mut io::stdin().lock(), &mut io::stdout())
        }),
        Command::TcpClient(args) => client_config(args).and_then(|config| {
            roles::tcp_client(&config, &mut io::stdin().lock(), &mut io::stdout())
        }),
        Command::Matrix(args) => return harness_exit(commands::matrix(args, &sub)),
        Command::Check(args) => return harness_exit(commands::check(args, &sub)),
        Command::Merge(args) => return harness_exit(commands::merge(args, &sub)),
        Command::Grade(args) => return harness_exit(commands::grade(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(RoleError { message, exit_code }) => {
            let _ = io::stdout().flush();
            eprintln!("shout: error: {message}");
            ExitCode::from(exit_code)
        }
    }
}

fn harness_exit(result: Result<u8, String>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("shout: error: {message}");
            ExitCode::from(2)
        }
    }
}

fn server_config(args: &ServerArgs, idle_timeout: Duration) -> ServerConfig {
    ServerConfig {
        port: args.port,
        bind: args.bind,
        unicode: args.unicode,
        idle_timeout,
    }
}

/// The client's settings; `--timeout 0` waits forever, like the reference.
fn client_config(args: ClientArgs) -> Result<ClientConfig, RoleError> {
    let timeout = if args.timeout == 0.0 {
        None
    } else {
        Some(
            commands::seconds_flag("--timeout", args.timeout).map_err(|message| RoleError {
                message,
                exit_code: 2,
            })?,
        )
    };
    Ok(ClientConfig {
        host: args.host,
        port: args.port,
        timeout,
    })
}
