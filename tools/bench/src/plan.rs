// SPDX-License-Identifier: GPL-2.0
//! What is measured: one row per rdynptr kfunc, each with the program that
//! calls it, the baseline program of the same call-site shape, its C twin
//! (the same semantics in C, module rdynptr_twin of tools/bench/twin) and
//! the kernel kfunc it is compared with.  The programs are in
//! tools/bench/progs/bench.bpf.c.

use anyhow::anyhow;

/// The program run once before measuring, which checks every kfunc's result.
pub const CHECK_PROG: &str = "bench_check";

/// The variable in `.rodata.bench` that tells the programs how many calls
/// to make per run (`const volatile __u32 bench_calls`).
pub const CALLS_SECTION: &str = ".rodata.bench";

/// Kfuncs every bench program calls once before its loop, to make its
/// dynptr (BENCH_ASM in bench.bpf.c): a count of calls includes them.
pub const SETUP_KFUNCS: &[&str] = &["bpf_dynptr_from_mem", "bpf_dynptr_adjust"];

/// The programs make their calls in loop iterations of this many sites
/// (`1 << UNROLL_SHIFT` in bench.bpf.c): `--calls` must be a multiple.
pub const CALLS_PER_ITERATION: u32 = 8;

/// How a kernel kfunc relates to the rdynptr kfunc of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The kernel kfunc does the same thing (with the arguments used).
    Equivalent,
    /// The kernel has no such kfunc; this one does the same kind of work
    /// (same checks, one field read) and is shown for scale.
    Analogue,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Equivalent => "equivalent",
            Relation::Analogue => "analogue",
        }
    }
}

/// The bench-only module of the C twins (tools/bench/twin).
pub const TWIN_MODULE: &str = "rdynptr_twin";

/// Whether `kfunc` is one of the C twins of module [`TWIN_MODULE`].
pub fn is_twin_kfunc(kfunc: &str) -> bool {
    kfunc.starts_with("bpf_twin_") || kfunc.starts_with("bpf_iter_twin_")
}

/// A measured kfunc: its name and the program that calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub kfunc: &'static str,
    pub prog: &'static str,
    /// The baseline program with the same call sites minus the call.
    pub baseline: &'static str,
}

/// One line of the table.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub ours: Target,
    /// The C twin: the same semantics written in C.
    pub twin: Target,
    pub kernel: Target,
    pub relation: Relation,
    /// Instructions that our semantics need on top of the kernel kfunc's
    /// on the measured path, whatever the language: the goal against the
    /// kernel allows them (besides the entry point's jump).  Only the
    /// clone has any: its offset argument is tested (`test`, branch),
    /// which the C twin shows, kernel + 2 in C (Documentation/bench.rst).
    pub semantics_extra: u64,
    /// The calls each loop makes, as the table's footnotes show them.
    pub what: &'static str,
}

const fn target(kfunc: &'static str, prog: &'static str, baseline: &'static str) -> Target {
    Target {
        kfunc,
        prog,
        baseline,
    }
}

const Q64: &str = "baseline_q64";
const QBOOL: &str = "baseline_qbool";
const ADJUST: &str = "baseline_adjust";
const CLONE: &str = "baseline_clone";

const K_SIZE: Target = target("bpf_dynptr_size", "bench_dynptr_size", Q64);
const K_ADJUST: Target = target("bpf_dynptr_adjust", "bench_dynptr_adjust", ADJUST);

pub const ROWS: &[Row] = &[
    Row {
        ours: target("bpf_rdynptr_trim", "bench_rdynptr_trim", ADJUST),
        twin: target("bpf_twin_trim", "bench_twin_trim", ADJUST),
        kernel: K_ADJUST,
        semantics_extra: 0,
        relation: Relation::Equivalent,
        what: "trim(p, 0) vs adjust(p, 0, size)",
    },
    Row {
        ours: target("bpf_rdynptr_advance", "bench_rdynptr_advance", ADJUST),
        twin: target("bpf_twin_advance", "bench_twin_advance", ADJUST),
        kernel: K_ADJUST,
        semantics_extra: 0,
        relation: Relation::Equivalent,
        what: "advance(p, 0) vs adjust(p, 0, size)",
    },
    Row {
        ours: target("bpf_rdynptr_is_null", "bench_rdynptr_is_null", QBOOL),
        twin: target("bpf_twin_is_null", "bench_twin_is_null", QBOOL),
        kernel: target("bpf_dynptr_is_null", "bench_dynptr_is_null", QBOOL),
        semantics_extra: 0,
        relation: Relation::Equivalent,
        what: "is_null(p)",
    },
    Row {
        ours: target("bpf_rdynptr_is_rdonly", "bench_rdynptr_is_rdonly", QBOOL),
        twin: target("bpf_twin_is_rdonly", "bench_twin_is_rdonly", QBOOL),
        kernel: target("bpf_dynptr_is_rdonly", "bench_dynptr_is_rdonly", QBOOL),
        semantics_extra: 0,
        relation: Relation::Equivalent,
        what: "is_rdonly(p)",
    },
    Row {
        ours: target("bpf_rdynptr_get_size", "bench_rdynptr_get_size", Q64),
        twin: target("bpf_twin_get_size", "bench_twin_get_size", Q64),
        kernel: K_SIZE,
        semantics_extra: 0,
        relation: Relation::Equivalent,
        what: "get_size(p) vs size(p)",
    },
    Row {
        ours: target("bpf_rdynptr_get_offset", "bench_rdynptr_get_offset", Q64),
        twin: target("bpf_twin_get_offset", "bench_twin_get_offset", Q64),
        kernel: K_SIZE,
        semantics_extra: 0,
        relation: Relation::Analogue,
        what: "get_offset(p) vs size(p): no kernel offset getter",
    },
    Row {
        ours: target("bpf_rdynptr_clone", "bench_rdynptr_clone", CLONE),
        twin: target("bpf_twin_clone", "bench_twin_clone", CLONE),
        kernel: target("bpf_dynptr_clone", "bench_dynptr_clone", CLONE),
        semantics_extra: 2,
        relation: Relation::Equivalent,
        what: "clone(p, c, 0) vs clone(p, c)",
    },
];

