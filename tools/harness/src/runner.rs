// SPDX-License-Identifier: GPL-2.0
//! Running one annotated program: decide whether it can run on this
//! kernel, load it on its own, check the verifier's verdict and log, and
//! test-run it.

use crate::kernel::{self, KernelBtf, ProgTypeSupport};
use crate::ktap::Outcome;
use crate::libbpflog;
use crate::logmatch;
use crate::objects::{self, essential_name, ObjectInfo, ProgramInfo};
use crate::packet;
use crate::parallel::Holds;
pub use crate::report::TestReport;
use crate::spec::{self, fmt_retval, LoadMode, Mode, TestSpec};
use crate::trigger;
use crate::unpriv;
use anyhow::{anyhow, bail, Context as _};
use libbpf_rs::btf::Btf;
use libbpf_rs::libbpf_sys as sys;
use libbpf_rs::{
    AsRawLibbpf, MapCore, Object, ObjectBuilder, OpenObject, ProgramInput, ProgramType,
};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Verifier log buffer sizes: start, and the most we grow to on ENOSPC.
const LOG_BUF_START: usize = 4 << 20;
const LOG_BUF_MAX: usize = 256 << 20;
/// Lines of verifier log shown with a failure (everything with -v).
const LOG_TAIL_LINES: usize = 40;

/// What a test thread keeps between tests: the kernel's BTF snapshot
/// (shared by every thread), probe results and the verifier log buffer.
pub struct Env {
    kernel: Option<Arc<KernelBtf>>,
    prog_types: ProgTypeSupport,
    log_buf: Vec<u8>,
    /// Flags every test program gets (see kernel::testing_prog_flags).
    base_flags: Option<u32>,
    pub log_level_override: Option<u32>,
    pub verbose: bool,
}

/// How BPF_PROG_TEST_RUN feeds a program type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunInput {
    /// The IPv4/TCP test packet as data_in.
    Packet,
    /// No data and no context.
    Empty,
    /// test_loader.c's input, for programs of the kernel's bpf_misc.h: 64
    /// zero bytes in, room for 256 out, one run.
    Loader,
}

/// test_loader.c's test-run input for a program type: no options at all
/// for a syscall program, its 64 zero bytes for every other type (the
/// kernel decides which it can run).
pub fn loader_input(t: ProgramType) -> RunInput {
    if matches!(t, ProgramType::Syscall) {
        RunInput::Empty
    } else {
        RunInput::Loader
    }
}

/// The test-run input for a program type; None if this harness does not
/// test-run the type.
pub fn run_input(t: ProgramType) -> Option<RunInput> {
    match t {
        ProgramType::SchedCls
        | ProgramType::SchedAct
        | ProgramType::CgroupSkb
        | ProgramType::SocketFilter
        | ProgramType::LwtIn
        | ProgramType::LwtOut
        | ProgramType::LwtXmit
        | ProgramType::LwtSeg6local
        | ProgramType::Xdp => Some(RunInput::Packet),
        ProgramType::Syscall | ProgramType::RawTracepoint => Some(RunInput::Empty),
        _ => None,
    }
}

/// The context that makes BPF_PROG_TEST_RUN put only `linear` bytes of the
/// packet in the linear area (skb) or first buffer (XDP): a zeroed
/// `struct __sk_buff` or `struct xdp_md` with `data_end` set, as the
/// kernel's test_loader.c does for skbs.  The struct's size and the
/// field's offset come from the running kernel's BTF.
fn linear_ctx(t: ProgramType, linear: u32) -> anyhow::Result<Vec<u8>> {
    use libbpf_rs::btf::types::{MemberAttr, Struct};
    use libbpf_rs::btf::{Btf, HasSize};
    let name = match t {
        ProgramType::SchedCls | ProgramType::SchedAct | ProgramType::CgroupSkb => "__sk_buff",
        ProgramType::Xdp => "xdp_md",
        _ => bail!(
            "__linear_size is for skb and xdp programs, not {}",
            kernel::prog_type_name(t)
        ),
    };
    let btf = Btf::from_vmlinux().context("__linear_size: no kernel BTF")?;
    let st = btf
        .type_by_name::<Struct<'_>>(name)
        .ok_or_else(|| anyhow!("__linear_size: the kernel's BTF has no struct {name}"))?;
    let off = st
        .iter()
        .find(|m| m.name.is_some_and(|n| n == "data_end"))
        .and_then(|m| match m.attr {
            MemberAttr::Normal { offset } if offset % 8 == 0 => Some(offset as usize / 8),
            _ => None,
        })
        .ok_or_else(|| anyhow!("__linear_size: struct {name} has no plain data_end"))?;
    let mut ctx = vec![0u8; st.size()];
    ctx.get_mut(off..off + 4)
        .ok_or_else(|| anyhow!("__linear_size: data_end lies outside struct {name}"))?
        .copy_from_slice(&linear.to_ne_bytes());
    Ok(ctx)
}

/// The running kernel cannot make the non-linear test packet of
/// `__linear_size` for such programs at all (a missing kernel feature:
/// the test SKIPs).  Asked with the same neutral input for every test, so
/// that the answer is the kernel's and not that of one test's input.
#[derive(Debug)]
pub struct NoLinearSize(ProgramType);

impl std::fmt::Display for NoLinearSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "__linear_size: BPF_PROG_TEST_RUN of the running kernel cannot make a non-linear packet for {} programs (it refuses a context with data_end set even for a trivial program and a packet of zeros)",
            kernel::prog_type_name(self.0)
        )
    }
}

impl std::error::Error for NoLinearSize {}

