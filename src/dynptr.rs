// SPDX-License-Identifier: GPL-2.0

//! Dynptrs: `struct bpf_dynptr_kern` and safe access to the dynptr
//! arguments of a kfunc.
//!
//! A BPF program's `struct bpf_dynptr` is, for the kernel, a
//! `struct bpf_dynptr_kern` (include/linux/bpf.h): a data pointer, a `size`
//! word and an offset. The `size` word packs three things, and the accessors
//! for them are private to kernel/bpf/helpers.c:
//!
//! ```text
//!  31   30     28 27    24 23                                  0
//! +----+---------+--------+-------------------------------------+
//! | RO |  type   | unused |    size: usable bytes of the view   |
//! +----+---------+--------+-------------------------------------+
//! ```
//!
//! (`DYNPTR_RDONLY_BIT`, `DYNPTR_TYPE_SHIFT`, `DYNPTR_SIZE_MASK`). The view
//! of a dynptr is the `size` bytes at `offset` in its data. A dynptr with a
//! NULL data pointer is a null dynptr (`bpf_dynptr_set_null()` zeroes it).
//! A FILE dynptr (`bpf_dynptr_from_file()`) is the exception: its data
//! points to private file state holding a 64-bit offset and size that
//! override the fields above, and that state is shared by all its clones.
//!
//! [`Dynptr`] mirrors all this, and the build checks the mirror against the
//! kernel source (`scripts/gen-kfuncs.py layout`).

use core::marker::PhantomData;
use core::ptr;

use kernel::error::{code, Error};
use kernel::{bindings, ffi};

use crate::framework::KfuncArg;

/// The layout of `struct bpf_dynptr_kern`'s `size` word.
pub mod layout {
    use kernel::bindings;

    /// `DYNPTR_SIZE_MASK`: the bits of the size.
    pub const SIZE_MASK: u32 = 0x00ff_ffff;
    /// `DYNPTR_TYPE_SHIFT`: where the type starts.
    pub const TYPE_SHIFT: u32 = 28;
    /// `DYNPTR_RDONLY_BIT`: the read-only bit.
    pub const RDONLY_BIT: u32 = 1 << 31;
    /// The number of values of `enum bpf_dynptr_type` the mirror knows in
    /// this tree: the five every supported series has, plus SKB_META and
    /// FILE where the tree has them (Kbuild's `--cfg rdynptr_dynptr_<type>`).
    pub const KNOWN_TYPES: usize =
        5 + cfg!(rdynptr_dynptr_skb_meta) as usize + cfg!(rdynptr_dynptr_file) as usize;
    /// The fields of `struct bpf_dynptr_file_impl` (kernel/bpf/helpers.c),
    /// type and name, that [`FileState`](super::FileState) mirrors.
    pub const FILE_STATE_FIELDS: &[(&str, &str)] = &[
        ("struct freader", "freader"),
        ("u64", "offset"),
        ("u64", "size"),
    ];

    /// Whether `a` and `b` are the same field list (for the build's check).
    pub const fn same_fields(a: &[(&str, &str)], b: &[(&str, &str)]) -> bool {
        use crate::framework::str_eq;
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if !str_eq(a[i].0, b[i].0) || !str_eq(a[i].1, b[i].1) {
                return false;
            }
            i += 1;
        }
        true
    }

    // The dynptr of a BPF program and the kernel's view of it are the same
    // 16 bytes, 8-byte aligned.
    const _: () = {
        use core::mem::{align_of, size_of};
        assert!(size_of::<bindings::bpf_dynptr_kern>() == 16);
        assert!(size_of::<bindings::bpf_dynptr>() == size_of::<bindings::bpf_dynptr_kern>());
        assert!(align_of::<bindings::bpf_dynptr>() == 8);
        assert!(align_of::<bindings::bpf_dynptr_kern>() == 8);
    };
}

