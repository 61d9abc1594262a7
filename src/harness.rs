//! The pipeline in one place: registry → corpus → plan → run → verdict → results.
//! Binaries and the `cargo test` matrix call this; it prints nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::corpus::{self, Case};
use crate::plan::{self, Filters, Partition, Unit};
use crate::registry::{self, Implementation, PythonInfo};
use crate::results::{corpus_fingerprint, CacheUse, PlanPrint, ReferenceRun, Results};
use crate::run::cache::CacheKey;
use crate::run::execute::{self, Axis, Event, ReferenceCache, RunOptions};
use crate::verdict;

/// A problem with the setup, not with an implementation: exit status 2.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A manifest is unusable.
    #[error(transparent)]
    Manifest(#[from] registry::ManifestError),
    /// The corpus is unusable.
    #[error(transparent)]
    Corpus(#[from] corpus::CorpusError),
    /// An interpreter is missing or unusable.
    #[error("{0}")]
    Python(String),
    /// Anything else in the environment.
    #[error("{0}")]
    Environment(String),
    /// The filters select nothing.
    #[error("no unit matches the filters{0}")]
    Empty(String),
}

/// Everything a run is asked to do.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Manifests to load.
    pub manifests: Vec<PathBuf>,
    /// Extra implementations (for `shout check`).
    pub extra: Vec<Implementation>,
    /// Interpreters for the reference; empty means `python3`.
    pub pythons: Vec<PathBuf>,
    /// What to keep.
    pub filters: Filters,
    /// This shard only.
    pub partition: Option<Partition>,
    /// The arguments that reproduce this configuration (`--manifest …`, `--python …`).
    pub reproduce_args: Vec<String>,
    /// For `shout check`: the command that reruns it, to which `--case NAME` is added.
    pub reproduce_check: Option<Vec<String>>,
    /// A difference of Unicode version alone fails (`--strict-unicode`).
    pub strict_unicode: bool,
    /// The reference (`--reference`); its name must be the process's
    /// [`registry::reference`].
    pub reference: registry::ReferenceChoice,
    /// A `non-strict` unit agrees rather than differs (`--non-strict-ok`).
    pub non_strict_ok: bool,
    /// The reference already built (once for a whole class, by `shout grade`); `None`
    /// builds it in this run's scratch folder.
    pub reference_built: Option<registry::BuiltReference>,
}

/// A planned run.
#[derive(Debug)]
pub struct Prepared {
    /// One per interpreter.
    pub axes: Vec<Axis>,
    /// The units to run, sorted: those reported and those they are judged by.
    pub units: Vec<Unit>,
    /// The corpus fingerprint.
    pub corpus: String,
    /// What judging needs.
    pub context: verdict::Context,
    partition: Option<Partition>,
    /// The units every shard of this run covers together.
    plan_print: PlanPrint,
    /// How the reference runs, per axis, for the results.
    reference: Vec<ReferenceRun>,
    /// The ids to report (the others only support their verdicts).
    pub reported: BTreeSet<String>,
    reproduce_args: Vec<String>,
    reproduce_check: Option<Vec<String>>,
    non_strict_ok: bool,
    /// What the chosen reference's programs depend on (none for the built-in scripts).
    reference_fingerprint: Option<String>,
    _scratch: tempfile::TempDir,
}

