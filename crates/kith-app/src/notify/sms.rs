//! The SMS channel: a notification sent as a text message through the platform's SMS
//! provider (`App::sms`: Aliyun, Tencent Cloud, or the console in development).
//!
//! Text messages in China go out only through templates the provider approved in
//! advance, so each kind needs its template (`--sms-notify-templates
//! order_shipped=SMS_123,…`); a kind without one is not sent by SMS. Every template takes
//! the same two variables, in this order: `title` (the notification's title, e.g.
//! 订单已发货) and `detail` (its sentence, cut to [`DETAIL_CHARS`] characters, the
//! providers' limit for one variable). Aliyun fills `${title}` and `${detail}`; Tencent
//! Cloud fills `{1}` and `{2}`.
//!
//! The channel is available when the server has an SMS provider and at least one
//! template. The number is the account's own phone, asked of `platform::accounts` when the
//! message goes out (a number changed since the event is the one used). A member without
//! a phone, or a kind without a template, is recorded as skipped and never retried; a
//! provider refusal is recorded as refused; a provider that cannot be reached is retried
//! with the queue's backoff.

use kith_domain::Phone;

use super::{Channel, Deliver, Kind, Outcome, Outgoing, render};
use crate::App;
use crate::platform::accounts;
use crate::platform::sms::{SmsError, SmsMessage};

/// Characters of the sentence put into the `detail` variable.
pub const DETAIL_CHARS: usize = 35;

/// Whether this server sends notifications by SMS.
pub(crate) fn available(app: &App) -> bool {
    app.sms.name() != "off" && !app.config.sms_notify_templates.is_empty()
}

/// The adapter. Stateless: the provider is `App::sms`.
#[derive(Debug)]
pub struct SmsChannel;

impl Deliver for SmsChannel {
    fn channel(&self) -> Channel {
        Channel::Sms
    }

    fn deliver<'a>(
        &'a self,
        app: &'a App,
        msg: &'a Outgoing,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Outcome> + Send + 'a>> {
        Box::pin(send(app, msg))
    }
}

/// The message a notification becomes: its template and the two variables.
pub fn message(template: &str, kind: Kind, params: &serde_json::Value) -> SmsMessage {
    let (title, body) = render(kind, params, false);
    SmsMessage {
        template: template.to_owned(),
        params: vec![
            (
                "title".to_owned(),
                title.chars().take(DETAIL_CHARS).collect(),
            ),
            (
                "detail".to_owned(),
                body.chars().take(DETAIL_CHARS).collect(),
            ),
        ],
    }
}

async fn send(app: &App, msg: &Outgoing) -> Outcome {
    let Some(template) = super::template_of(&app.config.sms_notify_templates, msg.kind) else {
        return Outcome::Skipped(format!("no SMS template for {}", msg.kind.as_str()));
    };
    let account = msg.account_id.clone();
    let phone = match app
        .db
        .read(move |c| accounts::load_account(c, &account))
        .await
    {
        Ok(a) => a.phone,
        Err(e) => {
            return Outcome::Failed {
                code: None,
                message: e.to_string(),
            };
        }
    };
    let Some(phone) = phone.and_then(|p| Phone::parse(&p).ok()) else {
        return Outcome::Skipped("the member has no phone".into());
    };
    match app
        .sms
        .send(&phone, &message(template, msg.kind, &msg.params))
        .await
    {
        Ok(_) => Outcome::Sent,
        Err(SmsError::Refused { code, message }) => Outcome::Refused {
            code: 0,
            message: format!("{code}: {message}"),
        },
        Err(SmsError::NotConfigured) => Outcome::Skipped("SMS is not configured".into()),
        Err(SmsError::Transport(m)) => Outcome::Failed {
            code: None,
            message: m,
        },
    }
}
