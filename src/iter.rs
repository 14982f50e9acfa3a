// SPDX-License-Identifier: GPL-2.0

//! The open-coded iterator over the view of a dynptr:
//! `struct bpf_iter_rdynptr` and its steps.
//!
//! The iterator walks the view as it was when the iterator was made: a
//! snapshot of its size, no reference to the dynptr.  Each step is a part
//! of that view, `len` bytes at offset `off`: by default consecutive
//! chunks of a fixed size (the last one shorter), or, after
//! [`IterState::set_step`], wherever the program says the next one starts.
//! Every step moves at least one byte forward, and an iteration has at most
//! `BPF_MAX_LOOPS` steps (as `bpf_iter_num` and `bpf_loop()`), so it ends
//! in bounded time whatever the program does.  Semantics and examples:
//! "Iterating over a dynptr" in `Documentation/kfuncs.rst`.

use core::marker::PhantomData;
use core::mem::{align_of, size_of};

use kernel::bindings;
use kernel::error::{code, Result};

use crate::dynptr::DynptrError;
use crate::framework::KfuncArg;

/// The C types of `include/rdynptr/kfuncs.h` (bindgen, with its checks of
/// their layout).
#[allow(non_camel_case_types, dead_code, unreachable_pub, missing_docs)]
pub mod abi {
    include!("generated/kfuncs_types.rs");
}

/// The most steps an iteration has (`BPF_MAX_LOOPS`, 2^23).
const MAX_STEPS: u32 = bindings::BPF_MAX_LOOPS;

/// What `struct bpf_iter_rdynptr` holds: the module's view of its opaque
/// bytes (`struct bpf_iter_rdynptr_kern`).
///
/// The next step starts at `pos`, worked out when the current one is
/// returned (or changed by `set_step`), so that `next` only has to compare
/// and store.  The walk is over when `pos` reaches `size`.  The steps are
/// counted down in `steps_left`: once it reaches 0, `pos` is at `size`,
/// so that `next` has one test to make, not two.
///
/// # Invariants
///
/// Once `new` has run: `chunk >= 1`; `pos <= size`; `step.len` is 0 when
/// there is no current step (before the first `next`, at the end, after an
/// error), else `step.off < size`, `1 <= step.len <= chunk` and
/// `step.off < pos`; `steps_left <= MAX_STEPS`, and `pos == size` when
/// `steps_left` is 0.
#[repr(C)]
pub struct IterState {
    /// The step `next` returned last (its address is what `next` returns).
    step: abi::bpf_rdynptr_step,
    /// The size of the view when the iterator was made.
    size: u64,
    /// The length of a step (the last one may be shorter).
    chunk: u64,
    /// Where the next step starts.
    pos: u64,
    /// `MAX_STEPS` minus the steps `next` returned.
    steps_left: u32,
    _pad: u32,
}

// The state fits the opaque iterator the program reserves on its stack
// (exactly, so that the verifier's iterator slots cover all of it).
const _: () = {
    assert!(size_of::<IterState>() == size_of::<abi::bpf_iter_rdynptr>());
    assert!(align_of::<IterState>() <= align_of::<abi::bpf_iter_rdynptr>());
};

impl IterState {
    /// An iterator over a view of `size` bytes in steps of `chunk`: -EINVAL
    /// for a null dynptr (`size` is its error), a 0 `chunk` or non-zero
    /// `flags`, -E2BIG if the view has more than `BPF_MAX_LOOPS` chunks.
    ///
    /// An iterator that could not be made is over from the start: its
    /// `next` returns nothing.
    pub fn new(
        size: core::result::Result<u64, DynptrError>,
        chunk: u64,
        flags: u64,
    ) -> (Self, Result) {
        let (size, chunk, result) = match Self::check(size, chunk, flags) {
            Ok(size) => (size, chunk, Ok(())),
            Err(e) => (0, 1, Err(e)),
        };
        // INVARIANT: `chunk >= 1` (`check`), `pos` 0 `<= size`, no current
        // step, every step left; after an error, an empty walk, over
        // before it starts.
        (Self::walk(size, chunk), result)
    }

