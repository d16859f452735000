//! The review queue's counts by state, kept in memory: computed from the database once, then
//! moved by this process's own decisions and officer actions as they commit (so the page never
//! scans the cases table on a view), and recomputed in the background every
//! [`REFRESH_AFTER`] to take in what other server processes did.

use lendscope_domain::Decision;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lendscope_domain::review::QueueCounts;

/// Age after which the counts are recomputed from the database (in the background).
pub const REFRESH_AFTER: Duration = Duration::from_secs(30);

#[derive(Default)]
pub struct CountsCache {
    counts: Mutex<Option<(Instant, QueueCounts)>>,
    /// Bumped by every change applied, so a recomputation that raced with one is not stored.
    generation: AtomicU64,
    refreshing: AtomicBool,
}

/// What the cache says when asked.
pub enum Cached {
    Fresh(QueueCounts),
    /// Usable, but due for a recomputation.
    Stale(QueueCounts),
    Missing,
}

/// A change of the counts caused by one committed event.
#[derive(Debug, Clone, Copy)]
pub enum CountChange {
    /// A new open case with this recommendation.
    Opened(Decision),
    Claimed,
    Released,
    /// A case with this recommendation was decided (and released, if it was claimed).
    Decided {
        recommended: Decision,
        was_claimed: bool,
    },
}

impl CountsCache {
    pub fn get(&self) -> Cached {
        let guard = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some((at, c)) if at.elapsed() < REFRESH_AFTER => Cached::Fresh(c.clone()),
            Some((_, c)) => Cached::Stale(c.clone()),
            None => Cached::Missing,
        }
    }

    /// Starts a recomputation unless one is running: returns the generation to hand back to
    /// [`CountsCache::store`], or `None`.
    pub fn begin_refresh(&self) -> Option<u64> {
        (!self.refreshing.swap(true, Ordering::AcqRel))
            .then(|| self.generation.load(Ordering::Acquire))
    }

    /// Stores recomputed counts, unless a change was applied since `generation` was taken
    /// (the recomputation may or may not include it; the next one will).
    pub fn store(&self, generation: u64, counts: QueueCounts) {
        let mut guard = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) == generation || guard.is_none() {
            *guard = Some((Instant::now(), counts));
        }
        self.refreshing.store(false, Ordering::Release);
    }

    pub fn end_refresh(&self) {
        self.refreshing.store(false, Ordering::Release);
    }

    pub fn apply(&self, change: CountChange) {
        let mut guard = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        let Some((_, c)) = guard.as_mut() else { return };
        let slot = |c: &mut QueueCounts, rec: Decision, up: bool| {
            if let Some(s) = c.open_by_recommendation.iter_mut().find(|(d, _)| *d == rec) {
                s.1 = if up { s.1 + 1 } else { s.1.saturating_sub(1) };
            }
        };
        match change {
            CountChange::Opened(rec) => slot(c, rec, true),
            CountChange::Claimed => c.claimed += 1,
            CountChange::Released => c.claimed = c.claimed.saturating_sub(1),
            CountChange::Decided {
                recommended,
                was_claimed,
            } => {
                slot(c, recommended, false);
                c.decided += 1;
                if was_claimed {
                    c.claimed = c.claimed.saturating_sub(1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts() -> QueueCounts {
        QueueCounts {
            open_by_recommendation: vec![(Decision::Approve, 2), (Decision::Reject, 1)],
            claimed: 1,
            decided: 0,
        }
    }

    #[test]
    fn changes_move_the_counts_and_races_are_not_stored() {
        let cache = CountsCache::default();
        cache.apply(CountChange::Opened(Decision::Approve)); // nothing cached yet: ignored
        assert!(matches!(cache.get(), Cached::Missing));
        let g = cache.begin_refresh().unwrap();
        assert!(
            cache.begin_refresh().is_none(),
            "one recomputation at a time"
        );
        cache.store(g, counts());
        cache.apply(CountChange::Opened(Decision::Approve));
        cache.apply(CountChange::Decided {
            recommended: Decision::Reject,
            was_claimed: true,
        });
        let Cached::Fresh(c) = cache.get() else {
            panic!()
        };
        assert_eq!(c.open(), 3);
        assert_eq!((c.claimed, c.decided), (0, 1));
        // A recomputation that started before a change is not stored over it.
        let g = cache.begin_refresh().unwrap();
        cache.apply(CountChange::Claimed);
        cache.store(g, counts());
        let Cached::Fresh(c) = cache.get() else {
            panic!()
        };
        assert_eq!(c.claimed, 1);
        assert_eq!(c.decided, 1);
    }
}
