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

use crate::kernel::{KernelBtf, SYSFS_BTF};
use crate::ktap::Outcome;
use crate::objects::{self, essential_name, ObjectInfo};
use crate::runner::{self, Env, TestReport};
use crate::spec::fmt_retval;
use libbpf_rs::Object;
use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const MODULE: &str = "rdynptr";
/// The module's kfuncs: its FUNCs with these prefixes.
pub const KFUNC_PREFIXES: &[&str] = &["bpf_rdynptr_", "bpf_iter_rdynptr_"];
/// How long to wait for the module to become unused after its last
/// program is closed: the kernel frees programs (and drops their module
/// references) from RCU callbacks and work queues.
const UNLOAD_TIMEOUT: Duration = Duration::from_secs(10);

pub const TESTS: &[&str] = &[
    "module/btf_present",
    "module/kfunc_programs_load",
    "module/rmmod_busy_while_loaded",
    "module/rmmod_after_unload",
    "module/load_unload_cycles",
];

/// Run only with --stress-cycles N > 0.
pub const STRESS_TESTS: &[&str] = &["module/stress_load_unload", "module/stress_concurrent"];

/// Program-loading threads of module/stress_concurrent.
const STRESS_LOADERS: usize = 2;
/// module/stress_concurrent fails if its cycles take longer than this.
const STRESS_TIME_LIMIT: Duration = Duration::from_secs(1200);
/// How long the concurrent stress waits for a loader after each reload.
const STRESS_RELOAD_WAIT: Duration = Duration::from_millis(200);
const KMEMLEAK: &str = "/sys/kernel/debug/kmemleak";
/// kmemleak does not report objects younger than this (MSECS_MIN_AGE).
const KMEMLEAK_MIN_AGE: Duration = Duration::from_secs(6);

fn errno_str(e: i32) -> String {
    std::io::Error::from_raw_os_error(e).to_string()
}

fn module_dir() -> PathBuf {
    Path::new("/sys/module").join(MODULE)
}

fn module_btf() -> PathBuf {
    Path::new(SYSFS_BTF).join(MODULE)
}

/// The module's state from /sys/module/<name>/initstate ("live", ...).
fn module_state() -> Option<String> {
    std::fs::read_to_string(module_dir().join("initstate"))
        .ok()
        .map(|s| s.trim().to_string())
}

