// SPDX-License-Identifier: GPL-2.0
//! The rdynptr BPF test harness: reading annotated BPF objects, running
//! their programs, and reporting KTAP.  The binary is `rdynptr-test`
//! (src/main.rs); see Documentation/harness.rst.

pub mod btf_cache;
pub mod btf_fixup;
pub mod compare;
pub mod disasm;
pub mod elfscan;
pub mod expectations;
pub mod filter;
pub mod github;
pub mod jitdisasm;
pub mod kernel;
pub mod ktap;
pub mod kunit;
pub mod libbpflog;
pub mod logmatch;
pub mod module;
pub mod objects;
pub mod packet;
pub mod parallel;
pub mod report;
pub mod runner;
pub mod shard;
pub mod spec;
pub mod sweep;
pub mod trigger;
pub mod unpriv;