    /// The iterator over `size` bytes in steps of `chunk` (at least 1),
    /// before its first step.
    fn walk(size: u64, chunk: u64) -> Self {
        Self {
            step: abi::bpf_rdynptr_step { off: 0, len: 0 },
            size,
            chunk,
            pos: 0,
            steps_left: MAX_STEPS,
            _pad: 0,
        }
    }

    /// The errors of `new`, or the size of the view: then `chunk >= 1`.
    fn check(size: core::result::Result<u64, DynptrError>, chunk: u64, flags: u64) -> Result<u64> {
        let size = size?;
        if chunk == 0 || flags != 0 {
            return Err(code::EINVAL);
        }
        // The number of chunks, rounded up (no `div_ceil`: its `+ 1` is an
        // overflow check, and a kfunc does not panic).  No overflow: with
        // a remainder, `chunk >= 2` and the quotient is below `u64::MAX`.
        let chunks = (size / chunk).wrapping_add(u64::from(size % chunk != 0));
        if chunks > u64::from(MAX_STEPS) {
            return Err(code::E2BIG);
        }
        Ok(size)
    }

    /// Ends the walk: no current step, no next one.
    fn end(&mut self) {
        // INVARIANT: `pos == size`, `step.len` 0.
        self.pos = self.size;
        self.step.len = 0;
    }

    /// The next step, or None when the iteration is over (also after
    /// `BPF_MAX_LOOPS` steps, which only steps shorter than the chunk
    /// reach).
    pub fn next(&mut self) -> Option<&mut abi::bpf_rdynptr_step> {
        let pos = self.pos;
        // Also at the end of an iteration that took `MAX_STEPS` steps:
        // `pos` is at `size` then.
        if pos >= self.size {
            // INVARIANT: `pos <= size`, so `pos` is at `size` already: the
            // walk is over, with no current step.
            self.step.len = 0;
            return None;
        }
        // `pos < size`: the subtraction cannot underflow, and `len >= 1`
        // (`chunk >= 1`), so `pos + len <= size`.
        let len = self.chunk.min(self.size - pos);
        // `steps_left >= 1`, since `pos < size`: no underflow.
        let steps_left = self.steps_left.wrapping_sub(1);
        // INVARIANT: `step.off < size`, `1 <= step.len <= chunk`,
        // `step.off < pos <= size`; `pos` is at `size` once no step is
        // left.  No overflow (`pos + len <= size`): a wrapping add has no
        // overflow check, which could panic.
        self.step.off = pos;
        self.step.len = len;
        self.pos = if steps_left == 0 {
            self.size
        } else {
            pos.wrapping_add(len)
        };
        self.steps_left = steps_left;
        Some(&mut self.step)
    }

    /// Makes the next step start `step` bytes after the start of the
    /// current one.  0, a step past the end of the view, or no current
    /// step ends the iteration.
    pub fn set_step(&mut self, step: u64) -> Result {
        if self.step.len == 0 || step == 0 {
            self.end();
            return Err(code::EINVAL);
        }
        // With a current step, `step.off < size`: no underflow.
        if step > self.size.wrapping_sub(self.step.off) {
            self.end();
            return Err(code::ERANGE);
        }
        // INVARIANT: `step.off < step.off + step <= size` (so no overflow
        // either); after the last step an iteration may have, `pos` stays
        // at `size`.
        if self.steps_left != 0 {
            self.pos = self.step.off.wrapping_add(step);
        }
        Ok(())
    }
}

/// A `struct bpf_iter_rdynptr *` argument of an iterator constructor: the
/// program's stack slots the constructor initializes.
///
/// # Invariants
///
/// `ptr` is valid for writes of a `struct bpf_iter_rdynptr`, properly
/// aligned, for as long as the handle lives (the kfunc call).
pub struct IterUninit<'a> {
    ptr: *mut abi::bpf_iter_rdynptr,
    _call: PhantomData<&'a mut IterState>,
}

