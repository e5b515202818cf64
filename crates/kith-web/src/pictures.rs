//! Pictures (issue 18): the member's avatar page (`/me/avatar`, linked from 我的) and the
//! console's shop look (`/console/{mid}/shop`: the logo and the banner, each with a
//! preview of what is shown now). Both are `multipart/form-data` forms: a chosen file is
//! uploaded as the viewer's own image (`App::upload_media`, the pipeline with its
//! thumbnail) and then set (`App::set_avatar`, `App::update_merchant`), whose rules decide
//! what may be shown. A refused upload is said in the page's language beside its field;
//! a browser never refills a file input, so there is nothing else to keep.

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kith_app::AppError;
use kith_app::commerce::catalog::{MAX_IMAGES, ProductInput};
use kith_app::platform::ids::{MerchantId, ProductId};
use kith_app::platform::merchants::{Merchant, MerchantInput};
use kith_app::platform::pictures::media_url;
use kith_app::social::media::MAX_UPLOAD_BYTES;

use crate::console::shop;
use crate::pages::{Shop, filters};
use crate::{Ctx, Web, WebError, WebResult, render, see};

pub fn routes() -> Router<Web> {
    Router::new()
        .route(
            "/me/avatar",
            get(avatar_page)
                .post(set_avatar)
                .layer(axum::extract::DefaultBodyLimit::max(
                    MAX_UPLOAD_BYTES + 64 * 1024,
                )),
        )
        .route("/me/avatar/remove", post(remove_avatar))
        .route(
            "/console/{mid}/products/{pid}/images",
            post(add_product_image).layer(axum::extract::DefaultBodyLimit::max(
                MAX_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/console/{mid}/products/{pid}/images/arrange",
            post(arrange_product_images),
        )
        .route(
            "/console/{mid}/shop",
            get(shop_page)
                .post(set_shop_pictures)
                // A logo and a banner, each of the size one upload may have.
                .layer(axum::extract::DefaultBodyLimit::max(
                    2 * MAX_UPLOAD_BYTES + 64 * 1024,
                )),
        )
}

/// A multipart form as sent: its text fields and its non-empty files, by name, and the
/// field whose reading failed (a file beyond the route's limit), with why.
#[derive(Default)]
struct Sent {
    text: Vec<(String, String)>,
    files: Vec<(String, Vec<u8>)>,
    failed: Option<(String, String)>,
}

impl Sent {
    fn ticked(&self, name: &str) -> bool {
        self.text.iter().any(|(k, v)| k == name && v == "1")
    }
}

/// Reads a multipart form. The CSRF token is checked here, as `CsrfForm` does for
/// url-encoded forms. A file beyond the route's limit is refused on its field like any
/// other upload that is too large.
async fn read_form(headers: &HeaderMap, mut form: Multipart) -> WebResult<Sent> {
    let mut sent = Sent::default();
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                sent.failed
                    .get_or_insert(("form".to_owned(), format!("limit: {}", e.body_text())));
                break;
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if field.file_name().is_some() {
            match field.bytes().await {
                Ok(b) if !b.is_empty() => sent.files.push((name, b.to_vec())),
                Ok(_) => {}
                Err(e) => {
                    sent.failed = Some((name, format!("limit: {}", e.body_text())));
                    break;
                }
            }
        } else {
            let v = field
                .text()
                .await
                .map_err(|e| AppError::invalid(name.clone(), e.body_text()))?;
            sent.text.push((name, v));
        }
    }
    let csrf = sent.text.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v);
    match kith_http::extract::session_token(headers) {
        Some((t, _)) if csrf.map(String::as_str) == Some(crate::csrf_token(&t).as_str()) => {}
        _ => return Err(WebError::Csrf),
    }
    Ok(sent)
}

/// A refusal of the upload or the use case: (field, words), or the error for the error page.
fn refused(c: &Ctx, field: &str, e: AppError) -> WebResult<(String, String)> {
    match e {
        AppError::Invalid { field: f, reason } => {
            Ok((field.to_owned(), c.t.pics().refusal(&f, &reason).to_owned()))
        }
        other => Err(other.into()),
    }
}

