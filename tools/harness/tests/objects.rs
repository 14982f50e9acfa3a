// SPDX-License-Identifier: GPL-2.0
//! Reading real BPF objects: compiles BPF C with clang (as `make bpf`
//! does) and checks what the harness makes of the result — annotations
//! from BTF decl tags, extern kfuncs from BTF, and which program calls
//! which kfunc.  Needs clang and a vmlinux.h: $RDYNPTR_VMLINUX_H, else
//! build/vmlinux.h, else one generated with bpftool from the running
//! kernel's BTF.  Nothing is loaded into the kernel.

use rdynptr_harness::objects::{read_object, ObjectInfo, ProgramInfo};
use rdynptr_harness::spec::Retval;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// Directory holding a vmlinux.h.
fn vmlinux_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(p) = std::env::var_os("RDYNPTR_VMLINUX_H") {
            let p = PathBuf::from(p);
            let dir = tmp().join("vmlinux-env");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::copy(&p, dir.join("vmlinux.h")).expect("copy $RDYNPTR_VMLINUX_H");
            return dir;
        }
        let built = repo().join("build");
        if built.join("vmlinux.h").exists() {
            return built;
        }
        let dir = tmp().join("vmlinux-gen");
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("bpftool")
            .args([
                "btf",
                "dump",
                "file",
                "/sys/kernel/btf/vmlinux",
                "format",
                "c",
            ])
            .output()
            .expect("no vmlinux.h: set RDYNPTR_VMLINUX_H, run `make bpf`, or install bpftool");
        assert!(
            out.status.success(),
            "bpftool failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(dir.join("vmlinux.h"), out.stdout).unwrap();
        dir
    })
}

/// Compiles `src` to `<tmp>/<name>.bpf.o` with the flags of scripts/bpf.mk.
fn compile(src: &Path, name: &str) -> PathBuf {
    let out = tmp().join(format!("{name}.bpf.o"));
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
    let res = Command::new(&clang)
        .args([
            "-target",
            "bpf",
            "-g",
            "-O2",
            "-Wall",
            "-Werror",
            "-D__TARGET_ARCH_x86",
        ])
        // vmlinux.h of recent kernels has anonymous tagged members.
        .args(["-fms-extensions", "-Wno-microsoft-anon-tag"])
        .arg("-I")
        .arg(vmlinux_dir())
        .arg("-I")
        .arg(repo().join("include"))
        .arg("-c")
        .arg(src)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {clang}: {e}"));
    assert!(
        res.status.success(),
        "clang failed on {}:\n{}",
        src.display(),
        String::from_utf8_lossy(&res.stderr)
    );
    out
}

fn compile_source(name: &str, text: &str) -> ObjectInfo {
    let src = tmp().join(format!("{name}.bpf.c"));
    std::fs::write(&src, text).unwrap();
    read_object(&compile(&src, name)).expect("read object")
}

fn selfcheck() -> &'static ObjectInfo {
    static OBJ: OnceLock<ObjectInfo> = OnceLock::new();
    OBJ.get_or_init(|| {
        let src = repo().join("tools/harness/tests/bpf/harness_selfcheck.bpf.c");
        read_object(&compile(&src, "harness_selfcheck")).expect("read selfcheck object")
    })
}

fn wrong() -> &'static ObjectInfo {
    static OBJ: OnceLock<ObjectInfo> = OnceLock::new();
    OBJ.get_or_init(|| {
        let src = repo().join("tools/harness/tests/bpf-wrong/harness_wrong.bpf.c");
        read_object(&compile(&src, "harness_wrong")).expect("read wrong object")
    })
}

fn prog<'a>(o: &'a ObjectInfo, name: &str) -> &'a ProgramInfo {
    o.programs
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no program {name}"))
}

const MISSING: &str = "bpf_rdynptr_harness_no_such_kfunc";

#[test]
fn annotated_programs_are_tests_and_others_are_not() {
    let o = selfcheck();
    assert_eq!(o.name, "harness_selfcheck");
    let tests: Vec<&str> = o
        .programs
        .iter()
        .filter(|p| p.is_test())
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(tests.len(), 15, "{tests:?}");
    assert!(!tests.contains(&"not_a_test"));
    assert!(prog(o, "not_a_test").spec.is_none());
}

#[test]
fn question_mark_sections_are_read_with_their_program_type() {
    let p = prog(selfcheck(), "xdp_packet_len");
    assert_eq!(p.section, "xdp");
    assert!(matches!(p.prog_type, libbpf_rs::ProgramType::Xdp));
    assert!(matches!(
        prog(selfcheck(), "tc_packet_len").prog_type,
        libbpf_rs::ProgramType::SchedCls
    ));
}

