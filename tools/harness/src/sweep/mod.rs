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

/// How a sweep test checks the kfuncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Against the model of the documented semantics (sweep/model_X).
    Model,
    /// Against the kernel's own dynptr kfuncs (sweep/differential_X).
    Differential,
}

/// One sweep test: a check of one dynptr type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepTest {
    pub check: Check,
    pub kind: model::Kind,
}

impl SweepTest {
    /// The sweep tests, in the order they run: the model tests, then the
    /// differential ones.
    pub fn all() -> impl Iterator<Item = SweepTest> {
        [Check::Model, Check::Differential]
            .into_iter()
            .flat_map(|check| KINDS.into_iter().map(move |kind| SweepTest { check, kind }))
    }

    pub fn name(self) -> String {
        let check = match self.check {
            Check::Model => "model",
            Check::Differential => "differential",
        };
        format!("sweep/{check}_{}", self.kind.name())
    }
}

/// Batches (proptest cases) per test by default.  A batch has
/// `ops::MIN_BATCH..=ops::BATCH` sequences, so the seven model tests run at
/// least 7 x 50 x 48 = 16,800 sequences (the differential tests as many).
pub const DEFAULT_CASES: u32 = 50;
