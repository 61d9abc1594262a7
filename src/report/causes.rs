//! Failures grouped by cause: one bug seen on many cases is one cause (its finding's
//! kind, the side at fault and the implementation behind it), with a count, the
//! plainest example and the ids behind it. Every report lists causes, not units; the
//! matrices still count units. Pure: it groups results, it writes nothing.

use std::collections::BTreeMap;

use crate::plan::UnitKind;
use crate::proto::Transport;
use crate::results::{Results, UnitResult};
use crate::verdict::{Fault, Finding, ServerFinding, Verdict};

/// Which units a list of causes covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// `fail` and `xpass`: what fails the run.
    Failures,
    /// `info` units that are a Unicode version difference alone: said once per
    /// implementation, never failed.
    VersionNotes,
}

impl Listing {
    fn covers(self, r: &UnitResult) -> bool {
        match self {
            Listing::Failures => r.verdict.is_failure() || r.verdict == Verdict::NonStrict,
            Listing::VersionNotes => {
                r.verdict == Verdict::Info
                    && matches!(
                        r.finding,
                        Some(Finding::Server(ServerFinding::VersionOnly { .. }))
                    )
            }
        }
    }
}

/// One cause and the units it explains.
#[derive(Debug, Clone)]
pub struct Cause<'a> {
    /// Who is at fault, in words: `alice server`, `bob client`, `bob client × alice
    /// server`, with the interpreter axis first when the run has several.
    pub who: String,
    /// The units, sorted by id.
    pub units: Vec<&'a UnitResult>,
}

impl<'a> Cause<'a> {
    /// The unit that shows the cause most plainly: a probe (its bytes are the reply
    /// itself), then a pairing with the reference, then any; the first by id among
    /// equals.
    pub fn example(&self) -> &'a UnitResult {
        self.units
            .iter()
            .copied()
            .min_by_key(|r| (plainness(r), r.id.as_str()))
            .expect("a cause has a unit")
    }

    /// The cause in one sentence: the example's diagnosis.
    pub fn sentence(&self) -> String {
        self.example()
            .diagnosis()
            .unwrap_or_else(|| match self.example().verdict {
                Verdict::Xpass => {
                    "passed, but listed as a known failure: remove it from the expectations".into()
                }
                Verdict::NonStrict => {
                    "answers more than the reference's buffers let it (non-strict)".into()
                }
                Verdict::Pass | Verdict::Fail | Verdict::Info | Verdict::Skip | Verdict::Xfail => {
                    "differs from the reference".into()
                }
            })
    }

    /// `udp 12, tcp 3`: the units per transport.
    pub fn per_transport(&self) -> String {
        Transport::ALL
            .iter()
            .filter_map(|t| {
                let n = self.units.iter().filter(|r| r.transport == *t).count();
                (n > 0).then(|| format!("{} {n}", t.as_str()))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The characters of the units' smallest inputs, each once, in id order: for a
    /// Unicode version difference, every character the two versions uppercase
    /// differently.
    pub fn characters(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.units {
            for c in r.minimal_input.as_deref().unwrap_or_default().chars() {
                let c = c.to_string();
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
        out
    }
}

fn plainness(r: &UnitResult) -> u8 {
    match r.kind {
        UnitKind::ServerProbe | UnitKind::ClientProbe => 0,
        UnitKind::Pairing
            if r.client == crate::registry::reference()
                || r.server == crate::registry::reference() =>
        {
            1
        }
        UnitKind::Pairing => 2,
    }
}

/// The implementation(s) behind a unit's cause.
fn who(r: &UnitResult) -> String {
    let side = match r.fault {
        Some(Fault::Server) => format!("{} server", r.server),
        Some(Fault::Client) => format!("{} client", r.client),
        Some(Fault::Both | Fault::Combination) => {
            format!("{} client × {} server", r.client, r.server)
        }
        // No side blamed: the side the finding speaks about (a version difference is
        // the server's), else the unit's implementations (a build, a stale known
        // failure).
        None if matches!(r.finding, Some(Finding::Server(_))) => format!("{} server", r.server),
        None if matches!(r.finding, Some(Finding::Client(_))) => format!("{} client", r.client),
        None => match (r.client.as_str(), r.server.as_str()) {
            (c, s) if c == s => c.to_string(),
            (crate::plan::PROBE, s) => format!("{s} server"),
            (c, crate::plan::PROBE) => format!("{c} client"),
            (c, s) => format!("{c} client × {s} server"),
        },
    };
    match &r.axis {
        Some(axis) => format!("{axis}: {side}"),
        None => side,
    }
}

/// The units `listing` covers, grouped by cause: the most units first, then by who and
/// kind.
pub fn causes(results: &Results, listing: Listing) -> Vec<Cause<'_>> {
    let mut groups: BTreeMap<(String, String, &'static str), Vec<&UnitResult>> = BTreeMap::new();
    for r in results.results.iter().filter(|r| listing.covers(r)) {
        let kind = r.finding.as_ref().map(Finding::code).unwrap_or_default();
        let fault = r.fault.map_or("", Fault::as_str);
        groups.entry((who(r), kind, fault)).or_default().push(r);
    }
    let mut out: Vec<Cause> = groups
        .into_iter()
        .map(|((who, _, _), mut units)| {
            units.sort_by(|a, b| a.id.cmp(&b.id));
            Cause { who, units }
        })
        .collect();
    out.sort_by(|a, b| b.units.len().cmp(&a.units.len()).then(a.who.cmp(&b.who)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::markdown::tests::{results_of, unit};

    #[test]
    fn one_bug_on_many_cases_is_one_cause_with_its_plainest_example() {
        let mut units = Vec::new();
        for case in ["hello", "korean", "sharp-s"] {
            units.push(unit(
                Transport::Udp,
                "python",
                "alice",
                case,
                Verdict::Fail,
                Some(b"HELLO"),
                Some(b"Hello"),
            ));
        }
        let mut probe = unit(
            Transport::Tcp,
            "probe",
            "alice",
            "hello",
            Verdict::Fail,
            Some(b"HELLO"),
            Some(b"Hello"),
        );
        probe.kind = UnitKind::ServerProbe;
        units.push(probe);
        // Another side's bug is another cause.
        let mut other = unit(
            Transport::Udp,
            "python",
            "bob",
            "hello",
            Verdict::Fail,
            Some(b"HELLO"),
            Some(b"Hello"),
        );
        other.fault = Some(Fault::Server);
        units.push(other);
        units.push(unit(
            Transport::Udp,
            "python",
            "alice",
            "digits",
            Verdict::Pass,
            Some(b"1"),
            Some(b"1"),
        ));
        let results = results_of(units);
        let found = causes(&results, Listing::Failures);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].who, "alice server");
        assert_eq!(found[0].units.len(), 4);
        assert_eq!(found[0].per_transport(), "udp 3, tcp 1");
        assert_eq!(found[0].example().kind, UnitKind::ServerProbe);
        assert_eq!(found[1].who, "bob server");
        assert!(causes(&results, Listing::VersionNotes).is_empty());
    }
}
