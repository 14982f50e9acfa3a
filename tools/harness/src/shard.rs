// SPDX-License-Identifier: GPL-2.0
//! Splitting a run into shards (`--shard K/N`), and joining the shards'
//! reports into the report of the whole run (rdynptr-merge).
//!
//! The split is a function of the selected tests, in plan order, and of
//! their costs: every shard computes the same assignment, so the shards
//! of one plan are disjoint and together hold every test once.  A test's
//! cost is its duration in earlier reports (`--shard-costs`) where they
//! name it, else its weight (a sweep runs 50 batches, a program's test one
//! load) times the median known duration.  Tests are dealt out longest
//! first, each to the shard with the least cost so far (ties to the
//! lowest shard): the greedy "longest processing time" schedule.

use crate::ktap::{Ktap, Outcome};
use crate::report::{Report, TestRecord};
use anyhow::bail;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("{s:?}: a shard is K/N with 1 <= K <= N");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a shard's report says about the run it is part of.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ShardInfo {
    /// 1-based.
    pub index: usize,
    pub count: usize,
    /// Every selected test of the whole run, in plan order: the shards of
    /// one run have the same list, and their tests are exactly these.
    pub plan: Vec<String>,
    /// The closing line's label (`--summary-label`).
    pub label: String,
}

/// The shard (0-based) of each test, given the tests' costs.
pub fn assign(costs: &[f64], count: usize) -> Vec<usize> {
    let count = count.max(1);
    let mut order: Vec<usize> = (0..costs.len()).collect();
    order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]).then(a.cmp(&b)));
    let mut load = vec![0.0f64; count];
    let mut out = vec![0; costs.len()];
    for i in order {
        let s = (0..count)
            .min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)))
            .unwrap_or(0);
        out[i] = s;
        load[s] += costs[i].max(0.0);
    }
    out
}

/// Measured test durations (milliseconds) by test name, from --json
/// reports of earlier runs (the last report naming a test wins).
#[derive(Debug, Default)]
pub struct Costs {
    known: HashMap<String, f64>,
}

impl Costs {
    pub fn read(paths: &[impl AsRef<Path>]) -> anyhow::Result<Costs> {
        let mut known = HashMap::new();
        for p in paths {
            for t in Report::read(p.as_ref())?.tests {
                known.insert(t.name, t.duration_ms);
            }
        }
        Ok(Costs { known })
    }

    /// The cost of each test, given its name and its weight.
    pub fn of(&self, tests: &[(&str, u32)]) -> Vec<f64> {
        let mut durations: Vec<f64> = self.known.values().copied().collect();
        durations.sort_by(f64::total_cmp);
        let unit = durations.get(durations.len() / 2).copied().unwrap_or(1.0);
        tests
            .iter()
            .map(|(n, w)| {
                self.known
                    .get(*n)
                    .copied()
                    .unwrap_or_else(|| f64::from(*w) * unit)
            })
            .collect()
    }
}

/// A record's outcome, as KTAP reports it.
fn outcome(result: &str, skip_reason: Option<&str>) -> Outcome {
    match result {
        "pass" => Outcome::Pass,
        "skip" => Outcome::Skip(skip_reason.unwrap_or_default().to_string()),
        _ => Outcome::Fail,
    }
}

/// Writes one test as KTAP: its diagnostics (when `show`), then its
/// result line, or its cases as a subtest.
pub fn write_test(
    ktap: &mut Ktap<impl Write>,
    name: &str,
    outcome: &Outcome,
    diagnostics: &[String],
    cases: &[(String, Outcome)],
    show: bool,
) -> std::io::Result<()> {
    if show && !diagnostics.is_empty() {
        ktap.diag(&format!("{name}:"))?;
        for d in diagnostics {
            ktap.diag(&format!("  {d}"))?;
        }
    }
    if cases.is_empty() {
        ktap.result(name, outcome)
    } else {
        ktap.subtest(name, outcome, cases)
    }
}

