//! Parsed flags → typed, validated options: one constructor per subcommand turns the clap
//! structs of [`crate::cli`] into what the library takes (durations, job counts, report
//! targets, the harness's configuration, the candidate of `shout check`).
//!
//! Nothing here runs, prints or writes. Files are only read to validate the flag that
//! names them (`--rubric`, the submission folders of `grade`), and every mistake is one
//! [`OptionsError`] that names the flag and says how to fix it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::ArgMatches;

use shout::expectations::{Coverage, Expectations, ExpectationsError};
use shout::grade::pipeline::GradeConfig;
use shout::grade::rubric::{Rubric, RubricError};
use shout::harness::Config;
use shout::plan::Filters;
use shout::proto::Transport;
use shout::registry::{
    ClientOutput, CommandTemplate, Implementation, Origin, ReferenceChoice, Role, RoleKey,
};
use shout::report::Format;
use shout::roles::{self, ClientConfig, RoleError, ServerConfig};
use shout::run::execute::{ReferenceCache, RunOptions};
use shout::run::sandbox::Limits;

use crate::cli::{
    CacheArgs, CheckArgs, ClientArgs, GradeArgs, MatrixArgs, MergeArgs, RunArgs, ServerArgs,
    TcpServerArgs,
};

pub use crate::report_options::ReportOptions;

/// The longest time limit shout accepts, in seconds (a day).
pub const MAX_SECONDS: f64 = 86_400.0;

/// The UDP server's idle timeout: it has no connections to close, but its config takes one.
const UDP_IDLE: Duration = Duration::from_secs(10);

