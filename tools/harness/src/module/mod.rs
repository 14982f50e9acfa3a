// SPDX-License-Identifier: GPL-2.0
//! Lifecycle tests of the rdynptr module, run after the BPF suites when
//! RDYNPTR_KO (or --module) names the module file:
//!
//! - module/btf_present: /sys/kernel/btf/rdynptr exists and has kfuncs;
//! - module/kfunc_programs_load: the programs of the kfunc objects load
//!   through libbpf and together call every kfunc of the module;
//! - module/rmmod_busy_while_loaded: with them loaded, unloading the
//!   module fails because it is in use, and the kernel stays healthy;
//! - module/rmmod_after_unload: once they are gone, unloading succeeds
//!   (and the module is loaded again);
//! - module/load_unload_cycles: repeated module load / program load /
//!   unload leaves no warning in the kernel log.
//!
//! With --stress-cycles N (N > 0), also:
//!
//! - module/stress_load_unload: N finit_module / delete_module cycles;
//! - module/stress_concurrent: threads load, test-run and close the kfunc
//!   programs while this thread unloads and reloads the module N times
//!   (N successful unloads, and as many refused attempts as it takes):
//!   unloading must fail (EBUSY/EAGAIN) while a program holds the module,
//!   must succeed at some point, and a program that loaded must work.
//!
//! Both end with a kmemleak scan when the kernel has kmemleak (debug
//! flavor): any unreferenced object fails the test.
//!
//! The module is loaded again at the end of every test that unloads it.
//!
//! Files: `sys` (the module's system calls and sysfs state), `kmsg`
//! (kernel log and taint watching), `programs` (which kfunc programs load
//! here, loading and running them), `stress` (the stress tests),
//! `kmemleak` (the leak scan); this file has the tests' table and the
//! lifecycle tests.

mod kmemleak;
mod kmsg;
mod programs;
mod stress;
pub(crate) mod sys;

use crate::ktap::Outcome;
use crate::objects::essential_name;
use crate::report::TestReport;
use crate::runner::Env;
use kmsg::{check_log, KernelLogWatch};
use programs::{Loaded, Picked};
use rdynptr_kernel::{KFUNC_PREFIXES, MODULE};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use sys::{
    delete_module_once, ensure_loaded, errno_str, insmod, module_btf, module_dir, module_refcnt,
    module_state, rmmod_tool, rmmod_wait,
};

/// The module tests, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleTest {
    BtfPresent,
    KfuncProgramsLoad,
    RmmodBusyWhileLoaded,
    RmmodAfterUnload,
    LoadUnloadCycles,
    /// Only with --stress-cycles N > 0.
    StressLoadUnload,
    /// Only with --stress-cycles N > 0.
    StressConcurrent,
}

impl ModuleTest {
    pub const ALL: [ModuleTest; 7] = [
        ModuleTest::BtfPresent,
        ModuleTest::KfuncProgramsLoad,
        ModuleTest::RmmodBusyWhileLoaded,
        ModuleTest::RmmodAfterUnload,
        ModuleTest::LoadUnloadCycles,
        ModuleTest::StressLoadUnload,
        ModuleTest::StressConcurrent,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ModuleTest::BtfPresent => "module/btf_present",
            ModuleTest::KfuncProgramsLoad => "module/kfunc_programs_load",
            ModuleTest::RmmodBusyWhileLoaded => "module/rmmod_busy_while_loaded",
            ModuleTest::RmmodAfterUnload => "module/rmmod_after_unload",
            ModuleTest::LoadUnloadCycles => "module/load_unload_cycles",
            ModuleTest::StressLoadUnload => "module/stress_load_unload",
            ModuleTest::StressConcurrent => "module/stress_concurrent",
        }
    }

    /// Whether it runs only with --stress-cycles.
    pub fn is_stress(self) -> bool {
        matches!(
            self,
            ModuleTest::StressLoadUnload | ModuleTest::StressConcurrent
        )
    }
}

/// The module tests and what they share.
pub struct ModuleTests {
    ko: PathBuf,
    kfunc_objs: Vec<PathBuf>,
    cycles: usize,
    stress_cycles: usize,
    /// Programs of the kfunc objects, loaded by kfunc_programs_load.
    loaded: Vec<Loaded>,
    /// What load_programs loads, worked out again when it refreshes.
    picked: Vec<Arc<Picked>>,
}

impl ModuleTests {
    pub fn new(ko: PathBuf, kfunc_objs: Vec<PathBuf>, cycles: usize) -> ModuleTests {
        ModuleTests {
            ko,
            kfunc_objs,
            cycles,
            stress_cycles: 0,
            loaded: Vec::new(),
            picked: Vec::new(),
        }
    }

