// SPDX-License-Identifier: GPL-2.0
//! Operation sequences: how they are generated (proptest strategies),
//! resolved against the model into concrete operations, laid out for the
//! BPF program (tools/selftests/rdynptr_sweep.bpf.c) and read back.

use super::model::{self, IterOut, Kind, View, Walk};
use anyhow::{anyhow, bail};
use proptest::prelude::*;
use std::fmt;
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

/// Must match rdynptr_sweep.bpf.c.
pub const MAX_OPS: usize = 10;
pub const SLOTS: usize = 3;
pub const BATCH: usize = 64;
/// The fewest sequences of a generated batch: shrinking minimizes each
/// sequence, not their number, and only failing sequences are shown.
pub const MIN_BATCH: usize = 48;
pub const BUF: usize = 1024;
pub const RB_SIZE: u64 = 256 * 1024;
/// Result of an operation the program did not apply.
pub const NOT_APPLIED: i64 = 0x7ead_beef;

/// Packet length bounds of the test runs (Ethernet header .. buffer).
pub const MIN_PKT: u32 = 14;

/// The byte at position `i` of the local buffer, the ring buffer record
/// and the test packet.  Not periodic over 256, so that a view that is off
/// by 256 bytes reads different bytes.
pub fn pattern(i: usize) -> u8 {
    let i = i as u32;
    (i.wrapping_mul(167) ^ (i >> 8).wrapping_mul(29)).wrapping_add(3) as u8
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Trim = 1,
    Advance = 2,
    GetSize = 3,
    GetOffset = 4,
    IsNull = 5,
    IsRdonly = 6,
    Clone = 7,
    /// Walk the view with the iterator, in chunks of `arg` bytes.
    Iter = 8,
    /// ... setting the step to `step` at every step.
    IterStep = 9,
    /// ... setting the step to the step's first byte % 16 (records whose
    /// length is in the data; 0 ends the walk with -EINVAL).
    IterRec = 10,
}

impl Code {
    pub fn name(self) -> &'static str {
        match self {
            Code::Trim => "trim",
            Code::Advance => "advance",
            Code::GetSize => "get_size",
            Code::GetOffset => "get_offset",
            Code::IsNull => "is_null",
            Code::IsRdonly => "is_rdonly",
            Code::Clone => "clone",
            Code::Iter => "iter",
            Code::IterStep => "iter_step",
            Code::IterRec => "iter_rec",
        }
    }

    /// How an iteration operation walks.
    pub fn walk(self, step: u64) -> Option<Walk> {
        match self {
            Code::Iter => Some(Walk::Chunks),
            Code::IterStep => Some(Walk::Step(step)),
            Code::IterRec => Some(Walk::Records),
            _ => None,
        }
    }
}

/// Every operation code, in the order of their numbers.
pub const CODES: [Code; 10] = [
    Code::Trim,
    Code::Advance,
    Code::GetSize,
    Code::GetOffset,
    Code::IsNull,
    Code::IsRdonly,
    Code::Clone,
    Code::Iter,
    Code::IterStep,
    Code::IterRec,
];

/// A length or offset, relative to the size of the view it applies to
/// where that makes the boundary cases likely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// A fixed value (0, 1, 2^32, 2^64 - 1, ...).
    Abs(u64),
    /// size + delta (saturating at 0): size - 1, size, size + 1, ...
    SizePlus(i8),
    /// size * n / 4
    Quarter(u8),
    /// 2^32 + size + delta: equals a valid length in its low 32 bits.
    Wrap32(i8),
}

impl Arg {
    pub fn resolve(self, size: u64) -> u64 {
        match self {
            Arg::Abs(v) => v,
            Arg::SizePlus(d) => size.saturating_add_signed(d as i64),
            Arg::Quarter(n) => size * n as u64 / 4,
            Arg::Wrap32(d) => (1u64 << 32)
                .wrapping_add(size)
                .wrapping_add_signed(d as i64),
        }
    }
}

