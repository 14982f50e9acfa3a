// SPDX-License-Identifier: GPL-2.0
//! rdynptr-test: runs annotated BPF test programs (kselftest style) and the
//! rdynptr module lifecycle tests, and reports KTAP.
//!
//! See Documentation/harness.rst.

use anyhow::{bail, Context as _};
use clap::Parser;
use rdynptr_harness::expectations::{Expectations, Verdicts};
use rdynptr_harness::filter::Filter;
use rdynptr_harness::ktap::{Ktap, Outcome};
use rdynptr_harness::module::{ModuleTest, ModuleTests};
use rdynptr_harness::objects::{self, ObjectInfo, ProgramInfo};
use rdynptr_harness::report::{Report, TestRecord};
use rdynptr_harness::runner::{self, Env, TestReport};
use rdynptr_harness::{kernel, kunit, libbpflog, parallel, shard, spec, sweep};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Objects named <this>*.bpf.o in the selftests directory are loaded by
/// the module tests.
const KFUNC_OBJECT_PREFIX: &str = "kfunc_calls";

#[derive(Parser, Debug)]
#[command(
    name = "rdynptr-test",
    version,
    about = "Run annotated BPF test programs and the rdynptr module tests; report KTAP",
    after_help = "Without OBJECT arguments, runs every *.bpf.o of the built-in suites \
                  ($RDYNPTR_SELFTESTS_DIR, else <binary dir>/../../selftests).\n\
                  Exit status: 0 if no test failed, 1 if one did, 2 on usage errors."
)]
struct Cli {
    /// BPF object files, or directories whose *.bpf.o to run.
    #[arg(value_name = "OBJECT")]
    objects: Vec<PathBuf>,

    /// Run only tests whose name or description matches: a substring, or a
    /// glob (*, ?, [..]) matching the whole name.  Repeatable.
    #[arg(short, long = "filter", value_name = "PAT")]
    filter: Vec<String>,

    /// List the selected tests instead of running them.
    #[arg(short, long)]
    list: bool,

    /// Also write a report in test_progs' JSON schema (test_progs -J) to
    /// FILE: objects as tests, programs as subtests.
    #[arg(long, value_name = "FILE")]
    json_test_progs: Option<PathBuf>,

    /// Also write a JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    /// Show the verifier log (and libbpf messages) of every test.
    #[arg(short, long)]
    verbose: bool,

    /// Verifier log level for every test, overriding __log_level.
    #[arg(long, value_name = "N")]
    log_level: Option<u32>,

    /// Directory of the built-in suites.
    #[arg(long, env = "RDYNPTR_SELFTESTS_DIR", value_name = "DIR")]
    selftests_dir: Option<PathBuf>,

    /// rdynptr.ko: enables the module lifecycle tests (module/...).
    #[arg(long = "module", env = "RDYNPTR_KO", value_name = "FILE")]
    module: Option<PathBuf>,

    /// rdynptr_kunit.ko, the KUnit suites of the module, loaded once and
    /// reported as kunit/... [default: next to --module].
    #[arg(long, env = "RDYNPTR_KUNIT_KO", value_name = "FILE")]
    kunit_module: Option<PathBuf>,

