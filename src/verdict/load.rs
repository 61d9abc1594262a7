//! Judging a load case: each of several clients at once must get the uppercase of its
//! own line (the lines are plain ASCII, so every Unicode version agrees), and a server
//! must keep answering hundreds of requests in a row without keeping a descriptor per
//! request. Judged from what the harness saw, against the reference's run of the same
//! case only where the reference itself did not answer everyone. Pure.

use super::compare::{Judge, Outcome};
use super::finding::ServerFinding;
use super::model::{Fault, Verdict};
use crate::plan::PROBE;
use crate::run::execute::Executed;
use crate::run::observe::{Exchange, FromAddress, LoadSeen, Observation, Reply};

/// Descriptors a server may keep beyond what it held before the requests, whatever
/// their number (a log file, a thread's own): more than this, and more than one for
/// every two requests answered, is a leak.
const FD_SLACK: usize = 16;

/// Judges a server probe of a load case (`seen`).
pub(super) fn load_probe(e: &Executed, j: &Judge, seen: &LoadSeen) -> Outcome {
    let reference = j
        .index
        .get(&e.unit, PROBE, crate::registry::reference())
        .and_then(|r| match &r.observation {
            Observation::ServerProbe { load: Some(l), .. } => Some(l),
            _ => None,
        });
    match exited_under_load(e, seen).or_else(|| load_finding(seen, reference)) {
        None => Outcome::default(),
        Some(finding) => Outcome {
            verdict: Verdict::Fail,
            fault: Some(Fault::Server),
            finding: Some(finding.into()),
            ..Outcome::default()
        },
    }
}

/// A server that exited during a load case other than many requests in a row: the
/// exit is the finding (a one-shot server leaves the other clients unanswered), the
/// same one an ordinary probe gives it. Many requests in a row count the ones answered.
fn exited_under_load(e: &Executed, seen: &LoadSeen) -> Option<ServerFinding> {
    let Observation::ServerProbe { server, reply, .. } = &e.observation else {
        return None;
    };
    let exit = server.exited?;
    match seen {
        // None answered: the exit is why.
        LoadSeen::Volume { answered: 0, .. } => Some(ServerFinding::DiedWithoutReply { exit }),
        LoadSeen::Volume { .. } => None,
        LoadSeen::Concurrent { .. } | LoadSeen::Addresses { .. } | LoadSeen::Late { .. } => {
            let control = matches!(
                seen,
                LoadSeen::Late {
                    control_answered: true,
                    ..
                }
            );
            Some(match reply {
                Reply::Bytes { .. } => ServerFinding::AnsweredThenExited { exit },
                _ if control => ServerFinding::AnsweredThenExited { exit },
                Reply::Nothing | Reply::Refused => ServerFinding::DiedWithoutReply { exit },
            })
        }
    }
}

/// What is wrong under this load, if anything. `reference` is what the reference did
/// under the same load, when known.
fn load_finding(seen: &LoadSeen, reference: Option<&LoadSeen>) -> Option<ServerFinding> {
    match seen {
        LoadSeen::Concurrent { exchanges, .. } => {
            let everyone_answered = |l: Option<&LoadSeen>| match l {
                Some(LoadSeen::Concurrent { exchanges, .. }) => {
                    exchanges.iter().all(|x| x.answered)
                }
                _ => false,
            };
            mixed(exchanges).or_else(|| {
                let unanswered = exchanges.iter().filter(|x| !x.answered).count();
                if unanswered == 0 || !everyone_answered(reference) {
                    return None;
                }
                // Nobody answered: not a matter of load, but not a pass either.
                Some(if unanswered == exchanges.len() {
                    ServerFinding::NeverReplied
                } else {
                    ServerFinding::ConcurrentUnanswered {
                        unanswered,
                        clients: exchanges.len(),
                    }
                })
            })
        }
        LoadSeen::Addresses { exchanges } => {
            let reference = match reference {
                Some(LoadSeen::Addresses { exchanges }) => exchanges.as_slice(),
                _ => &[],
            };
            address_finding(exchanges, reference)
        }
        // The line sent at once went unanswered too: not a matter of timing, but not a
        // pass either where the reference answered it.
        LoadSeen::Late {
            control_answered: false,
            ..
        } => matches!(
            reference,
            Some(LoadSeen::Late {
                control_answered: true,
                ..
            })
        )
        .then_some(ServerFinding::NeverReplied),
        LoadSeen::Late {
            after_ms, exchange, ..
        } => {
            let reference_answered = matches!(
                reference,
                Some(LoadSeen::Late { exchange, .. }) if exchange.answered && !exchange.reply.is_empty()
            );
            // No reply, or an empty one, to a late line the reference answered: the
            // server did not wait for it. A reply with other bytes is another case's
            // business (its mistake shows on lines sent at once too).
            (reference_answered && exchange.reply.is_empty()).then_some(
                ServerFinding::GaveUpOnLateLine {
                    after_ms: *after_ms,
                },
            )
        }
        LoadSeen::Volume {
            requests,
            answered,
            unanswered_at,
            fds_before,
            fds_after,
            ..
        } => {
            let reference_kept_on = match reference {
                Some(LoadSeen::Volume { unanswered_at, .. }) => unanswered_at.is_none(),
                _ => false,
            };
            // A server that answered none has another problem than volume, but it did
            // not pass: the other problem is its finding (grouped with the same symptom
            // of its other units).
            match (unanswered_at, reference_kept_on) {
                (Some(0), true) => return Some(ServerFinding::NeverReplied),
                (Some(after), true) => {
                    return Some(ServerFinding::StoppedAnswering {
                        after: *after,
                        of: *requests,
                    })
                }
                _ => {}
            }
            let grew = (*fds_after)?.saturating_sub((*fds_before)?);
            (grew > FD_SLACK && grew * 2 >= *answered).then_some(ServerFinding::LeaksDescriptors {
                requests: *answered,
                grew,
            })
        }
    }
}

