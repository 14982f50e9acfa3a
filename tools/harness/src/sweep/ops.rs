// SPDX-License-Identifier: GPL-2.0
//! Operation sequences: how they are generated (proptest strategies),
//! resolved against the model into concrete operations, laid out for the
//! BPF program (tools/selftests/rdynptr_sweep.bpf.c) and read back.

use super::model::{self, Kind, View};
use proptest::prelude::*;
use std::fmt;

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

const OP_SIZE: usize = 24;
const SEQ_SIZE: usize = 16 + MAX_OPS * OP_SIZE;
const SEQS_AT: usize = 16 + BUF;
pub const IN_SIZE: usize = SEQS_AT + BATCH * SEQ_SIZE;
const OBS_SIZE: usize = 48;
const STEP_SIZE: usize = 8 + SLOTS * OBS_SIZE;
const SEQ_OUT_SIZE: usize = 8 + (1 + MAX_OPS) * STEP_SIZE;
pub const OUT_SIZE: usize = 8 + BATCH * SEQ_OUT_SIZE;

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
        }
    }
}

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
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Code::Clone => write!(f, "s{} = clone(s{}, {:#x})", self.slot, self.src, self.arg),
            Code::Trim | Code::Advance => {
                write!(f, "{}(s{}, {:#x})", self.code.name(), self.slot, self.arg)
            }
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
}

fn arg_strategy() -> impl Strategy<Value = Arg> {
    prop_oneof![
        3 => (-2i8..=2).prop_map(Arg::SizePlus),
        2 => (0u8..=4).prop_map(Arg::Quarter),
        2 => (-1i8..=1).prop_map(Arg::Wrap32),
        3 => prop_oneof![
            Just(0u64),
            Just(1),
            Just(u32::MAX as u64),
            Just(1 << 32),
            Just((1 << 32) + 1),
            Just(1 << 63),
            Just(u64::MAX),
            Just(u64::MAX - 1),
            0u64..2048,
            any::<u64>(),
        ]
        .prop_map(Arg::Abs),
    ]
}

fn op_strategy(clones: bool) -> impl Strategy<Value = OpSpec> {
    let codes: Vec<Code> = [
        Code::Trim,
        Code::Advance,
        Code::GetSize,
        Code::GetOffset,
        Code::IsNull,
        Code::IsRdonly,
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
    )
        .prop_map(|(code, slot, src, arg)| OpSpec {
            code,
            slot,
            src,
            arg,
        })
}

/// Initial sizes of local and ring buffer dynptrs: small, up to the
/// buffer, and (ring buffer) records that cannot be reserved.
fn size_strategy(kind: Kind) -> BoxedStrategy<u32> {
    let small = prop_oneof![0u32..=16, 0u32..=BUF as u32, Just(BUF as u32)];
    if kind == Kind::Ringbuf {
        prop_oneof![8 => small, 1 => Just(1u32 << 20), 1 => Just(1u32 << 24)].boxed()
    } else {
        small.boxed()
    }
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
        prop_oneof![
            Just(MIN_PKT),
            MIN_PKT..=MIN_PKT + 2,
            MIN_PKT..=BUF as u32,
            Just(BUF as u32)
        ],
        proptest::collection::vec(seq_strategy(kind, clones), MIN_BATCH..=BATCH),
    )
        .prop_map(|(pkt_len, seqs)| BatchSpec { pkt_len, seqs })
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
    let mut steps = vec![ModelStep { ret, slots }];
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
                Code::Trim | Code::Advance => o.arg.resolve(v.usable()),
                _ => 0,
            };
            ret = match code {
                Code::Trim => v.trim(arg),
                Code::Advance => v.advance(arg),
                Code::GetSize => v.get_size(),
                Code::GetOffset => v.get_offset(),
                Code::IsNull => v.is_null() as i64,
                Code::IsRdonly => v.is_rdonly() as i64,
                Code::Clone => unreachable!(),
            };
            src = 0;
        }
        ops.push(Op {
            code,
            slot: slot as u32,
            src: src as u32,
            arg,
        });
        steps.push(ModelStep { ret, slots });
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

/// The sw_in map value for a batch.
pub fn encode(kind_code: u32, seqs: &[Seq]) -> Vec<u8> {
    let mut b = vec![0u8; IN_SIZE];
    b[0..4].copy_from_slice(&(seqs.len() as u32).to_ne_bytes());
    b[4..8].copy_from_slice(&kind_code.to_ne_bytes());
    for i in 0..BUF {
        b[16 + i] = pattern(i);
    }
    for (i, s) in seqs.iter().enumerate().take(BATCH) {
        let at = SEQS_AT + i * SEQ_SIZE;
        b[at..at + 4].copy_from_slice(&s.size.to_ne_bytes());
        b[at + 4..at + 8].copy_from_slice(&s.flags.to_ne_bytes());
        b[at + 8..at + 12].copy_from_slice(&(s.ops.len() as u32).to_ne_bytes());
        for (j, o) in s.ops.iter().enumerate().take(MAX_OPS) {
            let p = at + 16 + j * OP_SIZE;
            b[p..p + 4].copy_from_slice(&(o.code as u32).to_ne_bytes());
            b[p + 4..p + 8].copy_from_slice(&o.slot.to_ne_bytes());
            b[p + 8..p + 12].copy_from_slice(&o.src.to_ne_bytes());
            b[p + 16..p + 24].copy_from_slice(&o.arg.to_ne_bytes());
        }
    }
    b
}

