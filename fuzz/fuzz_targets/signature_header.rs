//! `Kith-Signature` headers as gateways, carriers and attackers send them: any header and
//! body must be answered with Ok or a typed refusal, never a panic; a header we made
//! ourselves must verify, and must stop verifying when the body changes.
#![no_main]

use kith_domain::signature::{sign, verify};
use libfuzzer_sys::arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"fuzzing-secret-0123456789";

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let header = <&str>::arbitrary(&mut u).unwrap_or("");
    let now = i64::arbitrary(&mut u).unwrap_or(0);
    let tolerance = i64::arbitrary(&mut u).unwrap_or(300);
    let body = u.take_rest();
    let _ = verify(header, SECRET, body, now, tolerance);

    // Round trip with a sane clock.
    let ts = now.rem_euclid(4_000_000_000);
    let ours = sign(SECRET, ts, body);
    assert!(verify(&ours, SECRET, body, ts, 300).is_ok(), "{ours}");
    let mut tampered = body.to_vec();
    tampered.push(b'x');
    assert!(verify(&ours, SECRET, &tampered, ts, 300).is_err());
});
