//! The caller's notifications: made from what happened to their orders, group-buys,
//! commission, withdrawals, posts, reviews, invites and shop application; the inbox,
//! the unread count, marking read, and the choices per kind and channel. Only the
//! recipient sees or marks a notification: another member's id answers 404.

use axum::Json;
use axum::extract::State;
use kith_app::notify::{Notification, PreferenceChange, Preferences};
use kith_app::platform::page::Page;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::ids::NotificationId;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(unread_count))
        .routes(routes!(mark_read))
        .routes(routes!(mark_all_read))
        .routes(routes!(get_preferences, put_preferences))
}

/// `?limit=&cursor=&lang=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InboxParams {
    /// Items per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// `zh` (default) or `en`: the language of `title` and `body`.
    pub lang: Option<String>,
}

/// `?lang=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LangParams {
    /// `zh` (default) or `en`: the language of `title` and `body`.
    pub lang: Option<String>,
}

fn english(lang: Option<&str>) -> Result<bool, kith_app::AppError> {
    match lang {
        None | Some("zh") | Some("") => Ok(false),
        Some("en") => Ok(true),
        Some(_) => Err(kith_app::AppError::invalid("lang", "is zh or en")),
    }
}

/// Your notifications, newest first. `title` and `body` are in `lang`; `params` holds the
/// values they are made of, `link` the page of the thing.
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "notifications", params(InboxParams), security(("bearer" = [])),
    responses((status = 200, body = Page<Notification>), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<InboxParams>,
) -> ApiResult<Json<Page<Notification>>> {
    let en = english(q.lang.as_deref())?;
    let page = kith_app::platform::page::PageRequest::parse(q.limit, q.cursor.as_deref())?;
    Ok(Json(s.app.my_notifications(&p, page, en).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    pub unread: i64,
}

/// How many of your notifications are unread.
#[utoipa::path(get, path = "/api/v1/me/notifications/unread-count", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = UnreadCount), (status = 401, body = Problem)))]
async fn unread_count(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<UnreadCount>> {
    Ok(Json(UnreadCount {
        unread: s.app.unread_notifications(&p).await?,
    }))
}

/// Mark one of your notifications read (marking it again changes nothing).
#[utoipa::path(post, path = "/api/v1/me/notifications/{notification_id}/read", tag = "notifications",
    params(NotificationId, LangParams), security(("bearer" = [])),
    responses((status = 200, body = Notification), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn mark_read(
    State(s): State<AppState>,
    Auth(p): Auth,
    nid: NotificationId,
    ApiQuery(q): ApiQuery<LangParams>,
) -> ApiResult<Json<Notification>> {
    let en = english(q.lang.as_deref())?;
    Ok(Json(s.app.mark_notification_read(&p, &nid, en).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedRead {
    /// How many were unread.
    pub marked: i64,
}

/// Mark every one of your notifications read.
#[utoipa::path(post, path = "/api/v1/me/notifications/read-all", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = MarkedRead), (status = 401, body = Problem)))]
async fn mark_all_read(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<MarkedRead>> {
    Ok(Json(MarkedRead {
        marked: s.app.mark_all_notifications_read(&p).await?,
    }))
}

/// Your choices per kind and channel. The inbox (`in_app`) keeps every kind; WeChat and
/// SMS are off until you turn them on, and only send when the server has the channel
/// (`wechat_available`, `sms_available`) and, for WeChat, knows your openid.
#[utoipa::path(get, path = "/api/v1/me/notification-preferences", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = Preferences), (status = 401, body = Problem)))]
async fn get_preferences(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Preferences>> {
    Ok(Json(s.app.notification_preferences(&p).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    /// The kinds to change; channels left out keep their choice.
    pub preferences: Vec<PreferenceChange>,
}

/// Change your choices. `in_app: false` is refused (422): the inbox keeps everything.
#[utoipa::path(put, path = "/api/v1/me/notification-preferences", tag = "notifications", request_body = PreferencesBody,
    security(("bearer" = [])),
    responses((status = 200, body = Preferences), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn put_preferences(
    State(s): State<AppState>,
    Auth(p): Auth,
    ApiJson(b): ApiJson<PreferencesBody>,
) -> ApiResult<Json<Preferences>> {
    Ok(Json(
        s.app
            .set_notification_preferences(&p, b.preferences)
            .await?,
    ))
}
