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
use shout::run::execute::{Event, RunOptions};
use shout::run::sandbox;
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
    if let Some(dir) = args.dir.clone() {
        return check_folder(dir, args);
    }
    let mut options = HarnessOptions::check(args, matches)?;
    if options.fixed_port() && !options.list {
        eprintln!("shout: {}", own_networks(&mut options.run));
    }
    run_harness(options)
}

/// `shout check DIR`: the folder graded as `shout grade` would grade it, alone, with
/// the feedback printed instead of written. Exit status 0 with every point, 1 when
/// points are lost, 2 when a role could not be graded here (a missing toolchain).
fn check_folder(dir: PathBuf, args: CheckArgs) -> Result<u8, CommandError> {
    // Student programs write their ports in: give them networks of their own, and shout
    // mounts of its own (where a toolchain under root's home is shown), entered before
    // any thread starts.
    own_namespaces_unless_root();
    let config = GradeOptions::for_check(dir, &args)?.config_for_check();
    signals::kill_children_on_interrupt()?;
    // How a class's untrusted code is confined is the grader's concern, not the author's.
    let grading = pipeline::grade_all(&config, &|_| {});
    signals::end_orphans();
    let pipeline::Grading {
        graded,
        missing_toolchains,
        ..
    } = grading?;
    let mut out = io::stdout().lock();
    for g in &graded {
        let _ = out.write_all(gradebook::student_text(g, &config.rubric).as_bytes());
    }
    let lost = graded.iter().any(|g| {
        gradebook::total(&gradebook::buckets(g, &config.rubric)) < config.rubric.max_total()
    });
    let incomplete = graded.iter().any(|g| !g.not_graded.is_empty());
    Ok(if !missing_toolchains.is_empty() || incomplete {
        2
    } else if lost {
        1
    } else {
        0
    })
}

/// Before any thread starts: student programs write their ports in, so an ordinary
/// user enters a user namespace of shout's own, where network namespaces can be made and
/// each server still gets one (root needs none); and shout takes a mount namespace of its
/// own, where each submission's work folder is a tmpfs of a fixed size that vanishes
/// with shout.
fn own_namespaces_unless_root() {
    // SAFETY: geteuid(2) cannot fail.
    let in_user_namespace = unsafe { libc::geteuid() } == 0 || {
        match sandbox::enter_user_namespace() {
            Ok(()) => true,
            Err(e) => {
                eprintln!(
                    "shout: no user namespace here ({e}): programs run one at a time on their ports"
                );
                false
            }
        }
    };
    if in_user_namespace {
        if let Err(e) = sandbox::enter_private_mounts() {
            eprintln!("shout: no mount namespace here ({e}): work folders are not size-capped");
        }
    }
}

/// Gives each server (and client probe) a network namespace of its own, for a program
/// whose port is written in: as root directly, otherwise inside a user namespace of
/// shout's own (entered here, before any thread starts). Where neither is possible the
/// units run one at a time on the fixed port. Returns the sentence that says which.
fn own_networks(run: &mut RunOptions) -> String {
    // SAFETY: geteuid(2) cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let entered = if root {
        Ok(())
    } else {
        sandbox::enter_user_namespace()
    };
    match entered {
        Ok(()) => {
            run.isolate = Some(sandbox::enter_fresh_netns);
            format!(
                "the candidate's port is written in: each server runs in a network namespace \
                 of its own{}",
                if root {
                    ""
                } else {
                    " (inside a user namespace: no root needed)"
                }
            )
        }
        Err(e) => {
            run.jobs = 1;
            format!(
                "the candidate's port is written in, and no network namespace is available \
                 here ({e}): its units run one at a time on that port"
            )
        }
    }
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
        Event::CacheUnwritable(why) => progress.note(&cache_warning(&why)),
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
    // The reports group and word units by the reference the shards were compared with.
    // This process has chosen none yet, so this cannot fail.
    let _ = shout::registry::choose_reference(&results.reference_implementation);
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
    own_namespaces_unless_root();
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
    if let Some(taught) = gradebook::taught_otherwise(&graded) {
        let command = regrade_command(gradebook::TaughtOtherwise::REFERENCE);
        eprintln!(
            "shout: note: {}",
            text::terminal_text(&taught.sentence(&command))
        );
    }
    // What this machine lacks is the grader's to fix: those roles were not graded.
    for (sentence, names) in &lacking_toolchains(&missing_toolchains) {
        eprintln!(
            "shout: not graded: {} on the roles that need it, because this machine lacks a \
             toolchain: {}; install it and grade them again",
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
    // Anything else this machine could not grade (no working interpreter), one line each.
    let told: Vec<&str> = missing_toolchains.iter().map(|(n, _)| n.as_str()).collect();
    for g in graded.iter().filter(|g| !told.contains(&g.name.as_str())) {
        if let Some(why) = g.not_graded.values().next() {
            eprintln!(
                "shout: not graded: {} on the roles that need it: {}",
                g.name,
                text::visible_str(why)
            );
        }
    }
    if graded.iter().any(|g| !g.not_graded.is_empty()) {
        eprintln!(
            "shout: incomplete: some roles were not graded on this machine (see above): exit status 2"
        );
        return Ok(2);
    }
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

/// This very `shout grade` command with `--reference NAME` instead of any it had.
fn regrade_command(reference: &str) -> String {
    let mut words = vec!["shout".to_string()];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--reference" {
            args.next();
        } else if !arg.starts_with("--reference=") {
            words.push(arg);
        }
    }
    words.extend(["--reference".to_string(), reference.to_string()]);
    shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "))
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

/// The warning for a reference cache that could not be written.
fn cache_warning(why: &str) -> String {
    format!(
        "shout: warning: cannot write the reference cache ({why}); later runs will run the \
         reference again: pass --cache-dir DIR (a writable folder) or --no-cache"
    )
}
