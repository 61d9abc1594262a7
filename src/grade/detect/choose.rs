//! One file per role when several files play it (`TCPServer.py` and `TCPServer_v2.py`,
//! `tcpsrv.rs` and `tcpnaive.rs`): the candidates are ranked by what their names say and
//! what their code does, the first is used, and a note names the others and why. When
//! the code cannot tell the first two apart (both play the role, and neither uses the
//! port of the transport's other role where the other does not), the second is kept as
//! the role's alternate: grading grades both and keeps the better. At most two per role
//! are graded, so the cost stays bounded.
//!
//! Pure: it works on candidates already read.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use super::model::FoundRole;
use super::sources::slash_path;
use crate::registry::{Role, RoleKey};

/// How far a file name agrees with the role a candidate plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum NameSays {
    /// It names another transport or role.
    Otherwise,
    /// It names part of the role and nothing against it (`server.py`, `tcpnaive.rs`).
    Part,
    /// It names the transport and the role (`TCPServer_v2.py`).
    All,
}

/// A candidate for a role, before duplicates are resolved.
pub(super) struct Candidate {
    pub(super) key: RoleKey,
    pub(super) name: NameSays,
    /// The code plays the role (not only the file name).
    pub(super) by_code: bool,
    pub(super) role: FoundRole,
}

/// What puts one candidate ahead of another, in order of weight; higher is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    by_code: bool,
    /// Its port is the one the other role of its transport uses.
    meets_partner: bool,
    name: NameSays,
    port_known: bool,
}

/// The files chosen: one per role, and the runner-up of each role whose first two the
/// code cannot tell apart.
pub(super) struct Chosen {
    /// One file per role.
    pub(super) roles: BTreeMap<RoleKey, FoundRole>,
    /// The second file of a role that the code cannot decide on: graded too.
    pub(super) alternates: BTreeMap<RoleKey, FoundRole>,
}

/// One file per role, ranked by [`Rank`] and then path order. Every role with more than
/// one candidate gets a note naming them all, the one used (or the two graded), and why.
pub(super) fn choose(candidates: &[Candidate], notes: &mut Vec<String>) -> Chosen {
    let mut roles: BTreeMap<RoleKey, FoundRole> = BTreeMap::new();
    let mut alternates: BTreeMap<RoleKey, FoundRole> = BTreeMap::new();
    for key in RoleKey::ALL {
        let mut of_key: Vec<(Rank, &Candidate)> = candidates
            .iter()
            .filter(|c| c.key == key)
            .map(|c| (rank(c, candidates), c))
            .collect();
        // Stable: equal ranks keep path order.
        of_key.sort_by_key(|(r, _)| Reverse(*r));
        let Some(((best_rank, best), rest)) = of_key.split_first() else {
            continue;
        };
        if let Some((next_rank, next)) = rest.first() {
            let others: Vec<String> = rest.iter().map(|(_, c)| slash_path(&c.role.file)).collect();
            if undecided(best_rank, next_rank) {
                let (first, second) = (slash_path(&best.role.file), slash_path(&next.role.file));
                let mut note = format!(
                    "{key}: {first} and {second} both play it, and the code does not say \
                     which is meant; both are graded and the better kept"
                );
                if others.len() > 1 {
                    note.push_str(&format!(" ({} not graded)", others[1..].join(", ")));
                }
                notes.push(note);
                alternates.insert(key, next.role.clone());
                roles.insert(key, best.role.clone());
                continue;
            }
            notes.push(format!(
                "{key}: {} and {} both play it; {} is graded ({}), not {}",
                slash_path(&best.role.file),
                others.join(", "),
                slash_path(&best.role.file),
                why_first(best_rank, next_rank, best),
                others.join(", "),
            ));
        }
        roles.insert(key, best.role.clone());
    }
    Chosen { roles, alternates }
}

/// Whether the code cannot tell two candidates apart: only their names or the order of
/// their paths would decide.
fn undecided(best: &Rank, next: &Rank) -> bool {
    best.by_code == next.by_code && best.meets_partner == next.meets_partner
}

fn rank(c: &Candidate, all: &[Candidate]) -> Rank {
    let partner = match c.key.role {
        Role::Server => Role::Client,
        Role::Client => Role::Server,
    };
    let meets_partner = c.role.port.is_some_and(|port| {
        all.iter().any(|p| {
            p.key.transport == c.key.transport && p.key.role == partner && p.role.port == Some(port)
        })
    });
    Rank {
        by_code: c.by_code,
        meets_partner,
        name: c.name,
        port_known: c.role.port.is_some(),
    }
}

/// Why the first candidate beat the second: the first criterion where they differ.
fn why_first(best: &Rank, next: &Rank, c: &Candidate) -> String {
    let transport = c.key.transport.as_str().to_ascii_uppercase();
    if best.by_code != next.by_code {
        "its code plays the role; the other only has the name".to_string()
    } else if best.meets_partner != next.meets_partner {
        let port = c.role.port.unwrap_or_default();
        match c.key.role {
            Role::Server => {
                format!("it listens on port {port}, where the {transport} client sends")
            }
            Role::Client => {
                format!("it sends to port {port}, where the {transport} server listens")
            }
        }
    } else if best.name != next.name {
        "its file name names the role".to_string()
    } else if best.port_known != next.port_known {
        "its port is written in the code".to_string()
    } else {
        "they do the same; the first in path order".to_string()
    }
}
