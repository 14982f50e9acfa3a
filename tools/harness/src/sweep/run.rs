// SPDX-License-Identifier: GPL-2.0
//! Running the sweeps: batches of generated sequences go through the
//! programs of rdynptr_sweep.bpf.o with BPF_PROG_TEST_RUN; the results are
//! compared with the model (sweep/model_*) or between the rdynptr kfuncs
//! and the kernel's own dynptr kfuncs (sweep/differential_*).  proptest
//! generates the batches from a seed and shrinks a failing one.

use super::model::{Kind, View, EINVAL, EOPNOTSUPP, ERANGE};
use super::ops::{
    self, batch_strategy, data_byte, encode, pattern, resolve, BatchSpec, Code, IterObs, ModelStep,
    Obs, Op, Seq, SeqOut, CODES, NOT_APPLIED, SLOTS,
};
use super::{Check, SweepTest};
use crate::report::TestReport;
use crate::runner;
use crate::trigger::Action;
use anyhow::{anyhow, bail, Context as _};
use libbpf_rs::btf::types::{MemberAttr, Struct};
use libbpf_rs::btf::HasSize;
use libbpf_rs::{MapCore, MapFlags, Object, ProgramInput};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use zerocopy::FromZeros;

/// Settings of one run of the sweeps.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub seed: u64,
    /// Batches per test.
    pub cases: u32,
    /// Whether bpf_rdynptr_clone exists in the running kernel.
    pub clone: bool,
}

/// A fresh random seed (printed, so that the run can be replayed).
pub fn random_seed() -> u64 {
    let mut b = [0u8; 8];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .is_ok()
    {
        return u64::from_ne_bytes(b);
    }
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ ((std::process::id() as u64) << 32)
}