impl IterUninit<'_> {
    /// Initializes the iterator.
    pub fn init(self, state: IterState) {
        // SAFETY: By the type invariant `ptr` is valid for writes and
        // aligned, for `IterState` too (same size, no larger alignment,
        // checked at build time).
        unsafe { self.ptr.cast::<IterState>().write(state) }
    }
}

// SAFETY: For the iterator argument of a `KF_ITER_NEW` kfunc, the verifier
// passes a pointer to stack slots of the program, as many as
// `sizeof(struct bpf_iter_rdynptr)` and 8-byte aligned, that hold no live
// iterator; nothing else accesses them during the call.
unsafe impl KfuncArg for IterUninit<'_> {
    type Abi = *mut abi::bpf_iter_rdynptr;

    unsafe fn from_abi(abi: Self::Abi) -> Self {
        // INVARIANT: see the SAFETY comment of the impl.
        Self {
            ptr: abi,
            _call: PhantomData,
        }
    }
}

/// A `struct bpf_iter_rdynptr *` argument of `next`, `destroy` or an
/// `__iter` argument: an iterator its constructor initialized.
///
/// # Invariants
///
/// `ptr` points to an `IterState` that `bpf_iter_rdynptr_new()` wrote,
/// valid for reads and writes and accessed by nothing else for as long as
/// the handle lives (the kfunc call).
pub struct Iter<'a> {
    ptr: *mut IterState,
    _call: PhantomData<&'a mut IterState>,
}

impl<'a> Iter<'a> {
    /// The iterator's state.
    pub fn state(self) -> &'a mut IterState {
        // SAFETY: By the type invariant, `ptr` points to a valid, initialized
        // `IterState` that nothing else accesses during the call, which the
        // returned reference does not outlive.
        unsafe { &mut *self.ptr }
    }
}

// SAFETY: For the iterator argument of a `KF_ITER_NEXT` or `KF_ITER_DESTROY`
// kfunc, or an `__iter` argument, the verifier passes a pointer to the
// program's stack slots of a live `struct bpf_iter_rdynptr` (it tracks the
// iterator from its constructor, which every path must have called, to
// its destructor, and rejects copies and other writes to the slots).  Only
// `bpf_iter_rdynptr_new()` initializes such an iterator, with an
// `IterState`.  Nothing else accesses the slots during the call.
unsafe impl KfuncArg for Iter<'_> {
    type Abi = *mut abi::bpf_iter_rdynptr;

    unsafe fn from_abi(abi: Self::Abi) -> Self {
        // INVARIANT: see the SAFETY comment of the impl.
        Self {
            ptr: abi.cast(),
            _call: PhantomData,
        }
    }
}

/// KUnit tests of the iterator's walk ([`IterState`]), without a program.
/// Built into the test module rdynptr_kunit.ko (`src/rdynptr_kunit.rs`)
/// and run when it is loaded; `rdynptr-test` reports them
/// (`kunit/rdynptr_iter`).
#[cfg(rdynptr_kunit)]
#[kernel::prelude::kunit_tests(rdynptr_iter)]
mod tests {
    use super::*;

    /// The next step as (off, len), or None.
    fn next(it: &mut IterState) -> Option<(u64, u64)> {
        it.next().map(|s| (s.off, s.len))
    }

    fn iter(size: u64, chunk: u64) -> IterState {
        let (it, r) = IterState::new(Ok(size), chunk, 0);
        assert!(r.is_ok());
        it
    }

    #[test]
    fn chunks_cover_the_view_the_last_one_shorter() {
        let mut it = iter(10, 4);
        assert_eq!(next(&mut it), Some((0, 4)));
        assert_eq!(next(&mut it), Some((4, 4)));
        assert_eq!(next(&mut it), Some((8, 2)));
        assert_eq!(next(&mut it), None);
        assert_eq!(next(&mut it), None);
        let mut empty = iter(0, 4);
        assert_eq!(next(&mut empty), None);
    }

