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
    /// modelled like any other, the sharing is not.  FILE is not swept:
    /// its programs cannot be test-run; tools/selftests/rdynptr_file.bpf.c
    /// tests it attached.)
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
        Kind::File => (0, View::new(kind, size, true)),
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
}
