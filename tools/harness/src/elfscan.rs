// SPDX-License-Identifier: GPL-2.0
//! Which extern symbols one program of a BPF object uses.
//!
//! A program calls a kfunc through a `call` instruction relocated against
//! the kfunc's undefined ELF symbol; `bpf_ksym_exists(kfunc)` loads the
//! symbol's address instead (`ld_imm64`).  Programs reach more code through
//! BPF-to-BPF calls and callbacks (`ld_imm64` of a function), so this walks
//! the call graph from the program's entry, the way libbpf links
//! subprograms: `call` with a relocation targets `symbol + (imm + 1) * 8`,
//! `call` without one is pc-relative in the same section, `ld_imm64` of a
//! function targets `symbol + imm`.

use anyhow::{anyhow, Context as _};
use object::{
    Endianness, Object, ObjectSection, ObjectSymbol, RelocationTarget, SectionIndex, SectionKind,
    SymbolIndex, SymbolKind,
};
use std::collections::{BTreeSet, HashMap, HashSet};

const INSN: u64 = 8;
const BPF_CALL: u8 = 0x85; // BPF_JMP | BPF_CALL
const BPF_LD_IMM64: u8 = 0x18; // BPF_LD | BPF_DW | BPF_IMM
const BPF_PSEUDO_CALL: u8 = 1;

/// Extern symbols used by one program (and the subprograms it reaches).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExternUse {
    /// Called with a `call` instruction.
    pub called: BTreeSet<String>,
    /// Address taken with `ld_imm64` (e.g. bpf_ksym_exists()).
    pub address_taken: BTreeSet<String>,
}

pub struct ElfIndex<'d> {
    file: object::File<'d>,
    big_endian: bool,
    /// Per code section: relocated instruction offset -> symbol.
    relocs: HashMap<SectionIndex, HashMap<u64, SymbolIndex>>,
    /// Per code section: sorted (start, size) of function symbols.
    funcs: HashMap<SectionIndex, Vec<(u64, u64)>>,
}

impl<'d> ElfIndex<'d> {
    pub fn parse(data: &'d [u8]) -> anyhow::Result<ElfIndex<'d>> {
        let file = object::File::parse(data).context("not an ELF object")?;
        let big_endian = file.endianness() == Endianness::Big;
        let mut relocs: HashMap<SectionIndex, HashMap<u64, SymbolIndex>> = HashMap::new();
        let mut funcs: HashMap<SectionIndex, Vec<(u64, u64)>> = HashMap::new();
        for sec in file.sections() {
            if sec.kind() != SectionKind::Text {
                continue;
            }
            let map = relocs.entry(sec.index()).or_default();
            for (off, rel) in sec.relocations() {
                if let RelocationTarget::Symbol(sym) = rel.target() {
                    map.insert(off, sym);
                }
            }
        }
        for sym in file.symbols() {
            if sym.kind() != SymbolKind::Text {
                continue;
            }
            if let Some(idx) = sym.section_index() {
                funcs
                    .entry(idx)
                    .or_default()
                    .push((sym.address(), sym.size()));
            }
        }
        for v in funcs.values_mut() {
            v.sort_unstable();
            v.dedup_by_key(|f| f.0);
        }
        Ok(ElfIndex {
            file,
            big_endian,
            relocs,
            funcs,
        })
    }

    /// The bytes of section `name`, if the object has it.
    pub fn section_data(&self, name: &str) -> Option<&'d [u8]> {
        self.file.section_by_name(name)?.data().ok()
    }

    /// Undefined (extern) symbols: name -> is it weak.
    pub fn externs(&self) -> HashMap<String, bool> {
        self.file
            .symbols()
            .filter(|s| s.is_undefined())
            .filter_map(|s| Some((s.name().ok()?.to_string(), s.is_weak())))
            .filter(|(n, _)| !n.is_empty())
            .collect()
    }

