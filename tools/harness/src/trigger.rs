// SPDX-License-Identifier: GPL-2.0
//! Tests of programs that BPF_PROG_TEST_RUN cannot run (LSM, tracing...):
//! the harness attaches the program, does what makes it run (`__trigger`),
//! detaches it and reads its result from a global variable of the
//! program (`__result`).  An rdynptr extension of the bpf_misc.h
//! annotations; see Documentation/harness.rst.

use anyhow::{anyhow, bail, Context as _};
use libbpf_rs::btf::types::{DataSec, Var};
use libbpf_rs::{MapCore, MapFlags, Object, ProgramMut};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The file `__trigger("open")` opens: made by the harness, with
/// RDYNPTR_TEST_FILE_LEN bytes (include/rdynptr/bpf_test.h).
pub const TEST_FILE: &str = "/tmp/rdynptr-test-file";
/// Its first bytes, by which a program recognizes it.
pub const TEST_FILE_MAGIC: &[u8; 8] = b"RDYNPTR!";
/// Its length: more than a page, not a multiple of one.
pub const TEST_FILE_LEN: usize = 5000;

/// Byte `i` of the test file (RDYNPTR_TEST_FILE_BYTE(i) in bpf_test.h).
pub fn test_file_byte(i: usize) -> u8 {
    match TEST_FILE_MAGIC.get(i) {
        Some(&b) => b,
        None => (i as u8).wrapping_mul(13).wrapping_add(7),
    }
}

/// What `__trigger` does while the program is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a file (the harness's test file if none is named) and read it.
    Open(Option<PathBuf>),
}

impl Action {
    /// Parses the text of `__trigger(...)`.
    pub fn parse(text: &str) -> anyhow::Result<Action> {
        match text.split_once(':') {
            None if text == "open" => Ok(Action::Open(None)),
            Some(("open", path)) if path.starts_with('/') => {
                Ok(Action::Open(Some(PathBuf::from(path))))
            }
            _ => bail!("bad __trigger '{text}': use \"open\" or \"open:/absolute/path\""),
        }
    }

    /// Does it (in the calling thread).
    pub fn run(&self) -> anyhow::Result<()> {
        let path = match self {
            Action::Open(Some(p)) => p.clone(),
            Action::Open(None) => test_file()?.to_owned(),
        };
        let mut f = std::fs::File::open(&path)
            .with_context(|| format!("__trigger: cannot open {}", path.display()))?;
        let mut data = Vec::new();
        f.read_to_end(&mut data)
            .with_context(|| format!("__trigger: cannot read {}", path.display()))?;
        Ok(())
    }
}

/// Makes the test file once per run (the first call writes it).
pub fn test_file() -> anyhow::Result<&'static Path> {
    static MADE: OnceLock<anyhow::Result<()>> = OnceLock::new();
    MADE.get_or_init(|| {
        let data: Vec<u8> = (0..TEST_FILE_LEN).map(test_file_byte).collect();
        std::fs::write(TEST_FILE, data).with_context(|| format!("cannot write {TEST_FILE}"))
    })
    .as_ref()
    .map(|()| Path::new(TEST_FILE))
    // Every caller gets the first one's error (anyhow's is not Clone).
    .map_err(|e| anyhow!("{e:#}"))
}

/// Attaching the program of a `__trigger` test failed with ENOTSUPP:
/// the running kernel cannot attach programs of its kind at all (no BPF
/// trampolines on this architecture or configuration; the runner skips
/// the test).  Any other failure to attach is the test's failure.
#[derive(Debug)]
pub struct NoTrampolines(String);

impl fmt::Display for NoTrampolines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NoTrampolines {}

/// The kernel's ENOTSUPP (include/linux/errno.h), not a libc errno.
const ENOTSUPP: i32 = 524;

/// Attaches `prog`, runs `action` and detaches.
pub fn attach_and_trigger(prog: &ProgramMut<'_>, action: &Action) -> anyhow::Result<()> {
    let link = prog.attach().map_err(|e| {
        attach_error(
            &prog.name().to_string_lossy(),
            crate::runner::errno(&e),
            &e.to_string(),
        )
    })?;
    let r = action.run();
    drop(link);
    r
}

