// SPDX-License-Identifier: GPL-2.0
//! A report as GitHub Actions shows it: a job's step summary (Markdown)
//! and one `::error::` workflow command per failed test, which the run's
//! page shows as an annotation (rdynptr-merge --step-summary,
//! --annotations; make ci-summary).

use crate::report::{Report, TestRecord};
use std::fmt::Write as _;

/// Diagnostic lines shown per failed test.
const FIRST_LINES: usize = 8;

fn failed(report: &Report) -> impl Iterator<Item = &TestRecord> {
    report
        .tests
        .iter()
        .filter(|t| t.result == "fail" || t.cases.iter().any(|(_, r)| r == "fail"))
}

/// The step summary: the counts, then each failed test with the first
/// lines of its diagnostics.
pub fn step_summary(report: &Report, label: &str) -> String {
    let t = &report.totals;
    let mut s = String::new();
    let _ = writeln!(s, "### {label} on kernel {}\n", report.kernel);
    let _ = writeln!(s, "| tests | passed | failed | skipped |");
    let _ = writeln!(s, "| ---: | ---: | ---: | ---: |");
    let _ = writeln!(
        s,
        "| {} | {} | {} | {} |\n",
        report.tests.len(),
        t.pass,
        t.fail,
        t.skip
    );
    for f in failed(report) {
        let _ = writeln!(
            s,
            "<details><summary><code>{}</code> failed</summary>\n",
            html(&f.name)
        );
        let _ = writeln!(s, "```");
        for d in lines(f) {
            let _ = writeln!(s, "{}", d.replace("```", "'''"));
        }
        let _ = writeln!(s, "```\n</details>\n");
    }
    s
}

/// The first diagnostic lines of a failed test (its failed cases, for a
/// test that has cases).
fn lines(t: &TestRecord) -> Vec<String> {
    let mut v: Vec<String> = t
        .cases
        .iter()
        .filter(|(_, r)| r == "fail")
        .map(|(n, _)| format!("case {n} failed"))
        .collect();
    v.extend(
        t.diagnostics
            .iter()
            .flat_map(|d| d.lines())
            .map(str::to_string),
    );
    v.truncate(FIRST_LINES);
    v
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// GitHub's escaping of a workflow command's message.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub's escaping of a workflow command's property value.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One `::error title=...::...` line per failed test.
pub fn annotations(report: &Report, label: &str) -> Vec<String> {
    failed(report)
        .map(|t| {
            format!(
                "::error title={}::{}",
                escape_property(&format!("{label}: {} failed", t.name)),
                escape_data(&lines(t).join("\n"))
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ktap::Outcome;
    use std::time::Duration;

    fn report() -> Report {
        let mut bad = TestRecord::new("obj/p, x:y", &Outcome::Fail, Duration::ZERO);
        bad.diagnostics = vec!["expected: 1".into(), "got: 100%\nmore".into()];
        let mut r = Report::new(
            "7.3.4".into(),
            Default::default(),
            vec![
                TestRecord::new("obj/ok", &Outcome::Pass, Duration::ZERO),
                bad,
            ],
        );
        r.totals = crate::report::JsonTotals {
            pass: 1,
            fail: 1,
            skip: 0,
        };
        r
    }

    #[test]
    fn annotation_per_failure_escapes_what_github_would_split_on() {
        let a = annotations(&report(), "vmtest");
        assert_eq!(
            a,
            vec!["::error title=vmtest%3A obj/p%2C x%3Ay failed::expected: 1%0Agot: 100%25%0Amore"]
        );
    }

    #[test]
    fn summary_counts_and_lists_the_failure_with_its_first_lines() {
        let s = step_summary(&report(), "vmtest");
        assert!(s.starts_with("### vmtest on kernel 7.3.4\n"), "{s}");
        assert!(s.contains("| 2 | 1 | 1 | 0 |"), "{s}");
        assert!(s.contains("<code>obj/p, x:y</code> failed"), "{s}");
        assert!(s.contains("expected: 1\ngot: 100%\nmore\n"), "{s}");
        assert!(!s.contains("obj/ok"), "{s}");
    }
}
