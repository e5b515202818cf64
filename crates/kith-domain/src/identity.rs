//! Who someone is when they log in: a mainland China mobile number or an email address,
//! and a password that meets the policy. Each type can only be built by parsing.

use serde::Serialize;

use crate::DomainError;

/// A mainland China mobile number, stored as its 11 digits (`13812345678`).
/// Accepted input: the 11 digits, optionally prefixed `+86`/`86`/`0086`, with spaces or
/// hyphens between groups. The second digit is 3–9, as for every mainland mobile range.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let compact: String = input
            .trim()
            .chars()
            .filter(|c| *c != ' ' && *c != '-')
            .collect();
        let digits = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
            .or_else(|| {
                // "86" followed by 11 digits; a bare 11-digit number never starts with 86.
                (compact.len() == 13)
                    .then(|| compact.strip_prefix("86"))
                    .flatten()
            })
            .unwrap_or(&compact);
        let bytes = digits.as_bytes();
        let well_formed = bytes.len() == 11
            && bytes.iter().all(u8::is_ascii_digit)
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1]);
        if !well_formed {
            return Err(DomainError::invalid(
                "phone",
                "must be a mainland China mobile number: 11 digits starting 13–19",
            ));
        }
        Ok(Self(digits.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****5678`: what logs and other members may see.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

/// An email address, lower-cased. Deliberately modest: one `@`, a non-empty local part, a
/// domain with a dot and no spaces, at most 254 characters. Deliverability is the mail
/// server's business, not ours.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim().to_lowercase();
        let bad = |reason: &str| Err(DomainError::invalid("email", reason));
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return bad("must be 1–254 characters");
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("must not contain spaces");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return bad("must contain @");
        };
        if local.is_empty() || local.len() > 64 || domain.contains('@') {
            return bad("must be local-part@domain");
        }
        let labels_ok = domain.split('.').count() >= 2
            && domain
                .split('.')
                .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
        if !labels_ok {
            return bad("domain must look like example.com");
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a person types in the login box: a phone number or an email.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LoginId {
    Phone(Phone),
    Email(Email),
}

impl LoginId {
    /// An input with `@` is an email; anything else must be a phone number.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        if input.contains('@') {
            Email::parse(input)
                .map(Self::Email)
                .map_err(|e| e.for_field("login"))
        } else {
            Phone::parse(input)
                .map(Self::Phone)
                .map_err(|e| e.for_field("login"))
        }
    }

    /// The canonical form, used as the throttling key and in lookups.
    pub fn canonical(&self) -> &str {
        match self {
            Self::Phone(p) => p.as_str(),
            Self::Email(e) => e.as_str(),
        }
    }
}

/// A password that meets the policy: 8 to 128 characters, not all the same character.
/// Its `Debug` never shows the secret, so it cannot leak into a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    /// Argon2 cost is per byte; an upper bound keeps one login from being a denial of service.
    pub const MAX_CHARS: usize = 128;

    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let n = input.chars().count();
        if n < Self::MIN_CHARS {
            return Err(DomainError::invalid(
                "password",
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if n > Self::MAX_CHARS {
            return Err(DomainError::invalid(
                "password",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        let mut chars = input.chars();
        let first = chars.next();
        if chars.all(|c| Some(c) == first) {
            return Err(DomainError::invalid(
                "password",
                "must not be one character repeated",
            ));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phones() {
        for ok in [
            "13812345678",
            "+86 138 1234 5678",
            "0086-13812345678",
            "8613812345678",
            "19912345678",
        ] {
            assert_eq!(Phone::parse(ok).unwrap().as_str().len(), 11, "{ok}");
        }
        for bad in [
            "",
            "12812345678",
            "1381234567",
            "138123456789",
            "1381234567a",
            "+1 2025550123",
            "２３８１２３４５６７８",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Phone::parse("13812345678").unwrap().masked(), "138****5678");
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Li.Lei@Example.COM ").unwrap().as_str(),
            "li.lei@example.com"
        );
        for bad in [
            "",
            "a",
            "a@b",
            "@b.com",
            "a@b@c.com",
            "a b@c.com",
            "a@-b.com",
            "a@b..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn login_ids_name_the_login_field() {
        assert!(matches!(
            LoginId::parse("13812345678"),
            Ok(LoginId::Phone(_))
        ));
        assert!(matches!(LoginId::parse("x@y.cn"), Ok(LoginId::Email(_))));
        match LoginId::parse("nope") {
            Err(DomainError::Invalid { field, .. }) => assert_eq!(field, "login"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn password_policy_and_redaction() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("aaaaaaaaaa").is_err());
        assert!(Password::parse(&"x".repeat(200)).is_err());
        let p = Password::parse("correct horse").unwrap();
        assert_eq!(format!("{p:?}"), "Password(<redacted>)");
    }

    proptest! {
        #[test]
        fn any_valid_mobile_round_trips(second in 3u8..=9, rest in "[0-9]{9}") {
            let s = format!("1{second}{rest}");
            prop_assert_eq!(Phone::parse(&s).unwrap().as_str().to_owned(), s.clone());
            let prefixed = format!("+86{s}");
            prop_assert_eq!(Phone::parse(&prefixed).unwrap().as_str().to_owned(), s);
        }

        #[test]
        fn parsers_never_panic(s in ".{0,300}") {
            let _ = Phone::parse(&s);
            let _ = Email::parse(&s);
            let _ = LoginId::parse(&s);
            let _ = Password::parse(&s);
        }
    }
}
