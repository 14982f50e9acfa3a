// SPDX-License-Identifier: GPL-2.0
//! Running tests on several threads while reporting them in order.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Condvar, Mutex};
use std::thread;

/// What of the process an item holds while it runs, as bits: items whose
/// sets overlap never run at the same time.  0: nothing exclusive.
pub type Holds = u32;

/// The items not started yet, in start order, and what the running ones
/// hold.
struct Queue {
    pending: VecDeque<usize>,
    held: Holds,
}

/// What a running item holds, released when it is dropped.
struct Held<'a, F: Fn(Holds)>(Holds, &'a F);

impl<F: Fn(Holds)> Drop for Held<'_, F> {
    fn drop(&mut self) {
        (self.1)(self.0);
    }
}

/// Runs `work` on every item of `items`, on one thread per element of
/// `states` (each thread owns its state for the whole call), and hands
/// the results to `emit` on the calling thread in the order of `items`,
/// each as soon as it and all before it are done.
///
/// Threads start the items in the order of `cost`, highest first (ties
/// in item order): the long ones first, so that no thread is left with
/// a long one at the end while the others idle.  A thread takes the next
/// unstarted item when it finishes one, skipping over those that `holds`
/// something a running item holds (they wait for it, not the thread): a
/// thread waits only when every item left conflicts with a running one.
/// If `emit` fails, no further item is started and the error is returned
/// once the running ones have ended.
pub fn run_ordered<T, S, R, E>(
    items: &[T],
    cost: impl Fn(&T) -> u32,
    holds: impl Fn(&T) -> Holds,
    states: &mut [S],
    work: impl Fn(&T, &mut S) -> R + Sync,
    mut emit: impl FnMut(usize, R) -> Result<(), E>,
) -> Result<(), E>
where
    T: Sync,
    S: Send,
    R: Send,
{
    let mut pending: Vec<usize> = (0..items.len()).collect();
    // Each item's cost once: it may stat a file (an object's size).
    pending.sort_by_cached_key(|&i| std::cmp::Reverse(cost(&items[i])));
    let holds: Vec<Holds> = items.iter().map(holds).collect();
    let queue = Mutex::new(Queue {
        // Taken from the front nearly always: no shift of the rest.
        pending: pending.into(),
        held: 0,
    });
    let released = Condvar::new();
    let stop = AtomicBool::new(false);
    // The next item a thread may start, marked as held; None when none
    // is left (or the run stops).
    let take = || -> Option<(usize, Holds)> {
        let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if stop.load(Ordering::Relaxed) || q.pending.is_empty() {
                return None;
            }
            let free = q.pending.iter().position(|&i| holds[i] & q.held == 0);
            if let Some(i) = free.and_then(|at| q.pending.remove(at)) {
                let h = holds[i];
                q.held |= h;
                return Some((i, h));
            }
            q = released.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    };
    let release = |h: Holds| {
        if h != 0 {
            queue.lock().unwrap_or_else(|e| e.into_inner()).held &= !h;
            released.notify_all();
        }
    };
    let (tx, rx) = mpsc::channel::<(usize, R)>();
    thread::scope(|scope| {
        let threads = states.len().min(items.len());
        for state in states.iter_mut().take(threads) {
            let tx = tx.clone();
            let (take, release, work) = (&take, &release, &work);
            scope.spawn(move || {
                while let Some((i, h)) = take() {
                    let r = {
                        // Released even if `work` panics: the panic then
                        // ends the run instead of leaving threads waiting.
                        let _held = Held(h, release);
                        work(&items[i], state)
                    };
                    if tx.send((i, r)).is_err() {
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
                    // Threads waiting for a held item see the stop.
                    drop(queue.lock().unwrap_or_else(|e| e.into_inner()));
                    released.notify_all();
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
    use std::sync::atomic::AtomicUsize;
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
            |_| 0,
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

    #[test]
    fn items_holding_the_same_thing_never_overlap_and_others_do() {
        // Bit 1: one at a time; bit 2: one at a time, but beside a bit 1.
        let items: Vec<Holds> = [1, 1, 2, 1, 2, 1, 3, 2, 1, 2].repeat(3);
        let running = [AtomicUsize::new(0), AtomicUsize::new(0)];
        let most = [AtomicUsize::new(0), AtomicUsize::new(0)];
        let both = AtomicBool::new(false);
        let mut states = vec![(); 4];
        run_ordered(
            &items,
            |_| 0,
            |&h| h,
            &mut states,
            |&h, _| {
                let mine: Vec<usize> = (0..2).filter(|b| h & (1 << b) != 0).collect();
                for &b in &mine {
                    let n = running[b].fetch_add(1, Ordering::SeqCst) + 1;
                    most[b].fetch_max(n, Ordering::SeqCst);
                }
                if running.iter().all(|r| r.load(Ordering::SeqCst) > 0) {
                    both.store(true, Ordering::SeqCst);
                }
                thread::sleep(Duration::from_millis(5));
                for &b in &mine {
                    running[b].fetch_sub(1, Ordering::SeqCst);
                }
            },
            |_, _| -> Result<(), ()> { Ok(()) },
        )
        .unwrap();
        assert_eq!(most[0].load(Ordering::SeqCst), 1);
        assert_eq!(most[1].load(Ordering::SeqCst), 1);
        assert!(
            both.load(Ordering::SeqCst),
            "bits 1 and 2 never ran together"
        );
    }

    #[test]
    fn a_thread_passes_over_a_held_item_instead_of_waiting_for_it() {
        // (cost, holds, sleep ms): the long holder starts first; the next
        // in cost order holds the same and must wait, but the other thread
        // runs the five free items meanwhile, and the waiting one after.
        let items: Vec<(u32, Holds, u64)> = vec![
            (9, 1, 400),
            (8, 1, 0),
            (1, 0, 10),
            (1, 0, 10),
            (1, 0, 10),
            (1, 0, 10),
            (1, 0, 10),
        ];
        let t0 = std::time::Instant::now();
        let mut states = vec![(); 2];
        let mut spans = vec![(0, 0); items.len()];
        run_ordered(
            &items,
            |&(c, _, _)| c,
            |&(_, h, _)| h,
            &mut states,
            |&(_, _, ms), _| {
                let start = t0.elapsed().as_millis();
                thread::sleep(Duration::from_millis(ms));
                (start, t0.elapsed().as_millis())
            },
            |i, span| -> Result<(), ()> {
                spans[i] = span;
                Ok(())
            },
        )
        .unwrap();
        let long_end = spans[0].1;
        assert!(spans[1].0 >= long_end, "{spans:?}");
        assert!(spans[2..].iter().all(|&(s, _)| s < long_end), "{spans:?}");
    }

    #[test]
    fn an_item_that_panics_releases_what_it_holds_and_the_panic_ends_the_run() {
        let items: Vec<u32> = vec![0, 1, 2, 3];
        let r = std::panic::catch_unwind(|| {
            let mut states = vec![(); 2];
            run_ordered(
                &items,
                |_| 0,
                |_| 1,
                &mut states,
                |&i, _| {
                    if i == 0 {
                        panic!("item 0");
                    }
                },
                |_, _| -> Result<(), ()> { Ok(()) },
            )
        });
        assert!(r.is_err());
    }
}