#[test]
fn retval_and_description_come_from_decl_tags() {
    let o = selfcheck();
    let s = prog(o, "tc_packet_len").spec.as_ref().unwrap();
    assert_eq!(s.retval, Some(Retval::Value(64)));
    assert_eq!(
        s.description.as_deref(),
        Some("tc program sees the 64-byte test packet")
    );
    assert!(!s.expect_failure);
    let s = prog(o, "syscall_negative_retval").spec.as_ref().unwrap();
    assert_eq!(s.retval, Some(Retval::Value(-22i32 as u32)));
    let s = prog(o, "tc_packet_dport").spec.as_ref().unwrap();
    assert_eq!(s.retval, Some(Retval::Value(8080)));
}

#[test]
fn failure_messages_keep_source_order() {
    let s = prog(selfcheck(), "reject_in_order").spec.as_ref().unwrap();
    assert!(s.expect_failure);
    let m: Vec<(&str, bool)> = s
        .messages
        .iter()
        .map(|m| (m.text(), m.is_negative()))
        .collect();
    assert_eq!(
        m,
        [
            ("call bpf_get_prandom_u32", false),
            ("R1 !read_ok", true),
            ("invalid mem access", false)
        ]
    );
    // Order as written even when it makes no sense.
    let s = prog(wrong(), "wrong_msg_order").spec.as_ref().unwrap();
    let m: Vec<&str> = s.messages.iter().map(|m| m.text()).collect();
    assert_eq!(m, ["processed {{[0-9]+}} insns", "invalid mem access"]);
}

#[test]
fn log_level_and_regex_message() {
    let s = prog(selfcheck(), "success_with_log").spec.as_ref().unwrap();
    assert_eq!(s.log_level, Some(2));
    assert!(s.messages[0].is_regex());
    assert_eq!(s.retval, Some(Retval::Value(0)));
}

#[test]
fn weak_extern_kfunc_is_found_in_btf() {
    let o = selfcheck();
    assert_eq!(o.kfunc_externs.len(), 1, "{:?}", o.kfunc_externs);
    assert_eq!(o.kfunc_externs.get(MISSING), Some(&true));
    assert!(wrong().kfunc_externs.is_empty());
}

#[test]
fn kfunc_calls_are_attributed_to_the_calling_program() {
    let o = selfcheck();
    let u = prog(o, "calls_missing_kfunc").kfuncs.as_ref().unwrap();
    assert!(u.called.contains(MISSING));
    assert!(u.address_taken.is_empty());
    let u = prog(o, "tc_packet_len").kfuncs.as_ref().unwrap();
    assert!(u.called.is_empty() && u.address_taken.is_empty());
    let u = prog(o, "needs_missing_kfunc").kfuncs.as_ref().unwrap();
    assert!(u.called.is_empty());
    assert_eq!(
        prog(o, "needs_missing_kfunc")
            .spec
            .as_ref()
            .unwrap()
            .needs_kfuncs,
        [MISSING]
    );
}

#[test]
fn kfunc_called_from_a_subprogram_counts() {
    let u = prog(selfcheck(), "subprog_calls_missing_kfunc")
        .kfuncs
        .as_ref()
        .unwrap();
    assert!(u.called.contains(MISSING), "{u:?}");
}

#[test]
fn bpf_ksym_exists_guard_is_seen() {
    let u = prog(selfcheck(), "guarded_missing_kfunc")
        .kfuncs
        .as_ref()
        .unwrap();
    assert!(u.called.contains(MISSING));
    assert!(u.address_taken.contains(MISSING));
}

