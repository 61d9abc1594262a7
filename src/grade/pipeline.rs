//! Grading a folder of submissions: detect each one's roles, have it copied to a private
//! work folder, built and run (confined) against the reference and shout's own roles, and
//! hand the results to the gradebook.
//!
//! It starts no process and no thread itself: [`crate::run`] copies, probes
//! interpreters, builds, runs, confines and schedules the submissions; this module
//! decides what to ask for and words what a submission lacks.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::candidates;
use super::detect::{self, MissingToolchain, Submission};
use super::explain;
use super::gradebook::{self, Graded};
use super::hosts::{self, Reach};
use super::rubric::Rubric;
use super::runnable::{implementation_of, manifest_runnable, missing_role, Runnable, Unrunnable};
use super::unusable::unusable;
use crate::harness::{self, Config};
use crate::plan::Filters;
use crate::registry::{BuiltReference, CommandTemplate, Implementation, ReferenceChoice, RoleKey};
use crate::run::build_steps;
use crate::run::execute::{ReferenceCache, RunOptions};
use crate::run::process::{Confine, Spawn};
use crate::run::rust_toolchain;
use crate::run::sandbox::{
    self, IsolationMode, Limits, Sandbox, WorkdirError, WorkdirLimits, SUBMISSION_MEMORY_BYTES,
};
use crate::run::{interpreter, worker_pool};

/// Lanes a submission's units run on at once, each with its own server and network.
/// Several of a submission's units mostly wait (a line typed late, a line sent to its
/// server late, a silent connection held open): with two lanes, both are often waiting
/// at once, and the submissions graded beside it are at the same stage, so the machine
/// sits idle. A third lane keeps it working through those waits.
const LANES_PER_SUBMISSION: usize = 3;

/// How to grade.
#[derive(Debug, Clone)]
pub struct GradeConfig {
    /// One folder per submission.
    pub dirs: Vec<PathBuf>,
    /// Submissions graded at once.
    pub jobs: usize,
    /// Points and output rules.
    pub rubric: Rubric,
    /// Per-unit time limit.
    pub timeout: Duration,
    /// The interpreter for the reference (default `python3`).
    pub python: Option<PathBuf>,
    /// Limits for every student process.
    pub limits: Limits,
    /// Only cases whose name matches one of these patterns; empty: all.
    pub cases: Vec<String>,
    /// Where the reference's own observations are kept between runs; none: only for
    /// this run (every submission still shares them).
    pub cache_dir: Option<PathBuf>,
    /// How large a submission may be; a larger one is not graded, and says why.
    pub submission_limits: WorkdirLimits,
    /// How long each of a submission's builds may take.
    pub build_timeout: Duration,
    /// Whether to refuse to grade when a layer of isolation does not work here.
    pub isolation: IsolationMode,
    /// What every submission is compared with (`--reference`).
    pub reference: ReferenceChoice,
}

/// Progress, for the command line.
#[derive(Debug)]
pub enum GradeEvent<'a> {
    /// Said once, before anything runs: how isolation works on this machine.
    Isolation(&'a str),
    /// One submission is graded.
    Done {
        /// Its name.
        name: &'a str,
        /// Submissions done so far.
        done: usize,
        /// Submissions in all.
        total: usize,
    },
}

/// Grading could not start (not a problem of one submission: those are in its grade).
#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    /// Two folders give the same submission name.
    #[error("two submissions are both named `{0}`: rename one folder")]
    DuplicateName(String),
    /// The harness itself cannot run (python3 missing, …).
    #[error(transparent)]
    Harness(#[from] harness::HarnessError),
    /// The scratch space or the sandbox cannot be set up.
    #[error("{0}")]
    Environment(String),
}

/// Everything grading found: the grades, and what this machine lacked.
#[derive(Debug, Clone, Default)]
pub struct Grading {
    /// One grade per folder, in the order given.
    pub graded: Vec<Graded>,
    /// The submissions that need a toolchain this machine lacks, by name, in the order
    /// given; their roles scored 0 and their problems say what is missing.
    pub missing_toolchains: Vec<(String, MissingToolchain)>,
    /// The layers of isolation that were active, for each `results.json`.
    pub isolation: serde_json::Value,
}