/// Joins the reports of the shards of one run: every shard once, all of
/// one plan and kernel, every planned test in exactly one of them.
/// Returns the report of the whole run, its tests in plan order.
pub fn merge(shards: Vec<Report>) -> anyhow::Result<(Report, String)> {
    let Some(first) = shards.first() else {
        bail!("no shard reports");
    };
    let Some(info) = first.shard.clone() else {
        bail!("the first report is not a shard's (it has no \"shard\")");
    };
    let kernel = first.kernel.clone();
    let mut seen = vec![false; info.count];
    for r in &shards {
        let Some(s) = &r.shard else {
            bail!("a report is not a shard's (it has no \"shard\")");
        };
        if s.count != info.count || s.plan != info.plan || s.label != info.label {
            bail!(
                "shard {}/{} is of another run (its shard count, plan or label differs from shard {}/{}'s)",
                s.index,
                s.count,
                info.index,
                info.count
            );
        }
        if r.kernel != kernel {
            bail!(
                "shard {}/{} ran on kernel {}, shard {}/{} on {kernel}",
                s.index,
                s.count,
                r.kernel,
                info.index,
                info.count
            );
        }
        let slot = s.index.checked_sub(1).and_then(|i| seen.get_mut(i));
        match slot {
            Some(seen) if !*seen => *seen = true,
            Some(_) => bail!("shard {}/{} is given twice", s.index, s.count),
            None => bail!("shard {}/{} is out of range", s.index, s.count),
        }
    }
    let missing: Vec<String> = (1..=info.count)
        .filter(|i| !seen[i - 1])
        .map(|i| format!("{i}/{}", info.count))
        .collect();
    if !missing.is_empty() {
        bail!("shards missing: {}", missing.join(", "));
    }
    let pos: HashMap<&str, usize> = info
        .plan
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut slots: Vec<Option<TestRecord>> = (0..info.plan.len()).map(|_| None).collect();
    for r in shards {
        let index = r.shard.as_ref().map_or(0, |s| s.index);
        for t in r.tests {
            let Some(&i) = pos.get(t.name.as_str()) else {
                bail!("shard {index} ran {}, which is not in the plan", t.name);
            };
            if slots[i].is_some() {
                bail!("{} ran in two shards", t.name);
            }
            slots[i] = Some(t);
        }
    }
    let not_run: Vec<&str> = slots
        .iter()
        .zip(&info.plan)
        .filter(|(s, _)| s.is_none())
        .map(|(_, n)| n.as_str())
        .collect();
    if !not_run.is_empty() {
        bail!(
            "{} planned test(s) ran in no shard: {}",
            not_run.len(),
            not_run.join(", ")
        );
    }
    let tests: Vec<TestRecord> = slots.into_iter().flatten().collect();
    let mut totals = crate::ktap::Totals::default();
    for t in &tests {
        let cases: Vec<&str> = t.cases.iter().map(|(_, r)| &**r).collect();
        let results = if cases.is_empty() {
            vec![&*t.result]
        } else {
            cases
        };
        for r in results {
            match r {
                "pass" => totals.pass += 1,
                "skip" => totals.skip += 1,
                _ => totals.fail += 1,
            }
        }
    }
    Ok((Report::new(kernel, totals, tests), info.label))
}

/// Writes the merged report as the KTAP of the whole run: diagnostics of
/// the failed tests, result lines in plan order, the closing line.
pub fn write_ktap(
    out: impl Write,
    report: &Report,
    label: &str,
    shards: usize,
) -> anyhow::Result<crate::ktap::Totals> {
    let mut ktap = Ktap::new(out);
    ktap.start(report.tests.len())?;
    ktap.diag(&format!(
        "rdynptr-merge: {shards} shard(s) of one run on kernel {}, {} test(s)",
        report.kernel,
        report.tests.len()
    ))?;
    for t in &report.tests {
        let o = outcome(&t.result, t.skip_reason.as_deref());
        let cases: Vec<(String, Outcome)> = t
            .cases
            .iter()
            .map(|(n, r)| (n.clone(), outcome(r, None)))
            .collect();
        write_test(
            &mut ktap,
            &t.name,
            &o,
            &t.diagnostics,
            &cases,
            o == Outcome::Fail,
        )?;
    }
    ktap.finish(label)?;
    Ok(ktap.totals())
}