/// A flag, or a combination of flags, that cannot be used as given.
#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
    /// A time limit out of range (`--timeout`, `--run-timeout`).
    #[error("{flag} {value} must be a number of seconds from 0.001 to {MAX_SECONDS} (a day)")]
    Seconds {
        /// The flag.
        flag: &'static str,
        /// What it was given.
        value: f64,
    },
    /// `--idle-timeout` of the TCP server out of range.
    #[error(transparent)]
    IdleTimeout(RoleError),
    /// `--jobs 0`.
    #[error("--jobs must be at least 1")]
    NoJobs,
    /// `--list` with a report.
    #[error(
        "--list prints the unit ids, one per line, and writes no report: drop --format and --output"
    )]
    ListWithReport,
    /// An `--output` with no `--format` before it.
    #[error("--output {output} follows no --format: write `--format FORMAT --output {output}`")]
    OutputWithoutFormat {
        /// The `--output` given.
        output: String,
    },
    /// Two reports without an `--output`.
    #[error("only one --format can go to stdout: give the others an --output FILE")]
    SeveralOnStdout,
    /// `shout check` without `--transport`.
    #[error("`shout check` needs --transport udp or --transport tcp")]
    CheckWithoutTransport,
    /// `shout check` with both or neither of `--server` and `--client`.
    #[error("give exactly one of --server 'CMD {{port}}' or --client 'CMD {{host}} {{port}}'")]
    CheckWithoutCandidate,
    /// The candidate command cannot be split into words.
    #[error("--{}: {message}", role.as_str())]
    Command {
        /// `--server` or `--client`.
        role: Role,
        /// Why.
        message: String,
    },
    /// `--rubric FILE` is not a rubric.
    #[error(transparent)]
    Rubric(#[from] RubricError),
    /// A file a flag names cannot be read (`--manifest`, `--rubric`).
    #[error("{what} file {}: {reason}; {fix}", path.display())]
    File {
        /// What the file is: `manifest`, `rubric`.
        what: &'static str,
        /// The path given.
        path: PathBuf,
        /// Why it cannot be read.
        reason: String,
        /// What to do.
        fix: &'static str,
    },
    /// A submission path that cannot be read.
    #[error("cannot read submission folder {}: {source}", path.display())]
    Submission {
        /// The path given.
        path: PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// Every path given was skipped.
    #[error("no submission folder to grade: pass one folder per submission")]
    NoSubmission,
    /// A folder given holds the class, not one submission.
    #[error("`{}` holds {count} folders with programs, not a submission of its own: pass one folder per student, e.g. `shout grade {}/* --out …`", path.display(), path.display())]
    FolderOfSubmissions {
        /// The folder given.
        path: PathBuf,
        /// Its subfolders with programs.
        count: usize,
    },
    /// `--reference` names no reference, or a manifest that cannot be one.
    #[error("{0}")]
    Reference(String),
}

/// `--reference VALUE`, read (a manifest is loaded and checked here).
fn reference(value: &str) -> Result<ReferenceChoice, OptionsError> {
    ReferenceChoice::parse(value).map_err(OptionsError::Reference)
}

/// Validates a time limit given in seconds: positive, finite and at most a day.
pub fn seconds(flag: &'static str, value: f64) -> Result<Duration, OptionsError> {
    match Duration::try_from_secs_f64(value) {
        Ok(d) if value <= MAX_SECONDS && d >= Duration::from_millis(1) => Ok(d),
        _ => Err(OptionsError::Seconds { flag, value }),
    }
}

/// Fails unless `path` is a file that can be opened; `what` and `fix` word the error.
fn readable(
    what: &'static str,
    path: &std::path::Path,
    fix: &'static str,
) -> Result<(), OptionsError> {
    let error = |reason: String| OptionsError::File {
        what,
        path: path.to_path_buf(),
        reason,
        fix,
    };
    if path.is_dir() {
        return Err(error("it is a directory, not a file".into()));
    }
    std::fs::File::open(path)
        .map(drop)
        .map_err(|e| error(e.to_string()))
}

/// The folder the reference's observations are kept in: `--cache-dir`, else the
/// platform's cache folder; none with `--no-cache` (or when there is no home folder).
fn cache_dir(args: &CacheArgs) -> Option<PathBuf> {
    if args.no_cache {
        None
    } else {
        args.cache_dir
            .clone()
            .or_else(shout::run::cache::default_dir)
    }
}

/// `--jobs`, or `per_core` times the number of cores; never 0.
fn jobs(given: Option<usize>, per_core: usize) -> Result<usize, OptionsError> {
    let jobs = given.unwrap_or_else(|| {
        per_core
            * std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
    });
    if jobs == 0 {
        return Err(OptionsError::NoJobs);
    }
    Ok(jobs)
}

/// `shout udp-server`.
pub fn udp_server(args: &ServerArgs) -> ServerConfig {
    server(args, UDP_IDLE)
}

/// `shout tcp-server`: `--idle-timeout` must be positive.
pub fn tcp_server(args: &TcpServerArgs) -> Result<ServerConfig, OptionsError> {
    let idle =
        roles::idle_timeout_from_secs(args.idle_timeout).map_err(OptionsError::IdleTimeout)?;
    Ok(server(&args.server, idle))
}

fn server(args: &ServerArgs, idle_timeout: Duration) -> ServerConfig {
    ServerConfig {
        port: args.port,
        bind: args.bind,
        unicode: args.unicode,
        idle_timeout,
    }
}

/// `shout udp-client` and `shout tcp-client`; `--timeout 0` waits forever, like the
/// reference.
pub fn client(args: ClientArgs) -> Result<ClientConfig, OptionsError> {
    let timeout = if args.timeout == 0.0 {
        None
    } else {
        Some(seconds("--timeout", args.timeout)?)
    };
    Ok(ClientConfig {
        host: args.host,
        port: args.port,
        timeout,
    })
}

/// The known-failures file: `--expectations FILE [--update-expectations]`.
#[derive(Debug, Clone)]
pub struct ExpectationsFile {
    /// The file.
    pub path: PathBuf,
    /// Rewrite it from this run's failures.
    pub update: bool,
    /// How much of the plan the run covers: whether an entry naming no unit of it is dead.
    pub coverage: Coverage,
}

impl ExpectationsFile {
    /// Reads the file. One that is to be written may not exist yet, but its folder must,
    /// so that the run's end does not find it unwritable.
    pub fn load(&self) -> Result<Expectations, ExpectationsError> {
        if self.update && !self.path.exists() {
            let folder = self
                .path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            std::fs::metadata(folder).map_err(|source| ExpectationsError::Write {
                path: self.path.clone(),
                source,
            })?;
            return Ok(Expectations::default());
        }
        Expectations::load(&self.path)
    }
}

/// `shout matrix` and `shout check`: what to run, how, and where the reports go.
#[derive(Debug)]
pub struct HarnessOptions {
    /// Implementations, filters and reproduction commands.
    pub config: Config,
    /// Time limits and lanes.
    pub run: RunOptions,
    /// Print the unit ids instead of running them.
    pub list: bool,
    /// Reports and expectations.
    pub report: ReportOptions,
}

impl HarnessOptions {
    /// Whether a declared program has its port written in (no `{port}`): it needs a
    /// network of its own per server to run beside itself.
    pub fn fixed_port(&self) -> bool {
        self.config
            .extra
            .iter()
            .any(|i| i.roles.values().any(|t| !t.takes_port()))
    }

    /// `shout matrix`.
    pub fn matrix(args: MatrixArgs, matches: &ArgMatches) -> Result<HarnessOptions, OptionsError> {
        for m in &args.manifests {
            readable(
                "manifest",
                m,
                "check the --manifest path (a TOML file of [[implementation]] tables)",
            )?;
        }
        let whole = args.run.transport.is_none()
            && args.only.is_empty()
            && args.run.cases.is_empty()
            && args.ids.is_empty()
            && args.partition.is_none();
        let config = Config {
            manifests: args.manifests.clone(),
            extra: Vec::new(),
            pythons: args.run.pythons.clone(),
            filters: Filters {
                transports: args.run.transport.into_iter().collect(),
                only: args.only,
                cases: args.run.cases.clone(),
                ids: args.ids,
                grading: false,
                groups: args.run.categories.clone(),
            },
            partition: args.partition,
            reproduce_args: reproduce_args(&args.manifests, &args.run),
            reproduce_check: None,
            strict_unicode: args.run.strict_unicode,
            reference: reference(&args.run.reference)?,
            non_strict_ok: args.run.non_strict_ok,
            reference_built: None,
        };
        let mut options = HarnessOptions::new(config, &args.run, matches, args.list)?;
        if let Some(file) = options.report.expectations.as_mut().filter(|_| whole) {
            file.coverage = Coverage::Whole;
        }
        Ok(options)
    }

    /// `shout check`: the candidate becomes an implementation named `candidate`.
    pub fn check(args: CheckArgs, matches: &ArgMatches) -> Result<HarnessOptions, OptionsError> {
        let transport = args
            .run
            .transport
            .ok_or(OptionsError::CheckWithoutTransport)?;
        let (role, line) = match (&args.server, &args.client) {
            (Some(s), None) => (Role::Server, s),
            (None, Some(c)) => (Role::Client, c),
            _ => return Err(OptionsError::CheckWithoutCandidate),
        };
        let candidate = candidate(transport, role, line)?;
        let mut reproduce = vec![
            "check".to_string(),
            "--transport".to_string(),
            transport.to_string(),
            format!("--{}", role.as_str()),
            line.clone(),
        ];
        reproduce.extend(reproduce_args(&[], &args.run));
        let config = Config {
            manifests: Vec::new(),
            extra: vec![candidate],
            pythons: args.run.pythons.clone(),
            filters: Filters {
                transports: vec![transport],
                only: vec!["candidate".into()],
                cases: args.run.cases.clone(),
                ids: Vec::new(),
                grading: false,
                groups: args.run.categories.clone(),
            },
            partition: None,
            reproduce_args: Vec::new(),
            reproduce_check: Some(reproduce),
            strict_unicode: args.run.strict_unicode,
            reference: reference(&args.run.reference)?,
            non_strict_ok: args.run.non_strict_ok,
            reference_built: None,
        };
        let mut options = HarnessOptions::new(config, &args.run, matches, false)?;
        // Where the reference gives no answer the verdict is `info` whatever the
        // candidate does: a quick check does not wait on those cases.
        options.run.skip_undefined = !args.run_undefined;
        Ok(options)
    }

    fn new(
        config: Config,
        run: &RunArgs,
        matches: &ArgMatches,
        list: bool,
    ) -> Result<HarnessOptions, OptionsError> {
        let run_options = RunOptions {
            timeout: seconds("--timeout", run.timeout)?,
            run_timeout: run
                .run_timeout
                .map(|t| seconds("--run-timeout", t))
                .transpose()?,
            jobs: jobs(run.jobs, 1)?,
            reference_cache: cache_dir(&run.cache).map(|d| Arc::new(ReferenceCache::in_dir(d))),
            ..RunOptions::default()
        };
        if list
            && (matches.get_many::<Format>("formats").is_some()
                || matches.get_many::<String>("outputs").is_some())
        {
            return Err(OptionsError::ListWithReport);
        }
        Ok(HarnessOptions {
            config,
            run: run_options,
            list,
            report: ReportOptions::new(&run.report, matches)?,
        })
    }
}

/// The candidate of `shout check`, run from the current folder.
fn candidate(transport: Transport, role: Role, line: &str) -> Result<Implementation, OptionsError> {
    let template =
        CommandTemplate::parse(line).map_err(|message| OptionsError::Command { role, message })?;
    // A candidate run by a Python interpreter follows the reference's Unicode version
    // (both run under the same python3); any other program may follow its runtime's.
    let program = template
        .words
        .first()
        .map(|w| w.rsplit('/').next().unwrap_or(w).to_string())
        .unwrap_or_default();
    let unicode = shout::registry::UnicodePolicy::default_for(&program);
    let mut roles = BTreeMap::new();
    roles.insert(RoleKey { transport, role }, template);
    Ok(Implementation {
        name: "candidate".into(),
        language: "unknown".into(),
        dir: std::env::current_dir().ok(),
        build: None,
        env: BTreeMap::new(),
        roles,
        client_output: ClientOutput::Reference,
        fixed_ports: Default::default(),
        unicode,
        origin: Origin::CommandLine,
    })
}

/// The flags that make a reproduction command find the same implementations and judge
/// them the same way: `--manifest`, `--python` and `--expectations` (never
/// `--update-expectations`: rerunning one unit must not rewrite the file).
fn reproduce_args(manifests: &[PathBuf], run: &RunArgs) -> Vec<String> {
    let mut args = Vec::new();
    for m in manifests {
        args.push("--manifest".into());
        args.push(m.display().to_string());
    }
    for p in &run.pythons {
        args.push("--python".into());
        args.push(p.display().to_string());
    }
    if run.non_strict_ok {
        args.push("--non-strict-ok".into());
    }
    if run.reference != shout::registry::PYTHON {
        args.push("--reference".into());
        args.push(run.reference.clone());
    }
    // A version difference is judged by this flag: the reproduction must say it too.
    if run.strict_unicode {
        args.push("--strict-unicode".into());
    }
    if let Some(file) = &run.report.expectations {
        args.push("--expectations".into());
        args.push(file.display().to_string());
    }
    args
}

/// `shout merge`.
#[derive(Debug)]
pub struct MergeOptions {
    /// The shards' JSON results.
    pub files: Vec<PathBuf>,
    /// Reports and expectations.
    pub report: ReportOptions,
}

impl MergeOptions {
    /// Validates the report flags.
    pub fn new(args: MergeArgs, matches: &ArgMatches) -> Result<MergeOptions, OptionsError> {
        Ok(MergeOptions {
            report: ReportOptions::new(&args.report, matches)?,
            files: args.files,
        })
    }
}

/// `shout grade`.
#[derive(Debug)]
pub struct GradeOptions {
    /// The paths given, before [`GradeOptions::submissions`] keeps the folders.
    pub paths: Vec<PathBuf>,
    /// `--out`.
    pub out: PathBuf,
    /// Submissions graded at once.
    pub jobs: usize,
    /// `--rubric`, loaded, or the built-in one.
    pub rubric: Rubric,
    /// Per-unit time limit.
    pub timeout: Duration,
    /// `--python`.
    pub python: Option<PathBuf>,
    /// `--case` patterns; empty: every case.
    pub cases: Vec<String>,
    /// Where the reference's observations are kept (`--cache-dir`, or the default);
    /// none with `--no-cache`.
    pub cache_dir: Option<PathBuf>,
    /// Size limits, build time limit and isolation mode.
    pub isolation: crate::isolation_args::IsolationArgs,
    /// `--reference`.
    pub reference: ReferenceChoice,
}

/// A path given to `shout grade` that is not graded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// A file (a README beside the folders, as `submissions/*` gives).
    NotAFolder(PathBuf),
    /// The `--out` folder itself.
    OutFolder(PathBuf),
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skipped::NotAFolder(p) => write!(
                f,
                "skipping {}: not a folder (each submission is one folder)",
                p.display()
            ),
            Skipped::OutFolder(p) => write!(f, "skipping {}: it is the --out folder", p.display()),
        }
    }
}

