// SPDX-License-Identifier: GPL-2.0
//! The KUnit suites of rdynptr's dynptr arithmetic (the tests modules of
//! src/dynptr.rs and src/iter.rs), built into the test module
//! rdynptr_kunit.ko: the kernel runs them when that module is loaded and
//! keeps each suite's KTAP in debugfs (CONFIG_KUNIT_DEBUGFS).  This loads
//! the module once, reads the results and unloads it; each suite is one
//! test of the run, `kunit/<suite>`, reported as a KTAP subtest with its
//! cases.

use crate::ktap::Outcome;
use crate::module::sys::{delete_module, errno_str, insmod};
use crate::report::TestReport;
use anyhow::{anyhow, bail, Result};
use std::path::{Path, PathBuf};

/// Where the kernel keeps the results of KUnit suites.
pub const DEBUGFS_KUNIT: &str = "/sys/kernel/debug/kunit";

/// The test module, and its file name (next to rdynptr.ko).
pub const MODULE: &str = "rdynptr_kunit";
pub const MODULE_FILE: &str = "rdynptr_kunit.ko";

/// Its suites, in the order they run.
pub const SUITES: &[&str] = &["rdynptr_dynptr", "rdynptr_iter"];

/// One case of a suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    pub outcome: Outcome,
}

/// A suite's results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteResult {
    pub cases: Vec<Case>,
    /// The suite's own result line.
    pub outcome: Outcome,
    /// The diagnostic lines of failed cases (assertion messages).
    pub diagnostics: Vec<String>,
}

/// A result line: (indentation, outcome, name).
fn result_line(line: &str) -> Option<(usize, Outcome, String)> {
    let indent = line.len() - line.trim_start().len();
    let l = line.trim_start();
    let (ok, rest) = if let Some(r) = l.strip_prefix("not ok ") {
        (false, r)
    } else {
        (true, l.strip_prefix("ok ")?)
    };
    let (_num, rest) = rest.split_once(' ')?;
    let (name, directive) = match rest.split_once(" # ") {
        Some((n, d)) => (n, Some(d)),
        None => (rest, None),
    };
    let outcome = match directive {
        Some(d) if d.to_ascii_uppercase().starts_with("SKIP") => {
            Outcome::Skip(d[4..].trim().to_string())
        }
        _ if ok => Outcome::Pass,
        _ => Outcome::Fail,
    };
    Some((indent, outcome, name.trim().to_string()))
}

/// A KUnit attribute line ("# case.speed: normal", "# speed: slow").
fn is_attribute(line: &str) -> bool {
    let l = line.trim_start_matches("# ");
    l.split_once(": ").is_some_and(|(key, _)| {
        let attr = key.rsplit('.').next().unwrap_or(key);
        matches!(attr, "speed" | "module" | "is_init") && !key.contains(' ')
    })
}

/// Parses the KTAP of one suite (debugfs `results`): the cases are the
/// result lines indented deeper than the suite's own.
pub fn parse(ktap: &str) -> Result<SuiteResult> {
    let lines: Vec<(usize, Outcome, String)> = ktap.lines().filter_map(result_line).collect();
    let top = lines
        .iter()
        .map(|l| l.0)
        .min()
        .ok_or_else(|| anyhow!("no result line: the suite did not finish"))?;
    let outcome = lines
        .iter()
        .rev()
        .find(|l| l.0 == top)
        .map(|l| l.1.clone())
        .ok_or_else(|| anyhow!("no result line of the suite"))?;
    let cases: Vec<Case> = lines
        .into_iter()
        .filter(|l| l.0 > top)
        .map(|(_, outcome, name)| Case { name, outcome })
        .collect();
    if cases.is_empty() {
        bail!("the suite has no cases");
    }
    // Everything but the structure: the messages of failed assertions.
    let structure = |l: &str| {
        l.is_empty()
            || l.starts_with("KTAP version")
            || (l.starts_with("1..") && l[3..].chars().all(|c| c.is_ascii_digit()))
            || l.starts_with("# Subtest:")
            || l.starts_with("# module:")
            || l.starts_with("# Totals:")
            || l.contains(": pass:")
            || is_attribute(l)
            || result_line(l).is_some()
    };
    let diagnostics = ktap
        .lines()
        .map(str::trim)
        .filter(|l| !structure(l))
        .map(|l| l.trim_start_matches("# ").to_string())
        .collect();
    Ok(SuiteResult {
        cases,
        outcome,
        diagnostics,
    })
}

/// The results file of `suite`.
pub fn results_path(suite: &str) -> PathBuf {
    Path::new(DEBUGFS_KUNIT).join(suite).join("results")
}

/// The test module, loaded (once, by the first test that needs it) when a
/// suite is reported.
pub struct Kunit {
    ko: PathBuf,
    run: std::sync::OnceLock<KunitRun>,
}

impl Kunit {
    pub fn new(ko: PathBuf) -> Kunit {
        Kunit {
            ko,
            run: std::sync::OnceLock::new(),
        }
    }

