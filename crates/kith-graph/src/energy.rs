//! Community energy (社群能量) = Q × M × C² (docs/PRODUCT.md §5), with its factors.
//!
//! - **Q** (product quality): the mean review rating of products the community's members
//!   bought, smoothed toward the platform mean by `prior_weight` pseudo-reviews, ÷ 5, so
//!   `0 < Q ≤ 1`. With no reviews at all on the platform the prior is 3 stars.
//! - **M** (audience): members active in the window.
//! - **C** (connection): the mean number of distinct fellow members each active member
//!   interacted with in the window (a like, comment, share visit or referred purchase in
//!   either direction makes the pair connected).

/// The product and its factors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Energy {
    pub q: f64,
    pub m: u64,
    pub c: f64,
    pub energy: f64,
}

impl Energy {
    pub fn new(q: f64, m: u64, c: f64) -> Self {
        Self {
            q,
            m,
            c,
            energy: q * m as f64 * c * c,
        }
    }
}

/// Star rating used as the prior when the platform has no reviews.
pub const NEUTRAL_RATING: f64 = 3.0;

/// Q: `(rating_sum + prior_weight · platform_mean) / (rating_count + prior_weight) / 5`.
/// `platform_mean` is in stars (1–5), `None` when the platform has no reviews.
pub fn quality(
    rating_sum: i64,
    rating_count: i64,
    platform_mean: Option<f64>,
    prior_weight: f64,
) -> f64 {
    let prior = platform_mean.unwrap_or(NEUTRAL_RATING);
    let denom = rating_count as f64 + prior_weight;
    if denom <= 0.0 {
        return prior / 5.0;
    }
    (rating_sum as f64 + prior_weight * prior) / denom / 5.0
}

/// C: the mean of each active member's count of distinct partners (0 with no members).
pub fn connection(partners_per_active_member: &[usize]) -> f64 {
    if partners_per_active_member.is_empty() {
        return 0.0;
    }
    partners_per_active_member.iter().sum::<usize>() as f64
        / partners_per_active_member.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_factors_by_hand() {
        // Reviews 5 and 4 (sum 9, count 2), platform mean 4.0, prior weight 2:
        // (9 + 8) / 4 = 4.25 stars → Q = 0.85.
        let q = quality(9, 2, Some(4.0), 2.0);
        assert!((q - 0.85).abs() < 1e-12);
        // Three active members: a talked with b and c, b with a, c with a → C = 4/3.
        let c = connection(&[2, 1, 1]);
        assert!((c - 4.0 / 3.0).abs() < 1e-12);
        let e = Energy::new(q, 3, c);
        assert!((e.energy - 0.85 * 3.0 * 16.0 / 9.0).abs() < 1e-12);
        // No reviews anywhere: the neutral prior, 3 stars → 0.6.
        assert!((quality(0, 0, None, 5.0) - 0.6).abs() < 1e-12);
        assert_eq!(connection(&[]), 0.0);
        assert_eq!(Energy::new(1.0, 0, 0.0).energy, 0.0);
    }
}