/// The type of a dynptr (`enum bpf_dynptr_type`).
///
/// `SkbMeta` and `File` are the types of newer kernels: a dynptr has them
/// only where the kernel the module is built against has them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DynptrType {
    /// `BPF_DYNPTR_TYPE_INVALID` (what a null dynptr has).
    Invalid,
    /// `BPF_DYNPTR_TYPE_LOCAL`: memory of the program (`bpf_dynptr_from_mem()`).
    Local,
    /// `BPF_DYNPTR_TYPE_RINGBUF`: a ring buffer record.
    Ringbuf,
    /// `BPF_DYNPTR_TYPE_SKB`: packet data of an skb.
    Skb,
    /// `BPF_DYNPTR_TYPE_XDP`: packet data of an xdp_buff.
    Xdp,
    /// `BPF_DYNPTR_TYPE_SKB_META`: the metadata area in front of an skb's data.
    SkbMeta,
    /// `BPF_DYNPTR_TYPE_FILE`: file contents, with the view in private state.
    File,
    /// A value this module does not know (the build rejects kernels with more
    /// types than the mirror knows, so this does not happen).
    Unknown(u32),
}

// The types are numbered in order, the newest last.
#[cfg(not(any(rdynptr_dynptr_skb_meta, rdynptr_dynptr_file)))]
const _: () =
    assert!(layout::KNOWN_TYPES == bindings::bpf_dynptr_type_BPF_DYNPTR_TYPE_XDP as usize + 1);
#[cfg(rdynptr_dynptr_file)]
const _: () =
    assert!(layout::KNOWN_TYPES == bindings::bpf_dynptr_type_BPF_DYNPTR_TYPE_FILE as usize + 1);

impl DynptrType {
    fn from_raw(raw: u32) -> Self {
        #[allow(non_upper_case_globals)]
        match raw {
            bindings::bpf_dynptr_type_BPF_DYNPTR_TYPE_INVALID => Self::Invalid,
            bindings::bpf_dynptr_type_BPF_DYNPTR_TYPE_LOCAL => Self::Local,
            bindings::bpf_dynptr_type_BPF_DYNPTR_TYPE_RINGBUF => Self::Ringbuf,
            bindings::bpf_dynptr_type_BPF_DYNPTR_TYPE_SKB => Self::Skb,
            bindings::bpf_dynptr_type_BPF_DYNPTR_TYPE_XDP => Self::Xdp,
            #[cfg(rdynptr_dynptr_skb_meta)]
            bindings::bpf_dynptr_type_BPF_DYNPTR_TYPE_SKB_META => Self::SkbMeta,
            #[cfg(rdynptr_dynptr_file)]
            bindings::bpf_dynptr_type_BPF_DYNPTR_TYPE_FILE => Self::File,
            other => Self::Unknown(other),
        }
    }

    /// Whether the view (offset and size) of such a dynptr is in
    /// `struct bpf_dynptr_kern` itself: true for every type but FILE, whose
    /// view is in file state private to the kernel and shared by its clones
    /// (the kernel's own rule: its helpers test for FILE only).
    pub fn view_in_dynptr(self) -> bool {
        self != Self::File
    }
}

/// Why a dynptr operation failed.
///
/// Each variant's value is the negative errno a kfunc returns for it, so
/// that returning an error needs no table lookup.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(i32)]
pub enum DynptrError {
    /// The dynptr is null (`-EINVAL`).
    Null = -(bindings::EINVAL as i32),
    /// A length or offset goes beyond the view (`-ERANGE`).
    OutOfRange = -(bindings::ERANGE as i32),
    /// The operation needs the view of a dynptr type whose view is not in
    /// the dynptr: FILE (`-EOPNOTSUPP`).
    Unsupported = -(bindings::EOPNOTSUPP as i32),
}

impl DynptrError {
    /// The negative errno a kfunc returns for the error.
    pub fn to_errno(self) -> ffi::c_int {
        self as ffi::c_int
    }
}

impl From<DynptrError> for Error {
    fn from(e: DynptrError) -> Error {
        // The constants, not `Error::from_errno()`: no range check to run
        // (and no call) for values known to be errnos.  The kernel crate of
        // 6.12 and 7.2 has no `code::EOPNOTSUPP`: that one, a FILE
        // dynptr's, takes the call (its discriminant is a valid errno).
        match e {
            DynptrError::Null => code::EINVAL,
            DynptrError::OutOfRange => code::ERANGE,
            DynptrError::Unsupported => Error::from_errno(e.to_errno()),
        }
    }
}