// --- the member's avatar ----------------------------------------------------------------

#[derive(Template)]
#[template(path = "pictures/avatar.html")]
pub struct AvatarPage {
    pub c: Ctx,
    /// Why the upload was refused, in words.
    pub error: Option<String>,
}

async fn avatar_page(c: Ctx) -> WebResult<Response> {
    c.principal()?;
    Ok(render(&AvatarPage { c, error: None })?.into_response())
}

fn avatar_refused(c: Ctx, words: String) -> WebResult<Response> {
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        render(&AvatarPage {
            c,
            error: Some(words),
        })?,
    )
        .into_response())
}

async fn set_avatar(
    State(s): State<Web>,
    c: Ctx,
    headers: HeaderMap,
    form: Multipart,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let sent = read_form(&headers, form).await?;
    if let Some((f, why)) = sent.failed {
        let words = c.t.pics().refusal(&f, &why).to_owned();
        return avatar_refused(c, words);
    }
    let Some((_, bytes)) = sent.files.into_iter().find(|(k, _)| k == "avatar") else {
        let words = c.t.pics().nothing_chosen.to_owned();
        return avatar_refused(c, words);
    };
    let result = match s.app.upload_media(&who, bytes).await {
        Ok(m) => s.app.set_avatar(&who, Some(m.id)).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(see("/me?done=saved")),
        Err(e) => {
            let (_, words) = refused(&c, "avatar", e)?;
            avatar_refused(c, words)
        }
    }
}

async fn remove_avatar(
    State(s): State<Web>,
    c: Ctx,
    crate::CsrfForm(_): crate::CsrfForm<crate::pages::Empty>,
) -> WebResult<Response> {
    s.app.set_avatar(c.principal()?, None).await?;
    Ok(see("/me?done=saved"))
}

// --- the shop's logo and banner -----------------------------------------------------------

#[derive(Template)]
#[template(path = "pictures/shop.html")]
pub struct ShopPicturesPage {
    pub c: Ctx,
    pub shop: Shop,
    pub m: Merchant,
    /// The refused field (`logo` or `banner`) and why, in words.
    pub error: Option<(String, String)>,
}

impl ShopPicturesPage {
    fn bad_at(&self, field: &str) -> Option<&str> {
        match &self.error {
            Some((f, words)) if f == field => Some(words),
            _ => None,
        }
    }
}

async fn shop_page(State(s): State<Web>, c: Ctx, Path(mid): Path<String>) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let m = s
        .app
        .get_merchant(Some(&who), &MerchantId::parse_or_404(&mid)?)
        .await?;
    Ok(render(&ShopPicturesPage {
        c,
        shop,
        m,
        error: None,
    })?
    .into_response())
}

async fn set_shop_pictures(
    State(s): State<Web>,
    c: Ctx,
    Path(mid): Path<String>,
    headers: HeaderMap,
    form: Multipart,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let id = MerchantId::parse_or_404(&mid)?;
    let sent = read_form(&headers, form).await?;
    let mut error = sent.failed.clone().map(|(f, why)| {
        let field = if f == "banner" { "banner" } else { "logo" };
        (field.to_owned(), c.t.pics().refusal(&f, &why).to_owned())
    });
    let mut input = MerchantInput {
        logo_media_id: sent.ticked("remove_logo").then(String::new),
        banner_media_id: sent.ticked("remove_banner").then(String::new),
        ..MerchantInput::default()
    };
    if error.is_none() {
        for (field, bytes) in sent.files {
            let slot = match field.as_str() {
                "logo" => &mut input.logo_media_id,
                "banner" => &mut input.banner_media_id,
                _ => continue,
            };
            match s.app.upload_media(&who, bytes).await {
                Ok(m) => *slot = Some(m.id),
                Err(e) => {
                    error = Some(refused(&c, &field, e)?);
                    break;
                }
            }
        }
    }
    if error.is_none() {
        match s.app.update_merchant(&who, &id, input).await {
            Ok(_) => return Ok(see(format!("/console/{mid}/shop?done=saved"))),
            Err(e) => {
                let field = match &e {
                    AppError::Invalid { field, .. } if field.starts_with("banner") => "banner",
                    _ => "logo",
                };
                error = Some(refused(&c, field, e)?);
            }
        }
    }
    let m = s.app.get_merchant(Some(&who), &id).await?;
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        render(&ShopPicturesPage { c, shop, m, error })?,
    )
        .into_response())
}

