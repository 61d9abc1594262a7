//! TOML manifests: `[[implementation]]` tables, validated, with errors that name the
//! file, the line and the field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::model::{
    valid_name, ClientOutput, CommandTemplate, Implementation, Origin, Role, RoleKey,
};
use crate::proto::Transport;

/// A manifest that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ManifestError {
    /// The manifest's path.
    pub file: PathBuf,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong, naming the field.
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    implementation: Vec<toml::Spanned<RawImpl>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawImpl {
    name: toml::Spanned<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    dir: Option<toml::Spanned<String>>,
    #[serde(default)]
    build: Option<toml::Spanned<String>>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    udp_server: Option<toml::Spanned<String>>,
    #[serde(default)]
    udp_client: Option<toml::Spanned<String>>,
    #[serde(default)]
    tcp_server: Option<toml::Spanned<String>>,
    #[serde(default)]
    tcp_client: Option<toml::Spanned<String>>,
    #[serde(default)]
    client_output: Option<toml::Spanned<String>>,
}

/// Reads and validates the manifest at `path`; `reserved` names may not be reused.
pub fn load_manifest(
    path: &Path,
    reserved: &[String],
) -> Result<Vec<Implementation>, ManifestError> {
    let err = |line: Option<usize>, message: String| ManifestError {
        file: path.to_path_buf(),
        line,
        message,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(None, format!("cannot read the manifest: {e}")))?;
    let raw: Raw = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| crate::text::line_at(&text, s.start));
        err(line, e.message().trim().to_string())
    })?;
    // `m.toml` has the parent ``: the current folder.
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let mut names: Vec<String> = reserved.to_vec();
    let mut out = Vec::new();
    for spanned in raw.implementation {
        let at = crate::text::line_at(&text, spanned.span().start);
        let r = spanned.into_inner();
        let name_line = crate::text::line_at(&text, r.name.span().start);
        let name = r.name.into_inner();
        if !valid_name(&name) {
            return Err(err(
                Some(name_line),
                format!("field `name`: `{name}` must match [a-z0-9-]+"),
            ));
        }
        if names.contains(&name) {
            return Err(err(
                Some(name_line),
                format!("field `name`: `{name}` is already taken; pick another name"),
            ));
        }
        names.push(name.clone());
        let command = |field: &str, value: &toml::Spanned<String>| {
            CommandTemplate::parse(value.get_ref()).map_err(|m| {
                err(
                    Some(crate::text::line_at(&text, value.span().start)),
                    format!("field `{field}`: {m}"),
                )
            })
        };
        let mut roles = BTreeMap::new();
        for (key, field, value) in [
            (
                RoleKey {
                    transport: Transport::Udp,
                    role: Role::Server,
                },
                "udp-server",
                &r.udp_server,
            ),
            (
                RoleKey {
                    transport: Transport::Udp,
                    role: Role::Client,
                },
                "udp-client",
                &r.udp_client,
            ),
            (
                RoleKey {
                    transport: Transport::Tcp,
                    role: Role::Server,
                },
                "tcp-server",
                &r.tcp_server,
            ),
            (
                RoleKey {
                    transport: Transport::Tcp,
                    role: Role::Client,
                },
                "tcp-client",
                &r.tcp_client,
            ),
        ] {
            if let Some(v) = value {
                let t = command(field, v)?;
                if key.role == Role::Server && !t.words.iter().any(|w| w.contains("{port}")) {
                    return Err(err(
                        Some(crate::text::line_at(&text, v.span().start)),
                        format!("field `{field}`: the command has no `{{port}}`; shout must choose the port"),
                    ));
                }
                roles.insert(key, t);
            }
        }
        if roles.is_empty() {
            return Err(err(
                Some(at),
                format!("implementation `{name}` has no role: set udp-server, udp-client, tcp-server or tcp-client"),
            ));
        }
        let build = r.build.as_ref().map(|b| command("build", b)).transpose()?;
        let dir = match &r.dir {
            Some(d) => {
                let p = base.join(d.get_ref());
                if !p.is_dir() {
                    return Err(err(
                        Some(crate::text::line_at(&text, d.span().start)),
                        format!("field `dir`: `{}` is not a directory", p.display()),
                    ));
                }
                Some(p)
            }
            None => Some(base.clone()),
        };
        let client_output = match &r.client_output {
            None => ClientOutput::Reference,
            Some(v) if v.get_ref() == "reference" => ClientOutput::Reference,
            Some(v) if v.get_ref() == "contains" => ClientOutput::Contains,
            Some(v) => {
                let line = Some(crate::text::line_at(&text, v.span().start));
                let re = regex::bytes::Regex::new(v.get_ref()).map_err(|e| {
                    err(
                        line,
                        format!("field `client-output`: not a valid regex: {e}"),
                    )
                })?;
                if re.captures_len() != 2 {
                    return Err(err(
                        line,
                        "field `client-output`: the regex needs exactly one group, around the reply".into(),
                    ));
                }
                ClientOutput::Pattern(re)
            }
        };
        out.push(Implementation {
            name,
            language: r.language.unwrap_or_else(|| "unknown".into()),
            dir,
            build,
            env: r.env,
            roles,
            client_output,
            fixed_ports: Default::default(),
            origin: Origin::Manifest(path.to_path_buf()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Vec<Implementation>, ManifestError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.toml");
        std::fs::write(&path, text).unwrap();
        load_manifest(&path, &["python".into(), "rust".into()])
    }

    #[test]
    fn reads_a_full_implementation() {
        let got = load(
            "[[implementation]]\nname = \"alice\"\nlanguage = \"java\"\nenv = { LANG = \"C.UTF-8\" }\n\
             udp-server = \"java 'UDP Server' {port}\"\nudp-client = \"java UDPClient {host} {port}\"\n\
             client-output = 'From Server: (.*)'\n",
        )
        .unwrap();
        assert_eq!(got.len(), 1);
        let key = RoleKey {
            transport: Transport::Udp,
            role: Role::Server,
        };
        assert_eq!(
            got[0].role(key).unwrap().render("h", 7),
            vec!["java", "UDP Server", "7"]
        );
        assert!(matches!(got[0].client_output, ClientOutput::Pattern(_)));
    }

    #[test]
    fn an_unknown_field_names_the_line_and_field() {
        let e = load("[[implementation]]\nname = \"a\"\nudp-sever = \"x {port}\"\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.to_string().contains("udp-sever"), "{e}");
    }

    #[test]
    fn a_bad_name_and_a_reserved_name_are_errors() {
        let e =
            load("[[implementation]]\nname = \"Alice\"\nudp-server = \"x {port}\"\n").unwrap_err();
        assert!(
            e.to_string().contains("[a-z0-9-]+") && e.line == Some(2),
            "{e}"
        );
        let e =
            load("[[implementation]]\nname = \"rust\"\nudp-server = \"x {port}\"\n").unwrap_err();
        assert!(e.to_string().contains("already taken"), "{e}");
    }

    #[test]
    fn a_server_without_port_and_a_regex_without_group_are_errors() {
        let e = load("[[implementation]]\nname = \"a\"\nudp-server = \"x 12000\"\n").unwrap_err();
        assert!(e.to_string().contains("{port}"), "{e}");
        let e =
            load("[[implementation]]\nname = \"a\"\nudp-client = \"x\"\nclient-output = 'x.*'\n")
                .unwrap_err();
        assert!(
            e.to_string().contains("one group") && e.line == Some(4),
            "{e}"
        );
    }
}