/// A generated operation; `slot` and `src` are normalized when resolved.
#[derive(Debug, Clone, Copy)]
pub struct OpSpec {
    pub code: Code,
    pub slot: u8,
    pub src: u8,
    pub arg: Arg,
    /// The step of an IterStep operation.
    pub step: Arg,
}

#[derive(Debug, Clone)]
pub struct SeqSpec {
    pub size: u32,
    pub null: bool,
    pub ops: Vec<OpSpec>,
}

#[derive(Debug, Clone)]
pub struct BatchSpec {
    pub pkt_len: u32,
    pub seqs: Vec<SeqSpec>,
}

/// A concrete operation as the BPF program gets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    pub code: Code,
    pub slot: u32,
    pub src: u32,
    pub arg: u64,
    pub step: u64,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Code::Clone => write!(f, "s{} = clone(s{}, {:#x})", self.slot, self.src, self.arg),
            Code::Trim | Code::Advance => {
                write!(f, "{}(s{}, {:#x})", self.code.name(), self.slot, self.arg)
            }
            Code::Iter | Code::IterRec => {
                write!(
                    f,
                    "{}(s{}, chunk {:#x})",
                    self.code.name(),
                    self.slot,
                    self.arg
                )
            }
            Code::IterStep => write!(
                f,
                "{}(s{}, chunk {:#x}, step {:#x})",
                self.code.name(),
                self.slot,
                self.arg,
                self.step
            ),
            _ => write!(f, "{}(s{})", self.code.name(), self.slot),
        }
    }
}

/// A concrete sequence: the initial dynptr (slot 0) and the operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seq {
    pub size: u32,
    pub flags: u32,
    pub ops: Vec<Op>,
}

/// The model's state after one step: the result and every slot's view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelStep {
    pub ret: i64,
    pub slots: [Option<View>; SLOTS],
    /// What an iteration operation walked.
    pub walk: Option<IterOut>,
}

/// An arm of [`weighted`]: its weight, and how it makes a value from a
/// random word.
type Arm<T> = (u32, fn(u64) -> T);

/// One of `arms`, each `(weight, f)`, picked by weight, with its value
/// made by `f` from one random u64.
///
/// The same distribution as `prop_oneof!` over `(weight, strategy)` arms
/// when each `f` maps the random word uniformly (up to a bias of at most
/// 2^-50), at a fraction of its cost: a union's value tree keeps a clone of
/// the test runner for every arm before the one picked, which made
/// generating the sweep's batches most of a sweep test's time in the
/// guest.  It shrinks towards the first arm, and there towards `f(0)`,
/// as a union shrinks towards its first arm.
fn weighted<T: core::fmt::Debug>(arms: &'static [Arm<T>]) -> impl Strategy<Value = T> {
    let total: u32 = arms.iter().map(|a| a.0).sum();
    (0..total, any::<u64>()).prop_map(move |(mut pick, word)| {
        for (weight, f) in arms {
            if pick < *weight {
                return f(word);
            }
            pick -= weight;
        }
        unreachable!("pick < total")
    })
}

/// `word` mapped onto `lo..=hi` (`hi - lo` far below 2^64).
fn in_range(word: u64, lo: i64, hi: i64) -> i64 {
    lo + (word % (hi - lo + 1) as u64) as i64
}

fn arg_strategy() -> impl Strategy<Value = Arg> {
    weighted(&[
        (30, |w| Arg::SizePlus(in_range(w, -2, 2) as i8)),
        (20, |w| Arg::Quarter(in_range(w, 0, 4) as u8)),
        (20, |w| Arg::Wrap32(in_range(w, -1, 1) as i8)),
        // 30 for the absolute lengths, 3 each: boundaries of the 24-,
        // 32- and 64-bit arithmetic, small lengths and any.
        (3, |_| Arg::Abs(0)),
        (3, |_| Arg::Abs(1)),
        (3, |_| Arg::Abs(u32::MAX as u64)),
        (3, |_| Arg::Abs(1 << 32)),
        (3, |_| Arg::Abs((1 << 32) + 1)),
        (3, |_| Arg::Abs(1 << 63)),
        (3, |_| Arg::Abs(u64::MAX)),
        (3, |_| Arg::Abs(u64::MAX - 1)),
        (3, |w| Arg::Abs(w % 2048)),
        (3, Arg::Abs),
    ])
}

