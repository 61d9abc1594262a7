//! Implementations as validated data: the built-in `python` (reference scripts) and
//! `rust` (shout's own roles), plus implementations declared in TOML manifests, and which
//! one is the reference.

mod builtin;
mod manifest;
mod model;
mod reference;

pub use builtin::{builtins, probe_python, reference_fingerprint, PythonInfo, REFERENCE_FLAGS};
pub use manifest::{load_manifest, ManifestError};
pub use model::{
    valid_name, ClientOutput, CommandTemplate, Implementation, Origin, Role, RoleKey, UnicodePolicy,
};

pub use reference::{
    choose_reference, framed_line, reference, reply_prefix, tcp_lines_end_with_newline,
    udp_server_keeps_its_buffer, BuiltReference, ReferenceChoice, JAVA_TEXTBOOK, PYTHON,
};

/// shout's own implementation of the four roles.
pub const SHOUT: &str = "rust";
