//! Image uploads: any bytes go through the same checks, metadata stripping, decoding
//! within the pixel limits, orientation and thumbnailing as `POST /api/v1/media`, and are
//! accepted with sane dimensions or refused with a 4xx-kind error — never a panic.
#![no_main]

use kith_app::social::media::inspect_upload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((w, h)) = inspect_upload(data.to_vec()) {
        assert!(w > 0 && h > 0);
    }
});
