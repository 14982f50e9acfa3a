// SPDX-License-Identifier: GPL-2.0
//! The FUNCs of the running kernel's BTF: vmlinux and every loaded module
//! under /sys/kernel/btf (a kfunc has a BTF FUNC; a kfunc that a module was
//! built without has none).

use anyhow::anyhow;
use libbpf_rs::libbpf_sys as sys;
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
    fn vmlinux() -> anyhow::Result<RawBtf> {
        // SAFETY: no arguments; libbpf 1.x returns a new object or NULL
        // with errno set.
        let raw = unsafe { sys::btf__load_vmlinux_btf() };
        let err = std::io::Error::last_os_error();
        // INVARIANT: a non-null result is a new object we now own.
        NonNull::new(raw)
            .map(|ptr| RawBtf { ptr })
            .ok_or_else(|| anyhow!("the kernel has no usable BTF: {err}"))
    }

    fn parse_split(path: &Path, base: &RawBtf) -> anyhow::Result<RawBtf> {
        let cpath = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| anyhow!("bad path {}", path.display()))?;
        // SAFETY: `cpath` is a valid C string and `base.ptr` a live BTF
        // object (type invariant).  libbpf 1.x returns a new object or
        // NULL with errno set.
        let raw = unsafe { sys::btf__parse_split(cpath.as_ptr(), base.ptr.as_ptr()) };
        let err = std::io::Error::last_os_error();
        // INVARIANT: as in vmlinux(); the caller keeps `base` alive longer.
        NonNull::new(raw)
            .map(|ptr| RawBtf { ptr })
            .ok_or_else(|| anyhow!("cannot parse {}: {err}", path.display()))
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
                kb.vmlinux_error = Some(format!("{e:#}"));
                return kb;
            }
        };
        let base_cnt = vmlinux.type_cnt();
        kb.funcs
            .extend(vmlinux.funcs(1..base_cnt).map(|n| (n, None)));
        // A module whose BTF cannot be read looks like one without kfuncs:
        // say why on stderr (the tools' stdout carries their report).
        let warn = |w: String| eprintln!("warning: {w}");
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
                Err(e) => warn(format!("{e:#}")),
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

    /// The module that defines FUNC `name`: Some(None) for vmlinux, None
    /// if no BTF has it.
    pub fn func_owner(&self, name: &str) -> Option<Option<&str>> {
        self.funcs.get(name).map(|m| m.as_deref())
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
