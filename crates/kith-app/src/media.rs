//! Uploaded images: posts, reviews and community covers refer to them by id.
//!
//! An upload is accepted only when its **bytes** say it is a JPEG, PNG or WebP (the
//! Content-Type and any file name are never trusted), it is at most [`MAX_UPLOAD_BYTES`],
//! and its header claims at most [`MAX_SIDE`] pixels a side and [`MAX_PIXELS`] in all —
//! checked before a single pixel is decoded. It is then decoded under [`image::Limits`]
//! (so a decompression bomb cannot take the memory) on the blocking pool, at most
//! [`DECODE_SLOTS`] at a time, to prove it is a whole image and to make a JPEG thumbnail of
//! at most [`THUMB_SIDE`] pixels on its long side (EXIF orientation applied, transparency
//! flattened onto white). Anything else is refused with 422 on the field `image`, and
//! nothing is written.
//!
//! Storage is content-addressed: the id is the SHA-256 of the bytes (64 lowercase hex), so
//! the same bytes uploaded twice are one id, one row and one file. Files go through the
//! [`MediaStore`] interface; [`FsMediaStore`] keeps them under `media_dir/ab/cd/<id>` and
//! `<id>.thumb.jpg`, each written to a temporary file and renamed into place, so a reader
//! never sees half a file. The files are written before the row, so a row always has its
//! files; a crash in between leaves only an unreferenced file that the next upload of the
//! same bytes reuses. An object-store backend can implement the same trait later.
//!
//! The original is served byte for byte (with its metadata) at `/media/{id}`; the
//! thumbnail at `/media/{id}/thumb`. Both are public to whoever knows the id, which is
//! unguessable without the bytes themselves.
//!
//! The row's `owner_id` is the first uploader; `media_uploads` records every member who
//! uploaded the same bytes, and each of them may attach the image to their posts and
//! reviews.

use std::io::{self, Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};
use kith_store::{Conn, Row, args};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{App, AppError, AppResult, Principal, outbox, rfc3339};

/// Largest upload accepted (10 MiB). The HTTP route answers 413 beyond it.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// Most pixels on either side that an image may claim.
pub const MAX_SIDE: u32 = 8192;
/// Most pixels an image may claim in all (40 megapixels).
pub const MAX_PIXELS: u64 = 40_000_000;
/// Long side of a thumbnail, at most.
pub const THUMB_SIDE: u32 = 320;
/// JPEG quality of thumbnails.
const THUMB_QUALITY: u8 = 80;
/// Most memory one decode may take (a 40 MP RGBA image is 160 MB; 16-bit ones beyond
/// this are refused rather than decoded).
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;
/// Decodes running at once; the rest wait, so concurrent uploads cannot multiply the
/// memory bound above without limit.
pub const DECODE_SLOTS: usize = 2;

static DECODES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(DECODE_SLOTS);

/// The image types we accept, told by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
    Webp,
}

impl ImageKind {
    /// The type the bytes say they are, or 422 on `image`.
    pub fn sniff(bytes: &[u8]) -> AppResult<Self> {
        const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Ok(Self::Jpeg)
        } else if bytes.starts_with(PNG) {
            Ok(Self::Png)
        } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Ok(Self::Webp)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Err(AppError::invalid(
                "image",
                "GIF images are not accepted; send a JPEG, PNG or WebP image",
            ))
        } else {
            Err(AppError::invalid(
                "image",
                "is not a JPEG, PNG or WebP image (the type is told by the bytes, not by the file name or Content-Type)",
            ))
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    fn format(self) -> ImageFormat {
        match self {
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Png => ImageFormat::Png,
            Self::Webp => ImageFormat::WebP,
        }
    }
}

/// A media id: the SHA-256 of the bytes, 64 lowercase hex digits. Nothing else is one, so
/// an id can never name a path outside the media folder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MediaId(String);

