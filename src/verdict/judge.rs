//! Judging: each observation against the reference's observation of the same case, and
//! failures attributed by looking at each side's result with the reference peer. This
//! file dispatches; `pairing` and `probes` judge each kind with what `compare` shares.
//! Pure: it compares, it never words (findings do) or runs anything.

use super::compare::{Context, Index, Judge, Judged, Outcome};
use super::finding::{RunFinding, ServerFinding};
use super::model::{Fault, Verdict};
use crate::proto::case::UnicodeVersion;
use crate::run::execute::Executed;
use crate::run::observe::{NotRunReason, Observation};

/// Judges every executed unit.
pub fn judge(executed: &[Executed], ctx: &Context) -> Vec<Judged> {
    let index = Index::new(executed);
    let mut judged: Vec<Judged> = executed.iter().map(|e| judge_one(e, &index, ctx)).collect();
    super::settle::settle(&mut judged, ctx);
    judged
}

fn judge_one(e: &Executed, index: &Index, ctx: &Context) -> Judged {
    let (runtime, unicode) = ctx
        .reference_runtime
        .get(&e.unit.axis)
        .cloned()
        .unwrap_or_else(|| ("Python 3".into(), UnicodeVersion::DEFAULT));
    let j = Judge {
        index,
        ctx,
        runtime,
        unicode,
    };
    let mut o = match &e.observation {
        Observation::NotRun { reason } => not_run(reason),
        Observation::Pairing { .. } => super::pairing::pairing(e, &j),
        Observation::ServerProbe { .. } => super::probes::server_probe(e, &j),
        Observation::ClientProbe { .. } => super::probes::client_probe(e, &j),
    };
    let hit_process_limit = match &e.observation {
        Observation::Pairing { server, .. } | Observation::ServerProbe { server, .. } => {
            server.process_limit
        }
        Observation::ClientProbe { .. } | Observation::NotRun { .. } => false,
    };
    if hit_process_limit {
        o = o.explained_by_process_limit();
    }
    Judged {
        executed: e.clone(),
        verdict: o.verdict,
        fault: o.fault,
        expected: o.expected,
        actual: o.actual,
        finding: o.finding,
        minimal: o.minimal,
    }
}

fn not_run(reason: &NotRunReason) -> Outcome {
    match reason {
        NotRunReason::BuildFailed(m) => {
            Outcome::of(Verdict::Fail, RunFinding::BuildFailed { output: m.clone() })
        }
        NotRunReason::ServerNotReady(m) => Outcome {
            fault: Some(Fault::Server),
            ..Outcome::of(
                Verdict::Fail,
                ServerFinding::NotListening { detail: m.clone() },
            )
        },
        NotRunReason::SpawnFailed(m) => Outcome::of(
            Verdict::Skip,
            RunFinding::ProgramMissing { detail: m.clone() },
        ),
        NotRunReason::RunTimedOut => Outcome::of(Verdict::Skip, RunFinding::RunTimedOut),
        NotRunReason::MachineBusy { tenths } => {
            Outcome::of(Verdict::Skip, RunFinding::MachineBusy { tenths: *tenths })
        }
        NotRunReason::ProcessLimit => Outcome {
            fault: Some(Fault::Server),
            ..Outcome::of(Verdict::Fail, ServerFinding::ProcessLimit)
        },
        NotRunReason::ReferenceUndefined => {
            Outcome::of(Verdict::Info, RunFinding::ReferenceUndefined)
        }
    }
}