/// Grades every submission: one grade per folder, in the order given, and which
/// submissions this machine lacked a toolchain for, as values to match on.
pub fn grade_all(
    config: &GradeConfig,
    on_event: &(dyn Fn(GradeEvent) + Sync),
) -> Result<Grading, GradeError> {
    let scratch = scratch_folder()?;
    // The reference is built once for the whole class (a JDK missing for
    // `java-textbook` is the grader's problem, said before grading anyone).
    let reference_built = config
        .reference
        .build(scratch.path())
        .map_err(GradeError::Environment)?;
    // A wrong --python or --case is the grader's mistake: say so before grading anyone.
    harness::prepare(&Config {
        pythons: config.python.iter().cloned().collect(),
        filters: Filters {
            cases: config.cases.clone(),
            grading: true,
            ..Filters::default()
        },
        reference: config.reference.clone(),
        reference_built: reference_built.clone(),
        ..Config::default()
    })?;
    let support = Sandbox::support();
    if let Some(why) = sandbox::refusal(&support, config.isolation) {
        return Err(GradeError::Environment(why));
    }
    let isolated = support.network_namespace.is_available();
    let mut said = sandbox::layers_sentence(&support, config.isolation);
    if !isolated {
        said.push_str("; submissions run one at a time on their fixed ports");
    }
    on_event(GradeEvent::Isolation(&said));
    let submissions: Vec<Result<Submission, String>> = config
        .dirs
        .iter()
        .map(|d| detect::detect(d).map_err(|e| e.to_string()))
        .collect();
    let names = unique_names(&config.dirs, &submissions, config.reference.name())?;
    // Every server name a client of the class names reaches the test server.
    let sandbox = new_sandbox(config.limits, &hosts::host_names(&submissions))?;
    let class = Class {
        config,
        sandbox,
        scratch: scratch.path(),
        isolated,
        reach: Reach {
            own_networks: isolated,
            hosts_file: support.mount_namespace.is_available() || support.bubblewrap.is_available(),
        },
        reference_built,
        // Every submission is judged against the same reference: its own units run once.
        reference: Arc::new(
            config
                .cache_dir
                .clone()
                .map_or_else(ReferenceCache::default, ReferenceCache::in_dir),
        ),
    };
    // Without namespaces, programs on fixed ports cannot run side by side.
    let jobs = if isolated { config.jobs.max(1) } else { 1 };
    let first_error: Mutex<Option<GradeError>> = Mutex::new(None);
    let outcomes = worker_pool::run_indexed(
        submissions.len(),
        jobs,
        |i| match class.grade_one(i, &names[i], &submissions[i]) {
            Ok(one) => Some(one),
            Err(e) => {
                first_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert(e);
                None
            }
        },
        |i, done| {
            on_event(GradeEvent::Done {
                name: &names[i],
                done,
                total: submissions.len(),
            })
        },
    );
    // A toolchain shown inside the scratch folder is unmounted before the folder goes.
    rust_toolchain::release(scratch.path());
    if let Some(e) = first_error
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
    {
        return Err(e);
    }
    let mut grading = Grading {
        isolation: sandbox::layers_json(&support, config.isolation),
        ..Grading::default()
    };
    for one in outcomes.into_iter().flatten() {
        if let Some(missing) = one.missing_toolchain {
            grading
                .missing_toolchains
                .push((one.graded.name.clone(), missing));
        }
        grading.graded.push(one.graded);
    }
    Ok(grading)
}

/// The folder holding every work folder (and copied interpreters), removed at the end.
fn scratch_folder() -> Result<tempfile::TempDir, GradeError> {
    let scratch = tempfile::Builder::new()
        .prefix("shout-grade-")
        .tempdir()
        .map_err(|e| GradeError::Environment(format!("cannot create a scratch folder: {e}")))?;
    crate::run::process::register_scratch(scratch.path());
    // The unprivileged user must be able to enter it to reach its work folders.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o711))
        .map_err(|e| GradeError::Environment(format!("cannot open the scratch folder: {e}")))?;
    Ok(scratch)
}

