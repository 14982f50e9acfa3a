// SPDX-License-Identifier: GPL-2.0
//! Watching the kernel log (/dev/kmsg) and the taint flags for trouble
//! while a module test runs (the patterns: rdynptr_kernel::trouble).

use crate::report::TestReport;
use anyhow::{anyhow, Context as _};
use rdynptr_kernel::trouble::{is_trouble, parse_kmsg};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;

/// Watches the kernel log (and taint flags) for trouble.
pub struct KernelLogWatch {
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

impl KernelLogWatch {
    pub fn start() -> KernelLogWatch {
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
    pub fn problems(&mut self) -> anyhow::Result<Vec<String>> {
        if let Some(e) = &self.error {
            return Err(anyhow!(e.clone()));
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
                    Err(e) => return Err(e).context("reading /dev/kmsg"),
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

/// Fails `r` with whatever `watch` saw since it started.
pub fn check_log(watch: &mut KernelLogWatch, r: &mut TestReport) {
    match watch.problems() {
        Ok(p) if p.is_empty() => {}
        Ok(p) => {
            for line in p {
                r.fail_with(line);
            }
        }
        Err(e) => {
            r.fail_with(format!("cannot check the kernel log: {e:#}"));
        }
    }
}
