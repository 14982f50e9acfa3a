// SPDX-License-Identifier: GPL-2.0
//! The results: the table on stdout and the same as JSON.

use crate::insns::{Goal, InsnReport};
use crate::plan::{Relation, Row};
use crate::stats::{Ratio, Summary};
use crate::system::SystemInfo;
use serde::Serialize;
use std::fmt::Write;

/// How the numbers are made; printed under the table and in the JSON.
pub const METHOD: &str = "ns per call = (ns per run of the loop calling the kfunc - ns per run \
    of the same loop without the call) / calls per run, from the min (and the median) over the \
    rounds of each. ratio = ours / kernel's, of the medians (of the mins in parentheses); above \
    1 means the rdynptr kfunc costs more; (twin r): ours / the C twin's, of the medians.";

/// What TCG does to them; printed when the CPU is emulated, and in the JSON.
pub const TCG_NOTE: &str = "Under TCG (QEMU without KVM) the CPU is emulated: absolute times \
    are the emulator's, only the ratios mean something, and even those weigh instructions \
    the way the emulator does (an indirect jump or a jump into another page costs it a hash \
    lookup); rows with the same machine code on both sides vary by about 15% from run to \
    run. See Documentation/bench.rst.";

#[derive(Debug, Clone, Serialize)]
pub struct Params {
    pub calls_per_run: u32,
    pub repeat: u32,
    pub rounds: u32,
    /// Fresh copies of the programs every this many rounds.
    pub reload: u32,
    pub dynptr: &'static str,
}

/// One measured (or skipped) kfunc.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub kfunc: &'static str,
    pub program: &'static str,
    pub baseline: &'static str,
    /// ns per call, None if skipped.
    pub ns_per_call: Option<Summary>,
    pub skipped: Option<String>,
}

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct RowResult {
    pub kfunc: &'static str,
    pub calls: &'static str,
    pub ours: Side,
    /// The C twin (tools/bench/twin).
    pub twin: Side,
    pub kernel: Side,
    pub relation: &'static str,
    /// ours / kernel's; None when either side was skipped.
    pub ratio: Option<Ratio>,
    /// ours / twin's; None when either side was skipped.
    pub twin_ratio: Option<Ratio>,
    /// The row's instruction-count goals (from the --insns report), None
    /// without one.  Times are not checked against goals (see tcg_note).
    pub goals: Option<Vec<Goal>>,
}

fn ratio_of(a: &Side, b: &Side) -> Option<Ratio> {
    match (&a.ns_per_call, &b.ns_per_call) {
        (Some(a), Some(b)) => Some(Ratio::of(a, b)),
        _ => None,
    }
}

impl RowResult {
    pub fn new(row: &Row, ours: Side, twin: Side, kernel: Side) -> RowResult {
        RowResult {
            kfunc: row.ours.kfunc,
            calls: row.what,
            ratio: ratio_of(&ours, &kernel),
            twin_ratio: ratio_of(&ours, &twin),
            ours,
            twin,
            kernel,
            relation: row.relation.as_str(),
            goals: None,
        }
    }

    fn analogue(&self) -> bool {
        self.relation == Relation::Analogue.as_str()
    }
}

/// Raw data of one program.
#[derive(Debug, Clone, Serialize)]
pub struct ProgramResult {
    pub program: &'static str,
    /// The kfunc it calls; None for a baseline.
    pub kfunc: Option<&'static str>,
    pub baseline: Option<&'static str>,
    pub jited: bool,
    /// BPF_PROG_TEST_RUN's duration (mean ns per run) of each round.
    pub ns_per_run: Vec<u64>,
    /// Of each round: the baseline's time of the same round subtracted, per
    /// call (for a baseline: its own ns per run / calls, the cost of a call
    /// site without the call).
    pub ns_per_call: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub system: SystemInfo,
    pub params: Params,
    pub all_jited: bool,
    pub method: &'static str,
    pub tcg_note: &'static str,
    pub rows: Vec<RowResult>,
    pub programs: Vec<ProgramResult>,
    /// Instructions per call, from a --count-insns run under the plugin.
    pub insns: Option<InsnReport>,
    /// Whether every instruction-count goal was met (None without
    /// `insns`); rdynptr-bench exits non-zero when not.
    pub goals_met: Option<bool>,
    /// The iterator against the kernel's bpf_iter_num, ns per step.
    pub iterator: Option<crate::iterbench::IterTimes>,
}

