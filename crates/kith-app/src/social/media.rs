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
//! **Metadata is stripped** before anything is hashed or stored, because photos carry
//! EXIF — often the GPS position where they were taken — and a member posting a picture
//! should not publish where they live. With [`img_parts`], without re-encoding a pixel:
//! - JPEG: the EXIF segment (APP1 `Exif`), XMP (APP1, standard and extended) and the
//!   Photoshop resource block (APP13, which can hold copies of both) go; so does anything
//!   after the first image's end marker (MPF secondary images, gain maps, the video of a
//!   “motion photo”, each of which may carry its own metadata), and with it the MPF index.
//! - PNG: the `eXIf` chunk, XMP (the `XML:com.adobe.xmp` text chunk) and ImageMagick's
//!   `Raw profile type …` text chunks (hex copies of EXIF, XMP or IPTC) go.
//! - WebP: the `EXIF` and `XMP ` chunks go (and the extended header's flags say so).
//!
//! The ICC colour profile and everything else that affects how the pixels look stay. A
//! container that cannot be taken apart (a damaged chunk, a bad CRC, a truncated segment)
//! is refused with 422 on `image` rather than stored with its metadata.
//!
//! EXIF orientation is read **before** stripping. When it is anything but “upright” (1),
//! the image is decoded, turned upright and re-encoded in its own format — JPEG at quality
//! [`UPRIGHT_JPEG_QUALITY`], PNG and WebP losslessly — with its ICC profile put back, so it
//! displays the right way up without the tag. That is the one case where the stored
//! pixels are not the uploaded ones (JPEG is re-compressed); width and height are always
//! those of the image as displayed.
//!
//! Storage is content-addressed: the id is the SHA-256 of the **stored** bytes — those
//! left after stripping (64 lowercase hex), so the same bytes uploaded twice are one id, one
//! row and one file, and so are two uploads of one photo that differ only in metadata. An
//! image that carried no metadata is stored byte for byte. Files go through the
//! [`MediaStore`] interface; [`FsMediaStore`] keeps them under `media_dir/ab/cd/<id>` and
//! `<id>.thumb.jpg`, each written to a temporary file and renamed into place, so a reader
//! never sees half a file. The files are written before the row, so a row always has its
//! files; a crash in between leaves only an unreferenced file that the next upload of the
//! same image reuses. An object-store backend can implement the same trait later.
//!
//! The stored original is served byte for byte at `/media/{id}`; the thumbnail at
//! `/media/{id}/thumb`. Both are public to whoever knows the id, which is unguessable
//! without the image itself.
//!
//! The row's `owner_id` is the first uploader; `media_uploads` records every member who
//! uploaded the same image, and each of them may attach it to their posts and reviews and
//! use it as a community cover ([`uploaded_by`]); a product may show it when someone on the
//! merchant's staff uploaded it ([`uploaded_by_staff_of`]). An id or `/media/` path of
//! somebody else's upload is refused (422) everywhere one is accepted.

use std::io::{self, Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::store::media::{insert_media, load_media, record_upload};
pub(crate) use super::store::media::{uploaded_by, uploaded_by_staff_of};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};
use img_parts::jpeg::{Jpeg, JpegSegment, markers};
use img_parts::png::Png;
use img_parts::riff::RiffContent;
use img_parts::webp::WebP;
use img_parts::{Bytes, ImageEXIF, ImageICC};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{App, AppError, AppResult, Principal, platform::outbox};

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
/// JPEG quality of an original re-encoded to turn it upright (see the module docs).
pub const UPRIGHT_JPEG_QUALITY: u8 = 90;
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

/// A media id: the SHA-256 of the stored bytes, 64 lowercase hex digits. Nothing else is one, so
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
    /// The uploaded image without its metadata (see the module docs).
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
    let tmp = dir.join(format!(".{name}.{}.tmp", crate::platform::ids::new_id()));
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
    /// SHA-256 of the stored bytes (the upload without its metadata), 64 lowercase hex
    /// digits.
    pub id: String,
    /// `image/jpeg`, `image/png` or `image/webp`, from the bytes.
    pub mime: String,
    /// As displayed (EXIF orientation applied).
    pub width: i64,
    pub height: i64,
    /// Size of the stored original in bytes.
    pub bytes: i64,
    /// The stored original: the upload without its EXIF and XMP metadata.
    pub url: String,
    /// A JPEG of at most 320 pixels on its long side.
    pub thumb_url: String,
    pub created_at: String,
}