impl GradeOptions {
    /// Validates `--timeout`, `--rubric` and `--jobs` (twice the cores by default, since
    /// grading mostly waits on the programs it runs).
    pub fn new(args: GradeArgs) -> Result<GradeOptions, OptionsError> {
        let timeout = seconds("--timeout", args.timeout)?;
        let rubric = match &args.rubric {
            Some(path) => {
                readable(
                    "rubric",
                    path,
                    "check the --rubric path, or drop --rubric to use the built-in rubric",
                )?;
                Rubric::load(path)?
            }
            None => Rubric::default(),
        };
        Ok(GradeOptions {
            jobs: jobs(args.jobs, 2)?,
            paths: args.dirs,
            out: args.out,
            rubric,
            timeout,
            python: args.python,
            cases: args.cases,
            cache_dir: cache_dir(&args.cache),
            isolation: args.isolation,
            reference: reference(&args.reference)?,
        })
    }

    /// `shout check DIR`: one folder, the built-in rubric, the run flags that apply.
    pub fn for_check(dir: PathBuf, args: &CheckArgs) -> Result<GradeOptions, OptionsError> {
        if !dir.is_dir() {
            return Err(OptionsError::Submission {
                path: dir.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not a folder: give the folder that holds your programs",
                ),
            });
        }
        Ok(GradeOptions {
            paths: vec![dir],
            out: PathBuf::new(),
            jobs: 1,
            rubric: Rubric::default(),
            timeout: seconds("--timeout", args.run.timeout)?,
            python: args.run.pythons.first().cloned(),
            cases: args.run.cases.clone(),
            cache_dir: cache_dir(&args.run.cache),
            // A student checks their own programs: whatever layers this machine has.
            isolation: crate::isolation_args::IsolationArgs::own_programs(),
            reference: reference(&args.run.reference)?,
        })
    }

    /// What the grading pipeline takes for `shout check DIR`.
    pub fn config_for_check(&self) -> GradeConfig {
        self.config(self.paths.clone())
    }

    /// The submission folders among the paths given, in order. Files and the `--out`
    /// folder are passed to `skipped` as they are met; a path that does not exist is an
    /// error, and so is having nothing left to grade.
    pub fn submissions(
        &self,
        skipped: &mut dyn FnMut(&Skipped),
    ) -> Result<Vec<PathBuf>, OptionsError> {
        let out = self.out.canonicalize().ok();
        let mut dirs = Vec::new();
        for p in &self.paths {
            let meta = std::fs::metadata(p).map_err(|source| OptionsError::Submission {
                path: p.clone(),
                source,
            })?;
            if !meta.is_dir() {
                skipped(&Skipped::NotAFolder(p.clone()));
            } else if out.is_some() && p.canonicalize().ok() == out {
                skipped(&Skipped::OutFolder(p.clone()));
            } else if let Some(count) = shout::grade::detect::submissions_inside(p) {
                let path = p.clone();
                return Err(OptionsError::FolderOfSubmissions { path, count });
            } else {
                dirs.push(p.clone());
            }
        }
        if dirs.is_empty() {
            return Err(OptionsError::NoSubmission);
        }
        Ok(dirs)
    }

    /// What the grading pipeline takes, for the folders `dirs`.
    pub fn config(&self, dirs: Vec<PathBuf>) -> GradeConfig {
        GradeConfig {
            dirs,
            jobs: self.jobs,
            rubric: self.rubric.clone(),
            timeout: self.timeout,
            python: self.python.clone(),
            limits: Limits::default(),
            cases: self.cases.clone(),
            cache_dir: self.cache_dir.clone(),
            submission_limits: self.isolation.submission_limits(),
            build_timeout: self.isolation.build_timeout(),
            isolation: self.isolation.isolation,
            reference: self.reference.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::{CommandFactory, FromArgMatches};
    use shout::output::Target;
    use std::path::Path;

    /// Parses `shout ARGS…` as the binary does: the command and its subcommand's matches.
    fn parse(args: &[&str]) -> (Command, ArgMatches) {
        let argv = std::iter::once("shout").chain(args.iter().copied());
        let matches = Cli::command().try_get_matches_from(argv).unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();
        let sub = matches.subcommand().unwrap().1.clone();
        (cli.command, sub)
    }

    fn harness(args: &[&str]) -> Result<HarnessOptions, OptionsError> {
        match parse(args) {
            (Command::Matrix(a), m) => HarnessOptions::matrix(a, &m),
            (Command::Check(a), m) => HarnessOptions::check(a, &m),
            (other, _) => panic!("not a harness command: {other:?}"),
        }
    }

    fn grade(args: &[&str]) -> Result<GradeOptions, OptionsError> {
        match parse(args) {
            (Command::Grade(a), _) => GradeOptions::new(a),
            (other, _) => panic!("not grade: {other:?}"),
        }
    }

    /// The message of the error `args` give, which must name `flag`.
    fn names(result: Result<impl fmt::Debug, OptionsError>, flag: &str) -> String {
        let message = result.unwrap_err().to_string();
        assert!(message.contains(flag), "{message} does not name {flag}");
        message
    }

    #[test]
    fn time_limits_out_of_range_name_their_flag() {
        for (args, flag) in [
            (
                &["matrix", "--timeout", "1e20"][..],
                "--timeout 100000000000000000000",
            ),
            (&["matrix", "--timeout", "0"], "--timeout 0 must be"),
            (&["matrix", "--run-timeout=-1"], "--run-timeout -1"),
            (&["matrix", "--run-timeout", "nan"], "--run-timeout NaN"),
        ] {
            let message = names(harness(args), flag);
            assert!(
                message.ends_with("from 0.001 to 86400 (a day)"),
                "{message}"
            );
        }
        names(
            grade(&["grade", ".", "--out", "o", "--timeout", "inf"]),
            "--timeout inf",
        );
        assert_eq!(
            seconds("--timeout", 0.001).unwrap(),
            Duration::from_millis(1)
        );
        assert_eq!(
            seconds("--timeout", MAX_SECONDS).unwrap(),
            Duration::from_secs(86_400)
        );
    }

    #[test]
    fn zero_jobs_name_the_flag() {
        names(harness(&["matrix", "--jobs", "0"]), "--jobs");
        names(
            grade(&["grade", ".", "--out", "o", "--jobs", "0"]),
            "--jobs",
        );
        assert_eq!(harness(&["matrix", "--jobs", "3"]).unwrap().run.jobs, 3);
    }

    #[test]
    fn list_refuses_reports() {
        for extra in ["--format", "--output"] {
            let message = names(harness(&["matrix", "--list", extra, "json"]), "--list");
            assert!(message.contains("drop --format and --output"), "{message}");
        }
        assert!(harness(&["matrix", "--list"]).unwrap().list);
    }

    fn targets(args: &[&str]) -> Vec<(Format, Target)> {
        let options = harness(args).unwrap();
        options
            .report
            .reports
            .into_iter()
            .map(|r| (r.format, r.target))
            .collect()
    }

    #[test]
    fn each_format_takes_the_output_that_follows_it() {
        let file = |p: &str| Target::File(p.into());
        assert_eq!(
            targets(&[
                "matrix", "--format", "json", "--output", "r.json", "--format", "junit",
                "--format", "html", "--output", "r.html",
            ]),
            [
                (Format::Json, file("r.json")),
                (Format::Junit, Target::Stdout),
                (Format::Html, file("r.html")),
            ]
        );
        assert_eq!(
            targets(&["matrix", "--format", "markdown", "--output", "-"]),
            [(Format::Markdown, Target::Stdout)]
        );
        assert!(targets(&["matrix"]).is_empty());
    }

    #[test]
    fn report_flags_out_of_order_name_the_flag_and_the_fix() {
        let message = names(
            harness(&["matrix", "--output", "r.json"]),
            "--output r.json",
        );
        assert!(
            message.contains("`--format FORMAT --output r.json`"),
            "{message}"
        );
        names(
            harness(&[
                "matrix", "--format", "json", "--output", "a", "--output", "b",
            ]),
            "--output b follows no --format",
        );
        let message = names(
            harness(&["matrix", "--format", "junit", "--format", "html"]),
            "only one --format can go to stdout",
        );
        assert!(message.contains("--output FILE"), "{message}");
        names(
            harness(&[
                "matrix", "--format", "junit", "--format", "html", "--output", "-",
            ]),
            "only one --format",
        );
    }

    #[test]
    fn expectations_to_be_written_may_not_exist_yet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known.toml");
        let file = |path: &Path, update| ExpectationsFile {
            path: path.to_path_buf(),
            update,
            coverage: Coverage::Part,
        };
        assert!(file(&path, true).load().unwrap().expect.is_empty());
        let missing = file(&path, false).load().unwrap_err().to_string();
        assert!(missing.contains("known.toml"), "{missing}");
        assert!(
            missing.ends_with("create it or run with --update-expectations to write it"),
            "{missing}"
        );
        // A file to be written in a folder that does not exist is refused before the run.
        let nowhere = dir.path().join("no-such-folder/known.toml");
        let message = file(&nowhere, true).load().unwrap_err().to_string();
        assert!(
            message.starts_with(&format!(
                "cannot write the expectations file {}",
                nowhere.display()
            )),
            "{message}"
        );
        let options = harness(&[
            "matrix",
            "--expectations",
            path.to_str().unwrap(),
            "--update-expectations",
        ])
        .unwrap();
        let asked = options.report.expectations.unwrap();
        assert!(asked.update && asked.path == path);
        assert_eq!(asked.coverage, Coverage::Whole);
    }

    #[test]
    fn a_filtered_or_sharded_run_covers_part_of_the_plan() {
        for extra in [
            &["--only", "rust"][..],
            &["--case", "hello"],
            &["--transport", "udp"],
            &["--partition", "hash:1/2"],
            &["--id", "udp::rust-client::rust-server::hello"],
        ] {
            let mut args = vec!["matrix", "--expectations", "e.toml"];
            args.extend(extra);
            let asked = harness(&args).unwrap().report.expectations.unwrap();
            assert_eq!(asked.coverage, Coverage::Part, "{extra:?}");
        }
        let check = harness(&[
            "check",
            "--transport",
            "udp",
            "--server",
            "x {port}",
            "--expectations",
            "e.toml",
        ])
        .unwrap();
        assert_eq!(check.report.expectations.unwrap().coverage, Coverage::Part);
    }

    /// The message clap gives for `shout ARGS…`.
    fn refused(args: &[&str]) -> String {
        let argv = std::iter::once("shout").chain(args.iter().copied());
        Cli::command()
            .try_get_matches_from(argv)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn check_requires_a_transport_and_one_candidate_before_anything_else() {
        let message = refused(&["check", "--server", "x {port}"]);
        assert!(
            message.contains("required arguments were not provided")
                && message.contains("--transport <udp|tcp>"),
            "{message}"
        );
        let message = refused(&["check", "--transport", "udp"]);
        assert!(
            message.contains("<--server <CMD>|--client <CMD>|DIR>"),
            "{message}"
        );
        let message = refused(&[
            "check",
            "--transport",
            "udp",
            "--server",
            "a",
            "--client",
            "b",
        ]);
        assert!(message.contains("cannot be used with"), "{message}");
    }

    #[test]
    fn check_names_what_its_candidate_lacks() {
        let message = names(
            harness(&["check", "--transport", "udp", "--server", "x {prot}"]),
            "--server: unknown placeholder `{prot}`",
        );
        assert!(
            message.ends_with("the placeholders are {port}, {host}"),
            "{message}"
        );
        // A server with its port written in is accepted: it gets a network of its own.
        let fixed = harness(&[
            "check",
            "--transport",
            "udp",
            "--server",
            "python3 server.py",
        ])
        .unwrap();
        assert!(fixed.fixed_port());
        let chosen = harness(&["check", "--transport", "udp", "--server", "s {port}"]).unwrap();
        assert!(!chosen.fixed_port());
        names(
            harness(&["check", "--transport", "tcp", "--client", "'unbalanced"]),
            "--client: unbalanced quotes",
        );
        names(
            harness(&["check", "--transport", "udp", "--server", ""]),
            "--server: the command is empty",
        );
        assert_eq!(
            OptionsError::CheckWithoutCandidate.to_string(),
            "give exactly one of --server 'CMD {port}' or --client 'CMD {host} {port}'"
        );
    }

    #[test]
    fn check_runs_only_the_candidate_and_can_be_reproduced() {
        let options = harness(&[
            "check",
            "--transport",
            "tcp",
            "--client",
            "java Client {host} {port}",
            "--case",
            "hello",
        ])
        .unwrap();
        let config = options.config;
        assert_eq!(config.extra.len(), 1);
        assert_eq!(config.extra[0].name, "candidate");
        assert_eq!(config.filters.only, ["candidate"]);
        assert_eq!(config.filters.transports, [Transport::Tcp]);
        assert_eq!(
            config.reproduce_check.unwrap(),
            [
                "check",
                "--transport",
                "tcp",
                "--client",
                "java Client {host} {port}"
            ]
        );
        assert!(!options.list);
        let judged = harness(&[
            "check",
            "--transport",
            "udp",
            "--server",
            "./s {port}",
            "--expectations",
            "e.toml",
        ])
        .unwrap();
        assert!(judged
            .config
            .reproduce_check
            .unwrap()
            .ends_with(&["--expectations".to_string(), "e.toml".to_string()]));
    }

    #[test]
    fn matrix_reproduction_names_manifests_then_interpreters() {
        let m = manifest();
        let options = harness(&[
            "matrix",
            "--python",
            "/py/3.8",
            "--manifest",
            &m,
            "--only",
            "go",
        ])
        .unwrap();
        assert_eq!(
            options.config.reproduce_args,
            ["--manifest", &m, "--python", "/py/3.8"]
        );
        let judged = harness(&[
            "matrix",
            "--expectations",
            "known.toml",
            "--update-expectations",
            "--manifest",
            &m,
        ])
        .unwrap();
        assert_eq!(
            judged.config.reproduce_args,
            ["--manifest", &m, "--expectations", "known.toml"],
            "the file that judged a unit reproduces it; rewriting the file does not"
        );
        assert_eq!(options.config.filters.only, ["go"]);
        assert_eq!(options.run.timeout, Duration::from_secs(3));
        assert_eq!(options.run.run_timeout, None);
    }

    #[test]
    fn role_time_limits_name_their_flag() {
        match parse(&["tcp-server", "--idle-timeout", "0"]) {
            (Command::TcpServer(a), _) => {
                names(tcp_server(&a), "--idle-timeout must be a positive number");
            }
            (other, _) => panic!("{other:?}"),
        }
        match parse(&["udp-client", "--timeout=-1"]) {
            (Command::UdpClient(a), _) => {
                names(client(a), "--timeout -1 must be a number of seconds");
            }
            (other, _) => panic!("{other:?}"),
        }
        match parse(&["tcp-client", "--timeout", "0"]) {
            (Command::TcpClient(a), _) => assert_eq!(client(a).unwrap().timeout, None),
            (other, _) => panic!("{other:?}"),
        }
    }

    /// A manifest that exists: the fixtures' deliberately wrong implementations.
    fn manifest() -> String {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/impls/wrong.toml"
        )
        .to_string()
    }

    #[test]
    fn a_missing_rubric_is_named() {
        let message = names(
            grade(&[
                "grade",
                ".",
                "--out",
                "o",
                "--rubric",
                "no-such-rubric.toml",
            ]),
            "rubric file no-such-rubric.toml: ",
        );
        assert!(
            message.ends_with("or drop --rubric to use the built-in rubric"),
            "{message}"
        );
    }

    #[test]
    fn a_missing_or_folder_manifest_is_named_with_what_to_do() {
        let message = names(
            harness(&["matrix", "--manifest", "no-such.toml"]),
            "manifest file no-such.toml: ",
        );
        assert!(
            message
                .ends_with("check the --manifest path (a TOML file of [[implementation]] tables)"),
            "{message}"
        );
        names(
            harness(&["matrix", "--manifest", "."]),
            "manifest file .: it is a directory, not a file",
        );
        assert!(harness(&["matrix", "--manifest", &manifest()]).is_ok());
    }

    #[test]
    fn grading_keeps_folders_and_skips_files_and_the_out_folder() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, out) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("out"),
        );
        for d in [&a, &b, &out] {
            std::fs::create_dir(d).unwrap();
        }
        let readme = dir.path().join("README");
        std::fs::write(&readme, "").unwrap();
        let arg = |p: &Path| p.to_str().unwrap().to_string();
        let (a_, readme_, b_, out_) = (arg(&a), arg(&readme), arg(&b), arg(&out));
        let options = grade(&["grade", &a_, &readme_, &b_, &out_, "--out", &out_]).unwrap();
        let mut skipped = Vec::new();
        let dirs = options
            .submissions(&mut |s| skipped.push(s.clone()))
            .unwrap();
        assert_eq!(dirs, [a.clone(), b]);
        assert_eq!(
            skipped,
            [
                Skipped::NotAFolder(readme.clone()),
                Skipped::OutFolder(out.clone())
            ]
        );
        assert_eq!(
            skipped[1].to_string(),
            format!("skipping {}: it is the --out folder", out.display())
        );
        assert_eq!(options.config(dirs).jobs, options.jobs);

        let nothing = grade(&["grade", &readme_, "--out", &out_]).unwrap();
        let message = nothing.submissions(&mut |_| {}).unwrap_err().to_string();
        assert!(
            message.contains("pass one folder per submission"),
            "{message}"
        );
        let missing = arg(&dir.path().join("gone"));
        let gone = grade(&["grade", &a_, &missing, "--out", &out_]).unwrap();
        names(gone.submissions(&mut |_| {}), &missing);
    }
}
