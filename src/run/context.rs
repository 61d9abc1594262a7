//! What a run knows before it starts, and the lookups every stage shares: a unit's axis,
//! an implementation's fixed port, the argv to spawn for a role, what a unit is expected
//! to cost, and the one call of the isolation hook. Read-only: it starts no program and
//! holds no state that changes during the run.

use std::ffi::OsString;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::observe::NotRunReason;
use super::options::{Axis, RunOptions};
use super::process::{Confine, Spawn};
use super::sandbox::add_loopback_addresses;
use crate::corpus::Input;
use crate::plan::{Side, Unit};
use crate::proto::Transport;
use crate::registry::{Implementation, Origin, Role, RoleKey};

/// One program on one axis and transport, by name: the key of everything counted per
/// server or per client across lanes.
pub(super) type ProgramKey = (usize, Transport, String);

/// The axes and options of a run.
pub(super) struct Context<'a> {
    /// Every axis's implementations.
    pub axes: &'a [Axis],
    /// How units are run.
    pub options: &'a RunOptions,
}

impl Context<'_> {
    /// The index of `unit`'s axis.
    pub fn axis_of(&self, unit: &Unit) -> usize {
        self.axes
            .iter()
            .position(|a| a.label == unit.axis)
            .unwrap_or(0)
    }

    /// Whether `name` is shout's own built-in server.
    pub fn is_shout_server(&self, axis: usize, name: &str) -> bool {
        name == crate::registry::SHOUT && self.is_builtin(axis, name)
    }

    /// Whether `name` is built into shout (not a manifest's, a candidate's or a student's).
    pub fn is_builtin(&self, axis: usize, name: &str) -> bool {
        self.implementation(axis, name).origin == Origin::Builtin
    }

    /// Whether both sides of `unit` are built in (or the harness): nothing outside shout
    /// and the reference interpreter decides what it does.
    pub fn builtin_only(&self, unit: &Unit) -> bool {
        let axis = self.axis_of(unit);
        [&unit.client, &unit.server]
            .into_iter()
            .all(|side| match side {
                Side::Probe => true,
                Side::Impl(name) => self.is_builtin(axis, name),
            })
    }

    /// The port `name`'s `key` role uses when its command has no `{port}`: `None` when
    /// shout chooses it.
    pub fn fixed_port(&self, axis: usize, name: &str, key: RoleKey) -> Option<u16> {
        let imp = self.implementation(axis, name);
        let template = imp.role(key)?;
        (!template.takes_port()).then(|| {
            imp.fixed_ports
                .get(&key)
                .copied()
                .unwrap_or(crate::proto::DEFAULT_PORT)
        })
    }

    /// The port `unit`'s client insists on meeting its server at, if any.
    pub fn client_fixed_port(&self, axis: usize, unit: &Unit) -> Option<u16> {
        self.fixed_port(axis, unit.client.name(), client_role(unit.transport))
    }

    fn implementation(&self, axis: usize, name: &str) -> &Implementation {
        self.axes[axis]
            .implementations
            .iter()
            .find(|i| i.name == name)
            .expect("plan names only registered implementations")
    }

    /// How to start `name`'s `key` role talking to (or listening on) `port`.
    pub fn spawn_spec(
        &self,
        axis: usize,
        name: &str,
        key: RoleKey,
        port: u16,
        stdin: Option<Vec<u8>>,
    ) -> Spawn {
        let imp = self.implementation(axis, name);
        let argv = imp
            .role(key)
            .expect("plan uses only implemented roles")
            .render("127.0.0.1", port);
        Spawn {
            argv: argv.into_iter().map(OsString::from).collect(),
            cwd: imp.dir.clone(),
            env: imp.env.iter().map(|(k, v)| (k.into(), v.into())).collect(),
            stdin,
            capture_limit: self.options.capture_limit,
            confine: confined(self.options, imp),
        }
    }

    /// Gives the calling thread a network of its own when the run asks for one (before a
    /// server starts or a client probe listens). The only caller of the hook.
    pub fn isolate(&self) -> Result<(), NotRunReason> {
        let Some(isolate) = self.options.isolate else {
            return Ok(());
        };
        isolate().map_err(|e| {
            NotRunReason::SpawnFailed(format!("cannot create a network namespace: {e}"))
        })?;
        add_loopback_addresses(&self.options.client_addresses).map_err(|e| {
            NotRunReason::SpawnFailed(format!(
                "cannot give the private network the addresses the client sends to: {e}"
            ))
        })
    }

    /// Where the harness listens for a client (relay, recording server): `127.0.0.1`,
    /// or every address of the private network when the client sends to others there.
    pub fn client_listen_ip(&self) -> IpAddr {
        let addresses = &self.options.client_addresses;
        if self.options.isolate.is_none() || addresses.is_empty() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else if addresses.iter().any(IpAddr::is_ipv6) {
            // Both families: Linux's IPv6 sockets take IPv4 too unless told not to.
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        }
    }

    /// A unit's expected cost, relative. Used only to order and split lanes.
    pub fn expected_cost(&self, unit: &Unit) -> u64 {
        let axis = self.axis_of(unit);
        let player = |side: &Side| match side {
            Side::Probe => Player::Harness,
            Side::Impl(name) if self.is_shout_server(axis, name) => Player::Shout,
            Side::Impl(_) => Player::Other,
        };
        // A case that waits on purpose weighs what it waits (about 4 per ms, a process
        // start being 100 to 115): its lane is split around it and taken early, so the
        // wait overlaps the other lanes' work instead of ending the run.
        cost(player(&unit.client), player(&unit.server))
            + unit.case.deliberate_wait_ms().saturating_mul(4)
    }
}

