//! Executing a plan: builds first, then the reference's own units (the expectations),
//! then everyone else, in lanes that each own one server instance. Emits events and
//! returns observations; it never prints and never judges.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::observe::{NotRunReason, Observation, ProcessOutcome, Reply, ServerAfter};
use super::ports::{lease_port, PortLease};
use super::process::{Exit, Running, Spawn};
use super::ready::{wait_for_any_port, wait_until_bound};
use super::relay::Relay;
use super::wire::{Peer, Transcript, WireEvent, WireWhat};
use crate::corpus::Input;
use crate::plan::{Side, Unit, UnitKind};
use crate::proto::Transport;
use crate::registry::{Implementation, Origin, Role, RoleKey};

pub use crate::registry::REFERENCE;

/// The reply the harness sends when it plays the server: not derived from any input.
pub const MARKER: &str = "SHOUT MARKER ⚑ Ünïcödé 42";

/// The request a server must answer after each probe, and its answer.
/// What the health check sends: any reply to it shows the server still serves.
const HEALTH: &[u8] = b"still there?";

/// How often waits for a UDP reply look whether the server has exited.
const SLICE: Duration = Duration::from_millis(20);

/// How long a server that may be crashing gets to finish dying before the next unit.
const DYING: Duration = Duration::from_millis(150);

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
    /// Observations of the reference's own units kept from earlier runs with the same
    /// interpreters and timeouts; none by default.
    pub reference_cache: Option<Arc<ReferenceCache>>,
    /// Whether to skip, as `info`, the units of cases on which the reference gave no
    /// answer (instead of running them for `undefined_timeout` to show what they do).
    pub skip_undefined: bool,
}

/// The reference's own units (both sides the reference or the harness) observed once and
/// reused: `shout grade` judges every submission against the same reference, so it runs
/// those units once for the whole class instead of once per submission. Keyed by unit id;
/// a cache must only be shared between runs with the same interpreters and limits.
#[derive(Debug, Default)]
pub struct ReferenceCache {
    by_id: Mutex<BTreeMap<String, Executed>>,
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
            reference_cache: None,
            skip_undefined: false,
        }
    }
}

/// Progress, for reporters.
#[derive(Debug)]
pub enum Event<'a> {
    /// Building an implementation.
    Building(&'a str),
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
}

/// Is this side the reference, or the harness?
fn is_reference_or_probe(side: &Side) -> bool {
    match side {
        Side::Impl(n) => n == REFERENCE,
        Side::Probe => true,
    }
}

struct Context<'a> {
    axes: &'a [Axis],
    options: &'a RunOptions,
    build_failures: BTreeMap<(usize, String), String>,
    deadline: Option<Instant>,
    done: Mutex<usize>,
    total: usize,
    /// Cases (axis, transport, kind, case) on which the reference gave no answer.
    undefined: std::sync::RwLock<BTreeSet<CaseKey>>,
    /// Servers (axis, transport, name) that could not start: the other lanes of the same
    /// server report the same reason instead of waiting for it again.
    start_failures: Mutex<BTreeMap<(usize, Transport, String), NotRunReason>>,
    /// Per server (axis, transport, name): silent units in a row, shared by its instances.
    silence: Mutex<BTreeMap<(usize, Transport, String), Silence>>,
    /// Per client (axis, transport, name): units in a row that ran into the time limit.
    stuck_clients: Mutex<BTreeMap<(usize, Transport, String), u32>>,
    /// Per fixed (transport, port): held by the unit listening there for a client.
    port_locks: Mutex<BTreeMap<(Transport, u16), PortLock>>,
    on_event: &'a (dyn Fn(Event) + Sync),
}

/// Held while a unit listens on a fixed port.
type PortLock = Arc<Mutex<()>>;

/// One server's silent units in a row, per client; shared by its instances.
type Silence = Arc<Mutex<BTreeMap<String, u32>>>;

/// A case on one axis and transport, for one kind of unit.
type CaseKey = (Option<String>, Transport, UnitKind, String);

fn case_key(unit: &Unit) -> CaseKey {
    (
        unit.axis.clone(),
        unit.transport,
        unit.kind,
        unit.case.name.clone(),
    )
}

/// Whether this reference-only unit shows the reference giving no answer.
fn reference_gave_no_answer(e: &Executed) -> bool {
    match &e.observation {
        Observation::Pairing { client, .. } | Observation::ClientProbe { client, .. } => {
            client.exit == Exit::TimedOut
        }
        Observation::ServerProbe { reply, .. } => *reply == Reply::Nothing,
        _ => false,
    }
}