fn ns(s: &Option<Summary>) -> (String, String) {
    match s {
        Some(s) => (format!("{:.2}", s.min), format!("{:.2}", s.median)),
        None => ("-".into(), "-".into()),
    }
}

fn ratio_text(r: &RatioState) -> String {
    match r {
        RatioState::Measured(Ratio {
            median: Some(m),
            min: Some(n),
        }) => format!("ratio {m:.2} (min {n:.2})"),
        RatioState::Measured(Ratio {
            median: Some(m),
            min: None,
        }) => format!("ratio {m:.2} (min n/a)"),
        RatioState::Measured(_) => "ratio n/a (kernel's cost lost in the noise)".into(),
        RatioState::Skipped(why) => format!("ratio n/a (skipped: {why})"),
    }
}

enum RatioState {
    Measured(Ratio),
    Skipped(String),
}

impl Report {
    /// The table printed on stdout.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let s = &self.system;
        let p = &self.params;
        let cpu = if s.emulated() {
            "TCG: emulated CPU, absolute times are not real, read the ratios".to_owned()
        } else if s.hypervisor == "none" {
            "bare metal".to_owned()
        } else {
            format!("{} guest", s.hypervisor)
        };
        let _ = writeln!(
            out,
            "rdynptr-bench: ns per kfunc call, empty-loop baseline subtracted"
        );
        let _ = writeln!(out, "kernel   {}", s.kernel_version);
        let _ = writeln!(
            out,
            "JIT      {}, {}",
            s.jit_text(),
            if self.all_jited {
                "every program JIT-compiled"
            } else {
                "NOT every program JIT-compiled (interpreter numbers)"
            }
        );
        let _ = writeln!(
            out,
            "CPU      {} ({}), {}: {cpu}",
            s.cpu_model.as_deref().unwrap_or("unknown model"),
            s.hypervisor,
            s.cpus_text()
        );
        let _ = writeln!(
            out,
            "clock    {}{}",
            s.clocksource,
            if s.coarse_clock() {
                " (ticks once per jiffy: each timing is only good to a few ms)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "params   M={} calls per run, R={} runs per BPF_PROG_TEST_RUN, {} rounds, \
             programs reloaded every {} round(s); {}",
            p.calls_per_run, p.repeat, p.rounds, p.reload, p.dynptr
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<24}{:>8}{:>8}   {:<18}{:>8}{:>8}   {:<22}{:>8}{:>8}   ours/kernel's",
            "kfunc", "min", "median", "C twin", "min", "median", "kernel's kfunc", "min", "median"
        );
        for r in &self.rows {
            let (omin, omed) = ns(&r.ours.ns_per_call);
            let (tmin, tmed) = ns(&r.twin.ns_per_call);
            let (kmin, kmed) = ns(&r.kernel.ns_per_call);
            let kname = if r.analogue() {
                format!("{} (*)", r.kernel.kfunc)
            } else {
                r.kernel.kfunc.to_owned()
            };
            let state = match (&r.ours.skipped, &r.kernel.skipped, r.ratio) {
                (Some(why), _, _) | (None, Some(why), _) => RatioState::Skipped(why.clone()),
                (None, None, Some(ratio)) => RatioState::Measured(ratio),
                (None, None, None) => RatioState::Skipped("no measurement".into()),
            };
            let twin = match r.twin_ratio.and_then(|t| t.median) {
                Some(m) => format!(" (twin {m:.2})"),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "{:<24}{:>8}{:>8}   {:<18}{:>8}{:>8}   {:<22}{:>8}{:>8}   {}{twin}",
                r.kfunc,
                omin,
                omed,
                r.twin.kfunc,
                tmin,
                tmed,
                kname,
                kmin,
                kmed,
                ratio_text(&state)
            );
        }
        if let Some(t) = &self.iterator {
            out.push_str(&crate::iterbench::times_table(t));
        }
        let _ = writeln!(out);
        let bases: Vec<String> = self
            .programs
            .iter()
            .filter(|p| p.kfunc.is_none())
            .filter_map(|p| {
                let s = Summary::of(&p.ns_per_call)?;
                Some(format!("{} {:.2}", p.program, s.median))
            })
            .collect();
        if !bases.is_empty() {
            let _ = writeln!(
                out,
                "baselines (median ns per call site without the call): {}",
                bases.join(", ")
            );
        }
        let _ = writeln!(out, "calls:");
        for r in &self.rows {
            let _ = writeln!(out, "  {:<24}{}", r.kfunc, r.calls);
        }
        if self.rows.iter().any(RowResult::analogue) {
            let _ = writeln!(
                out,
                "(*) not an equivalent: the kernel has no offset getter; bpf_dynptr_size \
                 makes the same checks and reads one field"
            );
        }
        let _ = writeln!(out, "{METHOD}");
        if s.emulated() {
            let _ = writeln!(out, "{TCG_NOTE}");
        }
        match self.goals_met {
            Some(true) => {
                let _ = writeln!(out, "instruction-count goals: all met");
            }
            Some(false) => {
                let _ = writeln!(
                    out,
                    "instruction-count goals: MISSED (see the instruction table)"
                );
            }
            None => {}
        }
        out
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ROWS;