/// The 32-byte ChaCha seed of test `name` for `seed`: every test gets its
/// own stream, so one test replays alike whether run alone or with others.
fn rng_seed(seed: u64, name: &str) -> [u8; 32] {
    let mut x = seed
        ^ name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
    let mut out = [0u8; 32];
    for c in out.chunks_mut(8) {
        // splitmix64
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        c.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out
}

/// The kind number of rdynptr_sweep.bpf.c (enum sw_kind).
fn kind_code(k: Kind) -> u32 {
    match k {
        Kind::Local => 0,
        Kind::Ringbuf => 1,
        Kind::Skb => 2,
        Kind::SkbMeta => 3,
        Kind::SkbRdonly => 4,
        Kind::Xdp => 5,
        Kind::File => 6,
    }
}

/// The sweep programs of a run, each loaded once, on first use, in an
/// object of its own (with its own maps): the verifier takes about a
/// second on each under TCG, and model_X and differential_X both run
/// sweep_X_rd.  A test holds the lock of each program it runs for as
/// long as it runs, so two tests never interleave their batches.
#[derive(Default)]
pub struct ProgramCache {
    loaded: Mutex<BTreeMap<String, Arc<Slot>>>,
}

type Slot = OnceLock<anyhow::Result<Mutex<Program>>>;

impl ProgramCache {
    /// The slot of program `name` (its program is loaded on first use).
    fn slot(&self, name: &str) -> Arc<Slot> {
        match self.loaded.lock() {
            Ok(mut m) => m.entry(name.to_string()).or_default().clone(),
            // Another test thread panicked holding the map: load afresh.
            Err(_) => Arc::default(),
        }
    }

    /// Closes the programs (they hold the module, which the module tests
    /// unload).
    pub fn clear(&self) {
        if let Ok(mut m) = self.loaded.lock() {
            m.clear();
        }
    }
}

/// One loaded sweep program.
struct Program {
    obj: Object,
    name: String,
    /// FILE programs: attached for as long as they are loaded.
    link: Option<libbpf_rs::Link>,
    /// What loading it took: the wall time and the verifier's statistics.
    load_note: String,
}

impl Program {
    fn load(path: &Path, name: &str) -> anyhow::Result<Program> {
        let start = Instant::now();
        let open = runner::open_object(path, |p| p == name)?;
        // The verifier's statistics only (BPF_LOG_STATS): a few lines.
        let mut stats = vec![0u8; 4096];
        let (loaded, log) =
            runner::load_with_log(open, name, &mut stats, runner::BPF_LOG_STATS, |f| f);
        let obj = match loaded {
            Ok(obj) => obj,
            Err(e) => {
                // Load it again with a verifier log, whose end says why.
                let open = runner::open_object(path, |p| p == name)?;
                let mut buf = vec![0u8; 64 << 20];
                let (_, log) = runner::load_with_log(open, name, &mut buf, 1, |f| f);
                let tail: Vec<&str> = log.lines().rev().take(12).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                bail!(
                    "loading {name} failed: {e}; the verifier log ends:\n{}",
                    tail.join("\n")
                );
            }
        };
        let btf = runner::object_btf(&obj)?;
        ops::check_layout(|n| {
            let st = btf.type_by_name::<Struct<'_>>(n)?;
            let members = st
                .iter()
                .map(|m| {
                    let bits = match m.attr {
                        MemberAttr::Normal { offset } | MemberAttr::BitField { offset, .. } => {
                            offset
                        }
                    };
                    let name = m.name.map(|n| n.to_string_lossy().into_owned());
                    (name.unwrap_or_default(), bits as usize / 8)
                })
                .collect();
            Some((st.size(), members))
        })?;
        drop(btf);
        let mut link = None;
        if name.starts_with("sweep_file_") {
            // Made before the program is attached: writing it is an open.
            crate::trigger::test_file()?;
            let p = obj
                .progs_mut()
                .find(|p| p.name().to_string_lossy() == name)
                .ok_or_else(|| anyhow!("no program {name}"))?;
            link = Some(
                p.attach()
                    .with_context(|| format!("attaching {name} failed"))?,
            );
        }
        let verifier: Vec<&str> = log
            .lines()
            .filter(|l| l.starts_with("processed ") || l.starts_with("verification time"))
            .collect();
        let load_note = format!(
            "{name} loaded in {:.2} s ({})",
            start.elapsed().as_secs_f64(),
            verifier.join("; ")
        );
        Ok(Program {
            obj,
            name: name.to_string(),
            link,
            load_note,
        })
    }

    /// Runs the program on one batch.
    fn run(&self, kind: Kind, pkt_len: u32, seqs: &[Seq]) -> anyhow::Result<Vec<SeqOut>> {
        let map = |n: &str| {
            self.obj
                .maps()
                .find(|m| m.name() == n)
                .ok_or_else(|| anyhow!("no map {n}"))
        };
        let key = 0u32.to_ne_bytes();
        // SAFETY: gettid() has no preconditions.
        let tid = unsafe { libc::gettid() } as u32;
        map("sw_in")?
            .update(&key, &encode(kind_code(kind), tid, seqs), MapFlags::ANY)
            .context("updating sw_in")?;
        let name = &self.name;
        let before = runs(&map("sw_out")?)?;
        if self.link.is_some() {
            // The attached program runs the batch when this thread opens
            // the test file.
            Action::Open(None).run()?;
        } else {
            let pkt: Vec<u8> = (0..pkt_len as usize).map(pattern).collect();
            let input = ProgramInput {
                data_in: Some(&pkt),
                ..ProgramInput::default()
            };
            let p = self
                .obj
                .progs_mut()
                .find(|p| p.name().to_string_lossy() == *name)
                .ok_or_else(|| anyhow!("no program {name}"))?;
            let r = p
                .test_run(input)
                .with_context(|| format!("BPF_PROG_TEST_RUN of {name} failed"))?;
            if r.return_value != 1 {
                bail!("{name} returned {}", r.return_value);
            }
        }
        let out = map("sw_out")?
            .lookup(&key, MapFlags::ANY)
            .context("reading sw_out")?
            .ok_or_else(|| anyhow!("sw_out has no element"))?;
        // Discarded ring buffer records keep their space until the
        // consumer position passes them.
        if kind == Kind::Ringbuf {
            let rb_map = map("sw_rb")?;
            let mut rb = libbpf_rs::RingBufferBuilder::new();
            rb.add(&rb_map, |_| 0).context("ring buffer")?;
            rb.build()
                .and_then(|r| r.consume())
                .context("consuming the ring buffer")?;
        }
        let (after, seqs_out) =
            ops::decode(&out, seqs.len()).ok_or_else(|| anyhow!("sw_out has the wrong size"))?;
        if after != before + 1 {
            bail!(
                "{name} ran {} times for one batch",
                after.wrapping_sub(before)
            );
        }
        Ok(seqs_out)
    }
}

fn runs(m: &libbpf_rs::Map<'_>) -> anyhow::Result<u64> {
    let v = m
        .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
        .context("reading sw_out")?
        .ok_or_else(|| anyhow!("sw_out has no element"))?;
    let (runs, _) = ops::decode(&v, 0).ok_or_else(|| anyhow!("sw_out has the wrong size"))?;
    Ok(runs)
}

/// The observation the program must record for a slot holding `v`.
fn expected_obs(kind: Kind, v: &View) -> Obs {
    let read = |r: Result<u64, i64>| match r {
        Ok(pos) => (0, data_byte(kind, pos)),
        Err(e) => (e as i32, None),
    };
    let ks = v.kernel_size() as u64;
    let (rd_first, first) = read(v.read1(0));
    let (rd_last, last) = read(v.read1(ks.wrapping_sub(1)));
    let (rd_past, _) = read(v.read1(ks));
    Obs {
        valid: 1,
        size: v.get_size(),
        off: v.get_offset(),
        ksize: v.kernel_size(),
        rd_first,
        rd_last,
        rd_past,
        null: v.is_null() as u8,
        rdonly: v.is_rdonly() as u8,
        knull: v.is_null() as u8,
        krdonly: v.is_rdonly() as u8,
        first: first.unwrap_or(0),
        last: last.unwrap_or(0),
        // bpf_dynptr_slice() checks the range as bpf_dynptr_read() does.
        slice: (rd_first == 0) as u8,
        sfirst: first.unwrap_or(0),
        pad: [0; 3],
    }
}

/// The iteration results the program must record for a model step.
fn expected_walk(m: &ModelStep) -> IterObs {
    match m.walk {
        Some(w) => IterObs {
            steps: w.steps,
            hash: w.hash,
            end: w.end,
            err: w.err,
        },
        None => IterObs::new_zeroed(),
    }
}

/// Differences between two iteration results.
fn walk_diff(got: &IterObs, want: &IterObs) -> Vec<String> {
    let mut d = Vec::new();
    if got.steps != want.steps {
        d.push(format!("walk: {} steps vs {}", got.steps, want.steps));
    }
    if got.end != want.end {
        d.push(format!(
            "walk: last step ends at {} vs {}",
            got.end, want.end
        ));
    }
    if got.err != want.err {
        d.push(format!("walk: set_step error {} vs {}", got.err, want.err));
    }
    if got.hash != want.hash && d.is_empty() {
        d.push(format!(
            "walk: the steps (off, len, byte) differ: digest {:#x} vs {:#x}",
            got.hash, want.hash
        ));
    }
    d
}

/// Differences between two observations, as "field: a vs b"; the bytes
/// are compared only where `bytes` says the read succeeded.
fn obs_diff(got: &Obs, want: &Obs, bytes: (bool, bool)) -> Vec<String> {
    let mut d = Vec::new();
    macro_rules! f {
        ($($x:ident),*) => {$(
            if got.$x != want.$x {
                d.push(format!("{}: {} vs {}", stringify!($x), got.$x, want.$x));
            }
        )*};
    }
    f!(valid, size, off, ksize, rd_first, rd_last, rd_past, null, rdonly, knull, krdonly, slice);
    if bytes.0 && got.first != want.first {
        d.push(format!(
            "first byte: {:#04x} vs {:#04x}",
            got.first, want.first
        ));
    }
    if bytes.1 && got.last != want.last {
        d.push(format!(
            "last byte: {:#04x} vs {:#04x}",
            got.last, want.last
        ));
    }
    if bytes.0 && got.sfirst != want.sfirst {
        d.push(format!(
            "byte of the slice at 0: {:#04x} vs {:#04x}",
            got.sfirst, want.sfirst
        ));
    }
    d
}

fn fmt_view(v: &Option<View>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v.null => "null".into(),
        Some(v) => format!(
            "off {} size {}{}",
            v.offset,
            v.size,
            if v.rdonly { " ro" } else { "" }
        ),
    }
}