impl Context<'_> {
    /// The time limit for `unit`: shorter where the reference gave no answer.
    fn timeout_for(&self, unit: &Unit) -> Duration {
        let undefined = self
            .undefined
            .read()
            .map(|u| u.contains(&case_key(unit)))
            .unwrap_or(false);
        if undefined {
            self.options.undefined_timeout.min(self.options.timeout)
        } else {
            self.options.timeout
        }
    }

    /// The lock for listening on a fixed `port`.
    fn port_lock(&self, transport: Transport, port: u16) -> PortLock {
        Arc::clone(
            self.port_locks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry((transport, port))
                .or_default(),
        )
    }

    /// A unit's expected cost, relative: starting a client that is not shout's own (an
    /// interpreter, a JVM) costs about ten times one of shout's own, which costs about ten
    /// times a probe. Used only to order and split lanes.
    fn expected_cost(&self, unit: &Unit) -> u64 {
        let axis = self.axis_of(unit);
        let side = |side: &Side, other: u64, own: u64| match side {
            Side::Probe => 1,
            Side::Impl(name) if name == crate::registry::SHOUT && self.is_builtin(axis, name) => {
                own
            }
            Side::Impl(_) => other,
        };
        side(&unit.client, 100, 8) + side(&unit.server, 15, 1)
    }

    fn axis_of(&self, unit: &Unit) -> usize {
        self.axes
            .iter()
            .position(|a| a.label == unit.axis)
            .unwrap_or(0)
    }

    /// Whether `name` is shout's own built-in server.
    fn is_shout_server(&self, axis: usize, name: &str) -> bool {
        name == crate::registry::SHOUT && self.is_builtin(axis, name)
    }

    /// The port `name`'s `key` role uses when its command has no `{port}`: `None` when
    /// shout chooses it.
    fn fixed_port(&self, axis: usize, name: &str, key: RoleKey) -> Option<u16> {
        let imp = self.implementation(axis, name);
        let template = imp.role(key)?;
        (!template.takes_port()).then(|| {
            imp.fixed_ports
                .get(&key)
                .copied()
                .unwrap_or(crate::roles::DEFAULT_PORT)
        })
    }

    fn is_builtin(&self, axis: usize, name: &str) -> bool {
        self.implementation(axis, name).origin == Origin::Builtin
    }

    fn implementation(&self, axis: usize, name: &str) -> &Implementation {
        self.axes[axis]
            .implementations
            .iter()
            .find(|i| i.name == name)
            .expect("plan names only registered implementations")
    }

    fn spawn_spec(
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
}

/// The confinement for `imp`'s programs: only submissions' programs are confined.
fn confined(
    options: &RunOptions,
    imp: &Implementation,
) -> Option<Arc<dyn crate::run::process::Confine>> {
    matches!(imp.origin, Origin::Submission(_))
        .then(|| options.confine.clone())
        .flatten()
}

/// Runs every build command once; failures are kept, keyed by (axis, name).
fn build_all(
    axes: &[Axis],
    options: &RunOptions,
    on_event: &(dyn Fn(Event) + Sync),
) -> BTreeMap<(usize, String), String> {
    let mut failures = BTreeMap::new();
    let mut built: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (ai, axis) in axes.iter().enumerate() {
        for imp in &axis.implementations {
            let Some(build) = &imp.build else { continue };
            let outcome = built.entry(imp.name.clone()).or_insert_with(|| {
                on_event(Event::Building(&imp.name));
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
                        let f = r.finish(Duration::from_secs(600));
                        (f.exit != Exit::Code(0)).then(|| {
                            let said = String::from_utf8_lossy(&f.stderr.bytes).trim().to_string();
                            let said = if said.is_empty() {
                                String::from_utf8_lossy(&f.stdout.bytes).trim().to_string()
                            } else {
                                said
                            };
                            format!(
                                "`{}` failed ({}){}",
                                build.display(),
                                f.exit,
                                if said.is_empty() {
                                    " without output".to_string()
                                } else {
                                    format!(": {said}")
                                }
                            )
                        })
                    }
                }
            });
            if let Some(msg) = outcome {
                failures.insert((ai, imp.name.clone()), msg.clone());
            }
        }
    }
    failures
}

/// Runs `units` and returns one observation per unit, in the units' order.
pub fn execute(
    axes: &[Axis],
    units: Vec<Unit>,
    options: &RunOptions,
    on_event: &(dyn Fn(Event) + Sync),
) -> Vec<Executed> {
    let build_failures = build_all(axes, options, on_event);
    let ctx = Context {
        axes,
        options,
        build_failures,
        deadline: options.run_timeout.map(|t| Instant::now() + t),
        done: Mutex::new(0),
        total: units.len(),
        on_event,
        undefined: Default::default(),
        start_failures: Default::default(),
        silence: Default::default(),
        stuck_clients: Default::default(),
        port_locks: Default::default(),
    };
    let results: Mutex<Vec<Option<Executed>>> = Mutex::new(vec![None; units.len()]);
    let (first, second): (Vec<usize>, Vec<usize>) = (0..units.len()).partition(|&i| {
        is_reference_or_probe(&units[i].client) && is_reference_or_probe(&units[i].server)
    });
    // Held until the reference units are done, so that concurrent runs sharing the cache
    // run each reference unit once: the second waits, then finds them all kept.
    let mut cache = options
        .reference_cache
        .as_ref()
        .map(|c| c.by_id.lock().unwrap_or_else(|p| p.into_inner()));
    let first: Vec<usize> = match &cache {
        Some(kept) => {
            let mut all = results.lock().unwrap_or_else(|p| p.into_inner());
            let mut done = ctx.done.lock().unwrap_or_else(|p| p.into_inner());
            let mut undefined = ctx.undefined.write().unwrap_or_else(|p| p.into_inner());
            first
                .into_iter()
                .filter(|&i| match kept.get(&units[i].id) {
                    Some(e) => {
                        if reference_gave_no_answer(e) {
                            undefined.insert(case_key(&e.unit));
                        }
                        all[i] = Some(e.clone());
                        *done += 1;
                        false
                    }
                    None => true,
                })
                .collect()
        }
        None => first,
    };
    // The reference's lanes are taken first (the last ones popped); the other lanes follow
    // without waiting for them to finish, unless they are skipped where the reference has
    // no answer: that must be known before they start, or the verdicts would depend on
    // timing. Otherwise a unit that starts early only keeps the full time limit.
    let cost = |u: &Unit| ctx.expected_cost(u);
    let mut queue = make_lanes(&units, second, options.jobs, cost);
    let reference_lanes = make_lanes(&units, first, options.jobs, cost);
    let pending = Barrier {
        left: Mutex::new(reference_lanes.len()),
        zero: Condvar::new(),
    };
    let second_waits = options.skip_undefined;
    let reference_ids: BTreeSet<usize> = reference_lanes.iter().flatten().copied().collect();
    queue.extend(reference_lanes);
    let queue = Mutex::new(queue);
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1) {
            scope.spawn(|| loop {
                let lane = queue.lock().ok().and_then(|mut q| q.pop());
                let Some(lane) = lane else { break };
                let is_reference = lane.first().is_some_and(|i| reference_ids.contains(i));
                if !is_reference && second_waits {
                    pending.wait();
                }
                // Counted even if the lane panics, so that nobody waits forever.
                let _counted = is_reference.then(|| LaneDone(&pending));
                run_lane(&ctx, &units, &lane, &results);
            });
        }
        // The reference units are done: keep them for later runs sharing the cache.
        pending.wait();
        if let Some(kept) = cache.as_mut() {
            let all = results.lock().unwrap_or_else(|p| p.into_inner());
            for e in all.iter().flatten() {
                if is_reference_or_probe(&e.unit.client) && is_reference_or_probe(&e.unit.server) {
                    kept.entry(e.unit.id.clone()).or_insert_with(|| e.clone());
                }
            }
        }
        drop(cache.take());
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// Counts lanes still running and lets threads wait for none to be left.
struct Barrier {
    left: Mutex<usize>,
    zero: Condvar,
}

