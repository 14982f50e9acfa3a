// SPDX-License-Identifier: GPL-2.0
//! What a test reports ([`TestReport`], built only here), and the --json
//! report of a run.

use crate::ktap::{Outcome, Totals};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::time::Duration;

/// What one test produced.
#[derive(Debug)]
pub struct TestReport {
    pub outcome: Outcome,
    /// Return value of the test run, if the program was run.
    pub retval: Option<u32>,
    /// The verifier log of the program under test, if one was produced.
    pub verifier_log: Option<String>,
    /// Explanations, shown as KTAP diagnostics.
    pub diagnostics: Vec<String>,
    /// The results of its cases, for a test that has them (a KUnit suite):
    /// a KTAP subtest, whose cases count in the totals instead of the test.
    pub cases: Vec<(String, Outcome)>,
    /// Where the time of a program's test went (boxed: a report is often
    /// the error of a Result).
    pub phases: Box<Phases>,
}

/// The time a program's test spent opening its object (libbpf: ELF and
/// BTF), loading it (maps, the kernel's BTF, relocations, the verifier)
/// and running it.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Phases {
    pub open_ms: f64,
    pub load_ms: f64,
    pub run_ms: f64,
}

impl Phases {
    /// Adds the time since `since` to the phase `which` picks.
    pub fn add(&mut self, which: fn(&mut Phases) -> &mut f64, since: std::time::Instant) {
        *which(self) += since.elapsed().as_secs_f64() * 1e3;
    }
}

impl TestReport {
    fn with(outcome: Outcome, diagnostics: Vec<String>) -> TestReport {
        TestReport {
            outcome,
            retval: None,
            verifier_log: None,
            diagnostics,
            cases: Vec::new(),
            phases: Box::default(),
        }
    }

    /// A test that passed (so far: a later check may fail it).
    pub fn pass() -> TestReport {
        TestReport::with(Outcome::Pass, Vec::new())
    }

    /// A test that could not run here, and why.
    pub fn skip(reason: impl Into<String>) -> TestReport {
        TestReport::with(Outcome::Skip(reason.into()), Vec::new())
    }

    /// A test that failed, and why.
    pub fn fail(why: impl Into<String>) -> TestReport {
        TestReport::with(Outcome::Fail, vec![why.into()])
    }

    /// Fails the test with the reason (after the diagnostics it has).
    pub fn fail_with(&mut self, why: impl Into<String>) {
        self.outcome = Outcome::Fail;
        self.diagnostics.push(why.into());
    }

    /// Fails the test: `want` was expected, `got` happened.
    pub fn fail_expected(&mut self, want: impl std::fmt::Display, got: impl std::fmt::Display) {
        self.outcome = Outcome::Fail;
        self.diagnostics.push(format!("expected: {want}"));
        self.diagnostics.push(format!("got: {got}"));
    }

    /// Adds a diagnostic line.
    pub fn note(&mut self, line: impl Into<String>) {
        self.diagnostics.push(line.into());
    }
}

/// One test of the --json report (rdynptr-compare reads it back).
#[derive(Debug, Serialize, Deserialize)]
pub struct TestRecord {
    pub name: String,
    /// "pass", "fail" or "skip".
    pub result: Cow<'static, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// Wall-clock time of the test in milliseconds.
    pub duration_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// ELF section of the program (its type and attach point).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// Return value of the test run as a signed 32-bit number, null if the
    /// program was not run.
    pub retval: Option<i32>,
    /// Expected return value (__retval), if any: a number, or "any".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_retval: Option<serde_json::Value>,
    /// The diagnostics printed for the test.
    pub diagnostics: Vec<String>,
    /// The verifier log, when the test failed (or with -v).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verifier_log: Option<String>,
    /// The cases of a test that has them (a KUnit suite), with their
    /// results ("pass", "fail", "skip").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cases: Vec<(String, Cow<'static, str>)>,
    /// Where a program's test spent its time (absent for other tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phases: Option<Phases>,
}

