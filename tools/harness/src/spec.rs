// SPDX-License-Identifier: GPL-2.0
//! Test annotations: BTF decl tags "comment:<counter>:<tag>" on a program's
//! FUNC, as written by include/rdynptr/bpf_test.h, parsed into a [`TestSpec`].

use crate::logmatch::Pattern;
use anyhow::{anyhow, bail};
use std::fmt;

/// Expected return value of a test run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retval {
    /// The 32-bit value (the kernel reports retval as u32; -1 == 0xffffffff).
    Value(u32),
    /// POINTER_VALUE: the program is run, any value is accepted.
    Any,
}

/// The value of POINTER_VALUE in bpf_test.h (and the kernel's bpf_misc.h).
pub const POINTER_VALUE: u32 = 0x0bad_cafe;
/// The value of TEST_DATA_LEN in bpf_test.h: the test packet's length.
pub const TEST_DATA_LEN: u32 = 64;

impl Retval {
    pub fn accepts(self, got: u32) -> bool {
        match self {
            Retval::Any => true,
            Retval::Value(v) => v == got,
        }
    }
}

impl fmt::Display for Retval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Retval::Any => write!(f, "any (POINTER_VALUE)"),
            Retval::Value(v) => write!(f, "{}", fmt_retval(*v)),
        }
    }
}