// --- a product's pictures -----------------------------------------------------------------

/// Uploads the chosen file as the staff member's image and adds it after the product's
/// pictures (the first stays the main one). A refusal — no file, not an image, too large,
/// already ten — is said beside the file input on the product's console page.
async fn add_product_image(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, pid)): Path<(String, String)>,
    headers: HeaderMap,
    form: Multipart,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let product = ProductId::parse_or_404(&pid)?;
    let sent = read_form(&headers, form).await?;
    let refusal = add_picture(&s, &c, &who, &shop.id, &product, sent).await?;
    match refusal {
        None => Ok(see(format!(
            "/console/{mid}/products/{pid}?done=saved#images"
        ))),
        Some(words) => crate::console::product_page(&s, c, &mid, &pid, Some(words)).await,
    }
}

/// Adds the sent picture after the product's others; `Some(words)` when it is refused.
async fn add_picture(
    s: &Web,
    c: &Ctx,
    who: &kith_app::Principal,
    mid: &MerchantId,
    product: &ProductId,
    sent: Sent,
) -> WebResult<Option<String>> {
    let pics = c.t.pics();
    if let Some((field, why)) = sent.failed {
        return Ok(Some(pics.refusal(&field, &why).to_owned()));
    }
    let Some((_, bytes)) = sent.files.into_iter().find(|(name, _)| name == "image") else {
        return Ok(Some(pics.nothing_chosen.to_owned()));
    };
    let mut images = s.app.get_product(Some(who), mid, product).await?.images;
    // Said before uploading, so a full product stores no picture it will not show (the use
    // case refuses an eleventh anyway).
    if images.len() >= MAX_IMAGES {
        return Ok(Some(pics.too_many.to_owned()));
    }
    let m = match s.app.upload_media(who, bytes).await {
        Ok(m) => m,
        Err(e) => return Ok(Some(refused(c, "image", e)?.1)),
    };
    images.push(media_url(&m.id));
    match set_images(s, who, mid, product, images).await {
        Ok(()) => Ok(None),
        Err(e) => Ok(Some(refused(c, "images", e)?.1)),
    }
}

#[derive(serde::Deserialize)]
struct Arrange {
    /// One of the product's pictures, as stored.
    image: String,
    /// `main` (to the front) or `remove`.
    action: String,
}

/// Makes one of the product's pictures the main one, or removes it.
async fn arrange_product_images(
    State(s): State<Web>,
    c: Ctx,
    Path((mid, pid)): Path<(String, String)>,
    crate::CsrfForm(f): crate::CsrfForm<Arrange>,
) -> WebResult<Response> {
    let (who, shop) = shop(&c, &mid)?;
    let product = ProductId::parse_or_404(&pid)?;
    let mut images = s
        .app
        .get_product(Some(&who), &shop.id, &product)
        .await?
        .images;
    let at = images
        .iter()
        .position(|i| *i == f.image)
        .ok_or(AppError::NotFound("image"))?;
    let image = images.remove(at);
    match f.action.as_str() {
        "main" => images.insert(0, image),
        "remove" => {}
        _ => return Err(AppError::invalid("action", "must be main or remove").into()),
    }
    set_images(&s, &who, &shop.id, &product, images).await?;
    Ok(see(format!(
        "/console/{mid}/products/{pid}?done=saved#images"
    )))
}

async fn set_images(
    s: &Web,
    who: &kith_app::Principal,
    mid: &MerchantId,
    pid: &ProductId,
    images: Vec<String>,
) -> Result<(), AppError> {
    s.app
        .update_product(
            who,
            mid,
            pid,
            ProductInput {
                images: Some(images),
                ..ProductInput::default()
            },
        )
        .await
        .map(|_| ())
}
