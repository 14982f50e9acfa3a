// SPDX-License-Identifier: GPL-2.0
//! Program text for __jited: the JITed code of each function, disassembled
//! by LLVM (the LLVM-C disassembler of the toolchain root's LLVM 19, as
//! test_loader.c's jit_disasm_helpers.c uses it), in test_loader's form:
//! "func #N:", then per instruction "pc:\t" + its bytes, padded, + an "Ln:"
//! label where a branch of the function lands + the instruction; branch
//! targets inside the function are shown as those labels.

use anyhow::{anyhow, bail};
use llvm_sys::disassembler as dis;
use std::ffi::{c_char, c_void, CStr};
use std::fmt::Write as _;
use std::sync::Once;

/// The branch targets of one function: found in a first pass, named in
/// the second (LLVM asks `lookup` for every branch target).
struct Labels {
    len: u64,
    printing: bool,
    pcs: Vec<u64>,
    names: Vec<std::ffi::CString>,
}

extern "C" fn lookup(
    info: *mut c_void,
    value: u64,
    kind: *mut u64,
    _pc: u64,
    name: *mut *const c_char,
) -> *const c_char {
    // SAFETY: LLVM passes back the `Labels` given to the context, which
    // outlives it, and valid pointers for the two outputs.
    let (labels, kind, name) = unsafe { (&mut *info.cast::<Labels>(), &mut *kind, &mut *name) };
    *name = std::ptr::null();
    let is_branch = *kind == dis::LLVMDisassembler_ReferenceType_In_Branch;
    *kind = dis::LLVMDisassembler_ReferenceType_InOut_None;
    if !is_branch {
        return std::ptr::null();
    }
    if labels.printing {
        return match labels.pcs.binary_search(&value) {
            Ok(i) => labels.names[i].as_ptr(),
            Err(_) => std::ptr::null(),
        };
    }
    if value < labels.len && !labels.pcs.contains(&value) {
        labels.pcs.push(value);
    }
    std::ptr::null()
}

/// A disassembler context for this machine; disposed on drop.
struct Context(dis::LLVMDisasmContextRef);

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: the context came from LLVMCreateDisasmCPUFeatures and
        // is disposed only here.
        unsafe { dis::LLVMDisasmDispose(self.0) }
    }
}

/// An LLVM-allocated string, disposed on drop.
struct Message(*mut c_char);

impl Drop for Message {
    fn drop(&mut self) {
        // SAFETY: the string came from an LLVM function that returns one
        // for the caller to dispose.
        unsafe { llvm_sys::core::LLVMDisposeMessage(self.0) }
    }
}

fn context(labels: &mut Labels) -> anyhow::Result<Context> {
    static INIT: Once = Once::new();
    // SAFETY: LLVM's target registration, done once.
    INIT.call_once(|| unsafe {
        llvm_sys::target::LLVMInitializeX86TargetInfo();
        llvm_sys::target::LLVMInitializeX86TargetMC();
        llvm_sys::target::LLVMInitializeX86Disassembler();
    });
    // SAFETY: these return strings the caller owns (disposed by Message).
    let (triple, cpu, features) = unsafe {
        (
            Message(llvm_sys::target_machine::LLVMGetDefaultTargetTriple()),
            Message(llvm_sys::target_machine::LLVMGetHostCPUName()),
            Message(llvm_sys::target_machine::LLVMGetHostCPUFeatures()),
        )
    };
    // SAFETY: the three strings are valid; `labels` outlives the context
    // (the caller drops the context first); no operand-info callback.
    let dc = unsafe {
        dis::LLVMCreateDisasmCPUFeatures(
            triple.0,
            cpu.0,
            features.0,
            (labels as *mut Labels).cast(),
            0,
            None,
            Some(lookup),
        )
    };
    if dc.is_null() {
        bail!("LLVM has no disassembler for this machine");
    }
    let dc = Context(dc);
    // SAFETY: a valid context.
    if unsafe { dis::LLVMSetDisasmOptions(dc.0, dis::LLVMDisassembler_Option_PrintImmHex) } != 1 {
        bail!("LLVM refused to print immediates in hex");
    }
    Ok(dc)
}