pub use crate::platform::pictures::{MediaRef, media_url, thumb_url};

/// A file to serve.
#[derive(Debug, Clone)]
pub struct MediaFile {
    pub mime: String,
    pub bytes: Vec<u8>,
}

/// An upload with its metadata taken out, not yet decoded.
#[derive(Debug)]
struct Stripped {
    /// The container without its metadata; the pixels as uploaded.
    bytes: Vec<u8>,
    /// The EXIF orientation the upload carried (read before stripping).
    orientation: Orientation,
    /// The ICC colour profile, which stays in `bytes`; kept here to put back into an
    /// image re-encoded upright.
    icc: Option<Bytes>,
}

/// What decoding an upload found.
#[derive(Debug)]
struct Processed {
    /// The bytes to store and serve: the stripped upload, or, when it had to be turned
    /// upright, its re-encoding.
    original: Vec<u8>,
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

/// The container could not be taken apart, so its metadata could not be removed.
fn unreadable(e: img_parts::Error) -> AppError {
    AppError::invalid(
        "image",
        format!("could not be read (damaged, or not what its header says): {e}"),
    )
}

/// JPEG APP1 segments that hold metadata: EXIF (with any padding byte after `Exif\0`) and
/// XMP, standard and extended.
const JPEG_APP1_METADATA: [&[u8]; 3] = [
    b"Exif\0",
    b"http://ns.adobe.com/xap/1.0/\0",
    b"http://ns.adobe.com/xmp/extension/\0",
];

/// A JPEG segment that holds metadata (and no pixel or colour information).
fn is_jpeg_metadata(segment: &JpegSegment) -> bool {
    let c = segment.contents();
    match segment.marker() {
        markers::APP1 => JPEG_APP1_METADATA.iter().any(|p| c.starts_with(p)),
        // Photoshop's image resource block: IPTC, and copies of EXIF and XMP.
        markers::APP13 => c.starts_with(b"Photoshop 3.0\0"),
        // The index of the images that follow the first one; they are dropped.
        markers::APP2 => c.starts_with(b"MPF\0"),
        _ => false,
    }
}

/// Where the first image of a JPEG ends — just past its end-of-image marker — in `scan`,
/// the bytes after its first start-of-scan header. The scans are walked: stuffed bytes,
/// fill bytes and restart markers are stepped over, and so are the length-prefixed
/// segments between the scans of a progressive JPEG (whose contents may hold any byte).
/// `None` when there is no end marker (a truncated file): then nothing follows to drop.
fn first_image_end(scan: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i + 1 < scan.len() {
        if scan[i] != markers::P {
            i += 1;
            continue;
        }
        match scan[i + 1] {
            markers::P => i += 1,
            markers::EOI => return Some(i + 2),
            markers::SOF0..=markers::SOF15
            | markers::SOS..=markers::EXP
            | markers::APP0..=markers::APP15
            | markers::JPG0..=markers::JPG13
            | markers::COM => {
                let len = u16::from_be_bytes([*scan.get(i + 2)?, *scan.get(i + 3)?]);
                i += 2 + usize::from(len.max(2));
            }
            // A stuffed 0xFF in entropy-coded data, a restart marker, or a marker with no
            // length.
            _ => i += 2,
        }
    }
    None
}

fn strip_jpeg(bytes: Bytes) -> img_parts::Result<(Vec<u8>, Option<Bytes>, Option<Bytes>)> {
    let mut jpeg = Jpeg::from_bytes(bytes)?;
    let (exif, icc) = (jpeg.exif(), jpeg.icc_profile());
    jpeg.set_exif(None);
    jpeg.segments_mut().retain(|s| !is_jpeg_metadata(s));
    // The parsed SOS segment carries the rest of the file as its "entropy": everything
    // from there on is the tail of the encoding, where the first image's end is found.
    let tail = jpeg
        .segments()
        .last()
        .filter(|s| s.has_entropy())
        .map(|s| s.len_with_entropy() - s.len());
    let mut out = jpeg.encoder().bytes().to_vec();
    if let Some(tail) = tail {
        let start = out.len() - tail;
        if let Some(end) = first_image_end(&out[start..]) {
            out.truncate(start + end);
        }
    }
    Ok((out, exif, icc))
}

/// PNG text chunks that hold metadata: XMP, and ImageMagick's hex copies of EXIF, XMP,
/// IPTC and the like (its ICC copies are left: they only describe colour).
fn is_png_metadata_text(kind: [u8; 4], contents: &[u8]) -> bool {
    if !matches!(&kind, b"tEXt" | b"zTXt" | b"iTXt") {
        return false;
    }
    let keyword = contents.split(|&b| b == 0).next().unwrap_or_default();
    keyword == b"XML:com.adobe.xmp"
        || keyword
            .strip_prefix(b"Raw profile type ")
            .is_some_and(|t| !t.eq_ignore_ascii_case(b"icc") && !t.eq_ignore_ascii_case(b"icm"))
}

fn strip_png(bytes: Bytes) -> img_parts::Result<(Vec<u8>, Option<Bytes>, Option<Bytes>)> {
    let mut png = Png::from_bytes(bytes)?;
    let (exif, icc) = (png.exif(), png.icc_profile());
    png.set_exif(None);
    png.chunks_mut()
        .retain(|c| !is_png_metadata_text(c.kind(), c.contents()));
    Ok((png.encoder().bytes().to_vec(), exif, icc))
}

fn strip_webp(bytes: Bytes) -> img_parts::Result<(Vec<u8>, Option<Bytes>, Option<Bytes>)> {
    /// The extended header's "has XMP" flag.
    const XMP_FLAG: u8 = 0b0000_0100;
    let mut webp = WebP::from_bytes(bytes)?;
    let (exif, icc) = (webp.exif(), webp.icc_profile());
    webp.remove_chunks_by_id(img_parts::webp::CHUNK_XMP);
    // Also brings the extended header up to date (or drops it when no longer needed) —
    // all but the XMP flag, cleared below.
    webp.set_exif(None);
    for chunk in webp.chunks_mut() {
        if chunk.id() == img_parts::webp::CHUNK_VP8X
            && let RiffContent::Data(data) = chunk.content_mut()
            && data.first().is_some_and(|f| f & XMP_FLAG != 0)
        {
            let mut header = data.to_vec();
            header[0] &= !XMP_FLAG;
            *data = Bytes::from(header);
        }
    }
    Ok((webp.encoder().bytes().to_vec(), exif, icc))
}

/// Takes the metadata out of an upload (see the module docs), noting its orientation and
/// colour profile first; 422 on `image` when the container cannot be taken apart. Cheap
/// (no pixel is decoded), but it copies the bytes: run it on the blocking pool.
fn strip_metadata(bytes: Vec<u8>, kind: ImageKind) -> AppResult<Stripped> {
    let bytes = Bytes::from(bytes);
    let (bytes, exif, icc) = match kind {
        ImageKind::Jpeg => strip_jpeg(bytes),
        ImageKind::Png => strip_png(bytes),
        ImageKind::Webp => strip_webp(bytes),
    }
    .map_err(unreadable)?;
    let orientation = exif
        .and_then(|e| Orientation::from_exif_chunk(&e))
        .unwrap_or(Orientation::NoTransforms);
    Ok(Stripped {
        bytes,
        orientation,
        icc,
    })
}

/// Encodes `img` (already turned upright) in `kind`'s format — JPEG at
/// [`UPRIGHT_JPEG_QUALITY`], PNG and WebP losslessly — with `icc` put back when it describes
/// the colour space written (a CMYK profile does not describe the RGB a CMYK JPEG decodes
/// to, so it is left out).
fn encode_upright(img: &DynamicImage, kind: ImageKind, icc: Option<Bytes>) -> AppResult<Vec<u8>> {
    let mut out = Vec::new();
    match kind {
        ImageKind::Jpeg => img.write_with_encoder(
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, UPRIGHT_JPEG_QUALITY),
        ),
        ImageKind::Png => img.write_with_encoder(image::codecs::png::PngEncoder::new(&mut out)),
        ImageKind::Webp => {
            img.write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut out))
        }
    }
    .map_err(|e| AppError::Internal(format!("encode upright image: {e}")))?;
    let space: &[u8] = if img.color().has_color() || kind == ImageKind::Webp {
        b"RGB "
    } else {
        b"GRAY"
    };
    let Some(icc) = icc.filter(|p| p.get(16..20) == Some(space)) else {
        return Ok(out);
    };
    let out = Bytes::from(out);
    let with_icc = match kind {
        ImageKind::Jpeg => Jpeg::from_bytes(out).map(|mut j| {
            j.set_icc_profile(Some(icc));
            j.encoder().bytes()
        }),
        ImageKind::Png => Png::from_bytes(out).map(|mut p| {
            p.set_icc_profile(Some(icc));
            p.encoder().bytes()
        }),
        ImageKind::Webp => WebP::from_bytes(out).map(|mut w| {
            w.set_icc_profile(Some(icc));
            w.encoder().bytes()
        }),
    }
    .map_err(|e| AppError::Internal(format!("add colour profile: {e}")))?;
    Ok(with_icc.to_vec())
}

