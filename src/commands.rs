//! `shout matrix` and `shout check`: arguments → harness config → run → reports.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use shout::harness::{self, Config};
use shout::plan::Filters;
use shout::registry::{ClientOutput, CommandTemplate, Implementation, Origin, Role, RoleKey};
use shout::report;
use shout::results::Results;
use shout::run::execute::{Event, RunOptions};

use crate::cli::{CheckArgs, MatrixArgs, RunArgs};

/// Kills every child group and exits 130 on Ctrl-C or SIGTERM.
fn kill_children_on_interrupt() -> Result<(), String> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            shout::run::process::kill_all();
            eprintln!("\nshout: interrupted; every started process was killed");
            std::process::exit(130);
        }
    });
    Ok(())
}

fn options(run: &RunArgs) -> Result<RunOptions, String> {
    if !(run.timeout > 0.0 && run.timeout.is_finite()) {
        return Err(format!(
            "--timeout {} must be a positive number of seconds",
            run.timeout
        ));
    }
    let jobs = run.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    if jobs == 0 {
        return Err("--jobs must be at least 1".into());
    }
    Ok(RunOptions {
        timeout: Duration::from_secs_f64(run.timeout),
        run_timeout: run.run_timeout.map(Duration::from_secs_f64),
        jobs,
        ..RunOptions::default()
    })
}

fn progress(total: usize) -> Box<dyn Fn(Event) + Sync> {
    if io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Box::new(move |e| match e {
            Event::Building(name) => bar.set_message(format!("building {name}")),
            Event::UnitDone { unit, done, .. } => {
                bar.set_position(done as u64);
                bar.set_message(unit.id.clone());
                if done == total {
                    bar.finish_and_clear();
                }
            }
        })
    } else {
        Box::new(move |e| match e {
            Event::Building(name) => eprintln!("building {name}"),
            Event::UnitDone { done, total, .. } => {
                if done == total || done % (total / 10).max(1) == 0 {
                    eprintln!("{done}/{total} units done");
                }
            }
        })
    }
}

fn emit(results: &Results, run: &RunArgs) -> Result<(), String> {
    let mut buf: Vec<u8> = Vec::new();
    match run.format.as_str() {
        "terminal" => report::terminal::write(results, &mut buf),
        "json" => report::json::write(results, &mut buf),
        other => return Err(format!("unknown --format `{other}`: use terminal or json")),
    }
    .map_err(|e| format!("cannot render the report: {e}"))?;
    if run.output == "-" {
        io::stdout()
            .write_all(&buf)
            .map_err(|e| format!("cannot write to stdout: {e}"))
    } else {
        std::fs::write(&run.output, &buf)
            .map_err(|e| format!("cannot write {}: {e}", run.output))?;
        if run.format != "terminal" {
            // Keep the human summary on the terminal when the report goes to a file.
            let mut text = Vec::new();
            let _ = report::terminal::write(results, &mut text);
            let _ = io::stdout().write_all(&text);
        }
        Ok(())
    }
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

fn execute(config: Config, run: &RunArgs, list: bool) -> Result<u8, String> {
    kill_children_on_interrupt()?;
    let options = options(run)?;
    let prepared = harness::prepare(&config).map_err(|e| e.to_string())?;
    if list {
        let mut out = io::stdout().lock();
        for u in &prepared.units {
            let _ = writeln!(out, "{}", u.id);
        }
        return Ok(0);
    }
    let on_event = progress(prepared.units.len());
    let results = prepared.run(&options, &*on_event);
    emit(&results, run)?;
    Ok(results.exit_code())
}

/// `shout matrix`.
pub fn matrix(args: MatrixArgs) -> Result<u8, String> {
    let config = Config {
        manifests: args.manifests.clone(),
        extra: Vec::new(),
        pythons: args.run.pythons.clone(),
        filters: Filters {
            transports: args.run.transport.into_iter().collect(),
            only: args.only.clone(),
            cases: args.run.cases.clone(),
            ids: args.ids.clone(),
        },
        partition: args.partition,
        reproduce_args: reproduce_args(&args.manifests, &args.run),
        reproduce_check: None,
    };
    execute(config, &args.run, args.list)
}

/// `shout check`.
pub fn check(args: CheckArgs) -> Result<u8, String> {
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
        origin: Origin::Builtin,
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
        },
        partition: None,
        reproduce_args: Vec::new(),
        reproduce_check: Some(reproduce),
    };
    execute(config, &args.run, false)
}