    /// Objects whose programs call the module's kfuncs, for the module
    /// tests (repeatable, or comma-separated) [default: every
    /// kfunc_calls*.bpf.o of the selftests directory].
    #[arg(
        long,
        env = "RDYNPTR_KFUNC_OBJ",
        value_name = "FILE",
        value_delimiter = ','
    )]
    kfunc_object: Vec<PathBuf>,

    /// Number of load/unload cycles of module/load_unload_cycles.
    #[arg(
        long,
        env = "RDYNPTR_MODULE_CYCLES",
        default_value_t = 50,
        value_name = "N"
    )]
    module_cycles: usize,

    /// Do not run the module tests even if RDYNPTR_KO is set.
    #[arg(long)]
    no_module_tests: bool,

    /// Also run the module stress tests (module/stress_*) with N cycles.
    #[arg(long, env = "RDYNPTR_STRESS", default_value_t = 0, value_name = "N")]
    stress_cycles: usize,

    /// Seed of the sweep/... tests (default: random, printed).
    #[arg(long, env = "RDYNPTR_SWEEP_SEED", value_name = "N")]
    sweep_seed: Option<u64>,

    /// Tests run at once (module tests always run alone) [default: the
    /// number of CPUs].
    #[arg(short, long, env = "RDYNPTR_JOBS", value_name = "N")]
    jobs: Option<usize>,

    /// Batches of 48-64 operation sequences per sweep/... test.
    #[arg(long, env = "RDYNPTR_SWEEP_CASES", value_name = "N",
          default_value_t = sweep::DEFAULT_CASES)]
    sweep_cases: u32,

    /// Expected failures (a DENYLIST-style file: `object[/program]  #
    /// reason` per line): a listed test that fails is a SKIP with its
    /// reason, one that passes fails.
    #[arg(long, value_name = "FILE")]
    expected_failures: Option<PathBuf>,

    /// Verdicts of self-check tests (the same format, the reason reading
    /// `fail: TEXT` or `skip: TEXT`): a listed test passes only if it had
    /// that outcome with TEXT in its diagnostics or SKIP reason.
    #[arg(long, value_name = "FILE")]
    verdicts: Option<PathBuf>,

    /// What the closing line is called ("NAME: N passed, N failed, N
    /// skipped").
    #[arg(long, default_value = "vmtest", value_name = "NAME")]
    summary_label: String,

    /// Before the closing line, one line per object with its counts.
    #[arg(long)]
    object_summary: bool,

    /// Run only shard K of N of the selected tests (see src/shard.rs): the
    /// N shards of a run hold every test once; rdynptr-merge joins their
    /// --json reports.
    #[arg(long, env = "RDYNPTR_SHARD", value_name = "K/N")]
    shard: Option<shard::Shard>,

    /// --json reports of earlier runs, whose test durations balance the
    /// shards (repeatable; every shard of a run must be given the same).
    #[arg(long, value_name = "FILE")]
    shard_costs: Vec<PathBuf>,

    /// --json reports of earlier runs, whose test durations order the
    /// tests on the test threads, the longest first (repeatable; the
    /// durations of --shard-costs count too).  Only the order changes.
    #[arg(long, value_name = "FILE")]
    costs: Vec<PathBuf>,
}

/// What one planned test is.
enum Kind {
    /// A test that can share the machine with others.
    Shared(Shared),
    /// A module test: it unloads the module, so it runs alone.
    Module(ModuleTest),
}

/// What a test that runs on a test thread is.
enum Shared {
    /// An annotated program, `objects[obj].programs[prog]`, in one mode.
    Bpf {
        obj: usize,
        prog: usize,
        mode: spec::Mode,
    },
    /// An object that cannot be read: one failing test.
    Broken(String),
    /// A sweep test run with the programs of this object.
    Sweep(sweep::SweepTest, PathBuf),
    /// A KUnit suite of the module (its results, from debugfs).
    Kunit(&'static str),
}

struct Planned {
    name: String,
    description: Option<String>,
    kind: Kind,
}

impl Shared {
    /// What the test costs relative to a program's test (one load): a
    /// sweep runs 50 batches.  The test threads start the costly ones
    /// first.
    fn weight(&self) -> u32 {
        if matches!(self, Shared::Sweep(..)) {
            50
        } else {
            1
        }
    }
}

impl Planned {
    /// The weight of a test, for balancing shards where no measured
    /// duration is known: a module test loads and unloads many times.
    fn weight(&self) -> u32 {
        match &self.kind {
            Kind::Shared(s) => s.weight(),
            Kind::Module(_) => 20,
        }
    }
}

fn selftests_dir(cli: &Cli) -> PathBuf {
    if let Some(d) = cli
        .selftests_dir
        .as_ref()
        .filter(|d| !d.as_os_str().is_empty())
    {
        return d.clone();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("../../selftests")))
        .unwrap_or_else(|| PathBuf::from("build/selftests"))
}