/// The first source address whose request went unanswered where the reference's was
/// answered (IPv6: where this server listens at all), and why.
fn address_finding(seen: &[FromAddress], reference: &[FromAddress]) -> Option<ServerFinding> {
    // The control, 127.0.0.1 to itself: unanswered, the problem is not addresses (but
    // where the reference answered it, the server failed all the same).
    let (control, seen) = seen.split_first()?;
    if !control.exchange.answered {
        let answered = reference.first().is_some_and(|r| r.exchange.answered);
        return answered.then_some(ServerFinding::NeverReplied);
    }
    let reference = reference.get(1..).unwrap_or_default();
    seen.iter().enumerate().find_map(|(k, a)| {
        let reference_answered = reference.get(k).is_some_and(|r| r.exchange.answered);
        let expected = reference_answered || (a.to.starts_with('[') && !a.not_listening);
        if a.exchange.answered || a.not_listening || !expected {
            return None;
        }
        let (from, to) = (a.from.clone(), a.to.clone());
        let datagram = a.tcp_refused.is_none();
        let ipv6 = a.to.starts_with('[');
        Some(match (k, datagram, a.tcp_refused) {
            // From 127.0.0.2 to 127.0.0.1, where the server surely listens.
            (0, true, _) => ServerFinding::RepliesToFixedAddress { from },
            (_, false, Some(true)) => ServerFinding::NotListeningOn { to },
            // Another IPv4 address than 127.0.0.1, which answered.
            (_, true, _) if !ipv6 => ServerFinding::NotListeningOn { to },
            _ => ServerFinding::UnansweredFrom { from, to },
        })
    })
}

