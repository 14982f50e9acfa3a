// SPDX-License-Identifier: GPL-2.0
//! Matching expected messages against a verifier log.
//!
//! The rules are those of the kernel's selftests (`test_loader.c`):
//! positive patterns (`__msg`) must all be found, in order, each one
//! searched from the end of the previous match; a negative pattern
//! (`__not_msg`) must not occur between the matches of the positive
//! patterns around it.  Text inside `{{` `}}` is a regular expression, the
//! rest is literal.

use anyhow::{anyhow, Context as _};
// fancy-regex: the kernel's test_loader uses POSIX regular expressions,
// and some selftests use their backreferences ("\1"), which the regex
// crate does not have.
use fancy_regex::Regex;
use std::fmt;

/// One expected (or, if negative, forbidden) message.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    negative: bool,
    regex: Option<Regex>,
    /// Must match on the line after the previous positive pattern's match
    /// (the disassembly and stream patterns: __xlated, __jited, __stderr,
    /// __stdout, unless a "..." came before).
    next_line: bool,
}

impl Pattern {
    /// Compiles `text`; fails on an unclosed `{{` or an invalid regex.
    pub fn new(text: &str, negative: bool) -> anyhow::Result<Self> {
        let regex = if text.contains("{{") {
            Some(compile(text)?)
        } else {
            None
        };
        Ok(Pattern {
            text: text.to_string(),
            negative,
            regex,
            next_line: false,
        })
    }

    /// A positive pattern that, if `next_line`, must match on the line
    /// after the previous pattern's match.
    pub fn on_line(text: &str, next_line: bool) -> anyhow::Result<Self> {
        let mut p = Pattern::new(text, false)?;
        p.next_line = next_line;
        Ok(p)
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_negative(&self) -> bool {
        self.negative
    }

    pub fn is_regex(&self) -> bool {
        self.regex.is_some()
    }

    /// First match in `hay[from..]`, as absolute byte offsets.
    fn find(&self, hay: &str, from: usize) -> Option<(usize, usize)> {
        match &self.regex {
            // A regex too costly to run (fancy-regex's backtrack limit)
            // counts as not found.
            Some(re) => re
                .find_from_pos(hay, from)
                .ok()
                .flatten()
                .map(|m| (m.start(), m.end())),
            None => hay[from..]
                .find(&self.text)
                .map(|i| (from + i, from + i + self.text.len())),
        }
    }
}

/// Turns "lit{{re}}lit" into one regex: literal parts escaped, regex parts
/// verbatim; `.` does not cross lines and `^`/`$` match at line boundaries,
/// like POSIX REG_NEWLINE in the kernel's test_loader.
fn compile(text: &str) -> anyhow::Result<Regex> {
    let mut out = String::from("(?m)");
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&fancy_regex::escape(&rest[..open]));
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| anyhow!("pattern has '{{{{' without '}}}}': '{text}'"))?;
        out.push_str("(?:");
        out.push_str(&after[..close]);
        out.push(')');
        rest = &after[close + 2..];
    }
    out.push_str(&fancy_regex::escape(rest));
    Regex::new(&out).with_context(|| format!("bad regular expression in '{text}'"))
}

/// What happened to one pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// A positive pattern was found; 1-based line of the match start.
    Matched { line: usize },
    /// A positive pattern was not found.
    Missing,
    /// A negative pattern was absent, as required.
    Absent,
    /// A negative pattern was found; 1-based line of the match.
    Unexpected { line: usize },
    /// A positive pattern that must be on the line after the previous
    /// match was found on another line.
    WrongLine { line: usize, want: usize },
}

#[derive(Debug, Clone)]
pub struct MatchResult {
    pub statuses: Vec<Status>,
    /// Byte offset just after the last successful positive match (0 if
    /// none): where the interesting part of the log starts on a failure.
    pub resume: usize,
}

impl MatchResult {
    pub fn ok(&self) -> bool {
        self.statuses
            .iter()
            .all(|s| matches!(s, Status::Matched { .. } | Status::Absent))
    }
}

fn line_of(log: &str, offset: usize) -> usize {
    log[..offset].bytes().filter(|&b| b == b'\n').count() + 1
}

/// Whether every positive pattern of `patterns` is found in `log`, in
/// order as [`match_log`] finds them, each match within one line.
pub fn found_within_lines(log: &str, patterns: &[Pattern]) -> bool {
    let mut pos = 0;
    for p in patterns.iter().filter(|p| !p.negative) {
        match p.find(log, pos) {
            Some((start, end)) if !log[start..end].contains('\n') => pos = end,
            _ => return false,
        }
    }
    true
}