/// *.bpf.o files of `dir`, sorted, and the *.bpf.err files that stand for
/// objects that could not be built (the compiler's messages).
fn objects_in(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let p = p.to_string_lossy();
            p.ends_with(".bpf.o") || p.ends_with(BUILD_ERROR_SUFFIX)
        })
        .collect();
    v.sort();
    Ok(v)
}

/// NAME.bpf.err in an objects directory: NAME.bpf.o did not compile, and
/// the file holds the compiler's messages.  Reported as the failed test
/// NAME.
const BUILD_ERROR_SUFFIX: &str = ".bpf.err";

/// Why an object did not build: its first error message.
fn build_error(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let first = text
        .lines()
        .find(|l| l.contains("error:"))
        .or_else(|| text.lines().next())
        .unwrap_or("(no compiler output)");
    format!("the object did not compile: {}", first.trim())
}

fn object_paths(cli: &Cli) -> anyhow::Result<Vec<PathBuf>> {
    if cli.objects.is_empty() {
        let dir = selftests_dir(cli);
        return objects_in(&dir)
            .with_context(|| format!("cannot list the built-in suites in {}", dir.display()));
    }
    let mut out = Vec::new();
    for p in &cli.objects {
        if p.is_dir() {
            out.extend(objects_in(p).with_context(|| format!("cannot list {}", p.display()))?);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn plan(
    cli: &Cli,
    objects: &mut Vec<ObjectInfo>,
    notes: &mut Vec<String>,
) -> anyhow::Result<Vec<Planned>> {
    let mut planned = Vec::new();
    // The module's KUnit suites ran when it was loaded: report them first.
    if module_tests_enabled(cli) {
        for suite in kunit::SUITES {
            planned.push(Planned {
                name: format!("kunit/{suite}"),
                description: None,
                kind: Kind::Shared(Shared::Kunit(suite)),
            });
        }
    }
    let mut seen = std::collections::HashSet::new();
    // The unprivileged tests run after all others: libbpf probes kernel
    // features once per process, on the first load that needs them, and
    // must do so with privileges (a probe without them would find the
    // feature missing for every later load).
    let mut unprivileged = Vec::new();
    let paths = object_paths(cli)?;
    let mut read = read_objects(&paths, jobs(cli));
    for (i, path) in paths.into_iter().enumerate() {
        let name = objects::object_name(&path);
        if !seen.insert(name.clone()) {
            notes.push(format!(
                "{}: another object is also named {name}: test names are ambiguous",
                path.display()
            ));
        }
        match object_file(&path) {
            ObjectFile::Sweep => {
                for t in sweep::SweepTest::all() {
                    planned.push(Planned {
                        name: t.name(),
                        description: None,
                        kind: Kind::Shared(Shared::Sweep(t, path.clone())),
                    });
                }
                continue;
            }
            ObjectFile::BuildError(name) => {
                planned.push(Planned {
                    name,
                    description: None,
                    kind: Kind::Shared(Shared::Broken(build_error(&path))),
                });
                continue;
            }
            ObjectFile::Tests => {}
        }
        let Some((result, libbpf_lines)) = read[i].take() else {
            bail!("{} was not read", path.display());
        };
        match result {
            Ok(info) => {
                let idx = objects.len();
                let mut n = 0;
                for (pi, p) in info.programs.iter().enumerate() {
                    let Some(s) = p.spec.as_ref() else {
                        continue;
                    };
                    for mode in s.test_modes() {
                        n += 1;
                        let list = match mode {
                            spec::Mode::Priv => &mut planned,
                            spec::Mode::Unpriv => &mut unprivileged,
                        };
                        list.push(Planned {
                            name: spec::test_name(&name, &p.name, mode),
                            description: s.description.clone(),
                            kind: Kind::Shared(Shared::Bpf {
                                obj: idx,
                                prog: pi,
                                mode,
                            }),
                        });
                    }
                }
                if n == 0 {
                    notes.push(format!("{}: no annotated programs", path.display()));
                }
                objects.push(info);
            }
            Err(e) => {
                let mut msg = format!("{e:#}");
                for l in libbpf_lines {
                    msg.push('\n');
                    msg.push_str(&l);
                }
                planned.push(Planned {
                    name,
                    description: None,
                    kind: Kind::Shared(Shared::Broken(msg)),
                });
            }
        }
        libbpflog::take();
    }
    planned.append(&mut unprivileged);
    if module_tests_enabled(cli) {
        for t in ModuleTest::ALL {
            if t.is_stress() && cli.stress_cycles == 0 {
                continue;
            }
            planned.push(Planned {
                name: t.name().to_string(),
                description: None,
                kind: Kind::Module(t),
            });
        }
    }
    Ok(planned)
}

/// The objects the module tests load: --kfunc-object, else every
/// kfunc_calls*.bpf.o of the selftests directory.
fn kfunc_objects(cli: &Cli) -> Vec<PathBuf> {
    let given: Vec<PathBuf> = cli
        .kfunc_object
        .iter()
        .filter(|p| !p.as_os_str().is_empty())
        .cloned()
        .collect();
    if !given.is_empty() {
        return given;
    }
    let dir = selftests_dir(cli);
    let found: Vec<PathBuf> = objects_in(&dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(KFUNC_OBJECT_PREFIX))
        })
        .collect();
    if found.is_empty() {
        vec![dir.join(format!("{KFUNC_OBJECT_PREFIX}.bpf.o"))]
    } else {
        found
    }
}

fn module_tests_enabled(cli: &Cli) -> bool {
    !cli.no_module_tests
        && cli
            .module
            .as_ref()
            .is_some_and(|m| !m.as_os_str().is_empty())
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    libbpflog::install();
    let filter = Filter::new(&cli.filter)?;
    let mut objects = Vec::new();
    let mut notes = Vec::new();
    let all = plan(&cli, &mut objects, &mut notes)?;
    let total = all.len();
    let mut selected: Vec<Planned> = all
        .into_iter()
        .filter(|p| filter.selects(&p.name, p.description.as_deref()))
        .collect();
    let whole = selected.len();
    // The plan of the whole run, which every shard's report carries (a
    // run not split is shard 1/1).
    let sh = cli.shard.unwrap_or(shard::Shard { index: 1, count: 1 });
    let shard_info = shard::ShardInfo {
        index: sh.index,
        count: sh.count,
        plan: selected.iter().map(|p| p.name.clone()).collect(),
        label: cli.summary_label.clone(),
    };
    if sh.count > 1 {
        let costs = test_costs(&selected, &cli.shard_costs)?;
        let mut assigned = shard::assign(&costs, sh.count).into_iter();
        selected.retain(|_| assigned.next() == Some(sh.index - 1));
    }

    let stdout = io::stdout();
    let mut out = stdout.lock();
    if cli.list {
        for p in &selected {
            let r = match (&p.description, cli.verbose) {
                (Some(d), true) => writeln!(out, "{}\t# {d}", p.name),
                _ => writeln!(out, "{}", p.name),
            };
            r?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if total == 0 {
        bail!("no tests: no BPF objects with annotated programs, and no module tests (RDYNPTR_KO unset)");
    }
    if whole == 0 {
        bail!("no test matches the filter ({} tests known)", total);
    }

    let mut ktap = Ktap::new(&mut out);
    ktap.start(selected.len())?;
    ktap.diag(&format!(
        "rdynptr-test: kernel {}, libbpf {}, {} object(s), {} of {} test(s) selected",
        kernel::release(),
        kernel::libbpf_version(),
        objects.len(),
        selected.len(),
        total
    ))?;
    if sh.count > 1 {
        ktap.diag(&format!(
            "shard {sh}: {} of the {whole} selected test(s)",
            selected.len()
        ))?;
    }
    for n in &notes {
        ktap.diag(n)?;
    }

    let expected = cli
        .expected_failures
        .as_deref()
        .map(Expectations::read)
        .transpose()?;
    let verdicts = cli.verdicts.as_deref().map(Verdicts::read).transpose()?;
    let mut env = Env::new(cli.log_level, cli.verbose);
    // Made when the first module test runs.
    let mut module: Option<ModuleTests> = None;
    let mut records = Vec::new();
    let sweep_opts = sweep::run::Options {
        seed: cli.sweep_seed.unwrap_or_else(sweep::run::random_seed),
        cases: cli.sweep_cases,
        clone: env.kernel().has_func(rdynptr_kernel::CLONE_KFUNC),
    };
    if selected
        .iter()
        .any(|p| matches!(p.kind, Kind::Shared(Shared::Sweep(..))))
    {
        let seed = sweep_opts.seed;
        ktap.diag(&format!(
            "sweep: seed {seed}, {} batches per test (replay: make vmtest FILTER=sweep SWEEP_SEED={seed})",
            cli.sweep_cases
        ))
        ?;
        if !sweep_opts.clone {
            ktap.diag(&format!(
                "sweep: {} is not in the running kernel: sequences have no clone operations",
                rdynptr_kernel::CLONE_KFUNC
            ))?;
        }
    }

    // The KUnit suites run when their module is loaded (once).
    let kunit_run = kunit::Kunit::new(cli.kunit_module.clone().unwrap_or_else(|| {
        let module = cli.module.clone().unwrap_or_default();
        module.with_file_name(kunit::MODULE_FILE)
    }));

    // Tests that may share the machine run on `jobs` threads; a module
    // test (which unloads the module) runs alone, after those before it.
    // Results are reported in plan order whatever order they finish in.
    let jobs = jobs(&cli);
    // What each test is expected to take, in ms (its weight where no
    // earlier run measured it): the test threads start the costly ones
    // first, so that no thread is left with a long one at the end.
    let schedule: Vec<u32> =
        test_costs(&selected, &[&cli.shard_costs[..], &cli.costs[..]].concat())?
            .into_iter()
            .map(|ms| ms.round().clamp(1.0, f64::from(u32::MAX)) as u32)
            .collect();
    let sweep_programs = sweep::run::ProgramCache::default();
    let mut envs: Vec<Env> = Vec::with_capacity(jobs);
    let mut rest = &selected[..];
    let mut emit = |p: &Planned, mut r: Ran<'_>| -> io::Result<()> {
        if let Some(x) = &expected {
            r.rep = x.apply(&p.name, r.rep);
        }
        if let Some(v) = &verdicts {
            r.rep = v.apply(&p.name, r.rep);
        }
        report_test(&mut ktap, &mut records, p, r, cli.verbose)
    };
    while let Some(first) = rest.first() {
        let done = selected.len() - rest.len();
        let shared: Vec<(u32, &Shared)> = rest
            .iter()
            .zip(&schedule[done..])
            .map_while(|(p, &cost)| match &p.kind {
                Kind::Shared(s) => Some((cost, s)),
                Kind::Module(_) => None,
            })
            .collect();
        if !shared.is_empty() {
            while envs.len() < jobs {
                envs.push(env.fork());
            }
            let objects = &objects;
            let sweep_opts = &sweep_opts;
            let sweeps = &sweep_programs;
            let kunit_run = &kunit_run;
            parallel::run_ordered(
                &shared,
                |&(cost, _)| cost,
                |&(_, s)| match s {
                    Shared::Bpf { obj, prog, mode } => {
                        let o = &objects[*obj];
                        runner::holds(o, &o.programs[*prog], *mode)
                    }
                    _ => 0,
                },
                &mut envs,
                |&(_, s), env| run_shared(s, objects, sweep_opts, sweeps, kunit_run, env),
                |i, r| emit(&rest[i], r),
            )?;
            rest = &rest[shared.len()..];
            continue;
        }
        if let Kind::Module(t) = first.kind {
            sweep_programs.clear();
            let start = Instant::now();
            let m = module.get_or_insert_with(|| {
                let ko = cli.module.clone().unwrap_or_default();
                ModuleTests::new(ko, kfunc_objects(&cli), cli.module_cycles)
                    .with_stress_cycles(cli.stress_cycles)
            });
            let rep = m.run(t, &mut env);
            emit(
                first,
                Ran {
                    rep,
                    prog: None,
                    elapsed: start.elapsed(),
                },
            )?;
        }
        rest = &rest[1..];
    }
    if let Some(m) = module.as_mut() {
        m.finish();
    }
    if cli.object_summary {
        for line in object_summary(&records) {
            ktap.diag(&line)?;
        }
    }
    ktap.finish(&cli.summary_label)?;
    let totals = ktap.totals();

    let mut status = if totals.fail == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    let mut r = Report::new(kernel::release(), totals, records);
    r.shard = Some(shard_info);
    for (path, text) in [
        (&cli.json, Report::to_json as fn(&Report) -> String),
        (&cli.json_test_progs, Report::to_test_progs_json),
    ] {
        let Some(path) = path else {
            continue;
        };
        if let Err(e) = std::fs::write(path, text(&r) + "\n") {
            eprintln!("rdynptr-test: cannot write {}: {e}", path.display());
            status = ExitCode::from(2);
        }
    }
    Ok(status)
}

/// "object: N passed, N failed, N skipped" per object (the first part of
/// the test names), in the order they ran.
fn object_summary(records: &[TestRecord]) -> Vec<String> {
    let mut objects: Vec<(&str, [usize; 3])> = Vec::new();
    for r in records {
        let obj = r.name.split('/').next().unwrap_or(&r.name);
        let i = match objects.iter().position(|(o, _)| *o == obj) {
            Some(i) => i,
            None => {
                objects.push((obj, [0; 3]));
                objects.len() - 1
            }
        };
        let k = match &*r.result {
            "pass" => 0,
            "fail" => 1,
            _ => 2,
        };
        objects[i].1[k] += 1;
    }
    objects
        .into_iter()
        .map(|(o, [p, f, s])| format!("{o}: {p} passed, {f} failed, {s} skipped"))
        .collect()
}

/// Test threads by default: one per CPU.
fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What each of `tests` costs, in ms: its duration in the --json reports
/// `reports`, or its weight times their median duration.
fn test_costs(tests: &[Planned], reports: &[PathBuf]) -> anyhow::Result<Vec<f64>> {
    let weights: Vec<(&str, u32)> = tests
        .iter()
        .map(|p| (p.name.as_str(), p.weight()))
        .collect();
    Ok(shard::Costs::read(reports)?.of(&weights))
}

/// The number of test threads (--jobs).
fn jobs(cli: &Cli) -> usize {
    cli.jobs.unwrap_or_else(default_jobs).max(1)
}

/// What reading an object gave, with the libbpf messages of the reading.
type Read = Option<(anyhow::Result<ObjectInfo>, Vec<String>)>;

/// What a file given to the harness is.
enum ObjectFile {
    /// The sweep object: the harness runs it as the sweep/... tests.
    Sweep,
    /// A compiler's error file instead of the object NAME.
    BuildError(String),
    /// A BPF object whose annotated programs are tests.
    Tests,
}

fn object_file(path: &Path) -> ObjectFile {
    if objects::object_name(path) == sweep::OBJECT {
        return ObjectFile::Sweep;
    }
    match path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(BUILD_ERROR_SUFFIX))
    {
        Some(name) => ObjectFile::BuildError(name.to_string()),
        None => ObjectFile::Tests,
    }
}

/// Reads the test objects among `paths` ([`ObjectFile::Tests`]) on `jobs`
/// threads, the largest first: reading the 304 objects of a kernel tree's
/// selftests took 10 s of the guest's time on one thread under TCG.  None
/// for a path that is not read.
fn read_objects(paths: &[PathBuf], jobs: usize) -> Vec<Read> {
    let mut out: Vec<Read> = paths.iter().map(|_| None).collect();
    let is_object = |p: &PathBuf| matches!(object_file(p), ObjectFile::Tests);
    let size = |p: &PathBuf| std::fs::metadata(p).map_or(0, |m| (m.len() >> 10) as u32);
    let _ = parallel::run_ordered(
        paths,
        |p| if is_object(p) { size(p) } else { 0 },
        |_| 0,
        &mut vec![(); jobs],
        |p, _| {
            is_object(p).then(|| {
                libbpflog::take();
                let r = objects::read_object(p);
                (r, libbpflog::take())
            })
        },
        |i, r| -> Result<(), ()> {
            out[i] = r;
            Ok(())
        },
    );
    out
}

/// What running one test gave.
struct Ran<'a> {
    rep: TestReport,
    /// The object's name and the program, for a BPF program's test.
    prog: Option<(&'a str, &'a ProgramInfo)>,
    elapsed: std::time::Duration,
}

