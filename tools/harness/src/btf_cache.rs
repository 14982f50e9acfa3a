// SPDX-License-Identifier: GPL-2.0
//! One parse of the kernel's BTF per process, shared by every object load.
//!
//! libbpf parses /sys/kernel/btf/vmlinux (tens of thousands of types) for
//! every object it loads that needs it (CO-RE relocations, kfuncs and
//! ksyms, struct_ops, BTF attach targets: nearly every test object), and
//! frees it when the load is done: a fixed cost per test that dwarfs many
//! verifications.  rdynptr-test links libbpf statically and wraps the two
//! calls involved (`-Wl,--wrap`, set by build.rs): libbpf.c's
//! `btf__load_vmlinux_btf()` gets the BTF parsed the first time, and its
//! `btf__free()` of that BTF leaves it alone.  The vmlinux BTF cannot
//! change while the kernel runs (module BTF is separate, split BTF that
//! libbpf still loads for each object), and libbpf only reads it after
//! the parse, so sharing it between objects, and between test threads, is
//! sharing an immutable value.  libbpf's own calls inside btf.c (where the
//! wrap does not reach) are not the load path of objects.
//!
//! `RDYNPTR_VMLINUX_BTF_CACHE=0` turns the sharing off (every load parses
//! again), to measure what it saves.

use libbpf_rs::libbpf_sys as sys;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Mutex;

extern "C" {
    fn __real_btf__load_vmlinux_btf() -> *mut sys::btf;
    fn __real_btf__free(btf: *mut sys::btf);
}

/// The shared vmlinux BTF, once parsed (null before).
static SHARED: AtomicPtr<sys::btf> = AtomicPtr::new(std::ptr::null_mut());
/// Held while the first parse runs, so that it runs once.
static PARSING: Mutex<()> = Mutex::new(());

fn enabled() -> bool {
    std::env::var_os("RDYNPTR_VMLINUX_BTF_CACHE").is_none_or(|v| v != "0")
}

/// libbpf's `btf__load_vmlinux_btf()`, parsed once per process.
///
/// # Safety
///
/// Called by libbpf in place of `btf__load_vmlinux_btf()`, with its
/// contract: the result is a BTF or an error pointer.
#[no_mangle]
pub unsafe extern "C" fn __wrap_btf__load_vmlinux_btf() -> *mut sys::btf {
    if !enabled() {
        // SAFETY: libbpf's own function, as libbpf would call it.
        return unsafe { __real_btf__load_vmlinux_btf() };
    }
    let shared = SHARED.load(Ordering::Acquire);
    if !shared.is_null() {
        return shared;
    }
    let _once = PARSING.lock().unwrap_or_else(|e| e.into_inner());
    let shared = SHARED.load(Ordering::Acquire);
    if !shared.is_null() {
        return shared;
    }
    // SAFETY: as above.
    let btf = unsafe { __real_btf__load_vmlinux_btf() };
    // An error (a small negative errno as a pointer) is not kept: the
    // next load tries again and reports it.
    // SAFETY: libbpf_get_error() only looks at the pointer's value.
    if !btf.is_null() && unsafe { sys::libbpf_get_error(btf.cast()) } == 0 {
        SHARED.store(btf, Ordering::Release);
    }
    btf
}

/// libbpf's `btf__free()`, except of the shared vmlinux BTF.
///
/// # Safety
///
/// Called by libbpf in place of `btf__free()`, with its contract: `btf` is
/// a BTF of libbpf's, an error pointer, or null.
#[no_mangle]
pub unsafe extern "C" fn __wrap_btf__free(btf: *mut sys::btf) {
    if !btf.is_null() && btf == SHARED.load(Ordering::Acquire) {
        return;
    }
    // SAFETY: libbpf's own function, with what libbpf passed.
    unsafe { __real_btf__free(btf) }
}