    /// The extern symbols program `prog` in section `section` uses (a
    /// leading '?' of the section name, which libbpf drops, is ignored).
    pub fn program_externs(&self, section: &str, prog: &str) -> anyhow::Result<ExternUse> {
        let entry = self
            .file
            .symbols()
            .find(|s| {
                s.kind() == SymbolKind::Text
                    && s.name() == Ok(prog)
                    && s.section_index()
                        .and_then(|i| self.file.section_by_index(i).ok())
                        .and_then(|sec| sec.name().ok().map(str::to_owned))
                        .is_some_and(|n| {
                            n.strip_prefix('?').unwrap_or(&n)
                                == section.strip_prefix('?').unwrap_or(section)
                        })
            })
            .ok_or_else(|| anyhow!("no function symbol '{prog}' in section '{section}'"))?;
        let start_sec = entry
            .section_index()
            .ok_or_else(|| anyhow!("symbol '{prog}' has no section"))?;

        let mut out = ExternUse::default();
        let mut seen: HashSet<(SectionIndex, u64)> = HashSet::new();
        let mut todo = vec![(start_sec, entry.address())];
        while let Some((sec, start)) = todo.pop() {
            if !seen.insert((sec, start)) {
                continue;
            }
            self.scan_function(sec, start, &mut out, &mut todo)?;
        }
        Ok(out)
    }

    /// End of the function starting at `start`: its symbol size, else the
    /// next function symbol, else the end of the section.
    fn function_end(&self, sec: SectionIndex, start: u64, sec_len: u64) -> u64 {
        let funcs = self.funcs.get(&sec).map(Vec::as_slice).unwrap_or(&[]);
        if let Some(&(_, size)) = funcs.iter().find(|f| f.0 == start) {
            if size > 0 {
                return (start + size).min(sec_len);
            }
        }
        funcs
            .iter()
            .map(|f| f.0)
            .find(|&s| s > start)
            .unwrap_or(sec_len)
    }

    fn scan_function(
        &self,
        sec: SectionIndex,
        start: u64,
        out: &mut ExternUse,
        todo: &mut Vec<(SectionIndex, u64)>,
    ) -> anyhow::Result<()> {
        let section = self
            .file
            .section_by_index(sec)
            .context("bad section index")?;
        let data = section.data().context("cannot read section data")?;
        let len = data.len() as u64;
        let end = self.function_end(sec, start, len);
        let empty = HashMap::new();
        let relocs = self.relocs.get(&sec).unwrap_or(&empty);

        let mut off = start;
        while off + INSN <= end {
            let i = off as usize;
            let code = data[i];
            let regs = data[i + 1];
            let src_reg = if self.big_endian {
                regs & 0xf
            } else {
                regs >> 4
            };
            let imm_bytes = [data[i + 4], data[i + 5], data[i + 6], data[i + 7]];
            let imm = i64::from(if self.big_endian {
                i32::from_be_bytes(imm_bytes)
            } else {
                i32::from_le_bytes(imm_bytes)
            });
            let sym = relocs
                .get(&off)
                .and_then(|&s| self.file.symbol_by_index(s).ok());
            match code {
                BPF_CALL => match &sym {
                    Some(s) if s.is_undefined() => {
                        if let Ok(n) = s.name() {
                            out.called.insert(n.to_string());
                        }
                    }
                    Some(s) => {
                        if let Some(target_sec) = self.code_section(s) {
                            let target = s.address() as i64 + (imm + 1) * INSN as i64;
                            if target >= 0 {
                                todo.push((target_sec, target as u64));
                            }
                        }
                    }
                    None if src_reg == BPF_PSEUDO_CALL => {
                        let target = off as i64 + (imm + 1) * INSN as i64;
                        if target >= 0 {
                            todo.push((sec, target as u64));
                        }
                    }
                    None => {} // helper call
                },
                BPF_LD_IMM64 => {
                    match &sym {
                        Some(s) if s.is_undefined() => {
                            if let Ok(n) = s.name() {
                                out.address_taken.insert(n.to_string());
                            }
                        }
                        Some(s) => {
                            // A function pointer (callback) into code.
                            if let Some(target_sec) = self.code_section(s) {
                                let target = s.address() as i64 + imm;
                                if target >= 0 {
                                    todo.push((target_sec, target as u64));
                                }
                            }
                        }
                        None => {}
                    }
                    off += INSN; // ld_imm64 is two instructions
                }
                _ => {}
            }
            off += INSN;
        }
        Ok(())
    }

    /// The section of `sym` if it is executable code.
    fn code_section(&self, sym: &object::Symbol<'d, '_>) -> Option<SectionIndex> {
        let idx = sym.section_index()?;
        let sec = self.file.section_by_index(idx).ok()?;
        (sec.kind() == SectionKind::Text).then_some(idx)
    }
}

