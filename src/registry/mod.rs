//! Implementations as validated data: the built-in `python` (reference scripts) and
//! `rust` (shout's own roles), plus implementations declared in TOML manifests.

mod builtin;
mod manifest;
mod model;

pub use builtin::{builtins, probe_python, reference_fingerprint, PythonInfo, REFERENCE_FLAGS};
pub use manifest::{load_manifest, ManifestError};
pub use model::{
    valid_name, ClientOutput, CommandTemplate, Implementation, Origin, Role, RoleKey, UnicodePolicy,
};

/// The implementation whose behaviour defines the expectations.
pub const REFERENCE: &str = "python";

/// shout's own implementation of the four roles.
pub const SHOUT: &str = "rust";
