//! Image uploads over HTTP on both engines: real PNG, JPEG and WebP files made here come
//! back byte for byte (they carry no metadata) with a smaller JPEG thumbnail; the same bytes
//! are one id and one row; a photo's EXIF — GPS position included — is stripped before it
//! is stored, the id being the hash of what is served, and a sideways photo is stored
//! upright; anything that is not an acceptable image is refused with a problem document on
//! `image` (or 413 when too large, 401 when anonymous), and nothing is written — no row, no
//! file.

use std::io::Cursor;

use image::codecs::jpeg::JpegDecoder;
use image::codecs::png::PngDecoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, RgbaImage};
use kith_app::AppError;
use kith_store::args;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::both_engines;
use crate::harness::TestApp;
use crate::worlds::{encode, small_png, upload};

both_engines!(
    images_round_trip_with_thumbnails,
    the_same_bytes_are_one_item,
    bad_uploads_are_refused_and_write_nothing,
    media_ids_cannot_name_other_paths,
    exif_and_its_gps_position_are_stripped,
    sideways_photos_are_stored_upright,
);

/// A noisy picture (so that it does not compress to nothing), deterministic.
fn picture(w: u32, h: u32) -> DynamicImage {
    let mut seed: u32 = 0x2545_F491;
    DynamicImage::ImageRgba8(RgbaImage::from_fn(w, h, |x, y| {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let n = (seed >> 24) as u8;
        image::Rgba([
            (x * 255 / w) as u8 ^ (n & 0x3f),
            (y * 255 / h) as u8,
            n,
            255,
        ])
    }))
}

async fn fetch(t: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = t
        .client
        .get(format!("{}{path}", t.base))
        .send()
        .await
        .expect("get");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.expect("body").to_vec())
}

async fn media_rows(t: &TestApp) -> i64 {
    t.app
        .db
        .read(|c| -> Result<i64, AppError> {
            Ok(c.query_one("SELECT COUNT(*) FROM media", args![])?.int(0)?)
        })
        .await
        .expect("count media")
}

