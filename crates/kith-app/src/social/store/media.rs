//! Uploaded media: the stored facts of each image and who uploaded it.

use kith_store::{Conn, Row, args};

use crate::social::media::{Media, media_url, thumb_url};
use crate::{AppResult, rfc3339};

kith_store::columns!(MediaCols {
    id,
    mime,
    width,
    height,
    bytes,
    created_at,
});
const MEDIA_COLS: &str = MediaCols::LIST;

fn media_from_row(r: &Row) -> AppResult<Media> {
    let id = r.text(MediaCols::id)?;
    Ok(Media {
        url: media_url(&id),
        thumb_url: thumb_url(&id),
        id,
        mime: r.text(MediaCols::mime)?,
        width: r.int(MediaCols::width)?,
        height: r.int(MediaCols::height)?,
        bytes: r.int(MediaCols::bytes)?,
        created_at: rfc3339(r.int(MediaCols::created_at)?),
    })
}

pub(in crate::social) fn load_media(c: &mut dyn Conn, id: &str) -> AppResult<Option<Media>> {
    c.query_opt(
        &format!("SELECT {MEDIA_COLS} FROM media WHERE id = $1"),
        args![id],
    )?
    .map(|r| media_from_row(&r))
    .transpose()
}

/// True when the row is new (false when the same bytes were uploaded before).
#[allow(clippy::too_many_arguments)]
pub(in crate::social) fn insert_media(
    c: &mut dyn Conn,
    id: &str,
    owner: &str,
    mime: &str,
    width: i64,
    height: i64,
    bytes: i64,
    now: i64,
) -> AppResult<bool> {
    Ok(c.execute(
        "INSERT INTO media (id, owner_id, mime, width, height, bytes, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        args![id, owner, mime, width, height, bytes, now],
    )? == 1)
}

/// Whether `account_id` uploaded `media_id` (first or again): what lets them attach it to
/// a post, a review or a community cover.
pub(crate) fn uploaded_by(c: &mut dyn Conn, media_id: &str, account_id: &str) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM media_uploads WHERE media_id = $1 AND account_id = $2",
        args![media_id, account_id],
    )?
    .is_some())
}

/// Whether someone now on `merchant_id`'s staff uploaded `media_id`: what lets the
/// merchant show it as a product image.
pub(crate) fn uploaded_by_staff_of(
    c: &mut dyn Conn,
    media_id: &str,
    merchant_id: &str,
) -> AppResult<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM media_uploads u JOIN merchant_staff s ON s.account_id = u.account_id
         WHERE u.media_id = $1 AND s.merchant_id = $2",
        args![media_id, merchant_id],
    )?
    .is_some())
}

/// Records that `account_id` uploaded `media_id` (again is fine).
pub(in crate::social) fn record_upload(
    c: &mut dyn Conn,
    media_id: &str,
    account_id: &str,
    now: i64,
) -> AppResult<()> {
    c.execute(
        "INSERT INTO media_uploads (media_id, account_id, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (media_id, account_id) DO NOTHING",
        args![media_id, account_id, now],
    )?;
    Ok(())
}