#[test]
fn strong_externs_callbacks_and_global_subprograms() {
    let o = compile_source(
        "harness_graph",
        r#"
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <rdynptr/bpf_test.h>
char _license[] SEC("license") = "GPL";
extern int bpf_rdynptr_graph_a(void) __ksym;
extern int bpf_rdynptr_graph_b(void) __ksym;
extern int bpf_rdynptr_graph_c(void) __ksym;

static int cb(__u64 i, void *ctx) { return bpf_rdynptr_graph_a(); }

__noinline int global_sub(int x) { return bpf_rdynptr_graph_b() + x; }

static __noinline int deep2(int x) { return bpf_rdynptr_graph_c() + x; }
static __noinline int deep1(int x) { return deep2(x) + 1; }

SEC("?syscall") __success int via_callback(void *ctx)
{ return bpf_loop(1, cb, 0, 0); }

SEC("?syscall") __success int via_global(void *ctx)
{ return global_sub(2); }

SEC("?syscall") __success int via_two_levels(void *ctx)
{ return deep1(3); }

SEC("?syscall") __success int none(void *ctx)
{ return 0; }
"#,
    );
    assert_eq!(o.kfunc_externs.len(), 3);
    assert!(o.kfunc_externs.values().all(|weak| !weak));
    let called = |n: &str| {
        prog(&o, n)
            .kfuncs
            .as_ref()
            .unwrap()
            .called
            .iter()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(called("via_callback"), ["bpf_rdynptr_graph_a"]);
    assert_eq!(called("via_global"), ["bpf_rdynptr_graph_b"]);
    assert_eq!(called("via_two_levels"), ["bpf_rdynptr_graph_c"]);
    assert!(called("none").is_empty());
}

#[test]
fn unknown_and_malformed_annotations_reach_the_spec() {
    let o = compile_source(
        "harness_tags",
        r#"
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <rdynptr/bpf_test.h>
char _license[] SEC("license") = "GPL";

SEC("?syscall") __success
__attribute__((btf_decl_tag("comment:" "999:" "test_frobnicate=1")))
int unknown_tag(void *ctx) { return 0; }

SEC("?syscall") __success __retval(banana)
int malformed(void *ctx) { return 0; }

SEC("?syscall") __auxiliary
int helper_prog(void *ctx) { return 0; }
"#,
    );
    let s = prog(&o, "unknown_tag").spec.as_ref().unwrap();
    assert_eq!(s.unknown, ["test_frobnicate"]);
    let s = prog(&o, "malformed").spec.as_ref().unwrap();
    assert!(
        s.errors.iter().any(|e| e.contains("banana")),
        "{:?}",
        s.errors
    );
    let p = prog(&o, "helper_prog");
    assert!(p.spec.as_ref().unwrap().auxiliary);
    assert!(!p.is_test());
}

#[test]
fn object_that_is_not_elf_is_an_error() {
    let p = tmp().join("garbage.bpf.o");
    std::fs::write(&p, b"not an ELF file").unwrap();
    assert!(read_object(&p).is_err());
}

#[test]
fn objects_are_read_without_their_dwarf_and_the_rest_exactly() {
    use object::{Object as _, ObjectSection as _};
    // A struct of 500 members: DWARF of many pages, as in the kernel's
    // selftest objects.
    let members = (0..500)
        .map(|i| format!("int member{i};"))
        .collect::<Vec<_>>()
        .join(" ");
    let text = format!(
        "#include \"vmlinux.h\"\n#include <bpf/bpf_helpers.h>\n#include <rdynptr/bpf_test.h>\n\
         struct big {{ {members} }};\nstruct big big_global;\n\
         SEC(\"syscall\") __success __retval(0)\n\
         int reads_the_last_member(void *ctx) {{ return big_global.member499; }}\n\
         char _license[] SEC(\"license\") = \"GPL\";\n"
    );
    let src = tmp().join("dwarf_heavy.bpf.c");
    std::fs::write(&src, text).unwrap();
    let path = compile(&src, "dwarf_heavy");
    let whole = std::fs::read(&path).unwrap();
    let read = rdynptr_harness::elfscan::read_without_dwarf(&path).unwrap();
    assert_eq!(read.len(), whole.len());
    let elf = object::File::parse(&whole[..]).unwrap();
    let (mut dwarf, mut kept) = (0, 0);
    for sec in elf.sections() {
        let name = sec.name().unwrap();
        let Some((at, n)) = sec.file_range() else {
            continue;
        };
        let range = at as usize..(at + n) as usize;
        let bare = name.trim_start_matches(".rela").trim_start_matches(".rel");
        if bare.starts_with(".debug_") {
            // One that fits in the gap between two wanted sections (at
            // most a page) is read along with them.
            if n > 4096 {
                assert!(read[range].iter().all(|&b| b == 0), "{name} was read");
                dwarf += n;
            }
        } else {
            assert_eq!(read[range.clone()], whole[range], "{name} differs");
            kept += n;
        }
    }
    assert!(dwarf > 0 && kept > 0, "dwarf {dwarf}, kept {kept}");
    // libbpf and the scan find in it what the file has.
    let info = read_object(&path).unwrap();
    assert_eq!(info.programs.len(), 1);
    let p = prog(&info, "reads_the_last_member");
    assert_eq!(p.section, "syscall");
    assert!(p.is_test(), "the annotations were not found");
}