/// Every measured program and the baseline it is measured against, each
/// once, in table order (ours, the twin, then the kernel's).
pub fn targets(rows: &[Row]) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    for row in rows {
        for t in [row.ours, row.twin, row.kernel] {
            if !out.iter().any(|o| o.prog == t.prog) {
                out.push(t);
            }
        }
    }
    out
}

/// The baselines the targets need, each once.
pub fn baselines(targets: &[Target]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for t in targets {
        if !out.contains(&t.baseline) {
            out.push(t.baseline);
        }
    }
    out
}

/// The rows whose rdynptr kfunc matches one of `names` (with or without the
/// `bpf_rdynptr_` prefix); all rows if `names` is empty.
pub fn select(names: &[String]) -> anyhow::Result<Vec<Row>> {
    if names.is_empty() {
        return Ok(ROWS.to_vec());
    }
    let mut out = Vec::new();
    for name in names {
        let full = if name.starts_with("bpf_rdynptr_") {
            name.clone()
        } else {
            format!("bpf_rdynptr_{name}")
        };
        let row = ROWS.iter().find(|r| r.ours.kfunc == full).ok_or_else(|| {
            let known: Vec<_> = ROWS.iter().map(|r| r.ours.kfunc).collect();
            anyhow!("unknown kfunc {name} (known: {})", known.join(", "))
        })?;
        if !out.iter().any(|r: &Row| r.ours.kfunc == row.ours.kfunc) {
            out.push(*row);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rdynptr_kfunc_has_one_row() {
        let names: Vec<_> = ROWS.iter().map(|r| r.ours.kfunc).collect();
        assert_eq!(
            names,
            [
                "bpf_rdynptr_trim",
                "bpf_rdynptr_advance",
                "bpf_rdynptr_is_null",
                "bpf_rdynptr_is_rdonly",
                "bpf_rdynptr_get_size",
                "bpf_rdynptr_get_offset",
                "bpf_rdynptr_clone",
            ]
        );
    }

    #[test]
    fn only_the_clone_is_allowed_more_than_the_kernel_kfunc() {
        for r in ROWS {
            let want = if r.ours.kfunc == "bpf_rdynptr_clone" {
                2
            } else {
                0
            };
            assert_eq!(r.semantics_extra, want, "{}", r.ours.kfunc);
        }
    }

    #[test]
    fn a_row_shares_its_baseline() {
        // The loops of a row have the same call sites but the call's
        // target, so they have the same baseline.
        for r in ROWS {
            assert_eq!(r.ours.baseline, r.kernel.baseline, "{}", r.ours.kfunc);
            assert_eq!(r.ours.baseline, r.twin.baseline, "{}", r.ours.kfunc);
        }
    }

    #[test]
    fn every_row_has_its_own_twin() {
        for r in ROWS {
            let name = r.ours.kfunc.trim_start_matches("bpf_rdynptr_");
            assert_eq!(r.twin.kfunc, format!("bpf_twin_{name}"));
            assert_eq!(r.twin.prog, format!("bench_twin_{name}"));
            assert!(is_twin_kfunc(r.twin.kfunc));
            assert!(!is_twin_kfunc(r.ours.kfunc) && !is_twin_kfunc(r.kernel.kfunc));
        }
        assert!(is_twin_kfunc("bpf_iter_twin_next"));
    }

    #[test]
    fn shared_kernel_programs_are_measured_once() {
        let t = targets(ROWS);
        assert_eq!(t.len(), 19);
        assert_eq!(
            t.iter().filter(|t| t.prog == "bench_dynptr_adjust").count(),
            1
        );
        assert_eq!(baselines(&t), [ADJUST, QBOOL, Q64, CLONE]);
    }

    #[test]
    fn select_by_short_or_full_name() {
        let rows = select(&["trim".into(), "bpf_rdynptr_clone".into(), "trim".into()]).unwrap();
        let names: Vec<_> = rows.iter().map(|r| r.ours.kfunc).collect();
        assert_eq!(names, ["bpf_rdynptr_trim", "bpf_rdynptr_clone"]);
        assert!(format!("{:#}", select(&["frobnicate".into()]).unwrap_err())
            .contains("unknown kfunc frobnicate"));
        assert_eq!(select(&[]).unwrap().len(), ROWS.len());
    }
}
