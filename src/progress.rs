//! One progress display for long commands: the units of `matrix` and `check`, the
//! submissions of `grade`. A bar when stderr is a terminal, otherwise a few plain lines.
//!
//! It only shows how far a run has got: it decides nothing about the run, and reports
//! and notes are written elsewhere.

use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};

/// What is being counted; it sets the bar's wording and how often a plain line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// Units of a run (`matrix`, `check`): a line every tenth of the way.
    Units,
    /// Graded submissions (`grade`): a line for each, by name.
    Submissions,
}

impl Counting {
    /// The bar's template.
    fn template(self) -> &'static str {
        match self {
            Counting::Units => "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg}",
            Counting::Submissions => {
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} submissions {msg}"
            }
        }
    }

    /// The plain line for `done` of `total`, when one is due.
    fn line(self, done: usize, total: usize, label: &str) -> Option<String> {
        match self {
            Counting::Units => (done == total || done % (total / 10).max(1) == 0)
                .then(|| format!("{done}/{total} units run")),
            Counting::Submissions => Some(format!("graded {label} ({done}/{total})")),
        }
    }
}

/// How progress is drawn.
enum Display {
    /// An animated bar, for a person at a terminal.
    Bar(ProgressBar),
    /// Plain lines, for logs and CI, where a bar would be noise.
    Lines(Mutex<Box<dyn Write + Send>>),
}

/// The progress of one command, shared by the threads that report it.
pub struct Progress {
    /// What is counted.
    counting: Counting,
    /// How many there are in all.
    total: usize,
    /// Where it is drawn.
    display: Display,
}

impl Progress {
    /// Progress on stderr: a bar on a terminal, plain lines otherwise.
    pub fn stderr(counting: Counting, total: usize) -> Progress {
        if io::stderr().is_terminal() {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template(counting.template())
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            Progress {
                counting,
                total,
                display: Display::Bar(bar),
            }
        } else {
            Progress::lines(counting, total, Box::new(io::stderr()))
        }
    }

    /// Progress as plain lines written to `out`.
    pub fn lines(counting: Counting, total: usize, out: Box<dyn Write + Send>) -> Progress {
        Progress {
            counting,
            total,
            display: Display::Lines(Mutex::new(out)),
        }
    }

    /// Something is being built before the run (`building NAME`).
    pub fn building(&self, name: &str) {
        let text = format!("building {name}");
        match &self.display {
            Display::Bar(bar) => bar.set_message(text),
            Display::Lines(out) => self.write_line(out, &text),
        }
    }

    /// A line for the user (a warning) printed above the bar, or among the lines.
    pub fn note(&self, line: &str) {
        match &self.display {
            Display::Bar(bar) => bar.println(line),
            Display::Lines(out) => self.write_line(out, line),
        }
    }

    /// `done` of them are finished, the last being `label`; the bar is cleared at the end.
    pub fn done(&self, done: usize, label: &str) {
        match &self.display {
            Display::Bar(bar) => {
                bar.set_position(done as u64);
                bar.set_message(label.to_string());
                if done == self.total {
                    bar.finish_and_clear();
                }
            }
            Display::Lines(out) => {
                if let Some(line) = self.counting.line(done, self.total, label) {
                    self.write_line(out, &line);
                }
            }
        }
    }

    /// Clears the bar, if it is still shown.
    pub fn finish(&self) {
        if let Display::Bar(bar) = &self.display {
            if !bar.is_finished() {
                bar.finish_and_clear();
            }
        }
    }

    fn write_line(&self, out: &Mutex<Box<dyn Write + Send>>, line: &str) {
        let mut out = out.lock().unwrap_or_else(|p| p.into_inner());
        // Progress is a courtesy: a closed stderr must not stop the run.
        let _ = writeln!(out, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A `Write` whose bytes the test can read afterwards.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn units_are_counted_every_tenth_of_the_way_and_at_the_end() {
        let out = Shared::default();
        let progress = Progress::lines(Counting::Units, 25, Box::new(out.clone()));
        progress.building("rust-client");
        for done in 1..=25 {
            progress.done(done, "udp::a::b::hello");
        }
        progress.finish();
        assert_eq!(
            out.text(),
            "building rust-client\n2/25 units run\n4/25 units run\n6/25 units run\n\
             8/25 units run\n10/25 units run\n12/25 units run\n14/25 units run\n\
             16/25 units run\n18/25 units run\n20/25 units run\n22/25 units run\n\
             24/25 units run\n25/25 units run\n"
        );
    }

    #[test]
    fn a_small_run_counts_every_unit() {
        let out = Shared::default();
        let progress = Progress::lines(Counting::Units, 3, Box::new(out.clone()));
        for done in 1..=3 {
            progress.done(done, "x");
        }
        assert_eq!(out.text(), "1/3 units run\n2/3 units run\n3/3 units run\n");
    }

    #[test]
    fn each_graded_submission_is_named() {
        let out = Shared::default();
        let progress = Progress::lines(Counting::Submissions, 2, Box::new(out.clone()));
        progress.done(1, "alice");
        progress.done(2, "bob");
        assert_eq!(out.text(), "graded alice (1/2)\ngraded bob (2/2)\n");
    }
}
