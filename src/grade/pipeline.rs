//! Grading a folder of submissions: detect each one's roles, copy it to a private work
//! folder, build and run it (confined) against the reference and shout's own roles, and
//! hand the results to the gradebook.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::detect::{self, Language, Submission};
use super::gradebook::Graded;
use super::rubric::{ClientOutputRule, Rubric};
use crate::harness::{self, Config};
use crate::plan::Filters;
use crate::registry::{ClientOutput, CommandTemplate, Implementation, Origin, RoleKey};
use crate::run::execute::{ReferenceCache, RunOptions};
use crate::run::sandbox::{self, Limits, Sandbox};

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

/// The host names student clients use for "the server": the textbook's placeholders.
const PLACEHOLDER_HOSTS: [&str; 2] = ["hostname", "servername"];

/// Grades every submission; returns one grade per folder, in the order given.
pub fn grade(
    config: &GradeConfig,
    on_event: &(dyn Fn(GradeEvent) + Sync),
) -> Result<Vec<Graded>, GradeError> {
    // A wrong --python or --case is the grader's mistake: say so before grading anyone.
    harness::prepare(&Config {
        pythons: config.python.iter().cloned().collect(),
        filters: Filters {
            cases: config.cases.clone(),
            grading: true,
            ..Filters::default()
        },
        ..Config::default()
    })?;
    let support = Sandbox::support();
    let isolated = support.network_namespace.is_available();
    let missing = support.unavailable();
    let how = if missing.is_empty() {
        "each server and client probe runs in a network namespace of its own; student \
         programs run as an unprivileged user with resource limits, a pids cgroup and a \
         private /etc/hosts"
            .to_string()
    } else {
        let list: Vec<String> = missing
            .iter()
            .map(|(name, why)| format!("{name}: {why}"))
            .collect();
        format!(
            "confinement is partial here ({}){}",
            list.join("; "),
            if isolated {
                ""
            } else {
                "; submissions run one at a time on their fixed ports"
            }
        )
    };
    on_event(GradeEvent::Isolation(&how));
    let scratch = tempfile::Builder::new()
        .prefix("shout-grade-")
        .tempdir()
        .map_err(|e| GradeError::Environment(format!("cannot create a scratch folder: {e}")))?;
    crate::run::process::register_scratch(scratch.path());
    {
        // The unprivileged user must be able to enter it to reach its work folders.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o711))
            .map_err(|e| GradeError::Environment(format!("cannot open the scratch folder: {e}")))?;
    }
    let hosts: Vec<(String, IpAddr)> = PLACEHOLDER_HOSTS
        .iter()
        .map(|h| (h.to_string(), IpAddr::V4(Ipv4Addr::LOCALHOST)))
        .collect();
    let sandbox: Arc<Sandbox> = Arc::new(
        Sandbox::new(config.limits, &hosts)
            .map_err(|e| GradeError::Environment(format!("cannot set up the sandbox: {e}")))?,
    );
    let submissions: Vec<Result<Submission, String>> = config
        .dirs
        .iter()
        .map(|d| detect::detect(d).map_err(|e| e.to_string()))
        .collect();
    let mut names: Vec<String> = Vec::new();
    for (dir, s) in config.dirs.iter().zip(&submissions) {
        let name = match s {
            Ok(s) => s.name().to_string(),
            Err(_) => fallback_name(dir),
        };
        if names.contains(&name) {
            return Err(GradeError::DuplicateName(name));
        }
        names.push(name);
    }
    // Without namespaces, programs on fixed ports cannot run side by side.
    let jobs = if isolated { config.jobs.max(1) } else { 1 };
    // Every submission is judged against the same reference: its own units run once.
    let reference = Arc::new(ReferenceCache::default());
    let queue = Mutex::new((0..submissions.len()).rev().collect::<Vec<_>>());
    let graded: Mutex<Vec<Option<Graded>>> = Mutex::new(vec![None; submissions.len()]);
    let done = Mutex::new(0usize);
    let first_error: Mutex<Option<GradeError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop());
                let Some(i) = next else { break };
                let one = grade_one(
                    config,
                    &names[i],
                    &submissions[i],
                    &sandbox,
                    scratch.path(),
                    isolated,
                    &reference,
                );
                match one {
                    Ok(g) => {
                        if let Ok(mut all) = graded.lock() {
                            all[i] = Some(g);
                        }
                    }
                    Err(e) => {
                        if let Ok(mut f) = first_error.lock() {
                            f.get_or_insert(e);
                        }
                    }
                }
                let n = {
                    let mut d = done.lock().unwrap_or_else(|p| p.into_inner());
                    *d += 1;
                    *d
                };
                on_event(GradeEvent::Done {
                    name: &names[i],
                    done: n,
                    total: submissions.len(),
                });
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok(graded
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect())
}

