// SPDX-License-Identifier: GPL-2.0
//! Expected failures: a file in the form of the BPF CI's DENYLIST files,
//! one test per line with its reason, `#` starting a comment:
//!
//! ```text
//! # compiler: clang 19 emits a different instruction sequence
//! exceptions_assert/check_assert_lt_neg   # clang 19: the __msg names clang 20's code
//! verifier_gotox                          # every test of the object
//! ```
//!
//! A name is a test (`object/program`, or `object/program @unpriv` for the
//! unprivileged mode) or an object (all its tests). Every
//! entry must give its reason (the text after `#` on its line). A listed
//! test that fails is reported as a SKIP with that reason; one that passes
//! fails, so that the file stays true.

use crate::ktap::Outcome;
use crate::runner::TestReport;
use anyhow::{bail, Context as _};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `object/program` or `object`.
    pub name: String,
    pub reason: String,
    pub line: usize,
}

#[derive(Debug, Default)]
pub struct Expectations {
    /// Where the entries come from, for the messages.
    pub source: String,
    pub entries: Vec<Entry>,
}

impl Expectations {
    pub fn read(path: &Path) -> anyhow::Result<Expectations> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the expectations file {}", path.display()))?;
        Self::parse(&path.display().to_string(), &text)
    }

    pub fn parse(source: &str, text: &str) -> anyhow::Result<Expectations> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let (name, reason) = match raw.split_once('#') {
                Some((n, r)) => (n.trim(), r.trim()),
                None => (raw.trim(), ""),
            };
            if name.is_empty() {
                continue;
            }
            let words: Vec<&str> = name.split_whitespace().collect();
            let test_like = match words[..] {
                [n] => n.matches('/').count() <= 1,
                [n, "@unpriv"] => n.matches('/').count() == 1,
                _ => false,
            };
            if !test_like {
                bail!(
                    "{source}:{line}: '{name}' is not a test (object/program, or object/program @unpriv) or an object"
                );
            }
            let name = words.join(" ");
            if reason.is_empty() {
                bail!("{source}:{line}: {name} has no reason (write it after '#')");
            }
            if let Some(e) = entries.iter().find(|e: &&Entry| e.name == name) {
                bail!(
                    "{source}:{line}: {name} is listed twice (also line {})",
                    e.line
                );
            }
            entries.push(Entry {
                name: name.to_string(),
                reason: reason.to_string(),
                line,
            });
        }
        Ok(Expectations {
            source: source.to_string(),
            entries,
        })
    }

    /// The entry that covers test `name` (`object/program`): its own, else
    /// its object's.
    pub fn lookup(&self, name: &str) -> Option<&Entry> {
        let object = name.split('/').next().unwrap_or(name);
        self.entries
            .iter()
            .find(|e| e.name == name)
            .or_else(|| self.entries.iter().find(|e| e.name == object))
    }

    /// The report of test `name` with the expectations applied.
    pub fn apply(&self, name: &str, mut rep: TestReport) -> TestReport {
        let Some(e) = self.lookup(name) else {
            return rep;
        };
        match rep.outcome {
            Outcome::Fail => {
                rep.note(format!(
                    "(an expected failure: {}:{}: {})",
                    self.source, e.line, e.reason
                ));
                rep.outcome = Outcome::Skip(format!("expected failure: {}", e.reason));
            }
            Outcome::Pass => rep.fail_with(format!(
                "listed in {}:{} as an expected failure ({}), but it passed: remove the entry",
                self.source, e.line, e.reason
            )),
            Outcome::Skip(_) => {}
        }
        rep
    }
}