/// Matches `patterns` against `log`.
pub fn match_log(log: &str, patterns: &[Pattern]) -> MatchResult {
    let mut spans: Vec<Option<(usize, usize)>> = vec![None; patterns.len()];
    let mut pos = 0;
    let mut resume = 0;
    for (i, p) in patterns.iter().enumerate() {
        if p.negative {
            continue;
        }
        if let Some((start, end)) = p.find(log, pos) {
            spans[i] = Some((start, end));
            pos = end;
            resume = end;
        }
    }

    let mut statuses = Vec::with_capacity(patterns.len());
    let mut prev_line = None;
    for (i, p) in patterns.iter().enumerate() {
        if !p.negative {
            statuses.push(match spans[i] {
                Some((start, _)) => {
                    let line = line_of(log, start);
                    let want = prev_line.map(|l| l + 1);
                    prev_line = Some(line);
                    match want {
                        Some(want) if p.next_line && line != want => {
                            Status::WrongLine { line, want }
                        }
                        _ => Status::Matched { line },
                    }
                }
                None => Status::Missing,
            });
            continue;
        }
        // The window of a negative pattern: from the end of the closest
        // matched positive pattern before it to the start of the closest
        // matched positive pattern after it.
        let lo = spans[..i].iter().rev().flatten().map(|s| s.1).next();
        let hi = spans[i + 1..].iter().flatten().map(|s| s.0).next();
        let lo = lo.unwrap_or(0);
        let hi = hi.unwrap_or(log.len());
        let found = if lo <= hi {
            p.find(&log[..hi], lo)
        } else {
            None
        };
        statuses.push(match found {
            Some((start, _)) => Status::Unexpected {
                line: line_of(log, start),
            },
            None => Status::Absent,
        });
    }
    MatchResult { statuses, resume }
}

/// One line per pattern, in the kernel's style, for a failure report.
pub fn describe(patterns: &[Pattern], result: &MatchResult) -> Vec<String> {
    patterns
        .iter()
        .zip(&result.statuses)
        .map(|(p, s)| {
            let kind = match (p.is_negative(), p.is_regex()) {
                (false, false) => "SUBSTR",
                (false, true) => "REGEX",
                (true, false) => "NOT SUBSTR",
                (true, true) => "NOT REGEX",
            };
            let (state, at) = match s {
                Status::Matched { line } => ("MATCHED   ", format!(" (log line {line})")),
                Status::Missing => ("EXPECTED  ", String::new()),
                Status::Absent => ("ABSENT    ", String::new()),
                Status::Unexpected { line } => ("UNEXPECTED", format!(" (log line {line})")),
                Status::WrongLine { line, want } => (
                    "WRONG LINE",
                    format!(" (log line {line}, expected on line {want})"),
                ),
            };
            format!("{state} {kind}: '{}'{at}", p.text())
        })
        .collect()
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", self.text)
    }
}

/// The last `max` lines of `log[from..]`, and how many lines before them
/// were left out.
pub fn tail(log: &str, from: usize, max: usize) -> (Vec<&str>, usize) {
    let from = from.min(log.len());
    // Start at a line boundary.
    let start = log[..from].rfind('\n').map_or(0, |i| i + 1);
    let lines: Vec<&str> = log[start..].lines().collect();
    let skip = lines.len().saturating_sub(max);
    (lines[skip..].to_vec(), skip)
}

/// Lines of the verifier's explanation kept in an excerpt.
const SUMMARY_LINES: usize = 12;