fn fmt_seq(kind: Kind, pkt_len: u32, seq: &Seq) -> String {
    let mut s = String::new();
    let what = match kind {
        Kind::Local | Kind::Ringbuf | Kind::File => format!("size {}", seq.size),
        _ => format!("packet of {pkt_len} bytes"),
    };
    let _ = write!(
        s,
        "s0 = {} dynptr ({what}{})",
        kind.name(),
        if seq.flags != 0 {
            ", flags 1: null"
        } else {
            ""
        }
    );
    for o in &seq.ops {
        let _ = write!(s, "; {o}");
    }
    s
}

/// Compares one sequence's run with the model; Err(explanation) at the
/// first step that differs.
fn check_model(kind: Kind, seq: &Seq, model: &[ModelStep], out: &SeqOut) -> anyhow::Result<()> {
    if out.done as usize != seq.ops.len() {
        bail!(
            "the program applied {} of {} operations",
            out.done,
            seq.ops.len()
        );
    }
    for (j, (m, got)) in model.iter().zip(&out.steps).enumerate() {
        let what = if j == 0 {
            "creation".to_string()
        } else {
            format!("op {j} {}", seq.ops[j - 1])
        };
        let mut diffs = Vec::new();
        // The creation's return value is the constructor's.
        if got.ret != m.ret {
            diffs.push(format!("result: kernel {} model {}", got.ret, m.ret));
        }
        for k in 0..SLOTS {
            match &m.slots[k] {
                None => {
                    if got.obs[k].valid != 0 {
                        diffs.push(format!("s{k}: the program has it, the model does not"));
                    }
                }
                Some(v) => {
                    let want = expected_obs(kind, v);
                    let bytes = (want.rd_first == 0, want.rd_last == 0);
                    for d in obs_diff(&got.obs[k], &want, bytes) {
                        diffs.push(format!(
                            "s{k} ({}): {d} (kernel vs model)",
                            fmt_view(&m.slots[k])
                        ));
                    }
                }
            }
        }
        diffs.extend(
            walk_diff(&got.it, &expected_walk(m))
                .into_iter()
                .map(|d| format!("{d} (kernel vs model)")),
        );
        if !diffs.is_empty() {
            bail!("after {what}:\n  {}", diffs.join("\n  "));
        }
    }
    Ok(())
}