/// How the merged report differs from the report of another run of the
/// same plan (an unsharded one, or make vmtest's beside a bundle's): tests missing on either side, different results, and
/// different totals.  Empty when they agree.
pub fn differences(merged: &Report, whole: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let ours: HashMap<&str, &TestRecord> =
        merged.tests.iter().map(|t| (t.name.as_str(), t)).collect();
    let theirs: HashMap<&str, &TestRecord> =
        whole.tests.iter().map(|t| (t.name.as_str(), t)).collect();
    for t in &whole.tests {
        match ours.get(t.name.as_str()) {
            None => out.push(format!("{}: only in the run compared against", t.name)),
            Some(m) if m.result != t.result => out.push(format!(
                "{}: {} in the merged reports, {} in the run compared against",
                t.name, m.result, t.result
            )),
            Some(_) => {}
        }
    }
    for t in &merged.tests {
        if !theirs.contains_key(t.name.as_str()) {
            out.push(format!("{}: only in the merged reports", t.name));
        }
    }
    let (a, b) = (&merged.totals, &whole.totals);
    if (a.pass, a.fail, a.skip) != (b.pass, b.fail, b.skip) {
        out.push(format!(
            "totals: {} passed, {} failed, {} skipped in the merged reports; {} passed, {} failed, {} skipped in the run compared against",
            a.pass, a.fail, a.skip, b.pass, b.fail, b.skip
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn shard_parses_k_of_n_and_refuses_out_of_range() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn assignment_puts_every_test_in_one_shard_and_balances_cost() {
        let costs: Vec<f64> = (0..100).map(|i| f64::from((i * 37) % 11 + 1)).collect();
        let a = assign(&costs, 3);
        assert_eq!(a.len(), 100);
        let mut load = [0.0; 3];
        for (i, s) in a.iter().enumerate() {
            load[*s] += costs[i];
        }
        let max = load.iter().copied().fold(0.0, f64::max);
        let min = load.iter().copied().fold(f64::MAX, f64::min);
        // Greedy LPT: the shards differ by at most the largest cost.
        assert!(max - min <= 11.0, "{load:?}");
        assert_eq!(a, assign(&costs, 3), "deterministic");
    }

    #[test]
    fn one_long_test_gets_a_shard_of_its_own() {
        let mut costs = vec![1.0; 10];
        costs[7] = 50.0;
        let a = assign(&costs, 2);
        assert!(a.iter().enumerate().all(|(i, s)| (i == 7) == (*s == a[7])));
    }

    #[test]
    fn unknown_tests_cost_their_weight_times_the_median_known_duration() {
        let mut c = Costs::default();
        c.known.insert("a".into(), 10.0);
        c.known.insert("b".into(), 30.0);
        c.known.insert("c".into(), 20.0);
        assert_eq!(
            c.of(&[("a", 1), ("x", 1), ("sweep", 50)]),
            vec![10.0, 20.0, 1000.0]
        );
        assert_eq!(Costs::default().of(&[("x", 3)]), vec![3.0]);
    }

    fn shard_report(
        index: usize,
        count: usize,
        plan: &[&str],
        tests: &[(&str, Outcome)],
    ) -> Report {
        let mut r = Report::new(
            "7.3.4".into(),
            Default::default(),
            tests
                .iter()
                .map(|(n, o)| TestRecord::new(n, o, Duration::ZERO))
                .collect(),
        );
        r.shard = Some(ShardInfo {
            index,
            count,
            plan: plan.iter().map(|s| s.to_string()).collect(),
            label: "vmtest".into(),
        });
        r
    }

    #[test]
    fn merge_orders_by_plan_and_sums_totals() {
        let plan = ["a", "b", "c"];
        let (m, label) = merge(vec![
            shard_report(2, 2, &plan, &[("b", Outcome::Fail)]),
            shard_report(
                1,
                2,
                &plan,
                &[("a", Outcome::Pass), ("c", Outcome::Skip("no".into()))],
            ),
        ])
        .unwrap();
        assert_eq!(label, "vmtest");
        let names: Vec<&str> = m.tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, plan);
        assert_eq!((m.totals.pass, m.totals.fail, m.totals.skip), (1, 1, 1));
        let mut out = Vec::new();
        let t = write_ktap(&mut out, &m, &label, 2).unwrap();
        assert_eq!((t.pass, t.fail, t.skip), (1, 1, 1));
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("ok 3 c # SKIP no\n"), "{text}");
        assert!(
            text.ends_with("vmtest: 1 passed, 1 failed, 1 skipped\n"),
            "{text}"
        );
    }

    #[test]
    fn merge_refuses_a_missing_shard_a_test_run_twice_or_not_at_all() {
        let plan = ["a", "b"];
        let one = || shard_report(1, 2, &plan, &[("a", Outcome::Pass)]);
        assert!(merge(vec![one()])
            .unwrap_err()
            .to_string()
            .contains("missing: 2/2"));
        assert!(merge(vec![one(), one()])
            .unwrap_err()
            .to_string()
            .contains("twice"));
        let twice = shard_report(2, 2, &plan, &[("a", Outcome::Pass)]);
        assert!(merge(vec![one(), twice])
            .unwrap_err()
            .to_string()
            .contains("two shards"));
        let none = shard_report(2, 2, &plan, &[]);
        assert!(merge(vec![one(), none])
            .unwrap_err()
            .to_string()
            .contains("ran in no shard: b"));
        let other = shard_report(2, 2, &["a", "c"], &[("c", Outcome::Pass)]);
        assert!(merge(vec![one(), other])
            .unwrap_err()
            .to_string()
            .contains("another run"));
    }

    #[test]
    fn differences_name_results_and_totals_that_differ() {
        let plan = ["a", "b"];
        let (m, _) = merge(vec![shard_report(
            1,
            1,
            &plan,
            &[("a", Outcome::Pass), ("b", Outcome::Pass)],
        )])
        .unwrap();
        let mut whole = shard_report(1, 1, &plan, &[("a", Outcome::Pass), ("b", Outcome::Fail)]);
        whole.totals = crate::report::JsonTotals {
            pass: 1,
            fail: 1,
            skip: 0,
        };
        let d = differences(&m, &whole);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].starts_with("b: pass in the merged reports, fail"));
        whole.tests[1].result = "pass".into();
        whole.totals = crate::report::JsonTotals {
            pass: 2,
            fail: 0,
            skip: 0,
        };
        assert!(differences(&m, &whole).is_empty());
    }
}
