//! The registry's types: an implementation, its roles and their command templates.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::proto::Transport;

/// Which end of the exchange a program plays.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Prompts, sends a line, prints the reply.
    Client,
    /// Answers requests with their uppercase.
    Server,
}

impl Role {
    /// `client` or `server`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Server => "server",
        }
    }
}

/// A transport and a role: `udp-server`, `tcp-client`, …
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoleKey {
    /// The transport.
    pub transport: Transport,
    /// The role.
    pub role: Role,
}

impl RoleKey {
    /// All four, in manifest order.
    pub const ALL: [RoleKey; 4] = [
        RoleKey {
            transport: Transport::Udp,
            role: Role::Server,
        },
        RoleKey {
            transport: Transport::Udp,
            role: Role::Client,
        },
        RoleKey {
            transport: Transport::Tcp,
            role: Role::Server,
        },
        RoleKey {
            transport: Transport::Tcp,
            role: Role::Client,
        },
    ];
}

impl std::fmt::Display for RoleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.transport, self.role.as_str())
    }
}

/// A command line with `{host}` and `{port}` placeholders, already split into argv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTemplate {
    /// The argv words, placeholders unexpanded.
    pub words: Vec<String>,
}

impl CommandTemplate {
    /// The placeholders [`CommandTemplate::render`] fills in, as written in a command.
    pub const PLACEHOLDERS: [&'static str; 2] = ["{port}", "{host}"];

    /// Splits `line` like a POSIX shell would (quotes, backslashes), without running one.
    /// A `{name}` that is not one of [`CommandTemplate::PLACEHOLDERS`] is an error naming
    /// it (`{prot}` would otherwise reach the program as it is); `{}` and `${NAME}` are
    /// left alone, for programs and shells that use them.
    pub fn parse(line: &str) -> Result<CommandTemplate, String> {
        let words = shlex::split(line).ok_or_else(|| format!("unbalanced quotes in `{line}`"))?;
        if words.is_empty() {
            return Err("the command is empty".into());
        }
        if let Some(unknown) = words.iter().find_map(|w| unknown_placeholder(w)) {
            return Err(format!(
                "unknown placeholder `{unknown}`; the placeholders are {}",
                CommandTemplate::PLACEHOLDERS.join(", ")
            ));
        }
        Ok(CommandTemplate { words })
    }

    /// The argv with `{host}` and `{port}` substituted.
    pub fn render(&self, host: &str, port: u16) -> Vec<String> {
        self.words
            .iter()
            .map(|w| {
                w.replace("{host}", host)
                    .replace("{port}", &port.to_string())
            })
            .collect()
    }

    /// Whether shout chooses the port (`{port}` appears); if not, the program uses a port
    /// of its own, which shout discovers (servers) or must be told (clients).
    pub fn takes_port(&self) -> bool {
        self.words.iter().any(|w| w.contains("{port}"))
    }

    /// The command as one shell-quoted line, for reproduce commands.
    pub fn display(&self) -> String {
        shlex::try_join(self.words.iter().map(String::as_str))
            .unwrap_or_else(|_| self.words.join(" "))
    }
}

/// The first `{name}` in `word` (a letter, then letters, digits, `_` or `-`) that is not a
/// placeholder, unless a `$` precedes it (a shell's `${NAME}`).
fn unknown_placeholder(word: &str) -> Option<&str> {
    let mut from = 0;
    while let Some(open) = word[from..].find('{').map(|i| from + i) {
        from = open + 1;
        let Some(close) = word[open..].find('}').map(|i| open + i) else {
            break;
        };
        let name = &word[open + 1..close];
        let looks_like_one = name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let candidate = &word[open..=close];
        if looks_like_one
            && !word[..open].ends_with('$')
            && !CommandTemplate::PLACEHOLDERS.contains(&candidate)
        {
            return Some(candidate);
        }
    }
    None
}

/// How a client's stdout is compared.
#[derive(Debug, Clone)]
pub enum ClientOutput {
    /// The whole stdout must equal the reference client's.
    Reference,
    /// Only the reply, extracted by the regex's first group, must equal the reference's.
    Pattern(regex::bytes::Regex),
    /// Only the reply must appear somewhere in stdout; the exit status does not matter.
    Contains,
}

/// Where an implementation was declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Built into shout.
    Builtin,
    /// Declared in this manifest file.
    Manifest(PathBuf),
    /// Given on the command line (`shout check`).
    CommandLine,
    /// A student submission found in this folder (`shout grade`); its programs run
    /// confined.
    Submission(PathBuf),
}

