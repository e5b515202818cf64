//! The strings of WeChat sign-in: the 微信登录 button, the 完成登录 page for a new WeChat
//! identity, and linking / unlinking in 我的. Read in templates as `c.t.wechat().<name>`.

use super::{Strings, ZH};

pub struct WeChat {
    pub sign_in: &'static str,
    pub complete_title: &'static str,
    pub complete_intro: &'static str,
    pub create_new: &'static str,
    pub create_hint: &'static str,
    pub have_account: &'static str,
    pub link_hint: &'static str,
    pub link_and_sign_in: &'static str,
    pub expired: &'static str,
    pub identities_title: &'static str,
    pub none_linked: &'static str,
    pub link: &'static str,
    pub unlink: &'static str,
    pub linked_at: &'static str,
    pub last_sign_in: &'static str,
    pub reauth_password: &'static str,
    pub reauth_wechat: &'static str,
    pub reauth_wechat_ok: &'static str,
    pub linked_ok: &'static str,
    pub unlinked_ok: &'static str,
    pub taken: &'static str,
    pub wrong_password: &'static str,
    pub need_password: &'static str,
    pub last_way_in: &'static str,
    pub sign_in_again: &'static str,
    pub flow_refused: &'static str,
    pub nickname_unknown: &'static str,
    pub my_link: &'static str,
    pub with_phone: &'static str,
    pub with_phone_hint: &'static str,
    pub with_phone_submit: &'static str,
}

impl Strings {
    /// The WeChat sign-in strings of this language.
    pub fn wechat(&self) -> &'static WeChat {
        if std::ptr::eq(self, &ZH) {
            &WECHAT_ZH
        } else {
            &WECHAT_EN
        }
    }
}

pub static WECHAT_ZH: WeChat = WeChat {
    sign_in: "微信登录",
    complete_title: "完成登录",
    complete_intro: "这个微信还没有关联 kith 账号。请选择：",
    create_new: "创建新账号",
    create_hint: "用微信昵称创建一个新账号，以后用微信直接登录。",
    have_account: "已有账号？登录后关联",
    link_hint: "用手机号或邮箱和密码登录，这个微信就关联到你的账号，以后用微信直接登录。",
    link_and_sign_in: "登录并关联",
    expired: "这次微信登录已过期，请重新点「微信登录」。",
    identities_title: "微信关联",
    none_linked: "还没有关联微信。",
    link: "关联微信",
    unlink: "解除关联",
    linked_at: "关联于",
    last_sign_in: "最近微信登录",
    reauth_password: "解除关联需要输入当前密码。",
    reauth_wechat: "你的账号没有密码：解除关联前需要在 10 分钟内用微信登录过一次。",
    reauth_wechat_ok: "你在 10 分钟内用微信登录过，可以解除关联。",
    linked_ok: "已关联微信。",
    unlinked_ok: "已解除关联。",
    taken: "这个微信已关联另一个账号，不能再关联到这里。请先用微信登录那个账号并解除关联。",
    wrong_password: "密码不正确",
    need_password: "请输入当前密码",
    last_way_in: "这是你登录账号的唯一方式，解除后将无法登录。请先设置密码或关联其他登录方式。",
    sign_in_again: "请先重新用微信登录（10 分钟内有效），再解除关联。",
    flow_refused: "微信登录未完成：请求已失效或不是从这个浏览器发起的，请重新点「微信登录」。",
    nickname_unknown: "微信用户",
    my_link: "微信登录与关联",
    with_phone: "用手机验证码继续",
    with_phone_hint: "验证手机号：这个号码已有账号就关联到那个账号，没有就用它创建新账号，手机号一并绑定。",
    with_phone_submit: "验证并继续",
};

pub static WECHAT_EN: WeChat = WeChat {
    sign_in: "Sign in with WeChat",
    complete_title: "Finish signing in",
    complete_intro: "This WeChat account is not linked to a kith account yet. Choose:",
    create_new: "Create a new account",
    create_hint: "A new account named after your WeChat nickname; sign in with WeChat from now on.",
    have_account: "Have an account? Sign in to link it",
    link_hint: "Sign in with your phone or email and password: this WeChat is linked to your account and signs you in from now on.",
    link_and_sign_in: "Sign in and link",
    expired: "This WeChat sign-in has expired; press Sign in with WeChat again.",
    identities_title: "WeChat",
    none_linked: "No WeChat account is linked.",
    link: "Link WeChat",
    unlink: "Unlink",
    linked_at: "Linked",
    last_sign_in: "Last WeChat sign-in",
    reauth_password: "Unlinking asks for your current password.",
    reauth_wechat: "Your account has no password: sign in with WeChat (within 10 minutes) before unlinking.",
    reauth_wechat_ok: "You signed in with WeChat in the last 10 minutes: you may unlink.",
    linked_ok: "WeChat is linked.",
    unlinked_ok: "Unlinked.",
    taken: "This WeChat account is linked to another account and cannot be linked here. Sign in to that account with WeChat and unlink it first.",
    wrong_password: "Wrong password",
    need_password: "Enter your current password",
    last_way_in: "This is the only way to sign in to your account; unlinking it would lock you out. Set a password or link another way first.",
    sign_in_again: "Sign in with WeChat again (valid for 10 minutes), then unlink.",
    flow_refused: "WeChat sign-in did not finish: the request expired or was not started in this browser. Press Sign in with WeChat again.",
    nickname_unknown: "WeChat user",
    my_link: "WeChat sign-in and linking",
    with_phone: "Continue with a text message code",
    with_phone_hint: "Prove your number: if it has an account, WeChat is linked to it; if not, a new account is made with the number bound.",
    with_phone_submit: "Verify and continue",
};
