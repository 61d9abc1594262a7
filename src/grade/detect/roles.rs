//! From the files' features to the submission's roles: what a file name hints at, one
//! candidate per role a file plays, one file chosen per role, and the notes a grader
//! reads (lying file names, duplicates, placeholder hosts, mismatched ports).
//!
//! Pure: it works on files already read and never touches the file system.

use std::collections::BTreeMap;
use std::path::Path;

use super::choose::{choose, Candidate, Chosen, NameSays};
use super::commands::commands;
use super::features::{features, python2_syntax, python3_usage, Features};
use super::language::Language;
use super::model::{FoundRole, Sources};
use super::sources::SourceFile;
use crate::proto::Transport;
use crate::registry::{Role, RoleKey};

/// Server names that are the textbook's placeholders, not real hosts.
const PLACEHOLDER_HOSTS: [&str; 2] = ["hostname", "servername"];

/// What a file name claims: `TCPC.py` says TCP client, `server.go` says server.
pub(super) fn name_hint(path: &Path) -> (Option<Transport>, Option<Role>) {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let transport = if stem.contains("udp") {
        Some(Transport::Udp)
    } else if stem.contains("tcp") {
        Some(Transport::Tcp)
    } else {
        None
    };
    let rest: String = stem
        .replace("udp", "")
        .replace("tcp", "")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let role = if rest.contains("serv") || rest.contains("srv") || rest == "s" {
        Some(Role::Server)
    } else if rest.contains("cli") || rest == "c" {
        Some(Role::Client)
    } else {
        None
    };
    (transport, role)
}

fn describe(transport: Option<Transport>, role: Option<Role>) -> String {
    let t = transport.map(|t| t.as_str().to_ascii_uppercase());
    let r = role.map(Role::as_str);
    match (t, r) {
        (Some(t), Some(r)) => format!("{t} {r}"),
        (Some(t), None) => format!("{t} program"),
        (None, Some(r)) => r.to_string(),
        (None, None) => "nothing".to_string(),
    }
}

fn key_phrase(key: RoleKey) -> String {
    describe(Some(key.transport), Some(key.role))
}

/// The roles of a submission whose source files are `files`, with the notes a grader
/// reads about them.
pub(super) fn detect_sources(name: String, dir: &Path, mut files: Vec<SourceFile>) -> Sources {
    let interpreters = choose_python(&mut files);
    let mut candidates: Vec<Candidate> = files
        .iter()
        .flat_map(|f| candidates(dir, f, &files))
        .collect();
    let mut notes = Vec::new();
    if let Some(why) = interpreters {
        notes.push("Python 2 and Python 3 files: each runs under its own interpreter".to_string());
        for c in &mut candidates {
            if let Some((_, note)) = why.iter().find(|(path, _)| *path == c.role.file) {
                c.role.notes.push(note.clone());
            }
        }
    }
    let Chosen { roles, alternates } = choose(&candidates, &mut notes);
    notes.extend(port_mismatches(&roles));
    if roles.is_empty() {
        notes.push("no source file plays a role".to_string());
    }

    let language = most_common(roles.values().map(|r| r.language))
        .or_else(|| most_common(files.iter().map(|f| f.language)));
    Sources {
        name,
        dir: dir.to_path_buf(),
        language,
        roles,
        alternates,
        notes,
    }
}

/// Chooses the interpreter of each Python file. A file with Python 2 syntax runs under
/// Python 2 and a file written for Python 3 under Python 3, each on its own: a folder may
/// hold Python 2 clients beside Python 3 servers. A file that runs under either follows
/// the folder: Python 2 when every file that says which is Python 2 (a textbook server
/// with no print statement beside a `raw_input` client), else Python 3.
///
/// When the folder mixes both, it returns each Python file's note saying which
/// interpreter runs it and why; `None` when all run under one.
fn choose_python(files: &mut [SourceFile]) -> Option<Vec<(std::path::PathBuf, String)>> {
    let readings: Vec<(Option<&str>, Option<&str>)> = files
        .iter()
        .map(|f| match f.language {
            Language::Python2 | Language::Python3 => {
                let two = python2_syntax(&f.code);
                (two, two.is_none().then(|| python3_usage(&f.code)).flatten())
            }
            _ => (None, None),
        })
        .collect();
    let any_two = readings.iter().any(|(two, _)| two.is_some());
    let any_three = readings.iter().any(|(_, three)| three.is_some());
    let otherwise = if any_two && !any_three {
        Language::Python2
    } else {
        Language::Python3
    };
    let mut why = Vec::new();
    for (f, (two, three)) in files.iter_mut().zip(&readings) {
        if !matches!(f.language, Language::Python2 | Language::Python3) {
            continue;
        }
        let (language, reason) = match (two, three) {
            (Some(r), _) => (Language::Python2, format!("it uses {r}")),
            (None, Some(r)) => (Language::Python3, format!("it uses {r}")),
            (None, None) => (otherwise, "its code runs under either".to_string()),
        };
        f.language = language;
        why.push((f.path.clone(), format!("runs under {language}: {reason}")));
    }
    (any_two && any_three).then_some(why)
}