/// The state a FILE dynptr's data pointer points to:
/// `struct bpf_dynptr_file_impl` (C header: [`kernel/bpf/helpers.c`](srctree/kernel/bpf/helpers.c)),
/// allocated by `bpf_dynptr_from_file()` and freed by
/// `bpf_dynptr_file_discard()`.
///
/// Its offset and size are the dynptr's view and take the place of those in
/// `struct bpf_dynptr_kern`.  A clone copies the data pointer, so every
/// clone of a FILE dynptr has the same view: changing it through one
/// changes it for all.  The build checks the field list against the
/// kernel source ([`layout::FILE_STATE_FIELDS`]).
#[cfg(rdynptr_dynptr_file)]
#[repr(C)]
pub struct FileState {
    freader: bindings::freader,
    offset: u64,
    size: u64,
}

/// A kernel without FILE dynptrs has no file state: the type has no value,
/// and the code for FILE dynptrs cannot run.
#[cfg(not(rdynptr_dynptr_file))]
pub struct FileState {
    offset: u64,
    size: u64,
    _none: core::convert::Infallible,
}

impl FileState {
    /// Shrinks the view by `len` bytes at its end, as `bpf_dynptr_adjust()`
    /// does for FILE (64-bit size). On error the view is unchanged.
    fn trim(&mut self, len: u64) -> Result<(), DynptrError> {
        self.size = self.size.checked_sub(len).ok_or(DynptrError::OutOfRange)?;
        Ok(())
    }

    /// Moves the start of the view `len` bytes forward (the end stays). On
    /// error the view is unchanged.
    fn advance(&mut self, len: u64) -> Result<(), DynptrError> {
        let size = self.size.checked_sub(len).ok_or(DynptrError::OutOfRange)?;
        // The view lies in a file, far below 2^64; the kernel adds without a
        // check, an overflow here would mean a view out of range.
        self.offset = self.offset.checked_add(len).ok_or(DynptrError::OutOfRange)?;
        self.size = size;
        Ok(())
    }
}

/// A dynptr: a copy of a `struct bpf_dynptr_kern`.
///
/// C header: [`include/linux/bpf.h`](srctree/include/linux/bpf.h)
///
/// The methods never dereference the data pointer, so any value is safe to
/// work with; for a FILE dynptr, whose view is elsewhere, the view
/// methods return [`DynptrError::Unsupported`] (the argument handles,
/// [`DynptrRef`] and [`DynptrMut`], reach the view of a FILE dynptr).
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct Dynptr(bindings::bpf_dynptr_kern);

impl Dynptr {
    /// A null dynptr, as `bpf_dynptr_set_null()` leaves one: all zero.
    pub const fn null() -> Self {
        Self(bindings::bpf_dynptr_kern {
            data: ptr::null_mut(),
            size: 0,
            offset: 0,
        })
    }

    /// Whether the dynptr is null.
    pub fn is_null(&self) -> bool {
        self.0.data.is_null()
    }

    /// The dynptr's type.
    pub fn dynptr_type(&self) -> DynptrType {
        DynptrType::from_raw((self.0.size & !layout::RDONLY_BIT) >> layout::TYPE_SHIFT)
    }

    /// Whether the dynptr's read-only bit is set (a null dynptr has none).
    pub fn is_rdonly(&self) -> bool {
        self.0.size & layout::RDONLY_BIT != 0
    }

    /// Checks that the view of the dynptr can be read and changed here:
    /// not null, not FILE (whose view the argument handles reach, see
    /// `locate`).  The same two tests as `locate`, so that the compiler
    /// drops them when a kfunc has made them already.
    fn check_view(&self) -> Result<(), DynptrError> {
        if self.is_null() {
            return Err(DynptrError::Null);
        }
        if !self.dynptr_type().view_in_dynptr() {
            return Err(DynptrError::Unsupported);
        }
        Ok(())
    }

