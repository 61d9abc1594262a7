//! Units and their canonical ids: `udp::python-client::rust-server::korean`.

use std::sync::Arc;

use crate::corpus::Case;
use crate::proto::Transport;
use crate::registry::{Implementation, Role, RoleKey};

/// The name the harness goes by when it plays a side itself.
pub const PROBE: &str = "probe";

/// Who plays one side of a unit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// An implementation from the registry, by name.
    Impl(String),
    /// The harness itself.
    Probe,
}

impl Side {
    /// The implementation's name, or `probe`.
    pub fn name(&self) -> &str {
        match self {
            Side::Impl(n) => n,
            Side::Probe => PROBE,
        }
    }
}

/// What a unit checks. Serialised as `pairing`, `server-probe`, `client-probe`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum UnitKind {
    /// A real client against a real server, through the harness's relay.
    Pairing,
    /// The harness as the client, probing a server.
    ServerProbe,
    /// The harness as the server, probing a client.
    ClientProbe,
}

impl UnitKind {
    /// The name in results and reports: `pairing`, `server-probe`, `client-probe`.
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Pairing => "pairing",
            UnitKind::ServerProbe => "server-probe",
            UnitKind::ClientProbe => "client-probe",
        }
    }
}

/// One unit of work with its canonical id.
#[derive(Debug, Clone)]
pub struct Unit {
    /// `[axis::]transport::client-client::server-server::case`, or with `probe` on one side.
    pub id: String,
    /// The Python-version axis label (`py3.13`), when the run has several.
    pub axis: Option<String>,
    /// The transport.
    pub transport: Transport,
    /// The client side.
    pub client: Side,
    /// The server side.
    pub server: Side,
    /// What is checked.
    pub kind: UnitKind,
    /// The case.
    pub case: Arc<Case>,
}

/// The user's narrowing of the plan.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Only these transports (empty: both).
    pub transports: Vec<Transport>,
    /// Only units where one side is one of these implementations (empty: all); applied
    /// with `ids`, after [`build`].
    pub only: Vec<String>,
    /// Only cases whose name matches one of these glob patterns (`*`, `?`); empty: all.
    pub cases: Vec<String>,
    /// Only these exact unit ids (run with the units they are judged by, reported alone);
    /// empty: all. Applied by [`crate::harness::prepare`], after [`build`].
    pub ids: Vec<String>,
    /// Only the units [`graded`] keeps (the leaner plan of `shout grade`); applied with
    /// `ids`, after [`build`].
    pub grading: bool,
    /// Only cases of these groups (empty: all).
    pub groups: Vec<CaseGroup>,
}

/// A group of cases `--category` selects: a corpus category, with the generated
/// `unicode-A-to-B` cases (every character whose uppercase changed between two Unicode
/// versions) a group of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CaseGroup {
    /// Plain text.
    Core,
    /// Case mapping beyond ASCII, without the generated version steps.
    Unicode,
    /// The generated version steps (`unicode-versions`).
    UnicodeVersions,
    /// Buffer boundaries, empty lines, control characters.
    Edge,
    /// Inputs no client sends.
    Robustness,
}

impl CaseGroup {
    /// Every group, in the order `--help` lists them.
    pub const ALL: [CaseGroup; 5] = [
        CaseGroup::Core,
        CaseGroup::Unicode,
        CaseGroup::UnicodeVersions,
        CaseGroup::Edge,
        CaseGroup::Robustness,
    ];

    /// The name `--category` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseGroup::Core => "core",
            CaseGroup::Unicode => "unicode",
            CaseGroup::UnicodeVersions => "unicode-versions",
            CaseGroup::Edge => "edge",
            CaseGroup::Robustness => "robustness",
        }
    }

    /// The group `case` belongs to.
    pub fn of(case: &Case) -> CaseGroup {
        match case.category {
            crate::corpus::Category::Core => CaseGroup::Core,
            crate::corpus::Category::Unicode if case.is_version_step() => {
                CaseGroup::UnicodeVersions
            }
            crate::corpus::Category::Unicode => CaseGroup::Unicode,
            crate::corpus::Category::Edge => CaseGroup::Edge,
            crate::corpus::Category::Robustness => CaseGroup::Robustness,
        }
    }
}

impl std::str::FromStr for CaseGroup {
    type Err = String;

    fn from_str(s: &str) -> Result<CaseGroup, String> {
        CaseGroup::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = CaseGroup::ALL.iter().map(|g| g.as_str()).collect();
                format!("unknown category `{s}`: use one of {}", names.join(", "))
            })
    }
}