    #[test]
    fn set_step_moves_from_the_start_of_the_step() {
        let mut it = iter(10, 2);
        assert_eq!(next(&mut it), Some((0, 2)));
        assert_eq!(it.set_step(3), Ok(()));
        assert_eq!(next(&mut it), Some((3, 2)));
        assert_eq!(it.set_step(1), Ok(()));
        assert_eq!(next(&mut it), Some((4, 2)));
        // lands exactly on the end: the walk ends normally
        assert_eq!(it.set_step(6), Ok(()));
        assert_eq!(next(&mut it), None);
    }

    #[test]
    fn set_step_errors_end_the_walk() {
        let mut it = iter(10, 2);
        assert_eq!(it.set_step(1), Err(code::EINVAL));
        assert_eq!(next(&mut it), None);
        let mut it = iter(10, 2);
        assert_eq!(next(&mut it), Some((0, 2)));
        assert_eq!(it.set_step(0), Err(code::EINVAL));
        assert_eq!(next(&mut it), None);
        let mut it = iter(10, 2);
        assert_eq!(next(&mut it), Some((0, 2)));
        assert_eq!(next(&mut it), Some((2, 2)));
        assert_eq!(it.set_step(9), Err(code::ERANGE));
        assert_eq!(next(&mut it), None);
        let mut it = iter(10, 2);
        assert_eq!(next(&mut it), Some((0, 2)));
        assert_eq!(it.set_step(1 << 32), Err(code::ERANGE));
    }

    #[test]
    fn new_refuses_null_dynptrs_zero_chunks_flags_and_too_many_steps() {
        assert_eq!(IterState::new(Err(DynptrError::Null), 1, 0).1, Err(code::EINVAL));
        assert_eq!(IterState::new(Ok(8), 0, 0).1, Err(code::EINVAL));
        assert_eq!(IterState::new(Ok(8), 1, 1).1, Err(code::EINVAL));
        let max = u64::from(MAX_STEPS);
        assert_eq!(IterState::new(Ok(max + 1), 1, 0).1, Err(code::E2BIG));
        assert!(IterState::new(Ok(max), 1, 0).1.is_ok());
        assert!(IterState::new(Ok(2 * max), 2, 0).1.is_ok());
        assert_eq!(IterState::new(Ok(2 * max + 1), 2, 0).1, Err(code::E2BIG));
        // a refused iterator has no step
        let (mut it, _) = IterState::new(Ok(max + 1), 1, 0);
        assert_eq!(next(&mut it), None);
    }

    #[test]
    fn walks_end_after_max_steps() {
        // 1-byte moves over chunks of 2: MAX_STEPS steps before the end of
        // the view; set_step still succeeds after the last one, and the
        // walk is over.
        let max = u64::from(MAX_STEPS);
        let mut it = iter(2 * max, 2);
        let mut walked = 0;
        for i in 0..max {
            if next(&mut it) == Some((i, 2)) && it.set_step(1).is_ok() {
                walked += 1;
            }
        }
        assert_eq!(walked, max);
        assert_eq!(next(&mut it), None);
        assert_eq!(it.set_step(1), Err(code::EINVAL));
        assert_eq!(next(&mut it), None);
    }

    #[test]
    fn walks_are_64_bit() {
        let mut it = iter(u64::MAX, u64::MAX);
        assert_eq!(next(&mut it), Some((0, u64::MAX)));
        assert_eq!(next(&mut it), None);
        let mut it = iter(u64::MAX, 1 << 62);
        assert_eq!(next(&mut it), Some((0, 1 << 62)));
        assert_eq!(it.set_step(u64::MAX), Ok(()));
        assert_eq!(next(&mut it), None);
    }
}
