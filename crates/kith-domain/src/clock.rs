//! Time is injected. Every rule with a deadline (session expiry, login throttling window,
//! webhook backoff, later order timeouts and settlement) reads a [`Clock`], so tests move
//! time forward instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch, UTC. One unit everywhere: storage keeps the same
/// integer, so no engine-specific timestamp decoding is needed in the rules.
pub type UnixMs = i64;

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now_ms(&self) -> UnixMs;
}

/// The wall clock, for production.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> UnixMs {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    }
}

/// A clock that only moves when told to. Cloning shares the same instant, so a test keeps
/// one handle and the server under test reads another.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start_ms: UnixMs) -> Self {
        Self(Arc::new(AtomicI64::new(start_ms)))
    }

    /// Starts at the current wall-clock time, so stored timestamps look plausible.
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now_ms())
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn advance_secs(&self, secs: i64) {
        self.advance_ms(secs * 1000);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> UnixMs {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_time() {
        let clock = ManualClock::new(1_000);
        let other = clock.clone();
        assert_eq!(clock.now_ms(), 1_000);
        other.advance_secs(2);
        assert_eq!(clock.now_ms(), 3_000);
    }
}
