//! The pages' static files — the stylesheet, htmx, the challenge solver, the region picker
//! and its table, the icon —
//! compiled into the binary and served the way a CDN would serve them: under a name that
//! carries a hash of the content (`/static/kith.3fa2b1c9d0.css`), so a page can tell the
//! browser to keep them a year (`immutable`) and a new build is fetched at once; brotli for
//! clients that accept it (every current browser, over HTTPS), else gzip, both compressed
//! once when first asked for, at their best settings, not per request; an ETag answered
//! with 304. The plain names (`/static/kith.css`) still answer, with a short
//! cache, for anything that links them directly.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One static file.
struct Asset {
    /// Its plain name (`kith.css`).
    name: &'static str,
    mime: &'static str,
    body: &'static [u8],
    /// The first 10 hex digits of its SHA-256.
    hash: String,
    /// The name pages link: the hash before the extension (`kith.3fa2b1c9d0.css`).
    hashed: String,
    /// Its brotli encoding, when that is smaller.
    br: Option<Vec<u8>>,
    /// Its gzip encoding, when that is smaller.
    gzip: Option<Vec<u8>>,
}

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "kith.css",
        "text/css; charset=utf-8",
        include_bytes!("../static/kith.css"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/htmx.min.js"),
    ),
    (
        "challenge.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/challenge.js"),
    ),
    (
        "countdown.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/countdown.js"),
    ),
    (
        "table-tools.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/table-tools.js"),
    ),
    (
        "region-picker.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/region-picker.js"),
    ),
    (
        "copy.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/copy.js"),
    ),
    (
        "member-picker.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/member-picker.js"),
    ),
    // kith-domain's region table (its data/README.md says where it comes from), the same
    // bytes the server checks addresses against.
    (
        "regions.json",
        "application/json",
        kith_domain::region::JSON.as_bytes(),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("../static/icon.svg"),
    ),
];

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(name, mime, body)| {
            let hash = hex::encode(Sha256::digest(body))[..10].to_owned();
            let hashed = match name.split_once('.') {
                Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
                None => format!("{name}.{hash}"),
            };
            let br = brotli(body).filter(|z| z.len() < body.len());
            let gzip = gzip(body).filter(|z| z.len() < body.len());
            Asset {
                name,
                mime,
                body,
                hash,
                hashed,
                br,
                gzip,
            }
        })
        .collect()
});

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(body).ok()?;
    z.finish().ok()
}

/// Brotli at its best quality (11) and a 4 MiB window: slow to compress, but that happens
/// once per file, and decompressing costs the browser no more for it.
fn brotli(body: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut z = ::brotli::CompressorWriter::new(Vec::new(), 4096, 11, 22);
    z.write_all(body).ok()?;
    // `into_inner` ends the stream.
    Some(z.into_inner())
}

/// The URL a page links for the static file `name` (its content-hashed name).
pub fn url(name: &str) -> String {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => format!("/static/{}", a.hashed),
        None => format!("/static/{name}"),
    }
}

/// Whether the request's `Accept-Encoding` takes `coding` (`gzip`, `br`), by name or as
/// `*`, and does not refuse it with `q=0`.
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|offered| {
            let mut parts = offered.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case(coding) || name == "*") && !refused
        })
}

/// `GET /static/{file}`: a hashed name is cached for a year, a plain one for an hour.
pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let found = ASSETS.iter().find_map(|a| {
        if a.hashed == file {
            Some((a, "public, max-age=31536000, immutable"))
        } else if a.name == file {
            Some((a, "public, max-age=3600"))
        } else {
            None
        }
    });
    let Some((a, cache)) = found else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-store")],
            "not found",
        )
            .into_response();
    };
    let etag = format!("\"{}\"", a.hash);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let encoded = [("br", &a.br), ("gzip", &a.gzip)]
            .into_iter()
            .find_map(|(coding, z)| {
                z.as_ref()
                    .filter(|_| accepts(&headers, coding))
                    .map(|z| (coding, z))
            });
        match encoded {
            Some((coding, z)) => {
                let mut r = z.clone().into_response();
                r.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
                r
            }
            None => a.body.into_response(),
        }
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    res
}

/// The icon at `/favicon.ico`, where browsers look for it unasked.
pub async fn favicon(headers: HeaderMap) -> Response {
    serve(Path("icon.svg".to_owned()), headers).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        m
    }

    #[test]
    fn a_coding_is_taken_unless_refused() {
        assert!(accepts(&h("gzip, deflate, br"), "gzip"));
        assert!(accepts(&h("gzip, deflate, br"), "br"));
        assert!(accepts(&h("br;q=1.0, gzip;q=0.8"), "gzip"));
        assert!(accepts(&h("*"), "gzip"));
        assert!(accepts(&h("*"), "br"));
        assert!(!accepts(&h("gzip;q=0"), "gzip"));
        assert!(!accepts(&h("gzip, br;q=0"), "br"));
        assert!(!accepts(&h("br, identity"), "gzip"));
        assert!(!accepts(&h("gzip"), "br"));
        assert!(!accepts(&HeaderMap::new(), "gzip"));
    }

    #[test]
    fn brotli_round_trips_and_beats_gzip() {
        use std::io::Read;
        let css = ASSETS.iter().find(|a| a.name == "kith.css").unwrap();
        let br = css.br.as_ref().expect("the stylesheet compresses");
        let mut back = Vec::new();
        ::brotli::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, css.body);
        assert!(br.len() < css.gzip.as_ref().unwrap().len());
    }

    #[test]
    fn hashed_names_follow_the_content() {
        let css = url("kith.css");
        assert!(
            css.starts_with("/static/kith.") && css.ends_with(".css"),
            "{css}"
        );
        assert_eq!(css.len(), "/static/kith..css".len() + 10);
        assert_ne!(url("htmx.min.js"), "/static/htmx.min.js");
        assert_eq!(url("nothing.txt"), "/static/nothing.txt");
    }
}