impl MediaId {
    pub fn of(bytes: &[u8]) -> Self {
        Self(hex::encode(Sha256::digest(bytes)))
    }

    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which file of a media item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The uploaded bytes, unchanged.
    Original,
    /// The JPEG thumbnail.
    Thumb,
}

/// Where media files live. Content-addressed: `put` of an id that exists may keep the
/// file it has (the bytes are the same by construction).
pub trait MediaStore: Send + Sync {
    fn put(&self, id: &MediaId, variant: Variant, bytes: &[u8]) -> io::Result<()>;
    /// The bytes, or `None` when there is no such file.
    fn get(&self, id: &MediaId, variant: Variant) -> io::Result<Option<Vec<u8>>>;
    fn exists(&self, id: &MediaId, variant: Variant) -> io::Result<bool>;
}

/// Media files in a folder: `root/ab/cd/<id>` and `root/ab/cd/<id>.thumb.jpg`.
#[derive(Debug, Clone)]
pub struct FsMediaStore {
    root: PathBuf,
}

impl FsMediaStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn path(&self, id: &MediaId, variant: Variant) -> PathBuf {
        let s = id.as_str();
        let name = match variant {
            Variant::Original => s.to_owned(),
            Variant::Thumb => format!("{s}.thumb.jpg"),
        };
        self.root.join(&s[0..2]).join(&s[2..4]).join(name)
    }
}

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk and renames it
/// into place, so `path` is either absent or whole.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("media path has no parent"))?;
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("media");
    let tmp = dir.join(format!(".{name}.{}.tmp", crate::ids::new_id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

impl MediaStore for FsMediaStore {
    fn put(&self, id: &MediaId, variant: Variant, bytes: &[u8]) -> io::Result<()> {
        let path = self.path(id, variant);
        if path.is_file() {
            return Ok(());
        }
        write_atomically(&path, bytes)
    }

    fn get(&self, id: &MediaId, variant: Variant) -> io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path(id, variant)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn exists(&self, id: &MediaId, variant: Variant) -> io::Result<bool> {
        Ok(self.path(id, variant).is_file())
    }
}

/// An uploaded image.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Media {
    /// SHA-256 of the bytes, 64 lowercase hex digits.
    pub id: String,
    /// `image/jpeg`, `image/png` or `image/webp`, from the bytes.
    pub mime: String,
    /// As displayed (EXIF orientation applied).
    pub width: i64,
    pub height: i64,
    /// Size of the original in bytes.
    pub bytes: i64,
    /// The original, byte for byte.
    pub url: String,
    /// A JPEG of at most 320 pixels on its long side.
    pub thumb_url: String,
    pub created_at: String,
}

/// A reference to an uploaded image, as other resources show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq, Eq)]
pub struct MediaRef {
    pub id: String,
    pub url: String,
    pub thumb_url: String,
}

impl MediaRef {
    pub fn of(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            url: media_url(id),
            thumb_url: thumb_url(id),
        }
    }
}

pub fn media_url(id: &str) -> String {
    format!("/media/{id}")
}

pub fn thumb_url(id: &str) -> String {
    format!("/media/{id}/thumb")
}

/// A file to serve.
#[derive(Debug, Clone)]
pub struct MediaFile {
    pub mime: String,
    pub bytes: Vec<u8>,
}

/// What decoding an upload found.
#[derive(Debug)]
struct Processed {
    width: u32,
    height: u32,
    thumb: Vec<u8>,
}

fn check_size(len: usize) -> AppResult<()> {
    if len == 0 {
        return Err(AppError::invalid(
            "image",
            "the body is empty; send the image's bytes",
        ));
    }
    if len > MAX_UPLOAD_BYTES {
        return Err(AppError::invalid(
            "image",
            format!("must be at most {} MiB", MAX_UPLOAD_BYTES / (1024 * 1024)),
        ));
    }
    Ok(())
}

