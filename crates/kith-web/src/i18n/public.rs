//! The strings of the pages a visitor reads without an account: the public home, a shop and
//! a product opened from a friend's link, and the landing of a share link. Read in templates
//! as `c.t.public().<name>`.

use super::{Strings, ZH};

pub struct Public {
    pub nav_home: &'static str,
    pub home_title: &'static str,
    pub home_hint: &'static str,
    pub home_join: &'static str,
    pub shops_here: &'static str,
    pub no_shops: &'static str,
    pub login_to_buy: &'static str,
    pub register_to_buy: &'static str,
    /// Follows the sharer's name: "小美 分享给你".
    pub shared_with_you: &'static str,
    pub shared_invite: &'static str,
    pub have_account: &'static str,
    pub from_price: &'static str,
    pub seats_left: &'static str,
    pub group_of: &'static str,
}

impl Strings {
    /// The strings of the public pages in this language.
    pub fn public(&self) -> &'static Public {
        if std::ptr::eq(self, &ZH) {
            &PUBLIC_ZH
        } else {
            &PUBLIC_EN
        }
    }
}

pub static PUBLIC_ZH: Public = Public {
    nav_home: "首页",
    home_title: "朋友推荐的好物",
    home_hint: "在社群里买朋友信得过的东西，把喜欢的分享给朋友还能赚佣金。",
    home_join: "注册加入",
    shops_here: "店铺",
    no_shops: "还没有开业的店铺",
    login_to_buy: "登录后购买",
    register_to_buy: "注册并购买",
    shared_with_you: "分享给你",
    shared_invite: "通过朋友的链接注册，下单时朋友会得到你的感谢（佣金）。",
    have_account: "已有账号？登录",
    from_price: "起",
    seats_left: "还差",
    group_of: "人团",
};

pub static PUBLIC_EN: Public = Public {
    nav_home: "Home",
    home_title: "What friends recommend",
    home_hint: "Buy what your friends trust inside your communities, and earn when you share what you like.",
    home_join: "Sign up",
    shops_here: "Shops",
    no_shops: "No shop is open yet",
    login_to_buy: "Sign in to buy",
    register_to_buy: "Sign up and buy",
    shared_with_you: "shared this with you",
    shared_invite: "Sign up through your friend's link; they are thanked (with commission) when you buy.",
    have_account: "Have an account? Sign in",
    from_price: "from",
    seats_left: "seats left:",
    group_of: "-person group",
};
