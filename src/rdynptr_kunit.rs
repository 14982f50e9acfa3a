// SPDX-License-Identifier: GPL-2.0

//! rdynptr_kunit: the KUnit suites of rdynptr's dynptr arithmetic.
//!
//! The suites live next to the code they test (`tests` in `src/dynptr.rs`
//! and `src/iter.rs`) and are compiled only into this test module
//! (`--cfg rdynptr_kunit`), built from the same sources when the kernel has
//! `CONFIG_KUNIT=y`. KUnit runs a module's suites every time the module is
//! loaded; rdynptr itself is loaded and unloaded thousands of times by the
//! module stress tests, so its suites are here, in a module loaded once.
//! `rdynptr-test` loads it, reports the suites (`kunit/<suite>`, read from
//! debugfs) and unloads it.

// Only the arithmetic and its tests are used here, not the kfuncs.
#![allow(dead_code, unreachable_pub)]

use kernel::prelude::*;

#[path = "dynptr.rs"]
pub mod dynptr;
#[path = "framework/mod.rs"]
pub mod framework;
#[path = "iter.rs"]
pub mod iter;

crate::module_compat! {
    type: RdynptrKunit,
    name: "rdynptr_kunit",
    author: "The rdynptr developers",
    description: "KUnit suites of rdynptr's dynptr arithmetic",
    license: "GPL",
}

struct RdynptrKunit;

impl kernel::Module for RdynptrKunit {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(RdynptrKunit)
    }
}
