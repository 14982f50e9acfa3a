// SPDX-License-Identifier: GPL-2.0
//! Running tests on several threads while reporting them in order.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;

/// Runs `work` on every item of `items`, on one thread per element of
/// `states` (each thread owns its state for the whole call), and hands
/// the results to `emit` on the calling thread in the order of `items`,
/// each as soon as it and all before it are done.
///
/// Threads start the items in the order of `cost`, highest first (ties
/// in item order): the long ones first, so that no thread is left with
/// a long one at the end while the others idle.  A thread takes the next
/// unstarted item when it finishes one.  If `emit` fails, no further item
/// is started and the error is returned once the running ones have ended.
pub fn run_ordered<T, S, R, E>(
    items: &[T],
    cost: impl Fn(&T) -> u32,
    states: &mut [S],
    work: impl Fn(&T, &mut S) -> R + Sync,
    mut emit: impl FnMut(usize, R) -> Result<(), E>,
) -> Result<(), E>
where
    T: Sync,
    S: Send,
    R: Send,
{
    let mut schedule: Vec<usize> = (0..items.len()).collect();
    schedule.sort_by_key(|&i| std::cmp::Reverse(cost(&items[i])));
    let schedule = &schedule;
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, R)>();
    thread::scope(|scope| {
        let threads = states.len().min(items.len());
        for state in states.iter_mut().take(threads) {
            let tx = tx.clone();
            let (next, stop, work) = (&next, &stop, &work);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Some(&i) = schedule.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let item = &items[i];
                    if tx.send((i, work(item, state))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut done = BTreeMap::new();
        let mut want = 0;
        for (i, r) in rx {
            done.insert(i, r);
            while let Some(r) = done.remove(&want) {
                if let Err(e) = emit(want, r) {
                    stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
                want += 1;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn results_come_in_item_order_whatever_order_they_finish_in() {
        // Early items take longest, so they finish last.
        let items: Vec<u64> = (0..16).rev().collect();
        let mut states = vec![0usize; 4];
        let mut seen = Vec::new();
        run_ordered(
            &items,
            |_| 0,
            &mut states,
            |&ms, n| {
                thread::sleep(Duration::from_millis(ms));
                *n += 1;
                ms * 10
            },
            |i, r| -> Result<(), ()> {
                seen.push((i, r));
                Ok(())
            },
        )
        .unwrap();
        let want: Vec<(usize, u64)> = items
            .iter()
            .enumerate()
            .map(|(i, &ms)| (i, ms * 10))
            .collect();
        assert_eq!(seen, want);
        assert_eq!(states.iter().sum::<usize>(), items.len());
        assert!(states.iter().filter(|&&n| n > 0).count() > 1, "{states:?}");
    }

    #[test]
    fn one_state_runs_everything_on_one_thread_in_order() {
        let items: Vec<usize> = (0..10).collect();
        let mut states = vec![Vec::new()];
        let mut seen = Vec::new();
        run_ordered(
            &items,
            |_| 0,
            &mut states,
            |&i, log: &mut Vec<usize>| {
                log.push(i);
                i
            },
            |_, r| -> Result<(), ()> {
                seen.push(r);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(states[0], items);
        assert_eq!(seen, items);
    }

    #[test]
    fn costly_items_start_first_but_are_reported_in_order() {
        let items: Vec<u32> = vec![1, 5, 1, 9, 5];
        let mut states = vec![Vec::new()];
        let mut seen = Vec::new();
        run_ordered(
            &items,
            |&c| c,
            &mut states,
            |&c, started: &mut Vec<u32>| {
                started.push(c);
                c
            },
            |i, r| -> Result<(), ()> {
                seen.push((i, r));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(states[0], [9, 5, 5, 1, 1]);
        assert_eq!(seen, [(0, 1), (1, 5), (2, 1), (3, 9), (4, 5)]);
    }

    #[test]
    fn an_emit_error_stops_new_work_and_is_returned() {
        let items: Vec<usize> = (0..1000).collect();
        let mut states = vec![(); 2];
        let started = AtomicUsize::new(0);
        let r = run_ordered(
            &items,
            |_| 0,
            &mut states,
            |_, _| {
                started.fetch_add(1, Ordering::Relaxed);
                thread::sleep(Duration::from_millis(1));
            },
            |i, _| if i == 3 { Err(i) } else { Ok(()) },
        );
        assert_eq!(r, Err(3));
        assert!(started.load(Ordering::Relaxed) < items.len());
    }
}
