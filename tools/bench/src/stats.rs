// SPDX-License-Identifier: GPL-2.0
//! From BPF_PROG_TEST_RUN durations to ns per call and ratios.

use serde::Serialize;

/// The smallest of `xs` (NaN-free input), None if empty.
pub fn min(xs: &[f64]) -> Option<f64> {
    xs.iter().copied().reduce(f64::min)
}

/// The median of `xs`: the middle value, or the mean of the two middle
/// values for an even count; None if empty.
pub fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Min and median of a series of measurements.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub min: f64,
    pub median: f64,
}

impl Summary {
    pub fn of(xs: &[f64]) -> Option<Summary> {
        Some(Summary {
            min: min(xs)?,
            median: median(xs)?,
        })
    }
}

/// ns per call of each round: `(prog - baseline) / calls`, where `prog` and
/// `baseline` are the ns per run BPF_PROG_TEST_RUN reported in the same
/// round (for the JSON: one value per round).
pub fn per_call(prog_ns: &[u64], baseline_ns: &[u64], calls: u32) -> Vec<f64> {
    assert_eq!(prog_ns.len(), baseline_ns.len(), "one baseline per round");
    assert!(calls > 0);
    prog_ns
        .iter()
        .zip(baseline_ns)
        .map(|(&p, &b)| (p as f64 - b as f64) / f64::from(calls))
        .collect()
}

/// ns per call: the min of the program's rounds minus the min of its
/// baseline's, and the same for the medians, divided by `calls`.
///
/// Each statistic is taken per program first: anything else running on the
/// machine only ever adds time, so a program's min is its least disturbed
/// round, whatever happened to its baseline in that round.
pub fn cost_per_call(prog_ns: &[u64], baseline_ns: &[u64], calls: u32) -> Option<Summary> {
    assert!(calls > 0);
    let as_f64 = |v: &[u64]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    let p = Summary::of(&as_f64(prog_ns))?;
    let b = Summary::of(&as_f64(baseline_ns))?;
    let m = f64::from(calls);
    Some(Summary {
        min: (p.min - b.min) / m,
        median: (p.median - b.median) / m,
    })
}

/// ours / kernel's.  None when the kernel's cost is not positive: the
/// baseline ate it (noise), and a ratio would mean nothing.
pub fn ratio(ours: f64, kernel: f64) -> Option<f64> {
    (kernel > 0.0 && ours.is_finite()).then(|| ours / kernel)
}

/// Ratios of the mins and of the medians.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ratio {
    pub min: Option<f64>,
    pub median: Option<f64>,
}

impl Ratio {
    pub fn of(ours: &Summary, kernel: &Summary) -> Ratio {
        Ratio {
            min: ratio(ours.min, kernel.min),
            median: ratio(ours.median, kernel.median),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_and_median() {
        assert_eq!(min(&[]), None);
        assert_eq!(median(&[]), None);
        assert_eq!(min(&[3.0, -1.0, 2.0]), Some(-1.0));
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(
            Summary::of(&[9.0, 2.0, 4.0, 4.5, 3.0]),
            Some(Summary {
                min: 2.0,
                median: 4.0
            })
        );
    }

    #[test]
    fn per_call_subtracts_the_same_rounds_baseline() {
        // 4096 calls: 20480 ns against a 4096 ns loop is 4 ns per call.
        let v = per_call(&[20480, 24576, 4000], &[4096, 4096, 4096], 4096);
        assert_eq!(v, [4.0, 5.0, -96.0 / 4096.0]);
    }

    #[test]
    fn cost_per_call_takes_each_programs_own_statistics() {
        // The program's quietest round (20480) and the baseline's (4096)
        // are in different rounds; the medians are 24576 and 8192.
        let s = cost_per_call(&[28672, 20480, 24576], &[4096, 8192, 12288], 4096).unwrap();
        assert_eq!(
            s,
            Summary {
                min: 4.0,
                median: 4.0
            }
        );
        assert_eq!(cost_per_call(&[], &[], 1), None);
    }

    #[test]
    #[should_panic(expected = "one baseline per round")]
    fn per_call_needs_a_baseline_per_round() {
        per_call(&[1, 2], &[1], 1);
    }

    #[test]
    fn ratio_needs_a_positive_kernel_cost() {
        assert_eq!(ratio(3.0, 2.0), Some(1.5));
        assert_eq!(ratio(-0.5, 2.0), Some(-0.25));
        assert_eq!(ratio(3.0, 0.0), None);
        assert_eq!(ratio(3.0, -0.1), None);
        let r = Ratio::of(
            &Summary {
                min: 2.0,
                median: 3.0,
            },
            &Summary {
                min: 1.0,
                median: 4.0,
            },
        );
        assert_eq!(
            r,
            Ratio {
                min: Some(2.0),
                median: Some(0.75)
            }
        );
    }
}