fn module_refcnt() -> Option<i64> {
    std::fs::read_to_string(module_dir().join("refcnt"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// finit_module() of the module file.
fn insmod(ko: &Path) -> Result<(), String> {
    let f = File::open(ko).map_err(|e| format!("cannot open {}: {e}", ko.display()))?;
    let params = c"";
    // SAFETY: finit_module takes a file descriptor (valid while `f`
    // lives), a NUL-terminated parameter string and flags; it does not
    // retain the pointers.
    let rc = unsafe { libc::syscall(libc::SYS_finit_module, f.as_raw_fd(), params.as_ptr(), 0) };
    if rc == 0 {
        Ok(())
    } else {
        let e = std::io::Error::last_os_error();
        Err(format!("finit_module({}) failed: {e}", ko.display()))
    }
}

/// One delete_module(O_NONBLOCK) attempt; Err(errno) on failure.
fn delete_module_once() -> Result<(), i32> {
    let name = CString::new(MODULE).unwrap_or_default();
    // SAFETY: delete_module takes a NUL-terminated name, valid for the
    // call, and flags.
    let rc = unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

/// Unloads the module, retrying while it is still in use (references are
/// dropped asynchronously after programs are freed).
fn rmmod_wait() -> Result<Duration, String> {
    let start = Instant::now();
    // The module is busy until the last program that used it is freed,
    // an RCU grace period after it was closed: poll often at first.
    let mut pause = Duration::from_millis(1);
    loop {
        match delete_module_once() {
            Ok(()) => return Ok(start.elapsed()),
            Err(e)
                if (e == libc::EAGAIN || e == libc::EBUSY) && start.elapsed() < UNLOAD_TIMEOUT =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(e) => {
                return Err(format!(
                    "delete_module({MODULE}) failed after {:?}: {} (refcnt {:?})",
                    start.elapsed(),
                    errno_str(e),
                    module_refcnt()
                ))
            }
        }
    }
}

/// Loads the module unless it is loaded.
fn ensure_loaded(ko: &Path) -> Result<bool, String> {
    if module_state().is_some() {
        return Ok(false);
    }
    insmod(ko)?;
    Ok(true)
}

/// Watches the kernel log (and taint flags) for trouble.
struct KernelLogWatch {
    kmsg: Option<File>,
    taint: u64,
    error: Option<String>,
}

/// Taint bits that mean something went wrong: BAD_PAGE, DIE, WARN,
/// SOFTLOCKUP.
const BAD_TAINTS: u64 = (1 << 5) | (1 << 7) | (1 << 9) | (1 << 14);

fn read_taint() -> u64 {
    std::fs::read_to_string("/proc/sys/kernel/tainted")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Is this kernel log record a sign of trouble?  `level` is the syslog
/// level (0 emerg .. 7 debug).
pub fn is_trouble(level: u32, msg: &str) -> bool {
    const MARKERS: &[&str] = &[
        "WARNING:",
        "BUG:",
        "Oops",
        "general protection fault",
        "Call Trace",
        "refcount_t:",
        "UBSAN:",
        "KASAN:",
        "kmemleak",
        "unreferenced object",
        "list_add corruption",
        "list_del corruption",
        "Kernel panic",
        "INFO: task",
        "rcu_sched self-detected stall",
        "RCU Tasks",
        "stack-protector",
        "double free",
        "use-after-free",
    ];
    level <= 3 || MARKERS.iter().any(|m| msg.contains(m))
}

/// Parses one /dev/kmsg record: "prio,seq,usec,flags;message\n...".
pub fn parse_kmsg(record: &str) -> Option<(u32, &str)> {
    let (head, rest) = record.split_once(';')?;
    let prio: u32 = head.split(',').next()?.parse().ok()?;
    let msg = rest.lines().next().unwrap_or("");
    Some((prio & 7, msg))
}

impl KernelLogWatch {
    fn start() -> KernelLogWatch {
        let mut w = KernelLogWatch {
            kmsg: None,
            taint: read_taint(),
            error: None,
        };
        match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/kmsg")
        {
            Ok(mut f) => match f.seek(SeekFrom::End(0)) {
                Ok(_) => w.kmsg = Some(f),
                Err(e) => w.error = Some(format!("cannot seek /dev/kmsg: {e}")),
            },
            Err(e) => w.error = Some(format!("cannot open /dev/kmsg: {e}")),
        }
        w
    }

    /// Problems logged since start() (records and new bad taint flags).
    fn problems(&mut self) -> Result<Vec<String>, String> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let mut found = Vec::new();
        if let Some(f) = self.kmsg.as_mut() {
            let mut buf = vec![0u8; 8192];
            loop {
                match f.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let rec = String::from_utf8_lossy(&buf[..n]);
                        if let Some((level, msg)) = parse_kmsg(&rec) {
                            if is_trouble(level, msg) {
                                found.push(format!("kernel log: {msg}"));
                            }
                        }
                    }
                    Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {
                        found.push("kernel log: records were lost (overrun)".to_string());
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(format!("reading /dev/kmsg: {e}")),
                }
            }
        }
        let now = read_taint();
        let new_bad = now & !self.taint & BAD_TAINTS;
        if new_bad != 0 {
            found.push(format!(
                "kernel taint changed from {:#x} to {now:#x} (new bad flags {new_bad:#x})",
                self.taint
            ));
        }
        Ok(found)
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

struct Loaded {
    object: Object,
    of: Arc<Picked>,
}

/// A kfunc object and the programs of it to load on this kernel.
struct Picked {
    info: ObjectInfo,
    programs: Vec<String>,
    /// Why other programs (or objects) are not loaded.
    notes: Vec<String>,
}

/// Which programs of `info` can be loaded on this kernel: those not
/// expected to fail that call only kfuncs the kernel has, plus notes on
/// the others.  Err(reason) if libbpf cannot load the object at all.
fn pick_programs(
    info: &ObjectInfo,
    kernel: &KernelBtf,
) -> Result<(Vec<String>, Vec<String>), String> {
    let has = |k: &str| kernel.has_func(k);
    let strong_missing = info.missing_strong_externs(has);
    if !strong_missing.is_empty() {
        return Err(format!(
            "not loading {}: it declares kfuncs the kernel lacks without __weak ({})",
            info.name,
            strong_missing.join(", ")
        ));
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
                notes.push(format!("not loading {}/{}: {e}", info.name, p.name));
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

    /// Cycles of the stress tests (STRESS_TESTS).
    pub fn with_stress_cycles(mut self, n: usize) -> ModuleTests {
        self.stress_cycles = n;
        self
    }

    pub fn run(&mut self, name: &str, env: &mut Env) -> TestReport {
        let mut notes = Vec::new();
        match ensure_loaded(&self.ko) {
            Ok(true) => notes.push(format!(
                "module {MODULE} was not loaded; loaded {}",
                self.ko.display()
            )),
            Ok(false) => {}
            Err(e) => {
                return TestReport::fail(format!(
                    "module {MODULE} is not loaded and loading it failed: {e}"
                ))
            }
        }
        let mut r = match name {
            "module/btf_present" => self.btf_present(env),
            "module/kfunc_programs_load" => self.kfunc_programs_load(env),
            "module/rmmod_busy_while_loaded" => self.rmmod_busy(env),
            "module/rmmod_after_unload" => self.rmmod_after_unload(env),
            "module/load_unload_cycles" => self.cycles(env),
            "module/stress_load_unload" => self.stress_load_unload(),
            "module/stress_concurrent" => self.stress_concurrent(env),
            _ => TestReport::fail(format!("unknown module test {name}")),
        };
        env.refresh_kernel();
        // Whatever happened, leave the module loaded.
        if module_state().is_none() {
            if let Err(e) = insmod(&self.ko) {
                r.outcome = Outcome::Fail;
                r.diagnostics
                    .push(format!("could not load the module again: {e}"));
            }
        }
        notes.append(&mut r.diagnostics);
        r.diagnostics = notes;
        r
    }

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
            let info = objects::read_object(path).map_err(TestReport::fail)?;
            match pick_programs(&info, kernel) {
                Ok((programs, _)) if programs.is_empty() => {
                    skipped.push(format!("{}: no program to load", info.name))
                }
                Ok((programs, notes)) => out.push(Picked {
                    info,
                    programs,
                    notes,
                }),
                Err(why) => skipped.push(why),
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
        let mut r = pass();
        r.diagnostics.push(format!(
            "kfuncs in {}: {}",
            path.display(),
            kfuncs.join(" ")
        ));
        r
    }

    /// Loads the loadable programs of every kfunc object (one libbpf
    /// object each); Err(report) when the test cannot go on.  With
    /// `refresh`, first re-reads the kernel's BTF (the module's may have
    /// changed) and picks the programs again; the load/unload cycles skip
    /// that after the first one, since reloading the same module brings
    /// back the same kfuncs (libbpf resolves their ids anew at every load).
    fn load_programs(&mut self, env: &mut Env, refresh: bool) -> Result<Vec<String>, TestReport> {
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
        let loads: Vec<Result<Object, String>> = std::thread::scope(|s| {
            let threads: Vec<_> = self
                .picked
                .iter()
                .map(|o| {
                    s.spawn(move || {
                        let open = runner::open_object(&o.info.path, |n| {
                            o.programs.iter().any(|p| p == n)
                        })?;
                        crate::libbpflog::take();
                        open.load().map_err(|e| {
                            let mut msg = format!("loading {} failed: {e}", o.info.path.display());
                            for l in crate::libbpflog::take() {
                                msg.push('\n');
                                msg.push_str(&l);
                            }
                            msg
                        })
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|t| {
                    t.join()
                        .unwrap_or_else(|_| Err("a loader thread panicked".into()))
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

    fn kfunc_programs_load(&mut self, env: &mut Env) -> TestReport {
        let notes = match self.load_programs(env, true) {
            Ok(n) => n,
            Err(r) => return r,
        };
        let module_kfuncs = env
            .kernel()
            .module_funcs_with_prefixes(MODULE, KFUNC_PREFIXES);
        let mut called: Vec<&str> = Vec::new();
        let mut r = pass();
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
            r.outcome = Outcome::Fail;
            r.diagnostics.push(format!(
                "the module's BTF has no {}* FUNC",
                KFUNC_PREFIXES.join("* or ")
            ));
        } else if !uncovered.is_empty() {
            r.outcome = Outcome::Fail;
            r.diagnostics.push(format!(
                "kfuncs of the module that no loaded program calls: {}",
                uncovered.join(", ")
            ));
        }
        r
    }

    /// Test-runs every loaded program that can be run, checking __retval
    /// where one is given.
    fn run_loaded(&self) -> Result<usize, String> {
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
                    .map_err(|e| format!("{}/{name}: {e}", l.of.info.name))?;
                if let Some(want) = info.spec.as_ref().and_then(|s| s.retval) {
                    if !want.accepts(got) {
                        return Err(format!(
                            "{}/{name}: expected retval {want}, got {}",
                            l.of.info.name,
                            fmt_retval(got)
                        ));
                    }
                }
                ran += 1;
            }
        }
        Ok(ran)
    }

    fn rmmod_busy(&mut self, env: &mut Env) -> TestReport {
        let mut watch = KernelLogWatch::start();
        let mut r = pass();
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
                r.outcome = Outcome::Fail;
                r.diagnostics.push(
                    "delete_module succeeded while programs using the module were loaded".into(),
                );
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
                r.outcome = Outcome::Fail;
                r.diagnostics.push(format!(
                    "delete_module failed, but not because the module is in use: {}",
                    errno_str(e)
                ));
            }
        }
        if refcnt.is_none_or(|c| c <= 0) {
            r.outcome = Outcome::Fail;
            r.diagnostics
                .push("the module's refcnt is not positive while programs use it".into());
        }
        if let Some(msg) = rmmod_tool() {
            match msg {
                Ok(text) => r.diagnostics.push(format!("rmmod(8) refused: {text}")),
                Err(text) => {
                    r.outcome = Outcome::Fail;
                    r.diagnostics.push(text);
                }
            }
        }
        // Healthy: still live, BTF still there, programs still run.
        if module_state().as_deref() != Some("live") {
            r.outcome = Outcome::Fail;
            r.diagnostics.push(format!(
                "module state after the failed unload: {:?}",
                module_state()
            ));
        }
        if !module_btf().exists() {
            r.outcome = Outcome::Fail;
            r.diagnostics
                .push(format!("{} vanished", module_btf().display()));
        }
        match self.run_loaded() {
            Ok(n) => r
                .diagnostics
                .push(format!("{n} loaded program(s) test-run fine afterwards")),
            Err(e) => {
                r.outcome = Outcome::Fail;
                r.diagnostics.push(format!("after the failed unload: {e}"));
            }
        }
        check_log(&mut watch, &mut r);
        r
    }

    fn rmmod_after_unload(&mut self, _env: &mut Env) -> TestReport {
        let mut watch = KernelLogWatch::start();
        self.loaded.clear();
        let mut r = pass();
        match rmmod_wait() {
            Ok(t) => r.diagnostics.push(format!(
                "module unloaded {t:?} after the programs were closed"
            )),
            Err(e) => return TestReport::fail(e),
        }
        if module_state().is_some() || module_btf().exists() {
            r.outcome = Outcome::Fail;
            r.diagnostics.push(format!(
                "after unloading: {} / {} still present",
                module_dir().display(),
                module_btf().display()
            ));
        }
        if let Err(e) = insmod(&self.ko) {
            r.outcome = Outcome::Fail;
            r.diagnostics.push(e);
        } else if !module_btf().exists() {
            r.outcome = Outcome::Fail;
            r.diagnostics.push(format!(
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
        let mut r = pass();
        let mut with_programs = true;
        for i in 0..self.cycles {
            if with_programs {
                match self.load_programs(env, i == 0) {
                    Ok(_) => {
                        if let Err(e) = self.run_loaded() {
                            r.outcome = Outcome::Fail;
                            r.diagnostics.push(format!("cycle {i}: {e}"));
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
                        r.outcome = Outcome::Fail;
                        r.diagnostics
                            .push(format!("cycle {i}: loading programs failed"));
                        r.diagnostics.append(&mut rep.diagnostics);
                        break;
                    }
                }
            }
            self.loaded.clear();
            if let Err(e) = rmmod_wait() {
                r.outcome = Outcome::Fail;
                r.diagnostics.push(format!("cycle {i}: {e}"));
                break;
            }
            if let Err(e) = insmod(&self.ko) {
                r.outcome = Outcome::Fail;
                r.diagnostics.push(format!("cycle {i}: {e}"));
                break;
            }
        }
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

/// What a loader thread of module/stress_concurrent loads: one object,
/// the programs to load, and which of them to test-run.
#[derive(Clone)]
struct StressObject {
    path: PathBuf,
    programs: Vec<String>,
    runs: Vec<(String, runner::RunInput, Option<crate::spec::Retval>)>,
}

/// Shared state of module/stress_concurrent.
#[derive(Default)]
struct StressShared {
    stop: AtomicBool,
    loads_ok: AtomicUsize,
    loads_failed: AtomicUsize,
    runs: AtomicUsize,
    /// The first failure of a loaded program.
    error: Mutex<Option<String>>,
}

impl StressShared {
    /// Remembers the first error.
    fn note_error(&self, e: String) {
        if let Ok(mut g) = self.error.lock() {
            g.get_or_insert(e);
        }
    }
}

/// After the module is back, give the loaders a chance at it before the
/// next unload attempt: wait until one of them loads or closes programs
/// (its hold counter moves), at most [`STRESS_RELOAD_WAIT`].  Without
/// this, an unload that takes a few ms (expedited RCU) wins nearly every
/// race against a program load that takes tens, and the programs almost
/// never hold the module.  Returns whether a loader moved.
fn wait_for_loaders(holds: &[Arc<AtomicU64>], shared: &StressShared) -> bool {
    let before: Vec<u64> = holds.iter().map(|h| h.load(Ordering::SeqCst)).collect();
    let start = Instant::now();
    while start.elapsed() < STRESS_RELOAD_WAIT && !shared.stop.load(Ordering::Relaxed) {
        if holds
            .iter()
            .zip(&before)
            .any(|(h, b)| h.load(Ordering::SeqCst) != *b)
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

/// One loader: loads every object (taking a reference on the module),
/// test-runs its programs and closes it, until told to stop.  `hold` is
/// odd exactly while the thread holds loaded programs.
fn stress_loader(objs: Vec<StressObject>, shared: Arc<StressShared>, hold: Arc<AtomicU64>) {
    while !shared.stop.load(Ordering::Relaxed) {
        for o in &objs {
            let open = match runner::open_object(&o.path, |n| o.programs.iter().any(|p| p == n)) {
                Ok(open) => open,
                Err(e) => {
                    shared.note_error(e);
                    shared.stop.store(true, Ordering::Relaxed);
                    return;
                }
            };
            // Fails while the module is away (its kfuncs are missing, or
            // its BTF went away during the load): that is expected.
            let object = match open.load() {
                Ok(obj) => obj,
                Err(_) => {
                    shared.loads_failed.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            };
            hold.fetch_add(1, Ordering::SeqCst);
            shared.loads_ok.fetch_add(1, Ordering::Relaxed);
            for p in object.progs_mut() {
                let name = p.name().to_string_lossy().into_owned();
                let Some((_, input, want)) = o.runs.iter().find(|(n, _, _)| *n == name) else {
                    continue;
                };
                let res = runner::test_run(&p, *input, None).and_then(|got| match want {
                    Some(w) if !w.accepts(got) => {
                        Err(format!("expected retval {w}, got {}", fmt_retval(got)))
                    }
                    _ => Ok(()),
                });
                match res {
                    Ok(()) => {
                        shared.runs.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        let msg = format!(
                            "{}/{name}, loaded with the module present: {e}",
                            o.path.display()
                        );
                        shared.note_error(msg);
                    }
                }
            }
            hold.fetch_add(1, Ordering::SeqCst);
            drop(object);
        }
        crate::libbpflog::take();
    }
}

impl ModuleTests {
    /// What the loaders of module/stress_concurrent load: the programs
    /// load_programs would pick.
    fn stress_objects(&self, env: &mut Env) -> Result<Vec<StressObject>, TestReport> {
        env.refresh_kernel();
        let mut out = Vec::new();
        for path in self.kfunc_objs.iter().filter(|p| p.exists()) {
            let info = objects::read_object(path).map_err(TestReport::fail)?;
            let Ok((picked, _)) = pick_programs(&info, env.kernel()) else {
                continue;
            };
            if picked.is_empty() {
                continue;
            }
            let runs = info
                .programs
                .iter()
                .filter(|p| picked.contains(&p.name))
                .filter_map(|p| {
                    runner::run_input(p.prog_type)
                        .map(|i| (p.name.clone(), i, p.spec.as_ref().and_then(|s| s.retval)))
                })
                .collect();
            out.push(StressObject {
                path: path.clone(),
                programs: picked,
                runs,
            });
        }
        if out.is_empty() {
            return Err(TestReport::fail(
                "no program of the kfunc objects can be loaded on this kernel",
            ));
        }
        Ok(out)
    }

    fn stress_load_unload(&mut self) -> TestReport {
        let mut watch = KernelLogWatch::start();
        self.loaded.clear();
        let mut r = pass();
        let start = Instant::now();
        let mut waited = 0usize;
        for i in 0..self.stress_cycles {
            match rmmod_wait() {
                Ok(t) if t >= Duration::from_millis(20) => waited += 1,
                Ok(_) => {}
                Err(e) => {
                    r.outcome = Outcome::Fail;
                    r.diagnostics.push(format!("cycle {i}: {e}"));
                    break;
                }
            }
            if let Err(e) = insmod(&self.ko) {
                r.outcome = Outcome::Fail;
                r.diagnostics.push(format!("cycle {i}: {e}"));
                break;
            }
        }
        r.diagnostics.push(format!(
            "{} cycles of delete_module, finit_module in {:?} ({waited} unloads took 20 ms or more)",
            self.stress_cycles,
            start.elapsed()
        ));
        check_log(&mut watch, &mut r);
        check_kmemleak(&mut r);
        r
    }

    fn stress_concurrent(&mut self, env: &mut Env) -> TestReport {
        let mut watch = KernelLogWatch::start();
        self.loaded.clear();
        let objs = match self.stress_objects(env) {
            Ok(o) => o,
            Err(r) => return r,
        };
        let mut r = pass();
        let shared = Arc::new(StressShared::default());
        let holds: Vec<Arc<AtomicU64>> = (0..STRESS_LOADERS)
            .map(|_| Arc::new(AtomicU64::new(0)))
            .collect();
        let threads: Vec<_> = holds
            .iter()
            .map(|h| {
                let (objs, shared, h) = (objs.clone(), Arc::clone(&shared), Arc::clone(h));
                std::thread::spawn(move || stress_loader(objs, shared, h))
            })
            .collect();

        let start = Instant::now();
        let (mut attempts, mut busy, mut unloaded, mut idle_reloads) =
            (0usize, 0usize, 0usize, 0usize);
        while !shared.stop.load(Ordering::Relaxed) {
            if unloaded >= self.stress_cycles && busy > 0 {
                break;
            }
            if start.elapsed() > STRESS_TIME_LIMIT {
                r.outcome = Outcome::Fail;
                r.diagnostics.push(format!(
                    "gave up after {STRESS_TIME_LIMIT:?}: {unloaded} of {} cycles, {busy} refused unloads",
                    self.stress_cycles
                ));
                break;
            }
            let before: Vec<u64> = holds.iter().map(|h| h.load(Ordering::SeqCst)).collect();
            let res = delete_module_once();
            attempts += 1;
            match res {
                Ok(()) => {
                    unloaded += 1;
                    // A loader that held its programs from before the call
                    // until after it had the module taken from under it.
                    for (i, (h, b)) in holds.iter().zip(&before).enumerate() {
                        if b % 2 == 1 && h.load(Ordering::SeqCst) == *b {
                            r.outcome = Outcome::Fail;
                            r.diagnostics.push(format!(
                                "attempt {attempts}: delete_module succeeded while loader {i} held loaded programs"
                            ));
                        }
                    }
                    if let Err(e) = insmod(&self.ko) {
                        r.outcome = Outcome::Fail;
                        r.diagnostics.push(format!("attempt {attempts}: {e}"));
                        break;
                    }
                    if !wait_for_loaders(&holds, &shared) {
                        idle_reloads += 1;
                    }
                }
                Err(e) if e == libc::EBUSY || e == libc::EAGAIN => {
                    busy += 1;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => {
                    r.outcome = Outcome::Fail;
                    r.diagnostics.push(format!(
                        "attempt {attempts}: delete_module failed with {} (not EBUSY/EAGAIN)",
                        errno_str(e)
                    ));
                    break;
                }
            }
            if r.outcome == Outcome::Fail {
                break;
            }
        }
        shared.stop.store(true, Ordering::Relaxed);
        for t in threads {
            if t.join().is_err() {
                r.outcome = Outcome::Fail;
                r.diagnostics.push("a loader thread panicked".into());
            }
        }
        crate::libbpflog::take();
        if let Some(e) = shared.error.lock().ok().and_then(|mut g| g.take()) {
            r.outcome = Outcome::Fail;
            r.diagnostics.push(e);
        }
        let loads_ok = shared.loads_ok.load(Ordering::Relaxed);
        // With one CPU the threads only interleave at preemption points.
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        r.diagnostics.push(format!(
            "{attempts} delete_module attempts in {:?} on {cpus} CPU(s): {busy} refused (in use), \
             {unloaded} unloaded ({idle_reloads} with no load in between); {loads_ok} object loads \
             succeeded, {} failed (module away); {} program runs",
            start.elapsed(),
            shared.loads_failed.load(Ordering::Relaxed),
            shared.runs.load(Ordering::Relaxed)
        ));
        if r.outcome == Outcome::Pass && (busy == 0 || unloaded == 0 || loads_ok == 0) {
            r.outcome = Outcome::Fail;
            r.diagnostics
                .push("the race did not happen: an outcome above is zero".into());
        }
        if module_state().is_none() {
            if let Err(e) = insmod(&self.ko) {
                r.outcome = Outcome::Fail;
                r.diagnostics.push(e);
            }
        }
        check_log(&mut watch, &mut r);
        check_kmemleak(&mut r);
        r
    }
}

/// With kmemleak (debug kernels): wait until recent objects are old
/// enough to be reported, scan twice, and fail on any suspect.
fn check_kmemleak(r: &mut TestReport) {
    if !Path::new(KMEMLEAK).exists() {
        return;
    }
    std::thread::sleep(KMEMLEAK_MIN_AGE);
    for _ in 0..2 {
        if let Err(e) = std::fs::write(KMEMLEAK, "scan") {
            r.outcome = Outcome::Fail;
            r.diagnostics.push(format!("kmemleak scan failed: {e}"));
            return;
        }
    }
    match std::fs::read_to_string(KMEMLEAK) {
        Ok(text) => {
            let n = text
                .lines()
                .filter(|l| l.starts_with("unreferenced object"))
                .count();
            if n == 0 {
                r.diagnostics.push("kmemleak: no leaks".into());
            } else {
                r.outcome = Outcome::Fail;
                r.diagnostics
                    .push(format!("kmemleak: {n} unreferenced object(s):"));
                r.diagnostics
                    .extend(text.lines().take(40).map(str::to_string));
            }
        }
        Err(e) => {
            r.outcome = Outcome::Fail;
            r.diagnostics.push(format!("cannot read {KMEMLEAK}: {e}"));
        }
    }
}

fn pass() -> TestReport {
    TestReport {
        outcome: Outcome::Pass,
        retval: None,
        verifier_log: None,
        diagnostics: Vec::new(),
    }
}

fn check_log(watch: &mut KernelLogWatch, r: &mut TestReport) {
    match watch.problems() {
        Ok(p) if p.is_empty() => {}
        Ok(p) => {
            r.outcome = Outcome::Fail;
            r.diagnostics.extend(p);
        }
        Err(e) => {
            r.outcome = Outcome::Fail;
            r.diagnostics
                .push(format!("cannot check the kernel log: {e}"));
        }
    }
}

/// Runs rmmod(8), which must refuse to unload the module in use.
/// None if there is no rmmod; Ok(its message) if it refused; Err if it
/// did not.
fn rmmod_tool() -> Option<Result<String, String>> {
    let out = std::process::Command::new("rmmod")
        .arg(MODULE)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stderr).trim().to_string();
    Some(if out.status.success() {
        Err("rmmod succeeded while programs using the module were loaded".to_string())
    } else if text.contains("in use") || text.contains("busy") {
        Ok(text)
    } else {
        Err(format!("rmmod failed, but not with \"in use\": {text}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmsg_records_are_parsed() {
        assert_eq!(
            parse_kmsg("4,123,456,-;hello world\n SUBSYSTEM=x"),
            Some((4, "hello world"))
        );
        assert_eq!(
            parse_kmsg("14,1,2,-;user message"),
            Some((6, "user message"))
        );
        assert_eq!(parse_kmsg("garbage"), None);
    }

    #[test]
    fn warnings_and_errors_are_trouble_info_is_not() {
        assert!(is_trouble(
            4,
            "WARNING: CPU: 0 PID: 1 at kernel/bpf/btf.c:123"
        ));
        assert!(is_trouble(3, "rdynptr: something failed"));
        assert!(is_trouble(6, "refcount_t: underflow; use-after-free."));
        assert!(!is_trouble(6, "rdynptr: loaded"));
        assert!(!is_trouble(
            4,
            "rdynptr: loading out-of-tree module taints kernel."
        ));
    }
}