/// Runs `prog` once with BPF_PROG_TEST_RUN and returns its return value;
/// with `linear`, only that many bytes of the packet are linear.  A run
/// the kernel refuses is an error naming its errno, as test_loader.c
/// reports it.
pub fn test_run(
    prog: &libbpf_rs::ProgramMut<'_>,
    input: RunInput,
    linear: Option<u32>,
) -> anyhow::Result<u32> {
    let data_in = match input {
        RunInput::Packet => packet::build(),
        RunInput::Loader | RunInput::Empty => [0u8; spec::TEST_DATA_LEN as usize],
    };
    let mut data_out = [0u8; spec::TEST_DATA_LEN as usize * 4];
    let mut opts = ProgramInput::default();
    if input != RunInput::Empty {
        opts.data_in = Some(&data_in);
    }
    if input == RunInput::Loader {
        opts.data_out = Some(&mut data_out);
        opts.repeat = 1;
    }
    // Otherwise repeat stays 0: syscall and raw_tp programs reject any
    // other value, the others run once for 0.
    let mut ctx = match linear {
        Some(n) if n > 0 => Some(linear_ctx(prog.prog_type(), n)?),
        _ => None,
    };
    if ctx.is_some() {
        // Whether the kernel makes non-linear test packets at all: a
        // trivial program of the type, with the linear part just the
        // Ethernet header of a packet of zeros (no network header for the
        // kernel to check).  This test's own linear size and packet are
        // not asked here: if the kernel refuses them, the run below fails.
        let neutral = [0u8; spec::TEST_DATA_LEN as usize];
        let probe = linear_ctx(prog.prog_type(), ETH_HLEN)?;
        if !kernel::test_run_takes_ctx(prog.prog_type(), &probe, &neutral) {
            return Err(NoLinearSize(prog.prog_type()).into());
        }
    }
    opts.context_in = ctx.as_deref_mut();
    prog.test_run(opts)
        .map(|o| o.return_value)
        .map_err(|e| match errno(&e) {
            Some(n) => anyhow!(
                "BPF_PROG_TEST_RUN failed: errno {n} ({})",
                spec::errno_text(n)
            ),
            None => anyhow!("BPF_PROG_TEST_RUN failed: {e}"),
        })
}

/// The length of an Ethernet header: the least linear part of a test
/// packet that the kernel takes.
const ETH_HLEN: u32 = 14;

/// The BTF of a loaded object.
pub fn object_btf(obj: &Object) -> anyhow::Result<Btf<'_>> {
    // SAFETY: the pointer is to `obj`'s libbpf object, valid for as long as
    // the borrow of `obj`, which the returned BTF does not outlive.
    let raw = unsafe { obj.as_libbpf_object().as_ref() };
    Btf::from_bpf_object(raw)
        .context("no BTF")?
        .ok_or_else(|| anyhow!("the object has no BTF"))
}

/// Opens the object at `path` with only the programs `autoload` selects
/// marked for loading (overriding '?' sections both ways).
pub fn open_object(path: &Path, autoload: impl Fn(&str) -> bool) -> anyhow::Result<OpenObject> {
    open_object_with(path, None, None, autoload)
}

/// [`open_object`], from `data`, the bytes of the file at `path`, if
/// given; with the kernel BTF taken from `btf_path` (for kfunc and CO-RE
/// resolution: __btf_path) instead of the running kernel's.
///
/// libbpf reads `data` while the object is open and while it loads
/// (bpf_object__load() lets go of the ELF data at its end), not after:
/// the caller keeps `data` alive until the returned object is loaded or
/// dropped (an [`ObjectInfo`]'s bytes live as long as the run).  Opened
/// from memory, the object gets the name bpf_object__open_file() gives it
/// (the file name up to its first '.'), which libbpf also gives its global
/// data maps ("res_spin.bss"), and which verifier messages quote.
pub fn open_object_with(
    path: &Path,
    data: Option<&[u8]>,
    btf_path: Option<&str>,
    autoload: impl Fn(&str) -> bool,
) -> anyhow::Result<OpenObject> {
    let mut builder = ObjectBuilder::default();
    let btf_path = btf_path
        .map(std::ffi::CString::new)
        .transpose()
        .context("__btf_path has a NUL byte")?;
    if let Some(p) = &btf_path {
        // SAFETY: the options belong to `builder`; libbpf copies the path
        // when it opens the object below, while `btf_path` is alive.
        // (libbpf-rs 0.25 has no setter of btf_custom_path.)
        unsafe { (*builder.as_libbpf_object().as_ptr()).btf_custom_path = p.as_ptr() };
    }
    let opened = match data {
        Some(data) => builder
            .name(libbpf_object_name(path))
            .and_then(|b| b.open_memory(data)),
        None => builder.open_file(path),
    };
    let mut open = opened.with_context(|| format!("libbpf cannot open {}", path.display()))?;
    for mut p in open.progs_mut() {
        let load = autoload(&p.name().to_string_lossy());
        p.set_autoload(load);
    }
    Ok(open)
}

/// The name bpf_object__open_file() gives the object in file `path`: its
/// file name up to the first '.' (libbpf.c's bpf_object__new()).
fn libbpf_object_name(path: &Path) -> String {
    let file = path.file_name().unwrap_or_default().to_string_lossy();
    file.split('.').next().unwrap_or_default().to_string()
}

/// Errno of a libbpf-rs error, if it carries one.  libbpf-rs 0.25 keeps
/// the `std::io::Error` of a failed call to itself (its `source()` is the
/// io error's source, not the io error), so the number is read back from
/// the io error's message, "... (os error N)", which std gives every OS
/// error, and libbpf-rs shows as its own.
pub fn errno(e: &libbpf_rs::Error) -> Option<i32> {
    let text = e.to_string();
    let (_, tail) = text.rsplit_once("(os error ")?;
    tail.strip_suffix(')')?.parse().ok()
}

