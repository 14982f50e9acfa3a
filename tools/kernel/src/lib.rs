// SPDX-License-Identifier: GPL-2.0
//! What the userspace tools of rdynptr (rdynptr-test, rdynptr-bench) share
//! about the running kernel: the module's name and kfuncs, the FUNCs of the
//! kernel's BTF, and the signs of kernel trouble in its log.

pub mod btf;
pub mod prog;
pub mod trouble;

pub use btf::KernelBtf;

/// The module's name (`/sys/module/rdynptr`, `/sys/kernel/btf/rdynptr`).
pub const MODULE: &str = "rdynptr";

/// The module's kfuncs: its FUNCs with these prefixes
/// (include/rdynptr/kfuncs.h).
pub const KFUNC_PREFIXES: &[&str] = &["bpf_rdynptr_", "bpf_iter_rdynptr_"];

/// The kfunc that only a kernel with the KF_DYNPTR_CLONE verifier patch
/// gets (scripts/patches/).
pub const CLONE_KFUNC: &str = "bpf_rdynptr_clone";

/// Whether `name` is one of the module's kfuncs (by its name).
pub fn is_module_kfunc(name: &str) -> bool {
    KFUNC_PREFIXES.iter().any(|p| name.starts_with(p))
}
