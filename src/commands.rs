//! `shout matrix` and `shout check`: arguments → harness config → run → reports.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::ArgMatches;
use shout::expectations::Expectations;
use shout::harness::{self, Config};
use shout::output::{Report, ReportWriter, Target};
use shout::plan::Filters;
use shout::registry::{ClientOutput, CommandTemplate, Implementation, Origin, Role, RoleKey};
use shout::report::Format;
use shout::results::{merge, Results};
use shout::run::execute::{Event, RunOptions};

use crate::cli::{CheckArgs, GradeArgs, MatrixArgs, MergeArgs, ReportArgs, RunArgs};
use crate::progress::{Counting, Progress};
use crate::signals;
use shout::grade::gradebook;
use shout::grade::pipeline::{GradeConfig, GradeEvent};
use shout::grade::rubric::Rubric;
use shout::grade::sandbox::Limits;

/// The submission folders among `paths`: files (a README beside the folders, as
/// `submissions/*` gives) and the output folder itself are skipped with a note; a path
/// that does not exist is an error.
fn submission_dirs(paths: &[PathBuf], out: &Path) -> Result<Vec<PathBuf>, String> {
    let out = out.canonicalize().ok();
    let mut dirs = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p)
            .map_err(|e| format!("cannot read submission folder {}: {e}", p.display()))?;
        if !meta.is_dir() {
            eprintln!(
                "shout: skipping {}: not a folder (each submission is one folder)",
                p.display()
            );
        } else if out.is_some() && p.canonicalize().ok() == out {
            eprintln!("shout: skipping {}: it is the --out folder", p.display());
        } else {
            dirs.push(p.clone());
        }
    }
    if dirs.is_empty() {
        return Err("no submission folder to grade: pass one folder per submission".into());
    }
    Ok(dirs)
}

/// The longest time limit shout accepts, in seconds (a day).
pub const MAX_SECONDS: f64 = 86_400.0;

/// Validates a time limit given in seconds on the command line: positive, finite and at
/// most a day.
pub fn seconds_flag(flag: &str, value: f64) -> Result<Duration, String> {
    match Duration::try_from_secs_f64(value) {
        Ok(d) if value <= MAX_SECONDS && d >= Duration::from_millis(1) => Ok(d),
        _ => Err(format!(
            "{flag} {value} must be a number of seconds from 0.001 to {MAX_SECONDS} (a day)"
        )),
    }
}

fn options(run: &RunArgs) -> Result<RunOptions, String> {
    let timeout = seconds_flag("--timeout", run.timeout)?;
    let run_timeout = run
        .run_timeout
        .map(|t| seconds_flag("--run-timeout", t))
        .transpose()?;
    let jobs = run.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    if jobs == 0 {
        return Err("--jobs must be at least 1".into());
    }
    Ok(RunOptions {
        timeout,
        run_timeout,
        jobs,
        ..RunOptions::default()
    })
}

/// The reports asked for: each `--format` with the `--output` that follows it (stdout
/// when none does, or when it is `-`).
fn report_targets(matches: &ArgMatches) -> Result<Vec<Report>, String> {
    let formats: Vec<(usize, Format)> = match (
        matches.indices_of("formats"),
        matches.get_many::<Format>("formats"),
    ) {
        (Some(i), Some(f)) => i.zip(f.copied()).collect(),
        _ => Vec::new(),
    };
    let outputs: Vec<(usize, String)> = match (
        matches.indices_of("outputs"),
        matches.get_many::<String>("outputs"),
    ) {
        (Some(i), Some(o)) => i.zip(o.cloned()).collect(),
        _ => Vec::new(),
    };
    let mut targets: Vec<(Format, Option<String>)> = Vec::new();
    let mut events: Vec<(usize, Result<Format, String>)> = formats
        .into_iter()
        .map(|(i, f)| (i, Ok(f)))
        .chain(outputs.into_iter().map(|(i, o)| (i, Err(o))))
        .collect();
    events.sort_by_key(|(i, _)| *i);
    for (_, e) in events {
        match e {
            Ok(f) => targets.push((f, None)),
            Err(o) => match targets.last_mut() {
                Some((_, slot @ None)) => *slot = Some(o),
                _ => {
                    return Err(format!(
                        "--output {o} follows no --format: write `--format FORMAT --output {o}`"
                    ))
                }
            },
        }
    }
    let reports: Vec<Report> = targets
        .into_iter()
        .map(|(format, o)| Report {
            format,
            target: match o.as_deref() {
                None | Some("-") => Target::Stdout,
                Some(path) => Target::File(path.into()),
            },
        })
        .collect();
    if reports
        .iter()
        .filter(|r| r.target == Target::Stdout)
        .count()
        > 1
    {
        return Err("only one --format can go to stdout: give the others an --output FILE".into());
    }
    Ok(reports)
}