/// Loads `open`, with the verifier log of program `target` going into
/// `buf` at `log_level`, and its program flags set to `flags(current)`.
/// Returns the loaded object (or the error) and the verifier log.
pub fn load_with_log(
    mut open: OpenObject,
    target: &str,
    buf: &mut [u8],
    log_level: u32,
    flags: impl Fn(u32) -> u32,
) -> (Result<Object, libbpf_rs::Error>, String) {
    buf[0] = 0;
    for mut p in open.progs_mut() {
        if p.name().to_string_lossy() != target {
            continue;
        }
        p.set_log_level(log_level);
        let raw = p.as_libbpf_object().as_ptr();
        // SAFETY: `raw` is a valid program of `open` (libbpf-rs 0.25 has no
        // getter of an open program's flags, which the section sets).
        let section_flags = unsafe { sys::bpf_program__flags(raw) };
        p.set_flags(flags(section_flags));
        // SAFETY: `raw` is a valid program of `open`.  libbpf writes the
        // log into `buf` only while bpf_object__load() runs below, during
        // which `buf` is mutably borrowed by this function; it never reads
        // or writes the buffer after loading.  (libbpf-rs has no safe
        // setter of the log buffer.)
        unsafe {
            sys::bpf_program__set_log_buf(raw, buf.as_mut_ptr().cast(), buf.len() as _);
        }
    }
    let res = open.load();
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let log = String::from_utf8_lossy(&buf[..end]).into_owned();
    (res, log)
}

/// The verifier's log level of statistics (`BPF_LOG_STATS`): with it
/// alone, the log has the verifier's errors and its statistics, and no
/// line per instruction.
pub const BPF_LOG_STATS: u32 = 4;

/// A verifier log at `BPF_LOG_STATS` without the lines only that level
/// writes (kernel/bpf/verifier.c's print_verification_stats(): the
/// verification time, the stack depths and, in newer kernels, a line per
/// subprogram), leaving what level 1 writes too.
fn without_statistics(log: &str) -> String {
    log.lines()
        .filter(|l| {
            !(l.starts_with("verification time ")
                || l.starts_with("stack depth ")
                || l.starts_with("subprog "))
        })
        .flat_map(|l| [l, "\n"])
        .collect()
}

/// The relevant end of the verifier log (all of it with -v) as diagnostic
/// lines.
fn log_excerpt(log: &str, from: usize, verbose: bool) -> Vec<String> {
    if log.trim().is_empty() {
        return vec!["verifier log: (empty)".to_string()];
    }
    let (head, lines) = if verbose {
        (
            "verifier log:".to_string(),
            log.lines().map(str::to_string).collect(),
        )
    } else {
        logmatch::excerpt(log, from, LOG_TAIL_LINES)
    };
    let mut out = Vec::with_capacity(lines.len() + 1);
    out.push(head);
    out.extend(lines.iter().map(|l| format!("  {l}")));
    out
}

/// Why program `prog` of `obj`, which also needs the kfuncs `needs`,
/// cannot run on a kernel whose BTF has the FUNCs `kernel_has` accepts;
/// `unavailable` says why the kernel's BTF cannot be read, if it cannot.
pub fn kfunc_skip_reason(
    kernel_has: &dyn Fn(&str) -> bool,
    unavailable: Option<&str>,
    obj: &ObjectInfo,
    prog: &ProgramInfo,
    needs: &[String],
) -> Option<String> {
    let missing = |name: &str| !kernel_has(essential_name(name));
    let uses_kfuncs = !needs.is_empty() || !obj.kfunc_externs.is_empty();
    if let (Some(why), true) = (unavailable, uses_kfuncs) {
        return Some(why.to_string());
    }
    if let Some(k) = needs.iter().find(|k| missing(k)) {
        return Some(format!(
            "needs kfunc {k}, which the running kernel does not have"
        ));
    }
    match &prog.kfuncs {
        Ok(u) => {
            let absent = objects::missing_calls(u, kernel_has);
            if !absent.is_empty() {
                return Some(format!(
                    "calls {} {}, which the running kernel does not have",
                    if absent.len() == 1 { "kfunc" } else { "kfuncs" },
                    absent.join(", ")
                ));
            }
        }
        Err(e) => {
            // The code could not be analysed: be conservative.
            if let Some(k) = obj.kfunc_externs.keys().find(|k| missing(k)) {
                return Some(format!(
                    "the object uses kfunc {}, which the running kernel does not have (which program calls it is unknown: {e:#})",
                    essential_name(k)
                ));
            }
        }
    }
    if let Some(k) = obj.missing_strong_externs(kernel_has).first() {
        return Some(format!(
            "the object declares kfunc {} (not __weak), which the running kernel does not have, so libbpf cannot load any of its programs",
            essential_name(k)
        ));
    }
    None
}

impl Env {
    pub fn new(log_level_override: Option<u32>, verbose: bool) -> Env {
        Env {
            kernel: None,
            prog_types: ProgTypeSupport::default(),
            log_buf: Vec::new(),
            base_flags: None,
            log_level_override,
            verbose,
        }
    }

    /// The kernel's BTF, read on first use.
    pub fn kernel(&mut self) -> &KernelBtf {
        self.shared_kernel_ref()
    }

    /// The kernel's BTF snapshot, to share with other threads.
    pub fn shared_kernel(&mut self) -> Arc<KernelBtf> {
        Arc::clone(self.shared_kernel_ref())
    }

    fn shared_kernel_ref(&mut self) -> &Arc<KernelBtf> {
        self.kernel
            .get_or_insert_with(|| Arc::new(KernelBtf::load()))
    }

    /// An Env for another test thread: the same BTF snapshot and program
    /// flags, its own log buffer.
    pub fn fork(&mut self) -> Env {
        let kernel = Some(self.shared_kernel());
        let base_flags = Some(self.base_flags());
        Env {
            kernel,
            prog_types: ProgTypeSupport::default(),
            log_buf: Vec::new(),
            base_flags,
            log_level_override: self.log_level_override,
            verbose: self.verbose,
        }
    }

    fn base_flags(&mut self) -> u32 {
        *self
            .base_flags
            .get_or_insert_with(kernel::testing_prog_flags)
    }

