//! Turns on a fixed port. A client whose port cannot be chosen is met on that port by
//! the harness (relay or recording server); when lanes share one network, only one unit
//! at a time may listen there. It hands out locks; it never binds a port.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::plan::Side;
use crate::proto::Transport;

/// Held while a unit listens on a fixed port.
pub(super) type PortLock = Arc<Mutex<()>>;

/// One lock per fixed (transport, port), shared by every lane.
#[derive(Debug, Default)]
pub(super) struct PortTurns(Mutex<BTreeMap<(Transport, u16), PortLock>>);

impl PortTurns {
    /// The lock for listening on `port`.
    pub fn lock_for(&self, transport: Transport, port: u16) -> PortLock {
        let mut locks = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(locks.entry((transport, port)).or_default())
    }
}

/// The port a unit must take its turn on: its client's fixed port (asked of `fixed` only
/// for a real client), unless each lane has a network of its own (`isolated`).
pub(super) fn turn_port(
    isolated: bool,
    client: &Side,
    fixed: impl FnOnce() -> Option<u16>,
) -> Option<u16> {
    (!isolated && matches!(client, Side::Impl(_)))
        .then(fixed)
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_client_takes_turns_unless_lanes_have_networks_of_their_own() {
        let client = Side::Impl("java".into());
        assert_eq!(turn_port(false, &client, || Some(12000)), Some(12000));
        assert_eq!(turn_port(true, &client, || Some(12000)), None);
        assert_eq!(turn_port(false, &client, || None), None);
    }

    #[test]
    fn the_harness_as_client_never_asks_for_a_fixed_port() {
        let asked = turn_port(false, &Side::Probe, || panic!("the probe has no port"));
        assert_eq!(asked, None);
    }

    #[test]
    fn units_on_one_port_share_a_lock_and_other_ports_do_not() {
        let turns = PortTurns::default();
        let a = turns.lock_for(Transport::Tcp, 12000);
        let b = turns.lock_for(Transport::Tcp, 12000);
        let c = turns.lock_for(Transport::Udp, 12000);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        let _held = a.lock().unwrap();
        assert!(b.try_lock().is_err());
        assert!(c.try_lock().is_ok());
    }
}
