// SPDX-License-Identifier: GPL-2.0
//! rdynptr-bench: what each rdynptr kfunc costs per call, next to the
//! kernel's own dynptr kfunc that does the same.
//!
//! See Documentation/bench.rst.

mod insns;
mod iterbench;
mod plan;
mod report;
mod runner;
mod stats;
mod system;

use anyhow::{anyhow, bail, Context as _};
use clap::Parser;
use plan::{Row, Target};
use report::{Params, ProgramResult, Report, RowResult, Side};
use runner::Loaded;
use stats::Summary;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use system::{KernelFuncs, SystemInfo};

#[derive(Parser, Debug)]
#[command(
    name = "rdynptr-bench",
    version,
    about = "Time the rdynptr kfuncs against their C twins and the kernel's dynptr kfuncs \
             (BPF_PROG_TEST_RUN)",
    after_help = "Prints the table on stdout (see Documentation/bench.rst).\n\
                  Exit status: 0 if every kfunc the kernel has was measured and every \
                  instruction-count goal (of --count-insns, or of the --insns report) is \
                  met, 1 otherwise."
)]
struct Cli {
    /// BPF objects with the bench programs (build/bench/*.bpf.o).
    #[arg(value_name = "OBJECT", required = true)]
    objects: Vec<PathBuf>,

    /// Kfunc calls per program run (M); a multiple of 8.
    #[arg(long, default_value_t = 1024, value_name = "M")]
    calls: u32,

    /// Program runs per BPF_PROG_TEST_RUN (R).
    #[arg(long, default_value_t = 20000, value_name = "R")]
    repeat: u32,

    /// Rounds: every program is timed once per round, min and median are
    /// over the rounds.
    #[arg(long, default_value_t = 9, value_name = "N")]
    rounds: u32,

    /// Load fresh copies of the programs every N rounds.
    #[arg(long, default_value_t = 1, value_name = "N")]
    reload: u32,

    /// Only these rdynptr kfuncs (e.g. get_size or bpf_rdynptr_get_size);
    /// repeatable.
    #[arg(long = "kfunc", value_name = "NAME")]
    kfuncs: Vec<String>,

    /// Also write the results as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    /// Count instructions instead of timing: QEMU runs the guest with the
    /// insn-count plugin (tools/bench/plugin), which writes its counts to
    /// FILE.  Prints the instruction table (and --json writes it).
    #[arg(long, value_name = "FILE")]
    count_insns: Option<PathBuf>,

    /// The JSON of an earlier --count-insns run: its table is printed
    /// before the timing table, and it goes into the --json report.
    #[arg(long, value_name = "FILE", conflicts_with = "count_insns")]
    insns: Option<PathBuf>,

    /// Write each program's JIT image to jited/ next to the JSON file, with
    /// jited/index.txt (load addresses, kfunc addresses) to disassemble them.
    #[arg(long, requires = "json")]
    dump_jited: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match &cli.count_insns {
        Some(results) => count_insns(&cli, results),
        None => run(&cli),
    };
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("rdynptr-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check_params(cli: &Cli) -> anyhow::Result<()> {
    if cli.calls == 0 || cli.calls % plan::CALLS_PER_ITERATION != 0 {
        bail!(
            "--calls must be a positive multiple of {} (got {})",
            plan::CALLS_PER_ITERATION,
            cli.calls
        );
    }
    if cli.repeat == 0 || cli.rounds == 0 || cli.reload == 0 {
        bail!("--repeat, --rounds and --reload must be at least 1");
    }
    Ok(())
}

/// A program and its measurements.
struct Measured {
    name: &'static str,
    target: Option<Target>,
    ns_per_run: Vec<u64>,
}

/// What is measured on this kernel.
struct Setup {
    rows: Vec<Row>,
    /// Which object holds each program.
    index: BTreeMap<String, PathBuf>,
    /// The kfuncs the kernel does not have (their rows are skipped), and why.
    missing: BTreeMap<&'static str, String>,
    /// The targets whose kfunc the kernel has.
    present: Vec<Target>,
    /// Whether the kernel has the rdynptr iterator.
    iter_present: bool,
}

impl Setup {
    fn new(cli: &Cli) -> anyhow::Result<Setup> {
        check_params(cli)?;
        let rows = plan::select(&cli.kfuncs)?;
        let kernel = KernelFuncs::probe();
        let index = runner::index(&cli.objects)?;
        let mut missing: BTreeMap<&'static str, String> = BTreeMap::new();
        let targets = plan::targets(&rows);
        for t in &targets {
            if let Err(why) = kernel.check(t.kfunc) {
                missing.insert(t.kfunc, format!("{why:#}"));
            }
        }
        let present: Vec<Target> = targets
            .iter()
            .copied()
            .filter(|t| !missing.contains_key(t.kfunc))
            .collect();
        if present.iter().all(|t| !t.kfunc.starts_with("bpf_rdynptr_")) {
            let why: Vec<_> = missing.values().cloned().collect();
            bail!("no rdynptr kfunc to measure: {}", why.join("; "));
        }
        let iter_present = kernel.check(iterbench::OURS_NEXT).is_ok();
        Ok(Setup {
            rows,
            index,
            missing,
            present,
            iter_present,
        })
    }