/// One candidate per role `file` plays, each with its notes.
fn candidates(dir: &Path, file: &SourceFile, files: &[SourceFile]) -> Vec<Candidate> {
    let found = features(&file.code, file.language);
    let (hint_transport, hint_role) = name_hint(&file.path);
    let mut out = Vec::new();
    for (key, mut notes) in claimed_roles(&found, hint_transport, hint_role) {
        let (build, run) = commands(dir, file, file.language, files);
        let (host, hosts) = match key.role {
            Role::Client => (found.host.clone(), found.hosts.clone()),
            Role::Server => (None, Vec::new()),
        };
        if found.port.is_none() {
            notes.push("no hardcoded port found".to_string());
        }
        notes.extend(host.as_deref().and_then(host_note));
        let agrees = hint_transport.map_or(true, |t| t == key.transport)
            && hint_role.map_or(true, |r| r == key.role);
        out.push(Candidate {
            key,
            name: match (agrees, hint_transport.is_some() && hint_role.is_some()) {
                (false, _) => NameSays::Otherwise,
                (true, false) => NameSays::Part,
                (true, true) => NameSays::All,
            },
            by_code: found.roles().contains(&key),
            role: FoundRole {
                file: file.path.clone(),
                language: file.language,
                build,
                run,
                port: found.port,
                host,
                hosts,
                notes,
            },
        });
    }
    out
}

/// The roles the code plays, each noted when the file name says otherwise; when the code
/// plays none, the role a file name names in full (transport and role).
fn claimed_roles(
    found: &Features,
    hint_transport: Option<Transport>,
    hint_role: Option<Role>,
) -> Vec<(RoleKey, Vec<String>)> {
    let mut keys: Vec<(RoleKey, Vec<String>)> = found
        .roles()
        .into_iter()
        .map(|key| {
            let agrees = hint_transport.map_or(true, |t| t == key.transport)
                && hint_role.map_or(true, |r| r == key.role);
            let mut notes = Vec::new();
            if !agrees {
                notes.push(format!(
                    "file name says {}, code is a {}",
                    describe(hint_transport, hint_role),
                    key_phrase(key)
                ));
            }
            (key, notes)
        })
        .collect();
    if keys.is_empty() {
        if let (Some(transport), Some(role)) = (hint_transport, hint_role) {
            let key = RoleKey { transport, role };
            let what = match role {
                Role::Server => "never binds, listens or accepts",
                Role::Client => "never connects or sends",
            };
            keys.push((
                key,
                vec![format!(
                    "the code {what}; taken as a {} from its file name",
                    key_phrase(key)
                )],
            ));
        }
    }
    keys
}

/// A note about the server name a client hardcodes, unless it is the loopback address.
fn host_note(h: &str) -> Option<String> {
    if PLACEHOLDER_HOSTS.contains(&h.to_ascii_lowercase().as_str()) {
        Some(format!(
            "the server name '{h}' is the textbook's placeholder"
        ))
    } else if !is_loopback(h) {
        Some(format!(
            "the server name '{h}' is not this machine's loopback address; grading puts the test \
             server there; to run it yourself, set it to 'localhost'"
        ))
    } else {
        None
    }
}

/// A note per transport whose client sends to another port than its server listens on.
fn port_mismatches(roles: &BTreeMap<RoleKey, FoundRole>) -> Vec<String> {
    let mut notes = Vec::new();
    for transport in Transport::ALL {
        let get = |role| roles.get(&RoleKey { transport, role }).and_then(|r| r.port);
        if let (Some(server), Some(client)) = (get(Role::Server), get(Role::Client)) {
            if server != client {
                let t = transport.as_str().to_ascii_uppercase();
                notes.push(format!(
                    "the {t} client sends to port {client}, but the {t} server listens on port {server}"
                ));
            }
        }
    }
    notes
}

fn is_loopback(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    h == "localhost"
        || h == "ip6-localhost"
        || h == "::1"
        || h == "[::1]"
        || h == "0.0.0.0"
        || h.starts_with("127.")
}

/// The most frequent value; ties go to the first in [`Language`]'s order (Python 3
/// before Python 2), so the answer does not depend on the order of the files.
fn most_common(values: impl Iterator<Item = Language>) -> Option<Language> {
    let mut counts: BTreeMap<Language, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let best = counts.values().copied().max()?;
    counts.into_iter().find(|(_, n)| *n == best).map(|(l, _)| l)
}
