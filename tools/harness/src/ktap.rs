// SPDX-License-Identifier: GPL-2.0
//! KTAP version 1 output (Documentation/dev-tools/ktap.rst): a plan line,
//! one result line per test, diagnostics as "# " lines, then the totals.

use std::io::{self, Write};

/// Result of one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    Skip(String),
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Skip(_) => "skip",
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
}

pub struct Ktap<W: Write> {
    out: W,
    next: usize,
    totals: Totals,
}

/// KTAP result lines end at '\n' and use '#' for the directive: keep both
/// out of test names and skip reasons.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            '#' => '_',
            c => c,
        })
        .collect::<String>()
        .trim()
        .to_string()
}

impl<W: Write> Ktap<W> {
    pub fn new(out: W) -> Self {
        Ktap {
            out,
            next: 1,
            totals: Totals::default(),
        }
    }

    /// Version and plan lines.
    pub fn start(&mut self, planned: usize) -> io::Result<()> {
        writeln!(self.out, "KTAP version 1")?;
        writeln!(self.out, "1..{planned}")?;
        self.out.flush()
    }

    /// Diagnostic lines: every line of `text` prefixed with "# ".
    pub fn diag(&mut self, text: &str) -> io::Result<()> {
        for line in text.lines() {
            let line = line.trim_end();
            if line.is_empty() {
                writeln!(self.out, "#")?;
            } else {
                writeln!(self.out, "# {line}")?;
            }
        }
        self.out.flush()
    }

    /// The result line of the next test.
    pub fn result(&mut self, name: &str, outcome: &Outcome) -> io::Result<()> {
        let n = self.next;
        self.next += 1;
        self.count(outcome);
        self.line("", n, name, outcome)?;
        self.out.flush()
    }

    /// The next test as a subtest with `cases` (a KUnit suite): the
    /// indented subtest, then the test's result line.  The cases count in
    /// the totals, the test itself does not.
    pub fn subtest(
        &mut self,
        name: &str,
        outcome: &Outcome,
        cases: &[(String, Outcome)],
    ) -> io::Result<()> {
        let n = self.next;
        self.next += 1;
        writeln!(self.out, "    KTAP version 1")?;
        writeln!(self.out, "    # Subtest: {}", clean(name))?;
        writeln!(self.out, "    1..{}", cases.len())?;
        for (i, (case, o)) in cases.iter().enumerate() {
            self.count(o);
            self.line("    ", i + 1, case, o)?;
        }
        self.line("", n, name, outcome)?;
        self.out.flush()
    }

    fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Pass => self.totals.pass += 1,
            Outcome::Fail => self.totals.fail += 1,
            Outcome::Skip(_) => self.totals.skip += 1,
        }
    }

    fn line(&mut self, indent: &str, n: usize, name: &str, outcome: &Outcome) -> io::Result<()> {
        let name = clean(name);
        match outcome {
            Outcome::Pass => writeln!(self.out, "{indent}ok {n} {name}"),
            Outcome::Fail => writeln!(self.out, "{indent}not ok {n} {name}"),
            Outcome::Skip(reason) => {
                writeln!(self.out, "{indent}ok {n} {name} # SKIP {}", clean(reason))
            }
        }
    }

    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// The totals line and the final plain summary line, "LABEL: N
    /// passed, N failed, N skipped".
    pub fn finish(&mut self, label: &str) -> io::Result<()> {
        let t = self.totals;
        writeln!(
            self.out,
            "# Totals: pass:{} fail:{} skip:{}",
            t.pass, t.fail, t.skip
        )?;
        writeln!(
            self.out,
            "{label}: {} passed, {} failed, {} skipped",
            t.pass, t.fail, t.skip
        )?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: impl FnOnce(&mut Ktap<&mut Vec<u8>>)) -> String {
        let mut buf = Vec::new();
        let mut k = Ktap::new(&mut buf);
        f(&mut k);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn full_run_has_header_numbered_results_and_totals() {
        let out = run(|k| {
            k.start(3).unwrap();
            k.result("obj/a", &Outcome::Pass).unwrap();
            k.diag("expected: 1\ngot: 2").unwrap();
            k.result("obj/b", &Outcome::Fail).unwrap();
            k.result("obj/c", &Outcome::Skip("kfunc bpf_x missing".into()))
                .unwrap();
            k.finish("vmtest").unwrap();
            assert_eq!(
                k.totals(),
                Totals {
                    pass: 1,
                    fail: 1,
                    skip: 1
                }
            );
        });
        assert_eq!(
            out,
            "KTAP version 1\n\
             1..3\n\
             ok 1 obj/a\n\
             # expected: 1\n\
             # got: 2\n\
             not ok 2 obj/b\n\
             ok 3 obj/c # SKIP kfunc bpf_x missing\n\
             # Totals: pass:1 fail:1 skip:1\n\
             vmtest: 1 passed, 1 failed, 1 skipped\n"
        );
    }

    #[test]
    fn names_and_reasons_cannot_break_the_line_format() {
        let out = run(|k| {
            k.result("obj/x # y\nok 9 fake", &Outcome::Skip("a\nb # c".into()))
                .unwrap();
        });
        assert_eq!(out, "ok 1 obj/x _ y ok 9 fake # SKIP a b _ c\n");
    }

    #[test]
    fn empty_diag_lines_are_bare_hashes() {
        let out = run(|k| k.diag("a\n\n  b  ").unwrap());
        assert_eq!(out, "# a\n#\n#   b\n");
    }
}