    /// Forget the kernel BTF (after modules were loaded or unloaded).
    pub fn refresh_kernel(&mut self) {
        self.kernel = None;
    }

    pub fn prog_type_supported(&mut self, t: ProgramType) -> Option<bool> {
        self.prog_types.supported(t)
    }

    /// Reasons not to run `spec` on this kernel.
    fn precheck(
        &mut self,
        obj: &ObjectInfo,
        prog: &ProgramInfo,
        spec: &TestSpec,
    ) -> Option<TestReport> {
        if !spec.errors.is_empty() {
            let mut r = TestReport::fail("bad annotations:");
            r.diagnostics
                .extend(spec.errors.iter().map(|e| format!("  {e}")));
            return Some(r);
        }
        if spec.mode == Mode::Unpriv {
            if let Some(why) = unpriv::disabled() {
                return Some(TestReport::skip(why));
            }
        }

        let arch = spec::current_arch();
        if !spec.arches.is_empty() && !spec.arches.iter().any(|a| a == arch) {
            return Some(TestReport::skip(format!(
                "only for {} (this is {arch})",
                spec.arches.join(", ")
            )));
        }
        match (spec.load_mode, kernel::jit_enabled()) {
            (Some(LoadMode::Jited), false) => {
                return Some(TestReport::skip("needs the BPF JIT, which is disabled"))
            }
            (Some(LoadMode::NoJited), true) => {
                return Some(TestReport::skip("needs the BPF JIT disabled"))
            }
            _ => {}
        }
        let kernel = self.kernel();
        let has = |name: &str| kernel.has_func(name);
        if let Some(why) =
            kfunc_skip_reason(&has, kernel.unavailable(), obj, prog, &spec.needs_kfuncs)
        {
            return Some(TestReport::skip(why));
        }
        if self.prog_type_supported(prog.prog_type) == Some(false) {
            return Some(TestReport::skip(format!(
                "program type {} is not supported by the running kernel",
                kernel::prog_type_name(prog.prog_type)
            )));
        }
        None
    }

    /// Runs the test of program `prog` of `obj` in mode `mode`.
    pub fn run_test(&mut self, obj: &ObjectInfo, prog: &ProgramInfo, mode: Mode) -> TestReport {
        let Some(spec) = prog.spec.as_ref() else {
            return TestReport::fail("internal error: program has no annotations");
        };
        let spec = &spec.for_mode(mode);
        libbpflog::take();
        if let Some(r) = self.precheck(obj, prog, spec) {
            return r;
        }
        if let Some(r) = self.check_kernel_twin(obj, spec) {
            return r;
        }
        let mut report = self.load_and_check(obj, prog, spec);
        if report.outcome == Outcome::Fail && !spec.unknown.is_empty() {
            report.note(format!(
                "ignored tags this harness does not know (test_loader.c ignores those it does not know): {}",
                spec.unknown.join(", ")
            ));
        }
        let libbpf = libbpflog::take();
        if report.outcome == Outcome::Fail || self.verbose {
            report.diagnostics.extend(libbpf);
        }
        report
    }

