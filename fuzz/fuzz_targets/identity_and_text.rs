//! Logins, phone numbers, e-mails, passwords and bounded text, as typed into sign-up and
//! profile forms: any string is parsed or refused with a typed error, never a panic, and
//! what parses keeps its promises (length bounds, normal form stable under re-parsing).
#![no_main]

use kith_domain::{BoundedText, Email, LoginId, Password, Phone};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = Phone::parse(s) {
        let again = Phone::parse(p.as_str()).ok();
        assert_eq!(again.as_ref().map(Phone::as_str), Some(p.as_str()));
    }
    if let Ok(e) = Email::parse(s) {
        let again = Email::parse(e.as_str()).ok();
        assert_eq!(again.as_ref().map(Email::as_str), Some(e.as_str()));
    }
    let _ = LoginId::parse(s);
    let _ = Password::parse(s);
    if let Ok(t) = BoundedText::parse("name", s, 1, 32) {
        let n = t.as_str().chars().count();
        assert!((1..=32).contains(&n), "{n}");
    }
    if let Ok(t) = BoundedText::parse_multiline("body", s, 0, 2000) {
        assert!(t.as_str().chars().count() <= 2000);
    }
});
