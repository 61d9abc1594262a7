//! What becomes of the programs a harness command started when it is interrupted, and of
//! those they left behind when a run ends.
//!
//! It only installs the handler and calls on [`shout::run`] to end processes: it starts
//! none, and runs nothing else in the handler than the cleanup and the exit.

use signal_hook::consts::{SIGINT, SIGTERM};

use shout::run::{ports, process};

/// The signal handlers could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("cannot install signal handlers: {0}")]
pub struct SignalError(#[source] std::io::Error);

/// On Ctrl-C or SIGTERM: kills every child group and the orphans they left, removes
/// scratch folders and port locks, says so, and exits 130.
pub fn kill_children_on_interrupt() -> Result<(), SignalError> {
    process::adopt_orphans();
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).map_err(SignalError)?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            process::kill_all();
            process::kill_orphans();
            process::remove_scratch();
            ports::remove_held_locks();
            eprintln!("\nshout: interrupted; every started process was killed");
            std::process::exit(130);
        }
    });
    Ok(())
}

/// Ends what the programs under test left running in sessions of their own, and says so.
/// Any group of a program still registered as running is killed first: by now every
/// program's handle should have ended it, and none may outlive the run.
pub fn end_orphans() {
    process::kill_all();
    let killed = process::kill_orphans();
    if killed > 0 {
        eprintln!(
            "shout: note: killed {killed} process(es) that the programs under test had left running in sessions of their own"
        );
    }
}