    /// The test of `suite`.
    pub fn report(&self, suite: &str) -> TestReport {
        self.run
            .get_or_init(|| KunitRun::load(&self.ko))
            .report(suite)
    }
}

/// A suite's KTAP, or why there is none: a skip or a failure, with its
/// explanation.
type SuiteText = Result<String, (Outcome, String)>;

/// What loading the test module gave: each suite's KTAP.
pub struct KunitRun {
    results: Vec<(&'static str, SuiteText)>,
}

impl KunitRun {
    /// Loads `ko` (rdynptr_kunit.ko), which runs its suites, reads their
    /// results and unloads it again.
    pub fn load(ko: &Path) -> KunitRun {
        let all = |why: SuiteText| KunitRun {
            results: SUITES.iter().map(|s| (*s, why.clone())).collect(),
        };
        let skip = |why: String| all(Err((Outcome::Skip(why.clone()), why)));
        if !ko.exists() {
            return skip(format!(
                "{} does not exist: the test module is built only for a kernel with CONFIG_KUNIT=y and Rust KUnit suites (the kunit_tests attribute, newer than 6.12)",
                ko.display()
            ));
        }
        if !Path::new(DEBUGFS_KUNIT).exists() {
            return skip(format!(
                "{DEBUGFS_KUNIT} does not exist: the kernel has no CONFIG_KUNIT_DEBUGFS, or \
                 debugfs is not mounted"
            ));
        }
        // Loaded already (by hand, or a run that stopped half-way): load it
        // afresh, so that the results are those of this build.
        let _ = delete_module(MODULE);
        if let Err(e) = insmod(ko) {
            return all(Err((Outcome::Fail, format!("{e:#}"))));
        }
        let results = SUITES
            .iter()
            .map(|s| {
                let path = results_path(s);
                let r = std::fs::read_to_string(&path).map_err(|e| {
                    (
                        Outcome::Fail,
                        format!("{}: {e} (the module has no such suite?)", path.display()),
                    )
                });
                (*s, r)
            })
            .collect();
        let mut run = KunitRun { results };
        if let Err(e) = delete_module(MODULE) {
            let why = format!("unloading {MODULE} failed: {}", errno_str(e));
            for (_, r) in run.results.iter_mut() {
                if r.is_ok() {
                    *r = Err((Outcome::Fail, why.clone()));
                }
            }
        }
        run
    }

    /// The test of `suite`.
    pub fn report(&self, suite: &str) -> TestReport {
        let Some((_, result)) = self.results.iter().find(|(s, _)| *s == suite) else {
            return TestReport::fail(format!("{suite} is not a suite of {MODULE}"));
        };
        let text = match result {
            Ok(text) => text,
            Err((Outcome::Skip(why), _)) => return TestReport::skip(why.clone()),
            Err((_, why)) => return TestReport::fail(why.clone()),
        };
        match parse(text) {
            Ok(r) => {
                let mut rep = TestReport::pass();
                rep.outcome = r.outcome;
                rep.diagnostics = r.diagnostics;
                rep.cases = r.cases.into_iter().map(|c| (c.name, c.outcome)).collect();
                rep
            }
            Err(e) => {
                let mut rep = TestReport::fail(format!("{}: {e:#}", results_path(suite).display()));
                rep.diagnostics.extend(text.lines().map(str::to_string));
                rep
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSED: &str = "KTAP version 1
1..1
    KTAP version 1
    # Subtest: rdynptr_dynptr
    # module: rdynptr
    1..3
    ok 1 trim_shrinks_the_end
    # trim_shrinks_the_end.speed: normal
    ok 2 advance_moves_the_start # SKIP not here
    not ok 3 null_dynptrs_give_einval
    # null_dynptrs_give_einval: ASSERTION FAILED at src/dynptr.rs:600
    Expected n.trim(0) == Err(DynptrError::Null) to be true, but is false
    # null_dynptrs_give_einval.speed: normal
# speed: normal
# rdynptr_dynptr: pass:1 fail:1 skip:1 total:3
# Totals: pass:1 fail:1 skip:1 total:3
not ok 1 rdynptr_dynptr
";

    #[test]
    fn cases_are_the_deeper_result_lines() {
        let r = parse(PASSED).expect("parses");
        assert_eq!(r.outcome, Outcome::Fail);
        assert_eq!(r.cases.len(), 3);
        assert_eq!(r.cases[0].name, "trim_shrinks_the_end");
        assert_eq!(r.cases[1].outcome, Outcome::Skip("not here".into()));
        assert_eq!(r.cases[2].outcome, Outcome::Fail);
        assert_eq!(
            r.diagnostics,
            [
                "null_dynptrs_give_einval: ASSERTION FAILED at src/dynptr.rs:600",
                "Expected n.trim(0) == Err(DynptrError::Null) to be true, but is false"
            ]
        );
    }

    #[test]
    fn a_suite_that_did_not_finish_is_an_error() {
        assert!(parse("KTAP version 1\n1..1\n    # Subtest: x\n    1..2\n").is_err());
        assert!(parse("ok 1 rdynptr_dynptr\n").is_err(), "no cases");
    }
}