fn load_expectations(report: &ReportArgs) -> Result<Option<Expectations>, String> {
    match &report.expectations {
        // A file to be written may not exist yet.
        Some(path) if report.update_expectations && !path.exists() => {
            Ok(Some(Expectations::default()))
        }
        Some(path) => Expectations::load(path)
            .map(Some)
            .map_err(|e| e.to_string()),
        None => Ok(None),
    }
}

/// Applies expectations, writes every report, and returns the exit status.
fn finish(
    mut results: Results,
    report: &ReportArgs,
    expectations: Option<Expectations>,
    writer: &ReportWriter,
) -> Result<u8, String> {
    if let (Some(exp), Some(path)) = (&expectations, &report.expectations) {
        let applied = exp.apply(&mut results);
        for id in &applied.unmatched {
            eprintln!("shout: note: expectation `{id}` matched no unit of this run");
        }
        if report.update_expectations {
            let updated = exp.updated(&results);
            updated.save(path).map_err(|e| e.to_string())?;
            eprintln!(
                "shout: wrote {} known failure(s) to {}",
                updated.expect.len(),
                path.display()
            );
        }
    }
    writer
        .write(&results, &mut io::stdout(), &mut io::stderr())
        .map_err(|e| e.to_string())?;
    Ok(results.exit_code())
}

fn reproduce_args(manifests: &[std::path::PathBuf], run: &RunArgs) -> Vec<String> {
    let mut args = Vec::new();
    for m in manifests {
        args.push("--manifest".into());
        args.push(m.display().to_string());
    }
    for p in &run.pythons {
        args.push("--python".into());
        args.push(p.display().to_string());
    }
    args
}

