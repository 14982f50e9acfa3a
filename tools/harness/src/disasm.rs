// SPDX-License-Identifier: GPL-2.0
//! Program text for __xlated: the instructions the verifier left, each
//! printed by the kernel's own BPF disassembler (kernel/bpf/disasm.c,
//! linked in from scripts/libbpf.sh's build) and shaped the way
//! test_loader.c shows them: "N: insn", without the disassembler's
//! "(code) " prefix, and calls without their "#id" suffix ("call
//! bpf_get_smp_processor_id", "call pc+5", "call kernel-function").

use libbpf_rs::libbpf_sys::bpf_insn;
use std::ffi::{c_char, CStr};

extern "C" {
    /// tools/harness/csrc/xlated.c.
    fn rdynptr_disasm_insn(insn: *const bpf_insn, buf: *mut c_char, size: usize);
}

/// One instruction as the kernel's disassembler prints it.
fn print_insn(insn: &bpf_insn) -> String {
    let mut buf = [0 as c_char; 128];
    // SAFETY: `insn` is a valid instruction (the disassembler reads only
    // it, and for a 16-byte load the next one, which `text` guarantees is
    // there) and `buf` is writable for `buf.len()` bytes; the function
    // NUL-terminates what it writes there.
    unsafe { rdynptr_disasm_insn(insn, buf.as_mut_ptr(), buf.len()) };
    // SAFETY: `buf` holds a NUL-terminated string (the last byte, at
    // least, is still 0 if the text was cut).
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// test_loader's form of one printed instruction.
fn shape(printed: &str) -> &str {
    // "(85) call foo#12" -> "call foo"
    let s = printed.get(5..).unwrap_or("");
    if s.starts_with("call ") {
        if let Some(i) = s.rfind('#') {
            return &s[..i];
        }
    }
    s
}

/// The text of a program given as raw instructions (`bpf_prog_info`'s
/// xlated_prog_insns), one "N: insn" line per instruction.
pub fn text(raw: &[u8]) -> String {
    const INSN: usize = std::mem::size_of::<bpf_insn>();
    let insns: Vec<bpf_insn> = raw
        .chunks_exact(INSN)
        .map(|c| {
            // SAFETY: `c` holds INSN bytes and any bytes are a valid
            // bpf_insn (integers and bit fields).
            unsafe { std::ptr::read_unaligned(c.as_ptr().cast::<bpf_insn>()) }
        })
        .collect();
    let mut out = String::new();
    let mut i = 0;
    while i < insns.len() {
        // A 16-byte load (BPF_LD | BPF_IMM | BPF_DW) takes two slots; the
        // disassembler reads the second, which must be there.
        let wide = insns[i].code == 0x18;
        if wide && i + 1 >= insns.len() {
            out.push_str(&format!("{i}: (truncated 16-byte load)\n"));
            break;
        }
        out.push_str(&format!("{i}: {}\n", shape(&print_insn(&insns[i]))));
        i += if wide { 2 } else { 1 };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(code: u8, regs: u8, off: i16, imm: i32) -> Vec<u8> {
        let mut v = vec![code, regs];
        v.extend_from_slice(&off.to_le_bytes());
        v.extend_from_slice(&imm.to_le_bytes());
        v
    }

    #[test]
    fn instructions_print_as_test_loader_shows_them() {
        let mut prog = insn(0xb7, 0x00, 0, 0); // r0 = 0
        prog.extend(insn(0x85, 0x00, 0, 8)); // call bpf_get_smp_processor_id#8
        prog.extend(insn(0x85, 0x10, 5, 1)); // call pc+5 (pseudo call)
        prog.extend(insn(0x18, 0x01, 0, 7)); // r1 = 7 ll
        prog.extend(insn(0x00, 0x00, 0, 0));
        prog.extend(insn(0x95, 0x00, 0, 0)); // exit
        let t = text(&prog);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "0: r0 = 0");
        assert_eq!(lines[1], "1: call bpf_get_smp_processor_id");
        assert_eq!(lines[2], "2: call pc+5");
        assert!(lines[3].starts_with("3: r1 = 0x7"), "{}", lines[3]);
        assert_eq!(lines[4], "5: exit");
    }
}