/// Every file under the media folder, temporary ones included.
fn media_files(t: &TestApp) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&t.app.config.media_dir, &mut out);
    out.sort();
    out
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn images_round_trip_with_thumbnails(t: TestApp) {
    let member = t.register_member("小美").await;
    let pic = picture(480, 360);
    // The Content-Type a client sends is ignored: the bytes decide.
    let cases = [
        (ImageFormat::Png, "image/png", "application/octet-stream"),
        (ImageFormat::Jpeg, "image/jpeg", "image/png"),
        (ImageFormat::WebP, "image/webp", "text/plain"),
    ];
    for (format, mime, sent_as) in cases {
        let bytes = encode(&pic, format);
        let m = upload(&t, Some(&member.token), bytes.clone(), sent_as, "photo.bin")
            .await
            .expect(201);
        let id = sha256_hex(&bytes);
        assert_eq!(m["id"], id.as_str(), "{m}");
        assert_eq!(m["mime"], mime);
        assert_eq!(
            (m["width"].as_i64(), m["height"].as_i64()),
            (Some(480), Some(360))
        );
        assert_eq!(m["bytes"], bytes.len() as i64);
        assert_eq!(m["url"], format!("/media/{id}").as_str());
        assert_eq!(m["thumb_url"], format!("/media/{id}/thumb").as_str());

        let (status, h, body) = fetch(&t, &format!("/media/{id}")).await;
        assert_eq!(status, 200);
        assert!(
            body == bytes,
            "{mime}: no metadata to strip, so served byte for byte"
        );
        assert_eq!(header(&h, "content-type"), mime);
        assert_eq!(
            header(&h, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(header(&h, "x-content-type-options"), "nosniff");

        let (status, h, thumb) = fetch(&t, &format!("/media/{id}/thumb")).await;
        assert_eq!(status, 200);
        assert_eq!(header(&h, "content-type"), "image/jpeg");
        assert!(
            thumb.len() < bytes.len(),
            "{mime}: the thumbnail is smaller"
        );
        let decoded = image::load_from_memory_with_format(&thumb, ImageFormat::Jpeg)
            .expect("the thumbnail is a JPEG");
        assert_eq!((decoded.width(), decoded.height()), (320, 240));

        // Files are content-addressed under media_dir/ab/cd/.
        let dir = t.app.config.media_dir.join(&id[0..2]).join(&id[2..4]);
        assert!(dir.join(&id).is_file());
        assert!(dir.join(format!("{id}.thumb.jpg")).is_file());

        // A client that has it already is told so.
        let etag = header(&h, "etag").to_owned();
        let r = t
            .client
            .get(format!("{}/media/{id}/thumb", t.base))
            .header("if-none-match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 304);
    }
    assert_eq!(media_rows(&t).await, 3);

    // This route alone takes bodies beyond the API's 1 MiB default.
    let big = encode(&picture(1400, 1000), ImageFormat::Png);
    assert!(big.len() > 2 * 1024 * 1024, "{}", big.len());
    let m = upload(&t, Some(&member.token), big.clone(), "image/png", "big.png")
        .await
        .expect(201);
    assert_eq!(m["bytes"], big.len() as i64);
    let (status, _, body) = fetch(&t, m["url"].as_str().unwrap()).await;
    assert!(status == 200 && body == big);
    assert_eq!(media_rows(&t).await, 4);
    assert!(
        !media_files(&t)
            .iter()
            .any(|p| p.to_string_lossy().ends_with(".tmp")),
        "no temporary file is left behind"
    );
}

async fn the_same_bytes_are_one_item(t: TestApp) {
    let a = t.register_member("甲").await;
    let b = t.register_member("乙").await;
    let bytes = small_png(1);
    let first = upload(&t, Some(&a.token), bytes.clone(), "image/png", "a.png")
        .await
        .expect(201);
    let again = upload(&t, Some(&a.token), bytes.clone(), "image/png", "a.png")
        .await
        .expect(201);
    let by_other = upload(&t, Some(&b.token), bytes.clone(), "image/png", "b.png")
        .await
        .expect(201);
    assert_eq!(first["id"], again["id"]);
    assert_eq!(first["id"], by_other["id"]);
    assert_eq!(first["created_at"], by_other["created_at"]);
    assert_eq!(media_rows(&t).await, 1, "one row");
    assert_eq!(media_files(&t).len(), 2, "one original, one thumbnail");
    let owner = {
        let id = first["id"].as_str().unwrap().to_owned();
        t.app
            .db
            .read(move |c| -> Result<String, AppError> {
                Ok(
                    c.query_one("SELECT owner_id FROM media WHERE id = $1", args![&id])?
                        .text(0)?,
                )
            })
            .await
            .unwrap()
    };
    assert_eq!(owner, a.id, "the first uploader owns it");
    // Both uploaders may attach the image (a forwarded picture is common); a member who
    // never uploaded it may not.
    let c = t.register_member("丙").await;
    for (who, status) in [(&a, 201), (&b, 201), (&c, 422)] {
        let r = t
            .post(
                "/api/v1/posts",
                Some(&who.token),
                serde_json::json!({ "body": "同一张图", "visibility": "public", "images": [first["id"]] }),
            )
            .await;
        assert_eq!(r.status.as_u16(), status, "{}", r.body);
    }
    // A different image is a different item.
    let other = upload(&t, Some(&a.token), small_png(2), "image/png", "c.png")
        .await
        .expect(201);
    assert_ne!(other["id"], first["id"]);
    assert_eq!(media_rows(&t).await, 2);
}

/// A chunk of a PNG file: length, type, data, CRC-32 of type and data.
fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    out
}

/// A tiny, well-formed PNG whose header claims `w`×`h` RGBA pixels; its pixel data is a
/// few bytes, so only a decoder that trusts the header would try to allocate for it.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(png_chunk(b"IHDR", &ihdr));
    out.extend(png_chunk(b"IDAT", &[0x78, 0x9c, 0x63, 0, 0, 0, 1, 0, 1]));
    out.extend(png_chunk(b"IEND", &[]));
    out
}

#[track_caller]
fn detail(p: &Value) -> String {
    p["detail"].as_str().unwrap_or_default().to_owned()
}

async fn bad_uploads_are_refused_and_write_nothing(t: TestApp) {
    let member = t.register_member("小坏").await;
    let tok = Some(member.token.as_str());

    // Anonymous.
    upload(&t, None, small_png(3), "image/png", "a.png")
        .await
        .problem(401, None);
    // Text with an image's name and type.
    let p = upload(
        &t,
        tok,
        b"just some text, not a photo".to_vec(),
        "image/jpeg",
        "photo.jpg",
    )
    .await
    .problem(422, Some("image"));
    assert!(detail(&p).contains("JPEG, PNG or WebP"), "{p}");
    // A GIF: a real image, but not a type we take.
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;".to_vec();
    let p = upload(&t, tok, gif, "image/gif", "a.gif")
        .await
        .problem(422, Some("image"));
    assert!(detail(&p).contains("GIF"), "{p}");
    // 100 megapixels claimed by a 100-byte file: refused from the header alone.
    let bomb = png_claiming(10_000, 10_000);
    assert!(bomb.len() < 100);
    let p = upload(&t, tok, bomb, "image/png", "huge.png")
        .await
        .problem(422, Some("image"));
    assert!(detail(&p).contains("10000×10000"), "{p}");
    // Within 8192 a side but 48 megapixels.
    let p = upload(&t, tok, png_claiming(8000, 6000), "image/png", "wide.png")
        .await
        .problem(422, Some("image"));
    assert!(detail(&p).contains("megapixels"), "{p}");
    // A JPEG signature over garbage.
    let mut fake = vec![0xFF, 0xD8, 0xFF, 0xE0];
    fake.extend_from_slice(&[0x42; 200]);
    upload(&t, tok, fake, "image/jpeg", "broken.jpg")
        .await
        .problem(422, Some("image"));
    // A real PNG cut short.
    let mut cut = encode(&picture(64, 64), ImageFormat::Png);
    cut.truncate(cut.len() / 2);
    upload(&t, tok, cut, "image/png", "cut.png")
        .await
        .problem(422, Some("image"));
    // Empty.
    upload(&t, tok, Vec::new(), "image/png", "empty.png")
        .await
        .problem(422, Some("image"));
    // Over 10 MiB: 413. The server answers from the declared length without reading the
    // body, so a client still sending may see the connection close under its write
    // instead of the answer (a broken pipe): that is a refusal too; either way nothing is
    // written (checked below).
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.resize(11 * 1024 * 1024, 0);
    let sent = t
        .client
        .post(format!("{}/api/v1/media", t.base))
        .header("content-type", "image/png")
        .bearer_auth(&member.token)
        .body(big)
        .send()
        .await;
    match sent {
        Ok(r) => {
            TestApp::read(r).await.problem(413, None);
        }
        Err(e) => assert!(e.is_request(), "{e}"),
    }

    assert_eq!(media_rows(&t).await, 0, "no row");
    assert_eq!(media_files(&t), Vec::<std::path::PathBuf>::new(), "no file");
}

async fn media_ids_cannot_name_other_paths(t: TestApp) {
    let member = t.register_member("小路").await;
    let m = upload(&t, Some(&member.token), small_png(4), "image/png", "a.png")
        .await
        .expect(201);
    let id = m["id"].as_str().unwrap().to_owned();
    assert_eq!(fetch(&t, &format!("/media/{id}")).await.0, 200);
    for bad in [
        id.to_uppercase(),
        id[1..].to_owned(),
        format!("{id}0"),
        "..%2F..%2Fkith.toml".to_owned(),
        "%2E%2E".to_owned(),
        "0".repeat(64),
    ] {
        let (status, headers, _) = fetch(&t, &format!("/media/{bad}")).await;
        if bad == "%2E%2E" {
            // A dot segment: the client resolves `/media/%2E%2E` to `/` (the web pages'
            // home) before sending it, so the media route never sees it. No image comes back.
            let ct = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            assert!(!ct.starts_with("image/"), "{bad}: {status} {ct}");
        } else {
            assert_eq!(status, 404, "{bad}");
        }
        assert_eq!(
            fetch(&t, &format!("/media/{bad}/thumb")).await.0,
            404,
            "{bad}"
        );
    }
    let r = t.get(&format!("/media/{}", "f".repeat(64)), None).await;
    r.problem(404, None);
}

/// A little-endian TIFF structure as EXIF holds it: IFD0 with an orientation and a GPSInfo
/// pointer to a GPS IFD saying 31°14'24" N — the kind of thing a phone writes into a photo.
fn exif_with_gps(orientation: u16) -> Vec<u8> {
    let mut t = b"II*\0".to_vec();
    t.extend(8u32.to_le_bytes());
    // IFD0 at 8: Orientation (SHORT) and GPSInfo (LONG offset), then no next IFD.
    let gps_ifd: u32 = 8 + 2 + 2 * 12 + 4;
    t.extend(2u16.to_le_bytes());
    t.extend([0x12, 0x01, 3, 0, 1, 0, 0, 0]);
    t.extend(orientation.to_le_bytes());
    t.extend([0, 0]);
    t.extend([0x25, 0x88, 4, 0, 1, 0, 0, 0]);
    t.extend(gps_ifd.to_le_bytes());
    t.extend(0u32.to_le_bytes());
    // GPS IFD: GPSLatitudeRef "N"; GPSLatitude, three RATIONALs stored after the IFD.
    let rationals: u32 = gps_ifd + 2 + 2 * 12 + 4;
    t.extend(2u16.to_le_bytes());
    t.extend([0x01, 0x00, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0]);
    t.extend([0x02, 0x00, 5, 0, 3, 0, 0, 0]);
    t.extend(rationals.to_le_bytes());
    t.extend(0u32.to_le_bytes());
    for (n, d) in [(31u32, 1u32), (14, 1), (2400, 100)] {
        t.extend(n.to_le_bytes());
        t.extend(d.to_le_bytes());
    }
    t
}

/// `jpeg` with an APP1 `Exif\0\0` segment holding `tiff` right after its start marker.
fn jpeg_with_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    let len = u16::try_from(2 + 6 + tiff.len()).unwrap();
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend(len.to_be_bytes());
    out.extend(b"Exif\0\0");
    out.extend(tiff);
    out.extend(&jpeg[2..]);
    out
}