impl Barrier {
    fn wait(&self) {
        let mut left = self.left.lock().unwrap_or_else(|p| p.into_inner());
        while *left > 0 {
            left = self.zero.wait(left).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn done_one(&self) {
        let mut left = self.left.lock().unwrap_or_else(|p| p.into_inner());
        *left = left.saturating_sub(1);
        if *left == 0 {
            self.zero.notify_all();
        }
    }
}

/// Counts one reference lane as done when dropped.
struct LaneDone<'a>(&'a Barrier);

impl Drop for LaneDone<'_> {
    fn drop(&mut self) {
        self.0.done_one();
    }
}

/// Groups unit indices by (axis, transport, server), splitting heavy groups so that every
/// job has work; sorted so the heaviest lane (by `cost`) is popped first.
fn make_lanes(
    units: &[Unit],
    indices: Vec<usize>,
    jobs: usize,
    cost: impl Fn(&Unit) -> u64,
) -> Vec<Vec<usize>> {
    let mut groups: BTreeMap<(Option<String>, Transport, Side), Vec<usize>> = BTreeMap::new();
    for i in indices {
        let u = &units[i];
        groups
            .entry((u.axis.clone(), u.transport, u.server.clone()))
            .or_default()
            .push(i);
    }
    let weight = |lane: &[usize]| lane.iter().map(|&i| cost(&units[i])).sum::<u64>();
    let mut lanes: Vec<Vec<usize>> = groups.into_values().collect();
    while lanes.len() < jobs.max(1) * 4 {
        lanes.sort_by_cached_key(|l| weight(l));
        match lanes.last() {
            Some(l) if l.len() >= 8 => {
                let mut big = lanes.pop().unwrap_or_default();
                // Split where the first half carries half the weight.
                let half = weight(&big) / 2;
                let mut sum = 0;
                let at = big
                    .iter()
                    .position(|&i| {
                        sum += cost(&units[i]);
                        sum >= half
                    })
                    .unwrap_or(big.len() / 2)
                    .clamp(1, big.len() - 1);
                let tail = big.split_off(at);
                lanes.push(big);
                lanes.push(tail);
            }
            _ => break,
        }
    }
    lanes.sort_by_cached_key(|l| weight(l));
    lanes
}

/// A server instance owned by a lane.
struct Instance {
    process: Running,
    port: u16,
    _lease: Option<PortLease>,
    /// Per client (a name, or `probe`): units in a row on which this server (any
    /// instance of it, on any lane) sent that client nothing until the time limit. A
    /// deadlock repeats on every such request and after every restart; it is counted per
    /// client because another client may not trigger it (one that half-closes frees a
    /// server waiting for a newline).
    silent: Silence,
    /// Once learnt: whether a line this server left unanswered gets an answer when any
    /// further byte follows (it reads until a short read), not only a newline.
    answers_any_byte: Option<bool>,
}

/// After this many silent units in a row, a server is taken to be stuck (a deadlock
/// repeats on every request) and gets [`STUCK_TIMEOUT`] per unit.
const STUCK_AFTER: u32 = 3;
const STUCK_TIMEOUT: Duration = Duration::from_millis(500);
/// The limit for a client that ran into the limit on [`STUCK_AFTER`] units in a row (it
/// never exits): long enough for a slow start (a JVM), and the verdict is the same.
const STUCK_CLIENT_TIMEOUT: Duration = Duration::from_secs(1);

impl Instance {
    /// `limit`, shortened for a server that keeps not answering.
    fn limit(&self, client: &str, limit: Duration) -> Duration {
        let silent = self
            .silent
            .lock()
            .map(|m| m.get(client).copied().unwrap_or(0))
            .unwrap_or(0);
        if silent >= STUCK_AFTER {
            limit.min(STUCK_TIMEOUT)
        } else {
            limit
        }
    }

    /// Counts a unit on which the server answered (or not).
    fn answered(&mut self, client: &str, answered: bool) {
        if let Ok(mut m) = self.silent.lock() {
            let n = m.entry(client.to_string()).or_default();
            *n = if answered { 0 } else { *n + 1 };
        }
    }
}

