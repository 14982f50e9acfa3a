// SPDX-License-Identifier: GPL-2.0
//! What the running kernel provides: kfuncs (FUNC entries in the BTF of
//! vmlinux and of loaded modules under /sys/kernel/btf), program types and
//! the JIT.

use libbpf_rs::libbpf_sys as sys;
use libbpf_rs::ProgramType;
use std::collections::HashMap;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

pub use rdynptr_kernel::btf::{KernelBtf, SYSFS_BTF};

/// libbpf's name of a program type ("sched_cls", "xdp", ...).
pub fn prog_type_name(t: ProgramType) -> String {
    // SAFETY: libbpf_bpf_prog_type_str accepts any value and returns NULL
    // or a static C string.
    let s = unsafe { sys::libbpf_bpf_prog_type_str(t as u32) };
    if s.is_null() {
        return format!("{t:?}");
    }
    // SAFETY: non-null results are static NUL-terminated strings.
    unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned()
}

/// Cached answers to "does the kernel support program type X".
#[derive(Default)]
pub struct ProgTypeSupport {
    cache: HashMap<u32, Option<bool>>,
}

impl ProgTypeSupport {
    /// Some(false) only when libbpf's probe says the type is unsupported;
    /// None when the probe could not tell.
    pub fn supported(&mut self, t: ProgramType) -> Option<bool> {
        *self
            .cache
            .entry(t as u32)
            .or_insert_with(|| t.is_supported().ok())
    }
}

/// Loads the trivial program "r0 = 0; exit" of type `t` with load flags
/// `flags`; None if the kernel refuses it.
fn load_trivial(t: u32, flags: u32) -> Option<OwnedFd> {
    let insns = [
        sys::bpf_insn {
            code: 0xb7, // BPF_ALU64 | BPF_MOV | BPF_K: r0 = 0
            ..Default::default()
        },
        sys::bpf_insn {
            code: 0x95, // BPF_JMP | BPF_EXIT
            ..Default::default()
        },
    ];
    let mut opts = sys::bpf_prog_load_opts {
        sz: std::mem::size_of::<sys::bpf_prog_load_opts>() as _,
        prog_flags: flags,
        ..Default::default()
    };
    // SAFETY: the license is a NUL-terminated string, `insns` holds
    // `insns.len()` instructions and `opts` is a properly sized options
    // struct; all outlive the call, which does not keep them.
    let fd = unsafe {
        sys::bpf_prog_load(
            t,
            std::ptr::null(),
            c"GPL".as_ptr(),
            insns.as_ptr(),
            insns.len() as _,
            &mut opts,
        )
    };
    // SAFETY: a non-negative `fd` is a file descriptor the call above just
    // opened and nothing else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Does the kernel accept program load flag `flag`?  Loads a trivial
/// socket filter with it.
pub fn prog_flag_supported(flag: u32) -> bool {
    load_trivial(sys::BPF_PROG_TYPE_SOCKET_FILTER, flag).is_some()
}

/// Does BPF_PROG_TEST_RUN of the running kernel take the context `ctx`
/// with packet `pkt` for programs of type `t`?  Runs a trivial program
/// with them.  (The non-linear test packets of `__linear_size` need a
/// context with `data_end` set, which skb programs of newer kernels take
/// and those of 6.12 refuse with EINVAL.)
pub fn test_run_takes_ctx(t: ProgramType, ctx: &[u8], pkt: &[u8]) -> bool {
    // The answer depends on the program type only: asked once per type.
    static SEEN: std::sync::Mutex<Vec<(u32, bool)>> = std::sync::Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&(_, ok)) = seen.iter().find(|(k, _)| *k == t as u32) {
        return ok;
    }
    let ok = probe_ctx(t, ctx, pkt);
    seen.push((t as u32, ok));
    ok
}

fn probe_ctx(t: ProgramType, ctx: &[u8], pkt: &[u8]) -> bool {
    let Some(fd) = load_trivial(t as u32, 0) else {
        return false;
    };
    let mut opts = sys::bpf_test_run_opts {
        sz: std::mem::size_of::<sys::bpf_test_run_opts>() as _,
        data_in: pkt.as_ptr().cast(),
        data_size_in: pkt.len() as u32,
        ctx_in: ctx.as_ptr().cast(),
        ctx_size_in: ctx.len() as u32,
        ..Default::default()
    };
    // SAFETY: `fd` is a loaded program, `opts` a properly sized options
    // struct whose input pointers and sizes describe `pkt` and `ctx`, and
    // whose output pointers are NULL; all outlive the call.
    unsafe { sys::bpf_prog_test_run_opts(fd.as_raw_fd(), &mut opts) == 0 }
}

/// Program flags rdynptr-test sets on every program of its own suites when
/// the kernel supports them, as the kernel's selftests mean to (see
/// Env::load_and_check for why their programs get none):
/// BPF_F_TEST_RND_HI32 (random upper halves after 32-bit operations where
/// the JIT needs zero extension) and BPF_F_TEST_REG_INVARIANTS (register
/// bound invariant violations are errors, not silently fixed).
pub fn testing_prog_flags() -> u32 {
    [sys::BPF_F_TEST_RND_HI32, sys::BPF_F_TEST_REG_INVARIANTS]
        .into_iter()
        .filter(|&f| prog_flag_supported(f))
        .fold(0, |acc, f| acc | f)
}

/// The version of the libbpf linked in ("1.8"; scripts/libbpf.sh).
pub fn libbpf_version() -> String {
    // SAFETY: both functions only return constants.
    let (major, minor) = unsafe { (sys::libbpf_major_version(), sys::libbpf_minor_version()) };
    format!("{major}.{minor}")
}

extern "C" {
    // libbpf 1.6 and later (scripts/libbpf.sh links 1.8); the libbpf-sys
    // bindings, those of 1.5, lack it.
    fn bpf_prog_stream_read(
        prog_fd: std::ffi::c_int,
        stream_id: u32,
        buf: *mut std::ffi::c_void,
        buf_len: u32,
        opts: *mut std::ffi::c_void,
    ) -> std::ffi::c_int;
}

/// Reads what program `fd` wrote to its BPF stream `stream_id` (1: stdout,
/// 2: stderr) into `buf`; returns the number of bytes.
pub fn prog_stream_read(
    fd: std::ffi::c_int,
    stream_id: u32,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
    // SAFETY: `buf` is writable for `len` bytes; NULL options are allowed.
    let n = unsafe {
        bpf_prog_stream_read(
            fd,
            stream_id,
            buf.as_mut_ptr().cast(),
            len,
            std::ptr::null_mut(),
        )
    };
    if n < 0 {
        return Err(std::io::Error::from_raw_os_error(-n));
    }
    Ok(n as usize)
}

/// Is the BPF JIT enabled?  Read once per run (every test asks; no test
/// changes it).
pub fn jit_enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/net/core/bpf_jit_enable")
            .map(|s| s.trim() != "0")
            .unwrap_or(false)
    })
}

/// The running kernel's release, for reports.
pub fn release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}