/// The sandbox every student program runs in; `names` resolve to this machine.
fn new_sandbox(limits: Limits, names: &[String]) -> Result<Arc<Sandbox>, GradeError> {
    let hosts: Vec<(String, IpAddr)> = names
        .iter()
        .map(|h| (h.to_string(), IpAddr::V4(Ipv4Addr::LOCALHOST)))
        .collect();
    let sandbox = Sandbox::new(limits, &hosts)
        .map_err(|e| GradeError::Environment(format!("cannot set up the sandbox: {e}")))?;
    Ok(Arc::new(sandbox))
}

/// Each submission's name, in order; two with the same name are an error. A folder
/// named as one of shout's own implementations or as the reference (`python`,
/// `java-textbook`) is graded as `NAME-submission`, so its units never pass for the
/// reference's.
fn unique_names(
    dirs: &[PathBuf],
    submissions: &[Result<Submission, String>],
    reference: &str,
) -> Result<Vec<String>, GradeError> {
    let taken = [
        crate::registry::PYTHON,
        crate::registry::SHOUT,
        crate::plan::PROBE,
        reference,
    ];
    let mut names: Vec<String> = Vec::new();
    for (dir, s) in dirs.iter().zip(submissions) {
        let mut name = match s {
            Ok(s) => s.name().to_string(),
            Err(_) => fallback_name(dir),
        };
        if taken.contains(&name.as_str()) {
            name.push_str("-submission");
        }
        if names.contains(&name) {
            return Err(GradeError::DuplicateName(name));
        }
        names.push(name);
    }
    Ok(names)
}

fn fallback_name(dir: &Path) -> String {
    dir.file_name()
        .and_then(|n| detect::submission_name(&n.to_string_lossy()))
        .unwrap_or_else(|| "submission".into())
}

/// What every submission of one grading run shares.
struct Class<'a> {
    config: &'a GradeConfig,
    sandbox: Arc<Sandbox>,
    /// Holds the work folders.
    scratch: &'a Path,
    /// Whether each lane gets a network namespace of its own.
    isolated: bool,
    /// What this machine can do for the servers clients name.
    reach: Reach,
    /// The chosen reference, built once (`None`: the built-in Python scripts).
    reference_built: Option<BuiltReference>,
    reference: Arc<ReferenceCache>,
}

/// One submission's grade, and the toolchain it lacked, if that is why it could not run.
struct OneGrade {
    graded: Graded,
    missing_toolchain: Option<MissingToolchain>,
}