/// Starts `unit`'s server.
fn start_server(
    ctx: &Context,
    axis: usize,
    name: &str,
    transport: Transport,
) -> Result<Instance, NotRunReason> {
    if let Some(isolate) = ctx.options.isolate {
        isolate().map_err(|e| {
            NotRunReason::SpawnFailed(format!("cannot create a network namespace: {e}"))
        })?;
    }
    let key = RoleKey {
        transport,
        role: Role::Server,
    };
    // A server that picks its own port is found on whatever port it binds.
    let own_port = ctx.fixed_port(axis, name, key).is_some();
    let lease = if own_port {
        None
    } else {
        Some(lease_port().map_err(|e| NotRunReason::ServerNotReady(format!("no free port: {e}")))?)
    };
    let port = lease.as_ref().map_or(0, |l| l.port());
    let spec = ctx.spawn_spec(axis, name, key, port, None);
    let mut process = Running::spawn(&spec).map_err(|e| {
        NotRunReason::SpawnFailed(format!(
            "cannot start `{}`: {e}",
            spec.argv[0].to_string_lossy()
        ))
    })?;
    let ready = if own_port {
        wait_for_any_port(&mut process, transport, ctx.options.start_timeout)
    } else {
        wait_until_bound(&mut process, transport, port, ctx.options.start_timeout).map(|()| port)
    };
    match ready {
        Ok(port) => Ok(Instance {
            process,
            port,
            _lease: lease,
            silent: Arc::clone(
                ctx.silence
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry((axis, transport, name.to_string()))
                    .or_default(),
            ),
            answers_any_byte: None,
        }),
        Err(e) => {
            let out = process.stop();
            let stderr = String::from_utf8_lossy(&out.stderr.bytes);
            let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
            let at = if own_port {
                String::new()
            } else {
                format!(" (port {port})")
            };
            Err(NotRunReason::ServerNotReady(format!(
                "{e}{at}{}",
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; stderr: {}",
                        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                    )
                }
            )))
        }
    }
}

fn stderr_tail(f: &super::process::Finished) -> String {
    let text = String::from_utf8_lossy(&f.stderr.bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(6)..].join("\n")
}