    /// For a test with `__kernel_twin(P)`: loads P with the test's load
    /// expectations only (verdict and messages, no run).  A twin that
    /// misses them means the running kernel lacks the verifier rule the
    /// test checks: a SKIP naming the twin and what it got.
    fn check_kernel_twin(&mut self, obj: &ObjectInfo, spec: &TestSpec) -> Option<TestReport> {
        let name = spec.kernel_twin.as_deref()?;
        let Some(twin) = obj.programs.iter().find(|p| p.name == name) else {
            return Some(TestReport::fail(format!(
                "__kernel_twin({name}): the object has no program {name}"
            )));
        };
        if twin.spec.is_some() {
            return Some(TestReport::fail(format!(
                "__kernel_twin({name}): {name} has annotations of its own (a twin takes the test's)"
            )));
        }
        let expect = TestSpec {
            rdynptr_packet: spec.rdynptr_packet,
            expect_failure: spec.expect_failure,
            messages: spec.messages.clone(),
            log_level: spec.log_level,
            flags_set: spec.flags_set,
            flags_clear: spec.flags_clear,
            ..TestSpec::default()
        };
        let got = self.load_and_check(obj, twin, &expect);
        libbpflog::take();
        if got.outcome != Outcome::Fail {
            return None;
        }
        // The verifier's verdict: the last line of its log before the
        // statistics, else the first diagnostics.
        let verdict = got.verifier_log.as_deref().and_then(|log| {
            log.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("processed "))
                .last()
                .map(|l| format!("the verifier says: {l}"))
        });
        let what = verdict.unwrap_or_else(|| {
            let first: Vec<&str> = got
                .diagnostics
                .iter()
                .map(|d| d.trim())
                .filter(|d| !d.is_empty())
                .take(2)
                .collect();
            first.join(" ")
        });
        Some(TestReport::skip(format!(
            "the kernel's own equivalent, {name}, does not meet this test's expectations on the running kernel either ({what}): the test checks a verifier rule this kernel lacks"
        )))
    }

    fn load_and_check(
        &mut self,
        obj: &ObjectInfo,
        prog: &ProgramInfo,
        spec: &TestSpec,
    ) -> TestReport {
        let aux: Vec<&str> = obj
            .programs
            .iter()
            .filter(|p| p.spec.as_ref().is_some_and(|s| s.auxiliary_in(spec.mode)))
            .map(|p| p.name.as_str())
            .collect();
        let level = self.log_level_override.or(spec.log_level).unwrap_or(
            if spec.wants_log() || self.verbose {
                1
            } else {
                0
            },
        );
        // A test that must fail with expected messages (none forbidden) at
        // the default log level is first loaded with the verifier's errors
        // and statistics only (BPF_LOG_STATS): level 1 adds a line per
        // instruction processed, which made a program that hits the
        // complexity limit take 80 s under TCG instead of 20.  If that
        // load fails and the messages are all there, each within a line,
        // the verdict is the one level 1 would give: every line the
        // verifier writes at level 4 it writes at level 1 too, in the same
        // order, except the statistics' own lines, dropped before matching
        // (test_loader's regular expressions do not cross lines either:
        // REG_NEWLINE).  Otherwise the test is loaded again at level 1,
        // and that load decides.
        let mut errors_first = level == 1
            && !self.verbose
            && self.log_level_override.is_none()
            && spec.log_level.is_none()
            && spec.expect_failure
            && spec.messages.iter().all(|p| !p.is_negative());
        // The testing flags (BPF_F_TEST_RND_HI32, BPF_F_TEST_REG_INVARIANTS)
        // for our suites only.  test_loader means to set them on every
        // program too, but its probe for them (testing_helpers.c's
        // testing_prog_flags()) loads a program named "flag-test", a name
        // the kernel refuses (bpf_obj_name_cpy(): letters, digits, '_' and
        // '.' only), so the kernel's selftests always load without them,
        // and their __xlated checks are written that way (verifier_sdiv's
        // show no random upper halves).  A program of bpf_misc.h gets what
        // test_progs gives it; its own __flag() still sets either.
        let base = if spec.rdynptr_packet {
            self.base_flags()
        } else {
            0
        };
        if self.log_buf.len() < LOG_BUF_START {
            self.log_buf = vec![0; LOG_BUF_START];
        }

        // Load; grow the log buffer if the verifier ran out of room.
        // A relative __btf_path is in the object's directory (test_progs
        // takes it from its working directory, where the objects are).
        let near = |p: &str| match obj.path.parent() {
            Some(dir) if !Path::new(p).is_absolute() => dir.join(p).display().to_string(),
            _ => p.to_string(),
        };
        let func_path = spec.btf_func_path.as_deref().map(near);
        // __btf_func_path also serves as __btf_path when there is none.
        let btf_path = spec.btf_path.as_deref().map(near).or(func_path.clone());
        let btf_path = btf_path.as_deref();
        // Declared before the object, so dropped after it: see below.
        let mut _one_arena_at_a_time = None;
        let mut phases = crate::report::Phases::default();
        let (res, log) = loop {
            let started = Instant::now();
            let opened = open_object_with(&obj.path, Some(&obj.data), btf_path, |n| {
                n == prog.name || aux.contains(&n)
            });
            phases.add(|p| &mut p.open_ms, started);
            let mut open = match opened {
                Ok(o) => o,
                Err(e) => return TestReport::fail(format!("{e:#}")),
            };
            if let Some(p) = &func_path {
                if let Err(e) = crate::btf_fixup::name_params_from(&mut open, Path::new(p)) {
                    return TestReport::fail(format!("{e:#}"));
                }
            }
            // libbpf maps an arena at the same fixed address in every
            // object (the arena's user address range): two objects with an
            // arena cannot be loaded at once in one process (test_progs
            // runs one test at a time), so their tests run one by one
            // ([`holds`] keeps the test threads from waiting here).
            if obj.has_arena && _one_arena_at_a_time.is_none() {
                _one_arena_at_a_time = Some(ARENA.lock().unwrap_or_else(|e| e.into_inner()));
            }
            let mut dropped = None;
            if spec.mode == Mode::Unpriv {
                // As test_loader: maps of types unprivileged programs may
                // not create are not created; the load runs without
                // CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_PERFMON and CAP_BPF.
                for mut m in open.maps_mut() {
                    // SAFETY: `m` is a map of the open object `open`.
                    let flags = unsafe { sys::bpf_map__map_flags(m.as_libbpf_object().as_ptr()) };
                    let create = unpriv::map_allowed(m.map_type(), flags);
                    if let Err(e) = m.set_autocreate(create) {
                        return TestReport::fail(format!("libbpf: {e}"));
                    }
                }
                match unpriv::Unprivileged::enter(spec.unpriv.caps) {
                    Ok(g) => dropped = Some(g),
                    Err(e) => return TestReport::fail(format!("{e:#}")),
                }
            }
            let started = Instant::now();
            let try_level = if errors_first { BPF_LOG_STATS } else { level };
            let (res, log) = load_with_log(open, &prog.name, &mut self.log_buf, try_level, |f| {
                spec.apply_flags(f | base)
            });
            phases.add(|p| &mut p.load_ms, started);
            // Privileges are back for what follows (the program's info,
            // the test run), as in test_loader.
            drop(dropped);
            if errors_first {
                errors_first = false;
                if res.is_err() {
                    let errors = without_statistics(&log);
                    if logmatch::found_within_lines(&errors, &spec.messages) {
                        break (res, errors);
                    }
                }
                libbpflog::take();
                continue;
            }
            let full = log.len() + 1 >= self.log_buf.len();
            let nospc = res.as_ref().err().and_then(errno) == Some(libc::ENOSPC);
            if nospc && full && self.log_buf.len() < LOG_BUF_MAX {
                let n = self.log_buf.len() * 4;
                self.log_buf = vec![0; n];
                libbpflog::take();
                continue;
            }
            break (res, log);
        };

        let mut r = TestReport::pass();
        *r.phases = phases;
        r.verifier_log = (!log.is_empty()).then(|| log.clone());
        if let Some(d) = &spec.description {
            r.diagnostics.push(format!("description: {d}"));
        }

        // A program whose attach target (fentry, lsm, tp_btf, struct_ops
        // ...) the running kernel does not have: libbpf cannot even load
        // it, and the test SKIPs, naming the target.
        if res.is_err() {
            if let Some(line) =
                libbpflog::any(|l| l.contains("failed to find kernel BTF type ID of"))
            {
                let target = line
                    .split('\'')
                    .nth(3)
                    .unwrap_or("its attach target")
                    .to_string();
                r.outcome = Outcome::Skip(format!(
                    "the running kernel has no attach target {target} ({})",
                    line.trim()
                ));
                return r;
            }
        }
        let loaded = match (res, spec.expect_failure) {
            (Ok(o), false) => Some(o),
            (Ok(_), true) => {
                r.fail_expected(
                    "the verifier rejects the program (__failure)",
                    "the program loaded",
                );
                if log.is_empty() {
                    r.diagnostics.push(
                        "(no verifier log at log level 0; use -v or --log-level 1 to see it)"
                            .into(),
                    );
                } else {
                    r.diagnostics.extend(log_excerpt(&log, 0, self.verbose));
                }
                return r;
            }
            (Err(e), true) => {
                // bpf_misc.h programs get test_loader's rule: any load
                // error is the expected failure (then the messages are
                // matched); ours must be rejected by the verifier.
                if log.trim().is_empty() && spec.rdynptr_packet {
                    r.fail_expected(
                        "the verifier rejects the program (__failure)",
                        format!("loading failed before the verifier ran (no verifier log): {e}"),
                    );
                    return r;
                }
                None
            }
            (Err(e), false) => {
                r.fail_expected("the program loads", format!("loading failed: {e}"));
                r.diagnostics.extend(log_excerpt(&log, 0, self.verbose));
                return r;
            }
        };

        if !spec.messages.is_empty() {
            let m = logmatch::match_log(&log, &spec.messages);
            if !m.ok() {
                r.fail_with("expected messages not found in the verifier log:");
                r.diagnostics.extend(
                    logmatch::describe(&spec.messages, &m)
                        .into_iter()
                        .map(|l| format!("  {l}")),
                );
                r.diagnostics
                    .extend(log_excerpt(&log, m.resume, self.verbose));
                return r;
            }
        }

        if self.verbose {
            r.diagnostics.extend(log_excerpt(&log, 0, true));
        }

        let Some(mut obj_loaded) = loaded else {
            return r;
        };
        // As test_loader before a test run: every struct_ops map of the
        // object is registered (attached) for the run, so that the kernel
        // calls its programs (through bpf_testmod's kfuncs, say).
        // Declared first, dropped last: the registrations end (the links
        // drop) before the lock is released.
        let mut _one_at_a_time = None;
        let mut struct_ops = Vec::new();
        if registers_struct_ops(spec) {
            for mut m in obj_loaded.maps_mut() {
                if !matches!(m.map_type(), libbpf_rs::MapType::StructOps) {
                    continue;
                }
                // A struct_ops type takes one registration at a time (as
                // test_progs, which runs one test at a time, has it): the
                // tests that register one run one after the other.
                if _one_at_a_time.is_none() {
                    _one_at_a_time = Some(STRUCT_OPS.lock().unwrap_or_else(|e| e.into_inner()));
                }
                match m.attach_struct_ops() {
                    Ok(link) => struct_ops.push(link),
                    Err(e) => {
                        let name = m.name().to_string_lossy().into_owned();
                        r.fail_with(format!("attaching the struct_ops map {name}: {e}"));
                        return r;
                    }
                }
            }
        }
        let Some(p) = obj_loaded
            .progs_mut()
            .find(|p| p.name().to_string_lossy() == prog.name)
        else {
            return TestReport::fail("internal error: loaded program not found");
        };
        type Text = fn(&libbpf_rs::ProgramMut<'_>) -> anyhow::Result<String>;
        let code: [(&str, &[logmatch::Pattern], Text); 2] = [
            ("xlated", &spec.xlated, xlated_text),
            ("jited", &spec.jited, jited_text),
        ];
        for (what, want, text) in code {
            if want.is_empty() {
                continue;
            }
            let text = match text(&p) {
                Ok(t) => t,
                Err(e) => return TestReport::fail(format!("{e:#}")),
            };
            if !check_text(&mut r, what, &text, want) {
                return r;
            }
        }
        let Some(want) = spec.retval else {
            return r;
        };
        // What __retval checks: the program's return value, or the global
        // that __result names, read after the run.
        let result = |ran: anyhow::Result<Option<u32>>| -> anyhow::Result<u32> {
            let ret = ran?;
            match spec.result.as_deref() {
                Some(var) => trigger::read_global(&obj_loaded, var).map(|v| v as u32),
                None => ret.ok_or_else(|| {
                    anyhow!("__trigger needs __result(var): the global __retval checks")
                }),
            }
        };
        let started = Instant::now();
        let got = if let Some(action) = &spec.trigger {
            // `p` is not used after this: its borrow of the object ends.
            match trigger::attach_and_trigger(&p, action) {
                Err(e) if e.downcast_ref::<trigger::NoTrampolines>().is_some() => {
                    r.outcome = Outcome::Skip(format!("{e:#}"));
                    return r;
                }
                ran => result(ran.map(|()| None)),
            }
        } else {
            // A bpf_misc.h program gets test_loader's input and context;
            // ours the test packet where its type takes one, else nothing.
            // Either way the kernel decides whether it can run the type:
            // a run it refuses fails the test with its errno.
            let input = if spec.rdynptr_packet {
                run_input(prog.prog_type).unwrap_or(RunInput::Empty)
            } else {
                loader_input(prog.prog_type)
            };
            match test_run(&p, input, spec.linear_size) {
                Err(e) if e.downcast_ref::<NoLinearSize>().is_some() => {
                    r.outcome = Outcome::Skip(format!("{e:#}"));
                    return r;
                }
                ran => result(ran.map(Some)),
            }
        };
        r.phases.add(|p| &mut p.run_ms, started);
        match got {
            Ok(got) => {
                r.retval = Some(got);
                if !want.accepts(got) {
                    match spec.result.as_deref() {
                        Some(var) => r.fail_expected(format!("{var} == {want}"), fmt_retval(got)),
                        None => r.fail_expected(
                            format!("retval {want}"),
                            format!("retval {}", fmt_retval(got)),
                        ),
                    }
                }
            }
            Err(e) => {
                r.fail_with(format!("{e:#}"));
                return r;
            }
        }
        // The program's BPF streams, after the run.
        for (id, name, want) in [(2, "stderr", &spec.stderr), (1, "stdout", &spec.stdout)] {
            if want.is_empty() {
                continue;
            }
            match read_stream(&p, id) {
                Ok(text) => {
                    if !check_text(&mut r, name, &text, want) {
                        return r;
                    }
                }
                Err(e) => {
                    r.fail_with(format!("{e:#}"));
                    return r;
                }
            }
        }
        r
    }
}