/// Whether `pattern` is a glob (holds `*` or `?`) rather than one exact id.
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// Shell-style matching: `*` any run of characters, `?` any one.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

impl Filters {
    fn case_selected(&self, case: &Case) -> bool {
        (self.cases.is_empty() || self.cases.iter().any(|p| glob(p, &case.name)))
            && (self.groups.is_empty() || self.groups.contains(&CaseGroup::of(case)))
    }

    /// Whether `--only` keeps a unit with these sides. The reference's own units always
    /// stay: they are the expectations.
    pub fn sides_selected(&self, client: &Side, server: &Side) -> bool {
        let reference =
            |s: &Side| matches!(s, Side::Probe) || s.name() == crate::registry::reference();
        (reference(client) && reference(server))
            || self.only.is_empty()
            || self
                .only
                .iter()
                .any(|n| n == client.name() || n == server.name())
    }
}

fn unit_id(
    axis: Option<&str>,
    transport: Transport,
    client: &Side,
    server: &Side,
    case: &str,
) -> String {
    let prefix = axis.map(|a| format!("{a}::")).unwrap_or_default();
    format!(
        "{prefix}{transport}::{}-client::{}-server::{case}",
        client.name(),
        server.name()
    )
}

/// Every unit for `implementations` × `cases`, filtered, sorted by id.
///
/// Pairings for every client × server with a common transport; a server probe for every
/// server; a client probe for every client. The reference (`python`) takes part like
/// any other implementation: its own units are the expectations the others are judged by.
pub fn build(
    axis: Option<&str>,
    implementations: &[Implementation],
    cases: &[Arc<Case>],
    filters: &Filters,
) -> Vec<Unit> {
    let mut units = Vec::new();
    for transport in Transport::ALL {
        if !filters.transports.is_empty() && !filters.transports.contains(&transport) {
            continue;
        }
        let with = |role| -> Vec<Side> {
            implementations
                .iter()
                .filter(|i| i.role(RoleKey { transport, role }).is_some())
                .map(|i| Side::Impl(i.name.clone()))
                .collect()
        };
        let clients = with(Role::Client);
        let servers = with(Role::Server);
        let mut push = |client: &Side, server: &Side, kind: UnitKind, case: &Arc<Case>| {
            let id = unit_id(axis, transport, client, server, &case.name);
            {
                units.push(Unit {
                    id,
                    axis: axis.map(str::to_string),
                    transport,
                    client: client.clone(),
                    server: server.clone(),
                    kind,
                    case: Arc::clone(case),
                });
            }
        };
        for case in cases.iter().filter(|c| filters.case_selected(c)) {
            if case.applies_to(transport, None) {
                for c in &clients {
                    for s in &servers {
                        push(c, s, UnitKind::Pairing, case);
                    }
                }
            }
            if case.applies_to(transport, Some(Role::Client)) {
                for c in &clients {
                    push(c, &Side::Probe, UnitKind::ClientProbe, case);
                }
            }
            if case.applies_to(transport, Some(Role::Server)) {
                for s in &servers {
                    push(&Side::Probe, s, UnitKind::ServerProbe, case);
                }
            }
        }
    }
    units.sort_by(|a, b| a.id.cmp(&b.id));
    units
}

/// Whether `shout grade` runs `unit`. Grading asks what each of a student's roles does
/// alone, so it keeps the probes (the harness is the peer: no second process to start)
/// and pairs real programs only on `core` cases. It leaves out:
/// - shout's own roles: the reference is the one peer a student is measured against;
/// - the generated Unicode-version cases: which version a student's uppercase follows is
///   decided by their language's runtime (Node, the JDK, glibc), not by their code;
/// - a client probe of a `client-like` case: for a client it is alike to the case it
///   names (the same kind of text typed, the same kind of reply), which is probed;
/// - pairings on a `paired = false` core case: another core case pairs the same kind of
///   text.
///
/// Each start of a student's client costs more than anything else in grading (an
/// interpreter inside its sandbox); these two rules spare a third of them.
pub fn graded(unit: &Unit) -> bool {
    let shout = |s: &Side| s.name() == crate::registry::SHOUT;
    if shout(&unit.client) || shout(&unit.server) || unit.case.is_version_step() {
        return false;
    }
    match unit.kind {
        UnitKind::Pairing => {
            unit.case.category == crate::corpus::Category::Core && unit.case.grading.paired
        }
        UnitKind::ClientProbe => unit.case.grading.client_like.is_none(),
        UnitKind::ServerProbe => true,
    }
}

