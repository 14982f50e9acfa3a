// SPDX-License-Identifier: GPL-2.0
//! __btf_func_path: names for the parameters of `__naked` subprograms.
//!
//! clang gives a `__naked` function's parameters no names in BTF, and the
//! verifier needs them (a global subprogram's argument tags, `arg:ctx` and
//! the like, go by name).  The test then names a second object, built from
//! the same declarations without `__naked`, whose BTF has them: each FUNC
//! of the program's BTF whose parameters are anonymous gets a new
//! FUNC_PROTO with the other BTF's names and its own types, as
//! test_loader.c does before loading.

use anyhow::{anyhow, bail, Context as _};
use libbpf_rs::libbpf_sys as sys;
use libbpf_rs::{AsRawLibbpf, OpenObject};
use std::ffi::{CStr, CString};
use std::path::Path;

const BTF_KIND_FUNC: u32 = 12;
const BTF_KIND_FUNC_PROTO: u32 = 13;

fn kind(t: &sys::btf_type) -> u32 {
    (t.info >> 24) & 0x1f
}

fn vlen(t: &sys::btf_type) -> usize {
    (t.info & 0xffff) as usize
}

/// The type of BTF `btf` with id `id`.
///
/// # Safety
///
/// `btf` must be a valid BTF object; the result is valid until `btf` is
/// changed or freed.
unsafe fn type_by_id<'a>(btf: *const sys::btf, id: u32) -> Option<&'a sys::btf_type> {
    // SAFETY: by the function's contract; libbpf returns NULL for a bad id.
    unsafe { sys::btf__type_by_id(btf, id).as_ref() }
}

/// The parameters that follow a FUNC_PROTO in BTF.
///
/// # Safety
///
/// `proto` must be a FUNC_PROTO of a valid BTF object, which holds
/// `vlen(proto)` parameters right after it; the result is valid as long
/// as `proto`.
unsafe fn params(proto: &sys::btf_type) -> &[sys::btf_param] {
    let first = (proto as *const sys::btf_type)
        .wrapping_add(1)
        .cast::<sys::btf_param>();
    // SAFETY: by the function's contract.
    unsafe { std::slice::from_raw_parts(first, vlen(proto)) }
}

/// The string at `off` of `btf`, "" if there is none.
///
/// # Safety
///
/// `btf` must be a valid BTF object.
unsafe fn name(btf: *const sys::btf, off: u32) -> String {
    // SAFETY: by the function's contract; libbpf returns NULL or a
    // NUL-terminated string of the BTF's string section.
    let p = unsafe { sys::btf__name_by_offset(btf, off) };
    if p.is_null() {
        return String::new();
    }
    // SAFETY: see above.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// The custom BTF file, parsed; freed on drop.
struct Parsed(*mut sys::btf);

impl Drop for Parsed {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from btf__parse() and is freed only here.
        unsafe { sys::btf__free(self.0) }
    }
}

