//! Executing a plan: builds first, then the reference's own units (the expectations),
//! then everyone else, in lanes that each own one server instance. This file only joins
//! the stages (build, reference cache, schedule, lanes) and is where the rest of the
//! crate finds the run's public types. It emits events and returns observations; it
//! never prints and never judges.

use std::sync::Mutex;
use std::time::Instant;

use super::build::build_all;
use super::context::Context;
use super::gate::Gate;
use super::lane::run_lane;
use super::reference::{self, is_reference_unit};
use super::schedule::{queue, run_lanes};
use super::shared::Shared;
use crate::plan::Unit;

pub use super::options::{Axis, Event, Executed, ReferenceCache, RunOptions};
pub use super::peer::MARKER;
pub use crate::registry::REFERENCE;

/// Runs `units` and returns one observation per unit, in the units' order.
pub fn execute(
    axes: &[Axis],
    units: Vec<Unit>,
    options: &RunOptions,
    on_event: &(dyn Fn(Event) + Sync),
) -> Vec<Executed> {
    let build_failures = build_all(axes, options, on_event);
    let ctx = Context { axes, options };
    let deadline = options.run_timeout.map(|t| Instant::now() + t);
    let shared = Shared::new(
        Gate::new(deadline, options.skip_undefined, build_failures),
        options.timeout,
        options.undefined_timeout,
        units.len(),
        on_event,
    );
    let results: Mutex<Vec<Option<Executed>>> = Mutex::new(vec![None; units.len()]);
    let (first, second): (Vec<usize>, Vec<usize>) =
        (0..units.len()).partition(|&i| is_reference_unit(&units[i]));
    // Held until the reference units are done, so that concurrent runs sharing the cache
    // run each reference unit once: the second waits, then finds them all kept.
    let cache = options.reference_cache.as_ref().map(|c| c.lock());
    let first = match &cache {
        Some(kept) => {
            let (to_run, taken) =
                reference::restore(kept, &units, first, &results, &shared.undefined);
            shared.progress.skip(taken);
            to_run
        }
        None => first,
    };
    // The reference's lanes are taken first; the other lanes follow without waiting for
    // them to finish, unless they are skipped where the reference has no answer: that
    // must be known before they start, or the verdicts would depend on timing. Otherwise
    // a unit that starts early only keeps the full time limit.
    let lanes = queue(&units, first, second, options.jobs, |u| {
        ctx.expected_cost(u)
    });
    let run = |lane: &[usize]| {
        let done = run_lane(&ctx, &shared, &units, lane);
        // What the reference gave no answer to shortens the other units' limits there.
        shared.undefined.learn(done.iter().map(|(_, e)| e));
        let mut all = results.lock().unwrap_or_else(|p| p.into_inner());
        for (i, e) in done {
            all[i] = Some(e);
        }
    };
    // The reference units are done: keep them for later runs sharing the cache.
    let keep = || {
        if let Some(mut kept) = cache {
            reference::keep(&mut kept, &results);
        }
    };
    run_lanes(lanes, options.jobs, options.skip_undefined, run, keep);
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}