/// Compares the rdynptr run (`rd`) and the kernel-kfunc run (`kern`) of
/// one sequence.  Every known difference is classified here; anything
/// else is reported.  `model` gives the views before each step.  Returns
/// how often each known difference (`Known as usize`) occurred.
fn check_diff(
    kind: Kind,
    seq: &Seq,
    model: &[ModelStep],
    rd: &SeqOut,
    kern: &SeqOut,
) -> anyhow::Result<[u64; KNOWN]> {
    let mut known = [0u64; KNOWN];
    for (name, o) in [("rdynptr", rd), ("kernel", kern)] {
        if o.done as usize != seq.ops.len() {
            bail!(
                "the {name} program applied {} of {} operations",
                o.done,
                seq.ops.len()
            );
        }
    }
    // Slots whose views differ by a classified difference: not compared
    // from there on, nor are clones made from them.
    let mut diverged = [false; SLOTS];
    for (j, (a, b)) in rd.steps.iter().zip(&kern.steps).enumerate() {
        let op: Option<&Op> = j.checked_sub(1).map(|i| &seq.ops[i]);
        let mut diffs = Vec::new();
        if let Some(op) = op {
            let pre = model[j - 1].slots[op.src as usize];
            let target_pre = model[j - 1].slots[op.slot as usize];
            let skip = match op.code {
                Code::Clone => diverged[op.src as usize],
                _ => diverged[op.slot as usize],
            };
            if op.code == Code::Clone && skip {
                diverged[op.slot as usize] = true;
            }
            // FILE: the slots share one view, and a diverged slot is a
            // live clone in the kernel run only: changing its view there
            // changes every slot's.
            if kind == Kind::File && skip && matches!(op.code, Code::Trim | Code::Advance) {
                diverged = [true; SLOTS];
            }
            if !skip && a.ret != b.ret {
                match known_difference(kind, op, pre, target_pre, a.ret, b.ret) {
                    Some(k) => {
                        known[k as usize] += 1;
                        let clone_differs = matches!(
                            k,
                            Known::ClonePastEnd | Known::FileCloneAtOffset | Known::WideLength
                        ) && op.code == Code::Clone;
                        if clone_differs {
                            diverged[op.slot as usize] = true;
                        }
                    }
                    None => diffs.push(format!("result: rdynptr {} kernel {}", a.ret, b.ret)),
                }
            }
            if !skip {
                diffs.extend(
                    walk_diff(&a.it, &b.it)
                        .into_iter()
                        .map(|d| format!("{d} (rdynptr vs kernel)")),
                );
            }
        } else if a.ret != b.ret {
            diffs.push(format!(
                "creation: rdynptr run {} kernel run {}",
                a.ret, b.ret
            ));
        }
        for (k, &div) in diverged.iter().enumerate() {
            if div {
                continue;
            }
            // Known difference: compare the kernel-visible fields only.
            let x = a.obs[k].kernel_visible();
            let bytes = (x.rd_first == 0, x.rd_last == 0);
            for d in obs_diff(&x, &b.obs[k], bytes) {
                diffs.push(format!("s{k}: {d} (rdynptr vs kernel)"));
            }
        }
        if !diffs.is_empty() {
            let what = match op {
                None => "creation".to_string(),
                Some(o) => format!("op {j} {o}"),
            };
            bail!("after {what}:\n  {}", diffs.join("\n  "));
        }
    }
    Ok(known)
}

