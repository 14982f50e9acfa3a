// SPDX-License-Identifier: GPL-2.0
//! The programs the module tests load to hold the module: which programs
//! of the kfunc objects (tools/selftests/kfunc_calls*.bpf.c) can load on
//! this kernel, loading them, and test-running them.

use super::ModuleTests;
use crate::kernel::KernelBtf;
use crate::objects::{self, ObjectInfo};
use crate::report::TestReport;
use crate::runner::{self, Env};
use crate::spec::fmt_retval;
use anyhow::{anyhow, bail, Context as _};
use libbpf_rs::Object;
use std::path::PathBuf;
use std::sync::Arc;

pub(super) struct Loaded {
    pub object: Object,
    pub of: Arc<Picked>,
}

/// A kfunc object and the programs of it to load on this kernel.
pub(super) struct Picked {
    pub info: ObjectInfo,
    pub programs: Vec<String>,
    /// Why other programs (or objects) are not loaded.
    pub notes: Vec<String>,
}

/// Which programs of `info` can be loaded on this kernel: those not
/// expected to fail that call only kfuncs the kernel has, plus notes on
/// the others.  Err(reason) if libbpf cannot load the object at all.
pub(super) fn pick_programs(
    info: &ObjectInfo,
    kernel: &KernelBtf,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let has = |k: &str| kernel.has_func(k);
    let strong_missing = info.missing_strong_externs(has);
    if !strong_missing.is_empty() {
        bail!(
            "not loading {}: it declares kfuncs the kernel lacks without __weak ({})",
            info.name,
            strong_missing.join(", ")
        );
    }
    let mut picked = Vec::new();
    let mut notes = Vec::new();
    for p in &info.programs {
        if p.spec.as_ref().is_some_and(|s| s.expect_failure) {
            continue;
        }
        let missing = match &p.kfuncs {
            Ok(u) => objects::missing_calls(u, has),
            Err(e) => {
                notes.push(format!("not loading {}/{}: {e:#}", info.name, p.name));
                continue;
            }
        };
        if missing.is_empty() {
            picked.push(p.name.clone());
        } else {
            notes.push(format!(
                "not loading {}/{}: the kernel lacks {}",
                info.name,
                p.name,
                missing.join(", ")
            ));
        }
    }
    Ok((picked, notes))
}

impl ModuleTests {
    /// The kfunc objects and which of their programs to load on this
    /// kernel.  Err(report) when the test cannot go on.
    fn pick_objects(&self, kernel: &KernelBtf) -> Result<Vec<Arc<Picked>>, TestReport> {
        let existing: Vec<&PathBuf> = self.kfunc_objs.iter().filter(|p| p.exists()).collect();
        if existing.is_empty() {
            return Err(TestReport::skip(format!(
                "no kfunc object found ({}; set --kfunc-object / RDYNPTR_KFUNC_OBJ)",
                self.kfunc_objs
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let mut out = Vec::new();
        let mut skipped = Vec::new();
        for path in existing {
            let info =
                objects::read_object(path).map_err(|e| TestReport::fail(format!("{e:#}")))?;
            match pick_programs(&info, kernel) {
                Ok((programs, _)) if programs.is_empty() => {
                    skipped.push(format!("{}: no program to load", info.name))
                }
                Ok((programs, notes)) => out.push(Picked {
                    info,
                    programs,
                    notes,
                }),
                Err(why) => skipped.push(format!("{why:#}")),
            }
        }
        if out.is_empty() {
            let mut r =
                TestReport::fail("no program of the kfunc objects can be loaded on this kernel");
            r.diagnostics = skipped;
            return Err(r);
        }
        if let Some(first) = out.first_mut() {
            first.notes.splice(0..0, skipped);
        }
        Ok(out.into_iter().map(Arc::new).collect())
    }

    /// Loads the loadable programs of every kfunc object (one libbpf
    /// object each); Err(report) when the test cannot go on.  With
    /// `refresh`, first re-reads the kernel's BTF (the module's may have
    /// changed) and picks the programs again; the load/unload cycles skip
    /// that after the first one, since reloading the same module brings
    /// back the same kfuncs (libbpf resolves their ids anew at every load).
    pub(super) fn load_programs(
        &mut self,
        env: &mut Env,
        refresh: bool,
    ) -> Result<Vec<String>, TestReport> {
        self.loaded.clear();
        if refresh {
            env.refresh_kernel();
            self.picked.clear();
        }
        if self.picked.is_empty() {
            self.picked = self.pick_objects(env.kernel())?;
        }
        let mut notes: Vec<String> = self.picked.iter().flat_map(|o| o.notes.clone()).collect();
        // The objects load at once, one per thread: most of a load is
        // libbpf parsing the kernel's BTF, which it does for every object.
        let loads: Vec<anyhow::Result<Object>> = std::thread::scope(|s| {
            let threads: Vec<_> = self
                .picked
                .iter()
                .map(|o| {
                    s.spawn(move || {
                        let data = Some(o.info.data.as_slice());
                        let open = runner::open_object_with(&o.info.path, data, None, |n| {
                            o.programs.iter().any(|p| p == n)
                        })?;
                        crate::libbpflog::take();
                        open.load().map_err(|e| {
                            let mut msg = format!("loading {} failed: {e}", o.info.path.display());
                            for l in crate::libbpflog::take() {
                                msg.push('\n');
                                msg.push_str(&l);
                            }
                            anyhow!(msg)
                        })
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|t| {
                    t.join()
                        .unwrap_or_else(|_| Err(anyhow!("a loader thread panicked")))
                })
                .collect()
        });
        for (o, load) in self.picked.iter().zip(loads) {
            match load {
                Ok(object) => self.loaded.push(Loaded {
                    object,
                    of: o.clone(),
                }),
                Err(e) => {
                    // The first line fails the test; libbpf's messages
                    // follow as diagnostics.
                    let e = format!("{e:#}");
                    let mut lines = e.lines().map(str::to_string);
                    let mut r = TestReport::fail(lines.next().unwrap_or_default());
                    r.diagnostics.append(&mut notes);
                    r.diagnostics.extend(lines);
                    self.loaded.clear();
                    return Err(r);
                }
            }
        }
        if self.loaded.is_empty() {
            let mut r =
                TestReport::fail("no program of the kfunc objects can be loaded on this kernel");
            r.diagnostics.append(&mut notes);
            return Err(r);
        }
        Ok(notes)
    }

    /// Test-runs every loaded program that can be run, checking __retval
    /// where one is given.
    pub(super) fn run_loaded(&self) -> anyhow::Result<usize> {
        let mut ran = 0;
        for l in &self.loaded {
            for p in l.object.progs_mut() {
                let name = p.name().to_string_lossy().into_owned();
                let Some(info) = l.of.info.programs.iter().find(|i| i.name == name) else {
                    continue;
                };
                if !l.of.programs.contains(&name) {
                    continue;
                }
                let Some(input) = runner::run_input(info.prog_type) else {
                    continue;
                };
                let linear = info.spec.as_ref().and_then(|s| s.linear_size);
                let got = runner::test_run(&p, input, linear)
                    .with_context(|| format!("{}/{name}", l.of.info.name))?;
                if let Some(want) = info.spec.as_ref().and_then(|s| s.retval) {
                    if !want.accepts(got) {
                        bail!(
                            "{}/{name}: expected retval {want}, got {}",
                            l.of.info.name,
                            fmt_retval(got)
                        );
                    }
                }
                ran += 1;
            }
        }
        Ok(ran)
    }
}