/// "-22 (0xffffffea)" style: the signed value, plus hex when negative.
pub fn fmt_retval(v: u32) -> String {
    let s = v as i32;
    if s < 0 {
        format!("{s} ({v:#x})")
    } else {
        format!("{s}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    Jited,
    NoJited,
}

/// The two ways test_loader runs a program: with the harness's
/// capabilities, and without CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_PERFMON and
/// CAP_BPF (the `_unpriv` annotations; the test's name gets " @unpriv").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Priv,
    Unpriv,
}

/// What the `_unpriv` annotations say; what they leave out is taken from
/// the privileged expectations (test_loader's rules).
#[derive(Debug, Clone, Default)]
pub struct UnprivSpec {
    pub expect_failure: Option<bool>,
    pub messages: Vec<Pattern>,
    pub xlated: Vec<Pattern>,
    pub jited: Vec<Pattern>,
    pub stderr: Vec<Pattern>,
    pub stdout: Vec<Pattern>,
    pub retval: Option<Retval>,
    /// __caps_unpriv: capabilities (bit numbers) kept without privileges.
    pub caps: u64,
}

/// Everything the annotations of one program say.  The expectations at
/// the top are those of the mode the spec is for ([`TestSpec::for_mode`]).
#[derive(Debug, Clone, Default)]
pub struct TestSpec {
    pub expect_failure: bool,
    pub messages: Vec<Pattern>,
    pub retval: Option<Retval>,
    /// __xlated: the program after the verifier's rewrites, as the kernel's
    /// disassembler prints it ("N: insn").
    pub xlated: Vec<Pattern>,
    /// __jited: the JITed code (only those of this architecture's __arch).
    pub jited: Vec<Pattern>,
    /// __stderr / __stdout: the program's BPF streams after the test run.
    pub stderr: Vec<Pattern>,
    pub stdout: Vec<Pattern>,
    /// The mode this spec is for.
    pub mode: Mode,
    /// The modes the program is tested in (test_loader's mode mask).
    pub priv_mode: bool,
    pub unpriv_mode: bool,
    /// The `_unpriv` annotations.
    pub unpriv: UnprivSpec,
    /// __btf_path / __btf_func_path: BTF to resolve kfuncs (and, for
    /// __btf_func_path, to name the parameters of __naked subprograms).
    pub btf_path: Option<String>,
    pub btf_func_path: Option<String>,
    /// Written with include/rdynptr/bpf_test.h: test-run with rdynptr's
    /// test packet (Documentation/harness.rst); bpf_misc.h programs get
    /// test_loader's 64 zero bytes.
    pub rdynptr_packet: bool,
    pub description: Option<String>,
    pub log_level: Option<u32>,
    pub flags_set: u32,
    pub flags_clear: u32,
    pub needs_kfuncs: Vec<String>,
    /// __kernel_twin: the program that does the same with the kernel's
    /// own kfuncs, whose verdict on the running kernel decides whether the
    /// test applies there.
    pub kernel_twin: Option<String>,
    /// Architectures from __arch_* (kernel spelling: X86_64, ARM64, ...).
    pub arches: Vec<String>,
    /// __auxiliary: loaded with the tests of the same object (in the
    /// privileged mode), not a test itself; __auxiliary_unpriv: the same
    /// for the unprivileged mode.
    pub auxiliary: bool,
    pub auxiliary_unpriv: bool,
    pub load_mode: Option<LoadMode>,
    /// __linear_size: bytes of the test packet in the linear area of the
    /// skb (the rest in page fragments), or in the first buffer of a
    /// multi-buffer XDP frame (our extension; 0: all of it).
    pub linear_size: Option<u32>,
    /// __trigger: attach the program and do this instead of test-running
    /// it (rdynptr extension).
    pub trigger: Option<crate::trigger::Action>,
    /// __result: the global variable __retval is compared with (with
    /// __trigger; rdynptr extension).
    pub result: Option<String>,
    /// Tags this harness does not know: ignored, as test_loader.c ignores
    /// the tags it does not know (a failed test lists them).
    pub unknown: Vec<String>,
    /// Malformed annotations; the test fails with these.
    pub errors: Vec<String>,
}

impl TestSpec {
    /// Program flags after applying __flag() on top of `base`.
    pub fn apply_flags(&self, base: u32) -> u32 {
        (base | self.flags_set) & !self.flags_clear
    }

    /// Does the test read the verifier log of a successful load?
    pub fn wants_log(&self) -> bool {
        !self.messages.is_empty()
    }

    /// The modes the program is a test in (none for an auxiliary one).
    pub fn test_modes(&self) -> Vec<Mode> {
        if self.auxiliary || self.auxiliary_unpriv {
            return Vec::new();
        }
        let mut v = Vec::new();
        if self.priv_mode {
            v.push(Mode::Priv);
        }
        if self.unpriv_mode {
            v.push(Mode::Unpriv);
        }
        v
    }

    /// Whether an auxiliary program is loaded with tests of mode `m`: it
    /// is auxiliary, and tested in that mode (test_loader's rule).
    pub fn auxiliary_in(&self, m: Mode) -> bool {
        (self.auxiliary || self.auxiliary_unpriv)
            && match m {
                Mode::Priv => self.priv_mode,
                Mode::Unpriv => self.unpriv_mode,
            }
    }

    /// The spec of the test in mode `m`: the unprivileged expectations
    /// where the `_unpriv` annotations give them, else the privileged ones.
    pub fn for_mode(&self, m: Mode) -> TestSpec {
        let mut s = self.clone();
        s.mode = m;
        if m == Mode::Unpriv {
            let u = &self.unpriv;
            s.expect_failure = u.expect_failure.unwrap_or(self.expect_failure);
            if u.retval.is_some() {
                s.retval = u.retval;
            }
            let pick = |mine: &Vec<Pattern>, theirs: &Vec<Pattern>| {
                if mine.is_empty() {
                    theirs.clone()
                } else {
                    mine.clone()
                }
            };
            s.messages = pick(&u.messages, &self.messages);
            s.xlated = pick(&u.xlated, &self.xlated);
            s.jited = pick(&u.jited, &self.jited);
            s.stderr = pick(&u.stderr, &self.stderr);
            s.stdout = pick(&u.stdout, &self.stdout);
        }
        s
    }
}

/// The name of the test of program `prog` in mode `m`.
pub fn test_name(object: &str, prog: &str, m: Mode) -> String {
    match m {
        Mode::Priv => format!("{object}/{prog}"),
        Mode::Unpriv => format!("{object}/{prog} @unpriv"),
    }
}

/// The tag text after "comment:" and the optional "<counter>:", plus the
/// counter; None if the tag is not a test annotation.
fn strip_prefix(tag: &str) -> Option<(Option<u64>, &str)> {
    let rest = tag.strip_prefix("comment:")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && rest.as_bytes().get(digits) == Some(&b':') {
        let counter = rest[..digits].parse().ok();
        Some((counter, &rest[digits + 1..]))
    } else {
        Some((None, rest))
    }
}

/// Orders annotations as in the source: by __COUNTER__, tags without a
/// counter (older headers) keep their BTF order and come first.
fn sorted_bodies<'a>(tags: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<(Option<u64>, usize, &str)> = tags
        .iter()
        .enumerate()
        .filter_map(|(i, t)| strip_prefix(t).map(|(c, body)| (c, i, body)))
        .collect();
    v.sort_by_key(|&(c, i, _)| (c, i));
    v.into_iter().map(|(_, _, b)| b).collect()
}

