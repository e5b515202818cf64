//! Money is an integer count of the currency's minor unit (fen for CNY), never a float.

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// An amount of money in fen. Arithmetic is checked: an overflow is an error, never a wrap.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub const fn new(fen: i64) -> Self {
        Self(fen)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    /// A price or fee: zero or more.
    pub fn non_negative(field: &str, fen: i64) -> Result<Self, DomainError> {
        if fen < 0 {
            return Err(DomainError::invalid(field, "must not be negative"));
        }
        Ok(Self(fen))
    }

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    pub fn checked_sub(self, other: Fen) -> Option<Fen> {
        self.0.checked_sub(other.0).map(Fen)
    }

    pub fn checked_neg(self) -> Option<Fen> {
        self.0.checked_neg().map(Fen)
    }

    /// The sum of `amounts`; `None` if it overflows.
    pub fn checked_sum(amounts: impl IntoIterator<Item = Fen>) -> Option<Fen> {
        amounts
            .into_iter()
            .try_fold(Fen::ZERO, |sum, fen| sum.checked_add(fen))
    }

    /// An amount written in yuan with at most two decimals ("12", "12.5", "12.50"), as
    /// people and payment providers write it; `None` for anything else (a sign, an
    /// exponent, a third decimal, more than nine digits of yuan).
    pub fn parse_yuan(s: &str) -> Option<Fen> {
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || whole.len() > 9 || frac.len() > 2 || !digits(whole) || !digits(frac)
        {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let frac: i64 = format!("{frac:0<2}").parse().ok()?;
        Some(Fen(whole * 100 + frac))
    }
}

impl std::fmt::Display for Fen {
    /// Yuan with two decimals, e.g. `¥12.30`, `-¥0.05`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}¥{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn displays_yuan_with_two_decimals() {
        assert_eq!(Fen::new(1230).to_string(), "¥12.30");
        assert_eq!(Fen::new(-5).to_string(), "-¥0.05");
        assert_eq!(Fen::ZERO.to_string(), "¥0.00");
    }

    #[test]
    fn yuan_is_read_to_the_fen() {
        assert_eq!(Fen::parse_yuan("12"), Some(Fen::new(1200)));
        assert_eq!(Fen::parse_yuan("12.5"), Some(Fen::new(1250)));
        assert_eq!(Fen::parse_yuan("0.01"), Some(Fen::new(1)));
        for bad in [
            "",
            ".5",
            "-1",
            "+1",
            "1.234",
            "1e3",
            "1,00",
            " 1",
            "1234567890",
        ] {
            assert_eq!(Fen::parse_yuan(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn negative_prices_are_refused() {
        assert!(Fen::non_negative("price", -1).is_err());
        assert_eq!(Fen::non_negative("price", 0), Ok(Fen::ZERO));
    }

    proptest! {
        #[test]
        fn add_then_sub_is_identity(a in -1_000_000_000_000i64..1_000_000_000_000, b in -1_000_000_000_000i64..1_000_000_000_000) {
            let sum = Fen::new(a).checked_add(Fen::new(b)).unwrap();
            prop_assert_eq!(sum.checked_sub(Fen::new(b)).unwrap(), Fen::new(a));
        }

        #[test]
        fn yuan_written_with_two_decimals_reads_back(n in 0i64..100_000_000_000) {
            let text = format!("{}.{:02}", n / 100, n % 100);
            prop_assert_eq!(Fen::parse_yuan(&text), Some(Fen::new(n)));
        }

        #[test]
        fn overflow_is_none_never_a_wrap(a in any::<i64>(), b in any::<i64>()) {
            let got = Fen::new(a).checked_add(Fen::new(b));
            prop_assert_eq!(got.map(Fen::get), a.checked_add(b));
        }

        #[test]
        fn a_sum_is_checked_like_its_additions(xs in proptest::collection::vec(any::<i64>(), 0..4)) {
            let want = xs.iter().try_fold(0i64, |s, x| s.checked_add(*x));
            prop_assert_eq!(Fen::checked_sum(xs.iter().copied().map(Fen::new)).map(Fen::get), want);
        }
    }
}
