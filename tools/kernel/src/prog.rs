// SPDX-License-Identifier: GPL-2.0
//! Loaded programs: what the kernel says about one
//! (BPF_OBJ_GET_INFO_BY_FD, with the arrays asked for).

use anyhow::{anyhow, Context as _};
use libbpf_rs::query::{ProgInfoIter, ProgInfoQueryOptions, ProgramInfo};
use libbpf_rs::Program;
use std::os::fd::BorrowedFd;

/// The info of the loaded program `fd`, with the arrays `opts` asks for
/// (xlated or JITed code, ksyms, ...).  libbpf-rs gets those for programs
/// it iterates, so this finds the program by its id among them.
pub fn info(fd: BorrowedFd<'_>, opts: ProgInfoQueryOptions) -> anyhow::Result<ProgramInfo> {
    let id = Program::id_from_fd(fd).context("BPF_OBJ_GET_INFO_BY_FD")?;
    ProgInfoIter::with_query_opts(opts)
        .find(|p| p.id == id)
        .ok_or_else(|| anyhow!("program id {id} is not among the kernel's programs"))
}