    /// The number of usable bytes of the view.
    pub fn size(&self) -> Result<u64, DynptrError> {
        self.check_view()?;
        Ok(u64::from(self.0.size & layout::SIZE_MASK))
    }

    /// The offset of the view in the dynptr's data.
    pub fn offset(&self) -> Result<u64, DynptrError> {
        self.check_view()?;
        Ok(u64::from(self.0.offset))
    }

    /// Replaces the size of the view, keeping the type and read-only bits
    /// (and the unused ones) as they are. `size` is at most the current size.
    fn set_size(&mut self, size: u32) {
        self.0.size = (self.0.size & !layout::SIZE_MASK) | (size & layout::SIZE_MASK);
    }

    /// Shrinks the view by `len` bytes at its end. On error the dynptr is
    /// unchanged.
    pub fn trim(&mut self, len: u64) -> Result<(), DynptrError> {
        let size = self.size()?;
        let new_size = size.checked_sub(len).ok_or(DynptrError::OutOfRange)?;
        // `new_size <= size`, which fits in the 24 size bits.
        self.set_size(new_size as u32);
        Ok(())
    }

    /// Moves the start of the view `len` bytes forward (the end stays). On
    /// error the dynptr is unchanged.
    pub fn advance(&mut self, len: u64) -> Result<(), DynptrError> {
        let size = self.size()?;
        let new_size = size.checked_sub(len).ok_or(DynptrError::OutOfRange)?;
        // `len <= size`, which fits in the 24 size bits. The view lies in
        // the data, whose size fits a `u32`, so the sum cannot overflow; if
        // it did, the view would be out of range.
        let new_offset = self
            .0
            .offset
            .checked_add(len as u32)
            .ok_or(DynptrError::OutOfRange)?;
        self.0.offset = new_offset;
        self.set_size(new_size as u32);
        Ok(())
    }

    /// A clone of the dynptr, advanced by `offset` bytes.
    ///
    /// The clone has the same data, type and read-only bit. A FILE dynptr can
    /// only be cloned as it is (`offset` 0, exactly what `bpf_dynptr_clone()`
    /// does): its view is in file state that the clone shares.
    pub fn clone_at(&self, offset: u64) -> Result<Self, DynptrError> {
        if self.is_null() {
            return Err(DynptrError::Null);
        }
        // Advancing by 0 changes nothing: the clone is a copy (for a FILE
        // dynptr, the only clone there is).
        if offset == 0 {
            return Ok(*self);
        }
        let mut clone = *self;
        clone.advance(offset)?;
        Ok(clone)
    }
}

/// A `const struct bpf_dynptr *` argument of a kfunc: an initialized dynptr
/// the kfunc may only read.
///
/// Dynptr arguments are handles to the program's dynptr, not Rust
/// references: the verifier lets two arguments be the same dynptr (a clone
/// may overwrite its parent), so the handles only copy the dynptr in and out
/// ([`DynptrRef::get`], [`DynptrMut::set`]) and never hold a reference to it.
///
/// # Invariants
///
/// `ptr` points to an initialized `struct bpf_dynptr_kern`, properly aligned
/// and valid for reads for as long as the handle lives (the kfunc call);
/// nothing writes it meanwhile.
pub struct DynptrRef<'a> {
    ptr: *const bindings::bpf_dynptr_kern,
    _call: PhantomData<&'a bindings::bpf_dynptr_kern>,
}

impl DynptrRef<'_> {
    /// Reads the dynptr.
    pub fn get(&self) -> Dynptr {
        // SAFETY: By the type invariant, `ptr` is valid for reads and
        // properly aligned, and any bytes are a valid `bpf_dynptr_kern` (a
        // pointer and two integers).
        Dynptr(unsafe { ptr::read(self.ptr) })
    }

    /// The number of usable bytes of the view, wherever it is kept.
    pub fn size(&self) -> Result<u64, DynptrError> {
        let d = self.get();
        // SAFETY: `d` was read from this kfunc argument during the call,
        // and the view is used before the method returns.
        match unsafe { locate(&d) }? {
            View::Inline => d.size(),
            View::File(f) => Ok(f.size),
        }
    }

    /// The offset of the view in the dynptr's data (for FILE, in the file).
    pub fn offset(&self) -> Result<u64, DynptrError> {
        let d = self.get();
        // SAFETY: `d` was read from this kfunc argument during the call,
        // and the view is used before the method returns.
        match unsafe { locate(&d) }? {
            View::Inline => d.offset(),
            View::File(f) => Ok(f.offset),
        }
    }
}

