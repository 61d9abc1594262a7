//! What a run is given and what it hands back: axes, options, the reference cache,
//! progress events and executed units. Plain data: nothing here starts a process or
//! decides anything. The `execute` module re-exports all of it: the rest of the crate
//! finds it there.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::cache::{self, CacheKey, Stored};
use super::observe::Observation;
use crate::plan::Unit;
use crate::registry::Implementation;

/// One Python-version axis: its label (when a run has several) and its implementations.
#[derive(Debug, Clone)]
pub struct Axis {
    /// `py3.13`, or `None` for a single-interpreter run.
    pub label: Option<String>,
    /// Every implementation, with the built-ins set up for this axis's interpreter.
    pub implementations: Vec<Implementation>,
}

/// How units are run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Per-unit time limit for clients and for replies.
    pub timeout: Duration,
    /// The limit instead, for a case on which the reference itself gave no answer (its
    /// pair hung, or its server did not reply to the probe): the verdict there is `info`
    /// whatever the others do, so they only need long enough to show what they do.
    pub undefined_timeout: Duration,
    /// Time allowed for a server to start listening.
    pub start_timeout: Duration,
    /// Whole-run limit; units not started by then are not run.
    pub run_timeout: Option<Duration>,
    /// Lanes run at once.
    pub jobs: usize,
    /// Most bytes kept per stream.
    pub capture_limit: usize,
    /// Confinement for the programs of submissions (`shout grade`); none by default.
    pub confine: Option<Arc<dyn crate::run::process::Confine>>,
    /// Called on a lane's thread before each server it starts and each client probe, to
    /// give them a network of their own (for programs on fixed ports); none by default.
    pub isolate: Option<fn() -> io::Result<()>>,
    /// Addresses the clients under test send to other than `127.0.0.1` (a LAN address
    /// written in, `192.168.0.123`): with `isolate`, each private network gets them on
    /// its loopback interface, and the relay and the recording server listen on every
    /// address there, so such a client reaches them. Empty by default.
    pub client_addresses: Vec<IpAddr>,
    /// Observations of the reference's own units kept from earlier runs with the same
    /// interpreters and timeouts; none by default.
    pub reference_cache: Option<Arc<ReferenceCache>>,
    /// Whether to skip, as `info`, the units of cases on which the reference gave no
    /// answer (instead of running them for `undefined_timeout` to show what they do).
    pub skip_undefined: bool,
    /// How long each build may take.
    pub build_timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeout: Duration::from_secs(3),
            undefined_timeout: Duration::from_secs(1),
            start_timeout: Duration::from_secs(10),
            run_timeout: None,
            jobs: 2,
            capture_limit: 64 * 1024,
            confine: None,
            isolate: None,
            client_addresses: Vec::new(),
            reference_cache: None,
            skip_undefined: false,
            build_timeout: Duration::from_secs(600),
        }
    }
}

/// The reference's own units (both sides the reference or the harness) observed once and
/// reused: `shout grade` judges every submission against the same reference, so it runs
/// those units once for the whole class instead of once per submission; with a folder
/// (`~/.cache/shout`), they are also kept for later runs. Keyed by unit id, within a
/// [`CacheKey`] naming everything the observations depend on: a run binds the cache to
/// its key before using it, and a cache bound to another key starts empty.
#[derive(Debug, Default)]
pub struct ReferenceCache {
    kept: Mutex<Kept>,
    /// Where the observations are kept between runs; none for this process only.
    dir: Option<PathBuf>,
}

/// The observations of one key.
#[derive(Debug, Default)]
pub(super) struct Kept {
    /// The key they were observed under.
    pub key: Option<CacheKey>,
    /// By unit id.
    pub units: BTreeMap<String, Stored>,
    /// Ids read from the folder (not observed by this process).
    pub from_disk: BTreeSet<String>,
    /// Whether this process added or confirmed anything since the folder was read.
    pub changed: bool,
}

impl ReferenceCache {
    /// A cache kept in `dir` between runs (created when first written).
    pub fn in_dir(dir: PathBuf) -> ReferenceCache {
        ReferenceCache {
            kept: Mutex::default(),
            dir: Some(dir),
        }
    }

    /// The folder the observations are kept in, if any.
    pub fn dir(&self) -> Option<&std::path::Path> {
        self.dir.as_deref()
    }

    /// The kept units for `key`, locked: a run holds the lock until its own reference
    /// units are done, so that concurrent runs sharing the cache run each of them once.
    pub(super) fn lock(&self, key: &CacheKey) -> MutexGuard<'_, Kept> {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.key.as_ref() != Some(key) {
            let units = self
                .dir
                .as_deref()
                .map(|d| cache::load(d, key))
                .unwrap_or_default();
            *kept = Kept {
                key: Some(key.clone()),
                from_disk: units.keys().cloned().collect(),
                units,
                changed: false,
            };
        }
        kept
    }

    /// Writes what `kept` learnt to the folder, if any and if anything changed. A cache
    /// that cannot be written only costs time later: the error is returned for a warning.
    pub(super) fn save(&self, kept: &mut Kept) -> std::io::Result<()> {
        match (&self.dir, &kept.key) {
            (Some(dir), Some(key)) if kept.changed => {
                cache::save(dir, key, &kept.units)?;
                kept.changed = false;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// Progress, for reporters.
#[derive(Debug)]
pub enum Event<'a> {
    /// Building an implementation.
    Building(&'a str),
    /// The reference cache's folder could not be written (the reason): later runs will
    /// run the reference's units again.
    CacheUnwritable(String),
    /// A unit finished.
    UnitDone {
        /// The unit.
        unit: &'a Unit,
        /// Units finished so far.
        done: usize,
        /// Units in the run.
        total: usize,
    },
}

/// A unit and what was observed.
#[derive(Debug, Clone)]
pub struct Executed {
    /// The unit.
    pub unit: Unit,
    /// What happened.
    pub observation: Observation,
    /// Wall time of the unit.
    pub duration_ms: u64,
    /// Whether the observation was taken from the [`ReferenceCache`] instead of running.
    pub cached: bool,
}
