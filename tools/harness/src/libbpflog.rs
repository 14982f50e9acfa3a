// SPDX-License-Identifier: GPL-2.0
//! Collects libbpf's own messages (through its print callback) so that a
//! failing test can show them next to the verifier log.
//!
//! libbpf calls the callback on the thread that called into it, so each
//! test thread collects its own messages.

use libbpf_rs::PrintLevel;
use std::cell::RefCell;

thread_local! {
    static LINES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn collect(_level: PrintLevel, msg: String) {
    LINES.with_borrow_mut(|lines| lines.extend(msg.lines().map(|l| l.trim_end().to_string())));
}

/// Routes libbpf's warnings and info messages into the calling thread's
/// buffer instead of stderr.
pub fn install() {
    libbpf_rs::set_print(Some((PrintLevel::Info, collect)));
}

/// Messages this thread caused since its last call.
pub fn take() -> Vec<String> {
    LINES.with_borrow_mut(std::mem::take)
}

/// Whether one of the messages this thread caused since its last take()
/// satisfies `f` (the messages stay).
pub fn any(f: impl Fn(&str) -> bool) -> Option<String> {
    LINES.with_borrow(|lines| lines.iter().find(|l| f(l)).cloned())
}
