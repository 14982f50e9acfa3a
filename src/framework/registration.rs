// SPDX-License-Identifier: GPL-2.0

//! Registering a kfunc set with the kernel.

use kernel::{bindings, error::to_result, ffi, prelude::*, types::Opaque, ThisModule};

use super::{KfuncSet, ProgType};

/// A BPF program, as a kfunc filter sees it.
///
/// C header: [`include/linux/bpf.h`](srctree/include/linux/bpf.h)
///
/// # Invariants
///
/// A `&BpfProg` refers to a `struct bpf_prog` of the kernel, valid for as
/// long as the reference: references are only made by
/// `filter_trampoline`, for the duration of the kernel's call to the
/// filter.
#[repr(transparent)]
pub struct BpfProg(Opaque<bindings::bpf_prog>);

impl BpfProg {
    /// The program's type (the raw `enum bpf_prog_type`).
    pub fn prog_type(&self) -> u32 {
        // SAFETY: By the type invariant, `self` wraps a valid
        // `struct bpf_prog`, and the program type does not change after the
        // program is created (no concurrent write).
        unsafe { (*self.0.get()).type_ }
    }
}

/// Decides, per program and kfunc, whether a program may call a kfunc of a
/// set (the `filter` of `struct btf_kfunc_id_set`).
pub trait KfuncFilter {
    /// Returns whether `prog` may call the kfunc with BTF id `kfunc_btf_id`
    /// (an id of the module's BTF).
    fn allow(prog: &BpfProg, kfunc_btf_id: u32) -> bool;
}

/// The C filter calling `F`.
///
/// # Safety
///
/// `prog` must point to a `struct bpf_prog` that stays valid during the call.
unsafe extern "C" fn filter_trampoline<F: KfuncFilter>(
    prog: *const bindings::bpf_prog,
    kfunc_btf_id: u32,
) -> ffi::c_int {
    // INVARIANT: the reference lives only during the call.
    // SAFETY: By the safety requirements of this function, `prog` is valid
    // for the call, and `BpfProg` is a transparent wrapper of the struct.
    let prog = unsafe { &*prog.cast::<BpfProg>() };
    if F::allow(prog, kfunc_btf_id) {
        0
    } else {
        EACCES.to_errno()
    }
}

/// A kfunc set registered with the kernel for some program types: owns the
/// `struct btf_kfunc_id_set` (owner: the module; optional filter).
///
/// C header: [`include/linux/btf.h`](srctree/include/linux/btf.h)
///
/// The kernel has no way to unregister a kfunc set: its kfuncs stay callable
/// until the module is unloaded, and a loaded program that uses them keeps
/// the module from being unloaded. Dropping the registration does nothing;
/// keep it in the module's state so the registration's lifetime reads right.
pub struct KfuncSetRegistration {
    kset: bindings::btf_kfunc_id_set,
    set: &'static KfuncSet,
}

// SAFETY: The registration is not changed after it is made; its pointers are
// to the module (`THIS_MODULE`, valid while the module exists), to the
// immutable set table and to module code, none of which is tied to a thread.
unsafe impl Send for KfuncSetRegistration {}

// SAFETY: As above; `&KfuncSetRegistration` only gives read access.
unsafe impl Sync for KfuncSetRegistration {}

impl KfuncSetRegistration {
    /// Registers `set` for `prog_types`, with `module` as owner.
    ///
    /// Program types that share a kernel hook (see [`ProgType::kfunc_hook`])
    /// are registered once. If the kernel refuses, logs an error naming the
    /// set and the program type, and returns the kernel's error; the kernel
    /// then also drops the module's earlier registrations. Call this from
    /// module init only.
    ///
    /// The kernel keeps one kfunc set per module and hook: registering a
    /// second set of the same module for a hook that already has one (or
    /// the same set again) makes the kernel warn and fail with `-EINVAL`
    /// (`btf_populate_kfunc_set()` in kernel/bpf/btf.c). Put the kfuncs of
    /// a module that share program types in one set; sets for disjoint
    /// hooks are fine.
    pub fn register(
        module: &'static ThisModule,
        set: &'static KfuncSet,
        prog_types: &[ProgType],
    ) -> Result<Self> {
        Self::new(module, set, None).register_all(prog_types)
    }

    /// Like [`KfuncSetRegistration::register`], with `F` deciding which
    /// programs may call the kfuncs.
    pub fn register_filtered<F: KfuncFilter>(
        module: &'static ThisModule,
        set: &'static KfuncSet,
        prog_types: &[ProgType],
    ) -> Result<Self> {
        Self::new(module, set, Some(filter_trampoline::<F>)).register_all(prog_types)
    }

    fn new(
        module: &'static ThisModule,
        set: &'static KfuncSet,
        filter: bindings::btf_kfunc_filter_t,
    ) -> Self {
        Self {
            kset: bindings::btf_kfunc_id_set {
                owner: module.as_ptr(),
                set: set.table(),
                filter,
            },
            set,
        }
    }

    fn register_all(self, prog_types: &[ProgType]) -> Result<Self> {
        // The hooks registered so far, one bit per `KfuncHook`.
        let mut done = 0u32;
        for &prog_type in prog_types {
            // Fewer than 32 hooks (`KfuncHook`): the shift never fails.
            let hook = 1u32.checked_shl(prog_type.kfunc_hook() as u32).unwrap_or(0);
            if done & hook != 0 {
                continue;
            }
            // SAFETY: `self.kset` is a valid `btf_kfunc_id_set`: owner this
            // module, set the `btf_id_set8` of `self.set` (resolved, sorted,
            // `BTF_SET8_KFUNCS`), filter `None` or a C-ABI fn of this module,
            // which outlives the registration; the kernel copies the pairs.
            let ret = unsafe { bindings::register_btf_kfunc_id_set(prog_type.raw(), &self.kset) };
            if let Err(err) = to_result(ret) {
                let what = if prog_type == ProgType::Any {
                    " (all program types)"
                } else {
                    " programs"
                };
                pr_err!(
                    "cannot register the kfunc set {} ({} kfuncs) for {}{}: error {}\n",
                    self.set.name(),
                    self.set.len(),
                    prog_type.name(),
                    what,
                    err.to_errno()
                );
                return Err(err);
            }
            done |= hook;
        }
        Ok(self)
    }

    /// The registered set.
    pub fn set(&self) -> &'static KfuncSet {
        self.set
    }
}