/// Where the view of a dynptr argument is.
enum View<'a> {
    /// In the dynptr (every type but FILE).
    Inline,
    /// In the FILE dynptr's state, shared by its clones.
    File(&'a mut FileState),
}

/// Where the view of `d` is; -EINVAL for a null dynptr.  The two tests,
/// null then FILE, are those of the kernel's own dynptr kfuncs.
///
/// # Safety
///
/// `d` must have been read, during the running kfunc call, from a dynptr
/// argument of that call ([`DynptrRef::get`], [`DynptrMut::get`]), and the
/// result must not outlive the call.
unsafe fn locate<'a>(d: &Dynptr) -> Result<View<'a>, DynptrError> {
    if d.is_null() {
        return Err(DynptrError::Null);
    }
    if cfg!(not(rdynptr_dynptr_file)) || d.dynptr_type() != DynptrType::File {
        return Ok(View::Inline);
    }
    // The state is live: the verifier rejects every use of a FILE dynptr
    // (and of its clones) after `bpf_dynptr_file_discard()` frees it.  It
    // belongs to this run of the program, which waits for the kfunc.
    let state = d.0.data.cast::<FileState>();
    // SAFETY: By the contract, `d` is an initialized non-null FILE dynptr
    // of this call, so `state` points to its live, aligned
    // `bpf_dynptr_file_impl` (same layout, checked at build time), which
    // nothing else accesses during the call the reference does not outlive.
    let state = unsafe { &mut *state };
    Ok(View::File(state))
}

// SAFETY: For a `const struct bpf_dynptr *` argument, the verifier passes a
// pointer to an initialized dynptr: a 16-byte, 8-byte aligned stack slot of
// the program (or the kernel's `const` dynptr given to a callback). It stays
// valid and is not accessed by anything else while the kfunc runs (the
// program waits for the call).
unsafe impl KfuncArg for DynptrRef<'_> {
    type Abi = *const bindings::bpf_dynptr;

    unsafe fn from_abi(abi: Self::Abi) -> Self {
        // INVARIANT: the verifier's guarantee (the SAFETY comment of the
        // impl), for the call that `from_abi`'s caller is in.
        Self {
            ptr: abi.cast(),
            _call: PhantomData,
        }
    }
}

/// A `struct bpf_dynptr *` argument of a kfunc: an initialized dynptr the
/// kfunc may read and write (for example to change its view).
///
/// Like [`DynptrRef`], a handle to the program's dynptr.
///
/// # Invariants
///
/// `ptr` points to an initialized `struct bpf_dynptr_kern`, properly aligned
/// and valid for reads and writes for as long as the handle lives (the
/// kfunc call); nothing else accesses it meanwhile.
pub struct DynptrMut<'a> {
    ptr: *mut bindings::bpf_dynptr_kern,
    _call: PhantomData<&'a mut bindings::bpf_dynptr_kern>,
}

