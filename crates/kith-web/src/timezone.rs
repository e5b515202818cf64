//! The viewer's time zone: every time a page shows is in it, Beijing time unless the viewer
//! chose another on 我的 (`POST /me/time-zone`, remembered in the `kith_tz` cookie).
//!
//! The zones offered keep one offset all year (no daylight saving), so a fixed offset says
//! them exactly: the ones where most members abroad live without a clock change. The
//! [`scope`] layer puts the viewer's offset in a task-local for the request, which
//! [`crate::pages::beijing`] (and so the `day` filter and the exports) reads. What people
//! type into the console (a coupon's last day, a 秒杀's slots) is still read as Beijing time,
//! and those forms say so.

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

/// The cookie that remembers the viewer's zone (one of [`ZONES`]' ids).
pub const COOKIE: &str = "kith_tz";

/// (id, minutes east of UTC, Chinese name, English name). The first is the default.
pub const ZONES: &[(&str, i32, &str, &str)] = &[
    (
        "Asia/Shanghai",
        480,
        "北京时间（UTC+8，含香港、台北、新加坡、吉隆坡、珀斯）",
        "Beijing time (UTC+8: also Hong Kong, Taipei, Singapore, Kuala Lumpur, Perth)",
    ),
    (
        "Asia/Tokyo",
        540,
        "东京、首尔（UTC+9）",
        "Tokyo, Seoul (UTC+9)",
    ),
    (
        "Asia/Bangkok",
        420,
        "曼谷、雅加达、河内（UTC+7）",
        "Bangkok, Jakarta, Hanoi (UTC+7)",
    ),
    ("Asia/Dubai", 240, "迪拜（UTC+4）", "Dubai (UTC+4)"),
    (
        "Australia/Brisbane",
        600,
        "布里斯班（UTC+10）",
        "Brisbane (UTC+10)",
    ),
    (
        "UTC",
        0,
        "协调世界时（UTC）",
        "Coordinated Universal Time (UTC)",
    ),
];

tokio::task_local! {
    static OFFSET_MINUTES: i32;
}

/// The minutes east of UTC of zone `id`, if it is one offered.
pub fn minutes_of(id: &str) -> Option<i32> {
    ZONES.iter().find(|z| z.0 == id).map(|z| z.1)
}

/// The viewer's zone id from their cookie, or the default's.
pub fn chosen(headers: &HeaderMap) -> &'static str {
    crate::cookie(headers, COOKIE)
        .and_then(|v| ZONES.iter().find(|z| z.0 == v))
        .map_or(ZONES[0].0, |z| z.0)
}

/// The offset of this request's viewer (Beijing time outside a request).
pub fn offset() -> time::UtcOffset {
    let minutes = OFFSET_MINUTES.try_with(|m| *m).unwrap_or(ZONES[0].1);
    time::UtcOffset::from_whole_seconds(minutes * 60).unwrap_or(time::UtcOffset::UTC)
}

/// Runs `f` as a viewer in zone `minutes` east of UTC would see it.
pub fn with_minutes<T>(minutes: i32, f: impl FnOnce() -> T) -> T {
    OFFSET_MINUTES.sync_scope(minutes, f)
}

/// The layer on every page: the rest of the request sees the viewer's offset.
pub async fn scope(req: Request, next: Next) -> Response {
    let minutes = minutes_of(chosen(req.headers())).unwrap_or(ZONES[0].1);
    OFFSET_MINUTES.scope(minutes, next.run(req)).await
}