/// A classified difference between the rdynptr kfuncs and their kernel
/// equivalents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    /// advance past the end: -ERANGE vs -EINVAL, views unchanged.
    AdvancePastEnd,
    /// get_offset: the kernel has no equivalent.
    NoOffsetGetter,
    /// clone past the parent's end: -ERANGE and a null clone vs -EINVAL
    /// and a full-size clone; the clone slot is not compared from then on.
    ClonePastEnd,
    /// FILE clone at a non-zero offset: -EOPNOTSUPP and a null clone; the
    /// kernel has no equivalent (its clones share the view, so adjusting
    /// one would move the parent).  Not compared from then on.
    FileCloneAtOffset,
    /// trim, advance or clone by 2^32 or more on a kernel whose
    /// `bpf_dynptr_adjust()` takes 32-bit bounds (6.12): rdynptr fails
    /// with -ERANGE (or -EINVAL, null) and changes nothing; the kernel
    /// program cannot express the call.  A clone slot (a full clone in the
    /// kernel run) is not compared from then on.
    WideLength,
}

const KNOWN: usize = 5;
const KNOWN_NAMES: [&str; KNOWN] = [
    "advance past the end (-ERANGE vs adjust's -EINVAL)",
    "get_offset (no kernel equivalent)",
    "clone past the end (-ERANGE + null clone vs clone + adjust's -EINVAL, full clone)",
    "FILE clone at an offset (-EOPNOTSUPP + null clone; no kernel equivalent)",
    "length of 2^32 or more (no equivalent with the kernel's 32-bit adjust)",
];

fn known_difference(
    kind: Kind,
    op: &Op,
    src_pre: Option<View>,
    target_pre: Option<View>,
    rd: i64,
    kern: i64,
) -> Option<Known> {
    let valid = |v: Option<View>| v.filter(|v| !v.null);
    if matches!(op.code, Code::Trim | Code::Advance | Code::Clone)
        && op.arg > u64::from(u32::MAX)
        && kern == NOT_APPLIED
    {
        let pre = if op.code == Code::Clone {
            src_pre
        } else {
            target_pre
        };
        let want = if valid(pre).is_some() { ERANGE } else { EINVAL };
        if rd == want {
            return Some(Known::WideLength);
        }
    }
    match op.code {
        // bpf_dynptr_adjust(p, len, size) checks start > end before the
        // size, so advancing a valid dynptr past its end is -EINVAL there
        // and -ERANGE in rdynptr (documented: -ERANGE for len > size).
        // Both leave the view unchanged (compared below).
        Code::Advance => {
            let v = valid(target_pre)?;
            (op.arg > v.size && rd == ERANGE && kern == EINVAL).then_some(Known::AdvancePastEnd)
        }
        // The kernel has no offset getter: the kernel program does not
        // apply get_offset (the offset is still compared through the data
        // bytes each observation reads).
        Code::GetOffset => (kern == NOT_APPLIED).then_some(Known::NoOffsetGetter),
        // clone at an offset past the parent's end: rdynptr fails with
        // -ERANGE and a null clone; bpf_dynptr_clone() succeeds and the
        // following bpf_dynptr_adjust(clone, off, size) fails with -EINVAL
        // (start > end), leaving a full-size clone.  The clone slot's
        // views differ from here on.
        Code::Clone if kind == Kind::File => {
            valid(src_pre)?;
            (op.arg != 0 && rd == EOPNOTSUPP && kern == NOT_APPLIED)
                .then_some(Known::FileCloneAtOffset)
        }
        Code::Clone => {
            let v = valid(src_pre)?;
            (op.arg > v.size && rd == ERANGE && kern == EINVAL).then_some(Known::ClonePastEnd)
        }
        _ => None,
    }
}

/// One failing sequence, for the report.
fn failure(kind: Kind, pkt_len: u32, seq: &Seq, model: &[ModelStep], why: &str) -> String {
    let mut s = format!("sequence: {}\n", fmt_seq(kind, pkt_len, seq));
    let _ = writeln!(s, "model views (s0 | s1 | s2) after each step:");
    for (j, m) in model.iter().enumerate() {
        let what = if j == 0 {
            "create".to_string()
        } else {
            seq.ops[j - 1].to_string()
        };
        let _ = writeln!(
            s,
            "  {what:<32} -> {:<6} {} | {} | {}",
            m.ret,
            fmt_view(&m.slots[0]),
            fmt_view(&m.slots[1]),
            fmt_view(&m.slots[2])
        );
    }
    s.push_str(why);
    s
}

