// SPDX-License-Identifier: GPL-2.0
//! The iterator against the kernel's own: a walk over a view in fixed
//! chunks with `bpf_iter_rdynptr` (`walk_rdynptr`) and the same walk with
//! the kernel's `bpf_iter_num` over the chunk numbers (`walk_iter_num`),
//! in instructions per `next` call and in ns per step.  The programs are
//! at the end of tools/bench/progs/bench.bpf.c.

use crate::insns::{Counter, Counts};
use crate::runner::Loaded;
use crate::stats::{Ratio, Summary};
use anyhow::{anyhow, bail};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

pub const OURS: &str = "walk_rdynptr";
pub const KERNEL: &str = "walk_iter_num";
/// The kfunc whose presence the comparison needs.
pub const OURS_NEXT: &str = "bpf_iter_rdynptr_next";

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

/// Instructions per run of each walk program (the whole program: its
/// loop and every kfunc it calls), ours and the kernel's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IterInsns {
    pub ours: Counts,
    pub kernel: Counts,
    /// Steps per run.
    pub steps: u64,
}

/// ns per step of the walk, ours and the kernel's.
#[derive(Debug, Clone, Serialize)]
pub struct IterTimes {
    pub ours: Summary,
    pub kernel: Summary,
    pub ratio: Ratio,
}

pub const WHAT: &str = "a walk over 512 bytes in 8-byte steps: bpf_iter_rdynptr_new/next/destroy \
    vs bpf_iter_num over the chunk numbers (the kernel's own iterator), same loop body";

fn run(l: &Loaded, prog: &str, repeat: u32) -> anyhow::Result<u64> {
    let (ret, ns) = l.run(prog, repeat)?;
    if ret != SUM {
        bail!("{prog} summed {ret} bytes, not {SUM}");
    }
    Ok(ns)
}

/// Instructions of one run of each walk program: the plugin watches the
/// program's JIT image (new, so not yet translated) from its entry to its
/// return.  (The kernel's `bpf_iter_num_next()` cannot be counted on its
/// own: the verifier inlines it.)
pub fn count(counter: &mut Counter, object: &Path, calls: u32) -> anyhow::Result<IterInsns> {
    let mut out = Vec::new();
    for prog in [OURS, KERNEL] {
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
        out.push(c);
    }
    Ok(IterInsns {
        ours: out[0],
        kernel: out[1],
        steps: STEPS,
    })
}

/// ns per step of each walk, over `rounds` rounds of `repeat` runs.
pub fn time(object: &Path, calls: u32, rounds: u32, repeat: u32) -> anyhow::Result<IterTimes> {
    let ours = Loaded::load(object, &[OURS], calls)?;
    let kernel = Loaded::load(object, &[KERNEL], calls)?;
    // Fewer runs than the call-site loops: a run is 1024 steps, not calls.
    let repeat = (repeat / 10).max(1);
    run(&ours, OURS, repeat)?;
    run(&kernel, KERNEL, repeat)?;
    let (mut o, mut k) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let per_step = |ns: u64| ns as f64 / STEPS as f64;
        if round % 2 == 0 {
            o.push(per_step(run(&ours, OURS, repeat)?));
            k.push(per_step(run(&kernel, KERNEL, repeat)?));
        } else {
            k.push(per_step(run(&kernel, KERNEL, repeat)?));
            o.push(per_step(run(&ours, OURS, repeat)?));
        }
    }
    let ours = Summary::of(&o).ok_or_else(|| anyhow!("no rounds"))?;
    let kernel = Summary::of(&k).ok_or_else(|| anyhow!("no rounds"))?;
    Ok(IterTimes {
        ours,
        kernel,
        ratio: Ratio::of(&ours, &kernel),
    })
}

/// The iterator's lines of the instruction table.
pub fn insns_table(i: &IterInsns) -> String {
    let mut out = String::new();
    let per = |c: &Counts| c.mode as f64 / i.steps as f64;
    let _ = writeln!(
        out,
        "{:<24}{:>7.1}   {:<26}{:>7.1}   {:+.1} per step ({} and {} instructions per run of \
         {} steps; {WHAT})",
        "iterator (walk_rdynptr)",
        per(&i.ours),
        "walk_iter_num",
        per(&i.kernel),
        per(&i.ours) - per(&i.kernel),
        i.ours.mode,
        i.kernel.mode,
        i.steps
    );
    out
}

/// The iterator's lines of the time table.
pub fn times_table(t: &IterTimes) -> String {
    let mut out = String::new();
    let ratio = t
        .ratio
        .median
        .map_or("n/a".to_string(), |m| format!("{m:.2}"));
    let _ = writeln!(
        out,
        "{:<24}{:>8.2}{:>8.2}   {:<22}{:>8.2}{:>8.2}   ratio {ratio} (ns per step of {WHAT})",
        "iterator (walk_rdynptr)",
        t.ours.min,
        t.ours.median,
        "walk_iter_num",
        t.kernel.min,
        t.kernel.median
    );
    out
}