/// Runs a test that can share the machine with others (any but the
/// module tests) on the calling thread.
fn run_shared<'a>(
    s: &Shared,
    objects: &'a [ObjectInfo],
    sweep_opts: &sweep::run::Options,
    sweeps: &sweep::run::ProgramCache,
    kunit_run: &kunit::Kunit,
    env: &mut Env,
) -> Ran<'a> {
    let start = Instant::now();
    let (rep, prog) = match s {
        Shared::Bpf { obj, prog, mode } => {
            let o = &objects[*obj];
            let pr = &o.programs[*prog];
            (env.run_test(o, pr, *mode), Some((o.name.as_str(), pr)))
        }
        Shared::Broken(e) => (TestReport::fail(e.clone()), None),
        Shared::Sweep(t, path) => {
            let missing = t.kind.kernel_kfunc().filter(|k| !env.kernel().has_func(k));
            let rep = match missing {
                Some(k) => TestReport::skip(format!(
                    "the running kernel has no {} dynptrs (no kfunc {k})",
                    t.kind.name()
                )),
                None => sweep::run::run_test(*t, path, sweep_opts, sweeps).0,
            };
            (rep, None)
        }
        Shared::Kunit(suite) => (kunit_run.report(suite), None),
    };
    Ran {
        rep,
        prog,
        elapsed: start.elapsed(),
    }
}