/// Architecture names of __arch_*, as used in the kernel's tags.
pub const ARCHES: &[&str] = &["X86_64", "ARM64", "RISCV64", "s390x", "LOONGARCH"];

/// The __arch_* name of the architecture this binary runs on.
pub fn current_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "X86_64",
        "aarch64" => "ARM64",
        "riscv64" => "RISCV64",
        "s390x" => "s390x",
        "loongarch64" => "LOONGARCH",
        _ => "unknown",
    }
}

/// Parses the decl tags of one program.  Returns None when none of them is
/// a "comment:" annotation: such a program is not a test.
pub fn parse_tags(tags: &[&str]) -> Option<TestSpec> {
    let bodies = sorted_bodies(tags);
    if bodies.is_empty() {
        return None;
    }
    let mut st = Parse::default();
    for body in bodies {
        let (key, val) = match body.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (body, None),
        };
        if let Err(e) = apply(&mut st, key, val) {
            st.spec.errors.push(format!("{e:#}"));
        }
    }
    let mut spec = st.spec;
    if !spec.priv_mode && !spec.unpriv_mode {
        spec.priv_mode = true;
    }
    Some(spec)
}

/// The state of parsing one program's annotations.
struct Parse {
    spec: TestSpec,
    /// Whether the next pattern of each disassembly or stream list must be
    /// on the line after the previous one (a "..." pattern clears it):
    /// xlated, jited, stderr, stdout, then the same for the unprivileged
    /// mode.
    next_line: [bool; 8],
    /// An __arch_* came before (for __jited), and it is this machine's:
    /// only then are the __jited patterns that follow kept.
    arch_seen: bool,
    collect_jit: bool,
}

impl Default for Parse {
    fn default() -> Self {
        Parse {
            spec: TestSpec::default(),
            next_line: [true; 8],
            arch_seen: false,
            collect_jit: false,
        }
    }
}

/// The disassembly and stream lists a tag adds to.
#[derive(Clone, Copy)]
enum List {
    Xlated,
    Jited,
    Stderr,
    Stdout,
}

impl Parse {
    /// Adds a disassembly or stream pattern (test_loader's
    /// push_disasm_msg): "..." only lets the next one match further down.
    fn push_line(&mut self, list: List, unpriv: bool, text: &str) -> anyhow::Result<()> {
        let k = list as usize + if unpriv { 4 } else { 0 };
        if text == "..." {
            self.next_line[k] = false;
            return Ok(());
        }
        let p = Pattern::on_line(text, self.next_line[k])?;
        self.next_line[k] = true;
        let s = &mut self.spec;
        let v = match (list, unpriv) {
            (List::Xlated, false) => &mut s.xlated,
            (List::Jited, false) => &mut s.jited,
            (List::Stderr, false) => &mut s.stderr,
            (List::Stdout, false) => &mut s.stdout,
            (List::Xlated, true) => &mut s.unpriv.xlated,
            (List::Jited, true) => &mut s.unpriv.jited,
            (List::Stderr, true) => &mut s.unpriv.stderr,
            (List::Stdout, true) => &mut s.unpriv.stdout,
        };
        v.push(p);
        Ok(())
    }
}

fn need<'a>(key: &str, val: Option<&'a str>) -> anyhow::Result<&'a str> {
    val.ok_or_else(|| anyhow!("annotation {key} needs a value ({key}=...)"))
}