/// Statistics of one test.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub batches: u64,
    pub sequences: u64,
    pub ops: u64,
    /// Null initial dynptrs.
    pub null: u64,
    /// Per operation code: model results 0 (or true/false answers) and
    /// errors (negative).
    pub results: [[u64; 2]; CODES.len() + 1],
    /// Steps of the model's walks (iteration operations).
    pub walked: u64,
    /// Walks that set_step() ended with an error.
    pub walk_errors: u64,
    /// Differential tests: occurrences of each classified difference.
    pub known: [u64; KNOWN],
}

impl Stats {
    fn coverage(&self) -> String {
        let mut s = format!("coverage: {} null initial dynptrs", self.null);
        for c in [
            Code::Trim,
            Code::Advance,
            Code::Clone,
            Code::GetSize,
            Code::GetOffset,
            Code::Iter,
            Code::IterStep,
            Code::IterRec,
        ] {
            let [ok, err] = self.results[c as usize];
            let _ = write!(s, ", {} {ok} ok {err} err", c.name());
        }
        let _ = write!(
            s,
            "; {} iterator steps, {} walks ended by set_step errors",
            self.walked, self.walk_errors
        );
        s
    }

    fn classified(&self) -> String {
        let mut s = "classified differences:".to_string();
        for (n, name) in self.known.iter().zip(KNOWN_NAMES) {
            let _ = write!(s, " {name} x{n};");
        }
        s.pop();
        s
    }
}

