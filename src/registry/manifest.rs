//! TOML manifests: `[[implementation]]` tables, validated, with errors that name the
//! file, the line and the field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::model::{
    valid_name, ClientOutput, CommandTemplate, Implementation, Origin, Role, RoleKey, UnicodePolicy,
};

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
    #[serde(default)]
    unicode: Option<toml::Spanned<String>>,
}

/// The manifest being read: its path and text, to name both in errors.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    /// An error at byte `at` (or nowhere in particular).
    fn err(&self, at: Option<usize>, message: String) -> ManifestError {
        ManifestError {
            file: self.path.to_path_buf(),
            line: at.map(|a| crate::text::line_at(self.text, a)),
            message,
        }
    }

    /// An error about the value `v` of `field`.
    fn field_err<T>(&self, v: &toml::Spanned<T>, field: &str, message: &str) -> ManifestError {
        self.err(Some(v.span().start), format!("field `{field}`: {message}"))
    }

    /// The command in `field`, split like a shell.
    fn command(
        &self,
        field: &str,
        value: &toml::Spanned<String>,
    ) -> Result<CommandTemplate, ManifestError> {
        CommandTemplate::parse(value.get_ref()).map_err(|m| self.field_err(value, field, &m))
    }
}

/// Reads and validates the manifest at `path`; `reserved` names may not be reused.
pub fn load_manifest(
    path: &Path,
    reserved: &[String],
) -> Result<Vec<Implementation>, ManifestError> {
    let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
        file: path.to_path_buf(),
        line: None,
        message: format!("cannot read the manifest: {e}"),
    })?;
    let src = Source { path, text: &text };
    let raw: Raw = toml::from_str(&text)
        .map_err(|e| src.err(e.span().map(|s| s.start), e.message().trim().to_string()))?;
    // `m.toml` has the parent ``: the current folder.
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let mut names: Vec<String> = reserved.to_vec();
    let mut out = Vec::new();
    for spanned in raw.implementation {
        let at = spanned.span().start;
        let r = spanned.into_inner();
        let name = r.name.get_ref().clone();
        if !valid_name(&name) {
            return Err(src.field_err(&r.name, "name", &format!("`{name}` must match [a-z0-9-]+")));
        }
        if names.contains(&name) {
            let message = format!("`{name}` is already taken; pick another name");
            return Err(src.field_err(&r.name, "name", &message));
        }
        names.push(name.clone());
        let roles = roles(&src, &r)?;
        if roles.is_empty() {
            return Err(src.err(
                Some(at),
                format!("implementation `{name}` has no role: set udp-server, udp-client, tcp-server or tcp-client"),
            ));
        }
        let build = r
            .build
            .as_ref()
            .map(|b| src.command("build", b))
            .transpose()?;
        let dir = match &r.dir {
            Some(d) => {
                let p = base.join(d.get_ref());
                if !p.is_dir() {
                    let message = format!("`{}` is not a directory", p.display());
                    return Err(src.field_err(d, "dir", &message));
                }
                Some(p)
            }
            None => Some(base.clone()),
        };
        let language = r.language.unwrap_or_else(|| "unknown".into());
        out.push(Implementation {
            name,
            unicode: unicode_policy(&src, r.unicode.as_ref(), &language)?,
            language,
            dir,
            build,
            env: r.env,
            roles,
            client_output: client_output(&src, r.client_output.as_ref())?,
            fixed_ports: Default::default(),
            origin: Origin::Manifest(path.to_path_buf()),
        });
    }
    Ok(out)
}

/// The roles an implementation declares; a server's command must take `{port}`.
fn roles(src: &Source, r: &RawImpl) -> Result<BTreeMap<RoleKey, CommandTemplate>, ManifestError> {
    let [us, uc, ts, tc] = RoleKey::ALL;
    let mut roles = BTreeMap::new();
    for (key, field, value) in [
        (us, "udp-server", &r.udp_server),
        (uc, "udp-client", &r.udp_client),
        (ts, "tcp-server", &r.tcp_server),
        (tc, "tcp-client", &r.tcp_client),
    ] {
        let Some(v) = value else { continue };
        let t = src.command(field, v)?;
        if key.role == Role::Server && !t.words.iter().any(|w| w.contains("{port}")) {
            return Err(src.field_err(
                v,
                field,
                "the command has no `{port}`; shout must choose the port",
            ));
        }
        roles.insert(key, t);
    }
    Ok(roles)
}

/// Which Unicode version the implementation follows: `auto`, a supported version, or
/// (absent) the default for its language.
fn unicode_policy(
    src: &Source,
    value: Option<&toml::Spanned<String>>,
    language: &str,
) -> Result<UnicodePolicy, ManifestError> {
    let Some(v) = value else {
        return Ok(UnicodePolicy::default_for(language));
    };
    if v.get_ref() == "auto" {
        return Ok(UnicodePolicy::Auto);
    }
    match v.get_ref().parse::<crate::proto::UnicodeVersion>() {
        Ok(version) if version.is_supported() => Ok(UnicodePolicy::Declared(version)),
        _ => {
            let known: Vec<String> = crate::proto::UnicodeVersion::supported()
                .iter()
                .map(|v| v.to_string())
                .collect();
            let message = format!(
                "`{}` is not a Unicode version shout carries: write \"auto\" or one of {}",
                v.get_ref(),
                known.join(", ")
            );
            Err(src.field_err(v, "unicode", &message))
        }
    }
}

/// How the implementation's client output is compared: `reference`, `contains`, or a
/// regex with one group around the reply.
fn client_output(
    src: &Source,
    value: Option<&toml::Spanned<String>>,
) -> Result<ClientOutput, ManifestError> {
    let Some(v) = value else {
        return Ok(ClientOutput::Reference);
    };
    match v.get_ref().as_str() {
        "reference" => Ok(ClientOutput::Reference),
        "contains" => Ok(ClientOutput::Contains),
        pattern => {
            let re = regex::bytes::Regex::new(pattern).map_err(|e| {
                src.field_err(v, "client-output", &format!("not a valid regex: {e}"))
            })?;
            if re.captures_len() != 2 {
                return Err(src.field_err(
                    v,
                    "client-output",
                    "the regex needs exactly one group, around the reply",
                ));
            }
            Ok(ClientOutput::Pattern(re))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Transport;

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
    fn a_misspelt_placeholder_is_named_not_taken_for_a_missing_port() {
        let e =
            load("[[implementation]]\nname = \"a\"\n\nudp-server = \"x {prot}\"\n").unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert!(
            e.to_string().ends_with(
                "field `udp-server`: unknown placeholder `{prot}`; the placeholders are {port}, {host}"
            ),
            "{e}"
        );
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
