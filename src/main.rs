//! The `shout` binary: parse, dispatch, map errors to exit codes.

mod cli;
mod commands;

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
        Command::UdpClient(args) => roles::udp_client(
            &client_config(args),
            &mut io::stdin().lock(),
            &mut io::stdout(),
        ),
        Command::TcpClient(args) => roles::tcp_client(
            &client_config(args),
            &mut io::stdin().lock(),
            &mut io::stdout(),
        ),
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

fn seconds(s: f64) -> Option<Duration> {
    (s > 0.0 && s.is_finite()).then(|| Duration::from_secs_f64(s))
}

fn server_config(args: &ServerArgs, idle_timeout: Duration) -> ServerConfig {
    ServerConfig {
        port: args.port,
        bind: args.bind,
        unicode: args.unicode,
        idle_timeout,
    }
}

fn client_config(args: ClientArgs) -> ClientConfig {
    ClientConfig {
        host: args.host,
        port: args.port,
        timeout: seconds(args.timeout),
    }
}
