//! Settling one implementation's findings together. Each unit is judged alone, but one
//! bug shows up on many cases, sometimes in ways another reading explains as well: an
//! ASCII-only server leaves `ƛ` unchanged, which is also what Unicode 9.0 does. Here
//! the reading that explains most of a server's replies wins for every reply it
//! explains, and a difference of Unicode version alone becomes what the server's
//! [`UnicodePolicy`] says it is. Pure: it rewrites judged units, starts nothing.

use std::collections::BTreeMap;

use super::compare::{Context, Judged};
use super::diagnose::Transform;
use super::finding::{Finding, Mapping, ServerFinding};
use super::model::{Fault, Verdict};
use crate::proto::case::{upper_str, UnicodeVersion};
use crate::registry::UnicodePolicy;
use crate::run::observe::Observation;
use crate::run::wire::Peer;

/// A reading of a server's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reading {
    /// Another case mapping than Python's `upper()`.
    Mapping(Mapping),
    /// Another Unicode version.
    Version,
}

/// The mappings, narrowest first: where two explain a reply equally often, the first
/// (an echo before lowercasing: on lowercase requests the two look the same).
const MAPPINGS: [Mapping; 6] = [
    Mapping::Simple,
    Mapping::AsciiOnly,
    Mapping::Title,
    Mapping::SwapCase,
    Mapping::Identity,
    Mapping::Lower,
];

fn transform(m: Mapping) -> Transform {
    match m {
        Mapping::Lower => Transform::Lower,
        Mapping::Title => Transform::Title,
        Mapping::SwapCase => Transform::SwapCase,
        Mapping::AsciiOnly => Transform::AsciiUpper,
        Mapping::Simple => Transform::Simple,
        Mapping::Identity => Transform::Identity,
    }
}

/// One failing unit whose finding is a reading of the server's reply.
struct Read {
    /// Its index in the judged units.
    at: usize,
    /// The request, as text.
    text: String,
    /// Every reading that explains the reply.
    readings: Vec<Reading>,
}

/// Settles the findings of each server across its units (see the module doc).
pub fn settle(judged: &mut [Judged], ctx: &Context) {
    stopped_accepting(judged);
    let mut by_server: BTreeMap<(Option<String>, String), Vec<usize>> = BTreeMap::new();
    for (i, j) in judged.iter().enumerate() {
        if read_finding(j) {
            let u = &j.executed.unit;
            let key = (u.axis.clone(), u.server.name().to_string());
            by_server.entry(key).or_default().push(i);
        }
    }
    for ((axis, server), units) in by_server {
        let (runtime, reference) = ctx
            .reference_runtime
            .get(&axis)
            .cloned()
            .unwrap_or_else(|| ("Python 3".into(), UnicodeVersion::DEFAULT));
        reconcile(judged, &units, reference);
        let agreed = agreeing_versions(judged, (&axis, &server), reference);
        narrow(judged, &units, &agreed);
        let policy = ctx
            .unicode
            .get(&server)
            .copied()
            .unwrap_or(UnicodePolicy::Reference);
        versions_only(
            judged,
            &units,
            policy,
            ctx.strict_unicode,
            (&runtime, reference),
        );
    }
}

/// A TCP server seen leaving connections unaccepted: every other unanswered request of
/// that server is the same bug, not a new one (a reply never sent, a refused or reset
/// connection, a crash of the busy loop that followed its one connection).
fn stopped_accepting(judged: &mut [Judged]) {
    let key = |j: &Judged| {
        let u = &j.executed.unit;
        (u.axis.clone(), u.server.name().to_string(), u.transport)
    };
    let servers: Vec<_> = judged
        .iter()
        .filter(|j| j.finding == Some(ServerFinding::StoppedAccepting.into()))
        .map(key)
        .collect();
    for j in judged.iter_mut() {
        let symptom = matches!(
            &j.finding,
            Some(Finding::Server(
                ServerFinding::NeverReplied
                    | ServerFinding::NeverRepliedNorClosed
                    | ServerFinding::Refused
                    | ServerFinding::ExitedWhenClientClosed { .. }
                    | ServerFinding::DiedWithoutReply { .. }
                    | ServerFinding::AnsweredThenStopped
                    | ServerFinding::AnsweredThenExited { .. }
                    | ServerFinding::StoppedAnswering { .. }
                    | ServerFinding::ConcurrentUnanswered { .. }
                    | ServerFinding::GaveUpOnLateLine { .. }
            ))
        );
        if symptom && j.verdict == Verdict::Fail && servers.contains(&key(j)) {
            j.finding = Some(ServerFinding::StoppedAccepting.into());
            j.minimal = None;
        }
    }
}

