// SPDX-License-Identifier: GPL-2.0
//! What the running kernel provides: kfuncs (FUNC entries in the BTF of
//! vmlinux and of loaded modules under /sys/kernel/btf), program types and
//! the JIT.

use libbpf_rs::libbpf_sys as sys;
use libbpf_rs::ProgramType;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::path::Path;
use std::ptr::NonNull;

pub const SYSFS_BTF: &str = "/sys/kernel/btf";

/// A BTF object parsed by libbpf: vmlinux's, or a module's split BTF on
/// top of it.
///
/// # Invariants
///
/// `ptr` came from `btf__load_vmlinux_btf` or `btf__parse_split` and is
/// freed only by `Drop`.  A split BTF points into its base, so a base
/// outlives every split BTF parsed on it (see [`KernelBtf::load`]).
struct RawBtf {
    ptr: NonNull<sys::btf>,
}

impl RawBtf {
    fn vmlinux() -> Result<RawBtf, String> {
        // SAFETY: no arguments; libbpf 1.x returns a new object or NULL
        // with errno set.
        let raw = unsafe { sys::btf__load_vmlinux_btf() };
        let err = std::io::Error::last_os_error();
        // INVARIANT: a non-null result is a new object we now own.
        NonNull::new(raw)
            .map(|ptr| RawBtf { ptr })
            .ok_or_else(|| format!("the kernel has no usable BTF: {err}"))
    }

    fn parse_split(path: &Path, base: &RawBtf) -> Result<RawBtf, String> {
        let cpath = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| format!("bad path {}", path.display()))?;
        // SAFETY: `cpath` is a valid C string and `base.ptr` a live BTF
        // object (type invariant).  libbpf 1.x returns a new object or
        // NULL with errno set.
        let raw = unsafe { sys::btf__parse_split(cpath.as_ptr(), base.ptr.as_ptr()) };
        let err = std::io::Error::last_os_error();
        // INVARIANT: as in vmlinux(); the caller keeps `base` alive longer.
        NonNull::new(raw)
            .map(|ptr| RawBtf { ptr })
            .ok_or_else(|| format!("cannot parse {}: {err}", path.display()))
    }

    /// Number of type ids, the base's included.
    fn type_cnt(&self) -> u32 {
        // SAFETY: `ptr` is a valid BTF object (type invariant).
        unsafe { sys::btf__type_cnt(self.ptr.as_ptr()) }
    }

    /// Name of type `id` if it is a FUNC.
    fn func_name(&self, id: u32) -> Option<String> {
        // SAFETY: `ptr` is valid; libbpf returns NULL for an id out of
        // range, else a pointer into the BTF data.
        let t = unsafe { sys::btf__type_by_id(self.ptr.as_ptr(), id) };
        if t.is_null() {
            return None;
        }
        // SAFETY: non-null type pointers from libbpf point to a btf_type
        // inside the BTF data, valid as long as the BTF object.
        let (info, name_off) = unsafe { ((*t).info, (*t).name_off) };
        if (info >> 24) & 0x1f != sys::BTF_KIND_FUNC {
            return None;
        }
        // SAFETY: `ptr` is valid; libbpf returns NULL or a NUL-terminated
        // string inside the BTF string section.
        let name = unsafe { sys::btf__name_by_offset(self.ptr.as_ptr(), name_off) };
        if name.is_null() {
            return None;
        }
        // SAFETY: see above, a valid C string living as long as the BTF.
        Some(
            unsafe { CStr::from_ptr(name) }
                .to_string_lossy()
                .into_owned(),
        )
    }

    /// FUNC names of the ids `ids`.
    fn funcs(&self, ids: std::ops::Range<u32>) -> impl Iterator<Item = String> + '_ {
        ids.filter_map(|id| self.func_name(id))
    }
}

impl Drop for RawBtf {
    fn drop(&mut self) {
        // SAFETY: `ptr` is ours and freed only here (type invariant).
        unsafe { sys::btf__free(self.ptr.as_ptr()) };
    }
}

