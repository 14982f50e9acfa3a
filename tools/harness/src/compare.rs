// SPDX-License-Identifier: GPL-2.0
//! `make upstream-compare`: rdynptr-test beside the kernel's own runner,
//! test_progs, on the same kernel and the same annotated objects, verdict
//! by verdict.  The binary is `rdynptr-compare` (src/bin/compare.rs).
//!
//! test_progs runs annotated objects through its prog_tests: a test
//! function calls `RUN_TESTS(obj)` (test_loader.c), or prog_tests/
//! verifier.c's `RUN(obj)` / `run_tests_aux("obj", ...)`, and every
//! program of the object becomes a subtest of that test, named after the
//! program (`prog`, or `prog @unpriv`).  rdynptr-test names the same test
//! `obj/prog`.  [`ProgTests`] reads which objects each test runs from the
//! tree's prog_tests sources; [`TestProgsRun`] reads test_progs' verdicts
//! from its output; [`compare`] pairs them.

use crate::expectations::Expectations;
use crate::report::Report;
use anyhow::{bail, Context as _};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

/// Which objects each test of test_progs runs through test_loader.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ProgTests {
    /// Test name (the prog_test function `void test_NAME(void)` or
    /// `void serial_test_NAME(void)`) -> the objects it runs, in order.
    pub tests: BTreeMap<String, Vec<Run>>,
}

/// An object a test runs through test_loader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub object: String,
    /// The subtests of the test that the run happens in
    /// (`if (test__start_subtest("failure")) test_failure();`): test_progs
    /// runs it only if they are selected too.
    pub gates: Vec<String>,
}

/// What a function of a prog_tests source does, in order: the objects it
/// runs itself and the functions it calls, each with the subtest that
/// gates it, if any.
#[derive(Debug, Default)]
struct Function {
    /// Defined as `void NAME(...)` (not static): what test_progs' list of
    /// tests is made of.
    public: bool,
    items: Vec<(Item, Option<String>)>,
}

#[derive(Debug)]
enum Item {
    Object(String),
    Call(String),
}

impl ProgTests {
    /// Reads every prog_tests/*.c of `dir`.
    pub fn scan(dir: &Path) -> anyhow::Result<ProgTests> {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "c"))
            .collect();
        paths.sort();
        let mut all = ProgTests::default();
        for p in paths {
            let text = std::fs::read_to_string(&p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            for (test, runs) in Self::parse(&text).tests {
                all.tests.entry(test).or_default().extend(runs);
            }
        }
        Ok(all)
    }

    /// The tests of one prog_tests source.
    pub fn parse(text: &str) -> ProgTests {
        let functions = functions(text);
        let mut tests = BTreeMap::new();
        for (name, f) in &functions {
            let test = name
                .strip_prefix("serial_test_")
                .or_else(|| name.strip_prefix("test_"));
            let Some(test) = test.filter(|_| f.public) else {
                continue;
            };
            let mut runs = Vec::new();
            collect_runs(&functions, name, &[], &mut BTreeSet::new(), &mut runs);
            if !runs.is_empty() {
                tests.insert(test.to_string(), runs);
            }
        }
        ProgTests { tests }
    }

    /// Object -> the tests that run it.
    pub fn tests_of(&self) -> HashMap<&str, Vec<&str>> {
        let mut m: HashMap<&str, Vec<&str>> = HashMap::new();
        for (t, runs) in &self.tests {
            for r in runs {
                let v = m.entry(r.object.as_str()).or_default();
                if !v.contains(&t.as_str()) {
                    v.push(t);
                }
            }
        }
        m
    }

    /// The run of `object` in `test`, if it has one.
    fn run(&self, test: &str, object: &str) -> Option<(usize, &Run)> {
        self.tests
            .get(test)?
            .iter()
            .enumerate()
            .find(|(_, r)| r.object == object)
    }
}

/// The objects function `name` runs, its own and those of the functions of
/// the same source it calls, in order, under the subtests `gates`.
fn collect_runs(
    functions: &BTreeMap<String, Function>,
    name: &str,
    gates: &[String],
    seen: &mut BTreeSet<String>,
    out: &mut Vec<Run>,
) {
    let Some(f) = functions.get(name) else {
        return;
    };
    if !seen.insert(name.to_string()) {
        return;
    }
    for (item, gate) in &f.items {
        let mut gates = gates.to_vec();
        gates.extend(gate.iter().cloned());
        match item {
            Item::Object(o) => out.push(Run {
                object: o.clone(),
                gates,
            }),
            Item::Call(c) => collect_runs(functions, c, &gates, seen, out),
        }
    }
    seen.remove(name);
}

