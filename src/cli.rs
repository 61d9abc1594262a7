//! The command line, declared with clap; nothing here does any work.

use std::net::IpAddr;

use clap::{ArgGroup, Args, Parser, Subcommand};

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
    #[command(after_help = UDP_SERVER_HELP)]
    UdpServer(ServerArgs),
    /// TCP server, a drop-in for reference/TCPServer.py (serves clients concurrently).
    #[command(after_help = TCP_SERVER_HELP)]
    TcpServer(TcpServerArgs),
    /// UDP client, a drop-in for reference/UDPClient.py.
    #[command(after_help = UDP_CLIENT_HELP)]
    UdpClient(ClientArgs),
    /// TCP client, a drop-in for reference/TCPClient.py.
    #[command(after_help = TCP_CLIENT_HELP)]
    TcpClient(ClientArgs),
    /// Run the conformance matrix: every client × every server × every case, plus probes.
    #[command(after_help = MATRIX_HELP)]
    Matrix(MatrixArgs),
    /// Check one candidate command, or a folder of programs, against the reference.
    #[command(after_help = CHECK_HELP)]
    Check(CheckArgs),
    /// Merge the JSON results of shards (--partition) into one set of reports.
    #[command(after_help = MERGE_HELP)]
    Merge(MergeArgs),
    /// Grade student submissions (one folder each): Gradescope results and class grades.
    #[command(after_help = GRADE_HELP)]
    Grade(GradeArgs),
}

/// `shout udp-server --help`: what is required, and examples.
const UDP_SERVER_HELP: &str = "\
Required: nothing; by default it listens on port 12000 on every IPv4 interface.

Examples:
  shout udp-server                        # like python3 UDPServer.py
  shout udp-server 12001 --bind ::1       # IPv6 loopback, port 12001
  shout udp-server --unicode 15.1         # uppercase as Python 3.13 does";

/// `shout tcp-server --help`.
const TCP_SERVER_HELP: &str = "\
Required: nothing; by default it listens on port 12000 on every IPv4 interface.

Examples:
  shout tcp-server                        # like python3 TCPServer.py
  shout tcp-server 12001 --idle-timeout 2 # close connections silent for 2 s
  shout tcp-server --unicode 14.0         # uppercase as Python 3.11 does";

/// `shout udp-client --help`.
const UDP_CLIENT_HELP: &str = "\
Required: nothing; it asks for a line on stdin and sends it to localhost:12000.

Examples:
  echo hello | shout udp-client           # like python3 UDPClient.py
  shout udp-client server.example 12001
  shout udp-client --timeout 0            # wait for the reply forever, like the reference";

/// `shout tcp-client --help`.
const TCP_CLIENT_HELP: &str = "\
Required: nothing; it asks for a line on stdin and sends it to localhost:12000.

Examples:
  echo hello | shout tcp-client           # like python3 TCPClient.py
  shout tcp-client ::1 12001
  shout tcp-client --timeout 5";

/// `shout matrix --help`.
const MATRIX_HELP: &str = "\
Required: nothing; without options it runs the built-in implementations over both
transports and the whole corpus.

Examples:
  shout matrix --manifest impls.toml --only alice
  shout matrix --format junit --output junit.xml --format html --output report.html
  shout matrix --expectations known.toml --update-expectations

Exit status: 0 when nothing failed, 1 on a conformance failure (or an xpass), 2 on a
usage, configuration or environment error, or an incomplete run.";

/// `shout check --help`.
const CHECK_HELP: &str = "\
Required: a folder (`shout check .`), or --transport udp|tcp and one of --server 'CMD …'
or --client 'CMD …' (the placeholders are {port} and {host}).

Examples:
  shout check .                     # every client and server in this folder, as graded
  shout check --transport udp --server 'python3 UDPServer.py {port}'
  shout check --transport tcp --client 'java TCPClient {host} {port}' --case hello
  shout check --transport tcp --server './server {port}' --format json --output r.json
  shout check --transport tcp --server 'python3 TCPServer.py'   # port 12000 written in
  shout check . --reference model/shout.toml   # against the course's own model solution";

/// `shout merge --help`.
const MERGE_HELP: &str = "\
Required: FILE…, the JSON results of every shard of one run (--format json --output FILE).