/// The error of a failed attach of program `name` (its errno, if known,
/// and libbpf's message): [`NoTrampolines`] for ENOTSUPP.
fn attach_error(name: &str, errno: Option<i32>, message: &str) -> anyhow::Error {
    match errno {
        Some(ENOTSUPP) => NoTrampolines(format!(
            "__trigger: the running kernel cannot attach {name} (ENOTSUPP: it has no BPF trampolines for this program type here)"
        ))
        .into(),
        Some(n) => anyhow!(
            "__trigger: attaching {name} failed: errno {n} ({})",
            crate::spec::errno_text(n)
        ),
        None => anyhow!("__trigger: attaching {name} failed: {message}"),
    }
}

/// The value of the global integer `var` of `obj` (in .bss or .data).
pub fn read_global(obj: &Object, var: &str) -> anyhow::Result<i64> {
    let btf = crate::runner::object_btf(obj).context("__result")?;
    for sec in [".bss", ".data"] {
        let Some(ds) = btf.type_by_name::<DataSec<'_>>(sec) else {
            continue;
        };
        let Some(info) = ds.iter().find(|i| {
            btf.type_by_id::<Var<'_>>(i.ty)
                .and_then(|v| v.name().map(|n| n.to_string_lossy() == var))
                .unwrap_or(false)
        }) else {
            continue;
        };
        let map = obj
            .maps()
            .find(|m| m.name().to_string_lossy().ends_with(sec))
            .ok_or_else(|| anyhow!("__result: no {sec} map"))?;
        let value = map
            .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
            .with_context(|| format!("__result: reading {sec}"))?
            .ok_or_else(|| anyhow!("__result: {sec} is empty"))?;
        let at = info.offset as usize;
        let bytes = value
            .get(at..at + info.size)
            .ok_or_else(|| anyhow!("__result: {var} lies outside {sec}"))?;
        return match *bytes {
            [a, b, c, d] => Ok(i32::from_ne_bytes([a, b, c, d]).into()),
            [a, b, c, d, e, f, g, h] => Ok(i64::from_ne_bytes([a, b, c, d, e, f, g, h])),
            _ => Err(anyhow!(
                "__result: {var} is {} bytes, not a 32- or 64-bit integer",
                bytes.len()
            )),
        };
    }
    bail!("__result: the program has no global {var} (in .bss or .data)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_actions_are_parsed() {
        assert_eq!(Action::parse("open").unwrap(), Action::Open(None));
        assert_eq!(
            Action::parse("open:/etc/hostname").unwrap(),
            Action::Open(Some("/etc/hostname".into()))
        );
        assert!(Action::parse("open:relative").is_err());
        assert!(Action::parse("exec:/bin/true").is_err());
    }

    #[test]
    fn only_a_kernel_without_trampolines_skips_a_failed_attach() {
        let e = attach_error("p", Some(ENOTSUPP), "");
        assert!(e.downcast_ref::<NoTrampolines>().is_some());
        assert!(
            format!("{e:#}").contains("cannot attach p (ENOTSUPP"),
            "{e:#}"
        );
        // The test's own input refused (a bad target, say): its failure.
        let e = attach_error("p", Some(libc::EINVAL), "x");
        assert!(e.downcast_ref::<NoTrampolines>().is_none());
        assert_eq!(
            format!("{e:#}"),
            "__trigger: attaching p failed: errno 22 (EINVAL: Invalid argument)"
        );
        let e = attach_error("p", None, "no such program");
        assert!(e.downcast_ref::<NoTrampolines>().is_none());
        assert_eq!(
            format!("{e:#}"),
            "__trigger: attaching p failed: no such program"
        );
        // A failed trigger is not a failed attach.
        let e = Action::Open(Some("/nonexistent/rdynptr-test".into()))
            .run()
            .unwrap_err();
        assert!(e.downcast_ref::<NoTrampolines>().is_none());
        let e = format!("{e:#}");
        assert!(
            e.starts_with("__trigger: cannot open /nonexistent/rdynptr-test: "),
            "{e}"
        );
    }

    #[test]
    fn test_file_starts_with_the_magic_then_the_pattern() {
        assert_eq!(test_file_byte(0), b'R');
        assert_eq!(test_file_byte(7), b'!');
        assert_eq!(test_file_byte(8), 8 * 13 + 7);
        assert_eq!(test_file_byte(300), (300usize * 13 + 7) as u8);
    }
}
