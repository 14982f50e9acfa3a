// SPDX-License-Identifier: GPL-2.0
//! A model of a dynptr view and of the documented semantics of every
//! rdynptr kfunc (Documentation/kfuncs.rst).  Pure: no kernel needed.

/// errno values as the kfuncs return them.
pub const EINVAL: i64 = -22;
pub const ERANGE: i64 = -34;
pub const E2BIG: i64 = -7;
pub const EOPNOTSUPP: i64 = -95;

/// The largest size a dynptr can have (the kernel's DYNPTR_MAX_SIZE).
pub const DYNPTR_MAX_SIZE: u64 = (1 << 24) - 1;

/// The most steps an iteration has (BPF_MAX_LOOPS).
pub const MAX_LOOPS: u64 = 1 << 23;

/// The length of the file of FILE dynptrs (the harness's test file).
pub const FILE_LEN: u64 = crate::trigger::TEST_FILE_LEN as u64;

/// How an iteration moves from one step to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// Consecutive chunks (no bpf_iter_rdynptr_set_step()).
    Chunks,
    /// set_step(n) at every step.
    Step(u64),
    /// set_step(first byte of the step % 16) at every step: records whose
    /// length is in the data.
    Records,
}

/// FNV-1a over 64-bit values: the digest of a walk that the sweep
/// program computes (SW_HASH_INIT, sw_mix()).
pub const HASH_INIT: u64 = 0xcbf2_9ce4_8422_2325;

pub fn mix(h: u64, v: u64) -> u64 {
    (h ^ v).wrapping_mul(0x100_0000_01b3)
}

/// What a walk over a view gives: the return value of
/// bpf_iter_rdynptr_new(), the steps, the digest of every step (its off,
/// len, the result of a 1-byte bpf_dynptr_read() at off and the byte), the
/// end of the last step and the set_step() error that ended the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IterOut {
    pub ret: i64,
    pub steps: u64,
    pub hash: u64,
    pub end: u64,
    pub err: i64,
}

/// Dynptr types.  `SkbRdonly` is an skb dynptr made where packets cannot
/// be written (cgroup_skb).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Local,
    Ringbuf,
    Skb,
    SkbMeta,
    SkbRdonly,
    Xdp,
    File,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Local => "local",
            Kind::Ringbuf => "ringbuf",
            Kind::Skb => "skb",
            Kind::SkbMeta => "skb_meta",
            Kind::SkbRdonly => "skb_rdonly",
            Kind::Xdp => "xdp",
            Kind::File => "file",
        }
    }

    /// The kernel kfunc that makes dynptrs of this kind, for the kinds that
    /// not every supported kernel has (SKB_META and FILE are newer than
    /// 6.12); the others are made with helpers every series has.
    pub fn kernel_kfunc(self) -> Option<&'static str> {
        match self {
            Kind::SkbMeta => Some("bpf_dynptr_from_skb_meta"),
            Kind::File => Some("bpf_dynptr_from_file"),
            _ => None,
        }
    }
}

/// One dynptr instance: `size` usable bytes from `offset` in its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    pub kind: Kind,
    pub null: bool,
    pub rdonly: bool,
    pub offset: u64,
    pub size: u64,
}

impl View {
    pub fn new(kind: Kind, size: u64, rdonly: bool) -> View {
        View {
            kind,
            null: false,
            rdonly,
            offset: 0,
            size,
        }
    }

    /// A null dynptr (its data pointer is NULL; the kernel clears the
    /// rest).
    pub fn null(kind: Kind) -> View {
        View {
            kind,
            null: true,
            rdonly: false,
            offset: 0,
            size: 0,
        }
    }

    /// The size the model uses to resolve relative arguments: 0 if null.
    pub fn usable(&self) -> u64 {
        if self.null {
            0
        } else {
            self.size
        }
    }

    /// Common checks of the kfuncs that need the view.  (A FILE dynptr's
    /// view is in its file state, shared by its clones: one slot's view is
    /// modelled like any other here; `ops::resolve` gives every clone the
    /// shared view.)
    fn check_view(&self) -> Result<(), i64> {
        if self.null {
            Err(EINVAL)
        } else {
            Ok(())
        }
    }

    /// bpf_rdynptr_trim(): on error the view is unchanged.
    pub fn trim(&mut self, len: u64) -> i64 {
        if let Err(e) = self.check_view() {
            return e;
        }
        if len > self.size {
            return ERANGE;
        }
        self.size -= len;
        0
    }

    /// bpf_rdynptr_advance(): on error the view is unchanged.
    pub fn advance(&mut self, len: u64) -> i64 {
        if let Err(e) = self.check_view() {
            return e;
        }
        if len > self.size {
            return ERANGE;
        }
        self.offset += len;
        self.size -= len;
        0
    }