/// The part of a verifier log to show with a failure: a heading, then the
/// lines.  That is the last `max` lines of `log[from..]`; when the log
/// ends with the explanation recent kernels append ("Verification
/// failed: ..." with source context and a causal path), the tail is taken
/// from the log before it, and only the explanation's summary (up to its
/// "At:" part) and the final "processed ..." line are added.
pub fn excerpt(log: &str, from: usize, max: usize) -> (String, Vec<String>) {
    let from = from.min(log.len());
    let start = log[..from].rfind('\n').map_or(0, |i| i + 1);
    let lines: Vec<&str> = log[start..].lines().collect();
    let after = if start > 0 {
        " after the last match"
    } else {
        ""
    };
    let Some(expl) = lines
        .iter()
        .position(|l| l.starts_with("Verification failed:"))
    else {
        let skip = lines.len().saturating_sub(max);
        let head = if skip == 0 && start == 0 {
            "verifier log:".to_string()
        } else {
            format!("verifier log (last {} lines{after}):", lines.len() - skip)
        };
        return (head, lines[skip..].iter().map(|l| l.to_string()).collect());
    };
    let mut classic = &lines[..expl];
    while classic.last().is_some_and(|l| l.trim().is_empty()) {
        classic = &classic[..classic.len() - 1];
    }
    let skip = classic.len().saturating_sub(max);
    let mut out: Vec<String> = classic[skip..].iter().map(|l| l.to_string()).collect();
    out.push(String::new());
    let summary: Vec<&str> = lines[expl..]
        .iter()
        .take_while(|l| l.trim() != "At:")
        .copied()
        .collect();
    let mut summary = &summary[..summary.len().min(SUMMARY_LINES)];
    while summary.last().is_some_and(|l| l.trim().is_empty()) {
        summary = &summary[..summary.len() - 1];
    }
    out.extend(summary.iter().map(|l| l.to_string()));
    if let Some(p) = lines[expl..]
        .iter()
        .rev()
        .find(|l| l.starts_with("processed "))
    {
        out.push("[...]".to_string());
        out.push(p.to_string());
    }
    let head = format!(
        "verifier log (last {} lines{after}, then the verifier's summary):",
        classic.len() - skip
    );
    (head, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pats(specs: &[(&str, bool)]) -> Vec<Pattern> {
        specs
            .iter()
            .map(|(t, n)| Pattern::new(t, *n).unwrap())
            .collect()
    }

    const LOG: &str = "0: R1=ctx() R10=fp0\n\
                       0: (b7) r2 = 0\n\
                       1: (85) call bpf_rdynptr_trim#12345\n\
                       R1 type=scalar expected=dynptr_ptr\n\
                       processed 3 insns\n";

    #[test]
    fn found_within_lines_needs_every_positive_match_on_one_line() {
        let p = pats(&[("expected=dynptr", false), ("processed", false)]);
        assert!(found_within_lines(LOG, &p));
        let reversed = pats(&[("processed", false), ("expected=dynptr", false)]);
        assert!(!found_within_lines(LOG, &reversed));
        let across = pats(&[("{{r2 = 0[^x]*call}}", false)]);
        assert!(match_log(LOG, &across).ok());
        assert!(!found_within_lines(LOG, &across), "a match over two lines");
        // Negative patterns are not looked at.
        let with_negative = pats(&[("R1 type=scalar", false), ("processed", true)]);
        assert!(found_within_lines(LOG, &with_negative));
    }

    #[test]
    fn messages_found_in_order_match() {
        let p = pats(&[("r2 = 0", false), ("call bpf_rdynptr_trim", false)]);
        let r = match_log(LOG, &p);
        assert!(r.ok());
        assert_eq!(r.statuses[0], Status::Matched { line: 2 });
        assert_eq!(r.statuses[1], Status::Matched { line: 3 });
    }

    #[test]
    fn messages_out_of_order_do_not_match() {
        let p = pats(&[("call bpf_rdynptr_trim", false), ("r2 = 0", false)]);
        let r = match_log(LOG, &p);
        assert!(!r.ok());
        assert_eq!(r.statuses[1], Status::Missing);
    }

    #[test]
    fn repeated_message_needs_as_many_occurrences() {
        // "R1" occurs three times: R1=ctx(), R10=fp0, R1 type=.
        let p = pats(&[("R1", false); 3]);
        assert!(match_log(LOG, &p).ok());
        let p = pats(&[("R1", false); 4]);
        assert!(!match_log(LOG, &p).ok());
    }

    #[test]
    fn missing_message_is_reported_and_later_ones_still_searched() {
        let p = pats(&[("no such text", false), ("processed", false)]);
        let r = match_log(LOG, &p);
        assert_eq!(r.statuses[0], Status::Missing);
        assert_eq!(r.statuses[1], Status::Matched { line: 5 });
        assert!(!r.ok());
    }

    #[test]
    fn regex_part_in_double_braces_matches() {
        let p = pats(&[("call bpf_rdynptr_trim#{{[0-9]+}}", false)]);
        assert!(match_log(LOG, &p).ok());
        let p = pats(&[("call bpf_rdynptr_trim#{{[a-z]+}}", false)]);
        assert!(!match_log(LOG, &p).ok());
    }

    #[test]
    fn literal_part_of_regex_pattern_is_escaped() {
        // "(85)" must be literal parentheses, "." a literal dot.
        let p = pats(&[("(85) call bpf_{{r[a-z]+}}_trim", false)]);
        assert!(match_log(LOG, &p).ok());
        let p = pats(&[("R1=ctx{{.}}. R10", false)]);
        assert!(!match_log(LOG, &p).ok(), "literal '.' must not match ')'");
    }

    #[test]
    fn regex_backreferences_match_like_posix() {
        let p = pats(&[("{{lock = (0x[0-9a-f]+)\nheld = \\1}}", false)]);
        assert!(match_log("lock = 0xab\nheld = 0xab\n", &p).ok());
        assert!(!match_log("lock = 0xab\nheld = 0xcd\n", &p).ok());
    }

    #[test]
    fn regex_dot_does_not_cross_lines() {
        let p = pats(&[("r2 = 0{{.*}}call", false)]);
        assert!(!match_log(LOG, &p).ok());
    }

    #[test]
    fn unclosed_regex_is_an_error() {
        assert!(Pattern::new("abc{{[0-9]", false).is_err());
        assert!(Pattern::new("abc{{[0-9}}", false).is_err());
    }

    #[test]
    fn negative_message_between_matches_fails() {
        let p = pats(&[("r2 = 0", false), ("call", true), ("processed", false)]);
        let r = match_log(LOG, &p);
        assert!(!r.ok());
        assert_eq!(r.statuses[1], Status::Unexpected { line: 3 });
    }

    #[test]
    fn negative_message_outside_its_window_is_fine() {
        // "R10" occurs only before the first match.
        let p = pats(&[("r2 = 0", false), ("R10", true), ("processed", false)]);
        let r = match_log(LOG, &p);
        assert!(r.ok(), "{:?}", r.statuses);
        assert_eq!(r.statuses[1], Status::Absent);
    }

    #[test]
    fn describe_marks_each_pattern() {
        let p = pats(&[("r2 = 0", false), ("nope{{[0-9]}}", false)]);
        let r = match_log(LOG, &p);
        let d = describe(&p, &r);
        assert_eq!(d[0], "MATCHED    SUBSTR: 'r2 = 0' (log line 2)");
        assert_eq!(d[1], "EXPECTED   REGEX: 'nope{{[0-9]}}'");
    }

    const EXPLAINED: &str = "0: R1=ctx() R10=fp0\n\
                             3: (61) r0 = *(u32 *)(r0 +0)\n\
                             R0 invalid mem access 'scalar'\n\
                             \n\
                             Verification failed: Register Type Safety: Invalid dereference\n\
                             \n\
                             Reason:\n  R0 is an integer scalar here, not a pointer to memory.\n\
                             \n\
                             At:\n  prog @ x.bpf.c:38:2\n  Source context:\n  >>> 38 | return *p;\n\
                             \n\
                             processed 4 insns (limit 1000000)\n";

    #[test]
    fn excerpt_keeps_error_line_and_summary_of_explained_log() {
        let (head, lines) = excerpt(EXPLAINED, 0, 2);
        assert!(head.contains("last 2 lines"), "{head}");
        assert_eq!(
            lines,
            [
                "3: (61) r0 = *(u32 *)(r0 +0)",
                "R0 invalid mem access 'scalar'",
                "",
                "Verification failed: Register Type Safety: Invalid dereference",
                "",
                "Reason:",
                "  R0 is an integer scalar here, not a pointer to memory.",
                "[...]",
                "processed 4 insns (limit 1000000)",
            ]
        );
    }

    #[test]
    fn excerpt_of_plain_log_is_its_tail() {
        let (head, lines) = excerpt(LOG, 0, 100);
        assert_eq!(head, "verifier log:");
        assert_eq!(lines.len(), 5);
        let (head, lines) = excerpt(LOG, 0, 1);
        assert_eq!(head, "verifier log (last 1 lines):");
        assert_eq!(lines, ["processed 3 insns"]);
    }

    #[test]
    fn tail_keeps_last_lines_from_offset() {
        let (lines, skipped) = tail(LOG, 0, 2);
        assert_eq!(
            lines,
            vec!["R1 type=scalar expected=dynptr_ptr", "processed 3 insns"]
        );
        assert_eq!(skipped, 3);
        let at = LOG.find("R1 type").unwrap() + 3;
        let (lines, skipped) = tail(LOG, at, 10);
        assert_eq!(lines.len(), 2);
        assert_eq!(skipped, 0);
    }
}