/// A client that got, instead of the uppercase of its own line, that of another
/// client's line.
fn mixed(exchanges: &[Exchange]) -> Option<ServerFinding> {
    let want: Vec<Vec<u8>> = exchanges
        .iter()
        .map(|x| x.sent.to_ascii_uppercase())
        .collect();
    exchanges.iter().enumerate().find_map(|(i, x)| {
        if !x.answered || x.reply == want[i] {
            return None;
        }
        let other = want
            .iter()
            .enumerate()
            .position(|(k, w)| k != i && x.reply == *w)?;
        Some(ServerFinding::MixedConcurrentReplies {
            client: i + 1,
            got: other + 1,
            clients: exchanges.len(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(sent: &str, reply: Option<&str>) -> Exchange {
        Exchange {
            sent: sent.into(),
            answered: reply.is_some(),
            reply: reply.unwrap_or_default().into(),
        }
    }

    fn concurrent(pairs: &[(&str, Option<&str>)]) -> LoadSeen {
        LoadSeen::Concurrent {
            exchanges: pairs.iter().map(|&(s, r)| exchange(s, r)).collect(),
            ms: 0,
        }
    }

    #[test]
    fn a_reply_to_another_clients_line_is_mixing_a_wrong_reply_is_not() {
        let right = concurrent(&[("a1", Some("A1")), ("b2", Some("B2"))]);
        assert_eq!(load_finding(&right, Some(&right)), None);
        let swapped = concurrent(&[("a1", Some("B2")), ("b2", Some("B2"))]);
        assert_eq!(
            load_finding(&swapped, Some(&right)),
            Some(ServerFinding::MixedConcurrentReplies {
                client: 1,
                got: 2,
                clients: 2
            })
        );
        // Lowercase replies are another case's business.
        let lower = concurrent(&[("a1", Some("a1")), ("b2", Some("b2"))]);
        assert_eq!(load_finding(&lower, Some(&right)), None);
    }

    #[test]
    fn an_unanswered_client_counts_only_where_the_reference_answered_everyone() {
        let right = concurrent(&[("a1", Some("A1")), ("b2", Some("B2"))]);
        let one = concurrent(&[("a1", Some("A1")), ("b2", None)]);
        assert_eq!(
            load_finding(&one, Some(&right)),
            Some(ServerFinding::ConcurrentUnanswered {
                unanswered: 1,
                clients: 2
            })
        );
        assert_eq!(load_finding(&one, Some(&one)), None);
        assert_eq!(load_finding(&one, None), None);
        // Nobody answered: a failure all the same, named as the silence it is.
        let none = concurrent(&[("a1", None), ("b2", None)]);
        assert_eq!(
            load_finding(&none, Some(&right)),
            Some(ServerFinding::NeverReplied)
        );
        assert_eq!(load_finding(&none, Some(&none)), None);
    }

    #[test]
    fn a_server_that_answers_nothing_under_load_does_not_pass() {
        // Many requests: the first went unanswered (a server that accepted once, for an
        // earlier case, and never again).
        let reference = volume(300, None, (4, 4));
        assert_eq!(
            load_finding(&volume(0, Some(0), (4, 4)), Some(&reference)),
            Some(ServerFinding::NeverReplied)
        );
    }

    fn from(from: &str, to: &str, answered: bool, tcp_refused: Option<bool>) -> FromAddress {
        FromAddress {
            from: from.into(),
            to: to.into(),
            exchange: exchange("x", answered.then_some("X")),
            not_listening: to.starts_with('[') && !answered && tcp_refused != Some(false),
            tcp_refused,
        }
    }

    #[test]
    fn an_unanswered_source_address_is_named_by_its_mechanism() {
        let udp = |a, b, six| LoadSeen::Addresses {
            exchanges: vec![
                from("127.0.0.1:5", "127.0.0.1:9", true, None),
                from("127.0.0.2:5", "127.0.0.1:9", a, None),
                from("127.1.2.3:5", "127.1.2.3:9", b, None),
                from("[::1]:5", "[::1]:9", six, None),
            ],
        };
        let reference = udp(true, true, false);
        assert_eq!(load_finding(&reference, Some(&reference)), None);
        assert_eq!(
            load_finding(&udp(false, false, false), Some(&reference)),
            Some(ServerFinding::RepliesToFixedAddress {
                from: "127.0.0.2:5".into()
            })
        );
        assert_eq!(
            load_finding(&udp(true, false, false), Some(&reference)),
            Some(ServerFinding::NotListeningOn {
                to: "127.1.2.3:9".into()
            })
        );
        // A server that does not answer 127.0.0.1 either has another problem, and fails.
        let mut deaf = udp(false, false, false);
        if let LoadSeen::Addresses { exchanges } = &mut deaf {
            exchanges[0].exchange.answered = false;
        }
        assert_eq!(
            load_finding(&deaf, Some(&reference)),
            Some(ServerFinding::NeverReplied)
        );
        assert_eq!(load_finding(&deaf, Some(&deaf)), None);
        // Not listening on IPv6, like the reference, is fine; listening there and not
        // answering is not.
        let mut silent_six = udp(true, true, false);
        if let LoadSeen::Addresses { exchanges } = &mut silent_six {
            exchanges[3].not_listening = false;
        }
        assert_eq!(
            load_finding(&silent_six, Some(&reference)),
            Some(ServerFinding::UnansweredFrom {
                from: "[::1]:5".into(),
                to: "[::1]:9".into()
            })
        );
    }

    #[test]
    fn only_no_reply_to_a_late_line_is_giving_up_on_it() {
        let late = |reply: Option<&str>| LoadSeen::Late {
            control_answered: true,
            after_ms: 1000,
            exchange: exchange("late", reply),
        };
        let reference = late(Some("LATE"));
        assert_eq!(load_finding(&late(Some("LATE")), Some(&reference)), None);
        assert_eq!(
            load_finding(&late(None), Some(&reference)),
            Some(ServerFinding::GaveUpOnLateLine { after_ms: 1000 })
        );
        // A reply with a newline added is the mistake of every line, not of a late one.
        assert_eq!(load_finding(&late(Some("LATE\n")), Some(&reference)), None);
    }

    fn volume(answered: usize, unanswered_at: Option<usize>, fds: (usize, usize)) -> LoadSeen {
        LoadSeen::Volume {
            requests: 300,
            sent: answered + usize::from(unanswered_at.is_some()),
            answered,
            unanswered_at,
            fds_before: Some(fds.0),
            fds_after: Some(fds.1),
            ms: 0,
        }
    }

    #[test]
    fn stopping_after_n_requests_and_a_descriptor_per_request_are_findings() {
        let reference = volume(300, None, (4, 4));
        assert_eq!(load_finding(&reference, Some(&reference)), None);
        assert_eq!(
            load_finding(&volume(100, Some(100), (4, 4)), Some(&reference)),
            Some(ServerFinding::StoppedAnswering {
                after: 100,
                of: 300
            })
        );
        assert_eq!(
            load_finding(&volume(300, None, (4, 304)), Some(&reference)),
            Some(ServerFinding::LeaksDescriptors {
                requests: 300,
                grew: 300
            })
        );
        // A few more descriptors (a log file, a thread pool) are no leak.
        assert_eq!(
            load_finding(&volume(300, None, (4, 12)), Some(&reference)),
            None
        );
    }
}