    /// Whether the iterator comparison runs: the module has the iterator
    /// and the objects have its programs.
    fn iterator(&self) -> bool {
        self.iter_present && self.index.contains_key(iterbench::OURS)
    }

    fn object_of(&self, prog: &str) -> anyhow::Result<&Path> {
        self.index
            .get(prog)
            .map(PathBuf::as_path)
            .ok_or_else(|| anyhow!("no object has the program {prog}"))
    }

    /// Every kfunc gives the result the loops count on.
    fn check(&self, cli: &Cli) -> anyhow::Result<()> {
        let check = Loaded::load(
            self.object_of(plan::CHECK_PROG)?,
            &[plan::CHECK_PROG],
            cli.calls,
        )?;
        match check.run(plan::CHECK_PROG, 1)? {
            (0, _) => Ok(()),
            (n, _) => Err(anyhow!(
                "{} failed check {n}: a kfunc gave an unexpected result on the bench dynptr",
                plan::CHECK_PROG
            )),
        }
    }
}

/// --count-insns: one run of each kfunc loop under the plugin.
fn count_insns(cli: &Cli, results: &Path) -> anyhow::Result<bool> {
    let setup = Setup::new(cli)?;
    let mut names: Vec<&str> = setup.present.iter().map(|t| t.kfunc).collect();
    let iter = setup.iterator();
    if iter {
        names.extend(iterbench::OURS_KFUNCS);
        names.extend(iterbench::TWIN_KFUNCS);
    }
    names.sort_unstable();
    names.dedup();
    // Before anything calls them: the plugin instruments code when QEMU
    // translates it, which for a kfunc is at its first call.
    let mut counter = insns::Counter::watch(results, &names)?;
    setup.check(cli)?;
    // Per kfunc: its counts, or why it was not measured (the report's
    // `skipped`).
    let mut measured: BTreeMap<&str, Result<insns::Counts, String>> = setup
        .missing
        .iter()
        .map(|(k, why)| (*k, Err(why.clone())))
        .collect();
    for t in &setup.present {
        if measured.contains_key(t.kfunc) {
            continue;
        }
        let l = Loaded::load(setup.object_of(t.prog)?, &[t.prog], cli.calls)?;
        let (_, c) = counter.count(t.kfunc, || timed_run(t.prog, &l, 1, cli.calls))?;
        let want = u64::from(cli.calls) + u64::from(plan::SETUP_KFUNCS.contains(&t.kfunc));
        if c.calls != want {
            bail!(
                "the plugin counted {} of the {want} calls of {} (was it called before the watch?)",
                c.calls,
                t.kfunc
            );
        }
        measured.insert(t.kfunc, Ok(c));
    }
    let mut report = insns::InsnReport::new(&setup.rows, cli.calls, &measured);
    if iter {
        report.iterator = Some(iterbench::count(
            &mut counter,
            setup.object_of(iterbench::OURS)?,
            cli.calls,
        )?);
    }
    print!("{}", report.table());
    if let Some(path) = &cli.json {
        let json = serde_json::to_string_pretty(&report)?;
        fs::write(path, json + "\n").with_context(|| format!("cannot write {}", path.display()))?;
    }
    // Every goal met: a row whose goals could not be checked (a twin or
    // kernel kfunc missing) fails too, but for a kfunc the module lacks.
    Ok(report.ok())
}

fn run(cli: &Cli) -> anyhow::Result<bool> {
    let setup = Setup::new(cli)?;
    let insn_report: Option<insns::InsnReport> = match &cli.insns {
        Some(p) => {
            let text =
                fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
            Some(serde_json::from_str(&text).with_context(|| p.display().to_string())?)
        }
        None => None,
    };
    let system = SystemInfo::probe();
    let Setup {
        rows,
        missing,
        present,
        ..
    } = &setup;
    let object_of = |prog: &str| setup.object_of(prog);
    setup.check(cli)?;

    // The programs a round times: the baselines, then the kfunc loops.
    let mut plan_progs: Vec<(&'static str, Option<Target>)> = plan::baselines(present)
        .into_iter()
        .map(|b| (b, None))
        .collect();
    plan_progs.extend(present.iter().map(|t| (t.prog, Some(*t))));
    let mut progs: Vec<Measured> = plan_progs
        .iter()
        .map(|&(name, target)| Measured {
            name,
            target,
            ns_per_run: Vec::new(),
        })
        .collect();

    // Every `reload` rounds, load fresh copies of the programs, each on its
    // own and in an order that rotates, so that each copy lands somewhere
    // else in the JIT's memory (under TCG, where code sits changes what it
    // costs), and warm them up (caches, branch predictors, the emulator's
    // translations).  A round times each program once, also in an order
    // that rotates from round to round so that no program always runs
    // first or last.
    let warmup = (cli.repeat / 10).max(1);
    let n = progs.len();
    let mut loaded: Vec<Option<Loaded>> = (0..n).map(|_| None).collect();
    for round in 0..cli.rounds as usize {
        let t0 = Instant::now();
        if round % cli.reload as usize == 0 {
            let shift = round / cli.reload as usize;
            loaded.iter_mut().for_each(|l| *l = None);
            for i in 0..n {
                let k = (i + shift) % n;
                let name = progs[k].name;
                loaded[k] = Some(Loaded::load(object_of(name)?, &[name], cli.calls)?);
            }
            for (p, l) in progs.iter().zip(&loaded) {
                timed_run(p.name, l.as_ref().expect("loaded above"), warmup, cli.calls)?;
            }
        }
        let t_load = t0.elapsed();
        for i in 0..n {
            let k = (i + round) % n;
            let l = loaded[k]
                .as_ref()
                .expect("loaded in this or an earlier round");
            let ns = timed_run(progs[k].name, l, cli.repeat, cli.calls)?;
            progs[k].ns_per_run.push(ns);
        }
        eprintln!(
            "rdynptr-bench: round {}/{}: {:.1} s ({:.1} s loading and warming up)",
            round + 1,
            cli.rounds,
            t0.elapsed().as_secs_f64(),
            t_load.as_secs_f64()
        );
    }
    let mut jited = BTreeMap::new();
    for (p, l) in progs.iter().zip(&loaded) {
        let l = l.as_ref().expect("loaded in the first round");
        jited.insert(p.name, l.jit_image(p.name)?);
    }

    let mut report = build_report(cli, system, rows, &progs, missing, &jited)?;
    if setup.iterator() {
        report.iterator = Some(iterbench::time(
            setup.object_of(iterbench::OURS)?,
            cli.calls,
            cli.rounds,
            cli.repeat,
        )?);
    }
    if let Some(i) = insn_report {
        for row in &mut report.rows {
            row.goals = i
                .rows
                .iter()
                .find(|r| r.kfunc == row.kfunc)
                .map(|r| r.goals.clone());
        }
        report.goals_met = Some(i.ok());
        report.insns = Some(i);
    }
    print!("{}", report.table());
    if let Some(path) = &cli.json {
        fs::write(path, report.json() + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        if cli.dump_jited {
            let dir = path.parent().unwrap_or(Path::new(".")).join("jited");
            dump_jited(&dir, &jited)?;
        }
    }
    // Success: every kfunc the kernel has was measured (a missing clone
    // kfunc is a skip, not a failure), and the instruction counts carried
    // in meet their goals.
    let measured = report.rows.iter().all(|r| {
        (r.ratio.is_some() && r.twin_ratio.is_some())
            || (r.ours.skipped.is_some() && missing.contains_key(r.ours.kfunc))
    });
    Ok(measured && report.goals_met != Some(false))
}

/// One BPF_PROG_TEST_RUN of `repeat` runs; checks that the program made
/// all its calls and got the expected result from each.
fn timed_run(name: &str, object: &Loaded, repeat: u32, calls: u32) -> anyhow::Result<u64> {
    let (ret, ns) = object.run(name, repeat)?;
    if ret != calls {
        bail!("{name} counted {ret} of its {calls} calls with the expected result");
    }
    Ok(ns)
}

fn build_report(
    cli: &Cli,
    system: SystemInfo,
    rows: &[Row],
    progs: &[Measured],
    missing: &BTreeMap<&'static str, String>,
    jited: &BTreeMap<&'static str, runner::JitImage>,
) -> anyhow::Result<Report> {
    let by_name: BTreeMap<&str, &Measured> = progs.iter().map(|p| (p.name, p)).collect();
    let is_jited = |name: &str| jited.get(name).is_some_and(|j| j.code.is_some());
    let mut programs = Vec::new();
    let mut cost: BTreeMap<&str, Summary> = BTreeMap::new();
    for p in progs {
        let (kfunc, baseline, v) = match p.target {
            None => (
                None,
                None,
                p.ns_per_run
                    .iter()
                    .map(|&ns| ns as f64 / f64::from(cli.calls))
                    .collect(),
            ),
            Some(t) => {
                let base = by_name
                    .get(t.baseline)
                    .ok_or_else(|| anyhow!("baseline {} was not run", t.baseline))?;
                let v = stats::per_call(&p.ns_per_run, &base.ns_per_run, cli.calls);
                if let Some(c) = stats::cost_per_call(&p.ns_per_run, &base.ns_per_run, cli.calls) {
                    cost.insert(t.prog, c);
                }
                (Some(t.kfunc), Some(t.baseline), v)
            }
        };
        programs.push(ProgramResult {
            program: p.name,
            kfunc,
            baseline,
            jited: is_jited(p.name),
            ns_per_run: p.ns_per_run.clone(),
            ns_per_call: v,
        });
    }
    let side = |t: Target| -> Side {
        Side {
            kfunc: t.kfunc,
            program: t.prog,
            baseline: t.baseline,
            ns_per_call: cost.get(t.prog).copied(),
            skipped: missing.get(t.kfunc).cloned(),
        }
    };
    let rows = rows
        .iter()
        .map(|r| RowResult::new(r, side(r.ours), side(r.twin), side(r.kernel)))
        .collect();
    Ok(Report {
        tool: "rdynptr-bench",
        system,
        params: Params {
            calls_per_run: cli.calls,
            repeat: cli.repeat,
            rounds: cli.rounds,
            reload: cli.reload,
            dynptr: "local dynptr, view of 32 bytes at offset 32",
        },
        all_jited: progs.iter().all(|p| is_jited(p.name)),
        method: report::METHOD,
        tcg_note: report::TCG_NOTE,
        rows,
        programs,
        insns: None,
        goals_met: None,
        iterator: None,
    })
}

/// Writes DIR/<program>.bin (the JIT image) and DIR/index.txt.
fn dump_jited(dir: &Path, jited: &BTreeMap<&'static str, runner::JitImage>) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let kallsyms = fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    let mut index = String::from(
        "# program id address length: disassemble with\n\
         #   objdump -D -b binary -m i386:x86-64 --adjust-vma=ADDRESS DIR/PROGRAM.bin\n",
    );
    for (name, j) in jited {
        let Some(code) = &j.code else {
            let _ = writeln!(index, "{name} {} not-jited", j.id);
            continue;
        };
        let file = dir.join(format!("{name}.bin"));
        fs::write(&file, code).with_context(|| format!("cannot write {}", file.display()))?;
        let addr = j.address.map_or("hidden".into(), |a| format!("{a:#x}"));
        let _ = writeln!(index, "{name} {} {addr} {}", j.id, code.len());
    }
    index.push_str("# kfunc addresses (/proc/kallsyms)\n");
    for line in kallsyms.lines() {
        let mut f = line.split_whitespace();
        let (Some(addr), Some(_), Some(sym)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let interesting = sym.starts_with("bpf_rdynptr_")
            || sym.starts_with("rust_bpf_rdynptr_")
            || sym.starts_with("bpf_twin_")
            || [
                "bpf_dynptr_size",
                "bpf_dynptr_adjust",
                "bpf_dynptr_is_null",
                "bpf_dynptr_is_rdonly",
                "bpf_dynptr_clone",
            ]
            .contains(&sym);
        if interesting {
            let _ = writeln!(index, "{sym} 0x{addr}");
        }
    }
    let file = dir.join("index.txt");
    fs::write(&file, index).with_context(|| format!("cannot write {}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(["rdynptr-bench"].iter().chain(args))
    }

    #[test]
    fn parameters_are_checked() {
        assert!(check_params(&cli(&["x.o"]).unwrap()).is_ok());
        let e = check_params(&cli(&["--calls", "100", "x.o"]).unwrap()).unwrap_err();
        let e = format!("{e:#}");
        assert!(e.contains("multiple of 8"), "{e}");
        assert!(check_params(&cli(&["--calls", "0", "x.o"]).unwrap()).is_err());
        assert!(check_params(&cli(&["--rounds", "0", "x.o"]).unwrap()).is_err());
        assert!(cli(&[]).is_err(), "objects are required");
        assert!(
            cli(&["--dump-jited", "x.o"]).is_err(),
            "--dump-jited needs --json"
        );
    }
}