fn fallback_name(dir: &Path) -> String {
    dir.file_name()
        .and_then(|n| detect::submission_name(&n.to_string_lossy()))
        .unwrap_or_else(|| "submission".into())
}

/// Grades one submission: problems (missing roles, toolchains, a failed build) are part
/// of its grade; only a harness failure is an error.
fn grade_one(
    config: &GradeConfig,
    name: &str,
    submission: &Result<Submission, String>,
    sandbox: &Arc<Sandbox>,
    scratch: &Path,
    isolated: bool,
    reference: &Arc<ReferenceCache>,
) -> Result<Graded, GradeError> {
    let mut graded = Graded {
        name: name.to_string(),
        language: None,
        notes: Vec::new(),
        problems: BTreeMap::new(),
        results: None,
    };
    let submission = match submission {
        Ok(s) => s,
        Err(e) => {
            for key in RoleKey::ALL {
                graded.problems.insert(key, e.clone());
            }
            return Ok(graded);
        }
    };
    let work = sandbox
        .prepare_workdir(submission.dir(), scratch)
        .map_err(|e| {
            GradeError::Environment(format!(
                "cannot copy {} to a work folder: {e}",
                submission.dir().display()
            ))
        })?;
    let implementation = match submission {
        Submission::Manifest(m) => {
            graded.language = m.implementations.first().map(|i| i.language.clone());
            match m.implementations.as_slice() {
                [one] => {
                    let mut imp = one.clone();
                    imp.name = name.to_string();
                    imp.origin = Origin::Submission(m.dir.clone());
                    imp.dir = Some(
                        work.join(
                            one.dir
                                .as_deref()
                                .and_then(|d| d.strip_prefix(&m.dir).ok())
                                .unwrap_or(Path::new("")),
                        ),
                    );
                    imp
                }
                _ => {
                    let why = format!(
                        "{} declares {} implementations; a submission's manifest declares exactly one",
                        m.file.display(),
                        m.implementations.len()
                    );
                    for key in RoleKey::ALL {
                        graded.problems.insert(key, why.clone());
                    }
                    return Ok(graded);
                }
            }
        }
        Submission::Sources(s) => {
            graded.language = s.language.map(|l| l.to_string());
            graded.notes.extend(s.notes.iter().cloned());
            for role in s.roles.values() {
                graded.notes.extend(
                    role.notes
                        .iter()
                        .map(|n| format!("{}: {n}", role.file.display())),
                );
            }
            match implementation_of(s, name, &work, scratch, &config.rubric) {
                Ok(imp) => imp,
                Err(why) => {
                    for key in s.roles.keys() {
                        graded.problems.insert(*key, why.clone());
                    }
                    for key in RoleKey::ALL {
                        graded
                            .problems
                            .entry(key)
                            .or_insert_with(|| missing_role(key));
                    }
                    return Ok(graded);
                }
            }
        }
    };
    for key in RoleKey::ALL {
        if implementation.role(key).is_none() {
            graded.problems.insert(key, missing_role(key));
        }
    }
    if implementation.roles.is_empty() {
        return Ok(graded);
    }
    let harness_config = Config {
        extra: vec![implementation],
        pythons: config.python.iter().cloned().collect(),
        filters: Filters {
            only: vec![name.to_string()],
            cases: config.cases.clone(),
            grading: true,
            ..Filters::default()
        },
        // A failure is rerun by grading this one folder on its case alone.
        reproduce_check: Some(
            [
                "grade".to_string(),
                submission.dir().display().to_string(),
                "--out".to_string(),
                "shout-rerun".to_string(),
            ]
            .into_iter()
            .chain(
                config
                    .python
                    .iter()
                    .flat_map(|p| ["--python".to_string(), p.display().to_string()]),
            )
            .collect(),
        ),
        ..Config::default()
    };
    let prepared = harness::prepare(&harness_config)?;
    let options = RunOptions {
        timeout: config.timeout,
        // In namespaces each lane has its own network, so fixed ports never meet.
        jobs: if isolated { 2 } else { 1 },
        confine: Some(Arc::clone(sandbox) as Arc<dyn crate::run::process::Confine>),
        isolate: isolated.then_some(sandbox::enter_fresh_netns as fn() -> std::io::Result<()>),
        reference_cache: Some(Arc::clone(reference)),
        // Where the reference gives no answer the verdict is `info` whatever the student's
        // program does, and no point depends on it.
        skip_undefined: true,
        ..RunOptions::default()
    };
    let results = prepared.run(&options, &|_| {});
    graded.results = Some(results);
    Ok(graded)
}

