//! The flags of `shout grade` that bound and isolate each submission, declared once so
//! that `cli` flattens them and `options` reads them.

use std::time::Duration;

use clap::Args;
use shout::run::sandbox::{IsolationMode, WorkdirLimits};

/// The default size limit, in megabytes.
const MAX_SUBMISSION_MB: u64 = 50;
/// The default number of files and folders.
const MAX_SUBMISSION_FILES: usize = 2000;
/// The default build time limit, in seconds.
const BUILD_TIMEOUT_SECONDS: u64 = 180;

/// How large a submission may be, how long it may build, and how strictly it is isolated.
#[derive(Debug, Clone, Args)]
pub struct IsolationArgs {
    /// Whether to refuse to grade when a layer of isolation is unavailable here
    /// (`strict`), or to grade with the layers that work and say which do not
    /// (`best-effort`). See docs/SECURITY.md.
    #[arg(long, value_name = "MODE", default_value = "strict", value_parser = parse_mode)]
    pub isolation: IsolationMode,
    /// Most megabytes (10^6 bytes) a submission may hold; a larger one is not graded.
    #[arg(long, value_name = "MB", default_value_t = MAX_SUBMISSION_MB)]
    pub max_submission_mb: u64,
    /// Most files and folders a submission may hold; one with more is not graded.
    #[arg(long, value_name = "N", default_value_t = MAX_SUBMISSION_FILES)]
    pub max_submission_files: usize,
    /// Seconds each build of a submission may take.
    #[arg(long, value_name = "SECONDS", default_value_t = BUILD_TIMEOUT_SECONDS)]
    pub build_timeout: u64,
}

fn parse_mode(s: &str) -> Result<IsolationMode, String> {
    s.parse()
}

impl IsolationArgs {
    /// For a student checking their own programs (`shout check DIR`): the default limits,
    /// and whatever layers of isolation this machine has.
    pub fn own_programs() -> IsolationArgs {
        IsolationArgs {
            isolation: IsolationMode::BestEffort,
            max_submission_mb: MAX_SUBMISSION_MB,
            max_submission_files: MAX_SUBMISSION_FILES,
            build_timeout: BUILD_TIMEOUT_SECONDS,
        }
    }

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