/// `png` with an `eXIf` chunk holding `tiff` right after its header chunk.
fn png_with_exif(png: &[u8], tiff: &[u8]) -> Vec<u8> {
    let after_ihdr = 8 + 4 + 4 + 13 + 4;
    assert_eq!(&png[12..16], b"IHDR");
    let mut out = png[..after_ihdr].to_vec();
    out.extend(png_chunk(b"eXIf", tiff));
    out.extend(&png[after_ihdr..]);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The EXIF the `image` crate finds in a served file, as any viewer would.
fn exif_of(bytes: &[u8], format: ImageFormat) -> Option<Vec<u8>> {
    match format {
        ImageFormat::Jpeg => JpegDecoder::new(Cursor::new(bytes))
            .expect("a JPEG")
            .exif_metadata()
            .expect("readable"),
        ImageFormat::Png => PngDecoder::new(Cursor::new(bytes))
            .expect("a PNG")
            .exif_metadata()
            .expect("readable"),
        _ => unreachable!(),
    }
}

async fn exif_and_its_gps_position_are_stripped(t: TestApp) {
    let member = t.register_member("小隐").await;
    let pic = picture(480, 360);
    let mut rows = 0;
    for (format, mime) in [
        (ImageFormat::Jpeg, "image/jpeg"),
        (ImageFormat::Png, "image/png"),
    ] {
        let clean = encode(&pic, format);
        let tagged = match format {
            ImageFormat::Jpeg => jpeg_with_exif(&clean, &exif_with_gps(1)),
            _ => png_with_exif(&clean, &exif_with_gps(1)),
        };
        // The photo as a phone would send it: its EXIF readable, GPS pointer and all.
        let exif = exif_of(&tagged, format).expect("the upload carries EXIF");
        assert!(contains(&exif, &[0x25, 0x88]), "{mime}: a GPSInfo tag");
        assert_ne!(sha256_hex(&tagged), sha256_hex(&clean));

        let m = upload(&t, Some(&member.token), tagged.clone(), mime, "IMG_0001")
            .await
            .expect(201);
        let id = m["id"].as_str().unwrap().to_owned();
        let (status, h, served) = fetch(&t, &format!("/media/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(header(&h, "content-type"), mime);
        assert_eq!(exif_of(&served, format), None, "{mime}: no EXIF is served");
        for trace in [&b"Exif"[..], b"eXIf", b"II*\0"] {
            assert!(!contains(&served, trace), "{mime}: no trace of it either");
        }
        assert_eq!(
            id,
            sha256_hex(&served),
            "{mime}: the id is the served bytes' hash"
        );
        assert_eq!(m["bytes"], served.len() as i64);
        let decoded = image::load_from_memory_with_format(&served, format).expect("decodes");
        assert_eq!((decoded.width(), decoded.height()), (480, 360));
        assert_eq!(
            (m["width"].as_i64(), m["height"].as_i64()),
            (Some(480), Some(360))
        );
        // Lossless: what is left is exactly the file without its EXIF.
        assert!(
            served == clean,
            "{mime}: the pixels are the uploaded ones, not re-encoded"
        );

        // The same photo without metadata (or with other metadata) is the same item.
        let again = upload(&t, Some(&member.token), clean, mime, "copy")
            .await
            .expect(201);
        assert_eq!(again["id"], id.as_str());
        rows += 1;
        assert_eq!(media_rows(&t).await, rows, "{mime}: one row for both");
    }
    // No stored file holds the position.
    for path in media_files(&t) {
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !contains(&bytes, b"Exif") && !contains(&bytes, b"eXIf"),
            "{path:?}"
        );
    }
}

async fn sideways_photos_are_stored_upright(t: TestApp) {
    let member = t.register_member("小转").await;
    // Taken with the phone turned: stored 480×360, EXIF orientation 6 says "turn 90°
    // clockwise to display", so it is displayed 360×480.
    let pic = picture(480, 360);
    let sideways = jpeg_with_exif(&encode(&pic, ImageFormat::Jpeg), &exif_with_gps(6));
    let m = upload(
        &t,
        Some(&member.token),
        sideways.clone(),
        "image/jpeg",
        "IMG_0002.JPG",
    )
    .await
    .expect(201);
    assert_eq!(
        (m["width"].as_i64(), m["height"].as_i64()),
        (Some(360), Some(480))
    );
    let id = m["id"].as_str().unwrap().to_owned();
    let (status, h, served) = fetch(&t, &format!("/media/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-type"), "image/jpeg");
    assert_eq!(id, sha256_hex(&served));
    assert_eq!(
        exif_of(&served, ImageFormat::Jpeg),
        None,
        "no EXIF, no orientation tag"
    );
    let decoded = image::load_from_memory_with_format(&served, ImageFormat::Jpeg).unwrap();
    assert_eq!(
        (decoded.width(), decoded.height()),
        (360, 480),
        "upright in the pixels themselves"
    );
    let (_, _, thumb) = fetch(&t, &format!("/media/{id}/thumb")).await;
    let thumb = image::load_from_memory_with_format(&thumb, ImageFormat::Jpeg).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (240, 320));

    // Uploaded again, it is the same item.
    let again = upload(
        &t,
        Some(&member.token),
        sideways,
        "image/jpeg",
        "IMG_0002.JPG",
    )
    .await
    .expect(201);
    assert_eq!(again["id"], id.as_str());
    assert_eq!(media_rows(&t).await, 1);
    assert_eq!(media_files(&t).len(), 2, "one original, one thumbnail");
}