/// One implementation: its name, how to build it, and the command for each role it has.
#[derive(Debug, Clone)]
pub struct Implementation {
    /// `[a-z0-9-]+`, unique in a run.
    pub name: String,
    /// Free text shown in reports.
    pub language: String,
    /// Working directory for its commands.
    pub dir: Option<PathBuf>,
    /// Run once before anything else; a failure is a verdict for each of its units.
    pub build: Option<CommandTemplate>,
    /// Extra environment for every command.
    pub env: BTreeMap<String, String>,
    /// The commands, one per role it implements.
    pub roles: BTreeMap<RoleKey, CommandTemplate>,
    /// How its clients' stdout is compared.
    pub client_output: ClientOutput,
    /// For roles whose command has no `{port}`: the port the program uses on its own
    /// (a client's server port; a server's port is also discovered from the kernel).
    pub fixed_ports: BTreeMap<RoleKey, u16>,
    /// Which Unicode version its uppercasing may follow.
    pub unicode: UnicodePolicy,
    /// Where it was declared.
    pub origin: Origin,
}

/// Which Unicode version an implementation's uppercasing may follow. A runtime's case
/// data (ICU in Node, the JDK, libc, Go's `unicode` package) follows its own Unicode
/// version, which is not the implementation's mistake; Python's `str.upper()` follows the
/// interpreter's, which is the reference's when both run under the same Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnicodePolicy {
    /// Exactly the reference's version: any difference fails (Python implementations and
    /// shout's own roles, which are given the reference's version).
    Reference,
    /// This version (manifest `unicode = "17.0"`): differences it explains are a version
    /// difference, reported once and not failed unless `--strict-unicode`.
    Declared(crate::proto::UnicodeVersion),
    /// The version the run's own replies show, when one version explains every version
    /// difference (manifest `unicode = "auto"`, the default for other languages).
    Auto,
}

impl UnicodePolicy {
    /// The policy when a manifest says nothing: [`UnicodePolicy::Reference`] for an
    /// implementation whose `language` starts with `python`, else
    /// [`UnicodePolicy::Auto`].
    pub fn default_for(language: &str) -> UnicodePolicy {
        if language.trim().to_ascii_lowercase().starts_with("python") {
            UnicodePolicy::Reference
        } else {
            UnicodePolicy::Auto
        }
    }
}

impl Implementation {
    /// The command for `key`, if it implements that role.
    pub fn role(&self, key: RoleKey) -> Option<&CommandTemplate> {
        self.roles.get(&key)
    }
}

/// Checks a name against `[a-z0-9-]+`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_placeholder_is_named_with_the_known_ones() {
        let message = CommandTemplate::parse("python3 server.py {prot}").unwrap_err();
        assert_eq!(
            message,
            "unknown placeholder `{prot}`; the placeholders are {port}, {host}"
        );
        let message = CommandTemplate::parse("java -Dhost={hots} Client {port}").unwrap_err();
        assert!(
            message.starts_with("unknown placeholder `{hots}`"),
            "{message}"
        );
    }

    #[test]
    fn braces_that_are_not_placeholders_are_left_alone() {
        for line in [
            "python3 c.py {host} {port}",
            "server --addr={host}:{port}",
            "sh -c 'exec ./s ${PORT:-1} {port}'",
            "find . -exec cat {} ;",
            "awk '{print toupper($0)}'",
            "x {{port}}",
        ] {
            assert!(CommandTemplate::parse(line).is_ok(), "{line}");
        }
    }
}
