// SPDX-License-Identifier: GPL-2.0
//! Loading the bench programs and timing them with BPF_PROG_TEST_RUN.

use crate::plan::CALLS_SECTION;
use anyhow::{anyhow, bail, Context as _};
use libbpf_rs::query::ProgInfoQueryOptions;
use libbpf_rs::{Object, ObjectBuilder, ProgramInput, ProgramMut};
use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// The packet the tc programs get: they do not look at it, but an skb test
/// run needs at least an Ethernet header.
const PACKET: [u8; 64] = [0; 64];

/// Which object file holds each program.
pub fn index(objects: &[PathBuf]) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    for path in objects {
        let open = ObjectBuilder::default()
            .open_file(path)
            .with_context(|| format!("libbpf cannot open {}", path.display()))?;
        for p in open.progs() {
            let name = p.name().to_string_lossy().into_owned();
            if let Some(other) = out.insert(name.clone(), path.clone()) {
                bail!(
                    "program {name} is in both {} and {}",
                    other.display(),
                    path.display()
                );
            }
        }
    }
    Ok(out)
}

/// Programs of one object file, loaded together (the object's other
/// programs are not loaded).
pub struct Loaded {
    path: PathBuf,
    object: Object,
}

impl Loaded {
    /// Loads the programs `names` of the object at `path`, with `calls`
    /// calls per run.
    pub fn load(path: &Path, names: &[&str], calls: u32) -> anyhow::Result<Loaded> {
        let mut open = ObjectBuilder::default()
            .open_file(path)
            .with_context(|| format!("libbpf cannot open {}", path.display()))?;
        let mut found = 0;
        for mut p in open.progs_mut() {
            let wanted = names.iter().any(|n| p.name() == *n);
            found += usize::from(wanted);
            p.set_autoload(wanted);
        }
        if found != names.len() {
            bail!(
                "{} lacks some of the programs {}",
                path.display(),
                names.join(", ")
            );
        }
        let mut set = false;
        for mut m in open.maps_mut() {
            if m.name().to_string_lossy().ends_with(CALLS_SECTION) {
                let v = m.initial_value_mut().ok_or_else(|| {
                    anyhow!("{CALLS_SECTION} of {} has no initial value", path.display())
                })?;
                let bytes = calls.to_ne_bytes();
                if v.len() != bytes.len() {
                    bail!(
                        "{CALLS_SECTION} of {} is {} bytes, not one __u32 (bench_calls)",
                        path.display(),
                        v.len()
                    );
                }
                v.copy_from_slice(&bytes);
                set = true;
            }
        }
        if !set {
            bail!("no {CALLS_SECTION} map in {}", path.display());
        }
        let object = open.load().map_err(|e| {
            anyhow!(
                "loading {} from {} failed: {e} (libbpf's messages and the verifier log above)",
                names.join(", "),
                path.display()
            )
        })?;
        Ok(Loaded {
            path: path.to_owned(),
            object,
        })
    }

    fn prog(&self, name: &str) -> anyhow::Result<ProgramMut<'_>> {
        self.object
            .progs_mut()
            .find(|p| p.name() == name)
            .ok_or_else(|| anyhow!("{name} was not loaded from {}", self.path.display()))
    }

    /// Runs the program `repeat` times in one BPF_PROG_TEST_RUN: returns its
    /// return value (of the last run) and the mean ns per run.
    pub fn run(&self, name: &str, repeat: u32) -> anyhow::Result<(u32, u64)> {
        let input = ProgramInput {
            data_in: Some(&PACKET),
            repeat,
            ..Default::default()
        };
        let out = self
            .prog(name)?
            .test_run(input)
            .with_context(|| format!("BPF_PROG_TEST_RUN of {name} failed"))?;
        let ns = u64::try_from(out.duration.as_nanos()).unwrap_or(u64::MAX);
        Ok((out.return_value, ns))
    }

    /// The program's id and JIT image (None if it was not JIT-compiled).
    pub fn jit_image(&self, name: &str) -> anyhow::Result<JitImage> {
        let prog = self.prog(name)?;
        let opts = ProgInfoQueryOptions::default()
            .include_jited_prog_insns(true)
            .include_jited_ksyms(true);
        let info = rdynptr_kernel::prog::info(prog.as_fd(), opts)
            .with_context(|| format!("the JIT image of {name}"))?;
        let code = Some(info.jited_prog_insns).filter(|c| !c.is_empty());
        Ok(JitImage {
            id: info.id,
            // Zero when kptr_restrict hides addresses.
            address: code
                .as_ref()
                .and(info.jited_ksyms.first())
                .map(|&a| a as u64)
                .filter(|&a| a != 0),
            code,
        })
    }
}

/// A loaded program's machine code.
pub struct JitImage {
    pub id: u32,
    pub code: Option<Vec<u8>>,
    pub address: Option<u64>,
}
