//! Confinement for untrusted student programs: resource limits, a pids cgroup per child,
//! a memory cgroup per submission, a user of its own per submission, bubblewrap's
//! namespaces (user, PID with its own `/proc`, mounts showing only the work folder and
//! read-only toolchains, private `/tmp` and `/dev/shm`), a cleared environment, a fresh
//! network namespace per worker thread, and a private copy of the submission to work in.
//! docs/SECURITY.md says which attack each layer stops.
//!
//! [`Sandbox`] implements [`Confine`](crate::run::process::Confine), so
//! [`Running::spawn`](crate::run::process::Running) applies it in the child before `exec`.
//! What this machine cannot do (not root, no pids cgroup, not Linux) is skipped, not
//! failed: [`Sandbox::support`] says what works and why the rest does not, so the caller
//! can say it once. A feature that is available but fails for one child fails that spawn:
//! a fork bomb never runs unconfined by accident.
//!
//! This module never decides verdicts and never prints; `mod.rs` only re-exports.
//!
//! - `confine`: the [`Sandbox`] and what it prepares for each child.
//! - `limits`: the [`Limits`] every child gets.
//! - `support`: which features work here ([`Support`], [`Feature`]).
//! - `cgroup`: one pids cgroup per child, killed and removed with it.
//! - `pre_exec`: what the child does before `exec`.
//! - `hosts`: the private hosts file's contents.
//! - `user`: the unprivileged [`User`].
//! - `netns`: a fresh network namespace per worker thread ([`enter_fresh_netns`]);
//!   `addrs`: the addresses clients hardcode, added to its loopback interface.
//! - `workdir`: the private copy of a submission ([`prepare_workdir`]).
//! - `sys`: small system-call helpers.
//! - `bwrap`: the world bubblewrap builds for each program (namespaces, file system view);
//!   `seccomp`: the system-call filter it installs (no user namespaces of the program's own).
//! - `memcg`: one memory cgroup per submission.
//! - `isolation`: `--isolation strict|best-effort` and the words for the layers that work.

mod addrs;
mod bwrap;
mod cgroup;
mod confine;
mod hosts;
mod isolation;
mod limits;
mod memcg;
mod mounts;
mod netns;
mod pre_exec;
mod seccomp;
mod support;
mod sys;
mod user;
mod workdir;

pub use addrs::add_loopback_addresses;
pub use bwrap::TMPFS_BYTES;
pub use cgroup::KILL_PATIENCE;
pub use confine::{prepare_workdir, Sandbox, ENV_ALLOWLIST, SUBMISSION_UID_BASE};
pub use isolation::{layers_json, layers_sentence, refusal, IsolationMode};
pub use limits::Limits;
pub use memcg::SUBMISSION_MEMORY_BYTES;
pub use mounts::{can_cap_folders, enter_private_mounts, ReadOnlyView, WORK_FOLDER_BYTES};
pub use netns::{enter_fresh_netns, enter_user_namespace};
pub use support::{Feature, Support};
pub use user::User;
pub use workdir::{WorkdirError, WorkdirLimits, MAX_WORKDIR_BYTES, MAX_WORKDIR_ENTRIES};
