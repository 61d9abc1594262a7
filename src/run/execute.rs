//! Executing a plan: builds first, then the reference's own units (the expectations),
//! then everyone else, in lanes that each own one server instance. This file only joins
//! the stages (build, reference cache, schedule, lanes) and is where the rest of the
//! crate finds the run's public types. It emits events and returns observations; it
//! never prints and never judges.

use std::sync::Mutex;
use std::time::Instant;

use super::build::build_all;
use super::cache::CacheKey;
use super::context::Context;
use super::gate::Gate;
use super::lane::run_lane;
use super::reference;
use super::schedule::{queue, run_lanes};
use super::shared::Shared;
use crate::plan::Unit;

use super::options::Kept;
pub use super::options::{Axis, Event, Executed, ReferenceCache, RunOptions};
pub use super::peer::MARKER;
pub use super::reference::is_reference_unit;

/// Runs `units` and returns one observation per unit, in the units' order.
///
/// The reference's own units are taken from `options.reference_cache` where it holds
/// them for `reference_key`, and kept there (and written to its folder) once run.
pub fn execute(
    axes: &[Axis],
    units: Vec<Unit>,
    options: &RunOptions,
    reference_key: &CacheKey,
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
    // Units between built-ins only (the reference, shout's own roles, the harness) depend
    // on nothing the cache key leaves out: they are kept too.
    let builtin_only = |u: &Unit| ctx.builtin_only(u);
    // Held until the reference units are done, so that concurrent runs sharing the cache
    // run each reference unit once: the second waits, then finds them all kept.
    let cache = options
        .reference_cache
        .as_ref()
        .map(|c| (c, c.lock(reference_key)));
    let (first, second) = match &cache {
        Some((_, kept)) => {
            let (kept_others, others): (Vec<usize>, Vec<usize>) =
                second.into_iter().partition(|&i| builtin_only(&units[i]));
            let (first, taken) =
                reference::restore(kept, &units, first, &results, &shared.undefined);
            let (mut second, taken_others) =
                reference::restore(kept, &units, kept_others, &results, &shared.undefined);
            shared.progress.skip(taken + taken_others);
            second.extend(others);
            second.sort_unstable();
            (first, second)
        }
        None => (first, second),
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
    let save = |cache: &ReferenceCache, kept: &mut Kept, which: &dyn Fn(&Unit) -> bool| {
        reference::keep(kept, &results, which);
        if let Err(e) = cache.save(kept) {
            on_event(Event::CacheUnwritable(e.to_string()));
        }
    };
    // The reference units are done: keep them for later runs sharing the cache.
    let (cache, after) = match cache {
        Some((c, kept)) => (Some(c), Some(kept)),
        None => (None, None),
    };
    let keep_reference = || {
        if let (Some(c), Some(mut kept)) = (cache, after) {
            save(c, &mut kept, &is_reference_unit);
        }
    };
    run_lanes(
        lanes,
        options.jobs,
        options.skip_undefined,
        run,
        keep_reference,
    );
    // And the other built-in units, once everything is done.
    if let Some(c) = cache {
        let others = |u: &Unit| builtin_only(u) && !is_reference_unit(u);
        save(c, &mut c.lock(reference_key), &others);
    }
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}