    fn sys(hv: &str) -> SystemInfo {
        SystemInfo {
            kernel_release: "7.3.4".into(),
            kernel_version: "Linux version 7.3.4 (test)".into(),
            bpf_jit_enable: Some("1".into()),
            hypervisor: hv.into(),
            cpu_model: Some("QEMU TCG CPU".into()),
            online_cpus: "0-1".into(),
            clocksource: "tsc".into(),
        }
    }

    fn side(t: crate::plan::Target, s: Option<(f64, f64)>, skipped: Option<&str>) -> Side {
        Side {
            kfunc: t.kfunc,
            program: t.prog,
            baseline: t.baseline,
            ns_per_call: s.map(|(min, median)| Summary { min, median }),
            skipped: skipped.map(Into::into),
        }
    }

    fn report(rows: Vec<RowResult>, hv: &str) -> Report {
        Report {
            tool: "rdynptr-bench",
            system: sys(hv),
            params: Params {
                calls_per_run: 4096,
                repeat: 100,
                rounds: 7,
                reload: 1,
                dynptr: "local dynptr, 64 bytes",
            },
            all_jited: true,
            method: METHOD,
            tcg_note: TCG_NOTE,
            rows,
            programs: vec![ProgramResult {
                program: "baseline_q64",
                kfunc: None,
                baseline: None,
                jited: true,
                ns_per_run: vec![4096, 8192],
                ns_per_call: vec![1.0, 2.0],
            }],
            insns: None,
            goals_met: None,
            iterator: None,
        }
    }

    fn sample() -> Vec<RowResult> {
        let trim = &ROWS[0];
        let off = &ROWS[5];
        let clone = &ROWS[6];
        vec![
            RowResult::new(
                trim,
                side(trim.ours, Some((3.0, 4.5)), None),
                side(trim.twin, Some((3.0, 4.0)), None),
                side(trim.kernel, Some((2.0, 3.0)), None),
            ),
            RowResult::new(
                off,
                side(off.ours, Some((1.0, 1.1)), None),
                side(off.twin, Some((1.0, 1.1)), None),
                side(off.kernel, Some((-0.1, 0.0)), None),
            ),
            RowResult::new(
                clone,
                side(
                    clone.ours,
                    None,
                    Some("bpf_rdynptr_clone is not in the kernel"),
                ),
                side(
                    clone.twin,
                    None,
                    Some("bpf_twin_clone is not in the kernel"),
                ),
                side(clone.kernel, Some((2.0, 2.0)), None),
            ),
        ]
    }

