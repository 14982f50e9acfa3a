// SPDX-License-Identifier: GPL-2.0
//! Instructions per kfunc call, counted by the QEMU plugin
//! tools/bench/plugin/insn-count.c (the guest runs under TCG with it).
//!
//! The plugin is driven with a magic CPUID: "watch" these entry addresses,
//! "start" counting, "stop" and write the counts to the results file,
//! which the guest reads over the shared run directory.  Unlike time
//! under TCG, the counts are exact and the same from run to run.

use crate::plan::{Relation, Row, Target};
use anyhow::{anyhow, bail, Context as _};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// EAX of the plugin's CPUID commands ("RDPT").
const MAGIC: u32 = 0x5244_5054;
const CMD_WATCH: u32 = 1;
const CMD_START: u32 = 2;
const CMD_STOP: u32 = 3;

/// Issues plugin command `cmd` with `ptr` in RDX and `n` in RSI.  Without
/// the plugin this is a plain CPUID of an unknown leaf: harmless.
fn command(cmd: u32, ptr: u64, n: u64) {
    // SAFETY: CPUID only writes EAX, EBX, ECX and EDX, all declared
    // clobbered (RBX, which LLVM reserves, is saved and restored by hand
    // in a register the compiler chose that is none of the operands).  It
    // touches no memory; the plugin reads `n` u64s at `ptr` during the
    // instruction, which the caller keeps alive across the call.
    unsafe {
        core::arch::asm!(
            "mov {save}, rbx",
            "cpuid",
            "mov rbx, {save}",
            save = out(reg) _,
            inout("eax") MAGIC => _,
            inout("ecx") cmd => _,
            inout("rdx") ptr => _,
            in("rsi") n,
            options(nostack, preserves_flags),
        );
    }
}

/// The counts of one function over one counting window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub calls: u64,
    pub min: u64,
    /// The most frequent count: that of a call no interrupt hit.
    pub mode: u64,
    pub max: u64,
}

/// Parses the plugin's results file: "<address> calls N min I mode I max I".
pub fn parse_results(text: &str) -> anyhow::Result<BTreeMap<u64, Counts>> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let bad = || anyhow!("bad line in the plugin's results: {line:?}");
        let [addr, "calls", calls, "min", min, "mode", mode, "max", max] = f[..] else {
            return Err(bad());
        };
        let num = |s: &str| s.parse::<u64>().map_err(|_| bad());
        let addr = u64::from_str_radix(addr.trim_start_matches("0x"), 16).map_err(|_| bad())?;
        out.insert(
            addr,
            Counts {
                calls: num(calls)?,
                min: num(min)?,
                mode: num(mode)?,
                max: num(max)?,
            },
        );
    }
    Ok(out)
}

/// Addresses of `names` in /proc/kallsyms (text symbols only).
pub fn kallsyms(names: &[&str]) -> anyhow::Result<BTreeMap<String, u64>> {
    let text = std::fs::read_to_string("/proc/kallsyms").context("cannot read /proc/kallsyms")?;
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(addr), Some(kind), Some(sym)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if matches!(kind, "t" | "T") && names.contains(&sym) {
            let a = u64::from_str_radix(addr, 16).unwrap_or(0);
            if a == 0 {
                bail!("/proc/kallsyms hides addresses (kptr_restrict): run as root");
            }
            out.entry(sym.to_string()).or_insert(a);
        }
    }
    if let Some(n) = names.iter().find(|n| !out.contains_key(**n)) {
        bail!("{n} is not in /proc/kallsyms");
    }
    Ok(out)
}

/// The plugin, as the guest sees it.
pub struct Counter {
    results: PathBuf,
    addrs: BTreeMap<String, u64>,
}

impl Counter {
    /// Watches the functions `names`; `results` is the plugin's out= file.
    /// Must run before any of them was first called since boot.
    pub fn watch(results: &Path, names: &[&str]) -> anyhow::Result<Counter> {
        let addrs = kallsyms(names)?;
        let list: Vec<u64> = addrs.values().copied().collect();
        command(CMD_WATCH, list.as_ptr() as u64, list.len() as u64);
        Ok(Counter {
            results: results.to_owned(),
            addrs,
        })
    }

