//! The ranking formula, one pure function so the API description, the tests and the code
//! cannot drift apart:
//!
//! ```text
//! score = bm25 × closeness × recency × engagement
//! closeness  = 3.0 friend (or the searcher) | 2.0 same community | 1.5 friend of a friend | 1.0 others
//! recency    = 1 / (1 + age_days / 30)            (a 30-day-old post counts half)
//! engagement = 1 + ln(1 + likes + 2·comments + 3·shares) / 4
//! ```
//!
//! `bm25` is tantivy's BM25 text relevance of the post to the query (k1 = 1.2, b = 0.75).

/// How close the author of something is to the searcher, closest last (so `Ord` ranks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Closeness {
    Other,
    FriendOfFriend,
    Community,
    Friend,
}

impl Closeness {
    pub fn weight(self) -> f64 {
        match self {
            Closeness::Friend => 3.0,
            Closeness::Community => 2.0,
            Closeness::FriendOfFriend => 1.5,
            Closeness::Other => 1.0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Closeness::Friend => "friend",
            Closeness::Community => "community",
            Closeness::FriendOfFriend => "friend_of_friend",
            Closeness::Other => "other",
        }
    }
}

const DAY_MS: f64 = 86_400_000.0;

/// 1 for something new, ½ at 30 days, ⅓ at 60 days…; a time in the future counts as now.
pub fn recency(age_ms: i64) -> f64 {
    1.0 / (1.0 + age_ms.max(0) as f64 / DAY_MS / 30.0)
}

/// 1 with no interaction, growing with the logarithm of likes + 2·comments + 3·shares.
pub fn engagement(likes: i64, comments: i64, shares: i64) -> f64 {
    let n = likes.max(0) + 2 * comments.max(0) + 3 * shares.max(0);
    1.0 + (1.0 + n as f64).ln() / 4.0
}

/// What a post's interactions are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Interactions {
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
}

/// The documented score of a post.
pub fn score(bm25: f32, closeness: Closeness, age_ms: i64, i: Interactions) -> f64 {
    f64::from(bm25.max(0.0))
        * closeness.weight()
        * recency(age_ms)
        * engagement(i.likes, i.comments, i.shares)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn closeness() -> impl Strategy<Value = Closeness> {
        prop_oneof![
            Just(Closeness::Other),
            Just(Closeness::FriendOfFriend),
            Just(Closeness::Community),
            Just(Closeness::Friend),
        ]
    }

    #[test]
    fn pinned_values() {
        assert_eq!(recency(0), 1.0);
        assert_eq!(recency(30 * 86_400_000), 0.5);
        assert_eq!(engagement(0, 0, 0), 1.0);
        let s = score(2.0, Closeness::Friend, 0, Interactions::default());
        assert_eq!(s, 6.0);
    }

    proptest! {
        #[test]
        fn closer_newer_and_more_engaged_never_rank_lower(
            // BM25 in hundredths from integers: proptest's f32 range sampler can panic on
            // its own assertion.
            bm25 in (0u32..5_000).prop_map(|h| h as f32 / 100.0), a in closeness(), b in closeness(),
            age in 0i64..(400 * 86_400_000), older in 0i64..(400 * 86_400_000),
            likes in 0i64..10_000, more in 0i64..10_000,
        ) {
            let i = Interactions { likes, comments: 0, shares: 0 };
            let (near, far) = if a >= b { (a, b) } else { (b, a) };
            prop_assert!(score(bm25, near, age, i) >= score(bm25, far, age, i));
            prop_assert!(score(bm25, a, age, i) >= score(bm25, a, age + older, i));
            let j = Interactions { likes: likes + more, ..i };
            prop_assert!(score(bm25, a, age, j) >= score(bm25, a, age, i));
            prop_assert!(score(bm25, a, age, i).is_finite());
        }
    }
}
