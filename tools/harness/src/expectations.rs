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
}
