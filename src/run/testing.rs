//! Values for the unit tests of `run`: units and observations built by hand. Test-only;
//! it runs nothing.

use std::sync::Arc;

use super::observe::{Observation, ProcessOutcome, Reply, ServerAfter};
use super::options::Executed;
use super::process::Exit;
use super::wire::Transcript;
use crate::corpus::{Case, Category, Input};
use crate::plan::{Side, Unit, UnitKind};
use crate::proto::Transport;

fn side(name: &str) -> Side {
    match name {
        crate::plan::PROBE => Side::Probe,
        name => Side::Impl(name.to_string()),
    }
}

/// A TCP unit of `client` against `server` (either may be `probe`) on the case `case`,
/// whose line is `hello`; its kind follows from which side is the harness.
pub(crate) fn unit(client: &str, server: &str, case: &str) -> Unit {
    let (client, server) = (side(client), side(server));
    let kind = match (&client, &server) {
        (Side::Probe, _) => UnitKind::ServerProbe,
        (_, Side::Probe) => UnitKind::ClientProbe,
        _ => UnitKind::Pairing,
    };
    Unit {
        id: format!(
            "tcp::{}-client::{}-server::{case}",
            client.name(),
            server.name()
        ),
        axis: None,
        transport: Transport::Tcp,
        client,
        server,
        kind,
        case: Arc::new(Case {
            name: case.to_string(),
            category: Category::Core,
            input: Input::Line("hello".into()),
            transports: vec![Transport::Tcp],
            note: None,
            grading: Default::default(),
        }),
    }
}

/// A client that ended with `exit`.
pub(crate) fn client(exit: Exit) -> ProcessOutcome {
    ProcessOutcome {
        exit,
        stdout: Vec::new(),
        stdout_total: 0,
        stderr_tail: String::new(),
        duration_ms: 0,
    }
}

/// A pairing whose client ended with `exit`, on a server still running.
pub(crate) fn pairing(exit: Exit) -> Observation {
    Observation::Pairing {
        client: client(exit),
        wire: Transcript::default(),
        server: ServerAfter::default(),
    }
}

/// A server probe that got `reply`, on a server still running.
pub(crate) fn server_probe(reply: Reply) -> Observation {
    Observation::ServerProbe {
        reply,
        wire: Transcript::default(),
        server: ServerAfter::default(),
        answers_with_newline: None,
        answers_with_any_byte: None,
        unaccepted: false,
        load: None,
    }
}

/// `unit` with `observation`.
pub(crate) fn executed(unit: Unit, observation: Observation) -> Executed {
    Executed {
        unit,
        observation,
        duration_ms: 0,
        cached: false,
    }
}