fn apply(st: &mut Parse, key: &str, val: Option<&str>) -> anyhow::Result<()> {
    let spec = &mut st.spec;
    match key {
        "test_expect_success" | "test_expect_failure" => {
            spec.expect_failure = key == "test_expect_failure";
            spec.priv_mode = true;
        }
        "test_expect_success_unpriv" | "test_expect_failure_unpriv" => {
            spec.unpriv.expect_failure = Some(key == "test_expect_failure_unpriv");
            spec.unpriv_mode = true;
        }
        "test_expect_msg" | "test_expect_not_msg" => {
            let text = need(key, val)?;
            spec.messages
                .push(Pattern::new(text, key == "test_expect_not_msg")?);
            spec.priv_mode = true;
        }
        "test_expect_msg_unpriv" | "test_expect_not_msg_unpriv" => {
            let text = need(key, val)?;
            spec.unpriv
                .messages
                .push(Pattern::new(text, key == "test_expect_not_msg_unpriv")?);
            spec.unpriv_mode = true;
        }
        "test_expect_xlated" | "test_expect_xlated_unpriv" => {
            let unpriv = key.ends_with("_unpriv");
            st.push_line(List::Xlated, unpriv, need(key, val)?)?;
            if unpriv {
                st.spec.unpriv_mode = true;
            } else {
                st.spec.priv_mode = true;
            }
        }
        "test_jited" | "test_jited_unpriv" => {
            if !st.arch_seen {
                bail!("__jited before __arch_* (the code is per architecture)");
            }
            let unpriv = key.ends_with("_unpriv");
            if st.collect_jit {
                st.push_line(List::Jited, unpriv, need(key, val)?)?;
                if unpriv {
                    st.spec.unpriv_mode = true;
                } else {
                    st.spec.priv_mode = true;
                }
            }
        }
        "test_expect_stderr" | "test_expect_stderr_unpriv" => {
            st.push_line(List::Stderr, key.ends_with("_unpriv"), need(key, val)?)?;
        }
        "test_expect_stdout" | "test_expect_stdout_unpriv" => {
            st.push_line(List::Stdout, key.ends_with("_unpriv"), need(key, val)?)?;
        }
        "test_retval" => {
            spec.retval = Some(parse_retval(need(key, val)?)?);
            spec.priv_mode = true;
        }
        "test_retval_unpriv" => {
            spec.unpriv.retval = Some(parse_retval(need(key, val)?)?);
            spec.unpriv_mode = true;
        }
        "test_caps_unpriv" => {
            let v = need(key, val)?;
            for cap in v.split('|').map(str::trim) {
                let n: u32 = cap.parse().map_err(|_| {
                    anyhow!("bad __caps_unpriv value '{v}' (capability numbers joined by |)")
                })?;
                if n == 0 || n > 63 {
                    bail!("bad __caps_unpriv capability {n}");
                }
                spec.unpriv.caps |= 1 << n;
            }
            spec.unpriv_mode = true;
        }
        "test_btf_path" => spec.btf_path = Some(need(key, val)?.to_string()),
        "test_btf_func_path" => spec.btf_func_path = Some(need(key, val)?.to_string()),
        "test_rdynptr_packet" => spec.rdynptr_packet = true,
        "test_description" => spec.description = Some(need(key, val)?.to_string()),
        "test_log_level" => {
            let v = need(key, val)?;
            let n = parse_int(v).ok_or_else(|| anyhow!("bad __log_level value '{v}'"))?;
            spec.log_level =
                Some(u32::try_from(n).map_err(|_| anyhow!("bad __log_level value '{v}'"))?);
        }
        "test_prog_flags" => {
            let v = need(key, val)?;
            let (clear, name) = match v.strip_prefix('!') {
                Some(n) => (true, n),
                None => (false, v),
            };
            let flag = parse_prog_flag(name).ok_or_else(|| anyhow!("bad __flag value '{v}'"))?;
            if clear {
                spec.flags_set &= !flag;
                spec.flags_clear |= flag;
            } else {
                spec.flags_set |= flag;
                spec.flags_clear &= !flag;
            }
        }
        "test_auxiliary" => {
            spec.auxiliary = true;
            spec.priv_mode = true;
        }
        "test_auxiliary_unpriv" => {
            spec.auxiliary_unpriv = true;
            spec.unpriv_mode = true;
        }
        "test_arch" => {
            let v = need(key, val)?;
            if !ARCHES.contains(&v) {
                bail!("bad __arch value '{v}'");
            }
            spec.arches.push(v.to_string());
            st.arch_seen = true;
            st.collect_jit = v == current_arch();
            // A new __arch starts a new list of __jited lines.
            st.next_line[List::Jited as usize] = true;
            st.next_line[List::Jited as usize + 4] = true;
        }
        "load_mode" => {
            spec.load_mode = Some(match need(key, val)? {
                "jited" => LoadMode::Jited,
                "no_jited" => LoadMode::NoJited,
                v => bail!("bad load_mode value '{v}'"),
            })
        }
        "test_linear_size" => {
            let v = need(key, val)?.trim();
            spec.linear_size = Some(
                v.parse()
                    .map_err(|_| anyhow!("bad __linear_size value '{v}'"))?,
            );
        }
        "test_trigger" => {
            spec.trigger = Some(crate::trigger::Action::parse(need(key, val)?.trim())?);
        }
        "test_result" => {
            let v = need(key, val)?.trim();
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                bail!("bad __result variable '{v}'");
            }
            spec.result = Some(v.to_string());
        }
        "test_kernel_twin" => {
            let v = need(key, val)?.trim();
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                bail!("bad __kernel_twin program '{v}'");
            }
            spec.kernel_twin = Some(v.to_string());
        }
        "test_needs_kfunc" => {
            let v = need(key, val)?.trim();
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                bail!("bad __needs_kfunc name '{v}'");
            }
            spec.needs_kfuncs.push(v.to_string());
        }
        _ => {
            if !spec.unknown.iter().any(|k| k == key) {
                spec.unknown.push(key.to_string());
            }
        }
    }
    Ok(())
}

