//! `--format`/`--output` pairs and `--expectations`: where a run's reports go.

use clap::ArgMatches;

use shout::expectations::Coverage;
use shout::output::{Report, Target};
use shout::report::Format;

use crate::cli::ReportArgs;
use crate::options::{ExpectationsFile, OptionsError};

/// Where reports go, and the known failures.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Each `--format` with its target, in the order given.
    pub reports: Vec<Report>,
    /// `--expectations`.
    pub expectations: Option<ExpectationsFile>,
}

impl ReportOptions {
    /// Pairs each `--format` with the `--output` that follows it (stdout when none does,
    /// or when it is `-`); at most one report goes to stdout. `matches` are the
    /// subcommand's, for the order of the flags.
    pub fn new(args: &ReportArgs, matches: &ArgMatches) -> Result<ReportOptions, OptionsError> {
        let mut flags: Vec<(usize, ReportFlag)> = indexed::<Format>(matches, "formats")
            .map(|(i, f)| (i, ReportFlag::Format(f)))
            .chain(indexed::<String>(matches, "outputs").map(|(i, o)| (i, ReportFlag::Output(o))))
            .collect();
        flags.sort_by_key(|(i, _)| *i);
        let mut asked: Vec<(Format, Option<String>)> = Vec::new();
        for (_, flag) in flags {
            match flag {
                ReportFlag::Format(format) => asked.push((format, None)),
                ReportFlag::Output(output) => match asked.last_mut() {
                    Some((_, slot @ None)) => *slot = Some(output),
                    _ => return Err(OptionsError::OutputWithoutFormat { output }),
                },
            }
        }
        let reports: Vec<Report> = asked
            .into_iter()
            .map(|(format, output)| Report {
                format,
                target: target(output.as_deref()),
            })
            .collect();
        if reports
            .iter()
            .filter(|r| r.target == Target::Stdout)
            .count()
            > 1
        {
            return Err(OptionsError::SeveralOnStdout);
        }
        Ok(ReportOptions {
            reports,
            expectations: args.expectations.clone().map(|path| ExpectationsFile {
                path,
                update: args.update_expectations,
                coverage: Coverage::Part,
            }),
        })
    }
}

/// One report flag, as it came on the command line.
enum ReportFlag {
    Format(Format),
    Output(String),
}

/// The values of the argument `id`, each with its position on the command line.
fn indexed<'a, T: Clone + Send + Sync + 'static>(
    matches: &'a ArgMatches,
    id: &str,
) -> impl Iterator<Item = (usize, T)> + 'a {
    let indices = matches.indices_of(id).into_iter().flatten();
    let values = matches.get_many::<T>(id).into_iter().flatten().cloned();
    indices.zip(values)
}

/// `--output`: `-` is stdout, anything else a file.
fn target(output: Option<&str>) -> Target {
    match output {
        None | Some("-") => Target::Stdout,
        Some(path) => Target::File(path.into()),
    }
}