fn op_strategy(clones: bool) -> impl Strategy<Value = OpSpec> {
    let codes: Vec<Code> = [
        Code::Trim,
        Code::Advance,
        Code::GetSize,
        Code::GetOffset,
        Code::IsNull,
        Code::IsRdonly,
        Code::Iter,
        Code::IterStep,
        Code::IterRec,
    ]
    .into_iter()
    .chain(clones.then_some(Code::Clone))
    .chain(clones.then_some(Code::Clone))
    .collect();
    (
        proptest::sample::select(codes),
        0u8..SLOTS as u8,
        0u8..SLOTS as u8,
        arg_strategy(),
        arg_strategy(),
    )
        .prop_map(|(code, slot, src, arg, step)| OpSpec {
            code,
            slot,
            src,
            arg,
            step,
        })
}

/// Initial sizes of local, ring buffer and file dynptrs: small, up to the
/// buffer (the file), and (ring buffer) records that cannot be reserved.
fn size_strategy(kind: Kind) -> impl Strategy<Value = u32> {
    const LEN: i64 = model::FILE_LEN as i64;
    weighted(match kind {
        Kind::Ringbuf => &[
            (8, |w| in_range(w, 0, 16) as u32),
            (8, |w| in_range(w, 0, BUF as i64) as u32),
            (8, |_| BUF as u32),
            (3, |_| 1 << 20),
            (3, |_| 1 << 24),
        ],
        Kind::File => &[
            (1, |w| in_range(w, 0, 16) as u32),
            (1, |w| in_range(w, 0, LEN) as u32),
            (1, |_| LEN as u32),
        ],
        _ => &[
            (1, |w| in_range(w, 0, 16) as u32),
            (1, |w| in_range(w, 0, BUF as i64) as u32),
            (1, |_| BUF as u32),
        ],
    })
}

pub fn seq_strategy(kind: Kind, clones: bool) -> impl Strategy<Value = SeqSpec> {
    (
        size_strategy(kind),
        proptest::bool::weighted(0.1),
        proptest::collection::vec(op_strategy(clones), 0..=MAX_OPS),
    )
        .prop_map(|(size, null, ops)| SeqSpec { size, null, ops })
}

pub fn batch_strategy(kind: Kind, clones: bool) -> impl Strategy<Value = BatchSpec> {
    (
        weighted(&[
            (1, |_| MIN_PKT),
            (1, |w| {
                in_range(w, MIN_PKT as i64, MIN_PKT as i64 + 2) as u32
            }),
            (1, |w| in_range(w, MIN_PKT as i64, BUF as i64) as u32),
            (1, |_| BUF as u32),
        ]),
        proptest::collection::vec(seq_strategy(kind, clones), MIN_BATCH..=BATCH),
    )
        .prop_map(|(pkt_len, seqs)| BatchSpec { pkt_len, seqs })
}

/// The byte at position `pos` of a dynptr's data in the sweep (None: no
/// data there the sweep knows).
pub fn data_byte(kind: Kind, pos: u64) -> Option<u8> {
    let pos = usize::try_from(pos).ok()?;
    match kind {
        Kind::SkbMeta => None,
        Kind::File => Some(crate::trigger::test_file_byte(pos)),
        // cgroup_skb programs see the packet from its network header.
        Kind::SkbRdonly => Some(pattern(pos + 14)),
        _ => Some(pattern(pos)),
    }
}