    /// bpf_rdynptr_get_size()
    pub fn get_size(&self) -> i64 {
        match self.check_view() {
            Err(e) => e,
            Ok(()) => self.size as i64,
        }
    }

    /// bpf_rdynptr_get_offset()
    pub fn get_offset(&self) -> i64 {
        match self.check_view() {
            Err(e) => e,
            Ok(()) => self.offset as i64,
        }
    }

    /// bpf_rdynptr_is_null()
    pub fn is_null(&self) -> bool {
        self.null
    }

    /// bpf_rdynptr_is_rdonly(): false for a null dynptr.
    pub fn is_rdonly(&self) -> bool {
        !self.null && self.rdonly
    }

    /// A walk with bpf_iter_rdynptr_{new,next,set_step,destroy}() over
    /// the view in steps of `chunk` bytes (Documentation/kfuncs.rst,
    /// "Iterating over a dynptr"); `byte(pos)` is the data at position
    /// `pos` of the dynptr's data.
    pub fn iterate(&self, chunk: u64, walk: Walk, byte: impl Fn(u64) -> Option<u8>) -> IterOut {
        let mut out = IterOut {
            ret: 0,
            steps: 0,
            hash: HASH_INIT,
            end: 0,
            err: 0,
        };
        let size = match self.check_view() {
            Err(e) => {
                out.ret = e;
                return out;
            }
            Ok(()) => self.size,
        };
        if chunk == 0 {
            out.ret = EINVAL;
            return out;
        }
        if size.div_ceil(chunk) > MAX_LOOPS {
            out.ret = E2BIG;
            return out;
        }
        let mut pos = 0;
        while pos < size && out.steps < MAX_LOOPS {
            let (off, len) = (pos, chunk.min(size - pos));
            let (rr, b) = match self.read1(off) {
                Ok(at) => (0, byte(at).unwrap_or(0)),
                Err(e) => (e, 0),
            };
            out.steps += 1;
            out.hash = [off, len, rr as u32 as u64, b as u64]
                .into_iter()
                .fold(out.hash, mix);
            out.end = off + len;
            pos = off + len;
            let next = match walk {
                Walk::Chunks => continue,
                Walk::Step(n) => n,
                Walk::Records => (b % 16) as u64,
            };
            if next == 0 {
                out.err = EINVAL;
                break;
            }
            if next > size - off {
                out.err = ERANGE;
                break;
            }
            pos = off + next;
        }
        out
    }

    /// bpf_rdynptr_clone(): the return value and the clone (null on
    /// error).  The parent is never changed.
    pub fn clone_at(&self, offset: u64) -> (i64, View) {
        if self.null {
            return (EINVAL, View::null(self.kind));
        }
        if self.kind == Kind::File {
            // FILE: the view lives in kernel state shared by all clones;
            // only a clone at offset 0 is possible.
            if offset != 0 {
                return (EOPNOTSUPP, View::null(self.kind));
            }
            return (0, *self);
        }
        if offset > self.size {
            return (ERANGE, View::null(self.kind));
        }
        let mut c = *self;
        c.offset += offset;
        c.size -= offset;
        (0, c)
    }

    /// bpf_dynptr_size(), the kernel's: a null dynptr gives -EINVAL
    /// (returned as a u64, read back as i64).
    pub fn kernel_size(&self) -> i64 {
        if self.null {
            EINVAL
        } else {
            self.size as i64
        }
    }

    /// bpf_dynptr_read() of one byte at `at` (an offset in the view):
    /// Ok(position of the byte in the data) or the error.
    pub fn read1(&self, at: u64) -> Result<u64, i64> {
        if self.null {
            return Err(EINVAL);
        }
        // bpf_dynptr_check_off_len(): offset > size or len > size - offset.
        if at > self.size || 1 > self.size - at {
            return Err(E2BIG);
        }
        Ok(self.offset + at)
    }
}

