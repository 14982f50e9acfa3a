// SPDX-License-Identifier: GPL-2.0
//! Links the kernel's BPF disassembler, libbpf_disasm.a, which
//! scripts/libbpf.sh builds next to the libbpf that libbpf-sys links
//! (LIBBPF_SYS_LIBRARY_PATH), and wraps libbpf's load of the kernel's BTF
//! (src/btf_cache.rs).

fn main() {
    println!("cargo:rerun-if-env-changed=LIBBPF_SYS_LIBRARY_PATH");
    match std::env::var("LIBBPF_SYS_LIBRARY_PATH") {
        Ok(dirs) => {
            for d in dirs.split(':').filter(|d| !d.is_empty()) {
                println!("cargo:rustc-link-search=native={d}");
            }
        }
        Err(_) => println!(
            "cargo:warning=LIBBPF_SYS_LIBRARY_PATH is not set: build through scripts/rdynptr.sh (it builds libbpf and the disassembler with scripts/libbpf.sh)"
        ),
    }
    println!("cargo:rustc-link-lib=static=bpf_disasm");
    // LLVM's disassembler (__jited): llvm-sys gives the bindings only
    // (no-llvm-linking), the toolchain root's libLLVM 19 the code.
    println!("cargo:rustc-link-lib=dylib=LLVM-19");
    // One parse of the kernel's BTF per process (src/btf_cache.rs): the
    // two libbpf calls it takes over, in every binary of the package.
    for f in ["btf__load_vmlinux_btf", "btf__free"] {
        println!("cargo:rustc-link-arg=-Wl,--wrap={f}");
    }
}
