// SPDX-License-Identifier: GPL-2.0
//! The module's system calls and sysfs state: finit_module(),
//! delete_module(), /sys/module/rdynptr, rmmod(8).

use anyhow::{anyhow, bail, Context as _};
use rdynptr_kernel::btf::SYSFS_BTF;
use rdynptr_kernel::MODULE;
use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long to wait for the module to become unused after its last
/// program is closed: the kernel frees programs (and drops their module
/// references) from RCU callbacks and work queues.
const UNLOAD_TIMEOUT: Duration = Duration::from_secs(10);

pub fn errno_str(e: i32) -> String {
    std::io::Error::from_raw_os_error(e).to_string()
}

pub fn module_dir() -> PathBuf {
    Path::new("/sys/module").join(MODULE)
}

pub fn module_btf() -> PathBuf {
    Path::new(SYSFS_BTF).join(MODULE)
}

/// The module's state from /sys/module/<name>/initstate ("live", ...).
pub fn module_state() -> Option<String> {
    std::fs::read_to_string(module_dir().join("initstate"))
        .ok()
        .map(|s| s.trim().to_string())
}

pub fn module_refcnt() -> Option<i64> {
    std::fs::read_to_string(module_dir().join("refcnt"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// finit_module() of the module file.
pub fn insmod(ko: &Path) -> anyhow::Result<()> {
    let f = File::open(ko).with_context(|| format!("cannot open {}", ko.display()))?;
    let params = c"";
    // SAFETY: finit_module takes a file descriptor (valid while `f`
    // lives), a NUL-terminated parameter string and flags; it does not
    // retain the pointers.
    let rc = unsafe { libc::syscall(libc::SYS_finit_module, f.as_raw_fd(), params.as_ptr(), 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
            .with_context(|| format!("finit_module({}) failed", ko.display()))
    }
}

/// One delete_module(O_NONBLOCK) attempt on the rdynptr module;
/// Err(errno) on failure.
pub fn delete_module_once() -> Result<(), i32> {
    delete_module(MODULE)
}

/// One delete_module(O_NONBLOCK) attempt on module `name`; Err(errno) on
/// failure.
pub fn delete_module(name: &str) -> Result<(), i32> {
    let name = CString::new(name).map_err(|_| libc::EINVAL)?;
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
pub fn rmmod_wait() -> anyhow::Result<Duration> {
    let start = Instant::now();
    // The module is busy until the last program that used it is freed,
    // an RCU grace period after it was closed (15 to 30 ms under TCG):
    // poll every millisecond, so as to unload it as soon as it is free.
    // (A backoff to 20 ms overslept the grace period by 10 ms on average,
    // a third of a cycle of module/load_unload_cycles.)
    let pause = Duration::from_millis(1);
    loop {
        match delete_module_once() {
            Ok(()) => return Ok(start.elapsed()),
            Err(e)
                if (e == libc::EAGAIN || e == libc::EBUSY) && start.elapsed() < UNLOAD_TIMEOUT =>
            {
                std::thread::sleep(pause);
            }
            Err(e) => bail!(
                "delete_module({MODULE}) failed after {:?}: {} (refcnt {:?})",
                start.elapsed(),
                errno_str(e),
                module_refcnt()
            ),
        }
    }
}

/// Loads the module unless it is loaded.
pub fn ensure_loaded(ko: &Path) -> anyhow::Result<bool> {
    if module_state().is_some() {
        return Ok(false);
    }
    insmod(ko)?;
    Ok(true)
}

/// Runs rmmod(8), which must refuse to unload the module in use.
/// None if there is no rmmod; Ok(its message) if it refused; Err if it
/// did not.
pub fn rmmod_tool() -> Option<anyhow::Result<String>> {
    let out = std::process::Command::new("rmmod")
        .arg(MODULE)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stderr).trim().to_string();
    Some(if out.status.success() {
        Err(anyhow!(
            "rmmod succeeded while programs using the module were loaded"
        ))
    } else if says_in_use(&text) {
        Ok(text)
    } else {
        Err(anyhow!("rmmod failed, but not with \"in use\": {text}"))
    })
}

/// Whether rmmod(8)'s message says the module is in use: kmod's rmmod
/// says so in words, busybox's gives the text of the errno with which the
/// kernel refused (EAGAIN or EBUSY, as delete_module above accepts).
fn says_in_use(text: &str) -> bool {
    text.contains("in use")
        || [libc::EAGAIN, libc::EBUSY].into_iter().any(|e| {
            let s = std::io::Error::from_raw_os_error(e).to_string();
            text.contains(s.split(" (os error").next().unwrap_or(&s))
        })
}

#[cfg(test)]
mod tests {
    use super::says_in_use;

    #[test]
    fn rmmod_in_use_in_kmod_and_busybox_words() {
        assert!(says_in_use("rmmod: ERROR: Module rdynptr is in use"));
        assert!(says_in_use(
            "rmmod: can't unload module 'rdynptr': Resource temporarily unavailable"
        ));
        assert!(says_in_use(
            "rmmod: can't unload module 'rdynptr': Device or resource busy"
        ));
        assert!(!says_in_use(
            "rmmod: can't unload module 'rdynptr': Operation not permitted"
        ));
    }
}