/// Who plays a side, as far as its cost goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Player {
    /// The harness itself: no process.
    Harness,
    /// shout's own built-in roles: one small native process.
    Shout,
    /// Anything else: an interpreter, a JVM.
    Other,
}

/// Starting a client that is not shout's own (an interpreter, a JVM) costs about ten
/// times one of shout's own, which costs about ten times a probe; servers start once per
/// lane, so they weigh less.
pub(super) fn cost(client: Player, server: Player) -> u64 {
    let side = |player: Player, other: u64, own: u64| match player {
        Player::Harness => 1,
        Player::Shout => own,
        Player::Other => other,
    };
    side(client, 100, 8) + side(server, 15, 1)
}

/// The role key of a client over `transport`.
pub(super) fn client_role(transport: Transport) -> RoleKey {
    RoleKey {
        transport,
        role: Role::Client,
    }
}

/// The confinement for `imp`'s programs: only submissions' programs are confined.
pub(super) fn confined(options: &RunOptions, imp: &Implementation) -> Option<Arc<dyn Confine>> {
    matches!(imp.origin, Origin::Submission(_))
        .then(|| options.confine.clone())
        .flatten()
}

/// What a client is given on stdin: the case's line, or nothing for inputs no client
/// sends.
pub(super) fn stdin_of(unit: &Unit) -> Vec<u8> {
    match &unit.case.input {
        Input::Line(l) | Input::Timed { line: l, .. } => format!("{l}\n").into_bytes(),
        Input::Raw(_) | Input::Silent | Input::Load(_) => Vec::new(),
    }
}

/// The reason for a program that could not be started.
pub(super) fn spawn_failed(spec: &Spawn, e: io::Error) -> NotRunReason {
    NotRunReason::SpawnFailed(format!(
        "cannot start `{}`: {e}",
        spec.argv[0].to_string_lossy()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_client_costs_more_than_shouts_own_which_costs_more_than_a_probe() {
        assert_eq!(cost(Player::Other, Player::Shout), 101);
        assert_eq!(cost(Player::Shout, Player::Shout), 9);
        assert_eq!(cost(Player::Harness, Player::Other), 16);
        assert_eq!(cost(Player::Other, Player::Harness), 101);
    }

    #[test]
    fn a_client_gets_its_line_with_a_newline_and_nothing_for_raw_bytes() {
        let mut unit = crate::run::testing::unit("python", "python", "core");
        assert_eq!(stdin_of(&unit), b"hello\n");
        Arc::make_mut(&mut unit.case).input = Input::Raw(vec![b"a".to_vec()]);
        assert_eq!(stdin_of(&unit), b"");
    }
}
