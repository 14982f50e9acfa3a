// SPDX-License-Identifier: GPL-2.0

//! rdynptr: dynptr convenience kfuncs for BPF programs, written in Rust.
//!
//! The kfuncs are declared in `include/rdynptr/kfuncs.h` and documented in
//! `Documentation/kfuncs.rst`; the framework that defines and registers them
//! ([`framework`]) is described in `Documentation/kfuncs-in-rust.rst`.

use kernel::prelude::*;

pub mod dynptr;
pub mod iter;
pub mod framework;
mod kfuncs;

use framework::{KfuncSetRegistration, ProgType};

crate::module_compat! {
    type: Rdynptr,
    name: "rdynptr",
    author: "The rdynptr developers",
    description: "Dynptr convenience kfuncs for BPF programs",
    license: "GPL",
}

/// The program types the kfuncs are registered for: all of them, like the
/// kernel's own dynptr kfuncs, since every program type can hold a dynptr.
const PROG_TYPES: &[ProgType] = &[ProgType::Any];

struct Rdynptr {
    _kfuncs: KfuncSetRegistration,
}

impl kernel::Module for Rdynptr {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let kfuncs = KfuncSetRegistration::register(module, &kfuncs::KFUNCS, PROG_TYPES)?;
        pr_info!(
            "loaded: {} kfuncs for all BPF program types{}\n",
            kfuncs.set().len(),
            if cfg!(rdynptr_clone) {
                ""
            } else {
                " (no bpf_rdynptr_clone: the kernel lacks KF_DYNPTR_CLONE)"
            }
        );
        Ok(Rdynptr { _kfuncs: kfuncs })
    }
}

impl Drop for Rdynptr {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