fn execute(config: Config, run: &RunArgs, matches: &ArgMatches, list: bool) -> Result<u8, String> {
    signals::kill_children_on_interrupt().map_err(|e| e.to_string())?;
    let options = options(run)?;
    if list
        && (matches.get_many::<Format>("formats").is_some()
            || matches.get_many::<String>("outputs").is_some())
    {
        return Err("--list prints the unit ids, one per line, and writes no report: drop --format and --output".into());
    }
    let writer = ReportWriter::open(report_targets(matches)?).map_err(|e| e.to_string())?;
    let expectations = load_expectations(&run.report)?;
    let prepared = harness::prepare(&config).map_err(|e| e.to_string())?;
    if list {
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
    let results = prepared.run(&options, &on_event);
    signals::end_orphans();
    finish(results, &run.report, expectations, &writer)
}

/// `shout merge`.
pub fn merge(args: MergeArgs, matches: &ArgMatches) -> Result<u8, String> {
    let writer = ReportWriter::open(report_targets(matches)?).map_err(|e| e.to_string())?;
    let expectations = load_expectations(&args.report)?;
    let shards = args
        .files
        .iter()
        .map(|p| merge::read(p).map(|r| (p.clone(), r)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let results = merge::merge(shards).map_err(|e| e.to_string())?;
    finish(results, &args.report, expectations, &writer)
}

/// `shout matrix`.
pub fn matrix(args: MatrixArgs, matches: &ArgMatches) -> Result<u8, String> {
    let config = Config {
        manifests: args.manifests.clone(),
        extra: Vec::new(),
        pythons: args.run.pythons.clone(),
        filters: Filters {
            transports: args.run.transport.into_iter().collect(),
            only: args.only.clone(),
            cases: args.run.cases.clone(),
            ids: args.ids.clone(),
            grading: false,
        },
        partition: args.partition,
        reproduce_args: reproduce_args(&args.manifests, &args.run),
        reproduce_check: None,
    };
    execute(config, &args.run, matches, args.list)
}

/// `shout check`.
pub fn check(args: CheckArgs, matches: &ArgMatches) -> Result<u8, String> {
    let transport = args
        .run
        .transport
        .ok_or("`shout check` needs --transport udp or --transport tcp")?;
    let (role, line) = match (&args.server, &args.client) {
        (Some(s), None) => (Role::Server, s),
        (None, Some(c)) => (Role::Client, c),
        _ => {
            return Err(
                "give exactly one of --server 'CMD {port}' or --client 'CMD {host} {port}'".into(),
            )
        }
    };
    let template = CommandTemplate::parse(line).map_err(|e| format!("--{}: {e}", role.as_str()))?;
    if role == Role::Server && !template.words.iter().any(|w| w.contains("{port}")) {
        return Err("--server: the command needs `{port}` so shout can choose the port".into());
    }
    let mut roles = BTreeMap::new();
    roles.insert(RoleKey { transport, role }, template);
    let candidate = Implementation {
        name: "candidate".into(),
        language: "unknown".into(),
        dir: std::env::current_dir().ok(),
        build: None,
        env: BTreeMap::new(),
        roles,
        client_output: ClientOutput::Reference,
        fixed_ports: Default::default(),
        origin: Origin::CommandLine,
    };
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
        },
        partition: None,
        reproduce_args: Vec::new(),
        reproduce_check: Some(reproduce),
    };
    execute(config, &args.run, matches, false)
}

/// `shout grade`.
pub fn grade(args: GradeArgs) -> Result<u8, String> {
    signals::kill_children_on_interrupt().map_err(|e| e.to_string())?;
    let timeout = seconds_flag("--timeout", args.timeout)?;
    let rubric = match &args.rubric {
        Some(path) => Rubric::load(path).map_err(|e| e.to_string())?,
        None => Rubric::default(),
    };
    let jobs = args.jobs.unwrap_or_else(|| {
        2 * std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    if jobs == 0 {
        return Err("--jobs must be at least 1".into());
    }
    let dirs = submission_dirs(&args.dirs, &args.out)?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let config = GradeConfig {
        dirs: dirs.clone(),
        jobs,
        rubric: rubric.clone(),
        timeout,
        python: args.python.clone(),
        limits: Limits::default(),
        cases: args.cases.clone(),
    };
    let total = dirs.len();
    let progress = Progress::stderr(Counting::Submissions, total);
    let on_event = |e: GradeEvent| match e {
        GradeEvent::Isolation(how) => eprintln!("shout: {how}"),
        GradeEvent::Done { name, done, .. } => progress.done(done, name),
    };
    let graded = shout::grade::pipeline::grade(&config, &on_event).map_err(|e| e.to_string());
    signals::end_orphans();
    let graded = graded?;
    progress.finish();
    gradebook::write_all(&args.out, &graded, &rubric)
        .map_err(|e| format!("cannot write the grades to {}: {e}", args.out.display()))?;
    for g in &graded {
        if let Some(results) = &g.results {
            // The harness's own results, for reports and reproduction.
            let path = args.out.join(&g.name).join("shout.json");
            let bytes = Format::Json.render(results)?;
            std::fs::write(&path, bytes)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
    }
    let _ = io::stdout().write_all(gradebook::class_markdown(&graded, &rubric).as_bytes());
    // What this machine lacks costs students points: the grader should see it at once.
    let mut lacking: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for g in &graded {
        for sentence in g.problems.values() {
            if sentence.contains("is not installed") {
                let names = lacking.entry(sentence.trim().to_string()).or_default();
                if !names.contains(&g.name.as_str()) {
                    names.push(&g.name);
                }
            }
        }
    }
    for (sentence, names) in &lacking {
        eprintln!(
            "shout: warning: this machine lacks a toolchain, so {} scored 0 on those roles: {sentence}",
            names.join(", ")
        );
    }
    if !args.cases.is_empty() {
        eprintln!(
            "shout: note: only the cases matching --case were graded; these scores are not the submissions' grades"
        );
    }
    eprintln!(
        "shout: wrote {} and grades.csv, grades.md and NAME/results.json for {} submission(s)",
        args.out.display(),
        graded.len()
    );
    Ok(0)
}