Examples:
  shout matrix --partition hash:1/2 --format json --output 1.json
  shout matrix --partition hash:2/2 --format json --output 2.json
  shout merge 1.json 2.json --format markdown --output summary.md --expectations known.toml";

/// `shout grade --help`.
const GRADE_HELP: &str = "\
Required: DIR…, one folder per submission, and --out OUTDIR for the grades.

Examples:
  shout grade submissions/* --out grades
  shout grade submissions/alice --out grades --case hello    # rerun one case
  shout grade submissions/* --out grades --rubric rubric.toml --jobs 8
  shout grade submissions/* --out grades --reference java-textbook  # taught from the Java listings";

/// `--reference`'s long help, the same for `matrix`, `check` and `grade`.
const REFERENCE_HELP: &str = "\
What every implementation is compared with: `python` (the default: the textbook's Python
scripts in reference/), `java-textbook` (the textbook's Java programs in reference/java/,
compiled once per run with javac; TCP lines end with a newline, the UDP server answers
its whole 1024-byte buffer), or the path of a manifest declaring one implementation with
all four roles (a course's own model solution). Probes, pairings and sentences all
follow it.";

/// Options shared by `matrix` and `check`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Only this transport (`matrix`: both by default; `check`: required).
    #[arg(long, value_name = "udp|tcp")]
    pub transport: Option<shout::proto::Transport>,
    /// Only cases whose name matches this glob (repeatable).
    #[arg(long = "case", value_name = "PATTERN")]
    pub cases: Vec<String>,
    /// Only cases of this category: core, unicode, unicode-versions (the generated
    /// cases of every character whose uppercase changed between two Unicode versions),
    /// edge or robustness (repeatable).
    #[arg(long = "category", value_name = "CATEGORY")]
    pub categories: Vec<shout::plan::CaseGroup>,
    /// Fail a difference of Unicode version alone (by default it is reported once per
    /// implementation, as info, when the implementation's Unicode version explains it).
    #[arg(long)]
    pub strict_unicode: bool,
    /// Run the reference under this interpreter (repeatable; default: python3).
    #[arg(long = "python", value_name = "PATH")]
    pub pythons: Vec<std::path::PathBuf>,
    /// What every implementation is compared with.
    #[arg(long, value_name = "NAME|MANIFEST", default_value = "python", long_help = REFERENCE_HELP)]
    pub reference: String,
    /// Count a `non-strict` server (one that answers more than the reference only where
    /// the reference's answer is cut by its buffer sizes) as agreeing, not as a difference.
    #[arg(long)]
    pub non_strict_ok: bool,
    /// Lanes run at once (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Seconds each unit may take (a server also gets 10 s to start listening).
    #[arg(long, value_name = "SECONDS", default_value_t = 3.0)]
    pub timeout: f64,
    /// Seconds the whole run may take; units not started by then are skipped.
    #[arg(long, value_name = "SECONDS")]
    pub run_timeout: Option<f64>,
    /// Where the reference's observations are kept.
    #[command(flatten)]
    pub cache: CacheArgs,
    /// Reports and expectations.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Where the reference's own observations are kept between runs.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// Keep the reference's own observations in this folder (default: ~/.cache/shout,
    /// or $XDG_CACHE_HOME/shout): later runs with the same interpreters, corpus, limits
    /// and shout reuse them, and report those units as cached.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<std::path::PathBuf>,
    /// Run the reference's own units every time, and keep nothing.
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
}

/// Where reports go, and the known failures.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Report format: terminal, json, junit, markdown or html (repeatable; each takes the
    /// --output that follows it, else stdout). The terminal report is always shown: on
    /// stdout, or on stderr when another report goes to stdout.
    #[arg(long = "format", value_name = "FORMAT", id = "formats")]
    pub formats: Vec<shout::report::Format>,
    /// Where the preceding --format's report goes (`-`: stdout).
    #[arg(long = "output", value_name = "FILE", id = "outputs")]
    pub outputs: Vec<String>,
    /// Known failures (TOML `[[expect]]` entries with `id`, a unit id or a glob, and
    /// `reason`): the failures they name are xfail; an entry none of whose units fails is
    /// xpass and fails the run.
    #[arg(long, value_name = "FILE")]
    pub expectations: Option<std::path::PathBuf>,
    /// Edit the --expectations file (creating it if missing) so that it describes this
    /// run: entries for new failures added, stale ones removed, comments and globs kept.
    #[arg(long, requires = "expectations")]
    pub update_expectations: bool,
}

/// `shout matrix`.
#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Add implementations from this TOML manifest (repeatable).
    #[arg(long = "manifest", value_name = "FILE")]
    pub manifests: Vec<std::path::PathBuf>,
    /// Only units with this implementation on one side (repeatable).
    #[arg(long = "only", value_name = "NAME")]
    pub only: Vec<String>,
    /// Only this exact unit id (repeatable), with the reference units it is judged by.
    #[arg(long = "id", value_name = "ID")]
    pub ids: Vec<String>,
    /// Only this shard: count:K/N or hash:K/N.
    #[arg(long, value_name = "SPEC")]
    pub partition: Option<shout::plan::Partition>,
    /// Print the unit ids and exit.
    #[arg(long)]
    pub list: bool,
    /// The common run options.
    #[command(flatten)]
    pub run: RunArgs,
}

/// `shout check`: a folder, or `--transport` and exactly one of `--server` and `--client`.
#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("candidate").args(["server", "client", "dir"]).required(true)),
    mut_arg("transport", |a| a.required_unless_present("dir"))
)]
pub struct CheckArgs {
    /// A folder of programs (yours): every role found in it is checked as `shout grade`
    /// would, and the feedback printed here.
    #[arg(value_name = "DIR", conflicts_with_all = ["server", "client"])]
    pub dir: Option<std::path::PathBuf>,
    /// The candidate server command, with {port} (without it, the server is taken to
    /// bind the port written in its code, and each server runs in a network namespace
    /// of its own: as root, or inside a user namespace for an ordinary user).
    #[arg(long, value_name = "CMD")]
    pub server: Option<String>,
    /// The candidate client command, with {host} and {port} (without {port}, the client
    /// is taken to use the textbook's port 12000).
    #[arg(long, value_name = "CMD")]
    pub client: Option<String>,
    /// Also run the cases on which the reference itself gives no answer (it crashes or
    /// hangs), to see what the candidate does there; their verdict is `info` either way,
    /// so by default they are listed as not run.
    #[arg(long)]
    pub run_undefined: bool,
    /// The common run options (--transport is required).
    #[command(flatten)]
    pub run: RunArgs,
}

/// `shout merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSON results files, one per shard (`--format json --output FILE`).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<std::path::PathBuf>,
    /// Reports and expectations.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `shout grade`.
#[derive(Debug, Args)]
pub struct GradeArgs {
    /// Submission folders, one per student (named by the folder).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<std::path::PathBuf>,
    /// Where grades go: OUTDIR/NAME/results.json (Gradescope), grades.csv, grades.md,
    /// grades.html.
    #[arg(long, value_name = "OUTDIR")]
    pub out: std::path::PathBuf,
    /// Submissions graded at once (default: twice the number of cores, since grading
    /// mostly waits on the programs it runs).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Points and output rules (TOML); default: the built-in rubric.
    #[arg(long, value_name = "FILE")]
    pub rubric: Option<std::path::PathBuf>,
    /// Seconds each unit may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 3.0)]
    pub timeout: f64,
    /// The interpreter for the reference (default: python3).
    #[arg(long, value_name = "PATH")]
    pub python: Option<std::path::PathBuf>,
    /// What every submission is compared with.
    #[arg(long, value_name = "NAME|MANIFEST", default_value = "python", long_help = REFERENCE_HELP)]
    pub reference: String,
    /// Only cases whose name matches (`*`, `?`; repeatable): a student's failure is
    /// rerun with `--case NAME`.
    #[arg(long = "case", value_name = "PATTERN")]
    pub cases: Vec<String>,
    /// Where the reference's observations are kept.
    #[command(flatten)]
    pub cache: CacheArgs,
    /// Size, build time and isolation of each submission.
    #[command(flatten)]
    pub isolation: crate::isolation_args::IsolationArgs,
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
    /// Seconds a connection may stay silent before it is closed without a reply (more
    /// than 0; 0 is rejected, it does not mean "never").
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
