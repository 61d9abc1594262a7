//! How strictly graded code must be isolated (`--isolation strict|best-effort`), and what
//! is said about the layers that work here: one sentence for the grader at the start of a
//! run, and a value for each `results.json`.
//!
//! Pure: it reads a [`Support`] and words it; it probes and starts nothing.

use std::fmt;
use std::str::FromStr;

use super::support::{Feature, Support};

/// What the grader asks for when a layer of isolation does not work here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationMode {
    /// Refuse to grade unless every layer works (the default: untrusted code never runs
    /// with less isolation than the grader expects without the grader choosing so).
    #[default]
    Strict,
    /// Grade with the layers that work, and say which do not.
    BestEffort,
}

impl fmt::Display for IsolationMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IsolationMode::Strict => "strict",
            IsolationMode::BestEffort => "best-effort",
        })
    }
}

impl FromStr for IsolationMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(IsolationMode::Strict),
            "best-effort" => Ok(IsolationMode::BestEffort),
            other => Err(format!(
                "unknown isolation `{other}`: use strict or best-effort"
            )),
        }
    }
}

/// The layers that do not work here when `mode` asks for all of them, as one sentence
/// saying what to do; `None` when grading may go on.
pub fn refusal(support: &Support, mode: IsolationMode) -> Option<String> {
    let missing = support.unavailable();
    if mode == IsolationMode::BestEffort || missing.is_empty() {
        return None;
    }
    let list: Vec<String> = missing
        .iter()
        .map(|(name, why)| format!("{name}: {why}"))
        .collect();
    Some(format!(
        "--isolation strict needs every layer of isolation, and {} missing here ({}); run shout as root on a machine with bubblewrap and cgroups, or pass --isolation best-effort to grade with the layers that work",
        if missing.len() == 1 { "one is" } else { "some are" },
        list.join("; ")
    ))
}

/// The layers as a JSON value for `results.json`: the mode, the layers that work, and
/// each one that does not with why.
pub fn layers_json(support: &Support, mode: IsolationMode) -> serde_json::Value {
    let mut active = Vec::new();
    let mut inactive = serde_json::Map::new();
    for (name, feature) in support.layers() {
        match feature {
            Feature::Available => active.push(serde_json::Value::from(name)),
            Feature::Unavailable { reason } => {
                inactive.insert(name.to_string(), reason.clone().into());
            }
        }
    }
    serde_json::json!({
        "mode": mode.to_string(),
        "active": active,
        "inactive": inactive,
    })
}

/// One line for the grader at the start of a run: the mode, the layers that work and
/// those that do not.
pub fn layers_sentence(support: &Support, mode: IsolationMode) -> String {
    let active: Vec<&str> = support
        .layers()
        .into_iter()
        .filter(|(_, f)| f.is_available())
        .map(|(name, _)| name)
        .collect();
    let missing = support.unavailable();
    let mut s = format!(
        "isolation {mode}: active: {}",
        if active.is_empty() {
            "none".to_string()
        } else {
            active.join(", ")
        }
    );
    if !missing.is_empty() {
        let list: Vec<String> = missing
            .iter()
            .map(|(name, why)| format!("{name} ({why})"))
            .collect();
        s.push_str(&format!("; not active: {}", list.join("; ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn support(bubblewrap: Feature) -> Support {
        Support {
            mount_namespace: Feature::Available,
            pids_cgroup: Feature::Available,
            drop_user: Feature::Available,
            network_namespace: Feature::Available,
            bubblewrap,
            memory_cgroup: Feature::Available,
        }
    }

    #[test]
    fn strict_refuses_a_missing_layer_and_best_effort_says_it() {
        let no = Feature::Unavailable {
            reason: "bubblewrap is not installed".into(),
        };
        let partial = support(no);
        let why = refusal(&partial, IsolationMode::Strict).expect("refused");
        assert!(
            why.contains("bubblewrap: bubblewrap is not installed"),
            "{why}"
        );
        assert!(why.contains("--isolation best-effort"), "{why}");
        assert_eq!(refusal(&partial, IsolationMode::BestEffort), None);
        assert_eq!(
            refusal(&support(Feature::Available), IsolationMode::Strict),
            None
        );
        let json = layers_json(&partial, IsolationMode::BestEffort);
        assert_eq!(json["mode"], "best-effort");
        assert_eq!(
            json["inactive"]["bubblewrap"],
            "bubblewrap is not installed"
        );
        assert!(!json["active"]
            .as_array()
            .unwrap()
            .contains(&"bubblewrap".into()));
        let line = layers_sentence(&partial, IsolationMode::BestEffort);
        assert!(line.contains("not active: bubblewrap"), "{line}");
    }

    #[test]
    fn modes_parse_and_print_alike() {
        for mode in [IsolationMode::Strict, IsolationMode::BestEffort] {
            assert_eq!(mode.to_string().parse::<IsolationMode>(), Ok(mode));
        }
        assert!("lax".parse::<IsolationMode>().is_err());
    }
}