impl Class<'_> {
    /// Grades one submission: problems (missing roles, toolchains, a failed build) are
    /// part of its grade; only a harness failure is an error.
    fn grade_one(
        &self,
        index: usize,
        name: &str,
        submission: &Result<Submission, String>,
    ) -> Result<OneGrade, GradeError> {
        let mut one = OneGrade {
            graded: Graded {
                name: name.to_string(),
                language: None,
                notes: Vec::new(),
                problems: BTreeMap::new(),
                not_graded: BTreeMap::new(),
                results: None,
            },
            missing_toolchain: None,
        };
        let submission = match submission {
            Ok(s) => s,
            Err(e) => {
                for key in RoleKey::ALL {
                    one.graded.problems.insert(key, e.clone());
                }
                return Ok(one);
            }
        };
        // Its own user and memory budget; what it started ends when this sandbox is dropped.
        let mut own = self
            .sandbox
            .for_submission(index as u32, SUBMISSION_MEMORY_BYTES, &[])
            .map_err(|e| GradeError::Environment(format!("cannot set up the sandbox: {e}")))?;
        let limits = self.config.submission_limits;
        let work = match own.prepare_workdir(submission.dir(), self.scratch, limits) {
            Ok(work) => work,
            Err(WorkdirError::Scratch(e)) => {
                return Err(GradeError::Environment(format!(
                    "cannot copy {} to a work folder: {e}",
                    submission.dir().display()
                )))
            }
            // The submission's own problem: its grade says so, the class goes on.
            Err(e) => {
                let sentence = explain::problem(&unusable(&e, submission.dir()));
                for key in RoleKey::ALL {
                    one.graded.problems.insert(key, sentence.clone());
                }
                return Ok(one);
            }
        };
        let runnable = match submission {
            Submission::Manifest(m) => manifest_runnable(m, name, &work, &mut one.graded),
            Submission::Sources(s) => self.sources_runnable(s, name, &work, &mut one),
        };
        let Some(Runnable {
            mut implementation,
            build_steps,
            read_only,
        }) = runnable
        else {
            return Ok(one);
        };
        let mut client_addresses = Vec::new();
        if let Submission::Sources(s) = submission {
            // A client whose server this machine cannot put where it sends is not graded.
            for (key, why) in hosts::unreachable_clients(s, self.reach) {
                implementation.roles.remove(&key);
                implementation.fixed_ports.remove(&key);
                one.graded.not_graded.insert(key, why);
            }
            client_addresses = hosts::client_addresses(s);
        }
        for key in RoleKey::ALL {
            if implementation.role(key).is_none() && !one.graded.not_graded.contains_key(&key) {
                one.graded.problems.insert(key, missing_role(key));
            }
        }
        if implementation.roles.is_empty() {
            return Ok(one);
        }
        for dir in interpreter::copies_in(self.scratch)
            .iter()
            .chain(&read_only)
        {
            own.show_read_only(dir);
        }
        let options = self.run_options(Arc::new(own), client_addresses);
        if !build_steps.is_empty() {
            self.build_first(&mut implementation, &build_steps, &options);
        }
        let prepared = harness::prepare(&self.harness_config(implementation))?;
        one.graded.results = Some(prepared.run(&options, &|_| {}));
        if let Some(s) = candidates::with_alternates(submission) {
            self.grade_alternates(s, name, &work, &options, &mut one.graded)?;
        }
        if let Some(results) = &one.graded.results {
            let busy = gradebook::machine_too_busy(results, &one.graded.name);
            one.graded.not_graded.extend(busy);
        }
        Ok(one)
    }

    /// Grades the second file of each role the code cannot decide on (see
    /// [`candidates`]) in one more run, and keeps the better of the two per role.
    fn grade_alternates(
        &self,
        s: &detect::Sources,
        name: &str,
        work: &Path,
        options: &RunOptions,
        graded: &mut Graded,
    ) -> Result<(), GradeError> {
        let Some(variant) = candidates::variant(s) else {
            return Ok(());
        };
        let other_user = self.sandbox.user().is_some();
        let rubric = &self.config.rubric;
        let runnable =
            match implementation_of(&variant, name, work, self.scratch, other_user, rubric) {
                Ok(runnable) => runnable,
                Err(why) => {
                    for (key, alternate) in &s.alternates {
                        let file = alternate.file.display();
                        graded
                            .notes
                            .push(format!("{key}: {file} could not be graded too: {why}"));
                    }
                    return Ok(());
                }
            };
        let Runnable {
            mut implementation,
            build_steps,
            ..
        } = runnable;
        for (key, _) in hosts::unreachable_clients(&variant, self.reach) {
            implementation.roles.remove(&key);
            implementation.fixed_ports.remove(&key);
        }
        if !build_steps.is_empty() {
            self.build_first(&mut implementation, &build_steps, options);
        }
        let second = harness::prepare(&self.harness_config(implementation))?.run(options, &|_| {});
        candidates::keep_better(graded, &second, s, rubric);
        Ok(())
    }

    /// What a detected submission runs as, or `None` (with the problems and notes in
    /// `one`) when it cannot run here.
    fn sources_runnable(
        &self,
        s: &detect::Sources,
        name: &str,
        work: &Path,
        one: &mut OneGrade,
    ) -> Option<Runnable> {
        let graded = &mut one.graded;
        graded.language = s.language.map(|l| l.to_string());
        graded.notes.extend(s.notes.iter().cloned());
        for role in s.roles.values() {
            graded.notes.extend(
                role.notes
                    .iter()
                    .map(|n| format!("{}: {n}", role.file.display())),
            );
        }
        let other_user = self.sandbox.user().is_some();
        match implementation_of(s, name, work, self.scratch, other_user, &self.config.rubric) {
            Ok(runnable) => Some(runnable),
            Err(why) => {
                let sentence = why.to_string();
                // A toolchain or interpreter this machine lacks is the grader's problem:
                // those roles are not graded, rather than scored 0.
                let lacking = matches!(
                    why,
                    Unrunnable::MissingToolchain(_)
                        | Unrunnable::NoInterpreter { .. }
                        | Unrunnable::Unreachable { .. }
                );
                for key in s.roles.keys() {
                    if lacking {
                        graded.not_graded.insert(*key, sentence.clone());
                    } else {
                        graded.problems.insert(*key, sentence.clone());
                    }
                }
                for key in RoleKey::ALL {
                    if !graded.not_graded.contains_key(&key) {
                        graded
                            .problems
                            .entry(key)
                            .or_insert_with(|| missing_role(key));
                    }
                }
                if let Unrunnable::MissingToolchain(missing) = why {
                    one.missing_toolchain = Some(missing);
                }
                None
            }
        }
    }

    /// How the harness runs a submission's units.
    fn run_options(&self, sandbox: Arc<Sandbox>, client_addresses: Vec<IpAddr>) -> RunOptions {
        RunOptions {
            timeout: self.config.timeout,
            // In namespaces each lane has its own network, so fixed ports never meet.
            jobs: if self.isolated {
                LANES_PER_SUBMISSION
            } else {
                1
            },
            confine: Some(sandbox as Arc<dyn Confine>),
            isolate: self
                .isolated
                .then_some(sandbox::enter_fresh_netns as fn() -> std::io::Result<()>),
            client_addresses,
            reference_cache: Some(Arc::clone(&self.reference)),
            // Where the reference gives no answer the verdict is `info` whatever the
            // student's program does, and no point depends on it.
            skip_undefined: true,
            build_timeout: self.config.build_timeout,
            ..RunOptions::default()
        }
    }

    /// Runs a submission's several builds in order, confined as the harness would run its
    /// one build. When they all succeed the harness has nothing left to build; when one
    /// fails it becomes the implementation's build, so the harness runs it again and
    /// turns its failure into every unit's verdict, as for a single build.
    fn build_first(
        &self,
        implementation: &mut Implementation,
        steps: &[CommandTemplate],
        options: &RunOptions,
    ) {
        let like = Spawn {
            argv: Vec::new(),
            cwd: implementation.dir.clone(),
            env: implementation
                .env
                .iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            stdin: None,
            capture_limit: options.capture_limit,
            confine: options.confine.clone(),
        };
        let argvs: Vec<Vec<OsString>> = steps
            .iter()
            .map(|s| {
                s.render("127.0.0.1", 0)
                    .into_iter()
                    .map(OsString::from)
                    .collect()
            })
            .collect();
        implementation.build = match build_steps::run_in_order(&argvs, &like, options.build_timeout)
        {
            Ok(()) => None,
            Err(failed) => steps.get(failed.index).cloned(),
        };
    }

    /// The harness configuration that runs `implementation`, the submission's, alone.
    fn harness_config(&self, implementation: Implementation) -> Config {
        let config = self.config;
        Config {
            filters: Filters {
                only: vec![implementation.name.clone()],
                cases: config.cases.clone(),
                grading: true,
                ..Filters::default()
            },
            extra: vec![implementation],
            pythons: config.python.iter().cloned().collect(),
            // A failure is rerun in the submission's own folder, on its case alone: a
            // command its author can run (no grader paths in it).
            reproduce_check: Some(check_command(&config.reference)),
            reference: config.reference.clone(),
            reference_built: self.reference_built.clone(),
            ..Config::default()
        }
    }
}

/// The command a student types to rerun their check: `shout check .`, with the
/// reference when it is not the default.
fn check_command(reference: &ReferenceChoice) -> Vec<String> {
    let mut words = vec!["check".to_string(), ".".to_string()];
    if let Some(value) = reference.flag_value() {
        words.extend(["--reference".to_string(), value]);
    }
    words
}
