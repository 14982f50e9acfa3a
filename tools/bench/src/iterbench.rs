// SPDX-License-Identifier: GPL-2.0
//! The iterator against its C twin and the kernel's own: a walk over a view
//! in fixed chunks with `bpf_iter_rdynptr` (`walk_rdynptr`), the same walk
//! with the C twin `bpf_iter_twin` (`walk_twin`, module rdynptr_twin) and
//! with the kernel's `bpf_iter_num` over the chunk numbers
//! (`walk_iter_num`), in instructions (per run, per step and per kfunc
//! call) and in ns per step.  The programs are at the end of
//! tools/bench/progs/bench.bpf.c.

use crate::insns::{Against, Counter, Counts, Goal, ENTRY_JUMP};
use crate::runner::Loaded;
use crate::stats::{Ratio, Summary};
use anyhow::{anyhow, bail};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

pub const OURS: &str = "walk_rdynptr";
pub const TWIN: &str = "walk_twin";
pub const KERNEL: &str = "walk_iter_num";
/// The kfunc whose presence the comparison needs.
pub const OURS_NEXT: &str = "bpf_iter_rdynptr_next";
/// The kfuncs each walk calls, ours and the twin's: new, next, destroy.
pub const OURS_KFUNCS: [&str; 3] = [
    "bpf_iter_rdynptr_new",
    OURS_NEXT,
    "bpf_iter_rdynptr_destroy",
];
pub const TWIN_KFUNCS: [&str; 3] = [
    "bpf_iter_twin_new",
    "bpf_iter_twin_next",
    "bpf_iter_twin_destroy",
];

/// ITER_VIEW, ITER_CHUNK and ITER_WALKS of bench.bpf.c.
const VIEW: u64 = 512;
const CHUNK: u64 = 8;
const WALKS: u64 = 16;
/// Steps per run.
const STEPS: u64 = WALKS * VIEW / CHUNK;
/// Runs whose instructions are counted.
const COUNT_RUNS: u32 = 15;
/// What a run returns: the bytes of every step.
const SUM: u32 = (WALKS * VIEW) as u32;

/// One walk program's instructions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WalkInsns {
    pub program: String,
    /// Per run: the whole program, its loop and every kfunc it calls.
    pub run: Counts,
    /// Per call of each iterator kfunc it calls (none for the kernel's
    /// walk, whose `bpf_iter_num_next()` the verifier inlines); `calls`
    /// is over all the counted runs.
    pub kfuncs: Vec<(String, Counts)>,
}

impl WalkInsns {
    /// Calls of its kfuncs per run (each one through a C entry point, for
    /// rdynptr's).
    pub fn kfunc_calls_per_run(&self) -> u64 {
        self.kfuncs.iter().map(|(_, c)| c.calls).sum::<u64>() / u64::from(COUNT_RUNS)
    }
}

/// The walks' instructions and the iterator's goals.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IterInsns {
    pub ours: WalkInsns,
    pub twin: WalkInsns,
    pub kernel: WalkInsns,
    /// Steps per run.
    pub steps: u64,
    /// Per kfunc: at most the twin's per call + the entry point's jump;
    /// per run: at most the twin's + one jump per kfunc call.
    pub goals: Vec<Goal>,
}

impl IterInsns {
    fn new(ours: WalkInsns, twin: WalkInsns, kernel: WalkInsns) -> IterInsns {
        let mut goals: Vec<Goal> = ours
            .kfuncs
            .iter()
            .zip(&twin.kfuncs)
            .map(|((_, o), (name, t))| {
                Goal::new(Against::Twin, name, Some(o.mode), Some(t.mode), ENTRY_JUMP)
            })
            .collect();
        goals.push(Goal::new(
            Against::Twin,
            &twin.program,
            Some(ours.run.mode),
            Some(twin.run.mode),
            ours.kfunc_calls_per_run() * ENTRY_JUMP,
        ));
        IterInsns {
            ours,
            twin,
            kernel,
            steps: STEPS,
            goals,
        }
    }

    pub fn ok(&self) -> bool {
        self.goals.iter().all(Goal::is_met)
    }

    /// The goals missed, one line each.
    pub fn missed(&self) -> Vec<String> {
        self.goals
            .iter()
            .filter(|g| !g.is_met())
            .map(|g| format!("iterator vs {}: {}", g.other, g.text()))
            .collect()
    }
}

/// ns per step of the walk, ours, the twin's and the kernel's.
#[derive(Debug, Clone, Serialize)]
pub struct IterTimes {
    pub ours: Summary,
    pub twin: Summary,
    pub kernel: Summary,
    /// ours / kernel's.
    pub ratio: Ratio,
    /// ours / twin's.
    pub twin_ratio: Ratio,
}

