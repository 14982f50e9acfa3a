// SPDX-License-Identifier: GPL-2.0
//! Reading a BPF object file: its programs, their annotations (BTF decl
//! tags on each program's FUNC) and the kfuncs they use (extern FUNCs of
//! the .ksyms DATASEC, matched against each program's code).

use crate::elfscan::{ElfIndex, ExternUse};
use crate::spec::{self, TestSpec};
use anyhow::Context as _;
use libbpf_rs::btf::types::{DataSec, DeclTag, Func};
use libbpf_rs::btf::{Btf, BtfKind, BtfType};
use libbpf_rs::{AsRawLibbpf as _, ObjectBuilder, ProgramType, ReferencesType};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// One program of an object.
#[derive(Debug)]
pub struct ProgramInfo {
    pub name: String,
    pub section: String,
    pub prog_type: ProgramType,
    /// None: the program has no annotations and is not a test.
    pub spec: Option<TestSpec>,
    /// Kfuncs the program calls / takes the address of; Err if the code
    /// could not be analysed.
    pub kfuncs: anyhow::Result<ExternUse>,
}

impl ProgramInfo {
    pub fn is_test(&self) -> bool {
        self.spec
            .as_ref()
            .is_some_and(|s| !s.test_modes().is_empty())
    }
}

#[derive(Debug)]
pub struct ObjectInfo {
    pub path: PathBuf,
    /// File name without ".bpf.o" / ".o": the first part of test names.
    pub name: String,
    pub programs: Vec<ProgramInfo>,
    /// Extern kfuncs of the object (.ksyms FUNCs): name -> declared weak.
    pub kfunc_externs: BTreeMap<String, bool>,
    /// The file's bytes, read once, its DWARF sections left out (zeros,
    /// [`crate::elfscan::read_without_dwarf`]): every test of the object
    /// is opened from them ([`crate::runner::open_object_with`]), not from
    /// the file (over the guest's 9p root, opening and mapping the file
    /// again took 4 ms of each test under TCG).
    pub data: Vec<u8>,
    /// The object has an arena map (libbpf maps every arena at the same
    /// user address, so one process loads one such object at a time).
    pub has_arena: bool,
    /// The object has struct_ops maps.
    pub has_struct_ops: bool,
}

impl ObjectInfo {
    /// Kfunc externs declared without `__weak` that `kernel_has` lacks:
    /// libbpf cannot load any program of the object then.
    pub fn missing_strong_externs(&self, kernel_has: impl Fn(&str) -> bool) -> Vec<&str> {
        self.kfunc_externs
            .iter()
            .filter(|(k, weak)| !**weak && !kernel_has(essential_name(k)))
            .map(|(k, _)| k.as_str())
            .collect()
    }
}

/// The kfuncs `u` calls that `kernel_has` lacks, by the names the kernel
/// knows them by.  A call whose address is also taken is guarded by
/// bpf_ksym_exists() and does not count.
pub fn missing_calls(u: &ExternUse, kernel_has: impl Fn(&str) -> bool) -> Vec<&str> {
    u.called
        .iter()
        .filter(|k| !u.address_taken.contains(*k))
        .map(|k| essential_name(k))
        .filter(|k| !kernel_has(k))
        .collect()
}

/// "dir/dynptr_trim.bpf.o" -> "dynptr_trim".
pub fn object_name(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    for ext in [".bpf.o", ".o"] {
        if let Some(stem) = file.strip_suffix(ext) {
            if !stem.is_empty() {
                return stem.to_string();
            }
        }
    }
    file
}

/// The name the kernel knows a kfunc extern by: libbpf drops a
/// "___flavor" suffix.
pub fn essential_name(name: &str) -> &str {
    match name.find("___") {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

/// Decl tags on the FUNC named `func` (not on its arguments).
fn func_tags<'b>(btf: &'b Btf<'_>, func: &str, tags: &HashMap<u32, Vec<&'b str>>) -> Vec<&'b str> {
    match btf.type_by_name::<Func<'_>>(func) {
        Some(f) => tags
            .get(&u32::from(f.type_id()))
            .cloned()
            .unwrap_or_default(),
        None => Vec::new(),
    }
}