/// Checks the header of the stripped upload, then decodes it under limits, turns it
/// upright when its EXIF said so (re-encoding the original, see the module docs) and makes
/// the thumbnail. CPU work: run on the blocking pool.
fn process(stripped: Stripped, kind: ImageKind) -> AppResult<Processed> {
    let Stripped {
        bytes,
        orientation,
        icc,
    } = stripped;
    // Building the decoder reads only the header: the claimed size is checked before any
    // pixel is decoded.
    let mut decoder = ImageReader::with_format(Cursor::new(&bytes), kind.format())
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
    let mut img = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    let original = if orientation == Orientation::NoTransforms {
        bytes
    } else {
        img.apply_orientation(orientation);
        encode_upright(&img, kind, icc)?
    };
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
        original,
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

fn io_error(what: &str) -> impl Fn(io::Error) -> AppError + '_ {
    move |e| AppError::Internal(format!("{what}: {e}"))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Internal(format!("blocking task: {e}")))
}

/// The whole treatment an upload's bytes get before anything is stored — size and type
/// checks, metadata stripped, decoded within the pixel limits, turned upright, thumbnail
/// made — without storing anything: (width, height) or the 4xx the upload would get.
/// [`App::upload_media`] runs the same steps; the fuzz target `image_upload` runs this.
pub fn inspect_upload(bytes: Vec<u8>) -> AppResult<(u32, u32)> {
    check_size(bytes.len())?;
    let kind = ImageKind::sniff(&bytes)?;
    let stripped = strip_metadata(bytes, kind)?;
    let p = process(stripped, kind)?;
    Ok((p.width, p.height))
}

