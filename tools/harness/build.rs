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
    // (no-llvm-linking), the toolchain root's LLVM 19 the code: the
    // disassembler's component libraries and what they need, linked in.
    // Not libLLVM.so: the dynamic linker's relocation of all of LLVM (and
    // of libz3, libxml2 ... that it pulls in) made every start of
    // rdynptr-test take 2.5 s under TCG (0.5 s with the files cached).
    link_llvm_static();
    // One parse of the kernel's BTF per process (src/btf_cache.rs): the
    // two libbpf calls it takes over, in every binary of the package.
    for f in ["btf__load_vmlinux_btf", "btf__free"] {
        println!("cargo:rustc-link-arg=-Wl,--wrap={f}");
    }
}

/// What `llvm-config-19 ARGS` prints, split into words.
fn llvm_config(args: &[&str]) -> Vec<String> {
    let out = std::process::Command::new("llvm-config-19")
        .args(args)
        .output()
        .unwrap_or_else(|e| fail(&format!("cannot run llvm-config-19: {e}")));
    if !out.status.success() {
        fail(&format!(
            "llvm-config-19 {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn fail(why: &str) -> ! {
    eprintln!("{why}");
    std::process::exit(1)
}

/// Links the X86 disassembler of LLVM's static component libraries, in
/// the order llvm-config gives, then the C++ runtime and the system
/// libraries they need.
fn link_llvm_static() {
    // Static libraries to prefer to the system's (libelf.a, see
    // do_harness_static in scripts/rdynptr.sh).
    println!("cargo:rerun-if-env-changed=RDYNPTR_STATIC_LIBDIR");
    if let Ok(d) = std::env::var("RDYNPTR_STATIC_LIBDIR") {
        println!("cargo:rustc-link-search=native={d}");
    }
    for d in llvm_config(&["--libdir"]) {
        println!("cargo:rustc-link-search=native={d}");
    }
    let components = [
        "x86disassembler",
        "x86desc",
        "x86info",
        "mcdisassembler",
        "target",
        "core",
    ];
    let mut args = vec!["--link-static", "--libs"];
    args.extend(components);
    for lib in llvm_config(&args) {
        if let Some(name) = lib.strip_prefix("-l") {
            println!("cargo:rustc-link-lib=static={name}");
        }
    }
    // libstdc++.a lives in the compiler's own directory.
    let out = std::process::Command::new("cc")
        .arg("-print-file-name=libstdc++.a")
        .output()
        .unwrap_or_else(|e| fail(&format!("cannot run cc: {e}")));
    let path = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    match path.parent().filter(|_| path.is_absolute()) {
        Some(dir) => println!("cargo:rustc-link-search=native={}", dir.display()),
        None => fail("cc does not know libstdc++.a (install libstdc++-dev)"),
    }
    println!("cargo:rustc-link-lib=static=stdc++");
    for lib in llvm_config(&["--link-static", "--system-libs"]) {
        if let Some(name) = lib.strip_prefix("-l") {
            println!("cargo:rustc-link-lib={name}");
        }
    }
    // libelf's compressed sections (libbpf-sys links libelf and libz).
    println!("cargo:rustc-link-lib=zstd");
}
