//! The flags of `shout grade` that bound and isolate each submission, declared once so
//! that `cli` flattens them and `options` reads them.

use std::time::Duration;

use clap::Args;
use shout::run::sandbox::{IsolationMode, WorkdirLimits};

/// How large a submission may be, how long it may build, and how strictly it is isolated.
#[derive(Debug, Clone, Args)]
pub struct IsolationArgs {
    /// Whether to refuse to grade when a layer of isolation is unavailable here
    /// (`strict`), or to grade with the layers that work and say which do not
    /// (`best-effort`). See docs/SECURITY.md.
    #[arg(long, value_name = "MODE", default_value = "strict", value_parser = parse_mode)]
    pub isolation: IsolationMode,
    /// Most megabytes (10^6 bytes) a submission may hold; a larger one is not graded.
    #[arg(long, value_name = "MB", default_value_t = 50)]
    pub max_submission_mb: u64,
    /// Most files and folders a submission may hold; one with more is not graded.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub max_submission_files: usize,
    /// Seconds each build of a submission may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 180)]
    pub build_timeout: u64,
}

fn parse_mode(s: &str) -> Result<IsolationMode, String> {
    s.parse()
}

impl IsolationArgs {
    /// The size limits asked for.
    pub fn submission_limits(&self) -> WorkdirLimits {
        WorkdirLimits {
            bytes: self.max_submission_mb.saturating_mul(1_000_000),
            entries: self.max_submission_files,
        }
    }

    /// The build time limit asked for.
    pub fn build_timeout(&self) -> Duration {
        Duration::from_secs(self.build_timeout.max(1))
    }
}
