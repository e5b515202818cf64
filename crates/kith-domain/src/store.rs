//! Offline stores (线下实体店): where they are and when they are open.

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A WGS-84 position kept as integer micro-degrees (1e-6°, about 0.1 m), so storage holds
/// exact integers on both engines and equality is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coordinates {
    pub lat_e6: i64,
    pub lng_e6: i64,
}

impl Coordinates {
    pub fn parse(lat: f64, lng: f64) -> Result<Self, DomainError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(DomainError::invalid(
                "latitude",
                "must be between -90 and 90",
            ));
        }
        if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
            return Err(DomainError::invalid(
                "longitude",
                "must be between -180 and 180",
            ));
        }
        Ok(Self {
            lat_e6: (lat * 1e6).round() as i64,
            lng_e6: (lng * 1e6).round() as i64,
        })
    }

    pub fn lat(self) -> f64 {
        self.lat_e6 as f64 / 1e6
    }

    pub fn lng(self) -> f64 {
        self.lng_e6 as f64 / 1e6
    }
}

/// One opening window: a weekday (1 = Monday … 7 = Sunday) and `HH:MM` times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningWindow {
    pub weekday: u8,
    pub opens: String,
    pub closes: String,
}

/// A store's weekly opening hours: at most 21 windows (three a day), each with
/// `opens < closes` on the same day, windows of one day not overlapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct OpeningHours(Vec<OpeningWindow>);

impl OpeningHours {
    pub const MAX_WINDOWS: usize = 21;

    pub fn parse(windows: Vec<OpeningWindow>) -> Result<Self, DomainError> {
        if windows.len() > Self::MAX_WINDOWS {
            return Err(DomainError::invalid(
                "opening_hours",
                format!("at most {} windows", Self::MAX_WINDOWS),
            ));
        }
        let mut spans = Vec::with_capacity(windows.len());
        for (i, w) in windows.iter().enumerate() {
            let field = |f: &str| format!("opening_hours[{i}].{f}");
            if !(1..=7).contains(&w.weekday) {
                return Err(DomainError::invalid(
                    field("weekday"),
                    "must be 1 (Monday) to 7 (Sunday)",
                ));
            }
            let opens = minutes(&w.opens)
                .ok_or_else(|| DomainError::invalid(field("opens"), "must be HH:MM"))?;
            let closes = minutes(&w.closes)
                .ok_or_else(|| DomainError::invalid(field("closes"), "must be HH:MM"))?;
            if opens >= closes {
                return Err(DomainError::invalid(field("closes"), "must be after opens"));
            }
            spans.push((w.weekday, opens, closes, i));
        }
        spans.sort();
        for pair in spans.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if a.0 == b.0 && b.1 < a.2 {
                return Err(DomainError::invalid(
                    format!("opening_hours[{}]", b.3),
                    "overlaps another window of the same day",
                ));
            }
        }
        Ok(Self(windows))
    }

    pub fn windows(&self) -> &[OpeningWindow] {
        &self.0
    }
}

/// `HH:MM` → minutes after midnight; `24:00` is allowed as a closing time.
fn minutes(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(day: u8, o: &str, c: &str) -> OpeningWindow {
        OpeningWindow {
            weekday: day,
            opens: o.into(),
            closes: c.into(),
        }
    }

    #[test]
    fn coordinates() {
        let c = Coordinates::parse(26.1, 106.3).unwrap();
        assert_eq!((c.lat_e6, c.lng_e6), (26_100_000, 106_300_000));
        assert!(Coordinates::parse(91.0, 0.0).is_err());
        assert!(Coordinates::parse(0.0, f64::NAN).is_err());
    }

    #[test]
    fn opening_hours() {
        assert!(OpeningHours::parse(vec![w(1, "09:00", "12:00"), w(1, "13:00", "24:00")]).is_ok());
        assert!(OpeningHours::parse(vec![w(1, "09:00", "12:00"), w(1, "11:00", "14:00")]).is_err());
        assert!(OpeningHours::parse(vec![w(8, "09:00", "12:00")]).is_err());
        assert!(OpeningHours::parse(vec![w(1, "9:00", "12:00")]).is_err());
        assert!(OpeningHours::parse(vec![w(1, "12:00", "09:00")]).is_err());
        assert!(OpeningHours::parse(vec![w(1, "09:60", "10:00")]).is_err());
        assert!(OpeningHours::parse(vec![w(1, "09:00", "10:00"); 22]).is_err());
    }
}