impl DynptrMut<'_> {
    /// Reads the dynptr.
    pub fn get(&self) -> Dynptr {
        // SAFETY: By the type invariant, `ptr` is valid for reads and
        // properly aligned, and any bytes are a valid `bpf_dynptr_kern`.
        Dynptr(unsafe { ptr::read(self.ptr) })
    }

    /// Writes the dynptr.
    pub fn set(&self, dynptr: Dynptr) {
        // SAFETY: By the type invariant, `ptr` is valid for writes and
        // properly aligned.
        unsafe { ptr::write(self.ptr, dynptr.0) }
    }

    /// Changes the view, wherever it is kept: `inline` on a copy of the
    /// dynptr, written back if it succeeds, or `file` on a FILE dynptr's
    /// state (which its clones share).  On error nothing changes.
    fn change_view(
        &self,
        inline: impl FnOnce(&mut Dynptr) -> Result<(), DynptrError>,
        file: impl FnOnce(&mut FileState) -> Result<(), DynptrError>,
    ) -> Result<(), DynptrError> {
        let mut d = self.get();
        // SAFETY: `d` was read from this kfunc argument during the call,
        // and the view is used before the method returns.
        match unsafe { locate(&d) }? {
            View::Inline => {
                inline(&mut d)?;
                self.set(d);
                Ok(())
            }
            View::File(f) => file(f),
        }
    }

    /// Shrinks the view by `len` bytes at its end, wherever it is kept (for
    /// FILE, in the state the clones share). On error nothing changes.
    pub fn trim(&self, len: u64) -> Result<(), DynptrError> {
        self.change_view(|d| d.trim(len), |f| f.trim(len))
    }

    /// Moves the start of the view `len` bytes forward, wherever it is kept.
    /// On error nothing changes.
    pub fn advance(&self, len: u64) -> Result<(), DynptrError> {
        self.change_view(|d| d.advance(len), |f| f.advance(len))
    }
}

// SAFETY: For a `struct bpf_dynptr *` argument without `__uninit`, the
// verifier passes a pointer to an initialized dynptr: a 16-byte, 8-byte
// aligned stack slot of the program, or a dynptr the kernel passed to the
// program as `const` (a `bpf_user_ringbuf_drain()` callback's sample, or a
// global subprogram's argument), which is a `struct bpf_dynptr_kern` of the
// kernel, properly aligned, whose view the verifier lets kfuncs change. It
// stays valid and is not accessed by anything else while the kfunc runs.
unsafe impl KfuncArg for DynptrMut<'_> {
    type Abi = *mut bindings::bpf_dynptr;

    unsafe fn from_abi(abi: Self::Abi) -> Self {
        // INVARIANT: the verifier's guarantee (the SAFETY comment of the
        // impl), for the call that `from_abi`'s caller is in.
        Self {
            ptr: abi.cast(),
            _call: PhantomData,
        }
    }
}

/// A `struct bpf_dynptr *name__uninit` argument of a kfunc: a dynptr the
/// kfunc must initialize (its previous contents are meaningless).
///
/// Like [`DynptrRef`], a handle to the program's dynptr.
///
/// # Invariants
///
/// `ptr` points to 16 bytes of the program's stack, 8-byte aligned and
/// valid for writes for as long as the handle lives (the kfunc call);
/// nothing else accesses them meanwhile.
pub struct DynptrUninit<'a> {
    ptr: *mut bindings::bpf_dynptr_kern,
    _call: PhantomData<&'a mut bindings::bpf_dynptr_kern>,
}

impl DynptrUninit<'_> {
    /// Initializes the dynptr.
    pub fn init(self, dynptr: Dynptr) {
        // SAFETY: By the type invariant, `ptr` is valid for writes of a
        // `bpf_dynptr_kern` (16 bytes) and properly aligned.
        unsafe { ptr::write(self.ptr, dynptr.0) }
    }
}

// SAFETY: For a `struct bpf_dynptr *` argument with `__uninit`, the verifier
// passes a pointer to a 16-byte, 8-byte aligned stack slot of the program
// that the kfunc is to initialize. It stays valid and is not accessed by
// anything else while the kfunc runs.
unsafe impl KfuncArg for DynptrUninit<'_> {
    type Abi = *mut bindings::bpf_dynptr;

    unsafe fn from_abi(abi: Self::Abi) -> Self {
        // INVARIANT: the verifier's guarantee (the SAFETY comment of the
        // impl), for the call that `from_abi`'s caller is in.
        Self {
            ptr: abi.cast(),
            _call: PhantomData,
        }
    }
}

/// KUnit tests of the dynptr arithmetic: [`Dynptr`]'s views, its size word
/// and [`FileState`], on values built here (no program, no data behind the
/// pointers: the methods never dereference them).  Built into the test
/// module rdynptr_kunit.ko (`src/rdynptr_kunit.rs`) and run when it is
/// loaded; `rdynptr-test` reports them (`kunit/rdynptr_dynptr`).
#[cfg(rdynptr_kunit)]
#[kernel::prelude::kunit_tests(rdynptr_dynptr)]
mod tests {
    use super::*;
    use core::ptr::NonNull;