/// Runs sweep test `test` with the programs of `object`.
pub fn run_test(
    test: SweepTest,
    object: &Path,
    opt: &Options,
    cache: &ProgramCache,
) -> (TestReport, Stats) {
    let (diff, kind) = (test.check == Check::Differential, test.kind);
    let name = &test.name();
    let base = format!("sweep_{}", kind.name());
    let mut names = vec![format!("{base}_rd")];
    if diff {
        names.push(format!("{base}_kern"));
    }
    let slots: Vec<Arc<Slot>> = names.iter().map(|n| cache.slot(n)).collect();
    let mut progs = Vec::new();
    // The loads this test did (another test may have loaded a program).
    let mut load_notes = Vec::new();
    for (slot, name) in slots.iter().zip(&names) {
        let mut here = false;
        let loaded = slot.get_or_init(|| {
            here = true;
            Program::load(object, name).map(Mutex::new)
        });
        match loaded {
            Ok(p) => match p.lock() {
                Ok(g) => {
                    if here {
                        load_notes.push(g.load_note.clone());
                    }
                    progs.push(g)
                }
                Err(_) => {
                    return (
                        TestReport::fail("a sweep program's lock is poisoned"),
                        Stats::default(),
                    )
                }
            },
            Err(e) => return (TestReport::fail(format!("{e:#}")), Stats::default()),
        }
    }
    let stats = Cell::new(Stats::default());
    let count = |resolved: &[(Seq, Vec<ModelStep>)]| {
        let mut s = stats.get();
        s.batches += 1;
        for (seq, model) in resolved {
            s.sequences += 1;
            s.ops += seq.ops.len() as u64;
            s.null += model[0].slots[0].is_some_and(|v| v.null) as u64;
            for (o, m) in seq.ops.iter().zip(&model[1..]) {
                s.results[o.code as usize][(m.ret < 0) as usize] += 1;
                if let Some(w) = m.walk {
                    s.walked += w.steps;
                    s.walk_errors += (w.err != 0) as u64;
                }
            }
        }
        stats.set(s);
    };
    let infra_error: RefCell<Option<String>> = RefCell::new(None);
    let config = Config {
        cases: opt.cases,
        failure_persistence: None,
        max_shrink_iters: 2048,
        max_local_rejects: 0,
        max_global_rejects: 0,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &rng_seed(opt.seed, name)),
    );
    let shrinking = Cell::new(false);
    // The time spent running the programs (the maps in and out included).
    let in_runs = Cell::new(std::time::Duration::ZERO);
    let start = Instant::now();
    let test = |b: BatchSpec| -> Result<(), TestCaseError> {
        let resolved: Vec<(Seq, Vec<ModelStep>)> =
            b.seqs.iter().map(|s| resolve(kind, b.pkt_len, s)).collect();
        let seqs: Vec<Seq> = resolved.iter().map(|r| r.0.clone()).collect();
        if !shrinking.get() {
            count(&resolved);
        }
        let run = |p: usize| {
            let t = Instant::now();
            let out = progs[p].run(kind, b.pkt_len, &seqs);
            in_runs.set(in_runs.get() + t.elapsed());
            out
        };
        let fail = |e: anyhow::Error| {
            let e = format!("{e:#}");
            infra_error.borrow_mut().get_or_insert(e.clone());
            TestCaseError::fail(e)
        };
        let rd = run(0).map_err(fail)?;
        let kern = if diff {
            Some(run(1).map_err(fail)?)
        } else {
            None
        };
        let mut msgs = Vec::new();
        let mut known = [0u64; KNOWN];
        for (i, (seq, model)) in resolved.iter().enumerate() {
            let r = match &kern {
                None => check_model(kind, seq, model, &rd[i]),
                Some(k) => check_diff(kind, seq, model, &rd[i], &k[i]).map(|n| {
                    for (t, n) in known.iter_mut().zip(n) {
                        *t += n;
                    }
                }),
            };
            if let Err(why) = r {
                msgs.push(failure(kind, b.pkt_len, seq, model, &format!("{why:#}")));
            }
        }
        if msgs.is_empty() {
            if !shrinking.get() {
                let mut s = stats.get();
                for (t, n) in s.known.iter_mut().zip(known) {
                    *t += n;
                }
                stats.set(s);
            }
            Ok(())
        } else {
            shrinking.set(true);
            // The shortest failing sequence.
            msgs.sort_by_key(|m| m.lines().count());
            let mut m = msgs.swap_remove(0);
            if !msgs.is_empty() {
                let _ = write!(m, "\n({} more failing sequences in the batch)", msgs.len());
            }
            Err(TestCaseError::fail(m))
        }
    };
    let result = runner.run(&batch_strategy(kind, opt.clone), test);
    let elapsed = start.elapsed();
    let s = stats.get();
    let mut rep = TestReport::pass();
    rep.note(format!(
        "{} sequences ({} operations) in {} batches, {:.1} s ({:.1} s running the programs)",
        s.sequences,
        s.ops,
        s.batches,
        elapsed.as_secs_f64(),
        in_runs.get().as_secs_f64()
    ));
    rep.note(s.coverage());
    for n in load_notes {
        rep.note(n);
    }
    if diff {
        rep.note(s.classified());
    }
    match result {
        Ok(()) => {}
        Err(TestError::Abort(why)) => rep.fail_with(format!("aborted: {why}")),
        Err(TestError::Fail(why, batch)) => {
            if let Some(e) = infra_error.borrow().as_ref() {
                rep.fail_with(format!("error: {e}"));
            } else {
                rep.fail_with(format!(
                    "mismatch (after shrinking; the shortest failing sequence of a batch of {}):",
                    batch.seqs.len()
                ));
                rep.diagnostics
                    .extend(why.message().lines().map(str::to_string));
            }
            rep.note(format!(
                "replay: make vmtest FILTER={name} SWEEP_SEED={} (or rdynptr-test --sweep-seed {} ...)",
                opt.seed, opt.seed
            ));
        }
    }
    (rep, s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::model::E2BIG;
    use crate::sweep::ops::{Arg, OpSpec, SeqSpec, Step};

    fn obs_of(kind: Kind, v: &View) -> Obs {
        expected_obs(kind, v)
    }

    #[test]
    fn every_type_has_a_model_and_a_differential_test() {
        let names: Vec<String> = SweepTest::all().map(SweepTest::name).collect();
        assert_eq!(names.len(), 2 * crate::sweep::KINDS.len());
        assert_eq!(names[0], "sweep/model_local");
        assert!(names.contains(&"sweep/differential_skb_meta".to_string()));
        assert_eq!(
            names.last().map(String::as_str),
            Some("sweep/differential_file")
        );
    }

    #[test]
    fn a_seed_replays_the_same_batches() {
        use proptest::strategy::{Strategy, ValueTree};
        let batches = |seed| {
            let mut r = TestRunner::new_with_rng(
                Config::default(),
                TestRng::from_seed(RngAlgorithm::ChaCha, &rng_seed(seed, "sweep/model_local")),
            );
            (0..3)
                .map(|_| {
                    let t = batch_strategy(Kind::Local, true).new_tree(&mut r).unwrap();
                    format!("{:?}", t.current())
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(batches(7), batches(7));
        assert_ne!(batches(7), batches(8));
    }

    #[test]
    fn seeds_differ_per_test_and_repeat_per_seed() {
        assert_eq!(rng_seed(1, "a"), rng_seed(1, "a"));
        assert_ne!(rng_seed(1, "a"), rng_seed(1, "b"));
        assert_ne!(rng_seed(1, "a"), rng_seed(2, "a"));
    }

    #[test]
    fn expected_reads_follow_the_view_in_the_data() {
        let mut v = View::new(Kind::SkbRdonly, 50, true);
        v.advance(10);
        v.trim(30);
        let o = obs_of(Kind::SkbRdonly, &v);
        assert_eq!((o.rd_first, o.first), (0, pattern(24)));
        assert_eq!((o.rd_last, o.last), (0, pattern(24 + 9)));
        assert_eq!(o.rd_past, E2BIG as i32);
        let n = obs_of(Kind::Local, &View::null(Kind::Local));
        assert_eq!((n.rd_first, n.rd_last, n.rd_past), (-22, -22, -22));
        assert_eq!(
            (n.size, n.ksize, n.knull, n.krdonly),
            (EINVAL, EINVAL, 1, 0)
        );
    }

    fn step(model: &ModelStep, kind: Kind, ret: i64) -> Step {
        let mut s = Step::new_zeroed();
        s.ret = ret;
        s.it = expected_walk(model);
        for k in 0..SLOTS {
            if let Some(v) = &model.slots[k] {
                s.obs[k] = obs_of(kind, v);
            }
        }
        s
    }

    /// The kernel's answers simulated from the model, then perturbed.
    fn run_of(kind: Kind, model: &[ModelStep], seq: &Seq) -> SeqOut {
        SeqOut {
            done: seq.ops.len() as u32,
            steps: model.iter().map(|m| step(m, kind, m.ret)).collect(),
        }
    }

    fn seq(ops: Vec<OpSpec>) -> (Seq, Vec<ModelStep>) {
        resolve(
            Kind::Local,
            64,
            &SeqSpec {
                size: 16,
                null: false,
                ops,
            },
        )
    }

    fn op(code: Code, slot: u8, arg: Arg) -> OpSpec {
        OpSpec {
            code,
            slot,
            src: 0,
            arg,
            step: Arg::Abs(3),
        }
    }

    #[test]
    fn model_check_accepts_agreement_and_reports_the_first_difference() {
        let (s, m) = seq(vec![
            op(Code::Trim, 0, Arg::Abs(4)),
            op(Code::Trim, 0, Arg::Wrap32(0)),
        ]);
        let mut out = run_of(Kind::Local, &m, &s);
        check_model(Kind::Local, &s, &m, &out).unwrap();
        // A trim comparing on 32 bits: 2^32 + 12 acts as 12.
        out.steps[2].ret = 0;
        out.steps[2].obs[0].size = 0;
        let e = format!("{:#}", check_model(Kind::Local, &s, &m, &out).unwrap_err());
        assert!(e.starts_with("after op 2 trim(s0, 0x10000000c)"), "{e}");
        assert!(e.contains("result: kernel 0 model -34"), "{e}");
        assert!(e.contains("size: 0 vs 12"), "{e}");
    }

    /// What the kernel program records for the same views: no rdynptr
    /// queries.
    fn as_kernel_run(rd: &SeqOut) -> SeqOut {
        let mut kern = rd.clone();
        for st in kern.steps.iter_mut() {
            for o in st.obs.iter_mut() {
                *o = o.kernel_visible();
            }
        }
        kern
    }

    #[test]
    fn differential_check_classifies_adjust_and_clone_differences() {
        let (s, m) = seq(vec![
            op(Code::Advance, 0, Arg::SizePlus(1)),
            op(Code::GetOffset, 0, Arg::Abs(0)),
            op(Code::Clone, 1, Arg::SizePlus(1)),
            op(Code::Trim, 1, Arg::Abs(1)),
        ]);
        let rd = run_of(Kind::Local, &m, &s);
        let mut kern = as_kernel_run(&rd);
        kern.steps[1].ret = EINVAL; // adjust: start > end
        kern.steps[2].ret = NOT_APPLIED; // no offset getter
        kern.steps[3].ret = EINVAL; // clone + adjust past the end
                                    // the kernel's clone stays valid and full size
        kern.steps[3].obs[1] = obs_of(Kind::Local, &View::new(Kind::Local, 16, false));
        kern.steps[4].ret = 0;
        assert_eq!(
            check_diff(Kind::Local, &s, &m, &rd, &kern).unwrap(),
            [1, 1, 1, 0, 0]
        );
        // An unexplained difference: trim results differ on slot 0.
        let (s2, m2) = seq(vec![op(Code::Trim, 0, Arg::Abs(3))]);
        let rd2 = run_of(Kind::Local, &m2, &s2);
        let mut k2 = as_kernel_run(&rd2);
        k2.steps[1].ret = ERANGE;
        let e = format!(
            "{:#}",
            check_diff(Kind::Local, &s2, &m2, &rd2, &k2).unwrap_err()
        );
        assert!(e.contains("result: rdynptr 0 kernel -34"), "{e}");
    }
}
