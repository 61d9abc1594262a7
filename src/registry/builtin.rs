//! The built-in implementations: `python` runs the reference scripts (embedded in the
//! binary and written to a scratch folder) and `rust` runs this very binary's roles.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::model::{
    ClientOutput, CommandTemplate, Implementation, Origin, Role, RoleKey, UnicodePolicy,
};
use crate::proto::{Transport, UnicodeVersion};

/// The reference scripts, as shipped in `reference/`.
const SCRIPTS: [(&str, &str); 4] = [
    ("UDPServer.py", include_str!("../../reference/UDPServer.py")),
    ("UDPClient.py", include_str!("../../reference/UDPClient.py")),
    ("TCPServer.py", include_str!("../../reference/TCPServer.py")),
    ("TCPClient.py", include_str!("../../reference/TCPClient.py")),
];

/// What an interpreter said about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonInfo {
    /// The path given.
    pub path: PathBuf,
    /// The interpreter itself (`sys.executable`): the reference runs it directly, not
    /// through a wrapper such as pyenv's shim, which costs more than the interpreter's own
    /// start.
    pub executable: PathBuf,
    /// `major.minor`, e.g. `3.11`.
    pub version: String,
    /// Its `unicodedata.unidata_version`.
    pub unicode: UnicodeVersion,
}

/// Asks `path` for its version and Unicode database version, once per run: a grading
/// run prepares each submission's units with the same reference, and behind pyenv's
/// shim each asking costs a dozen programs (a shell script resolving the version).
pub fn probe_python(path: &Path) -> Result<PythonInfo, String> {
    static ASKED: std::sync::OnceLock<std::sync::Mutex<Vec<PythonInfo>>> =
        std::sync::OnceLock::new();
    let asked = ASKED.get_or_init(Default::default);
    let known = |asked: &std::sync::Mutex<Vec<PythonInfo>>| {
        let list = asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        list.iter().find(|i| i.path == path).cloned()
    };
    if let Some(info) = known(asked) {
        return Ok(info);
    }
    let info = ask_python(path)?;
    asked
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(info.clone());
    Ok(info)
}

fn ask_python(path: &Path) -> Result<PythonInfo, String> {
    let out = Command::new(path)
        .args(["-S", "-c", "import sys, unicodedata; sys.stdout.write('%d.%d %s %s\\n' % (sys.version_info[0], sys.version_info[1], unicodedata.unidata_version, sys.executable))"])
        .env("LC_ALL", "C.UTF-8")
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "`{}` was not found: install CPython 3 (apt-get install python3) or pass --python PATH",
                path.display()
            ),
            _ => format!("cannot run `{}`: {e}", path.display()),
        })?;
    if !out.status.success() {
        return Err(format!(
            "`{}` failed to report its version: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    let version = words.next().unwrap_or_default().to_string();
    if !version.starts_with("3.") {
        return Err(format!(
            "`{}` is Python {version}; the reference needs CPython 3.6 or later",
            path.display()
        ));
    }
    let unicode_text = words.next().unwrap_or_default().to_string();
    // The rest of the line: `sys.executable` (empty when Python cannot tell).
    let executable = text
        .trim_end_matches('\n')
        .splitn(3, ' ')
        .nth(2)
        .filter(|e| !e.is_empty())
        .map_or_else(|| path.to_path_buf(), PathBuf::from);
    let unicode = unicode_text.parse::<UnicodeVersion>().map_err(|e| {
        format!(
            "`{}` (Python {version}) uses Unicode {unicode_text}, which shout has no data for: {e}",
            path.display()
        )
    })?;
    Ok(PythonInfo {
        path: path.to_path_buf(),
        executable,
        version,
        unicode,
    })
}

/// How the reference interpreter is started: `-S`, without the `site` module. The scripts
/// import only `socket` from the standard library, so nothing they do changes, and the
/// start costs a quarter (8 ms against 35 ms for CPython 3.11 here). The tests
/// `reference_servers_answer_alike_with_and_without_site` and the matrix hold it to the
/// same bytes.
pub const REFERENCE_FLAGS: [&str; 1] = ["-S"];

/// A fingerprint of the reference scripts' bytes, for keys of what depends on them.
pub fn reference_fingerprint() -> String {
    fingerprint_of(&SCRIPTS)
}

use super::reference::fingerprint_of;

/// Writes the reference scripts into `dir` (once per run).
fn write_scripts(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in SCRIPTS {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}

fn template(words: Vec<String>) -> CommandTemplate {
    CommandTemplate { words }
}

/// The built-in `python` and `rust` implementations for one interpreter: the reference
/// scripts under `python`, and `shout` (`exe`) with `--unicode` set to the interpreter's.
pub fn builtins(
    python: &PythonInfo,
    exe: &Path,
    scratch: &Path,
) -> std::io::Result<Vec<Implementation>> {
    write_scripts(scratch)?;
    let py = python.executable.display().to_string();
    let mut py_roles = BTreeMap::new();
    let mut rust_roles = BTreeMap::new();
    let exe = exe.display().to_string();
    for key in RoleKey::ALL {
        let t = key.transport.as_str();
        let script = scratch.join(format!(
            "{}{}.py",
            t.to_uppercase(),
            match key.role {
                Role::Client => "Client",
                Role::Server => "Server",
            }
        ));
        let (py_args, rust_args): (Vec<String>, Vec<String>) = match key.role {
            Role::Server => (
                vec!["{port}".into()],
                vec![
                    "{port}".into(),
                    "--unicode".into(),
                    python.unicode.to_string(),
                ],
            ),
            Role::Client => (
                vec!["{host}".into(), "{port}".into()],
                vec!["{host}".into(), "{port}".into()],
            ),
        };
        let mut words = vec![py.clone()];
        words.extend(REFERENCE_FLAGS.iter().map(|f| f.to_string()));
        words.push(script.display().to_string());
        words.extend(py_args);
        py_roles.insert(key, template(words));
        let mut words = vec![exe.clone(), format!("{t}-{}", key.role.as_str())];
        words.extend(rust_args);
        if key.transport == Transport::Tcp && key.role == Role::Server {
            words.extend(["--idle-timeout".into(), "5".into()]);
        }
        rust_roles.insert(key, template(words));
    }
    let python_env: BTreeMap<String, String> = [
        ("LC_ALL", "C.UTF-8"),
        ("PYTHONIOENCODING", "utf-8"),
        ("PYTHONDONTWRITEBYTECODE", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Ok(vec![
        Implementation {
            name: "python".into(),
            language: format!("python {}", python.version),
            dir: None,
            build: None,
            env: python_env,
            roles: py_roles,
            client_output: ClientOutput::Reference,
            fixed_ports: Default::default(),
            unicode: UnicodePolicy::Reference,
            origin: Origin::Builtin,
        },
        Implementation {
            name: super::SHOUT.into(),
            language: "rust".into(),
            dir: None,
            build: None,
            env: BTreeMap::new(),
            roles: rust_roles,
            client_output: ClientOutput::Reference,
            fixed_ports: Default::default(),
            unicode: UnicodePolicy::Reference,
            origin: Origin::Builtin,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_fingerprint_changes_with_any_byte_of_any_script() {
        let base = fingerprint_of(&SCRIPTS);
        assert_eq!(base, reference_fingerprint());
        for i in 0..SCRIPTS.len() {
            let mut changed = SCRIPTS;
            let edited = format!("{} ", SCRIPTS[i].1);
            changed[i].1 = &edited;
            assert_ne!(fingerprint_of(&changed), base, "{}", SCRIPTS[i].0);
        }
    }
}