/// Resolves a generated sequence against the model: makes every slot use
/// valid (a slot is used only after a clone made it, each clone slot is
/// made once, from a slot that exists; anything else targets slot 0 or
/// becomes get_size), computes the arguments from the current views, and
/// returns the concrete sequence with the model's steps (creation first).
pub fn resolve(kind: Kind, pkt_len: u32, spec: &SeqSpec) -> (Seq, Vec<ModelStep>) {
    let flags = spec.null as u32;
    let (ret, v0) = model::create(
        kind,
        spec.size as u64,
        flags as u64,
        pkt_len as u64,
        RB_SIZE,
    );
    let mut slots: [Option<View>; SLOTS] = [Some(v0), None, None];
    let mut steps = vec![ModelStep {
        ret,
        slots,
        walk: None,
    }];
    let mut ops = Vec::new();
    for o in &spec.ops {
        let mut slot = o.slot as usize % SLOTS;
        let mut code = o.code;
        let mut src = o.src as usize % SLOTS;
        if code == Code::Clone {
            if slot == 0 || slots[slot].is_some() {
                match (1..SLOTS).find(|&k| slots[k].is_none()) {
                    Some(k) => slot = k,
                    None => code = Code::GetSize,
                }
            }
            if code == Code::Clone && (src == slot || slots[src].is_none()) {
                src = 0;
            }
        }
        if code != Code::Clone && slots[slot].is_none() {
            slot = 0;
        }
        let ret;
        let arg;
        let mut step = 0;
        let mut walk = None;
        if code == Code::Clone {
            let parent = slots[src].unwrap_or(View::null(kind));
            arg = o.arg.resolve(parent.usable());
            let (r, c) = parent.clone_at(arg);
            ret = r;
            slots[slot] = Some(c);
        } else {
            let Some(v) = slots[slot].as_mut() else {
                unreachable!("slot 0 always exists")
            };
            arg = match code {
                Code::GetSize | Code::GetOffset | Code::IsNull | Code::IsRdonly | Code::Clone => 0,
                _ => o.arg.resolve(v.usable()),
            };
            if code == Code::IterStep {
                step = o.step.resolve(v.usable());
            }
            ret = match code {
                Code::Trim => v.trim(arg),
                Code::Advance => v.advance(arg),
                Code::GetSize => v.get_size(),
                Code::GetOffset => v.get_offset(),
                Code::IsNull => v.is_null() as i64,
                Code::IsRdonly => v.is_rdonly() as i64,
                Code::Iter | Code::IterStep | Code::IterRec => {
                    let w = v.iterate(arg, code.walk(step).unwrap_or(Walk::Chunks), |pos| {
                        data_byte(kind, pos)
                    });
                    walk = Some(w);
                    w.ret
                }
                Code::Clone => unreachable!(),
            };
            src = 0;
            // A FILE dynptr's view is in its file state, shared by every
            // clone: what one slot does to it, all see.
            let now = *v;
            if kind == Kind::File && !now.null {
                for other in slots.iter_mut().flatten().filter(|o| !o.null) {
                    *other = now;
                }
            }
        }
        ops.push(Op {
            code,
            slot: slot as u32,
            src: src as u32,
            arg,
            step,
        });
        steps.push(ModelStep { ret, slots, walk });
    }
    (
        Seq {
            size: spec.size,
            flags,
            ops,
        },
        steps,
    )
}