/// Whether `j` failed on the server's side with a reading of its reply.
fn read_finding(j: &Judged) -> bool {
    j.verdict == Verdict::Fail
        && matches!(j.fault, Some(Fault::Server | Fault::Both))
        && matches!(
            j.finding,
            Some(Finding::Server(
                ServerFinding::CaseMapping { .. } | ServerFinding::OtherUnicode { .. }
            ))
        )
}

/// The server's reply in unit `j`: a probe's reply, or what the server sent in a
/// pairing.
fn reply(j: &Judged) -> Option<Vec<u8>> {
    match &j.executed.observation {
        Observation::Pairing { wire, .. } => Some(wire.sent_by(Peer::Server)),
        Observation::ServerProbe { .. } => j.actual.clone(),
        Observation::ClientProbe { .. } | Observation::NotRun { .. } => None,
    }
}

/// Every reading that explains each unit's reply.
fn readings(judged: &[Judged], units: &[usize], reference: UnicodeVersion) -> Vec<Read> {
    let mut out = Vec::new();
    for &at in units {
        let j = &judged[at];
        let (Some(reply), Ok(text)) = (
            reply(j),
            String::from_utf8(j.executed.unit.case.request_bytes()),
        ) else {
            continue;
        };
        let mut readings: Vec<Reading> = MAPPINGS
            .into_iter()
            .filter(|&m| transform(m).apply(&text, reference).as_bytes() == reply)
            .map(Reading::Mapping)
            .collect();
        if UnicodeVersion::supported()
            .iter()
            .any(|&v| v != reference && upper_str(&text, v).as_bytes() == reply)
        {
            readings.push(Reading::Version);
        }
        out.push(Read { at, text, readings });
    }
    out
}

/// The reading that explains most of the server's replies wins every reply it explains;
/// then the next, among the replies left.
fn reconcile(judged: &mut [Judged], units: &[usize], reference: UnicodeVersion) {
    let mut left = readings(judged, units, reference);
    while !left.is_empty() {
        let mut counts: BTreeMap<Reading, usize> = BTreeMap::new();
        for r in &left {
            for &reading in &r.readings {
                *counts.entry(reading).or_default() += 1;
            }
        }
        // Most replies first; among equals, another Unicode version (no mistake
        // explains them better), then the narrowest mapping in `MAPPINGS` order.
        let rank = |r: &Reading| match r {
            Reading::Version => 0,
            Reading::Mapping(m) => 1 + MAPPINGS.iter().position(|x| x == m).unwrap_or(0),
        };
        let Some(best) = counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(rank(b.0).cmp(&rank(a.0))))
            .map(|(r, _)| *r)
        else {
            return;
        };
        let (explained, rest): (Vec<Read>, Vec<Read>) =
            left.into_iter().partition(|r| r.readings.contains(&best));
        for r in explained {
            if let Reading::Mapping(m) = best {
                retell_as_mapping(&mut judged[r.at], m, &r.text, reference);
            }
        }
        left = rest;
    }
}

/// Unit `j`'s reply, read as mapping `m`: the finding and the smallest input showing it.
fn retell_as_mapping(j: &mut Judged, m: Mapping, text: &str, reference: UnicodeVersion) {
    if j.finding == Some(ServerFinding::CaseMapping { mapping: m }.into()) {
        return;
    }
    let t = transform(m);
    j.finding = Some(ServerFinding::CaseMapping { mapping: m }.into());
    j.minimal = text
        .chars()
        .find(|c| {
            let s = c.to_string();
            t.apply(&s, reference) != upper_str(&s, reference)
        })
        .map(|c| c.to_string());
}