/// What a test holds while it runs ([`crate::parallel::Holds`]): its
/// object's arena, or a struct_ops registration.  The test threads do not
/// start two tests that hold the same at once; [`ARENA`] and
/// [`STRUCT_OPS`] make sure of it.
pub fn holds(obj: &ObjectInfo, prog: &ProgramInfo, mode: Mode) -> Holds {
    let mut h = 0;
    if obj.has_arena {
        h |= HOLDS_ARENA;
    }
    let registers = prog
        .spec
        .as_ref()
        .is_some_and(|s| registers_struct_ops(&s.for_mode(mode)));
    if obj.has_struct_ops && registers {
        h |= HOLDS_STRUCT_OPS;
    }
    h
}

const HOLDS_ARENA: Holds = 1 << 0;
const HOLDS_STRUCT_OPS: Holds = 1 << 1;

/// Does a test of `spec` register its object's struct_ops maps (as
/// test_loader does before a test run)?
fn registers_struct_ops(spec: &TestSpec) -> bool {
    spec.retval.is_some() && spec.trigger.is_none()
}

/// Held by a test while its object has an arena map.
static ARENA: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Held by a test while it has struct_ops maps registered.
static STRUCT_OPS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Checks `patterns` against program text `text` (xlated code, a
/// stream); on a mismatch fails `r` with the patterns and the text.
fn check_text(r: &mut TestReport, what: &str, text: &str, patterns: &[logmatch::Pattern]) -> bool {
    let m = logmatch::match_log(text, patterns);
    if m.ok() {
        return true;
    }
    r.fail_with(format!("expected {what} text not found:"));
    r.diagnostics.extend(
        logmatch::describe(patterns, &m)
            .into_iter()
            .map(|l| format!("  {l}")),
    );
    r.note(format!("{what}:"));
    r.diagnostics.extend(text.lines().map(|l| format!("  {l}")));
    false
}

/// The program after the verifier's rewrites, as __xlated sees it.
fn xlated_text(p: &libbpf_rs::ProgramMut<'_>) -> anyhow::Result<String> {
    use std::os::fd::AsFd;
    let opts = libbpf_rs::query::ProgInfoQueryOptions::default().include_xlated_prog_insns(true);
    let info = rdynptr_kernel::prog::info(p.as_fd(), opts)?;
    Ok(crate::disasm::text(&info.xlated_prog_insns))
}

/// The program's JITed code, as __jited sees it.
fn jited_text(p: &libbpf_rs::ProgramMut<'_>) -> anyhow::Result<String> {
    use std::os::fd::AsFd;
    let opts = libbpf_rs::query::ProgInfoQueryOptions::default()
        .include_jited_prog_insns(true)
        .include_jited_func_lens(true);
    let info = rdynptr_kernel::prog::info(p.as_fd(), opts)?;
    crate::jitdisasm::text(&info.jited_prog_insns, &info.jited_func_lens)
}

/// What program `p` wrote to its BPF stream `id` (1 stdout, 2 stderr).
/// Some of it is written by deferred kernel work (the report of a fault
/// in an arena, say): an empty stream is read again for up to 200 ms.
fn read_stream(p: &libbpf_rs::ProgramMut<'_>, id: u32) -> anyhow::Result<String> {
    use std::os::fd::{AsFd, AsRawFd};
    let mut buf = vec![0u8; 64 << 10];
    let fd = p.as_fd().as_raw_fd();
    let mut n = 0;
    for _ in 0..20 {
        n = crate::kernel::prog_stream_read(fd, id, &mut buf)
            .with_context(|| format!("reading BPF stream {id}"))?;
        if n > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_opened_from_memory_get_the_file_name_up_to_its_first_dot() {
        let name = |p: &str| libbpf_object_name(Path::new(p));
        assert_eq!(
            name("/w/build/upstream/progs/res_spin_lock_fail.bpf.o"),
            "res_spin_lock_fail"
        );
        assert_eq!(name("kfunc_calls.o"), "kfunc_calls");
        assert_eq!(name("dir.d/noext"), "noext");
    }

    #[test]
    fn statistics_lines_are_dropped_and_the_rest_kept_in_order() {
        let log = "R1 invalid mem access 'scalar'\n\
                   verification time 120 usec\n\
                   stack depth max 8\n\
                   subprog 0 (main) main insns_self 5 insns_total 5 stack 8\n\
                   processed 5 insns (limit 1000000) max_states_per_insn 0\n";
        assert_eq!(
            without_statistics(log),
            "R1 invalid mem access 'scalar'\n\
             processed 5 insns (limit 1000000) max_states_per_insn 0\n"
        );
        // 6.12's form of the stack depths.
        assert_eq!(without_statistics("stack depth 8+0\nx\n"), "x\n");
    }

    #[test]
    fn skb_and_xdp_get_the_packet_syscall_gets_nothing() {
        assert_eq!(run_input(ProgramType::SchedCls), Some(RunInput::Packet));
        assert_eq!(run_input(ProgramType::CgroupSkb), Some(RunInput::Packet));
        assert_eq!(run_input(ProgramType::Xdp), Some(RunInput::Packet));
        assert_eq!(run_input(ProgramType::Syscall), Some(RunInput::Empty));
        assert_eq!(run_input(ProgramType::Kprobe), None);
        assert_eq!(run_input(ProgramType::Lsm), None);
        assert_eq!(run_input(ProgramType::StructOps), None);
    }

    use crate::elfscan::ExternUse;
    use crate::objects::{ObjectInfo, ProgramInfo};
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    fn program(called: &[&str], address_taken: &[&str]) -> ProgramInfo {
        ProgramInfo {
            name: "p".into(),
            section: "syscall".into(),
            prog_type: ProgramType::Syscall,
            spec: Some(TestSpec::default()),
            kfuncs: Ok(ExternUse {
                called: called.iter().map(|s| s.to_string()).collect(),
                address_taken: address_taken.iter().map(|s| s.to_string()).collect(),
            }),
        }
    }

    fn object(externs: &[(&str, bool)]) -> ObjectInfo {
        ObjectInfo {
            path: PathBuf::from("o.bpf.o"),
            name: "o".into(),
            programs: Vec::new(),
            kfunc_externs: externs
                .iter()
                .map(|(n, w)| (n.to_string(), *w))
                .collect::<BTreeMap<_, _>>(),
            data: Vec::new(),
            has_arena: false,
            has_struct_ops: false,
        }
    }

    /// A kernel with bpf_rdynptr_trim and bpf_rdynptr_advance only.
    fn has(name: &str) -> bool {
        matches!(name, "bpf_rdynptr_trim" | "bpf_rdynptr_advance")
    }

    #[test]
    fn calling_a_missing_kfunc_skips_and_names_it() {
        let o = object(&[("bpf_rdynptr_trim", false), ("bpf_rdynptr_clone", true)]);
        let p = program(&["bpf_rdynptr_trim", "bpf_rdynptr_clone"], &[]);
        let r = kfunc_skip_reason(&has, None, &o, &p, &[]).unwrap();
        assert_eq!(
            r,
            "calls kfunc bpf_rdynptr_clone, which the running kernel does not have"
        );
    }

    #[test]
    fn present_kfuncs_and_uncalled_weak_ones_do_not_skip() {
        let o = object(&[("bpf_rdynptr_trim", false), ("bpf_rdynptr_clone", true)]);
        let p = program(&["bpf_rdynptr_trim"], &[]);
        assert_eq!(kfunc_skip_reason(&has, None, &o, &p, &[]), None);
    }

    #[test]
    fn guarded_call_to_missing_kfunc_does_not_skip() {
        let o = object(&[("bpf_rdynptr_clone", true)]);
        let p = program(&["bpf_rdynptr_clone"], &["bpf_rdynptr_clone"]);
        assert_eq!(kfunc_skip_reason(&has, None, &o, &p, &[]), None);
    }

    #[test]
    fn missing_strong_extern_skips_every_program_of_the_object() {
        let o = object(&[("bpf_rdynptr_trim", false), ("bpf_rdynptr_clone", false)]);
        let p = program(&["bpf_rdynptr_trim"], &[]);
        let r = kfunc_skip_reason(&has, None, &o, &p, &[]).unwrap();
        assert!(
            r.contains("declares kfunc bpf_rdynptr_clone (not __weak)"),
            "{r}"
        );
    }

    #[test]
    fn needs_kfunc_annotation_is_checked() {
        let o = object(&[]);
        let p = program(&[], &[]);
        let needs = ["bpf_rdynptr_clone".to_string()];
        let r = kfunc_skip_reason(&has, None, &o, &p, &needs).unwrap();
        assert!(r.starts_with("needs kfunc bpf_rdynptr_clone"), "{r}");
        let needs = ["bpf_rdynptr_trim".to_string()];
        assert_eq!(kfunc_skip_reason(&has, None, &o, &p, &needs), None);
    }

    #[test]
    fn flavored_extern_names_are_looked_up_without_suffix() {
        let o = object(&[("bpf_rdynptr_trim___new", false)]);
        let p = program(&["bpf_rdynptr_trim___new"], &[]);
        assert_eq!(kfunc_skip_reason(&has, None, &o, &p, &[]), None);
    }

    #[test]
    fn unanalysable_program_is_skipped_if_any_extern_is_missing() {
        let o = object(&[("bpf_rdynptr_clone", true)]);
        let mut p = program(&[], &[]);
        p.kfuncs = Err(anyhow!("no symbol"));
        let r = kfunc_skip_reason(&has, None, &o, &p, &[]).unwrap();
        assert!(
            r.contains("bpf_rdynptr_clone") && r.contains("no symbol"),
            "{r}"
        );
    }

    #[test]
    fn kernel_without_btf_skips_only_kfunc_users() {
        let p = program(&[], &[]);
        let o = object(&[]);
        assert_eq!(kfunc_skip_reason(&has, Some("no BTF"), &o, &p, &[]), None);
        let o = object(&[("bpf_rdynptr_trim", false)]);
        assert_eq!(
            kfunc_skip_reason(&has, Some("no BTF"), &o, &p, &[]).as_deref(),
            Some("no BTF")
        );
    }

    #[test]
    fn errno_comes_back_from_a_libbpf_rs_error() {
        let e = libbpf_rs::Error::from_raw_os_error(libc::EINVAL);
        assert_eq!(errno(&e), Some(libc::EINVAL));
        let e = libbpf_rs::Error::from_raw_os_error(524);
        assert_eq!(errno(&e), Some(524));
        let e = libbpf_rs::Error::from(std::io::Error::other("no errno here"));
        assert_eq!(errno(&e), None);
    }

    #[test]
    fn log_excerpt_of_empty_log_says_so() {
        assert_eq!(log_excerpt("", 0, false), ["verifier log: (empty)"]);
    }

    #[test]
    fn log_excerpt_is_limited_unless_verbose() {
        let log = (0..100)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let short = log_excerpt(&log, 0, false);
        assert_eq!(short.len(), LOG_TAIL_LINES + 1);
        assert_eq!(short.last().unwrap(), "  line 99");
        assert!(short[0].contains("last 40 lines"));
        assert_eq!(log_excerpt(&log, 0, true).len(), 101);
    }
}
