//! shout's integration tests: one binary, one module per area, real binaries and real reference scripts.

mod support;