/// The supported Unicode versions under which every version case `server` (on `axis`)
/// passed gets the reply it got: a server that passed the 11.0, 12.0 and 13.0 steps
/// follows 13.0 or later, whatever its failures alone allow.
fn agreeing_versions(
    judged: &[Judged],
    (axis, server): (&Option<String>, &str),
    reference: UnicodeVersion,
) -> Vec<UnicodeVersion> {
    let passed: Vec<String> = judged
        .iter()
        .filter(|j| {
            let u = &j.executed.unit;
            j.verdict == Verdict::Pass
                && u.case.is_version_step()
                && &u.axis == axis
                && u.server.name() == server
        })
        .filter_map(|j| String::from_utf8(j.executed.unit.case.request_bytes()).ok())
        .collect();
    UnicodeVersion::supported()
        .iter()
        .copied()
        .filter(|&v| {
            passed
                .iter()
                .all(|text| upper_str(text, v) == upper_str(text, reference))
        })
        .collect()
}

/// Narrows each other-version finding's range to the versions in `agreed` (unless none
/// of its range is there: then the passes and the failure disagree, and it stays).
fn narrow(judged: &mut [Judged], units: &[usize], agreed: &[UnicodeVersion]) {
    for &at in units {
        if let Some(Finding::Server(ServerFinding::OtherUnicode { from, to, .. })) =
            &mut judged[at].finding
        {
            let within = agreed.iter().filter(|v| (*from..=*to).contains(v));
            if let (Some(lo), Some(hi)) = (within.clone().min(), within.max()) {
                (*from, *to) = (*lo, *hi);
            }
        }
    }
}

