//! What each subcommand does, as orchestration only: validated options → the library
//! (roles, harness, merge, grading) → reports.
//!
//! Flags are validated in [`crate::options`], progress is drawn by [`crate::progress`],
//! interrupts are handled by [`crate::signals`] and reports are written by
//! [`shout::output`]; this module does none of that itself, and maps no error to an exit
//! code (`main` does, with [`CommandError::exit_code`]).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;

use clap::ArgMatches;

use shout::expectations::{self, Applied, Expectations, ExpectationsError, Update};
use shout::grade::gradebook::{self, Graded};
use shout::grade::pipeline::{self, GradeError, GradeEvent};
use shout::harness::{self, HarnessError};
use shout::output::{OutputError, ReportWriter};
use shout::report::Format;
use shout::results::merge::{self, MergeError};
use shout::results::Results;
use shout::roles::{self, RoleError};
use shout::run::execute::Event;
use shout::text;

use crate::cli::{
    CheckArgs, ClientArgs, GradeArgs, MatrixArgs, MergeArgs, ServerArgs, TcpServerArgs,
};
use crate::options::{
    self, ExpectationsFile, GradeOptions, HarnessOptions, MergeOptions, OptionsError,
};
use crate::progress::{Counting, Progress};
use crate::signals::{self, SignalError};

