// SPDX-License-Identifier: GPL-2.0
//! The stress tests (with --stress-cycles N): module/stress_load_unload
//! (N unload/load cycles) and module/stress_concurrent (threads load,
//! test-run and close the kfunc programs while this thread unloads and
//! reloads the module).

use super::kmemleak::check_kmemleak;
use super::kmsg::{check_log, KernelLogWatch};
use super::programs::pick_programs;
use super::sys::{delete_module_once, errno_str, insmod, module_state, rmmod_wait};
use super::ModuleTests;
use crate::ktap::Outcome;
use crate::objects;
use crate::report::TestReport;
use crate::runner::{self, Env};
use crate::spec::fmt_retval;
use anyhow::anyhow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Program-loading threads of module/stress_concurrent.
const STRESS_LOADERS: usize = 2;
/// module/stress_concurrent fails if its cycles take longer than this.
const STRESS_TIME_LIMIT: Duration = Duration::from_secs(1200);
/// How long the concurrent stress waits for a loader after each reload.
const STRESS_RELOAD_WAIT: Duration = Duration::from_millis(200);
/// Refused unloads in a row after which the loaders leave a window.
const STRESS_REFUSALS_BEFORE_WINDOW: usize = 10;
/// The longest a loader waits in a window.
const STRESS_WINDOW_WAIT: Duration = Duration::from_millis(50);

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
    /// Set by the unloader after [`STRESS_REFUSALS_BEFORE_WINDOW`] refused
    /// unloads in a row: a loader that has closed its programs waits (at
    /// most [`STRESS_WINDOW_WAIT`]) before it loads again, so that an
    /// unload can win.  Without it, loads that take little time outside
    /// the module reference (the kernel BTF is parsed once per process)
    /// keep the module held nearly all the time, and the cycles crawl.
    window: AtomicBool,
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
                    shared.note_error(format!("{e:#}"));
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
                        Err(anyhow!("expected retval {w}, got {}", fmt_retval(got)))
                    }
                    _ => Ok(()),
                });
                match res {
                    Ok(()) => {
                        shared.runs.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        let msg = format!(
                            "{}/{name}, loaded with the module present: {e:#}",
                            o.path.display()
                        );
                        shared.note_error(msg);
                    }
                }
            }
            hold.fetch_add(1, Ordering::SeqCst);
            drop(object);
            let start = Instant::now();
            while shared.window.load(Ordering::SeqCst)
                && !shared.stop.load(Ordering::Relaxed)
                && start.elapsed() < STRESS_WINDOW_WAIT
            {
                std::thread::sleep(Duration::from_millis(1));
            }
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
            let info =
                objects::read_object(path).map_err(|e| TestReport::fail(format!("{e:#}")))?;
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

    pub(super) fn stress_load_unload(&mut self) -> TestReport {
        let mut watch = KernelLogWatch::start();
        self.loaded.clear();
        let mut r = TestReport::pass();
        let start = Instant::now();
        let mut waited = 0usize;
        for i in 0..self.stress_cycles {
            match rmmod_wait() {
                Ok(t) if t >= Duration::from_millis(20) => waited += 1,
                Ok(_) => {}
                Err(e) => {
                    r.fail_with(format!("cycle {i}: {e:#}"));
                    break;
                }
            }
            if let Err(e) = insmod(&self.ko) {
                r.fail_with(format!("cycle {i}: {e:#}"));
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

    pub(super) fn stress_concurrent(&mut self, env: &mut Env) -> TestReport {
        let mut watch = KernelLogWatch::start();
        self.loaded.clear();
        let objs = match self.stress_objects(env) {
            Ok(o) => o,
            Err(r) => return r,
        };
        let mut r = TestReport::pass();
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
        let (mut attempts, mut busy, mut unloaded, mut idle_reloads, mut refused_in_a_row) =
            (0usize, 0usize, 0usize, 0usize, 0usize);
        while !shared.stop.load(Ordering::Relaxed) {
            if unloaded >= self.stress_cycles && busy > 0 {
                break;
            }
            if start.elapsed() > STRESS_TIME_LIMIT {
                r.fail_with(format!(
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
                    refused_in_a_row = 0;
                    shared.window.store(false, Ordering::SeqCst);
                    // A loader that held its programs from before the call
                    // until after it had the module taken from under it.
                    for (i, (h, b)) in holds.iter().zip(&before).enumerate() {
                        if b % 2 == 1 && h.load(Ordering::SeqCst) == *b {
                            r.fail_with(format!(
                                "attempt {attempts}: delete_module succeeded while loader {i} held loaded programs"
                            ));
                        }
                    }
                    if let Err(e) = insmod(&self.ko) {
                        r.fail_with(format!("attempt {attempts}: {e:#}"));
                        break;
                    }
                    if !wait_for_loaders(&holds, &shared) {
                        idle_reloads += 1;
                    }
                }
                Err(e) if e == libc::EBUSY || e == libc::EAGAIN => {
                    busy += 1;
                    refused_in_a_row += 1;
                    if refused_in_a_row >= STRESS_REFUSALS_BEFORE_WINDOW {
                        shared.window.store(true, Ordering::SeqCst);
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => {
                    r.fail_with(format!(
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
        shared.window.store(false, Ordering::SeqCst);
        for t in threads {
            if t.join().is_err() {
                r.fail_with("a loader thread panicked");
            }
        }
        crate::libbpflog::take();
        if let Some(e) = shared.error.lock().ok().and_then(|mut g| g.take()) {
            r.fail_with(e);
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
            r.fail_with("the race did not happen: an outcome above is zero");
        }
        if module_state().is_none() {
            if let Err(e) = insmod(&self.ko) {
                r.fail_with(format!("{e:#}"));
            }
        }
        check_log(&mut watch, &mut r);
        check_kmemleak(&mut r);
        r
    }
}
