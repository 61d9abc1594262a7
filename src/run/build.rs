//! Builds: every implementation's build command, run once per name before any unit, and
//! the sentence a failed build becomes (each of its units reports it). It runs build
//! commands only: no unit, no server.

use std::collections::BTreeMap;
use std::ffi::OsString;

use super::context::confined;
use super::options::{Axis, Event, RunOptions};
use super::process::{Exit, Running, Spawn};
use crate::registry::{CommandTemplate, Implementation};

/// Failed builds: the sentence, keyed by (axis, implementation name).
pub(super) type BuildFailures = BTreeMap<(usize, String), String>;

/// Runs every build command once; failures are kept, keyed by (axis, name).
pub(super) fn build_all(
    axes: &[Axis],
    options: &RunOptions,
    on_event: &(dyn Fn(Event) + Sync),
) -> BuildFailures {
    let mut failures = BTreeMap::new();
    // By name: the axes share one build of each implementation.
    let mut built: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (ai, axis) in axes.iter().enumerate() {
        for imp in &axis.implementations {
            let Some(build) = &imp.build else { continue };
            let outcome = built.entry(imp.name.clone()).or_insert_with(|| {
                on_event(Event::Building(&imp.name));
                build_one(imp, build, options)
            });
            if let Some(msg) = outcome {
                failures.insert((ai, imp.name.clone()), msg.clone());
            }
        }
    }
    failures
}

/// Runs `imp`'s `build` command; the sentence when it fails.
fn build_one(
    imp: &Implementation,
    build: &CommandTemplate,
    options: &RunOptions,
) -> Option<String> {
    let spec = Spawn {
        argv: build
            .render("127.0.0.1", 0)
            .into_iter()
            .map(OsString::from)
            .collect(),
        cwd: imp.dir.clone(),
        env: imp.env.iter().map(|(k, v)| (k.into(), v.into())).collect(),
        stdin: None,
        capture_limit: options.capture_limit,
        confine: confined(options, imp),
    };
    match Running::spawn(&spec) {
        Err(e) => Some(format!("`{}` could not start: {e}", build.display())),
        Ok(r) => {
            let f = r.finish(options.build_timeout);
            (f.exit != Exit::Code(0))
                .then(|| failure(&build.display(), &f.exit, &f.stderr.bytes, &f.stdout.bytes))
        }
    }
}

/// The sentence for a build that ended with `exit`: what it said on stderr, or else on
/// stdout, or that it said nothing (rather than ending on a colon).
fn failure(command: &str, exit: &Exit, stderr: &[u8], stdout: &[u8]) -> String {
    let said = String::from_utf8_lossy(stderr).trim().to_string();
    let said = if said.is_empty() {
        String::from_utf8_lossy(stdout).trim().to_string()
    } else {
        said
    };
    let said = if said.is_empty() {
        " without output".to_string()
    } else {
        format!(": {said}")
    };
    format!("`{command}` failed ({exit}){said}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_build_quotes_stderr_first_then_stdout_then_says_it_was_silent() {
        let exit = Exit::Code(2);
        assert_eq!(
            failure("make", &exit, b" no rule \n", b"ignored"),
            format!("`make` failed ({exit}): no rule")
        );
        assert_eq!(
            failure("make", &exit, b"  \n", b"on stdout\n"),
            format!("`make` failed ({exit}): on stdout")
        );
        assert_eq!(
            failure("make", &exit, b"", b""),
            format!("`make` failed ({exit}) without output")
        );
    }
}