/// The object's .BTF section, parsed.  libbpf-rs parses BTF from a file
/// only, and `btf__parse()` of the object file reads all of it (libelf's
/// `ELF_C_READ`), DWARF included: the section goes through a memfd
/// instead, which libbpf reads as a raw BTF file.
fn raw_btf(elf: &ElfIndex<'_>) -> anyhow::Result<Btf<'static>> {
    use std::io::Write as _;
    use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
    let data = elf
        .section_data(".BTF")
        .context("the object has no .BTF section")?;
    // SAFETY: memfd_create() takes a NUL-terminated name and flags.
    let fd = unsafe { libc::memfd_create(c"rdynptr-btf".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("memfd_create");
    }
    // SAFETY: `fd` was just opened and nothing else owns it.
    let mut memfd = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    memfd
        .write_all(data)
        .context("writing the BTF to a memfd")?;
    Ok(Btf::from_path(format!(
        "/proc/self/fd/{}",
        memfd.as_raw_fd()
    ))?)
}

/// Opens `path` and describes it.
pub fn read_object(path: &Path) -> anyhow::Result<ObjectInfo> {
    let data = crate::elfscan::read_without_dwarf(path)?;
    let elf = ElfIndex::parse(&data)?;
    let open = ObjectBuilder::default()
        .open_memory(&data)
        .with_context(|| format!("libbpf cannot open {}", path.display()))?;

    // The object's BTF as the compiler wrote it, before
    // bpf_object__open() rewrites .ksyms (it turns extern FUNCs into
    // dummy variables for the kernel).
    let btf = raw_btf(&elf).with_context(|| {
        format!(
            "cannot read the BTF of {} (compile with -g)",
            path.display()
        )
    })?;

    // Decl tags without a component index, by the id they annotate.
    let mut tags: HashMap<u32, Vec<&str>> = HashMap::new();
    for t in btf.type_by_kind::<DeclTag<'_>>() {
        if t.component_index().is_some() {
            continue;
        }
        if let Some(name) = t.name().and_then(|n| n.to_str()) {
            tags.entry(u32::from(t.referenced_type_id()))
                .or_default()
                .push(name);
        }
    }

    // Extern kfuncs: FUNC entries of the .ksyms DATASEC.
    let externs = elf.externs();
    let mut kfunc_externs = BTreeMap::new();
    if let Some(ksyms) = btf.type_by_name::<DataSec<'_>>(".ksyms") {
        for var in ksyms.iter() {
            let Some(t) = btf.type_by_id::<BtfType<'_>>(var.ty) else {
                continue;
            };
            if t.kind() != BtfKind::Func {
                continue;
            }
            if let Some(name) = t.name().and_then(|n| n.to_str()) {
                let weak = externs.get(name).copied().unwrap_or(false);
                kfunc_externs.insert(name.to_string(), weak);
            }
        }
    }

    let map_types: Vec<u32> = open
        .maps()
        // SAFETY: `m` is a map of the open object `open` (libbpf-rs 0.25's
        // MapType has no arena).
        .map(|m| unsafe { libbpf_rs::libbpf_sys::bpf_map__type(m.as_libbpf_object().as_ptr()) })
        .collect();

    let mut programs = Vec::new();
    for prog in open.progs() {
        let name = prog.name().to_string_lossy().into_owned();
        let section = prog.section().to_string_lossy().into_owned();
        let spec = spec::parse_tags(&func_tags(&btf, &name, &tags));
        let kfuncs = elf.program_externs(&section, &name).map(|u| ExternUse {
            called: u
                .called
                .into_iter()
                .filter(|n| kfunc_externs.contains_key(n))
                .collect(),
            address_taken: u
                .address_taken
                .into_iter()
                .filter(|n| kfunc_externs.contains_key(n))
                .collect(),
        });
        programs.push(ProgramInfo {
            name,
            section,
            prog_type: prog.prog_type(),
            spec,
            kfuncs,
        });
    }

    Ok(ObjectInfo {
        path: path.to_path_buf(),
        name: object_name(path),
        programs,
        kfunc_externs,
        data,
        has_arena: map_types.contains(&libbpf_rs::libbpf_sys::BPF_MAP_TYPE_ARENA),
        has_struct_ops: map_types.contains(&libbpf_rs::libbpf_sys::BPF_MAP_TYPE_STRUCT_OPS),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_drop_bpf_o() {
        assert_eq!(
            object_name(Path::new("/a/b/dynptr_trim.bpf.o")),
            "dynptr_trim"
        );
        assert_eq!(object_name(Path::new("x.o")), "x");
        assert_eq!(object_name(Path::new("weird")), "weird");
    }

    #[test]
    fn flavor_suffix_is_dropped() {
        assert_eq!(essential_name("bpf_rdynptr_trim___v2"), "bpf_rdynptr_trim");
        assert_eq!(essential_name("bpf_rdynptr_trim"), "bpf_rdynptr_trim");
    }
}