    /// Also watches the code at `addr` (a BPF program's JIT image, say),
    /// under `name`.  Same rule: before that code first runs.
    pub fn watch_address(&mut self, name: &str, addr: u64) {
        self.addrs.insert(name.to_string(), addr);
        let list: Vec<u64> = self.addrs.values().copied().collect();
        command(CMD_WATCH, list.as_ptr() as u64, list.len() as u64);
    }

    /// Counts what `f` makes the watched functions execute; returns the
    /// counts of function `name`.
    pub fn count<T>(
        &self,
        name: &str,
        f: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<(T, Counts)> {
        let (v, mut counts) = self.count_all(&[name], f)?;
        Ok((v, counts.remove(0)))
    }

    /// Counts what `f` makes the watched functions execute; returns the
    /// counts of each function of `names`, in that order.  (A watched
    /// function called inside another one's counted call counts as part
    /// of that call, not on its own: see the plugin.)
    pub fn count_all<T>(
        &self,
        names: &[&str],
        f: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<(T, Vec<Counts>)> {
        let addrs = names
            .iter()
            .map(|name| {
                self.addrs
                    .get(*name)
                    .copied()
                    .ok_or_else(|| anyhow!("{name} is not watched"))
            })
            .collect::<anyhow::Result<Vec<u64>>>()?;
        let _ = std::fs::remove_file(&self.results);
        command(CMD_START, 0, 0);
        let r = f();
        command(CMD_STOP, 0, 0);
        let v = r?;
        let text = std::fs::read_to_string(&self.results).map_err(|e| {
            anyhow!(
                "no results from the insn-count plugin in {} ({e}): is QEMU running with it?",
                self.results.display()
            )
        })?;
        let results = parse_results(&text)?;
        let counts = names
            .iter()
            .zip(addrs)
            .map(|(name, addr)| {
                results
                    .get(&addr)
                    .copied()
                    .ok_or_else(|| anyhow!("the plugin did not count {name} ({addr:#x})"))
            })
            .collect::<anyhow::Result<Vec<Counts>>>()?;
        Ok((v, counts))
    }
}

/// One kfunc's instructions per call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Side {
    pub kfunc: String,
    pub counts: Option<Counts>,
    pub skipped: Option<String>,
}

/// Instructions the entry point adds to a call: its jump to the Rust
/// function.
pub const ENTRY_JUMP: u64 = 1;

/// What the goal of a row is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Against {
    /// The C twin (tools/bench/twin): the same semantics in C.
    Twin,
    /// The kernel's own kfunc, where it is an equivalent.
    Kernel,
}

impl Against {
    pub fn as_str(self) -> &'static str {
        match self {
            Against::Twin => "twin",
            Against::Kernel => "kernel",
        }
    }
}

/// A goal: ours takes at most `limit` instructions, the other's count plus
/// the entry points' jumps (one per call through a C entry point).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Goal {
    pub against: Against,
    /// The kfunc (or program) compared with.
    pub other: String,
    /// Ours and the other's count (modes); None if not measured.
    pub ours: Option<u64>,
    pub theirs: Option<u64>,
    /// The instructions allowed on top of `theirs`: the entry points'
    /// jumps, and against the kernel what our semantics add
    /// ([`Row::semantics_extra`](crate::plan::Row::semantics_extra)).
    pub allowance: u64,
    /// `theirs + allowance`.
    pub limit: Option<u64>,
    /// `ours <= limit`; None when a count is missing.
    pub met: Option<bool>,
}

impl Goal {
    pub fn new(
        against: Against,
        other: &str,
        ours: Option<u64>,
        theirs: Option<u64>,
        allowance: u64,
    ) -> Goal {
        let limit = theirs.map(|t| t + allowance);
        Goal {
            against,
            other: other.to_string(),
            ours,
            theirs,
            allowance,
            limit,
            met: ours.zip(limit).map(|(o, l)| o <= l),
        }
    }

