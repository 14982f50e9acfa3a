// SPDX-License-Identifier: GPL-2.0
//! rdynptr-merge: joins the --json reports of the shards of one
//! rdynptr-test run (`--shard K/N`) into the report of the whole run.
//! See src/shard.rs and Documentation/harness.rst.

use anyhow::Context as _;
use clap::Parser;
use rdynptr_harness::report::Report;
use rdynptr_harness::{github, shard};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "rdynptr-merge",
    about = "Join the --json reports of a sharded rdynptr-test run: KTAP of the whole run on stdout",
    after_help = "Exit status: 0 if no test failed (and, with --against, the runs agree), \
                  1 if one did, 2 if the reports are not the shards of one run."
)]
struct Cli {
    /// The shards' --json reports, one per shard, in any order (a run not
    /// split is its own only shard).
    #[arg(value_name = "SHARD_JSON", required = true)]
    reports: Vec<PathBuf>,

    /// Write the merged report (rdynptr-test's --json schema) to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    /// Also write it in test_progs -J's schema to FILE.
    #[arg(long, value_name = "FILE")]
    json_test_progs: Option<PathBuf>,

    /// An unsharded run's --json report: fail unless it has the same
    /// tests, results and totals.
    #[arg(long, value_name = "FILE")]
    against: Option<PathBuf>,

    /// Append a GitHub Actions step summary (Markdown: the counts, each
    /// failure with its first diagnostic lines) to FILE.
    #[arg(long, value_name = "FILE")]
    step_summary: Option<PathBuf>,

    /// Print a GitHub Actions `::error::` annotation per failed test.
    #[arg(long)]
    annotations: bool,
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let shards = cli
        .reports
        .iter()
        .map(|p| Report::read(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let n = shards.len();
    let (merged, label) = shard::merge(shards)?;
    let totals = shard::write_ktap(std::io::stdout().lock(), &merged, &label, n)?;
    for (path, text) in [
        (&cli.json, Report::to_json as fn(&Report) -> String),
        (&cli.json_test_progs, Report::to_test_progs_json),
    ] {
        if let Some(path) = path {
            std::fs::write(path, text(&merged) + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    if let Some(path) = &cli.step_summary {
        use std::io::Write as _;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(github::step_summary(&merged, &label).as_bytes()))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if cli.annotations {
        for a in github::annotations(&merged, &label) {
            println!("{a}");
        }
    }
    let mut ok = totals.fail == 0;
    if let Some(whole) = &cli.against {
        let diffs = shard::differences(&merged, &Report::read(whole)?);
        for d in &diffs {
            println!("merge: differs from {}: {d}", whole.display());
        }
        if diffs.is_empty() {
            println!(
                "merge: {n} report(s) and {} agree: {} tests, {} passed, {} failed, {} skipped",
                whole.display(),
                merged.tests.len(),
                totals.pass,
                totals.fail,
                totals.skip
            );
        }
        ok &= diffs.is_empty();
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rdynptr-merge: {e:#}");
            ExitCode::from(2)
        }
    }
}