/// The sentence for a role the submission does not have.
fn missing_role(key: RoleKey) -> String {
    let file = match (key.transport, key.role) {
        (crate::proto::Transport::Udp, crate::registry::Role::Server) => "UDPServer.py",
        (crate::proto::Transport::Udp, crate::registry::Role::Client) => "UDPClient.py",
        (crate::proto::Transport::Tcp, crate::registry::Role::Server) => "TCPServer.py",
        (crate::proto::Transport::Tcp, crate::registry::Role::Client) => "TCPClient.py",
    };
    format!(
        "no {} {} found (a file such as {file}, in any supported language)",
        key.transport.to_string().to_uppercase(),
        key.role.as_str()
    )
}

/// The implementation a detected submission becomes, or why it cannot run here.
fn implementation_of(
    s: &detect::Sources,
    name: &str,
    work: &Path,
    scratch: &Path,
    rubric: &Rubric,
) -> Result<Implementation, String> {
    let mut roles = BTreeMap::new();
    let mut fixed_ports = BTreeMap::new();
    let mut builds: Vec<CommandTemplate> = Vec::new();
    for (key, role) in &s.roles {
        let run = resolve(&role.run, role.language, scratch)?;
        if let Some(b) = &role.build {
            let b = resolve(b, role.language, scratch)?;
            if !builds.contains(&b) {
                builds.push(b);
            }
        }
        roles.insert(*key, run);
        if let Some(p) = role.port {
            fixed_ports.insert(*key, p);
        }
    }
    let probe = Submission::Sources(detect::Sources {
        roles: s
            .roles
            .iter()
            .map(|(k, r)| {
                let mut r = r.clone();
                r.run = roles.get(k).cloned().unwrap_or(r.run);
                (*k, r)
            })
            .collect(),
        ..s.clone()
    });
    if let Some(missing) = detect::missing_toolchain(&probe) {
        return Err(missing.to_string());
    }
    let build = match builds.len() {
        0 => None,
        1 => builds.pop(),
        _ => {
            // Several builds (one per source file) run in order, stopping at the first
            // failure.
            let script = builds
                .iter()
                .map(CommandTemplate::display)
                .collect::<Vec<_>>()
                .join(" && ");
            Some(CommandTemplate {
                words: vec!["sh".into(), "-c".into(), script],
            })
        }
    };
    Ok(Implementation {
        name: name.to_string(),
        language: s
            .language
            .map(|l| l.to_string())
            .unwrap_or_else(|| "unknown".into()),
        dir: Some(work.to_path_buf()),
        build,
        env: [
            ("LC_ALL".to_string(), "C.UTF-8".to_string()),
            ("PYTHONIOENCODING".to_string(), "utf-8".to_string()),
            ("PYTHONDONTWRITEBYTECODE".to_string(), "1".to_string()),
            ("HOME".to_string(), work.display().to_string()),
        ]
        .into_iter()
        .collect(),
        roles,
        client_output: match rubric.client_output {
            ClientOutputRule::Exact => ClientOutput::Reference,
            ClientOutputRule::Contains => ClientOutput::Contains,
        },
        fixed_ports,
        origin: Origin::Submission(s.dir.clone()),
    })
}

