//! 快递100 pushes as the provider and attackers send them: any `param` and `sign` must be
//! answered by the signature check and the JSON reader with a refusal, never a panic; a push
//! signed with the subscription's salt verifies and stops verifying when its text changes;
//! any state code maps onto one of kith's shipment events; any event time is read or refused.
#![no_main]

use kith_app::commerce::tracking::kuaidi100::{Push, beijing_ms, kith_status, sign, verify};
use libfuzzer_sys::arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

const SALT: &str = "fuzzing-salt-0123456789abcdef";

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let given = <&str>::arbitrary(&mut u).unwrap_or("");
    let param = std::str::from_utf8(u.take_rest()).unwrap_or("");
    let _ = verify(param, SALT, given);
    let ours = sign(param, SALT);
    assert!(verify(param, SALT, &ours));
    let mut tampered = param.to_owned();
    tampered.push('x');
    assert!(!verify(&tampered, SALT, &ours));
    if let Ok(push) = serde_json::from_str::<Push>(param) {
        let status = kith_status(&push.last_result.state);
        assert!(["in_transit", "out_for_delivery", "delivered", "exception"].contains(&status));
        for e in &push.last_result.data {
            let _ = beijing_ms(&e.time);
            if let Some(code) = &e.status_code {
                let _ = kith_status(code);
            }
        }
    }
});
