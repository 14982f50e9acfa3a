// SPDX-License-Identifier: GPL-2.0
//! rdynptr-compare: rdynptr-test beside test_progs (make upstream-compare).
//! See src/compare.rs and Documentation/harness.rst.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use rdynptr_harness::compare::{self, ProgTests, TestProgsRun};
use rdynptr_harness::expectations::Expectations;
use rdynptr_harness::report::Report;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "rdynptr-compare",
    about = "Compare rdynptr-test's verdicts with test_progs' on the same annotated objects"
)]
struct Cli {
    /// The tree's tools/testing/selftests/bpf/prog_tests.
    #[arg(long, value_name = "DIR")]
    prog_tests: PathBuf,
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand, Debug)]
enum What {
    /// Print test_progs' allowlist (-a @FILE) for rdynptr-test's tests
    /// (their names, one per line, as `rdynptr-test --list` prints them).
    Allowlist {
        #[arg(value_name = "TESTS")]
        tests: PathBuf,
    },
    /// Pair the verdicts of both runs and print them; exit 0 only if no
    /// disagreement is unexplained and no entry is stale.
    Report {
        /// rdynptr-test's --json report.
        #[arg(long, value_name = "FILE")]
        ours: PathBuf,
        /// test_progs' output (its "#N/M test/subtest:OK" lines).
        #[arg(long, value_name = "FILE")]
        test_progs_log: PathBuf,
        /// test_progs' -J report (the messages of its failures).
        #[arg(long, value_name = "FILE")]
        test_progs_json: Option<PathBuf>,
        /// The explained disagreements (tools/upstream/compare-explained).
        #[arg(long, value_name = "FILE")]
        explained: Option<PathBuf>,
        /// Wall times: lines "test_progs SECONDS" and "rdynptr-test SECONDS".
        #[arg(long, value_name = "FILE")]
        times: Option<PathBuf>,
    },
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The wall times of a times file.
fn times(text: &str) -> Option<(f64, f64)> {
    let get = |key: &str| {
        text.lines()
            .filter_map(|l| l.split_once(' '))
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.trim().parse::<f64>().ok())
    };
    Some((get("test_progs")?, get("rdynptr-test")?))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let map = ProgTests::scan(&cli.prog_tests)?;
    match cli.what {
        What::Allowlist { tests } => {
            let names: Vec<String> = read(&tests)?.lines().map(str::to_string).collect();
            print!("{}", compare::allowlist(&map, &names)?);
            Ok(ExitCode::SUCCESS)
        }
        What::Report {
            ours,
            test_progs_log,
            test_progs_json,
            explained,
            times: times_file,
        } => {
            let ours: Report = serde_json::from_str(&read(&ours)?)
                .with_context(|| format!("{} is not rdynptr-test's report", ours.display()))?;
            let json = test_progs_json.as_deref().map(read).transpose()?;
            let theirs = TestProgsRun::parse(&read(&test_progs_log)?, json.as_deref())?;
            let explained = match &explained {
                Some(p) => Expectations::read(p)?,
                None => Expectations::default(),
            };
            let t = times_file.as_deref().map(read).transpose()?;
            let cmp = compare::compare(&map, &ours, &theirs, &explained);
            print!("{}", compare::render(&cmp, t.as_deref().and_then(times)));
            Ok(if cmp.unexplained() == 0 && cmp.stale.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rdynptr-compare: {e:#}");
            ExitCode::from(2)
        }
    }
}