/// A server's version differences, under its policy: those one version explains are a
/// version difference alone (`info`, or `fail` when strict); the others stay failures.
fn versions_only(
    judged: &mut [Judged],
    units: &[usize],
    policy: UnicodePolicy,
    strict: bool,
    (runtime, reference): (&str, UnicodeVersion),
) {
    let ranges: Vec<(usize, UnicodeVersion, UnicodeVersion)> = units
        .iter()
        .filter_map(|&at| match &judged[at].finding {
            Some(Finding::Server(ServerFinding::OtherUnicode { from, to, .. })) => {
                Some((at, *from, *to))
            }
            _ => None,
        })
        .collect();
    let follows = match policy {
        UnicodePolicy::Reference => return,
        UnicodePolicy::Declared(v) => Some((v, v)),
        // One version must explain every difference; then that is the server's.
        UnicodePolicy::Auto => ranges.iter().try_fold(
            (UnicodeVersion::supported()[0], UnicodeVersion::DEFAULT),
            |(lo, hi), &(_, from, to)| {
                let (lo, hi) = (lo.max(from), hi.min(to));
                (lo <= hi).then_some((lo, hi))
            },
        ),
    };
    let Some((lo, hi)) = follows else { return };
    for (at, from, to) in ranges {
        if from > hi || to < lo {
            continue;
        }
        let j = &mut judged[at];
        // Every character of the request the two versions uppercase differently: the
        // characters this difference concerns.
        let request = String::from_utf8_lossy(&j.executed.unit.case.request_bytes()).into_owned();
        let mut concerned = String::new();
        for c in request.chars() {
            let one = c.to_string();
            let differs = [from, to]
                .iter()
                .any(|&v| upper_str(&one, v) != upper_str(&one, reference));
            if differs && !concerned.contains(c) {
                concerned.push(c);
            }
        }
        if !concerned.is_empty() {
            j.minimal = Some(concerned);
        }
        j.finding = Some(
            ServerFinding::VersionOnly {
                from: lo,
                to: hi,
                declared: matches!(policy, UnicodePolicy::Declared(_)),
                reference,
                runtime: runtime.to_string(),
            }
            .into(),
        );
        if !strict {
            j.verdict = Verdict::Info;
            j.fault = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::corpus::{Case, Input};
    use crate::plan::UnitKind;
    use crate::run::observe::Reply;
    use crate::run::testing;

    const V14: UnicodeVersion = UnicodeVersion {
        major: 14,
        minor: 0,
        update: 0,
    };

    fn ctx(policy: UnicodePolicy, strict: bool) -> Context {
        Context {
            reference_runtime: [(None, ("Python 3.11".to_string(), V14))]
                .into_iter()
                .collect(),
            client_output: BTreeMap::new(),
            unicode: [("alice".to_string(), policy)].into_iter().collect(),
            strict_unicode: strict,
        }
    }

    /// A failing server probe of `alice` on `input` that replied `reply`, with the
    /// finding the unit alone gives.
    fn probe(input: &str, reply: &str) -> Judged {
        let mut unit = testing::unit(crate::plan::PROBE, "alice", "c");
        unit.case = Arc::new(Case {
            input: Input::Line(input.into()),
            ..(*unit.case).clone()
        });
        let observation = testing::server_probe(Reply::Bytes {
            bytes: reply.as_bytes().to_vec(),
            reset: false,
        });
        let executed = testing::executed(unit, observation);
        let (finding, minimal) = super::super::diagnose::diagnose_reply(
            input.as_bytes(),
            upper_str(input, V14).as_bytes(),
            reply.as_bytes(),
            V14,
            "3.11",
        );
        Judged {
            executed,
            verdict: Verdict::Fail,
            fault: Some(Fault::Server),
            expected: Some(upper_str(input, V14).into_bytes()),
            actual: Some(reply.as_bytes().to_vec()),
            finding: Some(finding.into()),
            minimal,
        }
    }

    fn kind(j: &Judged) -> String {
        j.finding.as_ref().map(Finding::code).unwrap_or_default()
    }

    #[test]
    fn an_ascii_only_server_is_one_bug_not_also_an_old_unicode_version() {
        // Georgian ა gained its uppercase (Ა) in Unicode 11.0: ASCII-only leaves it, as
        // does 9.0; but for `é` only ASCII-only explains the reply, and ß reads as a
        // simple mapping on its own.
        let newer = "a \u{10d0}";
        let mut judged = vec![
            probe("café", "CAFé"),
            probe("straße", "STRAßE"),
            probe(newer, &newer.to_ascii_uppercase()),
        ];
        assert_eq!(kind(&judged[1]), "server-case-mapping-simple");
        settle(&mut judged, &ctx(UnicodePolicy::Auto, false));
        for j in &judged {
            assert_eq!(kind(j), "server-case-mapping-ascii-only", "{:?}", j.finding);
            assert_eq!(j.verdict, Verdict::Fail);
        }
    }

    #[test]
    fn a_newer_unicode_alone_is_info_under_auto_and_fails_when_strict() {
        let v17: UnicodeVersion = "17.0".parse().unwrap();
        let input = "x \u{19b}";
        let make = || vec![probe(input, &upper_str(input, v17))];
        let mut judged = make();
        assert_eq!(kind(&judged[0]), "server-other-unicode");
        settle(&mut judged, &ctx(UnicodePolicy::Auto, false));
        assert_eq!(judged[0].verdict, Verdict::Info);
        assert_eq!(kind(&judged[0]), "server-version-only");
        // The characters it concerns: every one the versions uppercase differently.
        assert_eq!(judged[0].minimal.as_deref(), Some("\u{19b}"));
        let mut judged = make();
        settle(&mut judged, &ctx(UnicodePolicy::Auto, true));
        assert_eq!(judged[0].verdict, Verdict::Fail);
        assert_eq!(kind(&judged[0]), "server-version-only");
        // The reference's policy: a Python server must follow the reference's version.
        let mut judged = make();
        settle(&mut judged, &ctx(UnicodePolicy::Reference, false));
        assert_eq!(judged[0].verdict, Verdict::Fail);
        assert_eq!(kind(&judged[0]), "server-other-unicode");
        // A declared version that does not explain the reply leaves it a failure.
        let mut judged = make();
        settle(
            &mut judged,
            &ctx(UnicodePolicy::Declared("9.0".parse().unwrap()), false),
        );
        assert_eq!(judged[0].verdict, Verdict::Fail);
    }

    #[test]
    fn versions_that_disagree_are_not_one_servers_version() {
        // One reply follows 16.0+, another a version before 14.0: no one version
        // explains both, so neither is forgiven.
        let v16: UnicodeVersion = "16.0".parse().unwrap();
        let v9: UnicodeVersion = "9.0".parse().unwrap();
        let newer = "x \u{19b}";
        // Georgian ა gained its uppercase (Ა) in Unicode 11.0.
        let older = "\u{10d0}";
        assert_ne!(upper_str(older, v9), upper_str(older, V14));
        let mut judged = vec![
            probe(newer, &upper_str(newer, v16)),
            probe(older, &upper_str(older, v9)),
        ];
        settle(&mut judged, &ctx(UnicodePolicy::Auto, false));
        assert!(judged.iter().all(|j| j.verdict == Verdict::Fail));
    }

    /// A passing server probe of `alice` on the generated case of the step `a`→`b`.
    fn passed_step(a: &str, b: &str) -> Judged {
        let (a, b): (UnicodeVersion, UnicodeVersion) = (a.parse().unwrap(), b.parse().unwrap());
        let text: String = crate::proto::case::changed_between(a, b)
            .into_iter()
            .take(8)
            .collect();
        let mut j = probe(&text, &upper_str(&text, V14));
        let name = format!("unicode-{}-{}-to-{}-{}", a.major, a.minor, b.major, b.minor);
        j.executed.unit.case = Arc::new(Case {
            name,
            category: crate::corpus::Category::Unicode,
            ..(*j.executed.unit.case).clone()
        });
        assert!(j.executed.unit.case.is_version_step());
        (j.verdict, j.fault, j.finding) = (Verdict::Pass, None, None);
        j
    }

    #[test]
    fn a_version_range_is_narrowed_by_the_version_cases_the_server_passed() {
        // A Java 17 server follows Unicode 13.0: it fails the 13.0-to-14.0 step, which
        // alone every version up to 13.0 explains, and passes the steps up to 13.0.
        let v13: UnicodeVersion = "13.0".parse().unwrap();
        let chars: String = crate::proto::case::changed_between(v13, V14)
            .into_iter()
            .take(8)
            .collect();
        let make = || {
            vec![
                probe(&chars, &upper_str(&chars, v13)),
                passed_step("10.0", "11.0"),
                passed_step("11.0", "12.0"),
                passed_step("12.0", "13.0"),
            ]
        };
        let judged = make();
        let Some(Finding::Server(ServerFinding::OtherUnicode { from, to, .. })) =
            &judged[0].finding
        else {
            panic!("{:?}", judged[0].finding)
        };
        assert!(*from < v13 && *to == v13, "alone: {from}–{to}");
        for policy in [UnicodePolicy::Reference, UnicodePolicy::Auto] {
            let mut judged = make();
            settle(&mut judged, &ctx(policy, false));
            let range = match &judged[0].finding {
                Some(Finding::Server(
                    ServerFinding::OtherUnicode { from, to, .. }
                    | ServerFinding::VersionOnly { from, to, .. },
                )) => (*from, *to),
                other => panic!("{other:?}"),
            };
            assert_eq!(range, (v13, v13), "{policy:?}");
        }
    }

    #[test]
    fn an_echo_of_lowercase_requests_is_an_echo_not_lowercasing() {
        let mut judged = vec![
            probe("hello world", "hello world"),
            probe("the quick brown fox", "the quick brown fox"),
        ];
        settle(&mut judged, &ctx(UnicodePolicy::Auto, false));
        for j in &judged {
            assert_eq!(kind(j), "server-case-mapping-identity");
        }
    }

    #[test]
    fn pairings_read_the_reply_from_the_wire() {
        let j = probe("café", "CAFé");
        assert_eq!(j.executed.unit.kind, UnitKind::ServerProbe);
        assert_eq!(reply(&j).as_deref(), Some("CAFé".as_bytes()));
    }
}