/// Is the section named `name` one libbpf never reads: DWARF, or the
/// relocations of DWARF (libbpf.c's `ignore_elf_section()`)?
fn is_dwarf(name: &[u8]) -> bool {
    let name = name
        .strip_prefix(b".rela")
        .or_else(|| name.strip_prefix(b".rel"))
        .unwrap_or(name);
    name.starts_with(b".debug_")
}

/// The bytes of the BPF object file `path` that libbpf and the scan read:
/// the whole file except its DWARF sections and their relocations, which
/// are zeros.  libbpf ignores those sections, and they are 92% of the
/// kernel's selftest objects: over the guest's 9p root, reading them was
/// most of the time the scan of 304 objects took.  Read without readahead
/// (which would fetch the DWARF too), one read per run of wanted sections
/// (a DWARF section of less than a page between two is read with them).
/// A file that is not a 64-bit little-endian ELF file is read whole.
pub fn read_without_dwarf(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use object::elf::{FileHeader64, SHT_NOBITS};
    use object::read::elf::{FileHeader as _, SectionHeader as _};
    use object::LittleEndian as LE;
    use std::os::unix::fs::FileExt as _;
    use std::os::unix::io::AsRawFd as _;

    let cannot = || format!("cannot read {}", path.display());
    let file = std::fs::File::open(path).with_context(cannot)?;
    let len = usize::try_from(file.metadata().with_context(cannot)?.len())?;
    let mut data = vec![0u8; len];
    // SAFETY: posix_fadvise() only advises the kernel about `file`'s
    // descriptor, which is open.
    unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_RANDOM) };
    let read = |data: &mut [u8], at: u64, n: u64| -> anyhow::Result<()> {
        let (start, end) = (usize::try_from(at)?, usize::try_from(at.saturating_add(n))?);
        let buf = data
            .get_mut(start..end)
            .ok_or_else(|| anyhow!("a section lies past the end of the file"))?;
        file.read_exact_at(buf, at).with_context(cannot)
    };
    let header_len = std::mem::size_of::<FileHeader64<LE>>() as u64;
    read(&mut data, 0, header_len.min(len as u64))?;
    let wanted = (|| -> Option<Vec<(u64, u64)>> {
        let h = *FileHeader64::<LE>::parse(&data[..]).ok()?;
        if h.is_big_endian() || h.e_ident().class != object::elf::ELFCLASS64 {
            return None;
        }
        let e = h.endian().ok()?;
        let shoff = h.e_shoff.get(e);
        let shentsize = u64::from(h.e_shentsize.get(e));
        // The first section header holds the counts that do not fit.
        read(&mut data, shoff, shentsize).ok()?;
        let shnum = h.shnum(e, &data[..]).ok()? as u64;
        read(&mut data, shoff, shnum.checked_mul(shentsize)?).ok()?;
        let shstrndx = h.shstrndx(e, &data[..]).ok()?;
        let strtab = *h
            .section_headers(e, &data[..])
            .ok()?
            .get(shstrndx as usize)?;
        read(&mut data, strtab.sh_offset(e), strtab.sh_size(e)).ok()?;
        let table = h.sections(e, &data[..]).ok()?;
        let mut wanted: Vec<(u64, u64)> = table
            .iter()
            .filter(|s| s.sh_type(e) != SHT_NOBITS && s.sh_size(e) > 0)
            .filter(|s| !table.section_name(e, s).is_ok_and(is_dwarf))
            .map(|s| (s.sh_offset(e), s.sh_offset(e) + s.sh_size(e)))
            .collect();
        wanted.sort_unstable();
        Some(wanted)
    })();
    let Some(wanted) = wanted else {
        read(&mut data, 0, len as u64)?;
        return Ok(data);
    };
    // Runs of sections with at most a page between them, one read each.
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for (start, end) in wanted {
        match runs.last_mut() {
            Some(run) if start <= run.1 + 4096 => run.1 = run.1.max(end),
            _ => runs.push((start, end)),
        }
    }
    for (start, end) in runs {
        read(&mut data, start, end - start)?;
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::is_dwarf;

    #[test]
    fn dwarf_and_its_relocations_are_what_libbpf_ignores() {
        for name in [".debug_info", ".rel.debug_info", ".rela.debug_line"] {
            assert!(is_dwarf(name.as_bytes()), "{name}");
        }
        for name in [
            ".BTF",
            ".rel.BTF.ext",
            ".text",
            ".rel.text",
            ".relsyscall",
            ".maps",
        ] {
            assert!(!is_dwarf(name.as_bytes()), "{name}");
        }
    }
}