impl TestRecord {
    pub fn new(name: &str, outcome: &Outcome, duration: Duration) -> TestRecord {
        TestRecord {
            name: name.to_string(),
            result: Cow::Borrowed(outcome.as_str()),
            skip_reason: match outcome {
                Outcome::Skip(r) => Some(r.clone()),
                _ => None,
            },
            duration_ms: (duration.as_secs_f64() * 1e6).round() / 1e3,
            description: None,
            object: None,
            program: None,
            section: None,
            retval: None,
            expected_retval: None,
            diagnostics: Vec::new(),
            verifier_log: None,
            cases: Vec::new(),
            phases: None,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct JsonTotals {
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub kernel: String,
    pub totals: JsonTotals,
    pub tests: Vec<TestRecord>,
    /// Which shard of which run this is (`--shard`; 1/1 for a run not
    /// split), for rdynptr-merge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::shard::ShardInfo>,
}

impl Report {
    /// Reads a `--json` report (a run's, or a shard's).
    pub fn read(path: &std::path::Path) -> anyhow::Result<Report> {
        use anyhow::Context as _;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: not a rdynptr-test --json report", path.display()))
    }

    pub fn new(kernel: String, totals: Totals, tests: Vec<TestRecord>) -> Report {
        Report {
            kernel,
            totals: JsonTotals {
                pass: totals.pass,
                fail: totals.fail,
                skip: totals.skip,
            },
            tests,
            shard: None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The report in the schema of test_progs -J (what the BPF CI's
    /// summary tools read): a test is an object (the part of the name
    /// before the first '/'), its programs are the subtests; "results"
    /// lists the failed tests with their failed subtests, and the counts
    /// are test_progs' (a test counts as a success unless a subtest
    /// failed; skipped counts skipped subtests).
    pub fn to_test_progs_json(&self) -> String {
        #[derive(Default)]
        struct Test<'a> {
            name: &'a str,
            subtests: Vec<(&'a str, &'a TestRecord)>,
        }
        let mut tests: Vec<Test<'_>> = Vec::new();
        for r in &self.tests {
            let (obj, sub) = r.name.split_once('/').unwrap_or((&r.name, &r.name));
            match tests.iter_mut().find(|t| t.name == obj) {
                Some(t) => t.subtests.push((sub, r)),
                None => tests.push(Test {
                    name: obj,
                    subtests: vec![(sub, r)],
                }),
            }
        }
        let message = |r: &TestRecord| {
            let mut m = r.diagnostics.join("\n");
            if let Some(reason) = &r.skip_reason {
                m = format!("SKIP: {reason}");
            }
            m
        };
        let (mut success, mut success_subtest, mut skipped, mut failed, mut failed_subtest) =
            (0, 0, 0, 0, 0);
        let mut results = Vec::new();
        for (i, t) in tests.iter().enumerate() {
            let mut failures = Vec::new();
            for (j, (sub, r)) in t.subtests.iter().enumerate() {
                match &*r.result {
                    "pass" => success_subtest += 1,
                    "skip" => skipped += 1,
                    _ => {
                        failed_subtest += 1;
                        failures.push(serde_json::json!({
                            "name": sub,
                            "number": j + 1,
                            "message": message(r),
                            "failed": true,
                        }));
                    }
                }
            }
            if failures.is_empty() {
                success += 1;
            } else {
                failed += 1;
                results.push(serde_json::json!({
                    "name": t.name,
                    "number": i + 1,
                    "message": "",
                    "failed": true,
                    "subtests": failures,
                }));
            }
        }
        let v = serde_json::json!({
            "success": success,
            "success_subtest": success_subtest,
            "skipped": skipped,
            "failed": failed,
            "failed_subtest": failed_subtest,
            "results": results,
        });
        serde_json::to_string_pretty(&v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_progs_schema_groups_programs_under_objects_and_lists_failures() {
        let rec = |n: &str, o: Outcome| TestRecord::new(n, &o, Duration::ZERO);
        let mut bad = rec("verifier_and/b @unpriv", Outcome::Fail);
        bad.diagnostics = vec!["expected: 1".into(), "got: 2".into()];
        let r = Report::new(
            "7.3.4".into(),
            Totals::default(),
            vec![
                rec("verifier_and/a", Outcome::Pass),
                bad,
                rec("verifier_and/c", Outcome::Skip("no JIT".into())),
                rec("dynptr_fail/x", Outcome::Pass),
            ],
        );
        let v: serde_json::Value = serde_json::from_str(&r.to_test_progs_json()).unwrap();
        assert_eq!(v["success"], 1);
        assert_eq!(v["success_subtest"], 2);
        assert_eq!(v["skipped"], 1);
        assert_eq!(v["failed"], 1);
        assert_eq!(v["failed_subtest"], 1);
        let t = &v["results"][0];
        assert_eq!(t["name"], "verifier_and");
        assert_eq!(t["number"], 1);
        assert_eq!(t["failed"], true);
        assert_eq!(t["subtests"][0]["name"], "b @unpriv");
        assert_eq!(t["subtests"][0]["number"], 2);
        assert_eq!(t["subtests"][0]["message"], "expected: 1\ngot: 2");
        assert_eq!(v["results"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn record_serializes_result_duration_and_retval() {
        let mut rec = TestRecord::new("obj/prog", &Outcome::Fail, Duration::from_micros(1500));
        rec.retval = Some(-22);
        rec.verifier_log = Some("R1 invalid\n".into());
        let r = Report::new(
            "7.3.4".into(),
            Totals {
                pass: 0,
                fail: 1,
                skip: 0,
            },
            vec![rec],
        );
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        let t = &v["tests"][0];
        assert_eq!(t["name"], "obj/prog");
        assert_eq!(t["result"], "fail");
        assert_eq!(t["duration_ms"], 1.5);
        assert_eq!(t["retval"], -22);
        assert_eq!(t["verifier_log"], "R1 invalid\n");
        assert_eq!(v["totals"]["fail"], 1);
    }

    #[test]
    fn skip_has_reason_and_null_retval() {
        let rec = TestRecord::new("o/p", &Outcome::Skip("no kfunc".into()), Duration::ZERO);
        let v = serde_json::to_value(&rec).unwrap();
        assert_eq!(v["result"], "skip");
        assert_eq!(v["skip_reason"], "no kfunc");
        assert!(v["retval"].is_null());
        assert!(v.get("verifier_log").is_none());
    }
}