    #[test]
    fn ratio_comes_from_both_sides() {
        let rows = sample();
        let r = rows[0].ratio.unwrap();
        assert!((r.min.unwrap() - 1.5).abs() < 1e-12);
        assert!((r.median.unwrap() - 1.5).abs() < 1e-12);
        assert_eq!(rows[1].ratio.unwrap().median, None);
        assert!(rows[2].ratio.is_none());
    }

    #[test]
    fn table_has_a_ratio_line_per_kfunc() {
        let t = report(sample(), "TCG").table();
        let lines: Vec<&str> = t.lines().collect();
        let trim = lines
            .iter()
            .find(|l| l.starts_with("bpf_rdynptr_trim "))
            .unwrap();
        assert!(trim.contains("bpf_dynptr_adjust"), "{trim}");
        assert!(trim.contains("3.00") && trim.contains("4.50"), "{trim}");
        assert!(trim.contains("ratio 1.50 (min 1.50) (twin 1.12)"), "{trim}");
        assert!(trim.contains("bpf_twin_trim"), "{trim}");
        let off = lines
            .iter()
            .find(|l| l.starts_with("bpf_rdynptr_get_offset "))
            .unwrap();
        assert!(off.contains("bpf_dynptr_size (*)"), "{off}");
        assert!(off.contains("ratio n/a"), "{off}");
        let clone = lines
            .iter()
            .find(|l| l.starts_with("bpf_rdynptr_clone "))
            .unwrap();
        assert!(
            clone.contains("ratio n/a (skipped: bpf_rdynptr_clone is not in the kernel)"),
            "{clone}"
        );
        // No number for a skipped side.
        assert!(
            clone.contains("bpf_twin_clone           -       -"),
            "{clone}"
        );
        for row in sample() {
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with(row.kfunc) && l.contains("ratio")),
                "{}",
                row.kfunc
            );
        }
    }

    #[test]
    fn header_names_parameters_kernel_jit_and_emulation() {
        let t = report(sample(), "TCG").table();
        assert!(t.contains("M=4096 calls per run"), "{t}");
        assert!(t.contains("R=100 runs"), "{t}");
        assert!(t.contains("7 rounds"), "{t}");
        assert!(t.contains("Linux version 7.3.4"), "{t}");
        assert!(t.contains("JIT      on (bpf_jit_enable=1)"), "{t}");
        assert!(t.contains("TCG: emulated CPU"), "{t}");
        assert!(t.contains("2 online (0-1)"), "{t}");
        assert!(t.contains("baseline_q64 1.50"), "{t}");
        assert!(t.contains("(*) not an equivalent"), "{t}");
        let k = report(sample(), "KVM").table();
        assert!(t.contains("See Documentation/bench.rst"), "{t}");
        assert!(k.contains("KVM guest") && !k.contains("emulated"), "{k}");
    }

    #[test]
    fn json_has_the_same_numbers() {
        let rep = report(sample(), "KVM");
        let v: serde_json::Value = serde_json::from_str(&rep.json()).unwrap();
        let row = &v["rows"][0];
        assert_eq!(row["kfunc"], "bpf_rdynptr_trim");
        assert_eq!(row["kernel"]["kfunc"], "bpf_dynptr_adjust");
        assert_eq!(row["ours"]["ns_per_call"]["median"], 4.5);
        assert_eq!(row["ratio"]["median"], 1.5);
        assert_eq!(row["twin"]["kfunc"], "bpf_twin_trim");
        assert_eq!(row["twin_ratio"]["median"], 4.5 / 4.0);
        assert!(row["goals"].is_null());
        assert!(v["goals_met"].is_null());
        assert_eq!(v["rows"][1]["relation"], "analogue");
        assert!(v["rows"][1]["ratio"]["median"].is_null());
        assert!(v["rows"][2]["ours"]["ns_per_call"].is_null());
        assert!(v["rows"][2]["ratio"].is_null());
        assert_eq!(v["params"]["calls_per_run"], 4096);
        assert_eq!(v["system"]["hypervisor"], "KVM");
        assert_eq!(v["programs"][0]["ns_per_run"][1], 8192);
    }
}