    /// A dynptr of type `ty` with the view `size` bytes at `offset` (data
    /// pointer dangling but non-null: never dereferenced).
    fn dynptr(ty: u32, rdonly: bool, offset: u32, size: u32) -> Dynptr {
        let mut word = (ty << layout::TYPE_SHIFT) | (size & layout::SIZE_MASK);
        if rdonly {
            word |= layout::RDONLY_BIT;
        }
        Dynptr(bindings::bpf_dynptr_kern {
            data: NonNull::<u8>::dangling().as_ptr().cast(),
            size: word,
            offset,
        })
    }

    fn local(offset: u32, size: u32) -> Dynptr {
        dynptr(bindings::bpf_dynptr_type_BPF_DYNPTR_TYPE_LOCAL, false, offset, size)
    }

    /// Every type whose view is in the dynptr.
    const INLINE_TYPES: &[u32] = &[
        bindings::bpf_dynptr_type_BPF_DYNPTR_TYPE_LOCAL,
        bindings::bpf_dynptr_type_BPF_DYNPTR_TYPE_RINGBUF,
        bindings::bpf_dynptr_type_BPF_DYNPTR_TYPE_SKB,
        bindings::bpf_dynptr_type_BPF_DYNPTR_TYPE_XDP,
        #[cfg(rdynptr_dynptr_skb_meta)]
        bindings::bpf_dynptr_type_BPF_DYNPTR_TYPE_SKB_META,
    ];

    /// Lengths that must not act as their low 32 (or 24) bits.
    const WIDE_LENGTHS: [u64; 6] = [1 << 24, 1 << 32, (1 << 32) + 4, 1 << 63, u64::MAX - 1, u64::MAX];

    #[test]
    fn trim_shrinks_the_end_and_keeps_the_offset() {
        let mut d = local(3, 10);
        assert_eq!(d.trim(4), Ok(()));
        assert_eq!((d.offset(), d.size()), (Ok(3), Ok(6)));
        assert_eq!(d.trim(6), Ok(()));
        assert_eq!((d.offset(), d.size()), (Ok(3), Ok(0)));
        assert_eq!(d.trim(1), Err(DynptrError::OutOfRange));
        assert_eq!(d.trim(0), Ok(()));
    }

    #[test]
    fn advance_moves_the_start_and_keeps_the_end() {
        let mut d = local(3, 10);
        assert_eq!(d.advance(4), Ok(()));
        assert_eq!((d.offset(), d.size()), (Ok(7), Ok(6)));
        assert_eq!(d.advance(6), Ok(()));
        assert_eq!((d.offset(), d.size()), (Ok(13), Ok(0)));
        assert_eq!(d.advance(1), Err(DynptrError::OutOfRange));
    }

    #[test]
    fn lengths_are_compared_on_64_bits_and_errors_change_nothing() {
        for len in WIDE_LENGTHS {
            let mut d = local(5, 0xff_ffff);
            assert_eq!(d.trim(len), Err(DynptrError::OutOfRange));
            assert_eq!(d.advance(len), Err(DynptrError::OutOfRange));
            assert_eq!(d.clone_at(len).err(), Some(DynptrError::OutOfRange));
            assert_eq!((d.offset(), d.size()), (Ok(5), Ok(0xff_ffff)));
        }
        // The largest size: every length up to it works.
        let mut d = local(0, layout::SIZE_MASK);
        assert_eq!(d.trim(u64::from(layout::SIZE_MASK)), Ok(()));
        assert_eq!(d.size(), Ok(0));
    }

    #[test]
    fn an_offset_that_would_wrap_is_out_of_range() {
        let mut d = local(u32::MAX - 1, 8);
        assert_eq!(d.advance(2), Err(DynptrError::OutOfRange));
        assert_eq!((d.offset(), d.size()), (Ok(u64::from(u32::MAX - 1)), Ok(8)));
        assert_eq!(d.advance(1), Ok(()));
        assert_eq!(d.offset(), Ok(u64::from(u32::MAX)));
    }