fn run_lane(ctx: &Context, units: &[Unit], lane: &[usize], results: &Mutex<Vec<Option<Executed>>>) {
    let mut instance: Option<Instance> = None;
    let mut start_failure: Option<NotRunReason> = None;
    let mut last: Option<usize> = None;
    let mut local: Vec<(usize, Executed)> = Vec::new();
    for &i in lane {
        let unit = &units[i];
        let axis = ctx.axis_of(unit);
        let mut started = Instant::now();
        let mut attempts = 0;
        let observation = loop {
            attempts += 1;
            let observation = 'obs: {
                if ctx.deadline.is_some_and(|d| Instant::now() > d) {
                    break 'obs Observation::NotRun {
                        reason: NotRunReason::RunTimedOut,
                    };
                }
                if ctx.options.skip_undefined
                    && !(is_reference_or_probe(&unit.client) && is_reference_or_probe(&unit.server))
                    && ctx
                        .undefined
                        .read()
                        .is_ok_and(|u| u.contains(&case_key(unit)))
                {
                    break 'obs Observation::NotRun {
                        reason: NotRunReason::ReferenceUndefined,
                    };
                }
                for side in [&unit.client, &unit.server] {
                    if let Side::Impl(name) = side {
                        if let Some(msg) = ctx.build_failures.get(&(axis, name.clone())) {
                            break 'obs Observation::NotRun {
                                reason: NotRunReason::BuildFailed(msg.clone()),
                            };
                        }
                    }
                }
                if let Side::Impl(server_name) = &unit.server {
                    // A server that ran into its process limit (a runaway fork) is not
                    // started again, here or on any other lane.
                    if instance
                        .as_ref()
                        .is_some_and(|i| i.process.process_limit_hit())
                    {
                        if let Some(dead) = instance.take() {
                            dead.process.stop();
                        }
                        start_failure = Some(NotRunReason::ProcessLimit);
                        if let Ok(mut f) = ctx.start_failures.lock() {
                            f.insert(
                                (axis, unit.transport, server_name.clone()),
                                NotRunReason::ProcessLimit,
                            );
                        }
                    }
                    // A server that died after the previous unit is noted there and restarted.
                    if let Some(inst) = instance.as_mut() {
                        if let Some(exit) = inst.process.exited() {
                            let dead = instance.take().map(|d| d.process.stop());
                            if let (Some(prev), Some(out)) = (last, dead) {
                                note_exit(&mut local, prev, exit, stderr_tail(&out));
                            }
                        }
                    }
                    if instance.is_none() {
                        let known = (axis, unit.transport, server_name.clone());
                        let failed_elsewhere = ctx
                            .start_failures
                            .lock()
                            .ok()
                            .and_then(|f| f.get(&known).cloned());
                        if let Some(reason) = start_failure.clone().or(failed_elsewhere) {
                            break 'obs Observation::NotRun { reason };
                        }
                        match start_server(ctx, axis, server_name, unit.transport) {
                            Ok(inst) => instance = Some(inst),
                            Err(reason) => {
                                start_failure = Some(reason.clone());
                                if let Ok(mut f) = ctx.start_failures.lock() {
                                    f.insert(known, reason.clone());
                                }
                                break 'obs Observation::NotRun { reason };
                            }
                        }
                    }
                }
                let server = instance.as_mut();
                let client_key = (axis, unit.transport, unit.client.name().to_string());
                let client_cap = match ctx
                    .stuck_clients
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&client_key)
                {
                    Some(&n) if n >= STUCK_AFTER => STUCK_CLIENT_TIMEOUT,
                    _ => Duration::MAX,
                };
                // A client fixed on a port: without a network namespace per lane, only
                // one unit at a time may listen there for it (relay or recording server).
                let fixed = (ctx.options.isolate.is_none() && matches!(unit.client, Side::Impl(_)))
                    .then(|| {
                        ctx.fixed_port(
                            axis,
                            unit.client.name(),
                            RoleKey {
                                transport: unit.transport,
                                role: Role::Client,
                            },
                        )
                    })
                    .flatten()
                    .map(|port| ctx.port_lock(unit.transport, port));
                let _listening = fixed
                    .as_ref()
                    .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()));
                match unit.kind {
                    UnitKind::Pairing => pairing(
                        ctx,
                        axis,
                        unit,
                        server.expect("pairing has a server"),
                        client_cap,
                    ),
                    UnitKind::ServerProbe => {
                        server_probe(ctx, unit, server.expect("server probe has a server"))
                    }
                    UnitKind::ClientProbe => client_probe(ctx, axis, unit, client_cap),
                }
            };
            // A server that exited before this unit's request reached it was killed by the
            // previous unit (it answered, then exited): note it there, and run this unit
            // again on a fresh server.
            if let (Some(inst), Some(prev)) = (instance.as_mut(), last) {
                let asked = request_instant(&observation, started);
                if attempts == 1 && inst.process.exited_at().is_some_and(|at| at <= asked) {
                    let exit = inst.process.exited().unwrap_or(Exit::TimedOut);
                    if let Some(dead) = instance.take() {
                        let out = dead.process.stop();
                        note_exit(&mut local, prev, exit, stderr_tail(&out));
                    }
                    started = Instant::now();
                    continue;
                }
            }
            break observation;
        };
        if let Observation::Pairing { client, .. } | Observation::ClientProbe { client, .. } =
            &observation
        {
            let mut stuck = ctx.stuck_clients.lock().unwrap_or_else(|p| p.into_inner());
            let n = stuck
                .entry((axis, unit.transport, unit.client.name().to_string()))
                .or_default();
            *n = if client.exit == Exit::TimedOut {
                *n + 1
            } else {
                0
            };
        }
        let executed = Executed {
            unit: unit.clone(),
            observation,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        local.push((i, executed));
        last = Some(local.len() - 1);
        let done = {
            let mut d = ctx.done.lock().unwrap_or_else(|p| p.into_inner());
            *d += 1;
            *d
        };
        (ctx.on_event)(Event::UnitDone {
            unit,
            done,
            total: ctx.total,
        });
    }
    // The last unit's server: give a dying one a moment to be seen (longer for servers
    // that are not shout's own, which may be one-shot).
    if let (Some(mut inst), Some(prev)) = (instance.take(), last) {
        let grace = match local.get(prev).map(|(_, e)| &e.unit.server) {
            Some(Side::Impl(name)) if !ctx.is_builtin(axis_of_last(ctx, &local, prev), name) => {
                DYING * 2
            }
            _ => Duration::from_millis(50),
        };
        if let Some(exit) = inst.process.wait_timeout(grace) {
            let out = inst.process.stop();
            note_exit(&mut local, prev, exit, stderr_tail(&out));
        } else {
            inst.process.stop();
        }
    }
    // What the reference gave no answer to shortens the other units' time limits there.
    {
        let mut undefined = ctx.undefined.write().unwrap_or_else(|p| p.into_inner());
        for (_, e) in &local {
            if is_reference_or_probe(&e.unit.client)
                && is_reference_or_probe(&e.unit.server)
                && reference_gave_no_answer(e)
            {
                undefined.insert(case_key(&e.unit));
            }
        }
    }
    let mut all = results.lock().unwrap_or_else(|p| p.into_inner());
    for (i, e) in local {
        all[i] = Some(e);
    }
}

fn axis_of_last(ctx: &Context, local: &[(usize, Executed)], at: usize) -> usize {
    local.get(at).map_or(0, |(_, e)| ctx.axis_of(&e.unit))
}

/// When this unit's first request byte was on its way to the server: the first client
/// chunk the relay saw, or the unit's start for the harness's own probes.
fn request_instant(observation: &Observation, started: Instant) -> Instant {
    match observation {
        Observation::Pairing { wire, .. } => wire
            .events
            .iter()
            .find(|e| e.from == Peer::Client)
            .map_or(Instant::now(), |e| started + Duration::from_millis(e.at_ms)),
        _ => started,
    }
}

fn note_exit(local: &mut [(usize, Executed)], at: usize, exit: Exit, tail: String) {
    if let Some((_, e)) = local.get_mut(at) {
        match &mut e.observation {
            Observation::Pairing { server, .. } | Observation::ServerProbe { server, .. } => {
                if server.exited.is_none() {
                    server.exited = Some(exit);
                    server.stderr_tail = tail;
                }
            }
            Observation::ClientProbe { .. } | Observation::NotRun { .. } => {}
        }
    }
}

fn line_of(unit: &Unit) -> Vec<u8> {
    match &unit.case.input {
        Input::Line(l) => format!("{l}\n").into_bytes(),
        Input::Raw(_) | Input::Silent => Vec::new(),
    }
}

