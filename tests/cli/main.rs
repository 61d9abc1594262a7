//! shout's integration tests: one binary, one module per area, real binaries and real reference scripts.

mod cache;
mod case_table;
mod causes;
mod check_folder;
mod class_view;
mod cli_help;
mod detection;
mod expectations;
mod fixed_port;
mod grading;
mod harness;
mod layers;
mod pairings;
mod protocol_framing;
mod protocol_input;
mod protocol_python;
mod protocol_rust;
mod reports;
mod robustness;
mod roles;
mod support;
mod sweep;