    #[test]
    fn the_size_word_keeps_the_type_and_readonly_bits() {
        for &ty in INLINE_TYPES {
            for rdonly in [false, true] {
                let mut d = dynptr(ty, rdonly, 0, layout::SIZE_MASK);
                let kind = d.dynptr_type();
                assert!(kind != DynptrType::Invalid);
                assert_eq!(d.trim(0xff_0000), Ok(()));
                assert_eq!(d.advance(0xff), Ok(()));
                assert_eq!(d.size(), Ok(0xff00));
                assert_eq!(d.offset(), Ok(0xff));
                assert!(d.dynptr_type() == kind);
                assert_eq!(d.is_rdonly(), rdonly);
                let c = d.clone_at(0xf00);
                assert!(c.is_ok());
                if let Ok(c) = c {
                    assert!(c.dynptr_type() == kind);
                    assert_eq!(c.is_rdonly(), rdonly);
                    assert_eq!((c.offset(), c.size()), (Ok(0xfff), Ok(0xf000)));
                }
            }
        }
    }

    #[test]
    fn null_dynptrs_give_einval() {
        let mut n = Dynptr::null();
        assert!(n.is_null() && !n.is_rdonly());
        assert!(n.dynptr_type() == DynptrType::Invalid);
        assert_eq!(n.trim(0), Err(DynptrError::Null));
        assert_eq!(n.advance(0), Err(DynptrError::Null));
        assert_eq!(n.size(), Err(DynptrError::Null));
        assert_eq!(n.offset(), Err(DynptrError::Null));
        assert_eq!(n.clone_at(0).err(), Some(DynptrError::Null));
        assert_eq!(DynptrError::Null.to_errno(), -(bindings::EINVAL as i32));
    }

    #[test]
    fn clones_copy_the_view_then_advance_it() {
        let p = local(10, 20);
        let c = p.clone_at(20);
        assert!(c.is_ok_and(|c| c.offset() == Ok(30) && c.size() == Ok(0)));
        assert_eq!(p.clone_at(21).err(), Some(DynptrError::OutOfRange));
        assert_eq!((p.offset(), p.size()), (Ok(10), Ok(20)));
        assert_eq!(DynptrError::OutOfRange.to_errno(), -(bindings::ERANGE as i32));
    }

    #[cfg(rdynptr_dynptr_file)]
    #[test]
    fn file_views_are_in_the_file_state() {
        let f = dynptr(bindings::bpf_dynptr_type_BPF_DYNPTR_TYPE_FILE, true, 0, 0);
        assert!(!f.dynptr_type().view_in_dynptr());
        assert_eq!(f.size(), Err(DynptrError::Unsupported));
        assert!(f.clone_at(0).is_ok());
        assert_eq!(f.clone_at(1).err(), Some(DynptrError::Unsupported));
        assert_eq!(DynptrError::Unsupported.to_errno(), -(bindings::EOPNOTSUPP as i32));
    }

    #[cfg(rdynptr_dynptr_file)]
    #[test]
    fn file_state_views_are_64_bit() {
        // SAFETY: an all-zero `struct freader` is a valid value (null
        // pointers and zero integers); it is never used here.
        let freader = unsafe { core::mem::zeroed::<bindings::freader>() };
        let mut s = FileState {
            freader,
            offset: 0,
            size: u64::MAX,
        };
        assert_eq!(s.trim(u64::MAX - 5000), Ok(()));
        assert_eq!(s.size, 5000);
        assert_eq!(s.advance(1 << 32), Err(DynptrError::OutOfRange));
        assert_eq!(s.advance(4000), Ok(()));
        assert_eq!((s.offset, s.size), (4000, 1000));
        assert_eq!(s.trim(1001), Err(DynptrError::OutOfRange));
        assert_eq!((s.offset, s.size), (4000, 1000));
        s.offset = u64::MAX - 1;
        assert_eq!(s.advance(2), Err(DynptrError::OutOfRange));
        assert_eq!((s.offset, s.size), (u64::MAX - 1, 1000));
    }
}
