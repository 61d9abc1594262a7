//! Readiness: a server is ready once the kernel lists its socket, never after a sleep,
//! and without sending it anything (a probe datagram would be a request, and a probe
//! connection can use up a one-shot server).

use std::time::{Duration, Instant};

use super::ports;
use super::process::{Exit, Running};
use crate::proto::Transport;

/// Why a server never became ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    /// It exited first.
    Exited(Exit),
    /// It was still not listening when time ran out.
    TimedOut(Duration),
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotReady::Exited(exit) => write!(f, "the server exited before listening ({exit})"),
            NotReady::TimedOut(t) => write!(
                f,
                "the server was not listening after {:.1} s",
                t.as_secs_f64()
            ),
        }
    }
}

/// Polls the kernel's socket table (backing off from 0.2 ms to 5 ms) until `port` is
/// bound for `transport` by a process of `server`'s group.
pub fn wait_until_bound(
    server: &mut Running,
    transport: Transport,
    port: u16,
    timeout: Duration,
) -> Result<(), NotReady> {
    wait_for(server, timeout, |server| {
        ports::ports_bound_by_group(transport, server.pid())
            .map(|p| p.contains(&port))
            .unwrap_or(false)
    })
}

/// Waits until the server's group has bound any port for `transport`, and returns the
/// lowest (for programs whose port cannot be chosen).
pub fn wait_for_any_port(
    server: &mut Running,
    transport: Transport,
    timeout: Duration,
) -> Result<u16, NotReady> {
    let mut found = 0;
    wait_for(
        server,
        timeout,
        |server| match ports::ports_bound_by_group(transport, server.pid())
            .ok()
            .and_then(|p| p.first().copied())
        {
            Some(p) => {
                found = p;
                true
            }
            None => false,
        },
    )?;
    Ok(found)
}

fn wait_for(
    server: &mut Running,
    timeout: Duration,
    mut ready: impl FnMut(&mut Running) -> bool,
) -> Result<(), NotReady> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(200);
    loop {
        if ready(server) {
            return Ok(());
        }
        if let Some(exit) = server.exited() {
            return Err(NotReady::Exited(exit));
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(NotReady::TimedOut(timeout));
        }
        // Wakes early if the server exits.
        server.wait_timeout(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(5));
    }
}
