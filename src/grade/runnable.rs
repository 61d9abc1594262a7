//! What a detected submission runs as: its implementation for the harness (commands,
//! builds, environment) with interpreters and toolchains resolved to ones the sandbox
//! can run, or why it cannot run on this machine; and what a manifest submission runs as.
//!
//! It finds interpreters and toolchains (through [`crate::run`]) but starts no student
//! program.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::detect::{self, Language, MissingToolchain, Submission};
use super::gradebook::Graded;
use super::rubric::{ClientOutputRule, Rubric};
use crate::registry::{ClientOutput, CommandTemplate, Implementation, Origin, RoleKey};
use crate::run::interpreter;
use crate::run::rust_toolchain::{self, RustFound, RustToolchain};
use crate::run::sandbox;

/// Why a detected submission cannot run on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Unrunnable {
    /// Its commands name programs that are not installed.
    MissingToolchain(MissingToolchain),
    /// No working interpreter `program` (`python2`, `python3`) can be found.
    NoInterpreter { language: Language, program: String },
    /// The toolchain is installed where the user submissions run as cannot reach it
    /// (rustup under `/root`), and could not be shown to it: `why` says so and how to fix.
    Unreachable { language: Language, why: String },
}

impl fmt::Display for Unrunnable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unrunnable::MissingToolchain(missing) => write!(f, "{missing}"),
            Unrunnable::NoInterpreter { language, program } => write!(
                f,
                "{language} submission; no working `{program}` is installed: {}",
                language.install_hint()
            ),
            Unrunnable::Unreachable { language, why } => write!(f, "{language} submission; {why}"),
        }
    }
}

/// A detected submission ready for the harness.
pub(super) struct Runnable {
    pub(super) implementation: Implementation,
    /// Its builds when there are several, to run in order before the harness runs it
    /// (the harness runs one build command per implementation); otherwise empty.
    pub(super) build_steps: Vec<CommandTemplate>,
    /// Toolchain folders its programs must see read-only (a Rust toolchain).
    pub(super) read_only: Vec<PathBuf>,
}

/// What a submission with a manifest runs as: its one implementation, in the work
/// folder. `None` (with the problem in `graded`) when it declares more or fewer.
pub(super) fn manifest_runnable(
    m: &detect::ManifestSubmission,
    name: &str,
    work: &Path,
    graded: &mut Graded,
) -> Option<Runnable> {
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
            Some(Runnable {
                implementation: imp,
                build_steps: Vec::new(),
                read_only: Vec::new(),
            })
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
            None
        }
    }
}

/// The sentence for a role the submission does not have.
pub(super) fn missing_role(key: RoleKey) -> String {
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

/// A detected submission's commands, with interpreters resolved to ones that run here.
struct Commands {
    roles: BTreeMap<RoleKey, CommandTemplate>,
    fixed_ports: BTreeMap<RoleKey, u16>,
    /// Each distinct build once, in role order.
    builds: Vec<CommandTemplate>,
    /// The Rust toolchain the commands run, when they run one.
    rust: Option<RustToolchain>,
}

/// The implementation a detected submission becomes, or why it cannot run here.
pub(super) fn implementation_of(
    s: &detect::Sources,
    name: &str,
    work: &Path,
    scratch: &Path,
    other_user: bool,
    rubric: &Rubric,
) -> Result<Runnable, Unrunnable> {
    let Commands {
        roles,
        fixed_ports,
        mut builds,
        rust,
    } = commands_of(s, scratch, other_user)?;
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
        return Err(Unrunnable::MissingToolchain(missing));
    }
    // Several builds (one per source file) run in order, stopping at the first failure:
    // see `Class::build_first`.
    let (build, build_steps) = match builds.len() {
        0 | 1 => (builds.pop(), Vec::new()),
        _ => (None, builds),
    };
    let language = s
        .language
        .map(|l| l.to_string())
        .unwrap_or_else(|| "unknown".into());
    let mut env: BTreeMap<String, String> = [
        ("LC_ALL".to_string(), "C.UTF-8".to_string()),
        ("PYTHONIOENCODING".to_string(), "utf-8".to_string()),
        ("PYTHONDONTWRITEBYTECODE".to_string(), "1".to_string()),
        ("HOME".to_string(), work.display().to_string()),
    ]
    .into_iter()
    .collect();
    if let Some(rust) = &rust {
        // The toolchain's own programs, never rustup's proxies (which would look for it
        // in the home folder); Cargo's files go to `$HOME/.cargo`, the work folder.
        let path = format!("{}:{}", rust.bin.display(), sandbox::ENV_ALLOWLIST[0].1);
        env.insert("PATH".into(), path);
        env.insert("RUSTC".into(), rust.bin.join("rustc").display().to_string());
    }
    let implementation = Implementation {
        name: name.to_string(),
        language: language.clone(),
        dir: Some(work.to_path_buf()),
        build,
        env: env.into_iter().collect(),
        roles,
        client_output: match rubric.client_output {
            ClientOutputRule::Exact => ClientOutput::Reference,
            ClientOutputRule::Contains => ClientOutput::Contains,
        },
        fixed_ports,
        // Version-step cases are not graded; a submission in Python follows the reference.
        unicode: crate::registry::UnicodePolicy::default_for(&language),
        origin: Origin::Submission(s.dir.clone()),
    };
    Ok(Runnable {
        implementation,
        build_steps,
        read_only: rust.map(|r| r.root).into_iter().collect(),
    })
}

