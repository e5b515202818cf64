//! Image uploads and the files they serve. The upload takes the raw image as the body
//! (whatever its Content-Type: the type is told by the bytes), up to 10 MiB — this route
//! alone raises the body limit; the files are served with their stored type and cached
//! for good (an id is the hash of its bytes, so its content never changes).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kith_app::social::media::{MAX_UPLOAD_BYTES, Media, MediaFile, Variant};
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::extract::{ApiPath, Auth};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

/// The upload route, whose body limit is larger than the rest.
pub const UPLOAD_PATH: &str = "/api/v1/media";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)))
        .routes(routes!(original))
        .routes(routes!(thumb))
}

/// The raw bytes of a JPEG, PNG or WebP image.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ImageBytes(#[allow(dead_code)] Vec<u8>);

/// Upload an image: the raw bytes as the body, any Content-Type. Accepted: JPEG, PNG or
/// WebP by their bytes, at most 10 MiB, at most 8192 pixels a side and 40 megapixels;
/// anything else is refused (422 on `image`, 413 over 10 MiB) and nothing is stored. The
/// id is the SHA-256 of the stored bytes (metadata stripped): the same bytes again answer the same item.
#[utoipa::path(post, path = "/api/v1/media", tag = "media",
    request_body(content = ImageBytes, content_type = "application/octet-stream", description = "The image's bytes"),
    security(("bearer" = [])),
    responses((status = 201, body = Media), (status = 401, body = Problem), (status = 413, body = Problem),
              (status = 422, description = "not a JPEG, PNG or WebP image, empty, too many pixels, or undecodable", body = Problem)))]
async fn upload(
    State(s): State<AppState>,
    Auth(p): Auth,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Media>)> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
                format!(
                    "an image may be at most {} MiB",
                    MAX_UPLOAD_BYTES / (1024 * 1024)
                ),
            )
            .with_field("image")
        } else {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed-body",
                "Malformed body",
                e.body_text(),
            )
        }
    })?;
    Ok((
        StatusCode::CREATED,
        Json(s.app.upload_media(&p, bytes.to_vec()).await?),
    ))
}

fn serve(file: MediaFile, etag: &str, headers: &HeaderMap) -> Response {
    let etag = format!("\"{etag}\"");
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        file.bytes.into_response()
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&file.mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    res
}

/// An uploaded image, byte for byte, with its type. Cached for good.
#[utoipa::path(get, path = "/media/{media_id}", tag = "media", params(("media_id" = String, Path, description = "64 lowercase hex digits")),
    responses((status = 200, description = "the image", content_type = "image/*"), (status = 304, description = "not modified"), (status = 404, body = Problem)))]
async fn original(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let file = s.app.media_file(&id, Variant::Original).await?;
    Ok(serve(file, &id, &headers))
}

/// The image's JPEG thumbnail, at most 320 pixels on its long side. Cached for good.
#[utoipa::path(get, path = "/media/{media_id}/thumb", tag = "media", params(("media_id" = String, Path, description = "64 lowercase hex digits")),
    responses((status = 200, description = "the thumbnail", content_type = "image/jpeg"), (status = 304, description = "not modified"), (status = 404, body = Problem)))]
async fn thumb(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let file = s.app.media_file(&id, Variant::Thumb).await?;
    Ok(serve(file, &format!("{id}.thumb"), &headers))
}