/// The initial dynptr of a sequence and the constructor's return value.
///
/// `size` is the requested size (local, ringbuf, file), `flags` the
/// constructor's flags (non-zero: unsupported, a null dynptr), `pkt_len`
/// the length of the test packet (skb and xdp see all of it, read-only skb
/// programs from the network header, 14 bytes in), `rb_capacity` the data
/// size of the ring buffer.
pub fn create(kind: Kind, size: u64, flags: u64, pkt_len: u64, rb_capacity: u64) -> (i64, View) {
    if flags != 0 {
        return (EINVAL, View::null(kind));
    }
    match kind {
        Kind::Local => (0, View::new(kind, size, false)),
        Kind::Ringbuf => {
            if size > DYNPTR_MAX_SIZE {
                (E2BIG, View::null(kind))
            } else if (size + 8).next_multiple_of(8) > rb_capacity {
                // The record (with its 8-byte header, rounded up to 8
                // bytes) does not fit in the empty ring buffer.
                (EINVAL, View::null(kind))
            } else {
                (0, View::new(kind, size, false))
            }
        }
        Kind::Skb | Kind::Xdp => (0, View::new(kind, pkt_len, false)),
        Kind::SkbRdonly => (0, View::new(kind, pkt_len.saturating_sub(14), true)),
        // BPF_PROG_TEST_RUN gives tc programs no metadata.
        Kind::SkbMeta => (0, View::new(kind, 0, false)),
        // bpf_dynptr_from_file() then bpf_dynptr_adjust(0, size): the
        // first `size` bytes of the file.
        Kind::File => (0, View::new(kind, size.min(FILE_LEN), true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(size: u64) -> View {
        View::new(Kind::Local, size, false)
    }

    #[test]
    fn trim_shrinks_the_end_and_keeps_the_offset() {
        let mut v = local(10);
        assert_eq!(v.advance(3), 0);
        assert_eq!(v.trim(4), 0);
        assert_eq!((v.offset, v.size), (3, 3));
        assert_eq!(v.trim(3), 0);
        assert_eq!((v.offset, v.size), (3, 0));
    }

    #[test]
    fn advance_moves_the_start_and_keeps_the_end() {
        let mut v = local(10);
        assert_eq!(v.advance(10), 0);
        assert_eq!((v.offset, v.size), (10, 0));
    }

    #[test]
    fn lengths_are_compared_on_64_bits() {
        for len in [1u64 << 32, (1 << 32) + 5, u64::MAX, 1 << 63, 11] {
            let mut v = local(10);
            assert_eq!(v.trim(len), ERANGE, "trim {len:#x}");
            assert_eq!(v.advance(len), ERANGE, "advance {len:#x}");
            assert_eq!(v.clone_at(len), (ERANGE, View::null(Kind::Local)));
            assert_eq!(v, local(10), "errors leave the view unchanged");
        }
    }

    #[test]
    fn null_dynptrs_give_einval_and_are_not_rdonly() {
        let mut v = View::null(Kind::Ringbuf);
        assert_eq!(v.trim(0), EINVAL);
        assert_eq!(v.advance(0), EINVAL);
        assert_eq!(v.get_size(), EINVAL);
        assert_eq!(v.get_offset(), EINVAL);
        assert_eq!(v.kernel_size(), EINVAL);
        assert!(v.is_null());
        assert!(!v.is_rdonly());
        assert_eq!(v.clone_at(0), (EINVAL, View::null(Kind::Ringbuf)));
        assert_eq!(v.read1(0), Err(EINVAL));
    }

    #[test]
    fn clone_copies_the_view_then_advances_it() {
        let mut p = View::new(Kind::Skb, 64, true);
        p.advance(14);
        let (r, c) = p.clone_at(20);
        assert_eq!(r, 0);
        assert_eq!(
            (c.offset, c.size, c.rdonly, c.kind),
            (34, 30, true, Kind::Skb)
        );
        assert_eq!(p.clone_at(50).0, 0, "offset == size gives an empty clone");
        assert_eq!(p.clone_at(51), (ERANGE, View::null(Kind::Skb)));
    }

    #[test]
    fn file_dynptrs_adjust_their_view_but_clone_only_at_zero() {
        let mut f = View::new(Kind::File, 100, true);
        assert_eq!(f.advance(1), 0);
        assert_eq!(f.trim(1), 0);
        assert_eq!((f.get_offset(), f.get_size()), (1, 98));
        assert_eq!(f.trim(99), ERANGE);
        assert!(f.is_rdonly() && !f.is_null());
        assert_eq!(f.clone_at(0), (0, f));
        assert_eq!(f.clone_at(1), (EOPNOTSUPP, View::null(Kind::File)));
        assert_eq!(
            View::null(Kind::File).trim(1),
            EINVAL,
            "null is checked first"
        );
    }

    #[test]
    fn reads_are_bounded_by_the_view() {
        let mut v = local(4);
        v.advance(1);
        assert_eq!(v.read1(0), Ok(1));
        assert_eq!(v.read1(2), Ok(3));
        assert_eq!(v.read1(3), Err(E2BIG));
        assert_eq!(v.read1(u64::MAX), Err(E2BIG));
        assert_eq!(local(0).read1(0), Err(E2BIG));
    }

    #[test]
    fn constructors_make_the_documented_views() {
        assert_eq!(
            create(Kind::Local, 5, 1, 64, 4096),
            (EINVAL, View::null(Kind::Local))
        );
        assert_eq!(create(Kind::Ringbuf, 1 << 24, 0, 64, 4096).0, E2BIG);
        assert_eq!(create(Kind::Ringbuf, 4089, 0, 64, 4096).0, EINVAL);
        assert_eq!(create(Kind::Ringbuf, 4088, 0, 64, 4096).0, 0);
        assert_eq!(
            create(Kind::SkbRdonly, 0, 0, 64, 0).1,
            View::new(Kind::SkbRdonly, 50, true)
        );
        assert_eq!(create(Kind::SkbMeta, 0, 0, 64, 0).1.size, 0);
    }

    /// The (off, len) of every step, from the digest's inputs.
    fn steps_of(v: &View, chunk: u64, walk: Walk) -> (IterOut, Vec<(u64, u64)>) {
        let steps = std::cell::RefCell::new(Vec::new());
        let out = v.iterate(chunk, walk, |pos| {
            steps.borrow_mut().push(pos);
            Some(pos as u8)
        });
        let starts: Vec<u64> = steps.into_inner().iter().map(|p| p - v.offset).collect();
        let lens = starts
            .iter()
            .map(|&off| chunk.min(v.size - off))
            .collect::<Vec<_>>();
        (out, starts.into_iter().zip(lens).collect())
    }

    #[test]
    fn iteration_walks_chunks_of_the_view() {
        let mut v = local(10);
        v.advance(2);
        let (out, steps) = steps_of(&v, 3, Walk::Chunks);
        assert_eq!(steps, [(0, 3), (3, 3), (6, 2)], "the last chunk is shorter");
        assert_eq!((out.ret, out.steps, out.end, out.err), (0, 3, 8, 0));
        let (out, steps) = steps_of(&local(0), 4, Walk::Chunks);
        assert_eq!(
            (out.ret, out.steps, steps.len()),
            (0, 0, 0),
            "an empty view has no step"
        );
    }

    #[test]
    fn set_step_moves_from_the_start_of_the_step() {
        let v = local(10);
        let (out, steps) = steps_of(&v, 2, Walk::Step(3));
        assert_eq!(steps, [(0, 2), (3, 2), (6, 2), (9, 1)]);
        assert_eq!(out.err, ERANGE, "a step of 3 from 9 is past the end");
        let (out, steps) = steps_of(&v, 2, Walk::Step(5));
        assert_eq!(
            (steps.len(), out.err),
            (2, 0),
            "landing on the end ends normally"
        );
        let (out, _) = steps_of(&v, 2, Walk::Step(0));
        assert_eq!((out.steps, out.err), (1, EINVAL));
        let (out, _) = steps_of(&v, 2, Walk::Step(1 << 32));
        assert_eq!((out.steps, out.err), (1, ERANGE), "steps are 64-bit");
    }

    #[test]
    fn records_take_their_length_from_the_data() {
        // byte at position p is p: from 0, a record of length 0 ends it.
        let (out, _) = steps_of(&local(40), 4, Walk::Records);
        assert_eq!((out.steps, out.err), (1, EINVAL));
        let mut v = local(40);
        v.advance(3);
        // positions 3 -> 6 -> 12 -> 24 -> 32 (24 % 16 = 8), whose byte
        // 32 % 16 = 0 ends the walk.
        let (out, steps) = steps_of(&v, 4, Walk::Records);
        assert_eq!(steps, [(0, 4), (3, 4), (9, 4), (21, 4), (29, 4)]);
        assert_eq!(out.err, EINVAL);
        v.trim(9);
        // [3, 31): from 24 a record of 8 bytes goes past the end.
        let (out, _) = steps_of(&v, 4, Walk::Records);
        assert_eq!((out.steps, out.err), (4, ERANGE));
    }

    #[test]
    fn iterators_refuse_null_dynptrs_zero_chunks_and_too_many_steps() {
        let none = |_| None;
        assert_eq!(
            View::null(Kind::Skb).iterate(1, Walk::Chunks, none).ret,
            EINVAL
        );
        assert_eq!(local(4).iterate(0, Walk::Chunks, none).ret, EINVAL);
        let big = View::new(Kind::File, MAX_LOOPS + 1, true);
        assert_eq!(big.iterate(1, Walk::Chunks, none).ret, E2BIG);
        assert_eq!(big.iterate(2, Walk::Chunks, none).ret, 0);
        assert_eq!(big.iterate(u64::MAX, Walk::Chunks, none).steps, 1);
    }
}