/// Where a gate (`if (test__start_subtest("x"))`) is in its statement.
#[derive(Debug)]
enum GateState {
    /// In the condition, at this parenthesis depth and brace depth.
    Condition { paren: usize, depth: usize },
    /// In the statement it gates: a block that closes back to `depth`,
    /// or (`depth` None) a statement that ends at the next ';'.
    Body { depth: Option<usize> },
}

/// The top-level functions of C source `text`, with what each runs
/// (`RUN_TESTS(obj)`, `RUN(obj)` and `run_tests_aux("obj", ...)`) and
/// calls, in order, and the subtests that gate those.  Comments and
/// preprocessor lines are skipped (the macros' own definitions).
fn functions(text: &str) -> BTreeMap<String, Function> {
    let code = strip_comments_and_directives(text);
    let b = code.as_bytes();
    let mut out: BTreeMap<String, Function> = BTreeMap::new();
    let (mut depth, mut paren) = (0usize, 0usize);
    // At depth 0: the identifiers of the declaration so far, and the last
    // one followed by '(' (a declarator).
    let mut decl: Vec<String> = Vec::new();
    let mut declarator: Option<String> = None;
    let mut current: Option<String> = None;
    let mut gate: Option<(String, GateState)> = None;
    // The last call seen in a body, for the literal that may follow it.
    let mut last_call: Option<String> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\'' {
            let end = skip_literal(b, i);
            let lit = &code[i + 1..end.saturating_sub(1).max(i + 1)];
            if depth > 0 && c == b'"' {
                match last_call.take().as_deref() {
                    Some("run_tests_aux") if is_ident(lit) => {
                        push_item(&mut out, &current, &gate, Item::Object(lit.to_string()));
                    }
                    Some("test__start_subtest" | "test__start_subtest_with_desc") => {
                        // In `if (test__start_subtest("x"))` the condition
                        // ends where the parenthesis of the `if` closes.
                        gate = Some((
                            lit.to_string(),
                            GateState::Condition {
                                paren: paren.saturating_sub(2),
                                depth,
                            },
                        ));
                    }
                    _ => {}
                }
            }
            i = end;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let ident = &code[start..i];
            let mut j = i;
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            let called = j < b.len() && b[j] == b'(';
            if depth == 0 {
                decl.push(ident.to_string());
                if called {
                    declarator = Some(ident.to_string());
                }
            } else if called {
                last_call = Some(ident.to_string());
                match ident {
                    "RUN_TESTS" | "RUN" => {
                        let arg = code[j + 1..]
                            .split(')')
                            .next()
                            .map(str::trim)
                            .unwrap_or_default();
                        if is_ident(arg) {
                            push_item(&mut out, &current, &gate, Item::Object(arg.to_string()));
                        }
                    }
                    "run_tests_aux" | "test__start_subtest" | "test__start_subtest_with_desc" => {}
                    _ => push_item(&mut out, &current, &gate, Item::Call(ident.to_string())),
                }
            }
            continue;
        }
        match c {
            b'(' => paren += 1,
            b')' => {
                paren = paren.saturating_sub(1);
                if let Some((_, st)) = &mut gate {
                    if matches!(st, GateState::Condition { paren: p, .. } if *p == paren) {
                        // The condition is over: a block, or a statement.
                        let mut j = i + 1;
                        while j < b.len() && b[j].is_ascii_whitespace() {
                            j += 1;
                        }
                        let d = match st {
                            GateState::Condition { depth, .. } => *depth,
                            GateState::Body { .. } => depth,
                        };
                        *st = GateState::Body {
                            depth: (j < b.len() && b[j] == b'{').then_some(d),
                        };
                    }
                }
            }
            b'{' => {
                if depth == 0 {
                    if let Some(name) = declarator.take() {
                        let public = decl.first().is_some_and(|w| w == "void");
                        out.entry(name.clone()).or_default().public = public;
                        current = Some(name);
                    }
                    decl.clear();
                }
                depth += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                if matches!(&gate, Some((_, GateState::Body { depth: Some(d) })) if *d == depth) {
                    gate = None;
                }
                if depth == 0 {
                    current = None;
                    gate = None;
                    decl.clear();
                }
            }
            b';' => {
                if depth == 0 {
                    declarator = None;
                    decl.clear();
                } else if paren == 0 && matches!(&gate, Some((_, GateState::Body { depth: None })))
                {
                    gate = None;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Adds `item` to the function being read, under the gate in effect.
fn push_item(
    out: &mut BTreeMap<String, Function>,
    current: &Option<String>,
    gate: &Option<(String, GateState)>,
    item: Item,
) {
    let Some(f) = current.as_ref().and_then(|n| out.get_mut(n)) else {
        return;
    };
    let gate = match gate {
        Some((name, GateState::Body { .. })) => Some(name.clone()),
        _ => None,
    };
    f.items.push((item, gate));
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

/// The index just past the string or character literal starting at `i`.
fn skip_literal(b: &[u8], i: usize) -> usize {
    let quote = b[i];
    let mut j = i + 1;
    while j < b.len() && b[j] != quote {
        if b[j] == b'\\' {
            j += 1;
        }
        j += 1;
    }
    (j + 1).min(b.len())
}

/// `text` with comments and preprocessor lines (with their continuation
/// lines) blanked out, literals kept.
fn strip_comments_and_directives(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_directive = false;
    for line in text.lines() {
        let directive = in_directive || line.trim_start().starts_with('#');
        in_directive = directive && line.ends_with('\\');
        if !directive {
            out.push_str(line);
        }
        out.push('\n');
    }
    // Comments (outside literals).
    let b = out.as_bytes();
    let mut res = String::with_capacity(out.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' || b[i] == b'\'' {
            let end = skip_literal(b, i);
            res.push_str(&out[i..end]);
            i = end;
        } else if b[i..].starts_with(b"/*") {
            let end = out[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            res.push(' ');
            i = end;
        } else if b[i..].starts_with(b"//") {
            let end = out[i..].find('\n').map_or(b.len(), |e| i + e);
            i = end;
        } else {
            let ch = out[i..].chars().next().unwrap_or(' ');
            res.push(ch);
            i += ch.len_utf8();
        }
    }
    res
}

/// A verdict, as both runners give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Pass,
    Fail,
    Skip,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Skip => "skip",
        }
    }
}

/// What test_progs reported: each subtest line of its output
/// (`#N/M test/subtest:OK|SKIP|FAIL`), each test line (`#N test:...`), and
/// the messages of the failed subtests from its -J report.
#[derive(Debug, Default)]
pub struct TestProgsRun {
    /// (test, subtest) -> the verdicts of the subtests of that name, in
    /// the order they ran (test_loader may run two objects with a program
    /// of the same name in one test).
    pub subtests: HashMap<(String, String), Vec<Verdict>>,
    /// Test -> its own verdict.
    pub tests: HashMap<String, Verdict>,
    /// (test, subtest) -> the messages of the failed subtests of that
    /// name, in order (-J lists only failures).
    pub messages: HashMap<(String, String), Vec<String>>,
}

impl TestProgsRun {
    /// Reads test_progs' output `log` and its -J report `json` (None if it
    /// wrote none).
    pub fn parse(log: &str, json: Option<&str>) -> anyhow::Result<TestProgsRun> {
        let mut run = TestProgsRun::default();
        for line in log.lines() {
            let Some(rest) = line.strip_prefix('#') else {
                continue;
            };
            let Some((num, rest)) = rest.split_once(char::is_whitespace) else {
                continue;
            };
            if !num.bytes().all(|b| b.is_ascii_digit() || b == b'/') || num.is_empty() {
                continue;
            }
            let rest = rest.trim();
            let Some((name, result)) = rest.rsplit_once(':') else {
                continue;
            };
            let v = match result.split_whitespace().next() {
                Some("OK") => Verdict::Pass,
                Some("SKIP") => Verdict::Skip,
                Some("FAIL") => Verdict::Fail,
                _ => continue,
            };
            match name.split_once('/') {
                Some((t, s)) if num.contains('/') => run
                    .subtests
                    .entry((t.to_string(), s.to_string()))
                    .or_default()
                    .push(v),
                None if !num.contains('/') => {
                    run.tests.insert(name.to_string(), v);
                }
                _ => {}
            }
        }
        if let Some(json) = json {
            let v: serde_json::Value =
                serde_json::from_str(json).context("test_progs' -J report is not JSON")?;
            for t in v["results"].as_array().into_iter().flatten() {
                let test = t["name"].as_str().unwrap_or_default();
                for s in t["subtests"].as_array().into_iter().flatten() {
                    let sub = s["name"].as_str().unwrap_or_default();
                    let msg = s["message"].as_str().unwrap_or_default();
                    run.messages
                        .entry((test.to_string(), sub.to_string()))
                        .or_default()
                        .push(msg.to_string());
                }
            }
        }
        Ok(run)
    }

    /// test_progs' message of the `k`-th subtest `sub` of `test`, if it
    /// failed.
    fn message(&self, test: &str, sub: &str, k: usize) -> Option<&str> {
        let key = (test.to_string(), sub.to_string());
        let failed_before = self
            .subtests
            .get(&key)?
            .iter()
            .take(k)
            .filter(|v| **v == Verdict::Fail)
            .count();
        self.messages
            .get(&key)?
            .get(failed_before)
            .map(String::as_str)
    }

    /// The verdict of the `k`-th subtest `sub` of `test`: its own line,
    /// else the test's (a test that skipped or failed before its subtests
    /// ran); None if test_progs did not run it.
    fn verdict(&self, test: &str, sub: &str, k: usize) -> Option<Verdict> {
        match self.subtests.get(&(test.to_string(), sub.to_string())) {
            Some(v) => v.get(k).copied(),
            None => self
                .tests
                .get(test)
                .copied()
                .filter(|v| *v != Verdict::Pass),
        }
    }
}

/// rdynptr-test's verdict of a test of its JSON report, with the reason:
/// a listed expected failure (tools/upstream/expected-failures) is the
/// failure it stands for.
fn our_verdict(result: &str, skip_reason: Option<&str>) -> Verdict {
    match (result, skip_reason) {
        ("pass", _) => Verdict::Pass,
        ("skip", Some(r)) if r.starts_with("expected failure: ") => Verdict::Fail,
        ("skip", _) => Verdict::Skip,
        _ => Verdict::Fail,
    }
}

/// One test of both runs.
#[derive(Debug)]
pub struct Pair {
    /// rdynptr-test's name, `obj/prog[ @unpriv]`.
    pub name: String,
    /// test_progs' name, `test/subtest`.
    pub theirs_name: String,
    pub ours: Verdict,
    /// None: test_progs did not run it.
    pub theirs: Option<Verdict>,
    pub our_reason: String,
    pub their_reason: String,
    /// The explained-disagreements entry that covers it.
    pub explained: Option<String>,
}

/// The comparison.
#[derive(Debug, Default)]
pub struct Comparison {
    pub pairs: Vec<Pair>,
    /// rdynptr-test's tests of objects that no prog_test runs.
    pub ours_only: Vec<String>,
    /// Explained-disagreements entries whose tests agree (or that name no
    /// test): stale.
    pub stale: Vec<String>,
}

impl Comparison {
    pub fn agree(&self) -> usize {
        self.pairs
            .iter()
            .filter(|p| Some(p.ours) == p.theirs)
            .count()
    }

    pub fn disagreements(&self) -> impl Iterator<Item = &Pair> {
        self.pairs.iter().filter(|p| Some(p.ours) != p.theirs)
    }

    pub fn unexplained(&self) -> usize {
        self.disagreements()
            .filter(|p| p.explained.is_none())
            .count()
    }
}

/// Pairs every test of rdynptr-test's report `ours` with test_progs'
/// verdict of it; `explained` lists the disagreements whose cause is known
/// (the Expectations format, the reason naming the test_progs code that
/// makes the difference).
pub fn compare(
    map: &ProgTests,
    ours: &Report,
    theirs: &TestProgsRun,
    explained: &Expectations,
) -> Comparison {
    let tests_of = map.tests_of();
    let mut cmp = Comparison::default();
    // (test, subtest) -> how many of that name were paired so far.
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    // Our records in test_progs' order: by test, then by the object's
    // place in the test, then as we ran them.
    let mut keyed = Vec::new();
    for (i, r) in ours.tests.iter().enumerate() {
        let (obj, sub) = r.name.split_once('/').unwrap_or((&r.name, ""));
        match tests_of.get(obj) {
            Some(tests) => {
                for t in tests {
                    let place = map.run(t, obj).map_or(0, |(k, _)| k);
                    keyed.push(((t.to_string(), place, i), (r, sub)));
                }
            }
            None => cmp.ours_only.push(r.name.clone()),
        }
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut used = BTreeSet::new();
    for ((test, _, _), (r, sub)) in keyed {
        let sub = &display_name(sub, r.description.as_deref());
        let key = (test.clone(), sub.to_string());
        let k = seen.entry(key.clone()).or_insert(0);
        let theirs_v = theirs.verdict(&test, sub, *k);
        let their_reason = theirs
            .message(&test, sub, *k)
            .map(|m| first_lines(m, 3))
            .unwrap_or_default();
        *k += 1;
        let ours_v = our_verdict(&r.result, r.skip_reason.as_deref());
        let our_reason = match &r.skip_reason {
            Some(why) => why.clone(),
            None => r
                .diagnostics
                .iter()
                .map(|d| d.trim())
                .find(|d| !d.is_empty())
                .unwrap_or_default()
                .to_string(),
        };
        let entry = explained.lookup(&r.name);
        let explained_by = entry.map(|e| {
            used.insert(e.name.clone());
            e.reason.clone()
        });
        cmp.pairs.push(Pair {
            name: r.name.clone(),
            theirs_name: format!("{test}/{sub}"),
            ours: ours_v,
            theirs: theirs_v,
            our_reason,
            their_reason,
            explained: explained_by,
        });
    }
    // An entry must explain a disagreement, but for a flaky test of
    // test_progs (its reason starts with FLAKY), which may agree.
    for p in &mut cmp.pairs {
        let flaky = p.explained.as_deref().is_some_and(|r| r.starts_with(FLAKY));
        if p.explained.is_some() && Some(p.ours) == p.theirs && !flaky {
            p.explained = None;
            cmp.stale.push(format!(
                "{}: listed as an explained disagreement, but both runners say {}: remove the entry",
                p.name,
                p.ours.as_str()
            ));
        }
    }
    for e in &explained.entries {
        if !used.contains(&e.name) {
            cmp.stale.push(format!(
                "{}:{}: {} names no test that both runners ran: remove the entry",
                explained.source, e.line, e.name
            ));
        }
    }
    cmp
}

/// How an explained-disagreements entry starts when test_progs' verdict of
/// the test varies from run to run (the entry says which of its code does
/// it): such an entry may agree without being stale.
pub const FLAKY: &str = "flaky in test_progs:";

/// The name test_progs shows for the subtest of program `sub` (`prog`, or
/// `prog @unpriv`): test_loader names a subtest after its program, but
/// test_progs prints a subtest's description instead when it has one
/// (test__start_subtest_with_desc()), and test_loader gives the
/// unprivileged subtest the description with " @unpriv".
fn display_name(sub: &str, description: Option<&str>) -> String {
    match description.filter(|d| !d.is_empty()) {
        Some(d) => match sub.strip_suffix(" @unpriv") {
            Some(_) => format!("{d} @unpriv"),
            None => d.to_string(),
        },
        None => sub.to_string(),
    }
}

fn first_lines(text: &str, n: usize) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(n)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The printed comparison: every pair, then the disagreements with both
/// sides' reasons, the stale entries, the times, and last the summary
/// line.  `times`: the wall times of test_progs and rdynptr-test.
pub fn render(cmp: &Comparison, times: Option<(f64, f64)>) -> String {
    let mut s = String::new();
    for p in &cmp.pairs {
        let theirs = p.theirs.map_or("-", Verdict::as_str);
        let _ = writeln!(s, "{}/{:<4}  {}", p.ours.as_str(), theirs, p.name);
    }
    if !cmp.ours_only.is_empty() {
        let _ = writeln!(
            s,
            "# {} tests of rdynptr-test have objects no prog_test runs (test_progs has no verdict for them)",
            cmp.ours_only.len()
        );
    }
    for p in cmp.disagreements() {
        let theirs = p.theirs.map_or("not run", Verdict::as_str);
        let _ = writeln!(
            s,
            "DISAGREE{} {} (test_progs: {}): rdynptr-test {}, test_progs {}",
            if p.explained.is_some() {
                " (explained)"
            } else {
                ""
            },
            p.name,
            p.theirs_name,
            p.ours.as_str(),
            theirs
        );
        let _ = writeln!(s, "  rdynptr-test: {}", p.our_reason);
        let _ = writeln!(s, "  test_progs:   {}", p.their_reason);
        if let Some(why) = &p.explained {
            let _ = writeln!(s, "  explained:    {why}");
        }
    }
    for st in &cmp.stale {
        let _ = writeln!(s, "STALE {st}");
    }
    let n_dis = cmp.disagreements().count();
    let explained = n_dis - cmp.unexplained();
    let times = match times {
        Some((tp, ours)) => {
            let _ = writeln!(
                s,
                "# wall time: test_progs {tp:.1} s, rdynptr-test {ours:.1} s, ratio {:.2}",
                if tp > 0.0 { ours / tp } else { f64::NAN }
            );
            format!("; test_progs {tp:.1} s, rdynptr-test {ours:.1} s")
        }
        None => String::new(),
    };
    let _ = writeln!(
        s,
        "upstream-compare: {} agree, {n_dis} disagree ({explained} explained){times}",
        cmp.agree()
    );
    s
}

/// The allowlist of test_progs (`-a @FILE`) that runs exactly the tests of
/// `names` (rdynptr-test's test names) that a prog_test runs: one
/// `test/subtest` per line.
pub fn allowlist(map: &ProgTests, names: &[String]) -> anyhow::Result<String> {
    let tests_of = map.tests_of();
    let mut lines = BTreeSet::new();
    for n in names {
        let Some((obj, sub)) = n.split_once('/') else {
            continue;
        };
        for t in tests_of.get(obj).into_iter().flatten() {
            let gates = map.run(t, obj).map(|(_, r)| r.gates.as_slice());
            for s in gates
                .unwrap_or_default()
                .iter()
                .map(String::as_str)
                .chain([sub])
            {
                if s.contains(['*', '?', '[', ',']) {
                    bail!("{n}: a test_progs allowlist cannot name the subtest '{s}' exactly");
                }
                lines.insert(format!("{t}/{s}"));
            }
        }
    }
    Ok(lines.into_iter().map(|l| l + "\n").collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER_C: &str = r#"
// SPDX
#include "verifier_and.skel.h"
#define RUN(skel) run_tests_aux(#skel, skel##__elf_bytes, NULL)

static void run_tests_aux(const char *skel_name, void *f, void *cb)
{
	struct test_loader tester = {};
	test_loader__run_subtests(&tester, skel_name, f);
}

void test_verifier_and(void)                  { RUN(verifier_and); }
void test_verifier_or(void) { RUN(verifier_or); /* RUN(not_this) */ }

static int init(struct bpf_object *obj) { return 0; }

void test_verifier_array_access(void)
{
	run_tests_aux("verifier_array_access",
		      verifier_array_access__elf_bytes,
		      init);
}
"#;

    const ITERS_C: &str = r#"
static void subtest_num(void) { char *s = "}"; }
static void helper(void)
{
	RUN_TESTS(iters_helper);
}
void test_iters(void)
{
	RUN_TESTS(iters_state_safety);
	if (env.has_testmod) {
		RUN_TESTS(iters_testmod);
	}
	if (test__start_subtest("num"))
		subtest_num();
	helper();
}
void serial_test_iters_serial(void) { RUN_TESTS(iters_serial); }
void test_no_loader(void) { subtest_num(); }
"#;

    fn objects<'a>(m: &'a ProgTests, test: &str) -> Vec<&'a str> {
        m.tests[test].iter().map(|r| r.object.as_str()).collect()
    }

    fn runs(objects: &[&str]) -> Vec<Run> {
        objects
            .iter()
            .map(|o| Run {
                object: o.to_string(),
                gates: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn prog_tests_name_the_objects_they_run() {
        let m = ProgTests::parse(VERIFIER_C);
        assert_eq!(objects(&m, "verifier_and"), ["verifier_and"]);
        assert_eq!(objects(&m, "verifier_or"), ["verifier_or"]);
        assert_eq!(
            objects(&m, "verifier_array_access"),
            ["verifier_array_access"]
        );
        assert_eq!(m.tests.len(), 3, "{m:?}");
        let m = ProgTests::parse(ITERS_C);
        assert_eq!(
            objects(&m, "iters"),
            ["iters_state_safety", "iters_testmod", "iters_helper"]
        );
        assert_eq!(objects(&m, "iters_serial"), ["iters_serial"]);
        assert!(!m.tests.contains_key("no_loader"));
        assert!(m.tests["iters"].iter().all(|r| r.gates.is_empty()));
    }

    const GATED_C: &str = r#"
static void test_failure(void) { RUN_TESTS(percpu_alloc_fail); }
static void test_exceptions_failure(void)
{
	RUN_TESTS(exceptions_fail);
}
void test_percpu_alloc(void)
{
	if (test__start_subtest("array"))
		test_array();
	if (test__start_subtest("failure"))
		test_failure();
	if (test__start_subtest("block")) {
		if (!ASSERT_OK(0, "x"))
			return;
		RUN_TESTS(in_block);
	}
	RUN_TESTS(ungated);
	test_exceptions_failure();
}
"#;

    #[test]
    fn static_helpers_are_no_tests_and_subtests_gate_what_they_run() {
        let m = ProgTests::parse(GATED_C);
        assert_eq!(m.tests.len(), 1, "{m:?}");
        let got: Vec<(&str, Vec<&str>)> = m.tests["percpu_alloc"]
            .iter()
            .map(|r| {
                (
                    r.object.as_str(),
                    r.gates.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("percpu_alloc_fail", vec!["failure"]),
                ("in_block", vec!["block"]),
                ("ungated", vec![]),
                ("exceptions_fail", vec![]),
            ]
        );
        let names = ["percpu_alloc_fail/p".to_string(), "ungated/q".to_string()];
        assert_eq!(
            allowlist(&m, &names).unwrap(),
            "percpu_alloc/failure\npercpu_alloc/p\npercpu_alloc/q\n"
        );
    }

    const LOG: &str = "\
#1/1     verifier_and/and_1:OK
#1/2     verifier_and/and_2 @unpriv:SKIP
#1       verifier_and:OK (SKIP: 1/2)
#2/1     iters/same:OK
#2/2     iters/same:FAIL
#2       iters:FAIL
#3       skipped_early:SKIP
Summary: 2/3 PASSED, 1 SKIPPED, 1 FAILED
";

    const JSON: &str = r#"{"success": 1, "results": [{"name": "iters", "number": 2,
        "message": "", "failed": true, "subtests": [{"name": "same", "number": 2,
        "message": "run_subtest:FAIL:unexpected_load_success\nmore", "failed": true}]}]}"#;

    #[test]
    fn test_progs_output_gives_each_subtest_its_verdict() {
        let r = TestProgsRun::parse(LOG, Some(JSON)).unwrap();
        assert_eq!(r.verdict("verifier_and", "and_1", 0), Some(Verdict::Pass));
        assert_eq!(
            r.verdict("verifier_and", "and_2 @unpriv", 0),
            Some(Verdict::Skip)
        );
        assert_eq!(r.verdict("iters", "same", 0), Some(Verdict::Pass));
        assert_eq!(r.verdict("iters", "same", 1), Some(Verdict::Fail));
        // A test that skipped before its subtests: its subtests skipped.
        assert_eq!(r.verdict("skipped_early", "x", 0), Some(Verdict::Skip));
        // A test that passed has run all of its subtests it prints.
        assert_eq!(r.verdict("verifier_and", "other", 0), None);
        assert_eq!(
            r.messages[&("iters".to_string(), "same".to_string())][0],
            "run_subtest:FAIL:unexpected_load_success\nmore"
        );
    }

    #[test]
    fn a_subtest_with_a_description_is_shown_by_it() {
        assert_eq!(display_name("p", None), "p");
        assert_eq!(display_name("p @unpriv", None), "p @unpriv");
        assert_eq!(display_name("p", Some("a/b: c")), "a/b: c");
        assert_eq!(display_name("p @unpriv", Some("a/b: c")), "a/b: c @unpriv");
    }

    fn report(tests: &[(&str, &str, Option<&str>)]) -> Report {
        let json = serde_json::json!({
            "kernel": "7.3.4",
            "totals": {"pass": 0, "fail": 0, "skip": 0},
            "tests": tests.iter().map(|(n, r, why)| serde_json::json!({
                "name": n, "result": r, "skip_reason": why,
                "duration_ms": 1.0, "retval": null, "diagnostics": ["boom"],
            })).collect::<Vec<_>>(),
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn pairs_agree_disagree_and_are_explained() {
        let mut map = ProgTests::default();
        map.tests
            .insert("verifier_and".into(), runs(&["verifier_and"]));
        map.tests
            .insert("iters".into(), runs(&["iters_a", "iters_b"]));
        let ours = report(&[
            ("verifier_and/and_1", "pass", None),
            ("verifier_and/and_2 @unpriv", "pass", None),
            ("iters_b/same", "fail", None),
            ("iters_a/same", "pass", None),
            ("lonely/x", "pass", None),
        ]);
        let theirs = TestProgsRun::parse(LOG, Some(JSON)).unwrap();
        let explained = Expectations::parse(
            "X",
            "verifier_and/and_2 @unpriv  # test_progs drops CAP_SYS_ADMIN\n",
        )
        .unwrap();
        let c = compare(&map, &ours, &theirs, &explained);
        assert_eq!(c.ours_only, ["lonely/x"]);
        // iters_a runs first in the test: its "same" is test_progs' first.
        let p = |n: &str| c.pairs.iter().find(|p| p.name == n).unwrap();
        assert_eq!(p("iters_a/same").theirs, Some(Verdict::Pass));
        assert_eq!(p("iters_b/same").theirs, Some(Verdict::Fail));
        assert!(p("iters_b/same")
            .their_reason
            .contains("unexpected_load_success"));
        assert_eq!(c.agree(), 3);
        assert_eq!(c.disagreements().count(), 1);
        assert_eq!(c.unexplained(), 0);
        let out = render(&c, Some((10.0, 4.0)));
        assert!(out.ends_with(
            "upstream-compare: 3 agree, 1 disagree (1 explained); test_progs 10.0 s, rdynptr-test 4.0 s\n"
        ));
        assert!(out.contains("DISAGREE (explained) verifier_and/and_2 @unpriv"));
        // Unlisted, the same disagreement is unexplained.
        let c = compare(&map, &ours, &theirs, &Expectations::default());
        assert_eq!(c.unexplained(), 1);
    }

    #[test]
    fn an_expected_failure_is_compared_as_the_failure_it_is() {
        assert_eq!(
            our_verdict("skip", Some("expected failure: test_progs fills the map")),
            Verdict::Fail
        );
        assert_eq!(our_verdict("skip", Some("no JIT")), Verdict::Skip);
    }

    #[test]
    fn an_entry_that_explains_nothing_is_stale() {
        let mut map = ProgTests::default();
        map.tests
            .insert("verifier_and".into(), runs(&["verifier_and"]));
        let ours = report(&[("verifier_and/and_1", "pass", None)]);
        let theirs = TestProgsRun::parse(LOG, None).unwrap();
        let explained = Expectations::parse(
            "X",
            "verifier_and/and_1  # agrees\nverifier_gone  # no such test\n",
        )
        .unwrap();
        let c = compare(&map, &ours, &theirs, &explained);
        assert_eq!(c.stale.len(), 2, "{:?}", c.stale);
        assert_eq!(c.unexplained(), 0);
        // A test_progs flake may agree.
        let explained = Expectations::parse(
            "X",
            "verifier_and/and_1  # flaky in test_progs: it reads the stream once\n",
        )
        .unwrap();
        let c = compare(&map, &ours, &theirs, &explained);
        assert!(c.stale.is_empty(), "{:?}", c.stale);
    }

    #[test]
    fn the_allowlist_names_each_subtest_once() {
        let mut map = ProgTests::default();
        map.tests
            .insert("verifier_and".into(), runs(&["verifier_and"]));
        let names = [
            "verifier_and/and_1".to_string(),
            "verifier_and/and_1 @unpriv".to_string(),
            "lonely/x".to_string(),
        ];
        assert_eq!(
            allowlist(&map, &names).unwrap(),
            "verifier_and/and_1\nverifier_and/and_1 @unpriv\n"
        );
    }
}