impl App {
    /// Where this installation keeps media files.
    pub fn media_store(&self) -> Arc<dyn MediaStore> {
        Arc::new(FsMediaStore::new(self.config.media_dir.clone()))
    }

    /// Accepts an image upload (see the module docs for what is accepted and what is
    /// stripped). The same image again, by anyone, answers the same media item without
    /// decoding or writing anything (unless it has to be turned upright: then it is
    /// decoded again to learn the bytes it is stored as).
    pub async fn upload_media(&self, who: &Principal, bytes: Vec<u8>) -> AppResult<Media> {
        check_size(bytes.len())?;
        let kind = ImageKind::sniff(&bytes)?;
        let store = self.media_store();

        let (stripped, id) = blocking(move || {
            strip_metadata(bytes, kind).map(|s| {
                let id = MediaId::of(&s.bytes);
                (s, id)
            })
        })
        .await??;

        let known = if stripped.orientation == Orientation::NoTransforms {
            let id = id.clone();
            self.db.read(move |c| load_media(c, id.as_str())).await?
        } else {
            None
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

        let (p, id) = {
            let _slot = DECODES
                .acquire()
                .await
                .map_err(|e| AppError::Internal(format!("decode slots: {e}")))?;
            let upright = stripped.orientation == Orientation::NoTransforms;
            blocking(move || {
                process(stripped, kind).map(|p| {
                    // Re-encoded upright, it is other bytes: hash those.
                    let id = if upright {
                        id
                    } else {
                        MediaId::of(&p.original)
                    };
                    (p, id)
                })
            })
            .await??
        };
        let size = p.original.len() as i64;

        // Files first, then the row: a row never names a missing file.
        {
            let (s, i, original, thumb) = (store.clone(), id.clone(), p.original, p.thumb);
            blocking(move || {
                s.put(&i, Variant::Original, &original)?;
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
                let new = insert_media(c, id.as_str(), &owner, kind.mime(), w, h, size, now)?;
                record_upload(c, id.as_str(), &owner, now)?;
                if new {
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

/// The media id a path names when it is exactly `/media/{id}` or `/media/{id}/thumb` of
/// a content-addressed id (64 lowercase hex); `None` for any other path.
pub fn media_id_of_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/media/")?;
    let id = rest.strip_suffix("/thumb").unwrap_or(rest);
    (id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(id)
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

    fn processed(bytes: Vec<u8>, kind: ImageKind) -> AppResult<Processed> {
        process(strip_metadata(bytes, kind)?, kind)
    }

    /// Large blocks of colour (so JPEG keeps them recognisable): red top-left, blue
    /// bottom-right, green elsewhere.
    fn blocks(w: u32, h: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
            if x < w / 2 && y < h / 2 {
                image::Rgb([255, 0, 0])
            } else if x >= w / 2 && y >= h / 2 {
                image::Rgb([0, 0, 255])
            } else {
                image::Rgb([0, 255, 0])
            }
        }))
    }

    fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    /// A little-endian TIFF structure as EXIF holds it: IFD0 with an orientation and a
    /// pointer to a GPS IFD that says 31°14'24" N.
    fn exif_with_gps(orientation: u16) -> Vec<u8> {
        let mut t = b"II*\0".to_vec();
        t.extend(8u32.to_le_bytes());
        // IFD0 at 8: two entries, then the next-IFD offset.
        let gps_ifd = 8 + 2 + 2 * 12 + 4;
        t.extend(2u16.to_le_bytes());
        t.extend([0x12, 0x01, 3, 0, 1, 0, 0, 0]);
        t.extend(orientation.to_le_bytes());
        t.extend([0, 0]);
        t.extend([0x25, 0x88, 4, 0, 1, 0, 0, 0]);
        t.extend((gps_ifd as u32).to_le_bytes());
        t.extend(0u32.to_le_bytes());
        // GPS IFD: GPSLatitudeRef "N", GPSLatitude three rationals after the IFD.
        let rationals = gps_ifd + 2 + 2 * 12 + 4;
        t.extend(2u16.to_le_bytes());
        t.extend([0x01, 0x00, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0]);
        t.extend([0x02, 0x00, 5, 0, 3, 0, 0, 0]);
        t.extend((rationals as u32).to_le_bytes());
        t.extend(0u32.to_le_bytes());
        for (n, d) in [(31u32, 1u32), (14, 1), (2400, 100)] {
            t.extend(n.to_le_bytes());
            t.extend(d.to_le_bytes());
        }
        t
    }

    /// A made-up ICC profile: only its header's colour space (bytes 16..20) matters here.
    fn icc(space: &[u8; 4]) -> Bytes {
        let mut p = vec![0u8; 200];
        p[16..20].copy_from_slice(space);
        p[36..40].copy_from_slice(b"acsp");
        Bytes::from(p)
    }

    fn has(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn jpeg_metadata_goes_and_the_pixels_and_colour_profile_stay() {
        let clean = encode(&blocks(64, 48), ImageFormat::Jpeg);
        let mut j = Jpeg::from_bytes(Bytes::from(clean)).unwrap();
        j.set_icc_profile(Some(icc(b"RGB ")));
        let with_icc = j.clone().encoder().bytes().to_vec();

        j.set_exif(Some(Bytes::from(exif_with_gps(1))));
        let seg = |marker, body: &[u8]| {
            JpegSegment::new_with_contents(marker, Bytes::from(body.to_vec()))
        };
        let at = j.segments().len() - 1;
        j.segments_mut().insert(
            at,
            seg(markers::APP1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>"),
        );
        j.segments_mut()
            .insert(at, seg(markers::APP13, b"Photoshop 3.0\08BIM..."));
        j.segments_mut()
            .insert(1, seg(markers::APP2, b"MPF\0II*\0"));
        let mut tagged = j.encoder().bytes().to_vec();
        // A second image after the first's end, as MPF files and motion photos have.
        let mut second = encode(&blocks(8, 8), ImageFormat::Jpeg);
        second.splice(
            2..2,
            [0xFF, 0xE1, 0, 10, b'E', b'x', b'i', b'f', 0, 0, b'I', b'I'],
        );
        tagged.extend(second);
        assert!(has(&tagged, b"Exif\0\0") && has(&tagged, b"ns.adobe.com"));

        let s = strip_metadata(tagged, ImageKind::Jpeg).unwrap();
        assert_eq!(s.bytes, with_icc, "only the metadata and the trailer went");
        assert_eq!(s.orientation, Orientation::NoTransforms);
        assert_eq!(s.icc, Some(icc(b"RGB ")));
        let out = Jpeg::from_bytes(Bytes::from(s.bytes.clone())).unwrap();
        assert!(out.exif().is_none());
        assert_eq!(out.icc_profile(), Some(icc(b"RGB ")));
        assert!(!has(&s.bytes, b"Exif") && !has(&s.bytes, b"8BIM") && !has(&s.bytes, b"MPF"));

        // Nothing to strip: the same bytes.
        let plain = encode(&blocks(64, 48), ImageFormat::Jpeg);
        assert_eq!(
            strip_metadata(plain.clone(), ImageKind::Jpeg)
                .unwrap()
                .bytes,
            plain
        );
    }

    #[test]
    fn png_metadata_goes_and_the_colour_profile_stays() {
        let mut p = Png::from_bytes(Bytes::from(png(20, 10))).unwrap();
        p.set_icc_profile(Some(icc(b"RGB ")));
        let title = img_parts::png::PngChunk::new(*b"tEXt", Bytes::from_static(b"Title\0cat"));
        p.chunks_mut().insert(1, title);
        let with_icc = p.clone().encoder().bytes().to_vec();

        p.set_exif(Some(Bytes::from(exif_with_gps(1))));
        for (kind, body) in [
            (*b"iTXt", &b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta/>"[..]),
            (*b"zTXt", b"Raw profile type exif\0\0x\x9c\x03\0\0\0\0\x01"),
        ] {
            p.chunks_mut().insert(
                2,
                img_parts::png::PngChunk::new(kind, Bytes::from(body.to_vec())),
            );
        }
        let tagged = p.encoder().bytes().to_vec();
        assert!(has(&tagged, b"eXIf"));

        let s = strip_metadata(tagged, ImageKind::Png).unwrap();
        assert_eq!(s.bytes, with_icc, "the title and the profile stay");
        assert!(
            Png::from_bytes(Bytes::from(s.bytes))
                .unwrap()
                .exif()
                .is_none()
        );
        assert_eq!(s.icc, Some(icc(b"RGB ")));
    }

    #[test]
    fn webp_metadata_goes_and_the_colour_profile_stays() {
        let clean = encode(
            &DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
                16,
                8,
                image::Rgba([1, 2, 3, 255]),
            )),
            ImageFormat::WebP,
        );
        // EXIF alone: the extended header it needed goes with it.
        let mut w = WebP::from_bytes(Bytes::from(clean.clone())).unwrap();
        w.set_exif(Some(Bytes::from(exif_with_gps(1))));
        let tagged = w.encoder().bytes().to_vec();
        assert!(has(&tagged, b"VP8X"));
        assert_eq!(
            strip_metadata(tagged, ImageKind::Webp).unwrap().bytes,
            clean
        );

        // With a colour profile, XMP too.
        let mut w = WebP::from_bytes(Bytes::from(clean)).unwrap();
        w.set_icc_profile(Some(icc(b"RGB ")));
        let with_icc = w.clone().encoder().bytes().to_vec();
        w.chunks_mut().push(img_parts::riff::RiffChunk::new(
            img_parts::webp::CHUNK_XMP,
            RiffContent::Data(Bytes::from_static(b"<x:xmpmeta/>")),
        ));
        w.set_exif(Some(Bytes::from(exif_with_gps(1))));
        let tagged = w.encoder().bytes().to_vec();
        assert!(has(&tagged, b"XMP ") && has(&tagged, b"EXIF"));
        let s = strip_metadata(tagged, ImageKind::Webp).unwrap();
        assert_eq!(s.bytes, with_icc, "flags as before, profile kept");
        assert_eq!(s.icc, Some(icc(b"RGB ")));
    }

    #[test]
    fn orientation_is_applied_before_the_exif_goes() {
        // A JPEG whose EXIF says "rotate 90° clockwise to display".
        let mut j =
            Jpeg::from_bytes(Bytes::from(encode(&blocks(64, 48), ImageFormat::Jpeg))).unwrap();
        j.set_icc_profile(Some(icc(b"RGB ")));
        j.set_exif(Some(Bytes::from(exif_with_gps(6))));
        let p = processed(j.encoder().bytes().to_vec(), ImageKind::Jpeg).unwrap();
        assert_eq!((p.width, p.height), (48, 64));
        let out = Jpeg::from_bytes(Bytes::from(p.original.clone())).unwrap();
        assert!(out.exif().is_none());
        assert_eq!(
            out.icc_profile(),
            Some(icc(b"RGB ")),
            "the profile is put back"
        );
        let img = image::load_from_memory_with_format(&p.original, ImageFormat::Jpeg)
            .unwrap()
            .to_rgb8();
        assert_eq!(img.dimensions(), (48, 64));
        // Red was top-left; turned clockwise it is top-right.
        let [r, g, b] = img.get_pixel(40, 8).0;
        assert!(r > 200 && g < 60 && b < 60, "{:?}", [r, g, b]);
        let t = image::load_from_memory(&p.thumb).unwrap();
        assert_eq!((t.width(), t.height()), (48, 64));

        // A PNG is turned losslessly, and a profile for another colour space is not kept.
        let src = blocks(30, 20);
        let mut q = Png::from_bytes(Bytes::from(encode(&src, ImageFormat::Png))).unwrap();
        q.set_icc_profile(Some(icc(b"CMYK")));
        q.set_exif(Some(Bytes::from(exif_with_gps(8))));
        let p = processed(q.encoder().bytes().to_vec(), ImageKind::Png).unwrap();
        let out = Png::from_bytes(Bytes::from(p.original.clone())).unwrap();
        assert!(out.exif().is_none() && out.icc_profile().is_none());
        let img = image::load_from_memory_with_format(&p.original, ImageFormat::Png).unwrap();
        assert_eq!(img.to_rgb8(), src.rotate270().to_rgb8());

        // Upright (1): stored as stripped, not re-encoded.
        let mut j =
            Jpeg::from_bytes(Bytes::from(encode(&blocks(64, 48), ImageFormat::Jpeg))).unwrap();
        j.set_exif(Some(Bytes::from(exif_with_gps(1))));
        let p = processed(j.encoder().bytes().to_vec(), ImageKind::Jpeg).unwrap();
        assert_eq!(p.original, encode(&blocks(64, 48), ImageFormat::Jpeg));
    }

    #[test]
    fn the_first_image_ends_at_its_own_end_marker() {
        let scan: Vec<u8> = [
            &[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56, 0xFF, 0xFF][..],
            // A Huffman table between progressive scans whose contents hold FF D9.
            &[0xFF, 0xC4, 0x00, 0x06, 0xFF, 0xD9, 0xFF, 0xD9],
            &[0xFF, 0xDA, 0x00, 0x03, 0x00, 0x77],
            &[0xFF, 0xD9],
            b"trailer\xFF\xD8\xFF\xD9",
        ]
        .concat();
        assert_eq!(first_image_end(&scan), Some(scan.len() - 11));
        assert_eq!(first_image_end(&[0x12, 0xFF, 0x00, 0x34]), None);
        assert_eq!(first_image_end(&[0xFF, 0xC4, 0x00]), None);
    }

    #[test]
    fn damaged_containers_are_refused() {
        let mut bad_crc = png(8, 8);
        let n = bad_crc.len();
        bad_crc[n - 20] ^= 0x55;
        let mut cut_jpeg = encode(&blocks(16, 16), ImageFormat::Jpeg);
        cut_jpeg.truncate(30);
        for (bytes, kind) in [
            (bad_crc, ImageKind::Png),
            (cut_jpeg, ImageKind::Jpeg),
            (b"RIFF\xff\0\0\0WEBPVP8L".to_vec(), ImageKind::Webp),
        ] {
            let e = strip_metadata(bytes, kind).unwrap_err();
            assert!(
                matches!(e, AppError::Invalid { ref field, .. } if field == "image"),
                "{kind:?}"
            );
        }
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
        let p = processed(png(800, 400), ImageKind::Png).unwrap();
        assert_eq!((p.width, p.height), (800, 400));
        let t = image::load_from_memory_with_format(&p.thumb, ImageFormat::Jpeg).unwrap();
        assert_eq!((t.width(), t.height()), (320, 160));
        let small = processed(png(10, 10), ImageKind::Png).unwrap();
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
        assert!(processed(fake, ImageKind::Png).is_err());
    }

    #[test]
    fn the_store_writes_whole_files() {
        let dir =
            std::env::temp_dir().join(format!("kith-media-{}", crate::platform::ids::new_id()));
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