fn check_dimensions(w: u32, h: u32) -> AppResult<()> {
    if w == 0 || h == 0 {
        return Err(AppError::invalid("image", "has no pixels"));
    }
    if w > MAX_SIDE || h > MAX_SIDE || u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(AppError::invalid(
            "image",
            format!(
                "is {w}×{h} pixels; at most {MAX_SIDE} pixels a side and {} megapixels are accepted",
                MAX_PIXELS / 1_000_000
            ),
        ));
    }
    Ok(())
}

fn undecodable(e: ImageError) -> AppError {
    match e {
        ImageError::Limits(_) => AppError::invalid(
            "image",
            "needs too much memory to decode; send a smaller image",
        ),
        e => AppError::invalid(
            "image",
            format!("could not be decoded (damaged, or not what its header says): {e}"),
        ),
    }
}

/// Checks the header, then decodes under limits and makes the thumbnail. CPU work: run on
/// the blocking pool.
fn process(bytes: &[u8], kind: ImageKind) -> AppResult<Processed> {
    // Building the decoder reads only the header: the claimed size is checked before any
    // pixel is decoded.
    let mut decoder = ImageReader::with_format(Cursor::new(bytes), kind.format())
        .into_decoder()
        .map_err(undecodable)?;
    let (w, h) = decoder.dimensions();
    check_dimensions(w, h)?;
    if decoder.total_bytes() > MAX_DECODE_BYTES {
        return Err(undecodable(ImageError::Limits(
            image::error::LimitError::from_kind(image::error::LimitErrorKind::InsufficientMemory),
        )));
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    decoder.set_limits(limits).map_err(undecodable)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    img.apply_orientation(orientation);
    let (width, height) = (img.width(), img.height());
    let small = if width.max(height) > THUMB_SIDE {
        img.thumbnail(THUMB_SIDE, THUMB_SIDE)
    } else {
        img
    };
    let rgb = drop_alpha_onto_white(&small);
    let mut thumb = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut thumb, THUMB_QUALITY)
        .encode_image(&rgb)
        .map_err(|e| AppError::Internal(format!("encode thumbnail: {e}")))?;
    Ok(Processed {
        width,
        height,
        thumb,
    })
}

/// JPEG has no transparency: transparent pixels become white, not black.
fn drop_alpha_onto_white(img: &DynamicImage) -> image::RgbImage {
    if !img.color().has_alpha() {
        return img.to_rgb8();
    }
    let rgba = img.to_rgba8();
    image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let a = u16::from(a);
        let mix = |c: u8| ((u16::from(c) * a + 255 * (255 - a)) / 255) as u8;
        image::Rgb([mix(r), mix(g), mix(b)])
    })
}

const MEDIA_COLS: &str = "id, mime, width, height, bytes, created_at";

fn media_from_row(r: &Row) -> AppResult<Media> {
    let id = r.text(0)?;
    Ok(Media {
        url: media_url(&id),
        thumb_url: thumb_url(&id),
        id,
        mime: r.text(1)?,
        width: r.int(2)?,
        height: r.int(3)?,
        bytes: r.int(4)?,
        created_at: rfc3339(r.int(5)?),
    })
}

fn load_media(c: &mut dyn Conn, id: &str) -> AppResult<Option<Media>> {
    c.query_opt(
        &format!("SELECT {MEDIA_COLS} FROM media WHERE id = $1"),
        args![id],
    )?
    .map(|r| media_from_row(&r))
    .transpose()
}

fn io_error(what: &str) -> impl Fn(io::Error) -> AppError + '_ {
    move |e| AppError::Internal(format!("{what}: {e}"))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Internal(format!("blocking task: {e}")))
}

impl App {
    /// Where this installation keeps media files.
    pub fn media_store(&self) -> Arc<dyn MediaStore> {
        Arc::new(FsMediaStore::new(self.config.media_dir.clone()))
    }