fn after(instance: &mut Instance) -> ServerAfter {
    ServerAfter {
        exited: instance.process.exited(),
        answers: None,
        stderr_tail: String::new(),
        process_limit: instance.process.process_limit_hit(),
    }
}

fn pairing(
    ctx: &Context,
    axis: usize,
    unit: &Unit,
    server: &mut Instance,
    client_cap: Duration,
) -> Observation {
    let client_key = RoleKey {
        transport: unit.transport,
        role: Role::Client,
    };
    let listen = ctx
        .fixed_port(axis, unit.client.name(), client_key)
        .unwrap_or(0);
    // A client and a server fixed on the same port meet directly: no relay fits between
    // them, so this pairing has no wire transcript.
    let direct = listen != 0 && listen == server.port;
    let relay = if direct {
        None
    } else {
        match Relay::start(
            unit.transport,
            server.port,
            listen,
            ctx.options.capture_limit,
        ) {
            Ok(r) => Some(r),
            Err(e) => {
                return Observation::NotRun {
                    reason: NotRunReason::SpawnFailed(format!("relay: {e}")),
                }
            }
        }
    };
    let client = unit.client.name();
    let spec = ctx.spawn_spec(
        axis,
        client,
        RoleKey {
            transport: unit.transport,
            role: Role::Client,
        },
        relay.as_ref().map_or(server.port, Relay::port),
        Some(line_of(unit)),
    );
    let finished = match Running::spawn(&spec) {
        Ok(r) => r.finish(server.limit(client, ctx.timeout_for(unit)).min(client_cap)),
        Err(e) => {
            if let Some(r) = relay {
                r.stop();
            }
            return Observation::NotRun {
                reason: NotRunReason::SpawnFailed(format!(
                    "cannot start `{}`: {e}",
                    spec.argv[0].to_string_lossy()
                )),
            };
        }
    };
    let wire = match relay {
        Some(r) => r.stop(),
        // Say so, so that nobody reads "sent nothing" into an empty transcript.
        None => Transcript {
            events: vec![WireEvent {
                from: Peer::Client,
                at_ms: 0,
                bytes: Vec::new(),
                what: WireWhat::Unrecorded,
            }],
        },
    };
    server.answered(
        client,
        finished.exit != Exit::TimedOut || !wire.sent_by(Peer::Server).is_empty(),
    );
    let troubled = finished.exit != Exit::Code(0)
        || (!direct && wire.sent_by(Peer::Server).is_empty())
        || wire.has(Peer::Server, WireWhat::Reset);
    if troubled && !ctx.is_shout_server(axis, unit.server.name()) {
        // A server that is dying must be seen dead now, not blamed on the next unit
        // (shout's own servers never die on a request).
        server.process.wait_timeout(DYING);
    }
    Observation::Pairing {
        client: ProcessOutcome::from(finished),
        wire,
        server: after(server),
    }
}

/// Sends `writes` to the server as the harness-client; returns the reply and transcript.
fn probe_exchange(
    transport: Transport,
    port: u16,
    writes: &[Vec<u8>],
    timeout: Duration,
    server: &mut Running,
) -> (Reply, Transcript) {
    let started = Instant::now();
    let mut events = Vec::new();
    let mut note = |from, bytes: &[u8], what: WireWhat| {
        events.push(WireEvent {
            from,
            at_ms: started.elapsed().as_millis() as u64,
            bytes: bytes.to_vec(),
            what,
        })
    };
    let reply = match transport {
        Transport::Udp => {
            let mut other_port = false;
            let mut more: Vec<Vec<u8>> = Vec::new();
            let result = (|| -> io::Result<Reply> {
                let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
                s.set_read_timeout(Some(SLICE))?;
                for w in writes {
                    s.send_to(w, (Ipv4Addr::LOCALHOST, port))?;
                }
                let deadline = Instant::now() + timeout;
                let mut buf = vec![0u8; 65536];
                // Short slices, so that a server that died on the request is seen at once.
                let received = loop {
                    match s.recv_from(&mut buf) {
                        Err(e) if is_timeout(&e) && Instant::now() < deadline => {
                            if server.exited().is_some() {
                                // A last look, for a reply sent just before the exit.
                                s.set_nonblocking(true)?;
                                break s.recv_from(&mut buf);
                            }
                        }
                        other => break other,
                    }
                };
                match received {
                    Ok((n, from)) => {
                        other_port = from.port() != port;
                        let first = buf[..n].to_vec();
                        // One datagram answers one: what else came back at once, beyond
                        // one reply per datagram sent, is a duplicate.
                        s.set_read_timeout(Some(EXTRA_WAIT))?;
                        while more.len() < writes.len() {
                            match s.recv_from(&mut buf) {
                                Ok((n, _)) => more.push(buf[..n].to_vec()),
                                Err(_) => break,
                            }
                        }
                        Ok(Reply::Bytes {
                            bytes: first,
                            reset: false,
                        })
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        Ok(Reply::Nothing)
                    }
                    Err(_) => Ok(Reply::Refused),
                }
            })();
            for w in writes {
                note(Peer::Client, w, WireWhat::Data);
            }
            let reply = result.unwrap_or(Reply::Refused);
            if let Reply::Bytes { bytes, .. } = &reply {
                note(
                    Peer::Server,
                    bytes,
                    if other_port {
                        WireWhat::DataFromOtherPort
                    } else {
                        WireWhat::Data
                    },
                );
            }
            // The replies to the other datagrams sent are expected; any beyond are not.
            for extra in more.iter().skip(writes.len().saturating_sub(1)) {
                note(Peer::Server, extra, WireWhat::ExtraDatagram);
            }
            reply
        }
        Transport::Tcp => {
            let mut s =
                match TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), timeout) {
                    Ok(s) => s,
                    Err(_) => return (Reply::Refused, Transcript { events }),
                };
            let _ = s.set_read_timeout(Some(timeout));
            for (k, w) in writes.iter().enumerate() {
                if k > 0 {
                    // Separate writes must arrive as separate segments.
                    std::thread::sleep(Duration::from_millis(30));
                }
                if s.write_all(w).is_err() {
                    break;
                }
                note(Peer::Client, w, WireWhat::Data);
            }
            let mut got = Vec::new();
            let mut buf = [0u8; 8192];
            let reply = loop {
                match s.read(&mut buf) {
                    Ok(0) => {
                        note(Peer::Server, b"", WireWhat::Close);
                        break Reply::Bytes {
                            bytes: got,
                            reset: false,
                        };
                    }
                    Ok(n) => {
                        note(Peer::Server, &buf[..n], WireWhat::Data);
                        got.extend_from_slice(&buf[..n]);
                        if got.len() > 1 << 20 {
                            break Reply::Bytes {
                                bytes: got,
                                reset: false,
                            };
                        }
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        break if got.is_empty() {
                            Reply::Nothing
                        } else {
                            Reply::Bytes {
                                bytes: got,
                                reset: false,
                            }
                        };
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => {
                        note(Peer::Server, b"", WireWhat::Reset);
                        break if got.is_empty() {
                            Reply::Refused
                        } else {
                            Reply::Bytes {
                                bytes: got,
                                reset: true,
                            }
                        };
                    }
                }
            };
            let _ = s.shutdown(Shutdown::Both);
            reply
        }
    };
    (reply, Transcript { events })
}