    /// Cycles of the stress tests ([`ModuleTest::is_stress`]).
    pub fn with_stress_cycles(mut self, n: usize) -> ModuleTests {
        self.stress_cycles = n;
        self
    }

    /// Runs one test, with the module loaded before and after it.
    pub fn run(&mut self, test: ModuleTest, env: &mut Env) -> TestReport {
        let mut notes = Vec::new();
        match ensure_loaded(&self.ko) {
            Ok(true) => notes.push(format!(
                "module {MODULE} was not loaded; loaded {}",
                self.ko.display()
            )),
            Ok(false) => {}
            Err(e) => {
                return TestReport::fail(format!(
                    "module {MODULE} is not loaded and loading it failed: {e:#}"
                ))
            }
        }
        let mut r = match test {
            ModuleTest::BtfPresent => self.btf_present(env),
            ModuleTest::KfuncProgramsLoad => self.kfunc_programs_load(env),
            ModuleTest::RmmodBusyWhileLoaded => self.rmmod_busy(env),
            ModuleTest::RmmodAfterUnload => self.rmmod_after_unload(env),
            ModuleTest::LoadUnloadCycles => self.cycles(env),
            ModuleTest::StressLoadUnload => self.stress_load_unload(),
            ModuleTest::StressConcurrent => self.stress_concurrent(env),
        };
        env.refresh_kernel();
        // Whatever happened, leave the module loaded.
        if module_state().is_none() {
            if let Err(e) = insmod(&self.ko) {
                r.fail_with(format!("could not load the module again: {e:#}"));
            }
        }
        notes.append(&mut r.diagnostics);
        r.diagnostics = notes;
        r
    }

    /// Drops the loaded programs; call when the module tests are done.
    pub fn finish(&mut self) {
        self.loaded.clear();
    }

    fn btf_present(&mut self, env: &mut Env) -> TestReport {
        let path = module_btf();
        if !path.exists() {
            return TestReport::fail(format!("{} does not exist", path.display()));
        }
        env.refresh_kernel();
        let kfuncs = env
            .kernel()
            .module_funcs_with_prefixes(MODULE, KFUNC_PREFIXES);
        if kfuncs.is_empty() {
            return TestReport::fail(format!(
                "{} has no FUNC named {}*",
                path.display(),
                KFUNC_PREFIXES.join("* or ")
            ));
        }
        let mut r = TestReport::pass();
        r.diagnostics.push(format!(
            "kfuncs in {}: {}",
            path.display(),
            kfuncs.join(" ")
        ));
        r
    }

    fn kfunc_programs_load(&mut self, env: &mut Env) -> TestReport {
        let notes = match self.load_programs(env, true) {
            Ok(n) => n,
            Err(r) => return r,
        };
        let module_kfuncs = env
            .kernel()
            .module_funcs_with_prefixes(MODULE, KFUNC_PREFIXES);
        let mut called: Vec<&str> = Vec::new();
        let mut r = TestReport::pass();
        r.diagnostics = notes;
        for l in &self.loaded {
            r.diagnostics.push(format!(
                "loaded {} program(s) of {}: {}",
                l.of.programs.len(),
                l.of.info.name,
                l.of.programs.join(" ")
            ));
            called.extend(
                l.of.info
                    .programs
                    .iter()
                    .filter(|p| l.of.programs.contains(&p.name))
                    .filter_map(|p| p.kfuncs.as_ref().ok())
                    .flat_map(|u| u.called.iter().map(|k| essential_name(k))),
            );
        }
        let uncovered: Vec<&str> = module_kfuncs
            .iter()
            .map(String::as_str)
            .filter(|k| !called.contains(k))
            .collect();
        if module_kfuncs.is_empty() {
            r.fail_with(format!(
                "the module's BTF has no {}* FUNC",
                KFUNC_PREFIXES.join("* or ")
            ));
        } else if !uncovered.is_empty() {
            r.fail_with(format!(
                "kfuncs of the module that no loaded program calls: {} (call each from a \
                 program of tools/selftests/kfunc_calls.bpf.c; Documentation/kfuncs-in-rust.rst, \
                 \"Adding a kfunc\")",
                uncovered.join(", ")
            ));
        }
        r
    }