    /// Accepts an image upload (see the module docs for what is accepted). The same bytes
    /// again, by anyone, answer the same media item without decoding or writing anything.
    pub async fn upload_media(&self, who: &Principal, bytes: Vec<u8>) -> AppResult<Media> {
        check_size(bytes.len())?;
        let kind = ImageKind::sniff(&bytes)?;
        let id = MediaId::of(&bytes);
        let store = self.media_store();

        let known = {
            let id = id.clone();
            self.db.read(move |c| load_media(c, id.as_str())).await?
        };
        if let Some(m) = known {
            let (s, i) = (store.clone(), id.clone());
            let whole = blocking(move || {
                Ok::<_, io::Error>(
                    s.exists(&i, Variant::Original)? && s.exists(&i, Variant::Thumb)?,
                )
            })
            .await?
            .map_err(io_error("check media files"))?;
            if whole {
                let (now, who_id, mid) = (self.now_ms(), who.account_id.clone(), id.clone());
                self.db
                    .write(move |c| record_upload(c, mid.as_str(), &who_id, now))
                    .await?;
                return Ok(m);
            }
        }

        let processed = {
            let _slot = DECODES
                .acquire()
                .await
                .map_err(|e| AppError::Internal(format!("decode slots: {e}")))?;
            let (result, b) = blocking(move || (process(&bytes, kind), bytes)).await?;
            (result?, b)
        };
        let (p, bytes) = processed;
        let size = bytes.len() as i64;

        // Files first, then the row: a row never names a missing file.
        {
            let (s, i, thumb) = (store.clone(), id.clone(), p.thumb);
            blocking(move || {
                s.put(&i, Variant::Original, &bytes)?;
                s.put(&i, Variant::Thumb, &thumb)
            })
            .await?
            .map_err(io_error("write media files"))?;
        }

        let now = self.now_ms();
        let owner = who.account_id.clone();
        let (w, h) = (i64::from(p.width), i64::from(p.height));
        self.db
            .write(move |c| {
                let n = c.execute(
                    "INSERT INTO media (id, owner_id, mime, width, height, bytes, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
                    args![id.as_str(), &owner, kind.mime(), w, h, size, now],
                )?;
                record_upload(c, id.as_str(), &owner, now)?;
                if n == 1 {
                    outbox::emit(
                        c,
                        now,
                        "media.uploaded",
                        None,
                        id.as_str(),
                        &serde_json::json!({
                            "media_id": id.as_str(), "owner_id": owner, "mime": kind.mime(),
                            "width": w, "height": h, "bytes": size,
                        }),
                    )?;
                }
                load_media(c, id.as_str())?
                    .ok_or_else(|| AppError::Internal("media row vanished".into()))
            })
            .await
    }

    /// A media item's stored facts, or 404.
    pub async fn get_media(&self, id: &str) -> AppResult<Media> {
        let id = MediaId::parse(id).ok_or(AppError::NotFound("media"))?;
        self.db
            .read(move |c| load_media(c, id.as_str())?.ok_or(AppError::NotFound("media")))
            .await
    }

    /// The bytes of a media item (or its thumbnail) with their type, or 404.
    pub async fn media_file(&self, id: &str, variant: Variant) -> AppResult<MediaFile> {
        let m = self.get_media(id).await?;
        let id = MediaId(m.id);
        let store = self.media_store();
        let bytes = blocking(move || store.get(&id, variant))
            .await?
            .map_err(io_error("read media file"))?
            .ok_or_else(|| {
                tracing::warn!(media = %m.url, "media row without its file");
                AppError::NotFound("media")
            })?;
        let mime = match variant {
            Variant::Original => m.mime,
            Variant::Thumb => "image/jpeg".to_owned(),
        };
        Ok(MediaFile { mime, bytes })
    }
}

