//! The strings of the home page's shelves (search bar, categories, 好友推荐, people to
//! follow, communities to join) and of a category's page. Read in templates as
//! `c.t.home().<name>`; counts through the methods, which put the number where each
//! language wants it.

use super::{Strings, ZH};

pub struct Home {
    pub search_placeholder: &'static str,
    pub search_button: &'static str,
    pub categories: &'static str,
    pub recommended: &'static str,
    pub recommended_hint: &'static str,
    pub people: &'static str,
    pub follow: &'static str,
    pub communities: &'static str,
    pub all_communities: &'static str,
    pub welcome: &'static str,
    pub welcome_hint: &'static str,
    pub category_empty: &'static str,
    pub category_label: &'static str,
    pub back_home: &'static str,
    pub by_approval: &'static str,
    /// Between the recommending friends' names: "、" or ", ".
    pub name_sep: &'static str,
    zh: bool,
}

impl Home {
    /// "3 位好友推荐".
    pub fn friends_recommend(&self, n: &i64) -> String {
        if self.zh {
            format!("{n} 位好友推荐")
        } else if *n == 1 {
            "1 friend recommends".into()
        } else {
            format!("{n} friends recommend")
        }
    }

    /// Why someone is suggested: mutual friends, shared communities, or followers.
    pub fn person_reason(&self, mutual: &i64, shared: &i64, followers: &i64) -> String {
        let mut parts = Vec::new();
        if *mutual > 0 {
            parts.push(if self.zh {
                format!("{mutual} 位共同好友")
            } else {
                format!("{mutual} mutual friends")
            });
        }
        if *shared > 0 {
            parts.push(if self.zh {
                format!("同在 {shared} 个社群")
            } else {
                format!("{shared} communities in common")
            });
        }
        if *followers > 0 {
            parts.push(if self.zh {
                format!("{followers} 人关注")
            } else {
                format!("{followers} followers")
            });
        }
        parts.join(" · ")
    }

    /// "12 位成员 · 2 位好友在这里".
    pub fn community_counts(&self, members: &i64, friends: &i64) -> String {
        let mut s = if self.zh {
            format!("{members} 位成员")
        } else {
            format!("{members} members")
        };
        if *friends > 0 {
            s.push_str(&if self.zh {
                format!(" · {friends} 位好友在这里")
            } else {
                format!(" · {friends} friends are here")
            });
        }
        s
    }

    /// "茅台镇酱香酒坊的社群".
    pub fn run_by(&self, shop: &str) -> String {
        if self.zh {
            format!("{shop}的社群")
        } else {
            format!("Run by {shop}")
        }
    }
}

impl Strings {
    /// The strings of the home page's shelves in this language.
    pub fn home(&self) -> &'static Home {
        if std::ptr::eq(self, &ZH) {
            &HOME_ZH
        } else {
            &HOME_EN
        }
    }
}

pub static HOME_ZH: Home = Home {
    search_placeholder: "搜索商品",
    search_button: "搜索",
    categories: "分类",
    recommended: "好友推荐",
    recommended_hint: "好友买过并好评、晒过或点赞过的好物",
    people: "你可能认识的人",
    follow: "关注",
    communities: "推荐加入的社群",
    all_communities: "全部社群",
    welcome: "欢迎加入！",
    welcome_hint: "关注几位朋友、加入一个社群，他们的动态和推荐会出现在这里。",
    category_empty: "这个分类下暂时没有在售的商品。",
    category_label: "分类",
    back_home: "返回首页",
    by_approval: "需审核",
    name_sep: "、",
    zh: true,
};

pub static HOME_EN: Home = Home {
    search_placeholder: "Search products",
    search_button: "Search",
    categories: "Categories",
    recommended: "Recommended by friends",
    recommended_hint: "What your friends bought and rated well, posted about or liked",
    people: "People you may know",
    follow: "Follow",
    communities: "Communities to join",
    all_communities: "All communities",
    welcome: "Welcome!",
    welcome_hint: "Follow a few friends and join a community: their posts and picks show up here.",
    category_empty: "Nothing is on sale in this category yet.",
    category_label: "Category",
    back_home: "Back to the home page",
    by_approval: "by approval",
    name_sep: ", ",
    zh: false,
};
