// SPDX-License-Identifier: GPL-2.0
//! Model-based and differential sweeps of the rdynptr kfuncs
//! (Documentation/testing.rst, "Model-based and differential sweeps").
//!
//! - `model`: the documented semantics of every kfunc on a dynptr view;
//! - `ops`: operation sequences (generation, resolution, BPF layout);
//! - `run`: running batches of sequences in the kernel through
//!   rdynptr_sweep.bpf.o and comparing with the model (sweep/model_*) or
//!   with the kernel's own dynptr kfuncs (sweep/differential_*).

pub mod model;
pub mod ops;
pub mod run;

/// The object holding the sweep programs; the harness runs it as the
/// sweep/... tests instead of as annotated tests.
pub const OBJECT: &str = "rdynptr_sweep";

/// The dynptr types swept, in the order their tests run.
pub const KINDS: [model::Kind; 7] = [
    model::Kind::Local,
    model::Kind::Ringbuf,
    model::Kind::Skb,
    model::Kind::SkbRdonly,
    model::Kind::SkbMeta,
    model::Kind::Xdp,
    model::Kind::File,
];

/// The sweep tests, in the order they run.
pub const TESTS: &[&str] = &[
    "sweep/model_local",
    "sweep/model_ringbuf",
    "sweep/model_skb",
    "sweep/model_skb_rdonly",
    "sweep/model_skb_meta",
    "sweep/model_xdp",
    "sweep/model_file",
    "sweep/differential_local",
    "sweep/differential_ringbuf",
    "sweep/differential_skb",
    "sweep/differential_skb_rdonly",
    "sweep/differential_skb_meta",
    "sweep/differential_xdp",
    "sweep/differential_file",
];

/// Batches (proptest cases) per test by default.  A batch has
/// `ops::MIN_BATCH..=ops::BATCH` sequences, so the seven model tests run at
/// least 7 x 50 x 48 = 16,800 sequences (the differential tests as many).
pub const DEFAULT_CASES: u32 = 50;
