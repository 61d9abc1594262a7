//! The command line, declared with clap; nothing here does any work.

use std::net::IpAddr;

use clap::{Args, Parser, Subcommand};

use shout::proto::UnicodeVersion;
use shout::roles::DEFAULT_PORT;

/// shout: check that implementations of the textbook uppercase protocol agree, byte for byte.
#[derive(Debug, Parser)]
#[command(name = "shout", version, about, propagate_version = true)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// UDP server, a drop-in for reference/UDPServer.py.
    UdpServer(ServerArgs),
    /// TCP server, a drop-in for reference/TCPServer.py (serves clients concurrently).
    TcpServer(TcpServerArgs),
    /// UDP client, a drop-in for reference/UDPClient.py.
    UdpClient(ClientArgs),
    /// TCP client, a drop-in for reference/TCPClient.py.
    TcpClient(ClientArgs),
}

/// Arguments every server takes.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Port to listen on.
    #[arg(default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Address to bind (IPv4 or IPv6); default: all IPv4 interfaces, like the reference.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<IpAddr>,
    /// Unicode version of the case mapping, e.g. 14.0 (Python 3.11) or 15.1 (Python 3.13).
    #[arg(long, value_name = "VERSION", default_value_t = UnicodeVersion::DEFAULT)]
    pub unicode: UnicodeVersion,
}

/// Arguments of the TCP server.
#[derive(Debug, Args)]
pub struct TcpServerArgs {
    /// The common server arguments.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Seconds a connection may stay silent before it is closed without a reply.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub idle_timeout: f64,
}

/// Arguments every client takes.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Server host name or address.
    #[arg(default_value = "localhost")]
    pub host: String,
    /// Server port.
    #[arg(default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Seconds to wait for the reply (0: wait forever, like the reference).
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub timeout: f64,
}
