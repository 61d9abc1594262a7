//! Running several build commands in order, as argv vectors in one folder, stopping at the
//! first that fails: a detected submission has one build per source file (`javac` for
//! each class, `gcc` for each program).
//!
//! Never through a shell: each step is its own child, started and confined the way the
//! caller's [`Spawn`] says. It reports which step failed and how; what that means for a
//! grade is the caller's business. It never prints.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use crate::run::process::{Exit, Running, Spawn};

/// How long all the steps may take together: the harness's limit for one build command.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// The step that stopped the sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedStep {
    /// Its position among the steps, from 0.
    pub index: usize,
    /// How it ended; `None` when it could not start at all.
    pub exit: Option<Exit>,
}

/// Runs each of `steps` in turn, like `like` in every way but its argv (folder,
/// environment, capture limit, confinement), until one does not exit with status 0.
/// `timeout` bounds the whole sequence: a step still running when it has passed is
/// killed and counts as failed.
pub fn run_in_order(
    steps: &[Vec<OsString>],
    like: &Spawn,
    timeout: Duration,
) -> Result<(), FailedStep> {
    let deadline = Instant::now() + timeout;
    for (index, argv) in steps.iter().enumerate() {
        let spec = Spawn {
            argv: argv.clone(),
            ..like.clone()
        };
        let exit = Running::spawn(&spec).ok().map(|running| {
            running
                .finish(deadline.saturating_duration_since(Instant::now()))
                .exit
        });
        if exit != Some(Exit::Code(0)) {
            return Err(FailedStep { index, exit });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spawn_in(dir: &std::path::Path) -> Spawn {
        Spawn {
            argv: Vec::new(),
            cwd: Some(dir.to_path_buf()),
            env: Vec::new(),
            stdin: None,
            capture_limit: 1024,
            confine: None,
        }
    }

    fn argv(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn steps_run_in_order_in_the_given_folder() {
        let dir = tempfile::tempdir().unwrap();
        let steps = [argv(&["mkdir", "a"]), argv(&["mkdir", "a/b"])];
        assert_eq!(
            run_in_order(&steps, &spawn_in(dir.path()), BUILD_TIMEOUT),
            Ok(())
        );
        assert!(dir.path().join("a/b").is_dir());
    }

    #[test]
    fn the_first_failure_stops_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let steps = [
            argv(&["mkdir", "a"]),
            argv(&["false"]),
            argv(&["mkdir", "never"]),
        ];
        assert_eq!(
            run_in_order(&steps, &spawn_in(dir.path()), BUILD_TIMEOUT),
            Err(FailedStep {
                index: 1,
                exit: Some(Exit::Code(1))
            })
        );
        assert!(!dir.path().join("never").exists());
    }

    #[test]
    fn a_step_that_cannot_start_is_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let steps = [argv(&["shout-no-such-compiler"])];
        assert_eq!(
            run_in_order(&steps, &spawn_in(dir.path()), BUILD_TIMEOUT),
            Err(FailedStep {
                index: 0,
                exit: None
            })
        );
    }

    #[test]
    fn words_are_never_read_by_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        let steps = [argv(&["mkdir", "x && mkdir y"])];
        assert_eq!(
            run_in_order(&steps, &spawn_in(dir.path()), BUILD_TIMEOUT),
            Ok(())
        );
        assert!(dir.path().join("x && mkdir y").is_dir());
        assert!(!dir.path().join("y").exists());
    }

    #[test]
    fn the_timeout_bounds_the_whole_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let steps = [argv(&["sleep", "0.3"]), argv(&["sleep", "5"])];
        let started = Instant::now();
        let failed = run_in_order(&steps, &spawn_in(dir.path()), Duration::from_millis(800));
        assert_eq!(
            failed,
            Err(FailedStep {
                index: 1,
                exit: Some(Exit::TimedOut)
            })
        );
        assert!(started.elapsed() < Duration::from_secs(4));
    }
}
