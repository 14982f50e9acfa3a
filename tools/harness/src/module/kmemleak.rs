// SPDX-License-Identifier: GPL-2.0
//! The kmemleak scan that ends the stress tests on kernels with kmemleak
//! (the debug flavor).

use crate::report::TestReport;
use std::path::Path;
use std::time::Duration;

const KMEMLEAK: &str = "/sys/kernel/debug/kmemleak";
/// kmemleak does not report objects younger than this (MSECS_MIN_AGE).
const KMEMLEAK_MIN_AGE: Duration = Duration::from_secs(6);

/// With kmemleak (debug kernels): wait until recent objects are old
/// enough to be reported, scan twice, and fail on any suspect.
pub fn check_kmemleak(r: &mut TestReport) {
    if !Path::new(KMEMLEAK).exists() {
        return;
    }
    std::thread::sleep(KMEMLEAK_MIN_AGE);
    for _ in 0..2 {
        if let Err(e) = std::fs::write(KMEMLEAK, "scan") {
            r.fail_with(format!("kmemleak scan failed: {e}"));
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
                r.fail_with(format!("kmemleak: {n} unreferenced object(s):"));
                r.diagnostics
                    .extend(text.lines().take(40).map(str::to_string));
            }
        }
        Err(e) => {
            r.fail_with(format!("cannot read {KMEMLEAK}: {e}"));
        }
    }
}
