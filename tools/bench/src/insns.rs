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
        let addr = *self
            .addrs
            .get(name)
            .ok_or_else(|| anyhow!("{name} is not watched"))?;
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
        let counts = parse_results(&text)?
            .get(&addr)
            .copied()
            .ok_or_else(|| anyhow!("the plugin did not count {name} ({addr:#x})"))?;
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

/// One row: ours against the kernel's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowInsns {
    pub kfunc: String,
    pub ours: Side,
    pub kernel: Side,
    pub relation: String,
    /// ours - kernel's, per call (modes).
    pub difference: Option<i64>,
    /// The goal: no more than the kernel's plus the entry point's jump.
    pub within_goal: Option<bool>,
}

/// Instructions the entry point adds: its jump to the Rust function.
pub const ENTRY_JUMP: i64 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InsnReport {
    pub calls_per_run: u32,
    pub rows: Vec<RowInsns>,
    /// The iterator's `next` against the kernel's `bpf_iter_num_next`.
    pub iterator: Option<crate::iterbench::IterInsns>,
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
                let (ours, kernel) = (side(r.ours), side(r.kernel));
                let difference = match (ours.counts, kernel.counts) {
                    (Some(o), Some(k)) => Some(o.mode as i64 - k.mode as i64),
                    _ => None,
                };
                RowInsns {
                    kfunc: r.ours.kfunc.to_string(),
                    ours,
                    kernel,
                    relation: r.relation.as_str().to_string(),
                    difference,
                    within_goal: difference.map(|d| d <= ENTRY_JUMP),
                }
            })
            .collect();
        InsnReport {
            calls_per_run: calls,
            rows,
            iterator: None,
        }
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
            "{:<24}{:>7}   {:<26}{:>7}   ours - kernel's",
            "kfunc", "insns", "kernel's kfunc", "insns"
        );
        for r in &self.rows {
            let n = |s: &Side| s.counts.map_or("-".to_string(), |c| c.mode.to_string());
            let kname = if r.relation == Relation::Analogue.as_str() {
                format!("{} (*)", r.kernel.kfunc)
            } else {
                r.kernel.kfunc.clone()
            };
            let verdict = match (r.difference, &r.ours.skipped, &r.kernel.skipped) {
                (Some(d), _, _) => format!(
                    "{d:+} ({})",
                    if d <= ENTRY_JUMP {
                        "goal met: at most the entry point's jump more"
                    } else {
                        "GOAL MISSED: more than the entry point's jump"
                    }
                ),
                (None, Some(why), _) | (None, None, Some(why)) => format!("n/a (skipped: {why})"),
                (None, None, None) => "n/a".to_string(),
            };
            let _ = writeln!(
                out,
                "{:<24}{:>7}   {:<26}{:>7}   {verdict}",
                r.kfunc,
                n(&r.ours),
                kname,
                n(&r.kernel)
            );
        }
        if let Some(i) = &self.iterator {
            out.push_str(&crate::iterbench::insns_table(i));
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

    #[test]
    fn goal_allows_exactly_the_entry_jump() {
        let mut m = BTreeMap::new();
        m.insert("bpf_rdynptr_trim", counts(21));
        m.insert("bpf_rdynptr_advance", counts(22));
        m.insert("bpf_dynptr_adjust", counts(20));
        m.insert("bpf_rdynptr_clone", Err("not in the kernel".to_string()));
        m.insert("bpf_dynptr_clone", counts(30));
        let rep = InsnReport::new(ROWS, 8, &m);
        let row = |k: &str| rep.rows.iter().find(|r| r.kfunc == k).unwrap();
        assert_eq!(row("bpf_rdynptr_trim").difference, Some(1));
        assert_eq!(row("bpf_rdynptr_trim").within_goal, Some(true));
        assert_eq!(row("bpf_rdynptr_advance").within_goal, Some(false));
        assert_eq!(row("bpf_rdynptr_clone").within_goal, None);
        let t = rep.table();
        assert!(t.contains("+1 (goal met"), "{t}");
        assert!(t.contains("+2 (GOAL MISSED"), "{t}");
        assert!(t.contains("n/a (skipped: not in the kernel)"), "{t}");
    }
}
