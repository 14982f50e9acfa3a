// SPDX-License-Identifier: GPL-2.0

//! The rdynptr kfuncs.
//!
//! Prototypes: `include/rdynptr/kfuncs.h`. Semantics, errors and examples:
//! `Documentation/kfuncs.rst`. Each kfunc behaves like the kernel's own
//! dynptr kfuncs (`bpf_dynptr_adjust()`, `bpf_dynptr_size()`, ...) for every
//! dynptr type; the view of a FILE dynptr is in its file state, shared by
//! its clones, so a clone of one at a non-zero offset returns
//! `-EOPNOTSUPP`.

use kernel::ffi;

#[cfg(rdynptr_clone)]
use crate::dynptr::{Dynptr, DynptrUninit};
use crate::dynptr::{DynptrError, DynptrMut, DynptrRef};
use crate::iter::{abi::bpf_rdynptr_step, Iter, IterState, IterUninit};
use crate::{kfunc, kfunc_set};

/// The prototypes of `include/rdynptr/kfuncs.h`, as bindgen reads them.
// Only the compile-time checks use these, and only their types.
#[allow(unreachable_pub, dead_code)]
mod proto {
    include!("generated/kfuncs_proto.rs");
}

/// The status a kfunc returns: 0 or a negative errno.
fn status(result: Result<(), DynptrError>) -> ffi::c_int {
    result.map_or_else(DynptrError::to_errno, |()| 0)
}

/// 0 or the negative errno of the error.
fn errno(result: kernel::error::Result) -> ffi::c_int {
    result.map_or_else(|e| e.to_errno(), |()| 0)
}

/// A non-negative value or a negative errno.
fn value(result: Result<u64, DynptrError>) -> i64 {
    match result {
        // Sizes and offsets of a view fit in 24 and 32 bits, a FILE
        // view's in 63 (they lie in a file).
        Ok(v) => v as i64,
        Err(err) => err.to_errno().into(),
    }
}

kfunc! {
    /// `bpf_rdynptr_trim()`: shrinks the view of `p` by `len` bytes at its end.
    fn bpf_rdynptr_trim(p: DynptrMut<'_>, len: u64) -> ffi::c_int {
        status(p.trim(len))
    }

    /// `bpf_rdynptr_advance()`: moves the start of the view of `p` forward by
    /// `len` bytes.
    fn bpf_rdynptr_advance(p: DynptrMut<'_>, len: u64) -> ffi::c_int {
        status(p.advance(len))
    }

    /// `bpf_rdynptr_is_null()`: whether `p` is null.
    fn bpf_rdynptr_is_null(p: DynptrRef<'_>) -> bool {
        p.get().is_null()
    }

    /// `bpf_rdynptr_is_rdonly()`: whether `p` is valid and read-only.
    fn bpf_rdynptr_is_rdonly(p: DynptrRef<'_>) -> bool {
        let d = p.get();
        !d.is_null() && d.is_rdonly()
    }

    /// `bpf_rdynptr_get_size()`: the number of usable bytes of the view of `p`.
    fn bpf_rdynptr_get_size(p: DynptrRef<'_>) -> i64 {
        value(p.size())
    }

    /// `bpf_rdynptr_get_offset()`: the offset of the view of `p` in its data.
    fn bpf_rdynptr_get_offset(p: DynptrRef<'_>) -> i64 {
        value(p.offset())
    }

    /// `bpf_rdynptr_clone()`: makes `clone` a view of the data of `p`,
    /// advanced by `offset` bytes; on error `clone` is a null dynptr.
    #[cfg(rdynptr_clone)]
    fn bpf_rdynptr_clone(p: DynptrRef<'_>, clone: DynptrUninit<'_>, offset: u64) -> ffi::c_int {
        let d = p.get();
        // At offset 0 the clone is a copy of `p` (`Dynptr::clone_at`), here
        // read from `p` again rather than taken from `d`: the compiler then
        // copies the dynptr as two words, as C does, instead of as the three
        // fields it keeps `d` in (measured: Documentation/bench.rst).
        let result = if d.is_null() {
            Err(DynptrError::Null)
        } else if offset == 0 {
            Ok(p.get())
        } else {
            d.clone_at(offset)
        };
        match result {
            Ok(d) => {
                clone.init(d);
                0
            }
            Err(err) => {
                clone.init(Dynptr::null());
                err.to_errno()
            }
        }
    }
}

kfunc! {
    /// `bpf_iter_rdynptr_new()`: makes `it` an iterator over the view of `p`
    /// in steps of `chunk` bytes; `flags` must be 0.  On error the
    /// iterator has no step (the program must still destroy it).
    fn bpf_iter_rdynptr_new(
        it: IterUninit<'_>,
        p: DynptrRef<'_>,
        chunk: u64,
        flags: u64,
    ) -> ffi::c_int {
        let (state, result) = IterState::new(p.size(), chunk, flags);
        it.init(state);
        errno(result)
    }

    /// `bpf_iter_rdynptr_next()`: the next step, or NULL at the end.
    fn bpf_iter_rdynptr_next(it: Iter<'_>) -> Option<&mut bpf_rdynptr_step> {
        it.state().next()
    }

    /// `bpf_iter_rdynptr_destroy()`: ends the iterator's life (it holds
    /// nothing to release).
    fn bpf_iter_rdynptr_destroy(it: Iter<'_>) {
        let _ = it;
    }

    /// `bpf_iter_rdynptr_set_step()`: makes the next step start `step`
    /// bytes after the start of the current one.
    fn bpf_iter_rdynptr_set_step(it: Iter<'_>, step: u64) -> ffi::c_int {
        errno(it.state().set_step(step))
    }
}

kfunc_set! {
    /// The rdynptr kfuncs and their flags.
    ///
    /// Like the kernel's `bpf_dynptr_adjust()`, `bpf_dynptr_is_null()`,
    /// `bpf_dynptr_is_rdonly()`, `bpf_dynptr_size()` and `bpf_dynptr_clone()`,
    /// they need no flag (the verifier already checks dynptr arguments), but
    /// the clone needs `KF_DYNPTR_CLONE` to get `bpf_dynptr_clone()`'s
    /// treatment of its `__uninit` argument.
    pub(crate) static KFUNCS = {
        bpf_rdynptr_trim,
        bpf_rdynptr_advance,
        bpf_rdynptr_is_null,
        bpf_rdynptr_is_rdonly,
        bpf_rdynptr_get_size,
        bpf_rdynptr_get_offset,
        #[cfg(rdynptr_clone)]
        bpf_rdynptr_clone: DYNPTR_CLONE,
        bpf_iter_rdynptr_new: ITER_NEW,
        bpf_iter_rdynptr_next: ITER_NEXT | RET_NULL,
        bpf_iter_rdynptr_destroy: ITER_DESTROY,
        bpf_iter_rdynptr_set_step,
    };
}

// Every kfunc of include/rdynptr/kfuncs.h has a Rust implementation with its
// prototype, and is in `KFUNCS`.
include!("generated/kfuncs_check.rs");

// The kernel internals `crate::dynptr` and `crate::framework` mirror are the
// ones of the kernel the module is built for.
include!("generated/kernel_layout.rs");