/// The verdicts the harness must give its own self-check tests (`make
/// vmtest` runs tools/harness/tests/: tests written to fail, or to SKIP
/// on every kernel).  The same file format, with the reason in the form
/// `fail: TEXT` or `skip: TEXT`, or several of these joined by ` | `
/// (where kernels differ: one that lacks what the test needs SKIPs it):
/// a listed test passes when it had one of these outcomes with its TEXT
/// in its diagnostics (a failure) or its SKIP reason, and fails otherwise,
/// saying what it had instead.  This is how the harness's own failure
/// paths are tested: a self-check test that passes where it must fail
/// fails the run.
#[derive(Debug, Default)]
pub struct Verdicts(Expectations);

/// What a verdict entry asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Fail,
    Skip,
}

impl Verdicts {
    pub fn read(path: &Path) -> anyhow::Result<Verdicts> {
        Self::new(Expectations::read(path)?)
    }

    pub fn parse(source: &str, text: &str) -> anyhow::Result<Verdicts> {
        Self::new(Expectations::parse(source, text)?)
    }

    /// The verdicts of entries `x`, each checked for its form.
    fn new(x: Expectations) -> anyhow::Result<Verdicts> {
        let source = &x.source;
        for e in &x.entries {
            if Self::verdicts(e).is_none() {
                bail!(
                    "{source}:{}: {}: a verdict must read 'fail: TEXT' or 'skip: TEXT' (several joined by ' | '), not '{}'",
                    e.line,
                    e.name,
                    e.reason
                );
            }
        }
        Ok(Verdicts(x))
    }

    /// The outcomes entry `e` accepts; None if it is malformed.
    fn verdicts(e: &Entry) -> Option<Vec<(Verdict, &str)>> {
        e.reason
            .split(" | ")
            .map(|alt| {
                let (v, text) = alt.split_once(':')?;
                let v = match v.trim() {
                    "fail" => Verdict::Fail,
                    "skip" => Verdict::Skip,
                    _ => return None,
                };
                Some((v, text.trim())).filter(|(_, t)| !t.is_empty())
            })
            .collect()
    }