/// Reports one test: KTAP diagnostics and result line, and its JSON record.
fn report_test(
    ktap: &mut Ktap<impl Write>,
    records: &mut Vec<TestRecord>,
    p: &Planned,
    ran: Ran<'_>,
    verbose: bool,
) -> io::Result<()> {
    let Ran { rep, prog, elapsed } = ran;
    let show = rep.outcome == Outcome::Fail
        || verbose
        || matches!(p.kind, Kind::Shared(Shared::Sweep(..)));
    shard::write_test(
        ktap,
        &p.name,
        &rep.outcome,
        &rep.diagnostics,
        &rep.cases,
        show,
    )?;

    let mut rec = TestRecord::new(&p.name, &rep.outcome, elapsed);
    rec.description = p.description.clone();
    rec.retval = rep.retval.map(|v| v as i32);
    rec.phases = (*rep.phases != Default::default()).then_some(*rep.phases);
    rec.diagnostics = rep.diagnostics;
    rec.cases = rep
        .cases
        .iter()
        .map(|(n, o)| (n.clone(), o.as_str().into()))
        .collect();
    if rep.outcome == Outcome::Fail || verbose {
        rec.verifier_log = rep.verifier_log;
    }
    if let Some((obj, pr)) = prog {
        rec.object = Some(obj.to_string());
        rec.program = Some(pr.name.clone());
        rec.section = Some(pr.section.clone());
        rec.expected_retval = pr.spec.as_ref().and_then(|s| s.retval).map(|r| match r {
            spec::Retval::Any => serde_json::Value::from("any"),
            spec::Retval::Value(v) => serde_json::Value::from(v as i32),
        });
    }
    records.push(rec);
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rdynptr-test: {e:#}");
            ExitCode::from(2)
        }
    }
}