/// Which units must run so that the `wanted` ones (a mask over `units`) are judged as in
/// a full run: each wanted unit, plus, for its case on its axis and transport, what its
/// verdict is judged by. A pairing: the reference pair, each of its sides against the
/// reference peer, and the probes of its sides and of the reference. A server probe: the
/// probe of the reference server. A client probe: the probe of the reference client.
/// Returns the mask of units to run.
pub fn with_support(units: &[Unit], wanted: &[bool]) -> Vec<bool> {
    use std::collections::BTreeSet;
    let reference = || Side::Impl(crate::registry::reference().to_string());
    let mut needed: BTreeSet<(Option<&str>, Transport, &str, Side, Side)> = BTreeSet::new();
    for u in units
        .iter()
        .zip(wanted)
        .filter(|(_, w)| **w)
        .map(|(u, _)| u)
    {
        let key = |c: Side, s: Side| (u.axis.as_deref(), u.transport, u.case.name.as_str(), c, s);
        let support: Vec<(Side, Side)> = match u.kind {
            UnitKind::Pairing => vec![
                (reference(), reference()),
                (u.client.clone(), reference()),
                (reference(), u.server.clone()),
                (u.client.clone(), Side::Probe),
                (reference(), Side::Probe),
                (Side::Probe, u.server.clone()),
                (Side::Probe, reference()),
            ],
            UnitKind::ServerProbe => vec![(Side::Probe, reference())],
            UnitKind::ClientProbe => vec![(reference(), Side::Probe)],
        };
        for (c, s) in support {
            needed.insert(key(c, s));
        }
    }
    units
        .iter()
        .zip(wanted)
        .map(|(u, &w)| {
            w || needed.contains(&(
                u.axis.as_deref(),
                u.transport,
                u.case.name.as_str(),
                u.client.clone(),
                u.server.clone(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_a_shell() {
        assert!(glob("uni*", "unicode-9-0"));
        assert!(glob("*buffer*", "tcp-buffer-exact"));
        assert!(glob("hell?", "hello"));
        assert!(!glob("hell?", "hell"));
        assert!(!glob("a*b", "acbd"));
    }

    #[test]
    fn grading_probes_a_client_once_per_kind_of_text_and_pairs_distinct_core_text() {
        let unit = |kind, client: &str, server: &str, case: &Arc<Case>| {
            let side = |n: &str| {
                if n == PROBE {
                    Side::Probe
                } else {
                    Side::Impl(n.into())
                }
            };
            Unit {
                id: String::new(),
                axis: None,
                transport: Transport::Udp,
                client: side(client),
                server: side(server),
                kind,
                case: Arc::clone(case),
            }
        };
        let cases: Vec<Arc<Case>> = crate::corpus::load()
            .unwrap()
            .into_iter()
            .map(Arc::new)
            .collect();
        let graded_names = |kind, client, server| -> Vec<String> {
            cases
                .iter()
                .filter(|c| c.applies_to(Transport::Udp, None) && !c.is_version_step())
                .filter(|c| graded(&unit(kind, client, server, c)))
                .map(|c| c.name.clone())
                .collect()
        };
        let probed = graded_names(UnitKind::ClientProbe, "alice", PROBE);
        for gone in ["greek", "cyrillic", "sharp-s", "cjk-and-fullwidth"] {
            assert!(!probed.iter().any(|n| n == gone), "{gone} in {probed:?}");
        }
        for kept in [
            "hello",
            "korean",
            "latin-accents",
            "emoji",
            "turkish-i",
            "nul-byte",
        ] {
            assert!(probed.iter().any(|n| n == kept), "{kept} not in {probed:?}");
        }
        // Servers are probed with every case.
        let servers = graded_names(UnitKind::ServerProbe, PROBE, "alice");
        assert!(servers.iter().any(|n| n == "greek"), "{servers:?}");
        let paired = graded_names(UnitKind::Pairing, "alice", "python");
        assert_eq!(paired, ["hello", "mixed-case", "digits-punctuation"]);
    }

    #[test]
    fn ids_have_the_documented_shape() {
        let id = unit_id(
            None,
            Transport::Udp,
            &Side::Impl("python".into()),
            &Side::Impl("rust".into()),
            "korean",
        );
        assert_eq!(id, "udp::python-client::rust-server::korean");
        let id = unit_id(
            Some("py3.13"),
            Transport::Tcp,
            &Side::Probe,
            &Side::Impl("rust".into()),
            "x",
        );
        assert_eq!(id, "py3.13::tcp::probe-client::rust-server::x");
    }
}
