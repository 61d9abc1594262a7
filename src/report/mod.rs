//! Reporters: each turns [`crate::results::Results`] into bytes for one audience.

pub mod json;
pub mod terminal;