/// What the program saw of one slot (struct sw_obs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Obs {
    pub valid: bool,
    pub size: i64,
    pub off: i64,
    pub ksize: i64,
    pub rd_first: i32,
    pub rd_last: i32,
    pub rd_past: i32,
    pub null: u8,
    pub rdonly: u8,
    pub knull: u8,
    pub krdonly: u8,
    pub first: u8,
    pub last: u8,
}

impl Obs {
    /// What the kernel-kfunc program records of the same slot: it cannot
    /// query the view through the rdynptr kfuncs (size, off, null, rdonly).
    pub fn kernel_visible(mut self) -> Obs {
        if self.valid {
            self.size = NOT_APPLIED;
            self.off = NOT_APPLIED;
            self.null = 0xff;
            self.rdonly = 0xff;
        }
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Step {
    pub ret: i64,
    pub obs: [Obs; SLOTS],
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeqOut {
    pub done: u32,
    /// The creation (ret: the constructor's return value), then one step
    /// per applied operation.
    pub steps: Vec<Step>,
}

fn rd_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_ne_bytes(a)
}

fn rd_i32(b: &[u8], at: usize) -> i32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    i32::from_ne_bytes(a)
}

fn decode_step(b: &[u8], at: usize) -> Step {
    let mut s = Step {
        ret: rd_i64(b, at),
        ..Step::default()
    };
    for (k, o) in s.obs.iter_mut().enumerate() {
        let p = at + 8 + k * OBS_SIZE;
        *o = Obs {
            size: rd_i64(b, p),
            off: rd_i64(b, p + 8),
            ksize: rd_i64(b, p + 16),
            rd_first: rd_i32(b, p + 24),
            rd_last: rd_i32(b, p + 28),
            rd_past: rd_i32(b, p + 32),
            valid: b[p + 36] != 0,
            null: b[p + 37],
            rdonly: b[p + 38],
            knull: b[p + 39],
            krdonly: b[p + 40],
            first: b[p + 41],
            last: b[p + 42],
        };
    }
    s
}

/// The sw_out map value: the run counter and the first `n` sequences.
pub fn decode(b: &[u8], n: usize) -> (u64, Vec<SeqOut>) {
    let runs = rd_i64(b, 0) as u64;
    let mut out = Vec::with_capacity(n);
    for i in 0..n.min(BATCH) {
        let at = 8 + i * SEQ_OUT_SIZE;
        let done = rd_i32(b, at) as u32;
        let steps = (0..=(done as usize).min(MAX_OPS))
            .map(|j| decode_step(b, at + 8 + j * STEP_SIZE))
            .collect();
        out.push(SeqOut { done, steps });
    }
    (runs, out)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn layout_sizes_match_the_bpf_structs() {
        // struct sw_in / sw_out of rdynptr_sweep.bpf.c (the harness also
        // checks the loaded maps' value sizes).
        assert_eq!(IN_SIZE, 16 + 1024 + 64 * 256);
        assert_eq!(OUT_SIZE, 8 + 64 * (8 + 11 * (8 + 3 * 48)));
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
                },
                OpSpec {
                    code: Code::Clone,
                    slot: 0,
                    src: 1,
                    arg: Arg::SizePlus(-1),
                },
                OpSpec {
                    code: Code::Clone,
                    slot: 1,
                    src: 1,
                    arg: Arg::Abs(0),
                },
                OpSpec {
                    code: Code::Clone,
                    slot: 2,
                    src: 0,
                    arg: Arg::Abs(0),
                },
                OpSpec {
                    code: Code::Advance,
                    slot: 2,
                    src: 0,
                    arg: Arg::SizePlus(1),
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
                code: Code::Clone,
                slot: 2,
                src: 1,
                arg: u64::MAX,
            }],
        };
        let b = encode(3, &[seq]);
        assert_eq!(b.len(), IN_SIZE);
        assert_eq!(
            &b[SEQS_AT..SEQS_AT + 12],
            &[5, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]
        );
        assert_eq!(
            &b[SEQS_AT + 16..SEQS_AT + 28],
            &[7, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0]
        );
        let mut out = vec![0u8; OUT_SIZE];
        out[8] = 1; // done
        out[8 + 8 + STEP_SIZE] = 0xde; // steps[0].ret (after init)
        out[8 + 8 + STEP_SIZE + 8 + 36] = 1; // steps[0].obs[0].valid
        let (_, seqs) = decode(&out, 1);
        assert_eq!(seqs[0].steps.len(), 2);
        assert_eq!(seqs[0].steps[1].ret, 0xde);
        assert!(seqs[0].steps[1].obs[0].valid);
    }
}
