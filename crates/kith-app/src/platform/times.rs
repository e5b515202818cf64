//! Times as the API takes them: one parser of RFC 3339 into epoch milliseconds, so every
//! context refuses a bad time with the same 422 naming its field.

use crate::{AppError, AppResult};

/// `s` as epoch milliseconds; a malformed or out-of-range time is a 422 on `field`.
pub fn parse_time(field: &str, s: &str) -> AppResult<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| AppError::invalid(field, "must be an RFC 3339 time"))?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| AppError::invalid(field, "is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339_and_names_the_field_when_it_cannot() {
        assert_eq!(parse_time("at", "1970-01-01T00:00:01Z").unwrap(), 1_000);
        assert_eq!(
            parse_time("at", "2026-01-01T08:00:00+08:00").unwrap(),
            1_767_225_600_000
        );
        match parse_time("ends_at", "tomorrow") {
            Err(AppError::Invalid { field, .. }) => assert_eq!(field, "ends_at"),
            other => panic!("{other:?}"),
        }
    }
}
