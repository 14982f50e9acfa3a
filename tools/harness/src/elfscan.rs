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
