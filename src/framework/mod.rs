// SPDX-License-Identifier: GPL-2.0

//! The kfunc framework: kfuncs written in Rust, for any module (rdynptr's
//! own kfuncs, which use it, are in `src/kfuncs.rs`).
//!
//! The C way to add kfuncs to a module is: define `__bpf_kfunc` functions,
//! list them with their `KF_*` flags between `BTF_KFUNCS_START()` and
//! `BTF_KFUNCS_END()`, and register the set with
//! `register_btf_kfunc_id_set()` for some program types. This module is the
//! Rust side of the same thing:
//!
//! - [`kfunc!`](crate::framework) defines kfuncs as safe Rust functions whose
//!   arguments are [`KfuncArg`] types (for example the dynptr handles of
//!   [`crate::dynptr`]);
//! - [`kfunc_set!`](crate::kfunc_set) declares a set with per-kfunc
//!   [`KfFlags`] and emits its table into `.BTF_ids`;
//! - [`KfuncSetRegistration`] registers the set for a list of
//!   [`ProgType`]s, with an optional [`KfuncFilter`].
//!
//! What Rust cannot do is give a kfunc its BTF: the kernel build generates
//! BTF with pahole and tells it to skip Rust code, but the verifier, libbpf
//! and `resolve_btfids` all need a BTF FUNC per kfunc. So every kfunc also
//! has a C entry point, generated from `include/rdynptr/kfuncs.h`, that only
//! calls the Rust function; the build checks that both agree. The whole
//! picture, and how to add a kfunc, is in `Documentation/kfuncs-in-rust.rst`.

mod abi;
mod flags;
mod module;
mod prog_type;
mod registration;
mod set;

pub use abi::{KfuncArg, KfuncRet};
pub use flags::KfFlags;
pub use prog_type::{KfuncHook, ProgType};
pub use registration::{BpfProg, KfuncFilter, KfuncSetRegistration};
pub use set::{KfuncEntry, KfuncSet};
pub(crate) use set::str_eq;