/// One instruction at `pc` of `code`: its length and text.
fn insn(dc: &Context, code: &mut [u8], pc: usize) -> anyhow::Result<(usize, String)> {
    let mut buf = [0 as c_char; 128];
    let rest = code.len() - pc;
    // SAFETY: the bytes from `pc` on are valid for `rest` bytes and `buf`
    // for its length; LLVM NUL-terminates what it writes.
    let n = unsafe {
        dis::LLVMDisasmInstruction(
            dc.0,
            code.as_mut_ptr().add(pc),
            rest as u64,
            pc as u64,
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    if n == 0 {
        bail!("cannot disassemble the JITed code at offset {pc:#x}");
    }
    // SAFETY: NUL-terminated by LLVM (or still zeroed).
    let text = unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    Ok((n, text))
}

/// One function's text, as test_loader prints it.
fn function(code: &mut [u8], out: &mut String) -> anyhow::Result<()> {
    let mut labels = Labels {
        len: code.len() as u64,
        printing: false,
        pcs: Vec::new(),
        names: Vec::new(),
    };
    let dc = context(&mut labels)?;
    let mut pc = 0;
    while pc < code.len() {
        pc += insn(&dc, code, pc)?.0;
    }
    // No disassembly runs while the labels change (the context keeps a
    // pointer to `labels`, which stays where it is).
    labels.pcs.sort_unstable();
    labels.names = (0..labels.pcs.len())
        .map(|i| std::ffi::CString::new(format!("L{i}")).unwrap_or_default())
        .collect();
    labels.printing = true;
    let mut pc = 0;
    while pc < code.len() {
        let (n, text) = insn(&dc, code, pc)?;
        let _ = write!(out, "{pc:x}:\t");
        let mut bytes = String::new();
        for b in &code[pc..pc + n] {
            let _ = write!(bytes, "{b:02x} ");
        }
        let _ = write!(out, "{bytes:<36}");
        if let Ok(i) = labels.pcs.binary_search(&(pc as u64)) {
            let _ = write!(out, "L{i}:");
        }
        out.push_str(&text);
        out.push('\n');
        pc += n;
    }
    drop(dc);
    Ok(())
}

/// The text of a program's JITed code, given the image and the lengths of
/// its functions (`bpf_prog_info`'s jited_prog_insns and jited_func_lens).
pub fn text(image: &[u8], func_lens: &[u32]) -> anyhow::Result<String> {
    let mut code = image.to_vec();
    let mut out = String::new();
    let mut at = 0usize;
    for (i, &len) in func_lens.iter().enumerate() {
        let end = at + len as usize;
        let f = code
            .get_mut(at..end)
            .ok_or_else(|| anyhow!("function {i} lies outside the JITed image"))?;
        let _ = writeln!(out, "func #{i}:");
        function(f, &mut out)?;
        out.push('\n');
        at = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jited_code_prints_as_test_loader_shows_it_with_local_labels() {
        // ja +2; nop; nop; ret -- and a second function: ret.
        let image = [0x77, 0x02, 0x90, 0x90, 0xc3, 0xc3];
        let t = text(&image, &[5, 1]).unwrap();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "func #0:");
        assert!(lines[1].starts_with("0:\t77 02 "), "{t}");
        assert!(lines[1].ends_with("\tja\tL0"), "{t}");
        assert!(lines[4].starts_with("4:\tc3 "), "{t}");
        assert!(lines[4].contains("L0:\tret"), "{t}");
        assert_eq!(lines[6], "func #1:");
        assert!(lines[7].starts_with("0:\tc3 "), "{t}");
    }
}
