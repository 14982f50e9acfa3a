// SPDX-License-Identifier: GPL-2.0

//! Per-kfunc flags: the `KF_*` constants of `include/linux/btf.h`.

use kernel::bindings;

/// The flags of one kfunc in a set: a combination of the `KF_*` constants of
/// [`include/linux/btf.h`](srctree/include/linux/btf.h), which tell the
/// verifier how to treat the kfunc's arguments and return value.
///
/// The values come from the kernel headers the module is built against.
/// Flags that not every supported kernel series has exist only when the
/// tree defines them (`Kbuild` sets `--cfg rdynptr_kf_<flag>` for each
/// `KF_*` of the tree's `include/linux/btf.h`).
/// Combine flags with [`KfFlags::with`] (usable in constants) or `|`. In a
/// [`kfunc_set!`](crate::kfunc_set) table, write them as in C:
/// `bpf_foo: ACQUIRE | RET_NULL`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(transparent)]
pub struct KfFlags(u32);

impl KfFlags {
    /// No flag: a plain kfunc (the default in C, and for most dynptr kfuncs).
    pub const NONE: Self = Self(0);
    /// `KF_ACQUIRE`: returns a referenced pointer the program must release.
    pub const ACQUIRE: Self = Self(bindings::KF_ACQUIRE);
    /// `KF_RELEASE`: releases the referenced pointer passed as argument.
    pub const RELEASE: Self = Self(bindings::KF_RELEASE);
    /// `KF_RET_NULL`: the returned pointer may be NULL and must be checked.
    pub const RET_NULL: Self = Self(bindings::KF_RET_NULL);
    /// `KF_SLEEPABLE`: may sleep; only sleepable programs may call it.
    pub const SLEEPABLE: Self = Self(bindings::KF_SLEEPABLE);
    /// `KF_DESTRUCTIVE`: destructive; needs `CAP_SYS_BOOT`.
    pub const DESTRUCTIVE: Self = Self(bindings::KF_DESTRUCTIVE);
    /// `KF_RCU`: takes trusted or RCU-protected pointer arguments.
    pub const RCU: Self = Self(bindings::KF_RCU);
    /// `KF_ITER_NEW`: constructor of an open-coded iterator.
    pub const ITER_NEW: Self = Self(bindings::KF_ITER_NEW);
    /// `KF_ITER_NEXT`: `next` method of an open-coded iterator.
    pub const ITER_NEXT: Self = Self(bindings::KF_ITER_NEXT);
    /// `KF_ITER_DESTROY`: destructor of an open-coded iterator.
    pub const ITER_DESTROY: Self = Self(bindings::KF_ITER_DESTROY);
    /// `KF_RCU_PROTECTED`: must be called inside an RCU read-side section.
    #[cfg(rdynptr_kf_rcu_protected)]
    pub const RCU_PROTECTED: Self = Self(bindings::KF_RCU_PROTECTED);
    /// `KF_FASTCALL`: supports the `bpf_fastcall` calling convention.
    #[cfg(rdynptr_kf_fastcall)]
    pub const FASTCALL: Self = Self(bindings::KF_FASTCALL);
    /// `KF_ARENA_RET`: returns an arena pointer.
    #[cfg(rdynptr_kf_arena_ret)]
    pub const ARENA_RET: Self = Self(bindings::KF_ARENA_RET);
    /// `KF_ARENA_ARG1`: the first argument is an arena pointer.
    #[cfg(rdynptr_kf_arena_arg1)]
    pub const ARENA_ARG1: Self = Self(bindings::KF_ARENA_ARG1);
    /// `KF_ARENA_ARG2`: the second argument is an arena pointer.
    #[cfg(rdynptr_kf_arena_arg2)]
    pub const ARENA_ARG2: Self = Self(bindings::KF_ARENA_ARG2);
    /// `KF_IMPLICIT_ARGS`: has arguments supplied by the verifier.
    #[cfg(rdynptr_kf_implicit_args)]
    pub const IMPLICIT_ARGS: Self = Self(bindings::KF_IMPLICIT_ARGS);
    /// `KF_SPINLOCK_SAFE`: callable while holding a `bpf_spin_lock`.
    #[cfg(rdynptr_kf_spinlock_safe)]
    pub const SPINLOCK_SAFE: Self = Self(bindings::KF_SPINLOCK_SAFE);
    /// `KF_PERFMON`: needs `CAP_PERFMON`.
    #[cfg(rdynptr_kf_perfmon)]
    pub const PERFMON: Self = Self(bindings::KF_PERFMON);
    /// `KF_DYNPTR_CLONE`: the `__uninit` dynptr argument becomes a clone of
    /// the dynptr argument, exactly as with `bpf_dynptr_clone()`.
    ///
    /// Added to `include/linux/btf.h` by the rdynptr kernel patch; exists
    /// only when the module is built against a patched kernel (the build
    /// then sets `--cfg rdynptr_clone`).
    #[cfg(rdynptr_clone)]
    pub const DYNPTR_CLONE: Self = Self(bindings::KF_DYNPTR_CLONE);

    /// Returns `self` with the flags of `other` added.
    pub const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Returns `true` if every flag of `other` is set in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Returns the raw `KF_*` bits, as stored in the set table.
    pub const fn bits(self) -> u32 {
        self.0
    }
}

impl core::ops::BitOr for KfFlags {
    type Output = Self;

    fn bitor(self, other: Self) -> Self {
        self.with(other)
    }
}