    /// Whether the goal was checked and met (a goal without a count is
    /// missed).
    pub fn is_met(&self) -> bool {
        self.met == Some(true)
    }

    /// "twin+1: met (12 <= 12)", "kernel+1: MISSED (12 > 10)".
    pub fn text(&self) -> String {
        let what = format!("{}+{}", self.against.as_str(), self.allowance);
        match (self.met, self.ours, self.limit) {
            (Some(true), Some(o), Some(l)) => format!("{what}: met ({o} <= {l})"),
            (Some(false), Some(o), Some(l)) => format!("{what}: MISSED ({o} > {l})"),
            _ => format!("{what}: not checked (no count)"),
        }
    }
}

/// One row: ours against its C twin and the kernel's kfunc.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowInsns {
    pub kfunc: String,
    pub ours: Side,
    pub twin: Side,
    pub kernel: Side,
    pub relation: String,
    /// ours - kernel's, per call (modes).
    pub difference: Option<i64>,
    /// ours - twin's, per call (modes).
    pub twin_difference: Option<i64>,
    /// At most the twin's count plus the entry point's jump; and, where the
    /// kernel's kfunc is an equivalent, at most its count plus that jump.
    pub goals: Vec<Goal>,
}

impl RowInsns {
    /// Whether the row passes: every goal met, or ours was not measured
    /// because the module does not have the kfunc (the clone on a kernel
    /// without KF_DYNPTR_CLONE; the twin has it exactly where ours has).
    pub fn ok(&self) -> bool {
        self.ours.skipped.is_some() || self.goals.iter().all(Goal::is_met)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InsnReport {
    pub calls_per_run: u32,
    pub rows: Vec<RowInsns>,
    /// The iterator's walk against its C twin's and the kernel's
    /// `bpf_iter_num`.
    pub iterator: Option<crate::iterbench::IterInsns>,
}

fn mode(s: &Side) -> Option<u64> {
    s.counts.map(|c| c.mode)
}

fn diff(a: &Side, b: &Side) -> Option<i64> {
    Some(mode(a)? as i64 - mode(b)? as i64)
}

impl InsnReport {
    /// `measured`: per kfunc, its counts or why it has none (the reason
    /// goes into the report as `skipped`).
    pub fn new(
        rows: &[Row],
        calls: u32,
        measured: &BTreeMap<&str, Result<Counts, String>>,
    ) -> Self {
        let side = |t: Target| {
            let (counts, skipped) = match measured.get(t.kfunc) {
                Some(Ok(c)) => (Some(*c), None),
                Some(Err(e)) => (None, Some(e.clone())),
                None => (None, Some("not measured".to_string())),
            };
            Side {
                kfunc: t.kfunc.to_string(),
                counts,
                skipped,
            }
        };
        let rows = rows
            .iter()
            .map(|r| {
                let (ours, twin, kernel) = (side(r.ours), side(r.twin), side(r.kernel));
                let mut goals = vec![Goal::new(
                    Against::Twin,
                    &twin.kfunc,
                    mode(&ours),
                    mode(&twin),
                    ENTRY_JUMP,
                )];
                if r.relation == Relation::Equivalent {
                    goals.push(Goal::new(
                        Against::Kernel,
                        &kernel.kfunc,
                        mode(&ours),
                        mode(&kernel),
                        ENTRY_JUMP + r.semantics_extra,
                    ));
                }
                RowInsns {
                    kfunc: r.ours.kfunc.to_string(),
                    difference: diff(&ours, &kernel),
                    twin_difference: diff(&ours, &twin),
                    ours,
                    twin,
                    kernel,
                    relation: r.relation.as_str().to_string(),
                    goals,
                }
            })
            .collect();
        InsnReport {
            calls_per_run: calls,
            rows,
            iterator: None,
        }
    }

    /// Whether every row (and the iterator, if measured) meets its goals.
    pub fn ok(&self) -> bool {
        self.rows.iter().all(RowInsns::ok) && self.iterator.as_ref().is_none_or(|i| i.ok())
    }

    /// The rows and goals that failed, one line each.
    pub fn missed(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .rows
            .iter()
            .filter(|r| !r.ok())
            .map(|r| {
                let goals: Vec<String> = r.goals.iter().map(Goal::text).collect();
                format!("{}: {}", r.kfunc, goals.join(", "))
            })
            .collect();
        if let Some(i) = self.iterator.as_ref().filter(|i| !i.ok()) {
            out.extend(i.missed());
        }
        out
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "rdynptr-bench: guest instructions per kfunc call (QEMU insn-count plugin: \
             exact, from the kfunc's first instruction to its return, callees included; \
             the most frequent count of {} calls)",
            self.calls_per_run
        );
        let _ = writeln!(
            out,
            "{:<24}{:>6}   {:<22}{:>6}   {:<24}{:>6}   goals (+1: the C entry point's jump)",
            "kfunc", "insns", "C twin", "insns", "kernel's kfunc", "insns"
        );
        for r in &self.rows {
            let n = |s: &Side| mode(s).map_or("-".to_string(), |m| m.to_string());
            let kname = if r.relation == Relation::Analogue.as_str() {
                format!("{} (*)", r.kernel.kfunc)
            } else {
                r.kernel.kfunc.clone()
            };
            let verdict = match &r.ours.skipped {
                Some(why) => format!("n/a (skipped: {why})"),
                None => {
                    let goals: Vec<String> = r.goals.iter().map(Goal::text).collect();
                    goals.join("; ")
                }
            };
            let _ = writeln!(
                out,
                "{:<24}{:>6}   {:<22}{:>6}   {:<24}{:>6}   {verdict}",
                r.kfunc,
                n(&r.ours),
                r.twin.kfunc,
                n(&r.twin),
                kname,
                n(&r.kernel)
            );
        }
        if let Some(i) = &self.iterator {
            out.push_str(&crate::iterbench::insns_table(i));
        }
        if self
            .rows
            .iter()
            .any(|r| r.relation == Relation::Analogue.as_str())
        {
            let _ = writeln!(
                out,
                "(*) not an equivalent (no kernel offset getter): shown for scale, no goal"
            );
        }
        let missed = self.missed();
        if missed.is_empty() {
            let _ = writeln!(out, "goals: all met");
        } else {
            let _ = writeln!(out, "goals: {} MISSED:", missed.len());
            for m in missed {
                let _ = writeln!(out, "  {m}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ROWS;

    #[test]
    fn results_file_is_parsed() {
        let r = parse_results(
            "0xffffffffa0001000 calls 1024 min 12 mode 12 max 310\n\
             0xffffffff81234560 calls 0 min 0 mode 0 max 0\n",
        )
        .unwrap();
        assert_eq!(
            r[&0xffff_ffff_a000_1000],
            Counts {
                calls: 1024,
                min: 12,
                mode: 12,
                max: 310
            }
        );
        assert_eq!(r[&0xffff_ffff_8123_4560].calls, 0);
        assert!(parse_results("0x10 calls 1 min 2 mode 3").is_err());
        assert!(parse_results("0x10 calls x min 2 mode 3 max 4").is_err());
    }

    fn counts(mode: u64) -> Result<Counts, String> {
        Ok(Counts {
            calls: 8,
            min: mode,
            mode,
            max: mode,
        })
    }

    /// Every kfunc of the rows at `n`, but those of `set`.
    fn measured(
        n: u64,
        set: &[(&'static str, Result<Counts, String>)],
    ) -> BTreeMap<&'static str, Result<Counts, String>> {
        let mut m = BTreeMap::new();
        for r in ROWS {
            for t in [r.ours, r.twin, r.kernel] {
                m.insert(t.kfunc, counts(n));
            }
        }
        for (k, c) in set {
            m.insert(*k, c.clone());
        }
        m
    }

    fn row<'a>(rep: &'a InsnReport, k: &str) -> &'a RowInsns {
        rep.rows.iter().find(|r| r.kfunc == k).unwrap()
    }

    #[test]
    fn goals_allow_exactly_the_entry_jump() {
        let m = measured(
            20,
            &[
                ("bpf_rdynptr_trim", counts(21)),
                ("bpf_twin_trim", counts(20)),
                ("bpf_rdynptr_advance", counts(22)),
                ("bpf_twin_advance", counts(21)),
                ("bpf_rdynptr_is_null", counts(22)),
                ("bpf_twin_is_null", counts(20)),
            ],
        );
        let rep = InsnReport::new(ROWS, 8, &m);
        let trim = row(&rep, "bpf_rdynptr_trim");
        assert_eq!(trim.difference, Some(1));
        assert_eq!(trim.twin_difference, Some(1));
        assert!(trim.ok());
        // Within its twin + 1, but 2 above the kernel's equivalent.
        let advance = row(&rep, "bpf_rdynptr_advance");
        assert_eq!(advance.goals[0].met, Some(true));
        assert_eq!(advance.goals[1].against, Against::Kernel);
        assert_eq!(advance.goals[1].met, Some(false));
        assert!(!advance.ok());
        assert!(!row(&rep, "bpf_rdynptr_is_null").ok());
        assert!(!rep.ok());
        let t = rep.table();
        assert!(
            t.contains("twin+1: met (21 <= 21); kernel+1: met (21 <= 21)"),
            "{t}"
        );
        assert!(t.contains("kernel+1: MISSED (22 > 21)"), "{t}");
        assert!(t.contains("goals: 2 MISSED:"), "{t}");
        assert!(
            t.contains("  bpf_rdynptr_is_null: twin+1: MISSED (22 > 21)"),
            "{t}"
        );
    }

    #[test]
    fn analogues_have_only_the_twin_goal() {
        let m = measured(11, &[("bpf_rdynptr_get_offset", counts(12))]);
        let rep = InsnReport::new(ROWS, 8, &m);
        let off = row(&rep, "bpf_rdynptr_get_offset");
        assert_eq!(off.goals.len(), 1);
        assert_eq!(off.goals[0].against, Against::Twin);
        assert!(off.ok());
        assert!(rep.ok());
        assert!(rep.table().contains("goals: all met"));
        for r in &rep.rows {
            let kernel_goal = r.goals.iter().any(|g| g.against == Against::Kernel);
            assert_eq!(kernel_goal, r.relation == "equivalent", "{}", r.kfunc);
        }
    }

    #[test]
    fn a_missing_twin_fails_a_missing_module_kfunc_skips() {
        let why = "not in the kernel".to_string();
        let m = measured(
            10,
            &[
                ("bpf_twin_get_size", Err(why.clone())),
                ("bpf_rdynptr_clone", Err(why.clone())),
                ("bpf_twin_clone", Err(why.clone())),
            ],
        );
        let rep = InsnReport::new(ROWS, 8, &m);
        let size = row(&rep, "bpf_rdynptr_get_size");
        assert_eq!(size.goals[0].met, None);
        assert!(!size.ok(), "a goal that cannot be checked is not met");
        let clone = row(&rep, "bpf_rdynptr_clone");
        assert!(clone.ok());
        let t = rep.table();
        assert!(t.contains("n/a (skipped: not in the kernel)"), "{t}");
        assert!(t.contains("twin+1: not checked (no count)"), "{t}");
        assert!(!rep.ok());
    }

    #[test]
    fn json_has_the_goals() {
        let m = measured(9, &[("bpf_rdynptr_clone", counts(11))]);
        let rep = InsnReport::new(ROWS, 8, &m);
        let v: serde_json::Value = serde_json::to_value(&rep).unwrap();
        let clone = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kfunc"] == "bpf_rdynptr_clone")
            .unwrap();
        assert_eq!(clone["twin"]["kfunc"], "bpf_twin_clone");
        assert_eq!(clone["goals"][0]["against"], "twin");
        assert_eq!(clone["goals"][0]["limit"], 10);
        assert_eq!(clone["goals"][0]["met"], false);
        assert_eq!(clone["goals"][1]["against"], "kernel");
        assert_eq!(clone["goals"][1]["other"], "bpf_dynptr_clone");
        // and back (rdynptr-bench --insns reads it)
        let back: InsnReport = serde_json::from_value(v).unwrap();
        assert!(!back.ok());
    }
}