/// Replaces an interpreter name by one that runs here, for the unprivileged user too:
/// `python2` is often only a pyenv shim, and pyenv's interpreters may sit under a home
/// folder others cannot enter (then the interpreter is copied to the scratch folder).
fn resolve(
    t: &CommandTemplate,
    language: Language,
    scratch: &Path,
) -> Result<CommandTemplate, String> {
    let mut t = t.clone();
    if let Some(first) = t.words.first_mut() {
        if first == "python2" || first == "python3" {
            let found = interpreter(first, scratch).ok_or_else(|| {
                format!(
                    "{language} submission; no working `{first}` is installed: {}",
                    language.install_hint()
                )
            })?;
            *first = found.display().to_string();
            // A copied interpreter still looks for its shared library where it was
            // built (pyenv's builds link `libpythonX.Y.so` by an absolute run path).
            if let Some(lib) = copied_lib_dir(&found, scratch) {
                t.words.splice(
                    0..0,
                    [
                        "env".to_string(),
                        format!("LD_LIBRARY_PATH={}", lib.display()),
                    ],
                );
            }
        }
    }
    Ok(t)
}

/// The `lib` folder of an interpreter that [`interpreter`] copied into `scratch`.
fn copied_lib_dir(interpreter: &Path, scratch: &Path) -> Option<PathBuf> {
    let prefix = interpreter.parent()?.parent()?;
    (prefix.parent() == Some(scratch)).then(|| prefix.join("lib"))
}

/// Whether every folder above `path` lets others in, and `path` lets them run it.
fn open_to_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode()).ok();
    mode(path).is_some_and(|m| m & 0o001 != 0)
        && path
            .ancestors()
            .skip(1)
            .all(|a| mode(a).is_some_and(|m| m & 0o001 != 0))
}

fn runs(p: &Path) -> bool {
    std::process::Command::new(p)
        .args(["-c", "pass"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A working interpreter named `name` (`python2`, `python3`) that the sandbox user can
/// run: a system one, else one of pyenv's, copied to `scratch` when it is out of reach.
fn interpreter(name: &str, scratch: &Path) -> Option<PathBuf> {
    static COPIES: Mutex<BTreeMap<PathBuf, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut system: Vec<PathBuf> = ["/usr/local/bin", "/usr/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .collect();
    system.extend(which::which(name));
    if let Some(p) = system.iter().find(|p| open_to_others(p) && runs(p)) {
        return Some(p.clone());
    }
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")))?;
    let major = name.trim_start_matches("python");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(root.join("versions"))
        .ok()?
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{major}."))
        })
        .map(|e| e.path())
        .collect();
    versions.sort();
    let prefix = versions
        .into_iter()
        .rev()
        .find(|v| runs(&v.join("bin").join(name)))?;
    let bin = prefix.join("bin").join(name);
    if open_to_others(&bin) {
        return Some(bin);
    }
    let mut copies = COPIES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(copy) = copies.get(&prefix) {
        return Some(copy.join("bin").join(name));
    }
    let copy = scratch.join(format!(
        "interpreter-{}",
        prefix.file_name()?.to_string_lossy()
    ));
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(&prefix)
        .arg(&copy)
        .status()
        .is_ok_and(|s| s.success())
        && std::process::Command::new("chmod")
            .args(["-R", "a+rX"])
            .arg(&copy)
            .status()
            .is_ok_and(|s| s.success());
    if !copied {
        return None;
    }
    copies.insert(prefix, copy.clone());
    Some(copy.join("bin").join(name))
}
