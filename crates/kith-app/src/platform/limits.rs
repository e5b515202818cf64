//! Rate limits on the actions whose abuse costs others: placing orders (each one reserves
//! stock that other buyers then cannot have until it expires), creating share links (each
//! one is a row and a public URL), signing up (cheap accounts farm referrals and group-buy
//! seats) and guessing pickup codes at a store's counter.
//!
//! A fixed window per (action, subject): at most `limit` hits in a window of the action's
//! length that starts at the subject's first hit; beyond that
//! [`AppError::TooManyRequests`] with the seconds until the window ends (429 with
//! `Retry-After` at the HTTP edge). Windows read the app's clock, so tests move time instead
//! of sleeping; a limit of 0 turns an action's limit off (benchmarks, load tests).
//!
//! Where the windows live follows the engine. On PostgreSQL, several servers may share the
//! database, so the windows are rows of `rate_windows`, counted by one upsert: N servers
//! give the same limit as one. On SQLite there is one server by construction, and the
//! windows live in this process (a restart forgets them) so the hot checkout path costs
//! no extra write.

use std::collections::HashMap;
use std::sync::Mutex;

use kith_store::{Conn, Engine};

use super::store::guards;
use crate::{App, AppError, AppResult, Principal};

/// Length of the per-member windows (checkout, share).
pub const WINDOW_MS: i64 = 60_000;
/// Windows are swept of expired entries after this many new ones, so memory stays bounded
/// by the subjects active in the last window.
const SWEEP_EVERY: usize = 4096;
/// Longest window of any action; rows older than this are swept.
const LONGEST_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// The actions with a rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Checkout,
    Share,
    /// Sign-ups from one client address in an hour, past which a challenge is asked.
    SignUpSoft,
    /// Sign-ups from one client address in an hour, past which none is taken.
    SignUpHard,
    /// Sign-ups from one browser (its device cookie) in a day, past which a challenge is
    /// asked.
    SignUpDevice,
    /// Wrong pickup codes one clerk may enter in a window.
    PickupClerk,
    /// Wrong pickup codes entered at one store, by all its clerks together.
    PickupStore,
    /// SMS codes asked for one number in a minute (one).
    SmsPhoneMinute,
    /// SMS codes asked for one number in a day.
    SmsPhoneDay,
    /// SMS codes asked from one client address in an hour.
    SmsAddress,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Self::Checkout => "checkout",
            Self::Share => "share",
            Self::SignUpSoft => "signup",
            Self::SignUpHard => "signup_cap",
            Self::SignUpDevice => "signup_device",
            Self::PickupClerk => "pickup_clerk",
            Self::PickupStore => "pickup_store",
            Self::SmsPhoneMinute => "sms_phone_minute",
            Self::SmsPhoneDay => "sms_phone_day",
            Self::SmsAddress => "sms_address",
        }
    }

    /// How long one window of this action lasts.
    pub fn window_ms(self) -> i64 {
        match self {
            Self::Checkout | Self::Share => WINDOW_MS,
            Self::SignUpSoft | Self::SignUpHard => 3600 * 1000,
            Self::SignUpDevice => LONGEST_WINDOW_MS,
            Self::PickupClerk | Self::PickupStore => 15 * 60 * 1000,
            Self::SmsPhoneMinute => WINDOW_MS,
            Self::SmsPhoneDay => LONGEST_WINDOW_MS,
            Self::SmsAddress => 3600 * 1000,
        }
    }
}

/// The windows of this process (SQLite).
#[derive(Debug, Default)]
pub struct MemberLimits {
    windows: Mutex<Windows>,
}

#[derive(Debug, Default)]
struct Windows {
    open: HashMap<(Action, String), (i64, u32)>,
    since_sweep: usize,
}

/// Seconds until a window that started at `start_ms` ends, at least 1.
fn retry_after(action: Action, start_ms: i64, now_ms: i64) -> AppError {
    let left_ms = start_ms + action.window_ms() - now_ms;
    AppError::TooManyRequests {
        retry_after_secs: ((left_ms + 999) / 1000).max(1),
    }
}