/// Decimal or 0x-hex, optionally negative.
fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d.trim_start()),
        None => (false, s),
    };
    let v = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(hex, 16).ok()?
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -v } else { v })
}

/// Errno names accepted by __retval(-NAME).
const ERRNOS: &[(&str, i64)] = &[
    ("EPERM", 1),
    ("ENOENT", 2),
    ("E2BIG", 7),
    ("EAGAIN", 11),
    ("ENOMEM", 12),
    ("EFAULT", 14),
    ("EBUSY", 16),
    ("EEXIST", 17),
    ("EINVAL", 22),
    ("ENOSPC", 28),
    ("ERANGE", 34),
    ("EOPNOTSUPP", 95),
    ("ENOTSUPP", 524),
];

/// An errno as a reader wants it: "EINVAL: Invalid argument" (the name
/// where __retval knows it, then the C library's text).
pub fn errno_text(n: i32) -> String {
    let text = std::io::Error::from_raw_os_error(n).to_string();
    let text = text
        .strip_suffix(&format!(" (os error {n})"))
        .unwrap_or(&text)
        .to_string();
    match ERRNOS.iter().find(|(_, v)| *v == i64::from(n)) {
        Some((name, _)) => format!("{name}: {text}"),
        None => text,
    }
}

/// Parses the text of __retval(): what the C preprocessor made of the
/// argument.
pub fn parse_retval(text: &str) -> anyhow::Result<Retval> {
    let mut s = text.trim();
    // "(-22)" from a parenthesised macro.
    while s.len() >= 2 && s.starts_with('(') && s.ends_with(')') {
        s = s[1..s.len() - 1].trim();
    }
    let bad = || anyhow!("bad __retval value '{text}'");
    let v: i64 = match s {
        "_INT_MIN" | "INT_MIN" => i64::from(i32::MIN),
        "INT_MAX" => i64::from(i32::MAX),
        "POINTER_VALUE" => return Ok(Retval::Any),
        "TEST_DATA_LEN" => i64::from(TEST_DATA_LEN),
        _ => match parse_int(s) {
            Some(v) => v,
            None => {
                let (neg, name) = match s.strip_prefix('-') {
                    Some(n) => (true, n.trim()),
                    None => (false, s),
                };
                let (_, e) = ERRNOS.iter().find(|(n, _)| *n == name).ok_or_else(bad)?;
                if neg {
                    -e
                } else {
                    *e
                }
            }
        },
    };
    if !(i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&v) {
        bail!("__retval value '{text}' does not fit in 32 bits");
    }
    let bits = v as u32;
    if bits == POINTER_VALUE {
        return Ok(Retval::Any);
    }
    Ok(Retval::Value(bits))
}

