//! The conformance matrix as `cargo test` tests: one test per unit, named by its id
//! (`udp::python-client::rust-server::korean`), so that
//!
//! ```text
//! cargo test --test matrix udp::rust-client      # a subset
//! cargo test --test matrix -- --list             # every unit
//! cargo nextest run --test matrix --partition hash:1/2
//! ```
//!
//! behave as users expect. The selected units (and the units they are judged by) run
//! once, together, before the tests report; a failure prints the same explanation and
//! reproduce command as `shout matrix`.
//!
//! Slow suites are ignored tests, run with `-- --ignored`: `slow::python-axis::py3.X`
//! (the whole matrix with the reference under each CPython 3 found) and
//! `slow::unicode-sweep::{udp,tcp}` (every scalar value through both servers).
//!
//! Environment: `SHOUT_MANIFESTS` (paths separated by `:`) adds implementations from
//! manifests; `SHOUT_EXPECTATIONS` names an expectations file; `SHOUT_PYTHONS` (paths
//! separated by `:`) chooses the interpreters of the slow suites.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use shout::expectations::Expectations;
use shout::harness::{self, Config};
use shout::plan::Filters;
use shout::proto::Transport;
use shout::report::terminal;
use shout::results::{Results, UnitResult};
use shout::run::execute::RunOptions;
use shout::verdict::Verdict;

#[path = "cli/support.rs"]
#[allow(dead_code)]
mod support;
#[path = "cli/sweep.rs"]
mod sweep;

fn manifests() -> Vec<PathBuf> {
    std::env::var_os("SHOUT_MANIFESTS")
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn config(pythons: Vec<PathBuf>, ids: Vec<String>) -> Config {
    let manifests = manifests();
    let mut reproduce_args = Vec::new();
    for m in &manifests {
        reproduce_args.extend(["--manifest".to_string(), m.display().to_string()]);
    }
    for p in &pythons {
        reproduce_args.extend(["--python".to_string(), p.display().to_string()]);
    }
    Config {
        manifests,
        pythons,
        filters: Filters {
            ids,
            ..Filters::default()
        },
        reproduce_args,
        ..Config::default()
    }
}

/// Runs a planned configuration and applies `SHOUT_EXPECTATIONS`.
fn run(config: &Config) -> Result<Results, String> {
    let prepared = harness::prepare(config).map_err(|e| e.to_string())?;
    let mut results = prepared.run(&RunOptions::default(), &|_| {});
    if let Some(path) = std::env::var_os("SHOUT_EXPECTATIONS") {
        let exp = Expectations::load(&PathBuf::from(path)).map_err(|e| e.to_string())?;
        exp.apply(&mut results);
    }
    Ok(results)
}

fn explain(r: &UnitResult) -> String {
    let mut text = Vec::new();
    let _ = terminal::write_failure(r, &mut text);
    String::from_utf8_lossy(&text).into_owned()
}

fn outcome(r: &UnitResult) -> Result<Completion, Failed> {
    match r.verdict {
        Verdict::Pass | Verdict::Info | Verdict::Xfail => Ok(Completion::Completed),
        // A program that cannot start is not a pass: the test fails and says why.
        Verdict::Skip if r.is_incomplete() => Err(format!(
            "{} could not run: {}",
            r.id,
            r.diagnosis().as_deref().unwrap_or("no reason recorded")
        )
        .into()),
        Verdict::Skip => Ok(Completion::ignored_with(
            r.diagnosis().unwrap_or_else(|| "skipped".into()),
        )),
        // A difference, as `shout matrix` counts it by default.
        Verdict::Fail | Verdict::NonStrict | Verdict::Xpass => Err(explain(r).into()),
    }
}

/// The ignored slow suites.
fn slow_trials(pythons: &[support::Python]) -> Vec<Trial> {
    let mut trials = Vec::new();
    for p in pythons {
        let path = p.path.clone();
        trials.push(
            Trial::test(format!("slow::python-axis::py{}", p.version), move || {
                let results = run(&config(vec![path], Vec::new()))?;
                let failures: Vec<String> = results
                    .results
                    .iter()
                    .filter(|r| r.verdict.is_failure())
                    .map(explain)
                    .collect();
                if failures.is_empty() {
                    Ok(())
                } else {
                    Err(failures.join("").into())
                }
            })
            .with_ignored_flag(true),
        );
    }
    for transport in Transport::ALL {
        trials.push(
            Trial::test(format!("slow::unicode-sweep::{transport}"), move || {
                std::panic::catch_unwind(|| sweep::sweep_all(transport)).map_err(|e| {
                    e.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "the sweep panicked".into())
                        .into()
                })
            })
            .with_ignored_flag(true),
        );
    }
    trials
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    // The harness starts shout's own roles from this executable.
    std::env::set_var("SHOUT_BIN", env!("CARGO_BIN_EXE_shout"));
    let planned = match harness::prepare(&config(Vec::new(), Vec::new())) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("shout matrix tests: {e}");
            return ExitCode::from(2);
        }
    };
    let ids: Vec<String> = planned.units.iter().map(|u| u.id.clone()).collect();
    drop(planned);
    // An exact run of one unit (as nextest does) need not look for interpreters.
    let slow_wanted = !(args.exact
        && args
            .filter
            .as_deref()
            .is_some_and(|f| !f.starts_with("slow::")));
    let mut trials: Vec<Trial> = ids
        .iter()
        .map(|id| Trial::test(id.clone(), || Ok(())))
        .collect();
    if slow_wanted {
        trials.extend(slow_trials(&support::python3_interpreters()));
    }
    // Which units this invocation runs, by libtest's own rules.
    let selected: Vec<String> = trials
        .iter()
        .filter(|t| !args.is_filtered_out(t) && !args.is_ignored(t))
        .map(|t| t.name().to_string())
        .filter(|n| !n.starts_with("slow::"))
        .collect();
    let results: Arc<BTreeMap<String, UnitResult>> = if args.list || selected.is_empty() {
        Arc::default()
    } else {
        let wanted = if selected.len() == ids.len() {
            Vec::new()
        } else {
            selected
        };
        match run(&config(Vec::new(), wanted)) {
            Ok(r) => Arc::new(r.results.into_iter().map(|u| (u.id.clone(), u)).collect()),
            Err(e) => {
                eprintln!("shout matrix tests: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let mut real: Vec<Trial> = ids
        .into_iter()
        .map(|id| {
            let results = Arc::clone(&results);
            Trial::ignorable_test(id.clone(), move || match results.get(&id) {
                Some(r) => outcome(r),
                None => Err(format!("{id} was not run").into()),
            })
        })
        .collect();
    if slow_wanted {
        real.extend(
            trials
                .into_iter()
                .filter(|t| t.name().starts_with("slow::")),
        );
    }
    libtest_mimic::run(&args, real).exit_code()
}