    /// The report of self-check test `name` judged by its verdict entry
    /// (unchanged if it has none).
    pub fn apply(&self, name: &str, rep: TestReport) -> TestReport {
        let Some(e) = self.0.entries.iter().find(|e| e.name == name) else {
            return rep;
        };
        let Some(wanted) = Self::verdicts(e) else {
            return rep;
        };
        let at = format!("{}:{}", self.0.source, e.line);
        let met = wanted
            .iter()
            .find(|(want, text)| match (&rep.outcome, want) {
                (Outcome::Fail, Verdict::Fail) => rep.diagnostics.iter().any(|d| d.contains(text)),
                (Outcome::Skip(why), Verdict::Skip) => why.contains(text),
                _ => false,
            });
        let mut out = match met {
            Some((want, text)) => {
                let mut r = TestReport::pass();
                r.note(format!(
                    "{} as it must ({at}): '{text}'",
                    match want {
                        Verdict::Fail => "failed",
                        Verdict::Skip => "skipped",
                    }
                ));
                r
            }
            None => {
                let mut r = TestReport::fail(format!(
                    "this self-check test must end as {at} says ({}); what the harness reported instead:",
                    e.reason
                ));
                r.note(match &rep.outcome {
                    Outcome::Pass => "  ok".to_string(),
                    Outcome::Skip(why) => format!("  SKIP {why}"),
                    Outcome::Fail => "  not ok".to_string(),
                });
                r
            }
        };
        out.retval = rep.retval;
        out.diagnostics
            .extend(rep.diagnostics.into_iter().map(|d| format!("  {d}")));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# comment line

verifier_gotox                 # libbpf: jump tables
exceptions_assert/check_lt     # clang 19: different code
";

    #[test]
    fn entries_cover_tests_and_whole_objects() {
        let x = Expectations::parse("E", FILE).unwrap();
        assert_eq!(x.entries.len(), 2);
        assert_eq!(x.lookup("verifier_gotox/any").unwrap().line, 3);
        assert_eq!(x.lookup("exceptions_assert/check_lt").unwrap().line, 4);
        assert!(x.lookup("exceptions_assert/other").is_none());
        assert!(x.lookup("verifier_and/x").is_none());
    }

    #[test]
    fn unprivileged_tests_are_entries_of_their_own() {
        let x = Expectations::parse("E", "o/p @unpriv   # why\n").unwrap();
        assert!(x.lookup("o/p @unpriv").is_some());
        assert!(x.lookup("o/p").is_none());
        assert!(Expectations::parse("E", "o @unpriv # why\n").is_err());
    }

    #[test]
    fn an_entry_needs_a_reason_and_one_name() {
        assert!(Expectations::parse("E", "verifier_and\n").is_err());
        assert!(Expectations::parse("E", "a b # why\n").is_err());
        assert!(Expectations::parse("E", "a/b/c # why\n").is_err());
        assert!(Expectations::parse("E", "a # x\na # y\n").is_err());
    }

    #[test]
    fn a_listed_failure_skips_and_a_listed_pass_fails() {
        let x = Expectations::parse("E", FILE).unwrap();
        let r = x.apply("verifier_gotox/t", TestReport::fail("boom"));
        assert_eq!(
            r.outcome,
            Outcome::Skip("expected failure: libbpf: jump tables".into())
        );
        let r = x.apply("verifier_gotox/t", TestReport::pass());
        assert_eq!(r.outcome, Outcome::Fail);
        assert!(r.diagnostics.iter().any(|d| d.contains("remove the entry")));
        let r = x.apply("verifier_and/t", TestReport::fail("real"));
        assert_eq!(r.outcome, Outcome::Fail);
        let r = x.apply("verifier_gotox/t", TestReport::skip("no JIT"));
        assert_eq!(r.outcome, Outcome::Skip("no JIT".into()));
    }

    #[test]
    fn a_self_check_passes_only_with_its_verdict_and_text() {
        let v = Verdicts::parse(
            "V",
            "w/fails  # fail: errno 22\nw/skips  # skip: no such kfunc\n",
        )
        .unwrap();
        let r = v.apply(
            "w/fails",
            TestReport::fail("BPF_PROG_TEST_RUN failed: errno 22 (EINVAL)"),
        );
        assert_eq!(r.outcome, Outcome::Pass);
        let r = v.apply("w/fails", TestReport::fail("errno 7"));
        assert_eq!(r.outcome, Outcome::Fail);
        let r = v.apply("w/fails", TestReport::pass());
        assert_eq!(r.outcome, Outcome::Fail);
        assert!(
            r.diagnostics.iter().any(|d| d == "  ok"),
            "{:?}",
            r.diagnostics
        );
        let r = v.apply("w/fails", TestReport::skip("errno 22"));
        assert_eq!(r.outcome, Outcome::Fail);
        let r = v.apply("w/skips", TestReport::skip("calls no such kfunc"));
        assert_eq!(r.outcome, Outcome::Pass);
        let r = v.apply("w/skips", TestReport::fail("no such kfunc"));
        assert_eq!(r.outcome, Outcome::Fail);
        // Not listed: as it was.
        assert_eq!(
            v.apply("w/other", TestReport::pass()).outcome,
            Outcome::Pass
        );
        assert!(Verdicts::parse("V", "w/x # failed: y\n").is_err());
        assert!(Verdicts::parse("V", "w/x # fail: y | skip:\n").is_err());
        // Alternatives: either outcome, each with its own text.
        let v = Verdicts::parse("V", "w/a  # fail: errno 22 | skip: no non-linear\n").unwrap();
        assert_eq!(
            v.apply("w/a", TestReport::fail("errno 22")).outcome,
            Outcome::Pass
        );
        let r = v.apply("w/a", TestReport::skip("kernel has no non-linear packets"));
        assert_eq!(r.outcome, Outcome::Pass);
        assert_eq!(
            v.apply("w/a", TestReport::skip("errno 22")).outcome,
            Outcome::Fail
        );
    }
}
