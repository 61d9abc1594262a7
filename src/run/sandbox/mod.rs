//! Confinement for untrusted student programs: resource limits, a pids cgroup per child,
//! a private `/etc/hosts` in a mount namespace, an unprivileged user, a fresh network
//! namespace per worker thread, and a private copy of the submission to work in.
//!
//! [`Sandbox`] implements [`Confine`](crate::run::process::Confine), so
//! [`Running::spawn`](crate::run::process::Running) applies it between `fork` and `exec`.
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
//! - `pre_exec`: what the child does between `fork` and `exec`.
//! - `hosts`: the private hosts file's contents.
//! - `user`: the unprivileged [`User`].
//! - `netns`: a fresh network namespace per worker thread ([`enter_fresh_netns`]).
//! - `workdir`: the private copy of a submission ([`prepare_workdir`]).
//! - `sys`: small system-call helpers.

mod cgroup;
mod confine;
mod hosts;
mod limits;
mod netns;
mod pre_exec;
mod support;
mod sys;
mod user;
mod workdir;

pub use cgroup::KILL_PATIENCE;
pub use confine::{prepare_workdir, Sandbox};
pub use limits::Limits;
pub use netns::{enter_fresh_netns, enter_user_namespace};
pub use support::{Feature, Support};
pub use user::User;
pub use workdir::{MAX_WORKDIR_BYTES, MAX_WORKDIR_ENTRIES};
