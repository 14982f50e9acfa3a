// SPDX-License-Identifier: GPL-2.0
//! Collects libbpf's own messages (through its print callback) so that a
//! failing test can show them next to the verifier log.

use libbpf_rs::PrintLevel;
use std::sync::Mutex;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn collect(_level: PrintLevel, msg: String) {
    if let Ok(mut lines) = LINES.lock() {
        lines.extend(msg.lines().map(|l| l.trim_end().to_string()));
    }
}

/// Routes libbpf's warnings and info messages into the buffer instead of
/// stderr.
pub fn install() {
    libbpf_rs::set_print(Some((PrintLevel::Info, collect)));
}

/// Messages since the last call.
pub fn take() -> Vec<String> {
    LINES
        .lock()
        .map(|mut l| std::mem::take(&mut *l))
        .unwrap_or_default()
}