    fn rmmod_busy(&mut self, env: &mut Env) -> TestReport {
        let mut watch = KernelLogWatch::start();
        let mut r = TestReport::pass();
        if self.loaded.is_empty() {
            match self.load_programs(env, true) {
                Ok(n) => r.diagnostics.extend(n),
                Err(rep) => return rep,
            }
        }
        let refcnt = module_refcnt();
        r.diagnostics
            .push(format!("module refcnt with programs loaded: {refcnt:?}"));
        match delete_module_once() {
            Ok(()) => {
                r.fail_with("delete_module succeeded while programs using the module were loaded");
                // The programs are now dangling users of a gone module;
                // drop them before the module comes back.
                self.loaded.clear();
                return r;
            }
            Err(e) if e == libc::EAGAIN || e == libc::EBUSY => {
                r.diagnostics.push(format!(
                    "delete_module failed as expected: {}",
                    errno_str(e)
                ));
            }
            Err(e) => {
                r.fail_with(format!(
                    "delete_module failed, but not because the module is in use: {}",
                    errno_str(e)
                ));
            }
        }
        if refcnt.is_none_or(|c| c <= 0) {
            r.fail_with("the module's refcnt is not positive while programs use it");
        }
        if let Some(msg) = rmmod_tool() {
            match msg {
                Ok(text) => r.diagnostics.push(format!("rmmod(8) refused: {text}")),
                Err(e) => {
                    r.fail_with(format!("{e:#}"));
                }
            }
        }
        // Healthy: still live, BTF still there, programs still run.
        if module_state().as_deref() != Some("live") {
            r.fail_with(format!(
                "module state after the failed unload: {:?}",
                module_state()
            ));
        }
        if !module_btf().exists() {
            r.fail_with(format!("{} vanished", module_btf().display()));
        }
        match self.run_loaded() {
            Ok(n) => r
                .diagnostics
                .push(format!("{n} loaded program(s) test-run fine afterwards")),
            Err(e) => {
                r.fail_with(format!("after the failed unload: {e:#}"));
            }
        }
        check_log(&mut watch, &mut r);
        r
    }

    fn rmmod_after_unload(&mut self, _env: &mut Env) -> TestReport {
        let mut watch = KernelLogWatch::start();
        self.loaded.clear();
        let mut r = TestReport::pass();
        match rmmod_wait() {
            Ok(t) => r.diagnostics.push(format!(
                "module unloaded {t:?} after the programs were closed"
            )),
            Err(e) => return TestReport::fail(format!("{e:#}")),
        }
        if module_state().is_some() || module_btf().exists() {
            r.fail_with(format!(
                "after unloading: {} / {} still present",
                module_dir().display(),
                module_btf().display()
            ));
        }
        if let Err(e) = insmod(&self.ko) {
            r.fail_with(format!("{e:#}"));
        } else if !module_btf().exists() {
            r.fail_with(format!(
                "{} missing after loading the module again",
                module_btf().display()
            ));
        }
        check_log(&mut watch, &mut r);
        r
    }

    fn cycles(&mut self, env: &mut Env) -> TestReport {
        let mut watch = KernelLogWatch::start();
        self.loaded.clear();
        let mut r = TestReport::pass();
        let mut with_programs = true;
        // Where the time of the cycles goes: loading the programs, running
        // them, closing them and unloading the module, loading it.
        let mut spent = [Duration::ZERO; 4];
        let mut lap = Instant::now();
        let mut split = |phase: usize| {
            let now = Instant::now();
            spent[phase] += now - lap;
            lap = now;
        };
        for i in 0..self.cycles {
            if with_programs {
                let loaded = self.load_programs(env, i == 0);
                split(0);
                match loaded {
                    Ok(_) => {
                        let ran = self.run_loaded();
                        split(1);
                        if let Err(e) = ran {
                            r.fail_with(format!("cycle {i}: {e:#}"));
                            break;
                        }
                    }
                    Err(rep) if matches!(rep.outcome, Outcome::Skip(_)) && i == 0 => {
                        // No kfunc object: cycle the module alone.
                        with_programs = false;
                        if let Outcome::Skip(why) = rep.outcome {
                            r.diagnostics.push(format!("module-only cycles: {why}"));
                        }
                    }
                    Err(mut rep) => {
                        r.fail_with(format!("cycle {i}: loading programs failed"));
                        r.diagnostics.append(&mut rep.diagnostics);
                        break;
                    }
                }
            }
            self.loaded.clear();
            let unloaded = rmmod_wait();
            split(2);
            if let Err(e) = unloaded {
                r.fail_with(format!("cycle {i}: {e:#}"));
                break;
            }
            let inserted = insmod(&self.ko);
            split(3);
            if let Err(e) = inserted {
                r.fail_with(format!("cycle {i}: {e:#}"));
                break;
            }
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        r.diagnostics.push(format!(
            "time: program loads {:.0} ms, test runs {:.0} ms, closing and unloading {:.0} ms, \
             module loads {:.0} ms",
            ms(spent[0]),
            ms(spent[1]),
            ms(spent[2]),
            ms(spent[3])
        ));
        if r.outcome == Outcome::Pass {
            r.diagnostics.push(format!(
                "{} cycles of {}",
                self.cycles,
                if with_programs {
                    "insmod, program load and test run, close, rmmod"
                } else {
                    "insmod, rmmod"
                }
            ));
        }
        check_log(&mut watch, &mut r);
        r
    }
}