/// Whether the server still answers a request: any reply counts, right or wrong (the
/// probes judge the replies; this only asks whether the server is still serving). Waits
/// in short slices so that a server that has exited is seen at once rather than after the
/// whole `timeout`.
fn healthy(transport: Transport, port: u16, timeout: Duration, process: &mut Running) -> bool {
    let deadline = Instant::now() + timeout;
    let gone = |process: &mut Running| process.exited().is_some() || Instant::now() > deadline;
    let mut buf = vec![0u8; 4096];
    match transport {
        Transport::Udp => {
            let Ok(s) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)) else {
                return false;
            };
            if s.set_read_timeout(Some(SLICE)).is_err()
                || s.send_to(HEALTH, (Ipv4Addr::LOCALHOST, port)).is_err()
            {
                return false;
            }
            loop {
                match s.recv_from(&mut buf) {
                    Ok(_) => return true,
                    Err(e) if is_timeout(&e) && !gone(process) => continue,
                    Err(_) => return false,
                }
            }
        }
        Transport::Tcp => {
            let Ok(mut s) =
                TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), timeout)
            else {
                return false;
            };
            if s.set_read_timeout(Some(SLICE)).is_err() || s.write_all(HEALTH).is_err() {
                return false;
            }
            let mut reply = Vec::new();
            loop {
                match s.read(&mut buf) {
                    Ok(0) => return !reply.is_empty(),
                    Ok(n) => reply.extend_from_slice(&buf[..n]),
                    // An answer, and the server keeps the connection open (a quiet slice).
                    Err(e) if is_timeout(&e) && !reply.is_empty() => return true,
                    Err(e) if is_timeout(&e) && !gone(process) => continue,
                    Err(_) => return !reply.is_empty(),
                }
            }
        }
    }
}

/// How long a UDP probe waits, after the reply, for a duplicate.
const EXTRA_WAIT: Duration = Duration::from_millis(2);

/// How long the recording server waits for the rest of a line that came in pieces.
const UNREAD_WAIT: Duration = Duration::from_millis(100);