/// Loads everything and plans the units.
pub fn prepare(config: &Config) -> Result<Prepared, HarnessError> {
    let infos = resolve_pythons(&config.pythons)?;
    let scratch = tempfile::Builder::new()
        .prefix("shout-")
        .tempdir()
        .map_err(|e| HarnessError::Environment(format!("cannot create a scratch folder: {e}")))?;
    crate::run::process::register_scratch(scratch.path());
    registry::choose_reference(config.reference.name()).map_err(HarnessError::Environment)?;
    let built = match &config.reference_built {
        Some(built) => Some(built.clone()),
        None => config
            .reference
            .build(scratch.path())
            .map_err(HarnessError::Environment)?,
    };
    let mut declared = load_declared(config)?;
    declared.extend(built.as_ref().map(|b| b.implementation.clone()));
    let (axes, mut runtimes) = build_axes(&infos, scratch.path(), &declared)?;
    // A reference on another runtime (Java) follows that runtime's Unicode version.
    if let Some(runtime) = built.as_ref().and_then(|b| b.runtime.as_ref()) {
        for seen in runtimes.values_mut() {
            *seen = (runtime.label.clone(), runtime.unicode);
        }
    }
    let reference = infos
        .iter()
        .zip(&axes)
        .map(|(info, axis)| ReferenceRun {
            axis: axis.label.clone(),
            interpreter: info.executable.display().to_string(),
            version: info.version.clone(),
            unicode: info.unicode,
            flags: registry::REFERENCE_FLAGS.map(String::from).to_vec(),
        })
        .collect();
    let cases: Vec<Arc<Case>> = corpus::load()?.into_iter().map(Arc::new).collect();
    check_filters(&config.filters, &cases, &axes[0])?;
    let chosen = choose_units(config, &axes, &cases)?;
    let client_output = axes[0]
        .implementations
        .iter()
        .map(|i| (i.name.clone(), i.client_output.clone()))
        .collect();
    let unicode = axes[0]
        .implementations
        .iter()
        .map(|i| (i.name.clone(), i.unicode))
        .collect();
    Ok(Prepared {
        axes,
        units: chosen.units,
        corpus: corpus_fingerprint(&cases),
        context: verdict::Context {
            reference_runtime: runtimes,
            client_output,
            unicode,
            strict_unicode: config.strict_unicode,
        },
        partition: config.partition,
        plan_print: chosen.plan_print,
        reference,
        reported: chosen.reported,
        reproduce_args: config.reproduce_args.clone(),
        reproduce_check: config.reproduce_check.clone(),
        reference_fingerprint: built.map(|b| b.fingerprint),
        non_strict_ok: config.non_strict_ok,
        _scratch: scratch,
    })
}

/// The reference interpreters (`python3` when none is given), each probed once; the same
/// version twice is an error.
fn resolve_pythons(pythons: &[PathBuf]) -> Result<Vec<PythonInfo>, HarnessError> {
    let default = [PathBuf::from("python3")];
    let pythons = if pythons.is_empty() {
        &default[..]
    } else {
        pythons
    };
    let mut infos: Vec<PythonInfo> = Vec::new();
    for p in pythons {
        let resolved = if p.components().count() == 1 {
            which::which(p).map_err(|_| {
                HarnessError::Python(format!(
                    "`{}` is not on PATH: install CPython 3 (apt-get install python3) or pass --python PATH",
                    p.display()
                ))
            })?
        } else {
            p.clone()
        };
        let info = registry::probe_python(&resolved).map_err(HarnessError::Python)?;
        if let Some(same) = infos.iter().find(|i| i.version == info.version) {
            return Err(HarnessError::Python(format!(
                "--python {} and --python {} are both Python {}: give each version once",
                same.path.display(),
                info.path.display(),
                info.version
            )));
        }
        infos.push(info);
    }
    Ok(infos)
}

/// The implementations the manifests declare, then the extra ones (`shout check`'s);
/// names are unique and none takes a built-in's name.
fn load_declared(config: &Config) -> Result<Vec<Implementation>, HarnessError> {
    let reserved = [
        registry::PYTHON.to_string(),
        registry::SHOUT.to_string(),
        plan::PROBE.to_string(),
        config.reference.name().to_string(),
    ];
    let mut declared: Vec<Implementation> = Vec::new();
    for m in &config.manifests {
        let taken: Vec<String> = reserved
            .iter()
            .cloned()
            .chain(declared.iter().map(|i| i.name.clone()))
            .collect();
        declared.extend(registry::load_manifest(m, &taken)?);
    }
    declared.extend(config.extra.iter().cloned());
    Ok(declared)
}

/// Per axis label: the reference interpreter's `major.minor` and Unicode version.
type PythonContext = BTreeMap<Option<String>, (String, crate::proto::case::UnicodeVersion)>;