/// Declares the Rust mirror of a struct of rdynptr_sweep.bpf.c: the
/// bytes are read and written with zerocopy (which refuses padding the C
/// struct does not spell out), and [`check_layout`] compares every field's
/// offset with the object's BTF.
macro_rules! wire_struct {
    ($(#[$m:meta])* $name:ident = $cname:literal {
        $($(#[$fm:meta])* $f:ident: $t:ty,)*
    }) => {
        $(#[$m])*
        #[repr(C)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
        pub struct $name {
            $($(#[$fm])* pub $f: $t,)*
        }

        impl Wire for $name {
            const C_NAME: &'static str = $cname;
            const FIELDS: &'static [(&'static str, usize)] =
                &[$((stringify!($f), std::mem::offset_of!($name, $f)),)*];
        }
    };
}

/// A struct shared with the BPF program.
pub trait Wire: Sized {
    /// Its name in C.
    const C_NAME: &'static str;
    /// Its fields (named as in C) and their offsets.
    const FIELDS: &'static [(&'static str, usize)];
}

wire_struct! {
    /// struct sw_op
    WireOp = "sw_op" {
        code: u32,
        slot: u32,
        src: u32,
        pad: u32,
        arg: u64,
        step: u64,
    }
}

wire_struct! {
    /// struct sw_seq
    WireSeq = "sw_seq" {
        size: u32,
        flags: u32,
        nops: u32,
        pad: u32,
        ops: [WireOp; MAX_OPS],
    }
}

wire_struct! {
    /// struct sw_in, the value of the map sw_in
    WireIn = "sw_in" {
        nseqs: u32,
        kind: u32,
        tid: u32,
        pad: u32,
        pattern: [u8; BUF],
        seqs: [WireSeq; BATCH],
    }
}

wire_struct! {
    /// struct sw_obs: what the program saw of one slot.
    Obs = "sw_obs" {
        size: i64,
        off: i64,
        ksize: i64,
        rd_first: i32,
        rd_last: i32,
        rd_past: i32,
        valid: u8,
        null: u8,
        rdonly: u8,
        knull: u8,
        krdonly: u8,
        first: u8,
        last: u8,
        slice: u8,
        sfirst: u8,
        pad: [u8; 3],
    }
}

wire_struct! {
    /// struct sw_iter: what an iteration operation saw.
    IterObs = "sw_iter" {
        steps: u64,
        hash: u64,
        end: u64,
        err: i64,
    }
}

wire_struct! {
    /// struct sw_step: an operation's result and the slots after it.
    Step = "sw_step" {
        ret: i64,
        obs: [Obs; SLOTS],
        it: IterObs,
    }
}

wire_struct! {
    /// struct sw_seq_out
    WireSeqOut = "sw_seq_out" {
        done: u32,
        pad: u32,
        init: Step,
        steps: [Step; MAX_OPS],
    }
}

wire_struct! {
    /// struct sw_out, the value of the map sw_out
    WireOut = "sw_out" {
        runs: u64,
        seqs: [WireSeqOut; BATCH],
    }
}

/// Every struct shared with the program: (C name, size, fields).
type Layout = (&'static str, usize, &'static [(&'static str, usize)]);

fn layout<T: Wire>() -> Layout {
    (T::C_NAME, std::mem::size_of::<T>(), T::FIELDS)
}

pub fn layouts() -> [Layout; 8] {
    [
        layout::<WireOp>(),
        layout::<WireSeq>(),
        layout::<WireIn>(),
        layout::<Obs>(),
        layout::<IterObs>(),
        layout::<Step>(),
        layout::<WireSeqOut>(),
        layout::<WireOut>(),
    ]
}

pub const IN_SIZE: usize = std::mem::size_of::<WireIn>();
pub const OUT_SIZE: usize = std::mem::size_of::<WireOut>();

/// Compares the mirrors with the structs as the BPF object's BTF has them
/// (`btf_struct(name)`: the struct's size and its members with their byte
/// offsets): the same fields, in the same places, and the same sizes.
pub fn check_layout(
    btf_struct: impl Fn(&str) -> Option<(usize, Vec<(String, usize)>)>,
) -> anyhow::Result<()> {
    for (name, size, fields) in layouts() {
        let (bsize, members) =
            btf_struct(name).ok_or_else(|| anyhow!("struct {name} is not in the object's BTF"))?;
        let ours: Vec<(String, usize)> = fields.iter().map(|&(f, o)| (f.to_string(), o)).collect();
        if bsize != size || members != ours {
            bail!(
                "struct {name} differs between rdynptr_sweep.bpf.c ({bsize} bytes: {members:?}) \
                 and tools/harness/src/sweep/ops.rs ({size} bytes: {ours:?})"
            );
        }
    }
    Ok(())
}

impl Obs {
    /// What the kernel-kfunc program records of the same slot: it cannot
    /// query the view through the rdynptr kfuncs (size, off, null, rdonly).
    pub fn kernel_visible(mut self) -> Obs {
        if self.valid != 0 {
            self.size = NOT_APPLIED;
            self.off = NOT_APPLIED;
            self.null = 0xff;
            self.rdonly = 0xff;
        }
        self
    }
}

/// The sw_in map value for a batch.
pub fn encode(kind_code: u32, tid: u32, seqs: &[Seq]) -> Vec<u8> {
    // Fails only where a Vec of the same size would abort.
    let mut w = WireIn::new_box_zeroed().expect("allocating sw_in");
    w.nseqs = seqs.len().min(BATCH) as u32;
    w.kind = kind_code;
    w.tid = tid;
    for (i, b) in w.pattern.iter_mut().enumerate() {
        *b = pattern(i);
    }
    for (ws, s) in w.seqs.iter_mut().zip(seqs) {
        ws.size = s.size;
        ws.flags = s.flags;
        ws.nops = s.ops.len().min(MAX_OPS) as u32;
        for (wo, o) in ws.ops.iter_mut().zip(&s.ops) {
            wo.code = o.code as u32;
            wo.slot = o.slot;
            wo.src = o.src;
            wo.arg = o.arg;
            wo.step = o.step;
        }
    }
    w.as_bytes().to_vec()
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeqOut {
    pub done: u32,
    /// The creation (ret: the constructor's return value), then one step
    /// per applied operation.
    pub steps: Vec<Step>,
}

/// The sw_out map value: the run counter and the first `n` sequences;
/// None if `b` is not a whole sw_out.
pub fn decode(b: &[u8], n: usize) -> Option<(u64, Vec<SeqOut>)> {
    let w = WireOut::ref_from_bytes(b).ok()?;
    let out = w
        .seqs
        .iter()
        .take(n)
        .map(|s| {
            let done = (s.done as usize).min(MAX_OPS);
            SeqOut {
                done: s.done,
                steps: std::iter::once(s.init)
                    .chain(s.steps[..done].iter().copied())
                    .collect(),
            }
        })
        .collect();
    Some((w.runs, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn weighted_picks_arms_by_weight_and_shrinks_to_the_first() {
        let s = weighted::<(u8, u64)>(&[(1, |w| (0, w)), (3, |w| (1, w % 10)), (6, |_| (2, 0))]);
        let mut runner = TestRunner::deterministic();
        let mut count = [0u32; 3];
        let n = 20_000;
        for _ in 0..n {
            let (arm, v) = s.new_tree(&mut runner).unwrap().current();
            count[arm as usize] += 1;
            if arm == 1 {
                assert!(v < 10);
            }
        }
        // Within 5 standard deviations of n / 10, 3n / 10 and 6n / 10.
        for (got, want) in count.iter().zip([0.1, 0.3, 0.6]) {
            let (mean, sd) = (n as f64 * want, (n as f64 * want * (1.0 - want)).sqrt());
            assert!((*got as f64 - mean).abs() < 5.0 * sd, "{count:?}");
        }
        let mut t = s.new_tree(&mut runner).unwrap();
        while t.current().0 != 2 {
            t = s.new_tree(&mut runner).unwrap();
        }
        while t.simplify() {}
        assert_eq!(
            t.current(),
            (0, 0),
            "shrinks to the first arm's simplest value"
        );
    }

    proptest! {
        #[test]
        fn model_views_stay_inside_the_data_and_errors_change_nothing(
            spec in seq_strategy(Kind::Local, true)
        ) {
            let (seq, steps) = resolve(Kind::Local, 64, &spec);
            prop_assert_eq!(seq.ops.len(), spec.ops.len());
            let end = spec.size as u64;
            for st in &steps {
                for v in st.slots.iter().flatten().filter(|v| !v.null) {
                    prop_assert!(v.offset + v.size <= end, "{:?} beyond {}", v, end);
                }
            }
            for (j, op) in seq.ops.iter().enumerate() {
                let (before, after) = (&steps[j], &steps[j + 1]);
                let k = op.slot as usize;
                for other in (0..SLOTS).filter(|&o| o != k) {
                    prop_assert_eq!(before.slots[other], after.slots[other], "views are independent");
                }
                match op.code {
                    Code::Clone => {
                        prop_assert!(before.slots[k].is_none(), "a clone goes into a free slot");
                        if after.ret < 0 {
                            prop_assert!(after.slots[k].is_some_and(|v| v.null), "failed clones are null");
                        }
                    }
                    Code::Trim | Code::Advance if after.ret == 0 => {}
                    _ => prop_assert_eq!(before.slots[k], after.slots[k], "errors and queries change nothing"),
                }
            }
        }
    }

    /// The layouts as a BTF with the mirrors' own fields would give them.
    fn btf_of_mirrors(name: &str) -> Option<(usize, Vec<(String, usize)>)> {
        let (_, size, fields) = layouts().into_iter().find(|l| l.0 == name)?;
        Some((
            size,
            fields.iter().map(|&(f, o)| (f.to_string(), o)).collect(),
        ))
    }

    #[test]
    fn layout_check_finds_swapped_fields_of_the_same_size() {
        check_layout(btf_of_mirrors).unwrap();
        // rd_first and rd_last swapped in the C struct: same size.
        let swapped = |name: &str| {
            let (size, mut f) = btf_of_mirrors(name)?;
            if name == "sw_obs" {
                f.swap(3, 4);
                let (a, b) = (f[3].1, f[4].1);
                f[3].1 = b;
                f[4].1 = a;
            }
            Some((size, f))
        };
        let e = format!("{:#}", check_layout(swapped).unwrap_err());
        assert!(e.starts_with("struct sw_obs differs"), "{e}");
        let missing = |name: &str| (name != "sw_iter").then(|| btf_of_mirrors(name)).flatten();
        let e = format!("{:#}", check_layout(missing).unwrap_err());
        assert!(e.contains("sw_iter"), "{e}");
    }

    #[test]
    fn layout_sizes_match_the_bpf_structs() {
        // struct sw_in / sw_out of rdynptr_sweep.bpf.c (the harness also
        // checks every field against the object's BTF).
        assert_eq!(std::mem::size_of::<WireOp>(), 32);
        assert_eq!(std::mem::size_of::<Obs>(), 48);
        assert_eq!(IN_SIZE, 16 + 1024 + 64 * (16 + 10 * 32));
        assert_eq!(OUT_SIZE, 8 + 64 * (8 + 11 * (8 + 3 * 48 + 32)));
    }

    #[test]
    fn pattern_is_not_periodic_over_256_bytes() {
        assert!((0..768).any(|i| pattern(i) != pattern(i + 256)));
        assert_ne!(
            [pattern(12), pattern(13)],
            [0x08, 0x00],
            "not an IPv4 EtherType"
        );
    }

    #[test]
    fn wrap32_arguments_equal_valid_lengths_in_their_low_bits() {
        assert_eq!(Arg::Wrap32(0).resolve(10), (1 << 32) + 10);
        assert_eq!(Arg::Wrap32(-1).resolve(10) as u32, 9);
        assert_eq!(Arg::SizePlus(-2).resolve(1), 0);
        assert_eq!(Arg::SizePlus(1).resolve(u64::MAX), u64::MAX);
        assert_eq!(Arg::Quarter(2).resolve(10), 5);
    }

    #[test]
    fn resolution_uses_only_slots_that_exist() {
        let spec = SeqSpec {
            size: 8,
            null: false,
            ops: vec![
                OpSpec {
                    code: Code::Trim,
                    slot: 2,
                    src: 0,
                    arg: Arg::Abs(1),
                    step: Arg::Abs(0),
                },
                OpSpec {
                    code: Code::Clone,
                    slot: 0,
                    src: 1,
                    arg: Arg::SizePlus(-1),
                    step: Arg::Abs(0),
                },
                OpSpec {
                    code: Code::Clone,
                    slot: 1,
                    src: 1,
                    arg: Arg::Abs(0),
                    step: Arg::Abs(0),
                },
                OpSpec {
                    code: Code::Clone,
                    slot: 2,
                    src: 0,
                    arg: Arg::Abs(0),
                    step: Arg::Abs(0),
                },
                OpSpec {
                    code: Code::Advance,
                    slot: 2,
                    src: 0,
                    arg: Arg::SizePlus(1),
                    step: Arg::Abs(0),
                },
            ],
        };
        let (seq, steps) = resolve(Kind::Local, 64, &spec);
        let ops: Vec<String> = seq.ops.iter().map(|o| o.to_string()).collect();
        assert_eq!(
            ops,
            [
                "trim(s0, 0x1)",
                "s1 = clone(s0, 0x6)",
                "s2 = clone(s1, 0x0)",
                "get_size(s2)",
                "advance(s2, 0x2)",
            ]
        );
        let last = steps.last().unwrap();
        assert_eq!(last.ret, model::ERANGE);
        assert_eq!(last.slots[2].unwrap().offset, 6);
        assert_eq!(steps[4].ret, 1, "get_size of the empty-ish clone");
    }

    #[test]
    fn encode_and_decode_agree_with_the_layout() {
        let seq = Seq {
            size: 5,
            flags: 1,
            ops: vec![Op {
                code: Code::IterStep,
                slot: 2,
                src: 1,
                arg: u64::MAX,
                step: 7,
            }],
        };
        let b = encode(3, 42, &[seq]);
        let w = WireIn::ref_from_bytes(&b).unwrap();
        assert_eq!((w.nseqs, w.kind, w.tid), (1, 3, 42));
        assert_eq!((w.seqs[0].size, w.seqs[0].flags, w.seqs[0].nops), (5, 1, 1));
        let o = w.seqs[0].ops[0];
        assert_eq!(
            (o.code, o.slot, o.src, o.arg, o.step),
            (9, 2, 1, u64::MAX, 7)
        );
        assert_eq!(w.pattern[300], pattern(300));
        let mut out = WireOut::new_box_zeroed().unwrap();
        out.runs = 3;
        out.seqs[0].done = 1;
        out.seqs[0].steps[0].ret = 0xde;
        out.seqs[0].steps[0].obs[0].valid = 1;
        out.seqs[0].steps[0].it.hash = 5;
        let (runs, seqs) = decode(out.as_bytes(), 1).unwrap();
        assert_eq!((runs, seqs[0].steps.len()), (3, 2));
        assert_eq!(seqs[0].steps[1].ret, 0xde);
        assert_eq!(seqs[0].steps[1].obs[0].valid, 1);
        assert_eq!(seqs[0].steps[1].it.hash, 5);
        assert_eq!(decode(&b, 1), None, "an sw_in is not an sw_out");
    }

    #[test]
    fn file_clones_share_the_view_in_the_model() {
        let op = |code, slot, arg| OpSpec {
            code,
            slot,
            src: 0,
            arg: Arg::Abs(arg),
            step: Arg::Abs(0),
        };
        let spec = SeqSpec {
            size: 100,
            null: false,
            ops: vec![
                op(Code::Clone, 1, 0),
                op(Code::Clone, 2, 5),
                op(Code::Advance, 1, 10),
                op(Code::Trim, 0, 20),
            ],
        };
        let (_, steps) = resolve(Kind::File, 0, &spec);
        let last = steps.last().unwrap();
        assert_eq!(steps[2].ret, model::EOPNOTSUPP);
        assert!(last.slots[2].unwrap().null, "a clone at an offset is null");
        for k in [0, 1] {
            let v = last.slots[k].unwrap();
            assert_eq!((v.offset, v.size), (10, 70), "slot {k}");
        }
        // Other types: independent views.
        let (_, steps) = resolve(Kind::Local, 0, &spec);
        assert_eq!(steps.last().unwrap().slots[1].unwrap().offset, 10);
        assert_eq!(steps.last().unwrap().slots[0].unwrap().offset, 0);
    }
}
