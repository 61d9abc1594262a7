//! The servers student clients name, sorted by how grading makes each one reach the test
//! server: a host name (`hostname`, `labpc-07`) goes in the private `/etc/hosts`, mapped
//! to `127.0.0.1`; an address other than `127.0.0.1` (`192.168.0.123`, `10.0.0.117`,
//! `fd00::7`) is added to the loopback interface of each private network, where the
//! harness listens on every address. And, where this machine lacks what that needs,
//! which clients cannot be graded and why (never a 0 for the student).
//!
//! Pure: it reads detected submissions and words what cannot be done.

use std::net::{IpAddr, Ipv4Addr};

use super::detect::{Sources, Submission};
use crate::registry::{Role, RoleKey};

/// The textbook's placeholders, which every private hosts file maps.
const PLACEHOLDER_HOSTS: [&str; 2] = ["hostname", "servername"];

/// A server a client names, by what grading does for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ServerHost {
    /// This machine as the harness listens for it (`localhost`, `127.0.0.1`, `::1`, and
    /// `0.0.0.0` or `''`, which Linux sends to `127.0.0.1`): nothing to do.
    Loopback,
    /// A name the private hosts file maps to `127.0.0.1`.
    Name(String),
    /// An address the private network's loopback interface gets.
    Address(IpAddr),
}

/// What grading does for `host`.
pub(super) fn classify(host: &str) -> ServerHost {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        let here = ip == IpAddr::V4(Ipv4Addr::LOCALHOST)
            || ip.is_unspecified()
            || (ip.is_ipv6() && ip.is_loopback());
        return if here {
            ServerHost::Loopback
        } else {
            ServerHost::Address(ip)
        };
    }
    let lower = bare.to_ascii_lowercase();
    if bare.is_empty() || ["localhost", "ip6-localhost", "ip6-loopback"].contains(&lower.as_str()) {
        ServerHost::Loopback
    } else {
        ServerHost::Name(bare.to_string())
    }
}

/// Every name the private hosts file maps to `127.0.0.1`: the textbook's placeholders,
/// then each name any client of `submissions` names (that a hosts file can hold), once.
pub(super) fn host_names(submissions: &[Result<Submission, String>]) -> Vec<String> {
    let mut names: Vec<String> = PLACEHOLDER_HOSTS.iter().map(|h| h.to_string()).collect();
    for s in submissions {
        let Ok(Submission::Sources(s)) = s else {
            continue;
        };
        for host in s.client_hosts() {
            if let ServerHost::Name(name) = classify(host) {
                let fits = name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
                if fits && !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    names
}

/// The addresses a submission's clients send to that its private networks must have.
pub(super) fn client_addresses(s: &Sources) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for host in s.client_hosts() {
        if let ServerHost::Address(ip) = classify(host) {
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
    }
    out
}

/// What this machine can do for the servers clients name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reach {
    /// Each server gets a network namespace of its own, where addresses can be added.
    pub(super) own_networks: bool,
    /// Programs see the private hosts file (a mount namespace, or bubblewrap's).
    pub(super) hosts_file: bool,
}

/// The clients of `s` that cannot reach the test server on this machine, each with why,
/// in words for the grader and the student: such a client is not graded.
pub(super) fn unreachable_clients(s: &Sources, reach: Reach) -> Vec<(RoleKey, String)> {
    let mut out = Vec::new();
    for (key, role) in &s.roles {
        if key.role != Role::Client {
            continue;
        }
        let why = role.hosts.iter().find_map(|h| match classify(h) {
            ServerHost::Address(ip) if !reach.own_networks => Some(format!(
                "the client sends to {ip}, which reaches the test server only in a network \
                 namespace of shout's own, and none is available here; grade as root, or \
                 where unprivileged user namespaces are allowed"
            )),
            ServerHost::Name(name) if !reach.hosts_file => Some(format!(
                "the client sends to '{name}', which reaches the test server only through \
                 shout's private /etc/hosts, and programs cannot be given one here (no mount \
                 namespace, no bubblewrap); grade as root or install bubblewrap"
            )),
            _ => None,
        });
        if let Some(why) = why {
            out.push((*key, why));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_addresses_and_this_machine_are_told_apart() {
        for here in [
            "localhost",
            "127.0.0.1",
            "::1",
            "[::1]",
            "0.0.0.0",
            "",
            "LOCALHOST",
        ] {
            assert_eq!(classify(here), ServerHost::Loopback, "{here:?}");
        }
        assert_eq!(classify("labpc-07"), ServerHost::Name("labpc-07".into()));
        assert_eq!(
            classify("192.168.0.123"),
            ServerHost::Address("192.168.0.123".parse().unwrap())
        );
        assert_eq!(
            classify("[fd00::7]"),
            ServerHost::Address("fd00::7".parse().unwrap())
        );
        // Not 127.0.0.1, where the harness listens unless told otherwise.
        assert_eq!(
            classify("127.0.1.1"),
            ServerHost::Address("127.0.1.1".parse().unwrap())
        );
    }
}

#[cfg(test)]
mod fixture_tests {
    use super::*;
    use crate::grade::detect;

    fn sources(name: &str) -> Sources {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/submissions")
            .join(name);
        match detect::detect(&dir).unwrap() {
            Submission::Sources(s) => s,
            Submission::Manifest(_) => panic!("{name} has no manifest"),
        }
    }

    #[test]
    fn a_lan_client_without_a_network_of_its_own_is_not_graded_and_says_why() {
        let lan = sources("py-lan-address");
        assert_eq!(
            client_addresses(&lan),
            ["192.168.0.123".parse::<IpAddr>().unwrap()]
        );
        let all = Reach {
            own_networks: true,
            hosts_file: true,
        };
        assert!(unreachable_clients(&lan, all).is_empty());
        let no_netns = Reach {
            own_networks: false,
            ..all
        };
        let out = unreachable_clients(&lan, no_netns);
        let keys: Vec<String> = out.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(keys, ["udp-client", "tcp-client"]);
        assert!(out[0].1.contains("sends to 192.168.0.123"), "{}", out[0].1);
        assert!(out[0].1.contains("network namespace"), "{}", out[0].1);

        let named = sources("py-hostname");
        assert!(unreachable_clients(&named, no_netns).is_empty());
        let no_hosts_file = Reach {
            hosts_file: false,
            ..all
        };
        let out = unreachable_clients(&named, no_hosts_file);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].1.contains("'labpc-07'"), "{}", out[0].1);
    }

    #[test]
    fn the_hosts_file_maps_the_placeholders_and_every_name_a_client_names() {
        let submissions = vec![
            Ok(Submission::Sources(sources("py-hostname"))),
            Ok(Submission::Sources(sources("py-lan-address"))),
            Err("unreadable".to_string()),
        ];
        assert_eq!(
            host_names(&submissions),
            ["hostname", "servername", "labpc-07"]
        );
    }
}