/// One axis per interpreter: the built-ins under it (the reference scripts written to
/// `scratch`) when they are the reference, then every declared implementation (the chosen
/// reference among them otherwise).
fn build_axes(
    infos: &[PythonInfo],
    scratch: &std::path::Path,
    declared: &[Implementation],
) -> Result<(Vec<Axis>, PythonContext), HarnessError> {
    let exe = std::env::var_os("SHOUT_BIN")
        .map(PathBuf::from)
        .or_else(|| std::env::current_exe().ok())
        .ok_or_else(|| HarnessError::Environment("cannot find the shout executable".into()))?;
    let several = infos.len() > 1;
    let mut axes = Vec::new();
    let mut runtimes = BTreeMap::new();
    for info in infos {
        let label = several.then(|| format!("py{}", info.version));
        let reference_dir = scratch.join(format!("reference-{}", info.version));
        let mut implementations = registry::builtins(info, &exe, &reference_dir).map_err(|e| {
            HarnessError::Environment(format!("cannot write the reference scripts: {e}"))
        })?;
        // The Python scripts and shout's own roles, which answer as they do, take part
        // only when the scripts are the reference.
        implementations.retain(|_| registry::reference() == registry::PYTHON);
        implementations.extend(declared.iter().cloned());
        runtimes.insert(
            label.clone(),
            (format!("Python {}", info.version), info.unicode),
        );
        axes.push(Axis {
            label,
            implementations,
        });
    }
    Ok((axes, runtimes))
}