pub const WHAT: &str = "a walk over 512 bytes in 8-byte steps: bpf_iter_rdynptr_new/next/destroy \
    vs its C twin bpf_iter_twin vs bpf_iter_num over the chunk numbers (the kernel's own \
    iterator), same loop body";

fn run(l: &Loaded, prog: &str, repeat: u32) -> anyhow::Result<u64> {
    let (ret, ns) = l.run(prog, repeat)?;
    if ret != SUM {
        bail!("{prog} summed {ret} bytes, not {SUM}");
    }
    Ok(ns)
}

/// The instructions of walk program `prog` and of the kfuncs `kfuncs` it
/// calls (watched before they first ran).  Two windows: one run of a copy
/// of the program whose JIT image is watched (new, so not yet translated),
/// from its entry to its return; then runs of a fresh copy, not watched,
/// so that the kfuncs' calls are counted on their own.
fn count_walk(
    counter: &mut Counter,
    object: &Path,
    calls: u32,
    prog: &str,
    kfuncs: &[&str],
) -> anyhow::Result<WalkInsns> {
    let l = Loaded::load(object, &[prog], calls)?;
    let addr = l
        .jit_image(prog)?
        .address
        .ok_or_else(|| anyhow!("{prog}: no JIT image address (not JIT-compiled, or hidden)"))?;
    counter.watch_address(prog, addr);
    // Several runs: an interrupt lands in some, the most frequent count
    // is that of a run no interrupt hit.
    let (_, c) = counter.count(prog, || run(&l, prog, COUNT_RUNS))?;
    if c.calls != u64::from(COUNT_RUNS) {
        bail!(
            "the plugin counted {} runs of {prog}, not {COUNT_RUNS}",
            c.calls
        );
    }
    let mut walk = WalkInsns {
        program: prog.to_string(),
        run: c,
        kfuncs: Vec::new(),
    };
    if kfuncs.is_empty() {
        return Ok(walk);
    }
    let fresh = Loaded::load(object, &[prog], calls)?;
    let (_, counts) = counter.count_all(kfuncs, || run(&fresh, prog, COUNT_RUNS))?;
    // Every walk calls new and destroy once, next once per step and once
    // more at the end.
    let want = [WALKS, STEPS + WALKS, WALKS].map(|n| n * u64::from(COUNT_RUNS));
    for ((name, c), want) in kfuncs.iter().zip(&counts).zip(want) {
        if c.calls != want {
            bail!(
                "the plugin counted {} calls of {name} in {COUNT_RUNS} runs of {prog}, not {want}",
                c.calls
            );
        }
    }
    walk.kfuncs = kfuncs.iter().map(|k| k.to_string()).zip(counts).collect();
    Ok(walk)
}

/// Instructions of the three walks.  The iterator kfuncs must have been
/// watched before they first ran ([`OURS_KFUNCS`], [`TWIN_KFUNCS`]).
pub fn count(counter: &mut Counter, object: &Path, calls: u32) -> anyhow::Result<IterInsns> {
    let ours = count_walk(counter, object, calls, OURS, &OURS_KFUNCS)?;
    let twin = count_walk(counter, object, calls, TWIN, &TWIN_KFUNCS)?;
    let kernel = count_walk(counter, object, calls, KERNEL, &[])?;
    Ok(IterInsns::new(ours, twin, kernel))
}

/// ns per step of each walk, over `rounds` rounds of `repeat` runs.
pub fn time(object: &Path, calls: u32, rounds: u32, repeat: u32) -> anyhow::Result<IterTimes> {
    let progs = [OURS, TWIN, KERNEL];
    let loaded = progs
        .iter()
        .map(|p| Loaded::load(object, &[p], calls))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Fewer runs than the call-site loops: a run is 1024 steps, not calls.
    let repeat = (repeat / 10).max(1);
    for (l, p) in loaded.iter().zip(progs) {
        run(l, p, repeat)?;
    }
    let mut per_step: [Vec<f64>; 3] = Default::default();
    for round in 0..rounds as usize {
        // An order that rotates from round to round.
        for i in 0..progs.len() {
            let k = (i + round) % progs.len();
            let ns = run(&loaded[k], progs[k], repeat)?;
            per_step[k].push(ns as f64 / STEPS as f64);
        }
    }
    let [ours, twin, kernel] =
        per_step.map(|v| Summary::of(&v).ok_or_else(|| anyhow!("no rounds")));
    let (ours, twin, kernel) = (ours?, twin?, kernel?);
    Ok(IterTimes {
        ours,
        twin,
        kernel,
        ratio: Ratio::of(&ours, &kernel),
        twin_ratio: Ratio::of(&ours, &twin),
    })
}

