//! The `regex!` macro: a detection pattern compiled the first time it is used and kept
//! for the life of the process, so reading a class of submissions compiles each pattern
//! once, not once per file.
//!
//! Patterns are constants written in this module's siblings; an invalid one is a bug and
//! panics on first use. It matches nothing itself.

/// The compiled [`Regex`](regex::Regex) for a constant `pattern`, as a `&'static Regex`.
/// Each use site has its own `LazyLock`.
macro_rules! regex {
    ($pattern:expr) => {{
        static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new($pattern).expect("detection patterns are valid")
        });
        &*RE
    }};
}

pub(super) use regex;

#[cfg(test)]
mod tests {
    use super::regex;

    fn word() -> &'static regex::Regex {
        regex!(r"\bword\b")
    }

    #[test]
    fn a_pattern_is_compiled_once_and_reused() {
        assert!(std::ptr::eq(word(), word()));
        assert!(word().is_match("a word here"));
    }
}
