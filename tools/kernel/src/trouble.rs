// SPDX-License-Identifier: GPL-2.0
//! Signs of kernel trouble in its log: the patterns of
//! `tools/kernel/trouble-patterns`, which scripts/vm.py also reads.

use regex::RegexSet;
use std::sync::OnceLock;

/// The pattern file, as scripts/vm.py reads it.
const PATTERNS: &str = include_str!("../trouble-patterns");

/// How bad a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// The kernel died or a task oopsed.
    Crash,
    /// A sanitizer, lockdep, a warning, a leak, a stall.
    Report,
}

/// The patterns of the file: (severity, regular expression).
pub fn patterns() -> impl Iterator<Item = (Trouble, &'static str)> {
    PATTERNS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| match l.split_once(' ') {
            Some(("crash", re)) => Some((Trouble::Crash, re)),
            Some(("report", re)) => Some((Trouble::Report, re)),
            _ => None,
        })
}

fn sets() -> &'static Option<(RegexSet, RegexSet)> {
    static SETS: OnceLock<Option<(RegexSet, RegexSet)>> = OnceLock::new();
    SETS.get_or_init(|| {
        let of = |t| RegexSet::new(patterns().filter(|p| p.0 == t).map(|p| p.1)).ok();
        Some((of(Trouble::Crash)?, of(Trouble::Report)?))
    })
}

/// How bad one log line is, by the patterns; None if it is no sign of
/// trouble.
pub fn classify(line: &str) -> Option<Trouble> {
    let (crash, report) = sets().as_ref()?;
    if crash.is_match(line) {
        Some(Trouble::Crash)
    } else if report.is_match(line) {
        Some(Trouble::Report)
    } else {
        None
    }
}

/// Is this kernel log record a sign of trouble?  `level` is its syslog
/// level (0 emerg .. 7 debug): err and worse always are.
pub fn is_trouble(level: u32, msg: &str) -> bool {
    level <= 3 || classify(msg).is_some()
}

/// Parses one /dev/kmsg record, "prio,seq,usec,flags;message\n...": the
/// syslog level and the message's first line.
pub fn parse_kmsg(record: &str) -> Option<(u32, &str)> {
    let (head, rest) = record.split_once(';')?;
    let prio: u32 = head.split(',').next()?.parse().ok()?;
    let msg = rest.lines().next().unwrap_or("");
    Some((prio & 7, msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_line_is_a_valid_pattern() {
        let lines = PATTERNS
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count();
        assert_eq!(
            patterns().count(),
            lines,
            "a line is neither crash nor report"
        );
        assert!(sets().is_some(), "a pattern does not compile");
    }

    #[test]
    fn kmsg_records_are_parsed() {
        assert_eq!(
            parse_kmsg("4,123,456,-;hello world\n SUBSYSTEM=x"),
            Some((4, "hello world"))
        );
        assert_eq!(
            parse_kmsg("14,1,2,-;user message"),
            Some((6, "user message"))
        );
        assert_eq!(parse_kmsg("garbage"), None);
    }

    #[test]
    fn warnings_and_errors_are_trouble_info_is_not() {
        assert!(is_trouble(
            4,
            "WARNING: CPU: 0 PID: 1 at kernel/bpf/btf.c:123"
        ));
        assert!(is_trouble(3, "rdynptr: something failed"));
        assert!(is_trouble(6, "refcount_t: underflow; use-after-free."));
        assert!(is_trouble(
            6,
            "list_del corruption. prev->next should be ..."
        ));
        assert!(!is_trouble(6, "rdynptr: loaded"));
        assert!(!is_trouble(
            4,
            "rdynptr: loading out-of-tree module taints kernel."
        ));
        assert!(!is_trouble(6, "RCU Tasks Trace: Setting shift to 1"));
    }

    #[test]
    fn crashes_are_told_from_reports() {
        assert_eq!(
            classify("BUG: KASAN: use-after-free in f"),
            Some(Trouble::Crash)
        );
        assert_eq!(
            classify("Kernel panic - not syncing: x"),
            Some(Trouble::Crash)
        );
        assert_eq!(
            classify("KFENCE: out-of-bounds read"),
            Some(Trouble::Report)
        );
        assert_eq!(classify(" Call Trace:"), Some(Trouble::Report));
        assert_eq!(classify("vm-init: started"), None);
    }
}