/// Each role's run command and the builds, interpreters resolved.
fn commands_of(
    s: &detect::Sources,
    scratch: &Path,
    other_user: bool,
) -> Result<Commands, Unrunnable> {
    let mut commands = Commands {
        roles: BTreeMap::new(),
        fixed_ports: BTreeMap::new(),
        builds: Vec::new(),
        rust: None,
    };
    let mut resolve = |t: &CommandTemplate, language: Language| {
        let (t, rust) = resolve(t, language, scratch, other_user)?;
        commands.rust = commands.rust.take().or(rust);
        Ok::<_, Unrunnable>(t)
    };
    for (key, role) in &s.roles {
        let run = resolve(&role.run, role.language)?;
        if let Some(b) = &role.build {
            let b = resolve(b, role.language)?;
            if !commands.builds.contains(&b) {
                commands.builds.push(b);
            }
        }
        commands.roles.insert(*key, run);
        if let Some(p) = role.port {
            commands.fixed_ports.insert(*key, p);
        }
    }
    Ok(commands)
}

/// Replaces an interpreter name by one that runs here, for the unprivileged user too
/// (see [`interpreter::find`]), and `cargo` or `rustc` by the toolchain's own (see
/// [`rust_toolchain::find`]), which it returns too.
fn resolve(
    t: &CommandTemplate,
    language: Language,
    scratch: &Path,
    other_user: bool,
) -> Result<(CommandTemplate, Option<RustToolchain>), Unrunnable> {
    let mut t = t.clone();
    let mut rust = None;
    if let Some(first) = t.words.first_mut() {
        if first == "cargo" || first == "rustc" {
            match rust_toolchain::find(scratch, other_user) {
                // The missing toolchain is found and said as for any other language.
                RustFound::NotInstalled => {}
                RustFound::Usable(toolchain) => {
                    *first = toolchain.bin.join(&*first).display().to_string();
                    rust = Some(toolchain);
                }
                RustFound::Unreachable(why) => {
                    return Err(Unrunnable::Unreachable { language, why })
                }
            }
        } else if first == "python2" || first == "python3" {
            let found =
                interpreter::find(first, scratch).ok_or_else(|| Unrunnable::NoInterpreter {
                    language,
                    program: first.clone(),
                })?;
            *first = found.path.display().to_string();
            // A copied interpreter still looks for its shared library where it was
            // built (pyenv's builds link `libpythonX.Y.so` by an absolute run path).
            if let Some(lib) = found.lib_dir {
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
    Ok((t, rust))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(words: &[&str]) -> CommandTemplate {
        CommandTemplate {
            words: words.iter().map(|w| w.to_string()).collect(),
        }
    }

    /// The C fixture, its commands replaced by programs every machine has.
    fn c_sockets_with(build: impl Fn(usize) -> Option<CommandTemplate>) -> detect::Sources {
        let dir =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/submissions/c-sockets");
        let Submission::Sources(mut s) = detect::detect(&dir).unwrap() else {
            panic!("c-sockets has no manifest")
        };
        for (i, role) in s.roles.values_mut().enumerate() {
            role.build = build(i);
            role.run = words(&["true"]);
        }
        s
    }

    fn runnable(s: &detect::Sources) -> Result<Runnable, Unrunnable> {
        let work = Path::new("/tmp/shout-work");
        implementation_of(
            s,
            "c-sockets",
            work,
            Path::new("/tmp"),
            false,
            &Rubric::default(),
        )
    }

    #[test]
    fn several_builds_become_steps_in_role_order_not_a_shell_line() {
        let s = c_sockets_with(|i| Some(words(&["mkdir", &format!("out{i}")])));
        let r = runnable(&s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.implementation.build, None);
        let steps: Vec<String> = r.build_steps.iter().map(|b| b.words.join(" ")).collect();
        assert_eq!(
            steps,
            ["mkdir out0", "mkdir out1", "mkdir out2", "mkdir out3"]
        );
    }

    #[test]
    fn one_shared_build_stays_the_implementations_build() {
        let s = c_sockets_with(|_| Some(words(&["mkdir", "out"])));
        let r = runnable(&s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.implementation.build, Some(words(&["mkdir", "out"])));
        assert!(r.build_steps.is_empty());
    }

    #[test]
    fn a_missing_compiler_is_a_value_worded_as_before() {
        let s = c_sockets_with(|_| Some(words(&["shout-no-such-compiler"])));
        let Err(Unrunnable::MissingToolchain(missing)) = runnable(&s) else {
            panic!("the compiler is missing")
        };
        assert_eq!(missing.programs.len(), 1);
        assert_eq!(
            missing.to_string(),
            "C submission; `shout-no-such-compiler` is not installed: apt-get install gcc"
        );
    }

    #[test]
    fn no_interpreter_is_worded_as_before() {
        let why = Unrunnable::NoInterpreter {
            language: Language::Python2,
            program: "python2".into(),
        };
        assert_eq!(
            why.to_string(),
            "Python 2 submission; no working `python2` is installed: install Python 2 with pyenv: pyenv install 2.7.18"
        );
    }
}
