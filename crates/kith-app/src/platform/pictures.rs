//! Pictures of shops and members (issue 18): a merchant's logo and banner, a member's
//! avatar, and [`MediaRef`], the reference to an uploaded image every view carries.
//!
//! The images themselves are social's uploads (`social/media.rs`: content-addressed, with
//! a thumbnail); this module only points at them. It sits in platform because merchants
//! and accounts are platform's rows, and platform imports no other context: so the rule
//! of who may show an image is asked of `media_uploads` by SQL in platform's store, the
//! same rule as social's — a member's avatar must be an image **they** uploaded
//! (`uploaded_by`), a shop's logo and banner an image someone **on its staff** uploaded
//! (`uploaded_by_staff_of`, as for product images). Anything else is 422 on the field,
//! and nothing changes. `""` (or `null` for the avatar) clears a picture.

use kith_store::Conn;
use serde::Serialize;

use super::accounts::{Account, load_account};
use super::store::accounts as account_rows;
use super::store::merchants as merchant_rows;
use crate::{App, AppError, AppResult, Principal, platform::outbox};

/// A reference to an uploaded image, as other resources show it: the original and its
/// thumbnail (at most 320 pixels on its long side), both public at `/media/...`.
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

/// A media id's length: the SHA-256 of the stored bytes in hex (`social::media::MediaId`),
/// as the API's schema says; anything longer names no upload and is not looked up.
const MEDIA_ID_LEN: usize = 64;

pub fn media_url(id: &str) -> String {
    format!("/media/{id}")
}

pub fn thumb_url(id: &str) -> String {
    format!("/media/{id}/thumb")
}

/// A picture change: `None` leaves it, `Some("")` clears it, `Some(id)` sets it.
fn change(v: Option<&str>) -> Option<Option<&str>> {
    v.map(|s| Some(s.trim()).filter(|s| !s.is_empty()))
}

/// Sets or clears a shop's logo and banner (each `None` = unchanged, `""` = none), each
/// image checked to be an upload of someone on the shop's staff. The caller has checked
/// that the caller may change the shop, inside the same transaction.
pub(super) fn set_merchant_pictures(
    c: &mut dyn Conn,
    merchant_id: &str,
    logo: Option<&str>,
    banner: Option<&str>,
    now: i64,
) -> AppResult<()> {
    for (field, v) in [("logo_media_id", logo), ("banner_media_id", banner)] {
        let Some(v) = change(v) else { continue };
        if let Some(id) = v
            && !(id.len() <= MEDIA_ID_LEN
                && merchant_rows::uploaded_by_staff_of(c, id, merchant_id)?)
        {
            return Err(AppError::invalid(
                field,
                "names no image uploaded by the shop's staff",
            ));
        }
        merchant_rows::set_picture(c, merchant_id, field, v, now)?;
    }
    Ok(())
}

impl App {
    /// The caller sets their avatar to an image they uploaded (`POST /api/v1/media`), or
    /// clears it with `None` / `""`. Emits `account.avatar_changed`.
    pub async fn set_avatar(
        &self,
        who: &Principal,
        media_id: Option<String>,
    ) -> AppResult<Account> {
        let now = self.now_ms();
        let id = who.account_id.clone();
        self.db
            .write(move |c| {
                let avatar = change(media_id.as_deref()).flatten();
                if let Some(m) = avatar
                    && !(m.len() <= MEDIA_ID_LEN && account_rows::uploaded_by(c, m, &id)?)
                {
                    return Err(AppError::invalid("media_id", "names no image you uploaded"));
                }
                account_rows::set_avatar(c, &id, avatar)?;
                outbox::emit(
                    c,
                    now,
                    "account.avatar_changed",
                    None,
                    &id,
                    &serde_json::json!({ "account_id": id, "avatar_media_id": avatar }),
                )?;
                load_account(c, &id)
            })
            .await
    }
}
