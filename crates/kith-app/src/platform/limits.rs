//! Per-member rate limits on the actions whose abuse costs others: placing orders (each
//! one reserves stock that other buyers then cannot have until it expires) and creating
//! share links (each one is a row and a public URL).
//!
//! A fixed window per (action, member): at most `limit` actions in a window of
//! [`WINDOW_MS`] that starts at the member's first action; beyond that
//! [`AppError::TooManyRequests`] with the seconds until the window ends (429 with
//! `Retry-After` at the HTTP edge). Windows read the app's clock, so tests move time instead
//! of sleeping. Counts live in this process: with several servers on one PostgreSQL
//! database, each server limits on its own (a member spread over N servers gets N× the
//! limit), which is enough to stop a runaway client; a limit of 0 turns an action's limit
//! off (benchmarks, load tests).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::{App, AppError, AppResult, Principal};

/// Length of one window.
pub const WINDOW_MS: i64 = 60_000;
/// Windows are swept of expired entries after this many new ones, so memory stays bounded
/// by the members active in the last minute.
const SWEEP_EVERY: usize = 4096;

/// The actions with a per-member limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Checkout,
    Share,
}

#[derive(Debug, Default)]
pub struct MemberLimits {
    windows: Mutex<Windows>,
}

#[derive(Debug, Default)]
struct Windows {
    open: HashMap<(Action, String), (i64, u32)>,
    since_sweep: usize,
}

impl MemberLimits {
    /// Counts one `action` by `account_id` at `now_ms` against `limit` per window.
    pub fn take(&self, action: Action, account_id: &str, limit: u32, now_ms: i64) -> AppResult<()> {
        if limit == 0 {
            return Ok(());
        }
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        w.since_sweep += 1;
        if w.since_sweep >= SWEEP_EVERY {
            w.since_sweep = 0;
            w.open.retain(|_, (start, _)| now_ms - *start < WINDOW_MS);
        }
        let entry = w
            .open
            .entry((action, account_id.to_owned()))
            .or_insert((now_ms, 0));
        if now_ms - entry.0 >= WINDOW_MS || now_ms < entry.0 {
            *entry = (now_ms, 0);
        }
        if entry.1 >= limit {
            let left_ms = entry.0 + WINDOW_MS - now_ms;
            return Err(AppError::TooManyRequests {
                retry_after_secs: (left_ms + 999) / 1000,
            });
        }
        entry.1 += 1;
        Ok(())
    }
}

impl App {
    /// Counts one `action` by `who` against its configured limit.
    pub(crate) fn rate_limit(&self, who: &Principal, action: Action) -> AppResult<()> {
        let limit = match action {
            Action::Checkout => self.config.checkouts_per_minute,
            Action::Share => self.config.shares_per_minute,
        };
        self.limits
            .take(action, &who.account_id, limit, self.now_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_window_allows_the_limit_then_refuses_until_it_ends() {
        let l = MemberLimits::default();
        for _ in 0..3 {
            l.take(Action::Checkout, "a", 3, 1_000).unwrap();
        }
        match l.take(Action::Checkout, "a", 3, 31_000) {
            Err(AppError::TooManyRequests { retry_after_secs }) => assert_eq!(retry_after_secs, 30),
            other => panic!("{other:?}"),
        }
        // Another member and another action have their own windows.
        l.take(Action::Checkout, "b", 3, 31_000).unwrap();
        l.take(Action::Share, "a", 3, 31_000).unwrap();
        // The window ends.
        l.take(Action::Checkout, "a", 3, 61_000).unwrap();
        // 0: no limit.
        for _ in 0..100 {
            l.take(Action::Share, "c", 0, 61_000).unwrap();
        }
    }

    proptest! {
        /// However the calls fall in time, no window of one member admits more than the limit.
        #[test]
        fn no_window_admits_more_than_the_limit(
            limit in 1u32..5,
            gaps in proptest::collection::vec(0i64..40_000, 1..60),
        ) {
            let l = MemberLimits::default();
            let mut now = 0;
            let mut admitted: Vec<i64> = Vec::new();
            for gap in gaps {
                now += gap;
                if l.take(Action::Checkout, "m", limit, now).is_ok() {
                    admitted.push(now);
                }
            }
            // Windows start at an admitted call; count admitted calls in each.
            let mut i = 0;
            while i < admitted.len() {
                let start = admitted[i];
                let n = admitted[i..].iter().take_while(|t| **t - start < WINDOW_MS).count();
                prop_assert!(n as u32 <= limit, "{n} in the window from {start}");
                i += n;
            }
        }
    }
}
