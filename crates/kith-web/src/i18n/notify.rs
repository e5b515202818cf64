//! The strings of the notification pages: the inbox, its badge in the navigation, and the
//! preferences. A notification's own title and body are worded by
//! `kith_app::notify::render` in the page's language. Read in templates as
//! `c.t.notify().<name>`.

use super::{Strings, ZH};

pub struct Notify {
    pub nav: &'static str,
    pub unread_label: &'static str,
    pub title: &'static str,
    pub empty: &'static str,
    pub mark_all: &'static str,
    pub open: &'static str,
    pub unread: &'static str,
    pub more: &'static str,
    pub settings: &'static str,
    pub settings_title: &'static str,
    pub settings_hint: &'static str,
    pub kind: &'static str,
    pub in_app: &'static str,
    pub always: &'static str,
    pub wechat: &'static str,
    pub sms: &'static str,
    pub wechat_off: &'static str,
    pub wechat_unlinked: &'static str,
    pub sms_off: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    pub back: &'static str,
}

impl Strings {
    /// The notification strings of this language.
    pub fn notify(&self) -> &'static Notify {
        if std::ptr::eq(self, &ZH) {
            &NOTIFY_ZH
        } else {
            &NOTIFY_EN
        }
    }
}

pub static NOTIFY_ZH: Notify = Notify {
    nav: "消息",
    unread_label: "条未读",
    title: "消息通知",
    empty: "还没有消息。订单、拼团、佣金和互动的动态会出现在这里。",
    mark_all: "全部标为已读",
    open: "查看",
    unread: "未读",
    more: "更早的消息",
    settings: "通知设置",
    settings_title: "通知设置",
    settings_hint: "站内消息始终保留；微信和短信提醒默认关闭，按类型开启。",
    kind: "类型",
    in_app: "站内",
    always: "始终",
    wechat: "微信",
    sms: "短信",
    wechat_off: "本站未开通微信通知。",
    wechat_unlinked: "你还没有绑定微信，开启后绑定微信才会收到。",
    sms_off: "本站未开通短信通知。",
    save: "保存",
    saved: "已保存",
    back: "返回消息",
};

pub static NOTIFY_EN: Notify = Notify {
    nav: "Inbox",
    unread_label: "unread",
    title: "Notifications",
    empty: "Nothing yet. News about your orders, group-buys, commission and conversations shows up here.",
    mark_all: "Mark all read",
    open: "Open",
    unread: "Unread",
    more: "Older",
    settings: "Settings",
    settings_title: "Notification settings",
    settings_hint: "The inbox keeps everything; WeChat and SMS messages are off until you turn them on per kind.",
    kind: "Kind",
    in_app: "Inbox",
    always: "Always",
    wechat: "WeChat",
    sms: "SMS",
    wechat_off: "This server does not send WeChat messages.",
    wechat_unlinked: "Link WeChat to receive what you turn on here.",
    sms_off: "This server does not send SMS notifications.",
    save: "Save",
    saved: "Saved",
    back: "Back to the inbox",
};