/// Snapshot of the FUNCs in the kernel's BTF: vmlinux plus every loaded
/// module.  Plain data, read once and shared by every test thread.
#[derive(Debug, Default)]
pub struct KernelBtf {
    /// FUNC name -> the module that defines it (None: vmlinux).  A name
    /// in both keeps the module.
    funcs: HashMap<String, Option<String>>,
    vmlinux_error: Option<String>,
}

impl KernelBtf {
    pub fn load() -> KernelBtf {
        let mut kb = KernelBtf::default();
        let vmlinux = match RawBtf::vmlinux() {
            Ok(b) => b,
            Err(e) => {
                kb.vmlinux_error = Some(e);
                return kb;
            }
        };
        let base_cnt = vmlinux.type_cnt();
        kb.funcs
            .extend(vmlinux.funcs(1..base_cnt).map(|n| (n, None)));
        // A module whose BTF cannot be read looks like one without kfuncs:
        // say why on stderr (stdout carries KTAP).
        let warn = |w: String| eprintln!("rdynptr-test: warning: {w}");
        let mut entries: Vec<_> = match std::fs::read_dir(SYSFS_BTF) {
            Ok(d) => d.flatten().map(|e| e.path()).collect(),
            Err(e) => {
                warn(format!("cannot list {SYSFS_BTF}: {e}"));
                Vec::new()
            }
        };
        entries.sort();
        for path in entries {
            let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            if name == "vmlinux" {
                continue;
            }
            match RawBtf::parse_split(&path, &vmlinux) {
                Ok(m) => {
                    for f in m.funcs(base_cnt..m.type_cnt()) {
                        kb.funcs.insert(f, Some(name.clone()));
                    }
                }
                Err(e) => warn(e),
            }
        }
        kb
    }

    /// Why kfunc lookups cannot be done at all, if they cannot.
    pub fn unavailable(&self) -> Option<&str> {
        self.vmlinux_error.as_deref()
    }

    /// Whether the kernel defines FUNC `name`, in a module or vmlinux.
    pub fn has_func(&self, name: &str) -> bool {
        self.funcs.contains_key(name)
    }

    /// FUNC names of module `module` that start with one of `prefixes`,
    /// sorted.
    pub fn module_funcs_with_prefixes(&self, module: &str, prefixes: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = self
            .funcs
            .iter()
            .filter(|(n, m)| {
                m.as_deref() == Some(module) && prefixes.iter().any(|p| n.starts_with(p))
            })
            .map(|(n, _)| n.clone())
            .collect();
        v.sort();
        v
    }
}

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

/// Does the kernel accept program load flag `flag`?  Loads a trivial
/// socket filter ("r0 = 0; exit") with it.
pub fn prog_flag_supported(flag: u32) -> bool {
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
        prog_flags: flag,
        ..Default::default()
    };
    // SAFETY: the license is a NUL-terminated string, `insns` holds
    // `insns.len()` instructions and `opts` is a properly sized options
    // struct; all outlive the call, which does not keep them.
    let fd = unsafe {
        sys::bpf_prog_load(
            sys::BPF_PROG_TYPE_SOCKET_FILTER,
            std::ptr::null(),
            c"GPL".as_ptr(),
            insns.as_ptr(),
            insns.len() as _,
            &mut opts,
        )
    };
    if fd < 0 {
        return false;
    }
    // SAFETY: `fd` is a file descriptor the call above just opened and
    // nothing else owns.
    drop(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
    true
}

/// Program flags the kernel's selftests set on every test program when
/// the kernel supports them: BPF_F_TEST_RND_HI32 (random upper halves
/// after 32-bit operations where the JIT needs zero extension) and
/// BPF_F_TEST_REG_INVARIANTS (register bound invariant violations are
/// errors, not silently fixed).
pub fn testing_prog_flags() -> u32 {
    [sys::BPF_F_TEST_RND_HI32, sys::BPF_F_TEST_REG_INVARIANTS]
        .into_iter()
        .filter(|&f| prog_flag_supported(f))
        .fold(0, |acc, f| acc | f)
}

/// Is the BPF JIT enabled?
pub fn jit_enabled() -> bool {
    std::fs::read_to_string("/proc/sys/net/core/bpf_jit_enable")
        .map(|s| s.trim() != "0")
        .unwrap_or(false)
}

/// The running kernel's release, for reports.
pub fn release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}