fn parse_prog_flag(name: &str) -> Option<u32> {
    use libbpf_rs::libbpf_sys as sys;
    let v = match name {
        "BPF_F_STRICT_ALIGNMENT" => sys::BPF_F_STRICT_ALIGNMENT,
        "BPF_F_ANY_ALIGNMENT" => sys::BPF_F_ANY_ALIGNMENT,
        "BPF_F_TEST_RND_HI32" => sys::BPF_F_TEST_RND_HI32,
        "BPF_F_TEST_STATE_FREQ" => sys::BPF_F_TEST_STATE_FREQ,
        "BPF_F_SLEEPABLE" => sys::BPF_F_SLEEPABLE,
        "BPF_F_XDP_HAS_FRAGS" => sys::BPF_F_XDP_HAS_FRAGS,
        "BPF_F_TEST_REG_INVARIANTS" => sys::BPF_F_TEST_REG_INVARIANTS,
        _ => return u32::try_from(parse_int(name)?).ok(),
    };
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(tags: &[&str]) -> TestSpec {
        parse_tags(tags).expect("annotated")
    }

    #[test]
    fn program_without_comment_tags_is_not_a_test() {
        assert!(parse_tags(&[]).is_none());
        assert!(parse_tags(&["bpf_fastcall", "some_tag"]).is_none());
    }

    #[test]
    fn default_expectation_is_success() {
        let s = spec(&["comment:3:test_description=hello"]);
        assert!(!s.expect_failure);
        assert_eq!(s.description.as_deref(), Some("hello"));
        assert!(s.retval.is_none());
    }

    #[test]
    fn failure_and_messages_keep_source_order_by_counter() {
        // BTF order differs from source order; the counter restores it.
        let s = spec(&[
            "comment:12:test_expect_msg=second",
            "comment:9:test_expect_failure",
            "comment:10:test_expect_msg=first",
            "comment:100:test_expect_msg=third",
        ]);
        assert!(s.expect_failure);
        let texts: Vec<&str> = s.messages.iter().map(|m| m.text()).collect();
        assert_eq!(texts, ["first", "second", "third"]);
    }

    #[test]
    fn last_of_success_and_failure_wins() {
        assert!(
            !spec(&[
                "comment:1:test_expect_failure",
                "comment:2:test_expect_success"
            ])
            .expect_failure
        );
        assert!(
            spec(&[
                "comment:1:test_expect_success",
                "comment:2:test_expect_failure"
            ])
            .expect_failure
        );
    }

    #[test]
    fn tags_without_counter_are_accepted() {
        let s = spec(&["comment:test_expect_failure", "comment:test_expect_msg=x"]);
        assert!(s.expect_failure);
        assert_eq!(s.messages.len(), 1);
    }

    #[test]
    fn message_text_keeps_equals_signs_and_colons() {
        let s = spec(&["comment:1:test_expect_msg=R1 type=scalar expected=fp: x"]);
        assert_eq!(s.messages[0].text(), "R1 type=scalar expected=fp: x");
    }

    #[test]
    fn not_msg_is_negative() {
        let s = spec(&[
            "comment:1:test_expect_msg=a",
            "comment:2:test_expect_not_msg=b",
        ]);
        assert!(!s.messages[0].is_negative());
        assert!(s.messages[1].is_negative());
    }

    #[test]
    fn retval_forms() {
        assert_eq!(parse_retval("0").unwrap(), Retval::Value(0));
        assert_eq!(parse_retval("42").unwrap(), Retval::Value(42));
        assert_eq!(parse_retval("-1").unwrap(), Retval::Value(u32::MAX));
        assert_eq!(parse_retval("0xffffffff").unwrap(), Retval::Value(u32::MAX));
        assert_eq!(parse_retval("-0x10").unwrap(), Retval::Value(-16i32 as u32));
        assert_eq!(parse_retval("(-22)").unwrap(), Retval::Value(-22i32 as u32));
        assert_eq!(
            parse_retval("-EINVAL").unwrap(),
            Retval::Value(-22i32 as u32)
        );
        assert_eq!(
            parse_retval("-ERANGE").unwrap(),
            Retval::Value(-34i32 as u32)
        );
        assert_eq!(
            parse_retval("-EOPNOTSUPP").unwrap(),
            Retval::Value(-95i32 as u32)
        );
        assert_eq!(
            parse_retval("_INT_MIN").unwrap(),
            Retval::Value(0x8000_0000)
        );
        assert_eq!(parse_retval("0xbadcafe").unwrap(), Retval::Any);
        assert_eq!(parse_retval("POINTER_VALUE").unwrap(), Retval::Any);
        assert_eq!(parse_retval("TEST_DATA_LEN").unwrap(), Retval::Value(64));
    }

    #[test]
    fn bad_retval_is_an_error_not_a_default() {
        assert!(parse_retval("").is_err());
        assert!(parse_retval("-EWHATEVER").is_err());
        assert!(parse_retval("1 + 1").is_err());
        assert!(parse_retval("0x1ffffffff").is_err());
        assert!(parse_retval("-2147483649").is_err());
        let s = spec(&["comment:1:test_retval=banana"]);
        assert_eq!(s.errors.len(), 1);
        assert!(s.errors[0].contains("banana"));
        assert!(s.retval.is_none());
    }

    #[test]
    fn retval_comparison_is_on_32_bits() {
        let r = parse_retval("-1").unwrap();
        assert!(r.accepts(0xffff_ffff));
        assert!(!r.accepts(1));
        assert!(Retval::Any.accepts(7));
    }

    #[test]
    fn log_level_and_flags() {
        let s = spec(&[
            "comment:1:test_log_level=2",
            "comment:2:test_prog_flags=BPF_F_STRICT_ALIGNMENT",
            "comment:3:test_prog_flags=0x8",
            "comment:4:test_prog_flags=!BPF_F_TEST_RND_HI32",
        ]);
        assert_eq!(s.log_level, Some(2));
        assert_eq!(s.flags_set, 1 | 8);
        assert_eq!(s.flags_clear, 4);
        assert_eq!(s.apply_flags(4 | 16), 1 | 8 | 16);
        assert!(spec(&["comment:1:test_log_level=x"]).errors.len() == 1);
        assert!(spec(&["comment:1:test_prog_flags=BPF_F_NOPE"]).errors.len() == 1);
    }

    #[test]
    fn unknown_tags_are_kept_and_ignored() {
        let s = spec(&["comment:1:test_expect_success", "comment:2:test_frobnicate"]);
        assert_eq!(s.unknown, ["test_frobnicate"]);
        assert!(s.errors.is_empty());
    }

    #[test]
    fn unpriv_annotations_add_a_test_that_inherits_the_rest() {
        let s = spec(&[
            "comment:1:test_expect_success",
            "comment:2:test_expect_msg=a",
            "comment:3:test_retval=3",
            "comment:4:test_expect_failure_unpriv",
            "comment:5:test_caps_unpriv=21|39",
        ]);
        assert_eq!(s.test_modes(), [Mode::Priv, Mode::Unpriv]);
        let u = s.for_mode(Mode::Unpriv);
        assert!(u.expect_failure && u.mode == Mode::Unpriv);
        assert_eq!(u.messages.len(), 1, "inherited __msg");
        assert_eq!(u.retval, Some(Retval::Value(3)));
        assert_eq!(u.unpriv.caps, (1 << 21) | (1 << 39));
        let p = s.for_mode(Mode::Priv);
        assert!(!p.expect_failure);
        // Only unprivileged annotations: only the unprivileged test.
        let s = spec(&["comment:1:test_expect_success_unpriv"]);
        assert_eq!(s.test_modes(), [Mode::Unpriv]);
        assert_eq!(test_name("o", "p", Mode::Unpriv), "o/p @unpriv");
        // No mode annotation at all: privileged.
        assert_eq!(
            spec(&["comment:1:test_log_level=2"]).test_modes(),
            [Mode::Priv]
        );
        // Auxiliary programs are no tests.
        assert!(spec(&["comment:1:test_auxiliary_unpriv"])
            .test_modes()
            .is_empty());
    }

    #[test]
    fn xlated_lines_must_follow_each_other_unless_dots_come_between() {
        let s = spec(&[
            "comment:1:test_expect_xlated=0: r0 = 0",
            "comment:2:test_expect_xlated=1: exit",
            "comment:3:test_expect_xlated=...",
            "comment:4:test_expect_xlated=5: exit",
        ]);
        assert_eq!(s.xlated.len(), 3);
        let log = "0: r0 = 0\n1: exit\n2: r1 = 1\n5: exit\n";
        assert!(crate::logmatch::match_log(log, &s.xlated).ok());
        let log = "0: r0 = 0\n9: r1 = 1\n1: exit\n5: exit\n";
        assert!(!crate::logmatch::match_log(log, &s.xlated).ok());
    }

    #[test]
    fn jited_needs_an_arch_and_keeps_only_this_ones() {
        let s = spec(&["comment:1:test_jited=nop"]);
        assert_eq!(s.errors.len(), 1);
        let other = if current_arch() == "ARM64" {
            "X86_64"
        } else {
            "ARM64"
        };
        let s = spec(&[
            &format!("comment:1:test_arch={other}"),
            "comment:2:test_jited=other",
            &format!("comment:3:test_arch={}", current_arch()),
            "comment:4:test_jited=mine",
        ]);
        assert_eq!(s.jited.len(), 1);
        assert_eq!(s.jited[0].text(), "mine");
    }

    #[test]
    fn linear_size_is_read() {
        let s = spec(&[
            "comment:1:test_expect_success",
            "comment:2:test_linear_size=14",
        ]);
        assert_eq!(s.linear_size, Some(14));
        assert!(s.unknown.is_empty() && s.errors.is_empty());
        let s = spec(&["comment:1:test_linear_size=x"]);
        assert_eq!(s.errors.len(), 1, "{:?}", s.errors);
    }

    #[test]
    fn kernel_twin_is_read() {
        let s = spec(&[
            "comment:1:test_expect_failure",
            "comment:2:test_kernel_twin=kernel_clone_x",
        ]);
        assert_eq!(s.kernel_twin.as_deref(), Some("kernel_clone_x"));
        assert!(s.unknown.is_empty() && s.errors.is_empty());
        let s = spec(&["comment:1:test_kernel_twin=not a name"]);
        assert_eq!(s.errors.len(), 1, "{:?}", s.errors);
    }

    #[test]
    fn needs_kfunc_arch_load_mode_auxiliary() {
        let s = spec(&[
            "comment:1:test_needs_kfunc=bpf_rdynptr_clone",
            "comment:2:test_arch=X86_64",
            "comment:3:load_mode=jited",
            "comment:4:test_auxiliary",
        ]);
        assert_eq!(s.needs_kfuncs, ["bpf_rdynptr_clone"]);
        assert_eq!(s.arches, ["X86_64"]);
        assert_eq!(s.load_mode, Some(LoadMode::Jited));
        assert!(s.auxiliary);
        assert_eq!(spec(&["comment:1:test_needs_kfunc=\"x\""]).errors.len(), 1);
        assert_eq!(spec(&["comment:1:test_arch=PDP11"]).errors.len(), 1);
    }

    #[test]
    fn bad_regex_in_msg_is_an_error() {
        let s = spec(&["comment:1:test_expect_msg=x{{("]);
        assert_eq!(s.errors.len(), 1);
    }
}