/// Records that `account_id` uploaded `media_id` (again is fine).
fn record_upload(c: &mut dyn Conn, media_id: &str, account_id: &str, now: i64) -> AppResult<()> {
    c.execute(
        "INSERT INTO media_uploads (media_id, account_id, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (media_id, account_id) DO NOTHING",
        args![media_id, account_id, now],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_fn(w, h, |x, y| {
            image::Rgba([
                (x % 256) as u8,
                (y % 256) as u8,
                7,
                if x < 4 { 0 } else { 255 },
            ])
        });
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn sniffing_goes_by_the_bytes() {
        assert_eq!(ImageKind::sniff(&png(2, 2)).unwrap(), ImageKind::Png);
        assert_eq!(
            ImageKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap(),
            ImageKind::Jpeg
        );
        assert_eq!(
            ImageKind::sniff(b"RIFF\x10\0\0\0WEBPVP8L").unwrap(),
            ImageKind::Webp
        );
        for bad in [&b"GIF89a..."[..], b"hello, world", b"RIFF\0\0\0\0WAVE", b""] {
            let e = ImageKind::sniff(bad).unwrap_err();
            assert!(matches!(e, AppError::Invalid { ref field, .. } if field == "image"));
        }
    }

    #[test]
    fn ids_are_sha256_hex_and_nothing_else() {
        let id = MediaId::of(b"abc");
        assert_eq!(
            id.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(MediaId::parse(id.as_str()), Some(id.clone()));
        for bad in [
            "",
            "../../etc/passwd",
            &id.as_str().to_uppercase(),
            &id.as_str()[1..],
            &format!("{}0", id.as_str()),
        ] {
            assert_eq!(MediaId::parse(bad), None, "{bad}");
        }
        let store = FsMediaStore::new("/m");
        assert_eq!(
            store.path(&id, Variant::Thumb),
            PathBuf::from(format!("/m/ba/78/{}.thumb.jpg", id.as_str()))
        );
    }

    #[test]
    fn thumbnails_fit_and_transparency_turns_white() {
        let p = process(&png(800, 400), ImageKind::Png).unwrap();
        assert_eq!((p.width, p.height), (800, 400));
        let t = image::load_from_memory_with_format(&p.thumb, ImageFormat::Jpeg).unwrap();
        assert_eq!((t.width(), t.height()), (320, 160));
        let small = process(&png(10, 10), ImageKind::Png).unwrap();
        let t = image::load_from_memory(&small.thumb).unwrap().to_rgb8();
        assert_eq!(t.dimensions(), (10, 10), "never enlarged");
        let corner = t.get_pixel(0, 0).0;
        assert!(
            corner.iter().all(|&c| c > 230),
            "transparent → white: {corner:?}"
        );
    }

    #[test]
    fn size_and_dimension_bounds() {
        assert!(check_size(0).is_err());
        assert!(check_size(MAX_UPLOAD_BYTES).is_ok());
        assert!(check_size(MAX_UPLOAD_BYTES + 1).is_err());
        assert!(check_dimensions(MAX_SIDE, 4000).is_ok());
        assert!(check_dimensions(MAX_SIDE + 1, 1).is_err());
        assert!(check_dimensions(8000, 6000).is_err(), "48 MP");
        assert!(check_dimensions(0, 5).is_err());
        // Not an image behind a valid signature.
        let mut fake = png(4, 4);
        fake.truncate(40);
        assert!(process(&fake, ImageKind::Png).is_err());
    }

    #[test]
    fn the_store_writes_whole_files() {
        let dir = std::env::temp_dir().join(format!("kith-media-{}", crate::ids::new_id()));
        let store = FsMediaStore::new(&dir);
        let id = MediaId::of(b"x");
        assert!(!store.exists(&id, Variant::Original).unwrap());
        assert_eq!(store.get(&id, Variant::Original).unwrap(), None);
        store.put(&id, Variant::Original, b"x").unwrap();
        store.put(&id, Variant::Original, b"x").unwrap();
        assert_eq!(
            store.get(&id, Variant::Original).unwrap().as_deref(),
            Some(&b"x"[..])
        );
        let leftovers: Vec<_> =
            std::fs::read_dir(store.path(&id, Variant::Original).parent().unwrap())
                .unwrap()
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
                .collect();
        assert!(leftovers.is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }
}
