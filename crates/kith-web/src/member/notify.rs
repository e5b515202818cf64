//! The member's notifications: the inbox (unread in bold, newest first, Beijing time, each
//! opened through a POST that marks it read and goes to its thing; mark all read) and the
//! preferences form (WeChat and SMS per kind; the inbox always on).

use std::collections::HashMap;

use askama::Template;

use crate::pages::filters;
use kith_app::notify::{Kind, Notification, PreferenceChange, Preferences};

use super::*;

#[derive(Template)]
#[template(path = "notify/inbox.html")]
pub(super) struct InboxPage {
    pub(super) c: Ctx,
    pub(super) items: Vec<Notification>,
    pub(super) next_cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "notify/settings.html")]
pub(super) struct SettingsPage {
    pub(super) c: Ctx,
    pub(super) prefs: Preferences,
    pub(super) saved: bool,
}

impl SettingsPage {
    fn label(&self, kind: &Kind) -> &'static str {
        kind.label(self.c.lang == crate::i18n::Lang::En)
    }
}

#[derive(Deserialize)]
pub(super) struct InboxQuery {
    cursor: Option<String>,
}

pub(super) async fn inbox(
    State(s): State<Web>,
    c: Ctx,
    Query(q): Query<InboxQuery>,
) -> WebResult<Response> {
    let who = c.principal()?.clone();
    let page = PageRequest::parse(Some(20), q.cursor.as_deref().filter(|c| !c.is_empty()))?;
    let en = c.lang == crate::i18n::Lang::En;
    let p = s.app.my_notifications(&who, page, en).await?;
    Ok(render(&InboxPage {
        c,
        items: p.items,
        next_cursor: p.next_cursor,
    })?
    .into_response())
}

/// Opens a notification: marks it read and goes to its thing (a path on this server).
pub(super) async fn open(
    State(s): State<Web>,
    c: Ctx,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    let id = kith_app::platform::ids::NotificationId::parse_or_404(&id)?;
    let n = s
        .app
        .mark_notification_read(c.principal()?, &id, false)
        .await?;
    let to = if n.link.starts_with('/') && !n.link.starts_with("//") {
        n.link
    } else {
        "/me/notifications".to_owned()
    };
    Ok(see(to))
}

pub(super) async fn read_all(
    State(s): State<Web>,
    c: Ctx,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    s.app.mark_all_notifications_read(c.principal()?).await?;
    Ok(see("/me/notifications"))
}

#[derive(Deserialize)]
pub(super) struct SettingsQuery {
    saved: Option<String>,
}

pub(super) async fn settings(
    State(s): State<Web>,
    c: Ctx,
    Query(q): Query<SettingsQuery>,
) -> WebResult<Response> {
    let prefs = s.app.notification_preferences(c.principal()?).await?;
    Ok(render(&SettingsPage {
        c,
        prefs,
        saved: q.saved.is_some(),
    })?
    .into_response())
}

/// Saves the form: a box not sent is a channel turned off (how HTML forms send checkboxes).
pub(super) async fn save_settings(
    State(s): State<Web>,
    c: Ctx,
    CsrfForm(f): CsrfForm<HashMap<String, String>>,
) -> WebResult<Response> {
    let changes = Kind::ALL
        .into_iter()
        .map(|k| PreferenceChange {
            kind: k.as_str().to_owned(),
            in_app: None,
            wechat: Some(f.contains_key(&format!("wechat_{}", k.as_str()))),
            sms: Some(f.contains_key(&format!("sms_{}", k.as_str()))),
        })
        .collect();
    s.app
        .set_notification_preferences(c.principal()?, changes)
        .await?;
    Ok(see("/me/notifications/settings?saved=1"))
}