/// The iterator's lines of the instruction table.
pub fn insns_table(i: &IterInsns) -> String {
    let mut out = String::new();
    let per = |c: &Counts| c.mode as f64 / i.steps as f64;
    let walk_goal = i.goals.last().map(Goal::text).unwrap_or_default();
    let _ = writeln!(
        out,
        "{:<24}{:>6.1}   {:<22}{:>6.1}   {:<24}{:>6.1}   per step; per run of {} steps {}, {} \
         and {}: {walk_goal} ({} kfunc calls per run)",
        "iterator (walk_rdynptr)",
        per(&i.ours.run),
        "walk_twin",
        per(&i.twin.run),
        "walk_iter_num",
        per(&i.kernel.run),
        i.steps,
        i.ours.run.mode,
        i.twin.run.mode,
        i.kernel.run.mode,
        i.ours.kfunc_calls_per_run(),
    );
    for (((name, o), (tname, t)), g) in i.ours.kfuncs.iter().zip(&i.twin.kfuncs).zip(&i.goals) {
        let _ = writeln!(
            out,
            "{:<24}{:>6}   {:<22}{:>6}   {:<24}{:>6}   {}",
            name,
            o.mode,
            tname,
            t.mode,
            "",
            "",
            g.text()
        );
    }
    let _ = writeln!(out, "(iterator: {WHAT})");
    out
}

/// The iterator's lines of the time table.
pub fn times_table(t: &IterTimes) -> String {
    let mut out = String::new();
    let ratio = |r: &Ratio| r.median.map_or("n/a".to_string(), |m| format!("{m:.2}"));
    let _ = writeln!(
        out,
        "{:<24}{:>8.2}{:>8.2}   {:<18}{:>8.2}{:>8.2}   {:<22}{:>8.2}{:>8.2}   ratio {} \
         (twin {}) per step",
        "iterator (walk_rdynptr)",
        t.ours.min,
        t.ours.median,
        "walk_twin",
        t.twin.min,
        t.twin.median,
        "walk_iter_num",
        t.kernel.min,
        t.kernel.median,
        ratio(&t.ratio),
        ratio(&t.twin_ratio),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(calls: u64, mode: u64) -> Counts {
        Counts {
            calls,
            min: mode,
            mode,
            max: mode,
        }
    }

    fn walk(prog: &str, names: &[&str; 3], run: u64, per_call: [u64; 3]) -> WalkInsns {
        let runs = u64::from(COUNT_RUNS);
        let calls = [WALKS, STEPS + WALKS, WALKS];
        WalkInsns {
            program: prog.into(),
            run: counts(runs, run),
            kfuncs: names
                .iter()
                .zip(calls.iter().zip(per_call))
                .map(|(n, (c, m))| (n.to_string(), counts(c * runs, m)))
                .collect(),
        }
    }

    fn kernel() -> WalkInsns {
        WalkInsns {
            program: KERNEL.into(),
            run: counts(u64::from(COUNT_RUNS), 27000),
            kfuncs: Vec::new(),
        }
    }

    #[test]
    fn the_walk_may_take_one_jump_per_kfunc_call_more() {
        let calls = WALKS * 3 + STEPS;
        let twin = walk(TWIN, &TWIN_KFUNCS, 30000, [30, 20, 2]);
        let i = IterInsns::new(
            walk(OURS, &OURS_KFUNCS, 30000 + calls, [31, 21, 3]),
            twin.clone(),
            kernel(),
        );
        assert_eq!(i.ours.kfunc_calls_per_run(), calls);
        assert!(i.ok(), "{:?}", i.missed());
        assert_eq!(i.goals.len(), 4);
        assert_eq!(i.goals[3].limit, Some(30000 + calls));
        let i = IterInsns::new(
            walk(OURS, &OURS_KFUNCS, 30001 + calls, [31, 21, 3]),
            twin.clone(),
            kernel(),
        );
        assert!(!i.ok());
        assert_eq!(i.missed().len(), 1);
        assert!(i.missed()[0].contains("MISSED"), "{:?}", i.missed());
        // next: 2 more per call than the twin's
        let i = IterInsns::new(walk(OURS, &OURS_KFUNCS, 30000, [31, 22, 3]), twin, kernel());
        assert_eq!(
            i.missed(),
            ["iterator vs bpf_iter_twin_next: twin+1: MISSED (22 > 21)"]
        );
        let t = insns_table(&i);
        assert!(t.contains("bpf_iter_rdynptr_next"), "{t}");
        assert!(t.contains("walk_twin"), "{t}");
    }
}