/// `--case` patterns must match a case and `--only` names an implementation.
fn check_filters(filters: &Filters, cases: &[Arc<Case>], axis: &Axis) -> Result<(), HarnessError> {
    for pattern in &filters.cases {
        if !cases.iter().any(|c| plan::glob(pattern, &c.name)) {
            let names: Vec<&str> = cases
                .iter()
                .filter(|c| !c.is_version_step())
                .map(|c| c.name.as_str())
                .collect();
            return Err(HarnessError::Empty(format!(
                ": --case {pattern} matches no case (the cases: {}, and the generated unicode-X-Y-to-… ones)",
                names.join(", ")
            )));
        }
    }
    for name in &filters.only {
        if !axis.implementations.iter().any(|i| &i.name == name) {
            let known: Vec<&str> = axis
                .implementations
                .iter()
                .map(|i| i.name.as_str())
                .collect();
            return Err(HarnessError::Empty(format!(
                ": --only {name} names no implementation (known: {})",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// The units a run covers.
struct Chosen {
    /// To run, sorted: those reported and those they are judged by.
    units: Vec<Unit>,
    /// The ids to report.
    reported: BTreeSet<String>,
    /// The units every shard covers together.
    plan_print: PlanPrint,
}

/// Plans every axis, then keeps what `--only`, `--id` and `--partition` choose to
/// report, and the units those are judged by (so that every verdict is the one a full
/// run gives).
fn choose_units(
    config: &Config,
    axes: &[Axis],
    cases: &[Arc<Case>],
) -> Result<Chosen, HarnessError> {
    let mut units: Vec<Unit> = Vec::new();
    for axis in axes {
        units.extend(plan::build(
            axis.label.as_deref(),
            &axis.implementations,
            cases,
            &config.filters,
        ));
    }
    units.sort_by(|a, b| a.id.cmp(&b.id));
    let chosen = |u: &Unit| {
        config.filters.sides_selected(&u.client, &u.server)
            && (!config.filters.grading || plan::graded(u))
            && (config.filters.ids.is_empty() || config.filters.ids.contains(&u.id))
    };
    let plan_print = PlanPrint::of(units.iter().filter(|u| chosen(u)).map(|u| u.id.as_str()));
    let wanted: Vec<bool> = units
        .iter()
        .enumerate()
        .map(|(i, u)| chosen(u) && config.partition.map_or(true, |p| p.contains(i, &u.id)))
        .collect();
    if let Some(id) = config
        .filters
        .ids
        .iter()
        .find(|id| !units.iter().any(|u| &u.id == *id))
    {
        return Err(HarnessError::Empty(format!(
            ": --id {id} is not in the plan (see `shout matrix --list`)"
        )));
    }
    let run = plan::with_support(&units, &wanted);
    let reported: BTreeSet<String> = units
        .iter()
        .zip(&wanted)
        .filter(|(_, w)| **w)
        .map(|(u, _)| u.id.clone())
        .collect();
    let units: Vec<Unit> = units
        .into_iter()
        .zip(run)
        .filter(|(_, r)| *r)
        .map(|(u, _)| u)
        .collect();
    if units.is_empty() {
        return Err(HarnessError::Empty(String::from(
            ": see `shout matrix --list`",
        )));
    }
    Ok(Chosen {
        units,
        reported,
        plan_print,
    })
}

/// `command` (a unit's reproduce line) with `--expectations FILE` added, unless it names
/// an expectations file already: the results of shards merged under `file` are judged by
/// it, so their reproduce lines must be too.
pub fn reproduce_with_expectations(command: &str, file: &std::path::Path) -> String {
    let Some(mut words) = shlex::split(command) else {
        return command.to_string();
    };
    if words.iter().any(|w| w == "--expectations") {
        return command.to_string();
    }
    words.extend(["--expectations".to_string(), file.display().to_string()]);
    shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "))
}

impl Prepared {
    /// The command that reruns just `unit`.
    pub fn reproduce(&self, unit: &Unit) -> String {
        let mut words = vec!["shout".to_string()];
        if let Some(check) = &self.reproduce_check {
            words.extend(check.iter().cloned());
            words.extend(["--case".to_string(), unit.case.name.clone()]);
        } else {
            words.push("matrix".to_string());
            words.extend(self.reproduce_args.iter().cloned());
            words.push("--id".into());
            words.push(unit.id.clone());
        }
        shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "))
    }

    /// Everything the reference's own observations depend on: shout itself (its version
    /// and this build of it), which reference was chosen and its program bytes (and JDK), each interpreter (its real
    /// path, version, Unicode version, flags, and the file's size and time), the
    /// environment it reads (`PYTHON*`, `LANG`, `LC_*`), the corpus, and the run's time
    /// limits. The reference cache is only read back under this key.
    pub fn reference_key(&self, options: &RunOptions) -> CacheKey {
        let exe = std::env::current_exe().ok();
        let mut key = CacheKey::default()
            .with(
                "shout",
                format!(
                    "{} {}",
                    env!("CARGO_PKG_VERSION"),
                    file_identity(exe.as_deref())
                ),
            )
            .with(
                "reference",
                format!(
                    "{} {}",
                    registry::reference(),
                    self.reference_fingerprint
                        .clone()
                        .unwrap_or_else(registry::reference_fingerprint)
                ),
            )
            .with("corpus", self.corpus.clone())
            .with(
                "limits",
                format!(
                    "timeout {:?}, undefined {:?}, start {:?}",
                    options.timeout, options.undefined_timeout, options.start_timeout
                ),
            );
        // What the reference's interpreter reads from the environment.
        for (name, value) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("PYTHON") || name.starts_with("LC_") || name == "LANG" {
                key = key.with(&format!("env {name}"), value.to_string_lossy());
            }
        }
        for r in &self.reference {
            let path = std::path::Path::new(&r.interpreter);
            let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            key = key.with(
                &format!("interpreter {}", r.axis.as_deref().unwrap_or("")),
                format!(
                    "{} {} unicode {} flags {} {}",
                    real.display(),
                    r.version,
                    r.unicode,
                    r.flags.join(" "),
                    file_identity(Some(&real))
                ),
            );
        }
        key
    }

    /// Runs, judges and assembles the results.
    pub fn run(&self, options: &RunOptions, on_event: &(dyn Fn(Event) + Sync)) -> Results {
        let started = Instant::now();
        let key = self.reference_key(options);
        let executed = execute::execute(&self.axes, self.units.clone(), options, &key, on_event);
        let mut judged = verdict::judge(&executed, &self.context);
        judged.retain(|j| self.reported.contains(&j.executed.unit.id));
        let mut results = Results::assemble(
            &judged,
            self.corpus.clone(),
            self.partition,
            started.elapsed().as_secs_f64(),
            &|u| self.reproduce(u),
        );
        results.plan = Some(self.plan_print.clone());
        results.reference = self.reference.clone();
        results.reference_implementation = registry::reference().to_string();
        results.non_strict_ok = self.non_strict_ok;
        results.cache = options
            .reference_cache
            .as_ref()
            .map(|c| cache_use(c, &executed));
        results
    }
}

/// How many units `executed` took from `cache`, and how many of the reference's own ran.
fn cache_use(cache: &ReferenceCache, executed: &[execute::Executed]) -> CacheUse {
    CacheUse {
        dir: cache.dir().map(|d| d.display().to_string()),
        reused: executed.iter().filter(|e| e.cached).count(),
        ran: executed
            .iter()
            .filter(|e| !e.cached && execute::is_reference_unit(&e.unit))
            .count(),
    }
}

/// A file's size and modification time: changes when it is rebuilt or upgraded.
fn file_identity(path: Option<&std::path::Path>) -> String {
    let meta = path.and_then(|p| std::fs::metadata(p).ok());
    let modified = meta
        .as_ref()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("size {} modified {modified}", meta.map_or(0, |m| m.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Category;
    use crate::plan::UnitKind;
    use crate::registry::{ClientOutput, CommandTemplate, Origin, RoleKey};

    fn student() -> Implementation {
        let words = |w: &str| CommandTemplate {
            words: w.split(' ').map(str::to_string).collect(),
        };
        Implementation {
            name: "alice".into(),
            language: "python".into(),
            dir: None,
            build: None,
            env: BTreeMap::new(),
            roles: RoleKey::ALL
                .into_iter()
                .map(|k| (k, words("python3 x.py {port}")))
                .collect(),
            client_output: ClientOutput::Reference,
            fixed_ports: BTreeMap::new(),
            unicode: crate::registry::UnicodePolicy::Reference,
            origin: Origin::Builtin,
        }
    }

    fn planned(grading: bool) -> Prepared {
        prepare(&Config {
            extra: vec![student()],
            filters: Filters {
                only: vec!["alice".into()],
                grading,
                ..Filters::default()
            },
            ..Config::default()
        })
        .expect("python3 is needed to plan")
    }

    #[test]
    fn merged_reproduce_lines_name_the_expectations_once() {
        let file = std::path::Path::new("my known.toml");
        let line = "shout matrix --python /py/3.8 --id udp::rust-client::rust-server::hello";
        let with = reproduce_with_expectations(line, file);
        assert_eq!(with, format!("{line} --expectations 'my known.toml'"));
        assert_eq!(reproduce_with_expectations(&with, file), with);
    }

    #[test]
    fn grading_plans_probes_everywhere_and_pairs_real_programs_only_on_core_cases() {
        let full = planned(false);
        let lean = planned(true);
        assert!(
            lean.units.len() < full.units.len() / 2,
            "{}",
            lean.units.len()
        );
        for u in &lean.units {
            assert!(
                u.client.name() != "rust" && u.server.name() != "rust",
                "{}",
                u.id
            );
            assert!(!u.case.is_version_step(), "{}", u.id);
            let student = u.client.name() == "alice" || u.server.name() == "alice";
            if student && u.kind == UnitKind::Pairing {
                assert_eq!(u.case.category, Category::Core, "{}", u.id);
            }
        }
        // Every case a student's server can be probed with is still probed; a client,
        // with every case but those alike to another for a client (`client-like`).
        let probes = |p: &Prepared, kind: UnitKind| {
            p.units
                .iter()
                .filter(|u| u.kind == kind && !u.case.is_version_step())
                .filter(|u| u.client.name() == "alice" || u.server.name() == "alice")
                .filter(|u| kind == UnitKind::ServerProbe || u.case.grading.client_like.is_none())
                .count()
        };
        for kind in [UnitKind::ServerProbe, UnitKind::ClientProbe] {
            assert_eq!(probes(&lean, kind), probes(&full, kind), "{kind:?}");
            assert!(probes(&lean, kind) > 20, "{kind:?}");
        }
        let alike = |p: &Prepared| {
            p.units
                .iter()
                .filter(|u| u.kind == UnitKind::ClientProbe && u.client.name() == "alice")
                .filter(|u| u.case.grading.client_like.is_some())
                .count()
        };
        assert_eq!(alike(&lean), 0);
        assert!(alike(&full) > 0);
        // What the student's units are judged by is planned too.
        for id in [
            "tcp::python-client::python-server::hello",
            "tcp::python-client::probe-server::korean",
            "tcp::probe-client::python-server::korean",
        ] {
            assert!(lean.units.iter().any(|u| u.id == id), "{id} is not planned");
        }
    }

    #[test]
    fn the_reference_key_changes_with_the_corpus_the_limits_and_the_interpreter() {
        let mut p = planned(false);
        let options = RunOptions::default();
        let key = p.reference_key(&options);
        assert_eq!(key, p.reference_key(&options));
        let corpus = p.corpus.clone();
        p.corpus.push('x');
        assert_ne!(p.reference_key(&options), key);
        p.corpus = corpus;
        let longer = RunOptions {
            timeout: options.timeout * 2,
            ..RunOptions::default()
        };
        assert_ne!(p.reference_key(&longer), key);
        p.reference[0].version.push('9');
        assert_ne!(p.reference_key(&options), key);
        // Another reference's programs (java-textbook's sources and JDK, a manifest's).
        let python_key = p.reference_key(&options);
        p.reference_fingerprint = Some("java-textbook sources and JDK".into());
        assert_ne!(p.reference_key(&options), python_key);
    }
}