/// Why a subcommand stopped; each message is shown after `shout: error: `.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A flag cannot be used as given.
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// A report cannot be, or could not be, written.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// Interrupts cannot be handled.
    #[error(transparent)]
    Signals(#[from] SignalError),
    /// A role (server or client) failed; it carries its own exit status.
    #[error(transparent)]
    Role(#[from] RoleError),
    /// The `--expectations` file cannot be read or written.
    #[error(transparent)]
    Expectations(#[from] ExpectationsError),
    /// The harness cannot start (a manifest, the corpus, an interpreter).
    #[error(transparent)]
    Harness(#[from] HarnessError),
    /// The shards do not make one run.
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// Grading cannot start.
    #[error(transparent)]
    Grade(#[from] GradeError),
    /// The `--out` folder of `grade` cannot be created.
    #[error("cannot create {}: {source}", path.display())]
    CreateOut {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The gradebook cannot be written.
    #[error("cannot write the grades to {}: {source}", path.display())]
    Grades {
        /// The `--out` folder.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A submission's results cannot be rendered.
    #[error("{0}")]
    Render(String),
    /// A submission's results cannot be written.
    #[error("cannot write {}: {source}", path.display())]
    Results {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

impl CommandError {
    /// The exit status: a role's own (1 where the reference also fails), else 2.
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Role(e) => e.exit_code,
            _ => 2,
        }
    }
}

/// `shout udp-server`.
pub fn udp_server(args: &ServerArgs) -> Result<u8, CommandError> {
    roles::udp_server(&options::udp_server(args), &mut io::stdout())?;
    Ok(0)
}

/// `shout tcp-server`.
pub fn tcp_server(args: &TcpServerArgs) -> Result<u8, CommandError> {
    roles::tcp_server(&options::tcp_server(args)?, &mut io::stdout())?;
    Ok(0)
}

/// `shout udp-client`.
pub fn udp_client(args: ClientArgs) -> Result<u8, CommandError> {
    let config = options::client(args)?;
    roles::udp_client(&config, &mut io::stdin().lock(), &mut io::stdout())?;
    Ok(0)
}

/// `shout tcp-client`.
pub fn tcp_client(args: ClientArgs) -> Result<u8, CommandError> {
    let config = options::client(args)?;
    roles::tcp_client(&config, &mut io::stdin().lock(), &mut io::stdout())?;
    Ok(0)
}

/// `shout matrix`; `matches` are the subcommand's, for the order of the report flags.
pub fn matrix(args: MatrixArgs, matches: &ArgMatches) -> Result<u8, CommandError> {
    run_harness(HarnessOptions::matrix(args, matches)?)
}

/// `shout check`.
pub fn check(args: CheckArgs, matches: &ArgMatches) -> Result<u8, CommandError> {
    run_harness(HarnessOptions::check(args, matches)?)
}

/// Prepares the run (or lists its units), runs it with progress, and writes the reports.
fn run_harness(options: HarnessOptions) -> Result<u8, CommandError> {
    signals::kill_children_on_interrupt()?;
    let writer = ReportWriter::open(options.report.reports.clone())?;
    let expectations = load(options.report.expectations.as_ref())?;
    let prepared = harness::prepare(&options.config)?;
    if options.list {
        let mut out = io::stdout().lock();
        for u in prepared
            .units
            .iter()
            .filter(|u| prepared.reported.contains(&u.id))
        {
            let _ = writeln!(out, "{}", u.id);
        }
        return Ok(0);
    }
    let progress = Progress::stderr(Counting::Units, prepared.units.len());
    let on_event = |e: Event| match e {
        Event::Building(name) => progress.building(name),
        Event::UnitDone { unit, done, .. } => progress.done(done, &unit.id),
    };
    let results = prepared.run(&options.run, &on_event);
    signals::end_orphans();
    finish(results, expectations, &writer)
}

/// `shout merge`.
pub fn merge(args: MergeArgs, matches: &ArgMatches) -> Result<u8, CommandError> {
    let options = MergeOptions::new(args, matches)?;
    let writer = ReportWriter::open(options.report.reports.clone())?;
    let expectations = load(options.report.expectations.as_ref())?;
    let shards = options
        .files
        .iter()
        .map(|p| merge::read(p).map(|r| (p.clone(), r)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut results = merge::merge(shards)?;
    if let Some((file, _)) = &expectations {
        // The shards' reproduce lines must judge a unit as this merge does.
        for r in &mut results.results {
            r.reproduce = harness::reproduce_with_expectations(&r.reproduce, &file.path);
        }
    }
    finish(results, expectations, &writer)
}

/// The known failures asked for, with their file.
fn load(
    file: Option<&ExpectationsFile>,
) -> Result<Option<(&ExpectationsFile, Expectations)>, CommandError> {
    Ok(match file {
        Some(file) => Some((file, file.load()?)),
        None => None,
    })
}

/// Rewrites the expectations file if asked (so that it describes this run), applies it,
/// writes every report, and returns the exit status.
fn finish(
    mut results: Results,
    expectations: Option<(&ExpectationsFile, Expectations)>,
    writer: &ReportWriter,
) -> Result<u8, CommandError> {
    if let Some((file, exp)) = expectations {
        let exp = if file.update {
            let update = expectations::update_file(&file.path, &results, file.coverage)?;
            say_update(file, &update);
            update.expectations
        } else {
            exp
        };
        let applied = exp.apply(&mut results);
        say_applied(&applied, !file.update);
    }
    writer.write(&results, &mut io::stdout(), &mut io::stderr())?;
    Ok(results.exit_code())
}

/// Tells what `--update-expectations` did to the file, one line per change.
fn say_update(file: &ExpectationsFile, update: &Update) {
    let path = file.path.display();
    let entries = match update.expectations.expect.len() {
        1 => "1 entry".to_string(),
        n => format!("{n} entries"),
    };
    if update.edits() {
        eprintln!("shout: updated the expectations file {path} ({entries}):");
    } else {
        eprintln!(
            "shout: the expectations file {path} already describes this run ({entries}); unchanged"
        );
    }
    for change in &update.changes {
        eprintln!("shout:   {change}");
    }
}

/// Notes on entries that judged nothing; `unmatched` also names those that name no unit
/// (an update has said so already).
fn say_applied(applied: &Applied, unmatched: bool) {
    if unmatched {
        for id in &applied.unmatched {
            eprintln!("shout: note: expectation `{id}` matched no unit of this run");
        }
    }
    for id in &applied.shadowed {
        eprintln!(
            "shout: note: expectation `{id}` judges nothing: an earlier entry names each of its units"
        );
    }
    for id in &applied.deferred {
        eprintln!(
            "shout: note: expectation `{id}` has no failing unit in this shard; `shout merge --expectations` judges it"
        );
    }
}

/// `shout grade`.
pub fn grade(args: GradeArgs) -> Result<u8, CommandError> {
    let options = GradeOptions::new(args)?;
    signals::kill_children_on_interrupt()?;
    let dirs = options.submissions(&mut |skipped| {
        eprintln!("shout: {}", text::terminal_text(&skipped.to_string()))
    })?;
    std::fs::create_dir_all(&options.out).map_err(|source| CommandError::CreateOut {
        path: options.out.clone(),
        source,
    })?;
    let config = options.config(dirs);
    let progress = Progress::stderr(Counting::Submissions, config.dirs.len());
    let on_event = |e: GradeEvent| match e {
        GradeEvent::Isolation(how) => eprintln!("shout: {how}"),
        GradeEvent::Done { name, done, .. } => progress.done(done, name),
    };
    let grading = pipeline::grade_all(&config, &on_event);
    signals::end_orphans();
    let pipeline::Grading {
        graded,
        missing_toolchains,
        isolation,
    } = grading?;
    progress.finish();
    write_grades(&options, &graded, &isolation)?;
    let table = gradebook::class_markdown(&graded, &options.rubric);
    let _ = io::stdout().write_all(text::terminal_text(&table).as_bytes());
    // What this machine lacks costs students points: the grader should see it at once.
    for (sentence, names) in &lacking_toolchains(&missing_toolchains) {
        eprintln!(
            "shout: warning: this machine lacks a toolchain, so {} scored 0 on those roles: {}",
            names.join(", "),
            text::visible_str(sentence)
        );
    }
    if !options.cases.is_empty() {
        eprintln!(
            "shout: note: only the cases matching --case were graded; these scores are not the submissions' grades"
        );
    }
    eprintln!(
        "shout: wrote {} and grades.csv, grades.md, grades.html and NAME/results.json for {} submission(s)",
        options.out.display(),
        graded.len()
    );
    Ok(0)
}

/// The gradebook, and each submission's own results as `NAME/shout.json` (for reports
/// and reproduction).
fn write_grades(
    options: &GradeOptions,
    graded: &[Graded],
    isolation: &serde_json::Value,
) -> Result<(), CommandError> {
    gradebook::write_all(&options.out, graded, &options.rubric, isolation).map_err(|source| {
        CommandError::Grades {
            path: options.out.clone(),
            source,
        }
    })?;
    for g in graded {
        if let Some(results) = &g.results {
            let path = options.out.join(&g.name).join("shout.json");
            let bytes = Format::Json.render(results).map_err(CommandError::Render)?;
            std::fs::write(&path, bytes)
                .map_err(|source| CommandError::Results { path, source })?;
        }
    }
    Ok(())
}

/// The toolchains this machine lacks, each (as its sentence) with the submissions it
/// cost points, in order.
fn lacking_toolchains(
    missing: &[(String, shout::grade::detect::MissingToolchain)],
) -> BTreeMap<String, Vec<&str>> {
    let mut lacking: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (name, toolchain) in missing {
        let names = lacking.entry(toolchain.to_string()).or_default();
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    lacking
}