/// Renames the anonymous parameters of `open`'s FUNCs after the FUNCs of
/// the same name in the BTF of the ELF file `path`.
pub fn name_params_from(open: &mut OpenObject, path: &Path) -> anyhow::Result<()> {
    // SAFETY: the object is open, and its BTF (if any) lives as long.
    let btf = unsafe { sys::bpf_object__btf(open.as_libbpf_object().as_ptr()) };
    if btf.is_null() {
        return Ok(());
    }
    let c = CString::new(path.as_os_str().as_encoded_bytes())
        .context("__btf_func_path has a NUL byte")?;
    // SAFETY: `c` is a NUL-terminated path; no BTF.ext is asked for.
    let custom = unsafe { sys::btf__parse(c.as_ptr(), std::ptr::null_mut()) };
    // SAFETY: libbpf_get_error takes any pointer libbpf returned.
    if custom.is_null() || unsafe { sys::libbpf_get_error(custom.cast()) } != 0 {
        bail!("__btf_func_path: cannot read the BTF of {}", path.display());
    }
    let custom = Parsed(custom);
    // SAFETY: `btf` is valid (above).
    let count = unsafe { sys::btf__type_cnt(btf) };
    // SAFETY: `custom.0` is valid (above).
    let custom_count = unsafe { sys::btf__type_cnt(custom.0) };
    for id in 1..count {
        // What is needed from the program's BTF is copied out first: the
        // btf__add_* calls below may move its types.
        // SAFETY: `btf` is valid and not changed before the next fetch.
        let Some(func) = (unsafe { type_by_id(btf, id) }) else {
            continue;
        };
        if kind(func) != BTF_KIND_FUNC {
            continue;
        }
        // SAFETY: a FUNC's type field is its FUNC_PROTO's id.
        let proto_id = unsafe { func.__bindgen_anon_1.type_ };
        let func_name_off = func.name_off;
        // SAFETY: `btf` is valid.
        let Some(proto) = (unsafe { type_by_id(btf, proto_id) }) else {
            continue;
        };
        if kind(proto) != BTF_KIND_FUNC_PROTO || vlen(proto) == 0 {
            continue;
        }
        // SAFETY: `proto` is a FUNC_PROTO of `btf`.
        let ps = unsafe { params(proto) };
        if ps[0].name_off != 0 {
            continue;
        }
        let types: Vec<u32> = ps.iter().map(|p| p.type_).collect();
        // SAFETY: the return type of a FUNC_PROTO.
        let ret = unsafe { proto.__bindgen_anon_1.type_ };
        // SAFETY: `btf` is valid.
        let fname = unsafe { name(btf, func_name_off) };
        let names = (1..custom_count).find_map(|j| {
            // SAFETY: `custom.0` is valid and never changed.
            let t = unsafe { type_by_id(custom.0, j) }?;
            // SAFETY: as above.
            if kind(t) != BTF_KIND_FUNC || unsafe { name(custom.0, t.name_off) } != fname {
                return None;
            }
            // SAFETY: a FUNC's FUNC_PROTO, of the valid `custom.0`.
            let cp = unsafe { type_by_id(custom.0, t.__bindgen_anon_1.type_) }?;
            if kind(cp) != BTF_KIND_FUNC_PROTO || vlen(cp) != types.len() {
                return None;
            }
            // SAFETY: `cp` is a FUNC_PROTO of `custom.0`.
            let cps = unsafe { params(cp) };
            let param_name = |p: &sys::btf_param| {
                // SAFETY: `custom.0` is valid.
                unsafe { name(custom.0, p.name_off) }
            };
            Some(cps.iter().map(param_name).collect::<Vec<_>>())
        });
        let Some(names) = names else {
            continue;
        };
        // SAFETY: `btf` is the open object's, which libbpf lets callers
        // extend before the load.
        let new_proto = unsafe { sys::btf__add_func_proto(btf, ret as i32) };
        if new_proto < 0 {
            bail!("btf__add_func_proto: error {new_proto}");
        }
        for (n, t) in names.iter().zip(&types) {
            let n = CString::new(n.as_str()).map_err(|_| anyhow!("a BTF name with NUL"))?;
            // SAFETY: as above; `n` is NUL-terminated and copied by libbpf.
            let err = unsafe { sys::btf__add_func_param(btf, n.as_ptr(), *t as i32) };
            if err < 0 {
                bail!("btf__add_func_param: error {err}");
            }
        }
        // SAFETY: `id` is a FUNC of `btf`, fetched afresh after the
        // additions; its type field is the FUNC_PROTO it uses.  libbpf
        // hands out types as const, but the open object's BTF is writable
        // memory it owns (test_loader.c changes it the same way).
        unsafe {
            let f = sys::btf__type_by_id(btf, id).cast_mut();
            if f.is_null() {
                bail!("BTF type {id} vanished");
            }
            (*f).__bindgen_anon_1.type_ = new_proto as u32;
        }
    }
    Ok(())
}