impl MemberLimits {
    /// Counts one hit of `action` by `subject` at `now_ms`; returns the hits in the window
    /// (this one included) and when the window started. Refused hits count too, as in
    /// `rate_windows`.
    fn hit(&self, action: Action, subject: &str, now_ms: i64) -> (i64, i64) {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        w.since_sweep += 1;
        if w.since_sweep >= SWEEP_EVERY {
            w.since_sweep = 0;
            w.open
                .retain(|(a, _), (start, _)| now_ms - *start < a.window_ms());
        }
        let entry = w
            .open
            .entry((action, subject.to_owned()))
            .or_insert((now_ms, 0));
        if now_ms - entry.0 >= action.window_ms() || now_ms < entry.0 {
            *entry = (now_ms, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        (i64::from(entry.1), entry.0)
    }

    /// Gives back one hit of `action` by `subject` in its current window, if it has one.
    fn forgive(&self, action: Action, subject: &str, now_ms: i64) {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((start, n)) = w.open.get_mut(&(action, subject.to_owned()))
            && now_ms - *start < action.window_ms()
            && now_ms >= *start
        {
            *n = n.saturating_sub(1);
        }
    }

    /// Counts one `action` by `subject` at `now_ms` against `limit` per window.
    pub fn take(&self, action: Action, subject: &str, limit: u32, now_ms: i64) -> AppResult<()> {
        if limit == 0 {
            return Ok(());
        }
        let (hits, start) = self.hit(action, subject, now_ms);
        if hits > i64::from(limit) {
            return Err(retry_after(action, start, now_ms));
        }
        Ok(())
    }
}

/// Counts one hit in `rate_windows` inside the caller's transaction; returns the hits in
/// the window (this one included) and when the window started. Refused hits count too, so
/// a client hammering past the limit does not reopen its window.
pub(crate) fn hit_shared(
    c: &mut dyn Conn,
    action: Action,
    subject: &str,
    now_ms: i64,
) -> AppResult<(i64, i64)> {
    let stale = now_ms - action.window_ms();
    guards::count_rate_hit(c, action.name(), subject, now_ms, stale)
}

/// Gives back one hit of `action` by `subject` in its current window of `rate_windows`.
fn forgive_shared(c: &mut dyn Conn, action: Action, subject: &str, now_ms: i64) -> AppResult<()> {
    let stale = now_ms - action.window_ms();
    guards::forgive_rate_hit(c, action.name(), subject, stale, now_ms)
}

impl App {
    /// Counts one `action` by `who` against its configured limit.
    pub(crate) async fn rate_limit(&self, who: &Principal, action: Action) -> AppResult<()> {
        let limit = match action {
            Action::Checkout => self.config.checkouts_per_minute,
            Action::Share => self.config.shares_per_minute,
            _ => {
                return Err(AppError::Internal(format!(
                    "{action:?} is not a member action"
                )));
            }
        };
        self.rate_take(action, &who.account_id, limit).await
    }

    /// Counts one `action` by `subject` against `limit` per window, where this engine
    /// keeps windows (see the module docs).
    pub(crate) async fn rate_take(
        &self,
        action: Action,
        subject: &str,
        limit: u32,
    ) -> AppResult<()> {
        if limit == 0 {
            return Ok(());
        }
        let now = self.now_ms();
        let (hits, start) = self.rate_hit(action, subject).await?;
        if hits > i64::from(limit) {
            return Err(retry_after(action, start, now));
        }
        Ok(())
    }

    /// Counts one hit of `action` by `subject`; returns the hits in the current window
    /// (this one included) and when it started.
    pub(crate) async fn rate_hit(&self, action: Action, subject: &str) -> AppResult<(i64, i64)> {
        let now = self.now_ms();
        if self.db.engine() == Engine::Sqlite {
            return Ok(self.limits.hit(action, subject, now));
        }
        let subject = subject.to_owned();
        self.db
            .write(move |c| hit_shared(c, action, &subject, now))
            .await
    }

    /// Gives back a hit counted by [`App::rate_take`] for an attempt that, once made,
    /// turned out not to count (a limit on failures counts every attempt first, so a burst
    /// of concurrent attempts cannot all pass a check before any is counted, and forgives
    /// the ones that succeed).
    pub(crate) async fn rate_forgive(&self, action: Action, subject: &str) -> AppResult<()> {
        let now = self.now_ms();
        if self.db.engine() == Engine::Sqlite {
            self.limits.forgive(action, subject, now);
            return Ok(());
        }
        let subject = subject.to_owned();
        self.db
            .write(move |c| forgive_shared(c, action, &subject, now))
            .await
    }

    /// Forgets windows that ended ([`App::platform_sweep`]).
    pub async fn rate_sweep(&self) -> AppResult<u64> {
        let before = self.now_ms() - LONGEST_WINDOW_MS;
        self.db
            .write(move |c| guards::sweep_rate_windows(c, before))
            .await
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

    /// Two servers on one database: on PostgreSQL they share every window, so a member
    /// spread over both gets the limit once, not twice; on SQLite (one server by
    /// construction) the windows are this process's.
    async fn servers_share_windows(env: &crate::events::webhooks::test_support::TestEnv) {
        let a = &env.app;
        let b = App::new(a.db.clone(), a.clock.clone(), (*a.config).clone());
        for server in [a, &b, a] {
            server
                .rate_take(Action::PickupStore, "store-1", 3)
                .await
                .unwrap();
        }
        match b.rate_take(Action::PickupStore, "store-1", 3).await {
            Err(AppError::TooManyRequests { retry_after_secs }) => {
                assert_eq!(retry_after_secs, 15 * 60)
            }
            other => panic!("the fourth hit over two servers was taken: {other:?}"),
        }
        // Another subject, another window; the window ends on time.
        b.rate_take(Action::PickupStore, "store-2", 3)
            .await
            .unwrap();
        env.clock.advance_ms(15 * 60 * 1000);
        for server in [a, &b, a] {
            server
                .rate_take(Action::PickupStore, "store-1", 3)
                .await
                .unwrap();
        }
        assert!(
            b.rate_take(Action::PickupStore, "store-1", 3)
                .await
                .is_err()
        );
        env.clock.advance_ms(LONGEST_WINDOW_MS + 1);
        assert_eq!(a.rate_sweep().await.unwrap(), 2);
    }

    #[tokio::test]
    async fn windows_are_shared_by_servers_on_one_postgres() {
        let cfg = crate::events::webhooks::test_support::test_config();
        if let Some(env) = crate::events::webhooks::test_support::TestEnv::postgres(cfg).await {
            servers_share_windows(&env).await;
        }
    }

    #[tokio::test]
    async fn windows_on_sqlite_live_in_the_process() {
        let env = crate::events::webhooks::test_support::TestEnv::new().await;
        let a = &env.app;
        let b = App::new(a.db.clone(), a.clock.clone(), (*a.config).clone());
        for _ in 0..3 {
            a.rate_take(Action::Share, "m", 3).await.unwrap();
        }
        assert!(a.rate_take(Action::Share, "m", 3).await.is_err());
        // A second App on one SQLite file is not a deployment kith supports; it counts alone.
        b.rate_take(Action::Share, "m", 3).await.unwrap();
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