/// What arrives on `s` within `wait` (at most `max` bytes), until the peer closes.
fn read_for(s: &mut TcpStream, wait: Duration, max: usize) -> Vec<u8> {
    let deadline = Instant::now() + wait;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < max {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || s.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn server_probe(ctx: &Context, unit: &Unit, server: &mut Instance) -> Observation {
    let timeout = server.limit(crate::plan::PROBE, ctx.timeout_for(unit));
    let (reply, wire, answers_while) = match &unit.case.input {
        Input::Silent => {
            let silent = TcpStream::connect((Ipv4Addr::LOCALHOST, server.port));
            let answers = healthy(unit.transport, server.port, timeout, &mut server.process);
            drop(silent);
            (Reply::Nothing, Transcript::default(), Some(answers))
        }
        Input::Line(l) => {
            let (r, w) = probe_exchange(
                unit.transport,
                server.port,
                &[l.as_bytes().to_vec()],
                timeout,
                &mut server.process,
            );
            (r, w, None)
        }
        Input::Raw(writes) => {
            let (r, w) = probe_exchange(
                unit.transport,
                server.port,
                writes,
                timeout,
                &mut server.process,
            );
            (r, w, None)
        }
    };
    server.answered(crate::plan::PROBE, !matches!(reply, Reply::Nothing));
    let answers_with_newline = match (&reply, &unit.case.input, unit.transport) {
        (Reply::Nothing, Input::Line(l), Transport::Tcp) => {
            let (r, _) = probe_exchange(
                Transport::Tcp,
                server.port,
                &[format!("{l}\n").into_bytes()],
                timeout,
                &mut server.process,
            );
            Some(matches!(r, Reply::Bytes { ref bytes, .. } if !bytes.is_empty()))
        }
        _ => None,
    };
    // Waiting for a newline, or for any further byte? Asked once per server instance: a
    // newline-framed server keeps the probe waiting for its limit here.
    let answers_with_any_byte = match (answers_with_newline, &unit.case.input) {
        (Some(true), Input::Line(l)) => Some(match server.answers_any_byte {
            Some(known) => known,
            None => {
                let (r, _) = probe_exchange(
                    Transport::Tcp,
                    server.port,
                    &[format!("{l} ").into_bytes()],
                    timeout.min(Duration::from_secs(1)),
                    &mut server.process,
                );
                let answered = matches!(r, Reply::Bytes { ref bytes, .. } if !bytes.is_empty());
                server.answers_any_byte = Some(answered);
                answered
            }
        }),
        _ => None,
    };
    let mut state = after(server);
    state.answers = Some(match answers_while {
        Some(a) => a,
        None => {
            state.exited.is_none()
                && healthy(unit.transport, server.port, timeout, &mut server.process)
        }
    });
    if state.exited.is_none() && state.answers == Some(false) {
        // A server that stopped answering may be crashing: give it a moment to be seen
        // dead rather than merely silent.
        state.exited = server.process.wait_timeout(DYING);
    }
    Observation::ServerProbe {
        reply,
        wire,
        server: state,
        answers_with_newline,
        answers_with_any_byte,
    }
}

fn client_probe(ctx: &Context, axis: usize, unit: &Unit, client_cap: Duration) -> Observation {
    let stop = Arc::new(AtomicBool::new(false));
    let received: Arc<Mutex<Vec<u8>>> = Arc::default();
    let unread: Arc<Mutex<Vec<u8>>> = Arc::default();
    let timeout = ctx.timeout_for(unit).min(client_cap);
    if let Some(isolate) = ctx.options.isolate {
        if let Err(e) = isolate() {
            return Observation::NotRun {
                reason: NotRunReason::SpawnFailed(format!(
                    "cannot create a network namespace: {e}"
                )),
            };
        }
    }
    let listen = ctx
        .fixed_port(
            axis,
            unit.client.name(),
            RoleKey {
                transport: unit.transport,
                role: Role::Client,
            },
        )
        .unwrap_or(0);
    let (port, handle) = match unit.transport {
        Transport::Udp => {
            let Ok(s) = UdpSocket::bind((Ipv4Addr::LOCALHOST, listen)) else {
                return Observation::NotRun {
                    reason: NotRunReason::SpawnFailed("cannot bind a UDP socket".into()),
                };
            };
            let _ = s.set_read_timeout(Some(Duration::from_millis(5)));
            let port = s.local_addr().map(|a| a.port()).unwrap_or(0);
            let (stop2, rec2) = (Arc::clone(&stop), Arc::clone(&received));
            let h = std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                while !stop2.load(Ordering::SeqCst) {
                    if let Ok((n, from)) = s.recv_from(&mut buf) {
                        if let Ok(mut r) = rec2.lock() {
                            r.extend_from_slice(&buf[..n]);
                        }
                        let _ = s.send_to(MARKER.as_bytes(), from);
                    }
                }
            });
            (port, h)
        }
        Transport::Tcp => {
            let Ok(l) = TcpListener::bind((Ipv4Addr::LOCALHOST, listen)) else {
                return Observation::NotRun {
                    reason: NotRunReason::SpawnFailed("cannot bind a TCP socket".into()),
                };
            };
            let port = l.local_addr().map(|a| a.port()).unwrap_or(0);
            let (stop2, rec2, unread2) = (
                Arc::clone(&stop),
                Arc::clone(&received),
                Arc::clone(&unread),
            );
            let line_len = unit.case.request_bytes().len();
            let h = std::thread::spawn(move || {
                while let Ok((mut s, _)) = l.accept() {
                    if stop2.load(Ordering::SeqCst) {
                        break;
                    }
                    let _ = s.set_read_timeout(Some(timeout));
                    let mut buf = [0u8; 65536];
                    // One read, like the reference server.
                    if let Ok(n) = s.read(&mut buf) {
                        if let Ok(mut r) = rec2.lock() {
                            r.extend_from_slice(&buf[..n]);
                        }
                        let _ = s.write_all(MARKER.as_bytes());
                        if n > 0 && n < line_len {
                            // Less than the line: see whether the rest followed in
                            // further writes, for the diagnosis only.
                            let more = read_for(&mut s, UNREAD_WAIT, buf.len());
                            if let Ok(mut u) = unread2.lock() {
                                u.extend_from_slice(&more);
                            }
                        }
                    }
                }
            });
            (port, h)
        }
    };
    let spec = ctx.spawn_spec(
        axis,
        unit.client.name(),
        RoleKey {
            transport: unit.transport,
            role: Role::Client,
        },
        port,
        Some(line_of(unit)),
    );
    let finished = Running::spawn(&spec).map(|r| r.finish(timeout));
    stop.store(true, Ordering::SeqCst);
    if unit.transport == Transport::Tcp {
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, port));
    }
    let _ = handle.join();
    match finished {
        Ok(f) => Observation::ClientProbe {
            client: ProcessOutcome::from(f),
            received: received.lock().map(|r| r.clone()).unwrap_or_default(),
            marker: MARKER.as_bytes().to_vec(),
            unread: unread.lock().map(|r| r.clone()).unwrap_or_default(),
        },
        Err(e) => Observation::NotRun {
            reason: NotRunReason::SpawnFailed(format!(
                "cannot start `{}`: {e}",
                spec.argv[0].to_string_lossy()
            )),
        },
    }
}
