//! Every string the pages show, once per language. zh-CN is the default; `?lang=en` (or the
//! `kith_lang` cookie it sets) switches to English. A page never holds text of its own: it
//! reads `c.t.<name>`, so adding a language is adding one more `Strings` value.

/// The languages the pages speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "zh" | "zh-CN" => Some(Self::Zh),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Zh => "zh",
            Self::En => "en",
        }
    }

    pub fn html_lang(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }

    /// The other language, for the switch link.
    pub fn other(self) -> Self {
        match self {
            Self::Zh => Self::En,
            Self::En => Self::Zh,
        }
    }

    pub fn strings(self) -> &'static Strings {
        match self {
            Self::Zh => &ZH,
            Self::En => &EN,
        }
    }
}

pub struct Strings {
    pub app_name: &'static str,
    pub switch_lang: &'static str,
    pub nav_feed: &'static str,
    pub nav_shops: &'static str,
    pub nav_communities: &'static str,
    pub nav_orders: &'static str,
    pub nav_me: &'static str,
    pub nav_console: &'static str,
    pub nav_clerk: &'static str,
    pub nav_admin: &'static str,
    pub nav_search: &'static str,
    pub search_hint: &'static str,
    pub search_scope: &'static str,
    pub search_type: &'static str,
    /// (value, label) of each search scope.
    pub scopes: [(&'static str, &'static str); 4],
    /// (value, label) of each kind of search result.
    pub targets: [(&'static str, &'static str); 4],
    pub who_wrote: &'static str,
    pub results: &'static str,
    pub mutual_friends: &'static str,
    pub friend: &'static str,
    pub nav_wallet: &'static str,
    pub nav_groupbuy: &'static str,
    pub login: &'static str,
    pub logout: &'static str,
    pub register: &'static str,
    pub login_id: &'static str,
    pub phone: &'static str,
    pub password: &'static str,
    pub display_name: &'static str,
    pub no_account: &'static str,
    pub have_account: &'static str,
    pub demo_hint: &'static str,
    // SMS sign-in (member/sms.rs)
    pub sms_login: &'static str,
    pub sms_code: &'static str,
    pub sms_get_code: &'static str,
    pub sms_sent: &'static str,
    pub sms_new_number: &'static str,
    pub sms_demo_hint: &'static str,
    pub sms_demo_code: &'static str,
    pub sms_bad_phone: &'static str,
    pub sms_bad_code: &'static str,
    pub sms_wrong_code: &'static str,
    pub sms_too_many: &'static str,
    pub sms_unavailable: &'static str,
    pub phone_title: &'static str,
    pub phone_bound_now: &'static str,
    pub phone_none: &'static str,
    pub phone_bind_hint: &'static str,
    pub phone_bind: &'static str,
    pub phone_change: &'static str,
    pub phone_taken: &'static str,
    pub phone_registered: &'static str,
    pub password_login: &'static str,
    pub password_login_hint: &'static str,
    pub weak_password: &'static str,
    /// Shown when a login or sign-up must solve a challenge first.
    pub challenge_needed: &'static str,
    pub challenge_solving: &'static str,
    pub challenge_solved: &'static str,
    pub challenge_failed: &'static str,
    pub error_title: &'static str,
    pub back: &'static str,
    pub feed_title: &'static str,
    pub feed_empty: &'static str,
    pub write_post: &'static str,
    pub like: &'static str,
    pub unlike: &'static str,
    /// The words a share link inside a post is shown as.
    pub open_share: &'static str,
    pub comments: &'static str,
    pub add_comment: &'static str,
    pub send: &'static str,
    pub no_comments: &'static str,
    pub more: &'static str,
    pub post_body: &'static str,
    pub visibility: &'static str,
    pub vis_public: &'static str,
    pub vis_friends: &'static str,
    pub vis_community: &'static str,
    pub community: &'static str,
    pub none: &'static str,
    pub image: &'static str,
    pub tag_product: &'static str,
    pub publish: &'static str,
    pub tagged_products: &'static str,
    pub shops_title: &'static str,
    pub products_n: &'static str,
    pub price_list: &'static str,
    pub price_yours: &'static str,
    pub quantity: &'static str,
    pub add_to_cart: &'static str,
    pub buy_now: &'static str,
    pub sold: &'static str,
    pub cart: &'static str,
    pub cart_empty: &'static str,
    pub remove: &'static str,
    pub update: &'static str,
    pub checkout: &'static str,
    pub delivery: &'static str,
    pub delivery_shipping: &'static str,
    pub delivery_pickup: &'static str,
    pub pickup_store: &'static str,
    pub address: &'static str,
    pub addr_name: &'static str,
    pub addr_province: &'static str,
    pub addr_city: &'static str,
    pub addr_district: &'static str,
    pub addr_detail: &'static str,
    pub place_order: &'static str,
    /// A checkout refused for stock: no `{}`.
    pub checkout_no_stock: &'static str,
    /// A checkout refused by the per-member hold limits: `{orders}` and `{units}`.
    pub checkout_hold_limit: &'static str,
    pub reviews: &'static str,
    pub no_reviews: &'static str,
    pub orders_title: &'static str,
    pub orders_empty: &'static str,
    pub order: &'static str,
    pub status: &'static str,
    pub total: &'static str,
    pub goods: &'static str,
    pub shipping_fee: &'static str,
    pub cart_sum: &'static str,
    pub cart_sum_hint: &'static str,
    pub pay_wallet: &'static str,
    pub pay_sandbox: &'static str,
    pub pay_by: &'static str,
    pub cancel_order: &'static str,
    pub confirm_receipt: &'static str,
    pub pickup_code: &'static str,
    pub pickup_code_hint: &'static str,
    pub carrier: &'static str,
    pub tracking_no: &'static str,
    pub tracking_title: &'static str,
    pub history: &'static str,
    pub communities_title: &'static str,
    pub members_n: &'static str,
    pub join: &'static str,
    pub joined: &'static str,
    pub join_pending: &'static str,
    pub invite_only: &'static str,
    pub community_posts: &'static str,
    pub me_title: &'static str,
    pub wallet_balance: &'static str,
    pub topup: &'static str,
    pub topup_amount: &'static str,
    pub my_posts: &'static str,
    pub friends_n: &'static str,
    pub followers_n: &'static str,
    pub following_n: &'static str,
    pub console_title: &'static str,
    pub console_none: &'static str,
    pub apply_merchant: &'static str,
    pub merchant_name: &'static str,
    pub description: &'static str,
    pub submit: &'static str,
    pub applied: &'static str,
    pub dashboard: &'static str,
    pub gmv: &'static str,
    pub buyers: &'static str,
    pub active_products: &'static str,
    pub stores: &'static str,
    pub products: &'static str,
    pub orders: &'static str,
    pub new_product: &'static str,
    pub product_name: &'static str,
    pub create: &'static str,
    pub skus: &'static str,
    pub sku_code: &'static str,
    pub spec: &'static str,
    pub add_sku: &'static str,
    pub tier_prices: &'static str,
    pub tier: &'static str,
    pub set_price: &'static str,
    pub price_yuan: &'static str,
    pub stock: &'static str,
    pub location: &'static str,
    pub on_hand: &'static str,
    pub reserved: &'static str,
    pub adjust_by: &'static str,
    pub adjust: &'static str,
    pub activate: &'static str,
    pub archive: &'static str,
    pub all: &'static str,
    pub ship: &'static str,
    pub refund: &'static str,
    pub refund_reason: &'static str,
    pub ready_for_pickup: &'static str,
    pub buyer_address: &'static str,
    pub new_store: &'static str,
    pub store_name: &'static str,
    pub address_line: &'static str,
    pub latitude: &'static str,
    pub longitude: &'static str,
    pub opens: &'static str,
    pub closes: &'static str,
    pub clerks: &'static str,
    pub invite_clerk: &'static str,
    pub invite_code: &'static str,
    pub owned_communities: &'static str,
    pub clerk_title: &'static str,
    pub redeem: &'static str,
    pub redeem_code: &'static str,
    pub redeemed: &'static str,
    pub todays_pickups: &'static str,
    pub no_pickups: &'static str,
    pub admin_title: &'static str,
    pub applications: &'static str,
    pub no_applications: &'static str,
    pub approve: &'static str,
    pub reject: &'static str,
    pub reject_reason: &'static str,
    pub approved_list: &'static str,
}

impl Strings {
    /// An order status, in words.
    pub fn order_status(&self, s: &str) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        let (z, e) = match s {
            "pending_payment" => ("待付款", "Awaiting payment"),
            "paid" => ("已付款", "Paid"),
            "awaiting_group" => ("待成团", "Awaiting group"),
            "fulfilling" => ("待发货", "To ship"),
            "shipped" => ("已发货", "Shipped"),
            "ready_for_pickup" => ("待自提", "Ready for pickup"),
            "delivered" => ("已签收", "Delivered"),
            "picked_up" => ("已自提", "Picked up"),
            "completed" => ("已完成", "Completed"),
            "cancelled" => ("已取消", "Cancelled"),
            "refunded" => ("已退款", "Refunded"),
            _ => ("未知", "Unknown"),
        };
        if zh { z } else { e }
    }

    /// An order's status as its badge says it: a paid 接龙 join waits for the batch's
    /// cut-off, not for a group (`batch`: the order joined a 接龙 batch).
    pub fn order_badge(&self, s: &str, batch: bool) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        match s {
            "awaiting_group" if batch => {
                if zh {
                    "已接龙，等待截单"
                } else {
                    "Joined, awaiting cut-off"
                }
            }
            _ => self.order_status(s),
        }
    }

    /// A product's status, in words.
    pub fn product_status(&self, s: &str) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        let (z, e) = match s {
            "draft" => ("草稿", "Draft"),
            "active" => ("在售", "On sale"),
            "archived" => ("已下架", "Archived"),
            _ => ("未知", "Unknown"),
        };
        if zh { z } else { e }
    }

    /// A merchant's application status, in words.
    pub fn merchant_status(&self, s: &str) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        let (z, e) = match s {
            "pending" => ("审核中", "Under review"),
            "approved" => ("已开通", "Approved"),
            "rejected" => ("未通过", "Rejected"),
            _ => ("未知", "Unknown"),
        };
        if zh { z } else { e }
    }

    /// A role at a merchant or store, in words.
    pub fn staff_role(&self, s: &str) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        let (z, e) = match s {
            "owner" => ("店主", "Owner"),
            "manager" => ("管理员", "Manager"),
            "clerk" => ("店员", "Clerk"),
            _ => ("未知", "Unknown"),
        };
        if zh { z } else { e }
    }

    /// An order event's note in the page's language: the notes the system writes
    /// (`kith_app::commerce::orders::notes`) are said in words; a note a person typed (a
    /// refund's reason) is shown as typed.
    pub fn order_note(&self, note: &str) -> String {
        use kith_app::commerce::orders::notes;
        let zh = std::ptr::eq(self, &ZH);
        if let Some(carrier) = note.strip_suffix(notes::DELIVERED_SUFFIX) {
            let name = self.carrier_name(carrier);
            return if zh {
                format!("{name}：已签收")
            } else {
                format!("{name}: delivered")
            };
        }
        let (z, e) = match note {
            notes::PICKED_UP => ("已到店自提", "Picked up"),
            notes::AFTERSALE_WINDOW_CLOSED => ("售后期已结束", "After-sale window closed"),
            notes::UNPAID_AT_DEADLINE => ("超时未付款，已自动取消", "Unpaid at the deadline"),
            notes::CANCELLED_BY_BUYER => ("买家已取消", "Cancelled by the buyer"),
            notes::RECEIPT_AUTO_CONFIRMED => {
                ("超时自动确认收货", "Receipt confirmed automatically")
            }
            notes::BATCH_CUT_OFF_UNPAID => {
                ("接龙截单时未付款，已取消", "Unpaid at the 接龙 cut-off")
            }
            "refunded" => ("已退款", "Refunded"),
            other => {
                return match notes::shipment_of(other) {
                    Some((carrier, tracking)) => {
                        format!("{} {tracking}", self.carrier_name(carrier))
                    }
                    None => other.to_owned(),
                };
            }
        };
        (if zh { z } else { e }).to_owned()
    }

    /// `seconds` ago in words (刚刚 under a minute, then minutes, hours, days), or `None`
    /// past a week or in the future, where a date says it better.
    pub fn ago(&self, seconds: i64) -> Option<String> {
        let zh = std::ptr::eq(self, &ZH);
        let (n, zh_unit, en_unit) = match seconds {
            s if !(0..7 * 86_400).contains(&s) => return None,
            s if s < 60 => return Some(if zh { "刚刚" } else { "just now" }.to_owned()),
            s if s < 3_600 => (s / 60, "分钟前", "min ago"),
            s if s < 86_400 => (s / 3_600, "小时前", "h ago"),
            s => (s / 86_400, "天前", "d ago"),
        };
        Some(if zh {
            format!("{n} {zh_unit}")
        } else {
            format!("{n} {en_unit}")
        })
    }

    /// The words of 我的 → 时区.
    pub fn tz_word(&self, key: &str) -> &'static str {
        let (z, e) = match key {
            "title" => ("时区", "Time zone"),
            "save" => ("保存时区", "Save the time zone"),
            "hint" => (
                "页面上的时间都按这个时区显示；在商家后台填写的时间仍按北京时间。",
                "Every time on the pages shows in this zone; times typed in the shop console are still Beijing time.",
            ),
            _ => ("", ""),
        };
        if std::ptr::eq(self, &ZH) { z } else { e }
    }

    /// The order page's way to what the order belongs to: its 拼团 (`group`) or its 接龙
    /// (`batch`).
    pub fn order_link(&self, key: &str) -> &'static str {
        let (z, e) = match key {
            "group" => ("查看拼团进度", "See the group's progress"),
            "batch" => ("查看接龙", "See the 接龙"),
            _ => ("", ""),
        };
        if std::ptr::eq(self, &ZH) { z } else { e }
    }

    /// Who moved an order, in words.
    pub fn actor(&self, s: &str) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        let (z, e) = match s {
            "buyer" => ("买家", "Buyer"),
            "staff" => ("商家", "Shop staff"),
            "clerk" => ("门店店员", "Store clerk"),
            "system" => ("系统", "System"),
            "gateway" => ("支付渠道", "Payment gateway"),
            "carrier" => ("快递公司", "Carrier"),
            _ => ("未知", "Unknown"),
        };
        if zh { z } else { e }
    }

    /// A tracking event's status in words (运输中, 派送中, 已签收, 异常).
    pub fn tracking_status(&self, status: &str) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        let (z, e) = match status {
            "in_transit" => ("运输中", "In transit"),
            "out_for_delivery" => ("派送中", "Out for delivery"),
            "delivered" => ("已签收", "Delivered"),
            "exception" => ("异常", "Exception"),
            _ => ("物流更新", "Update"),
        };
        if zh { z } else { e }
    }

    /// A carrier by its code: the well-known ones by name, any other as its code.
    pub fn carrier_name(&self, code: &str) -> String {
        let zh = std::ptr::eq(self, &ZH);
        let known = match code.to_ascii_lowercase().as_str() {
            "sf" => Some(("顺丰速运", "SF Express")),
            "zto" => Some(("中通快递", "ZTO Express")),
            "yto" => Some(("圆通速递", "YTO Express")),
            "sto" => Some(("申通快递", "STO Express")),
            "yd" | "yunda" => Some(("韵达快递", "Yunda Express")),
            "jd" => Some(("京东物流", "JD Logistics")),
            "ems" => Some(("中国邮政 EMS", "China Post EMS")),
            "sandbox" => Some(("模拟快递（演示）", "Sandbox carrier (demo)")),
            _ => None,
        };
        match known {
            Some((z, e)) => (if zh { z } else { e }).to_owned(),
            None => code.to_owned(),
        }
    }

    /// How close someone is, in words.
    pub fn closeness(&self, s: &str) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        let (z, e) = match s {
            "friend" => ("好友", "Friend"),
            "community" => ("同社群", "Same community"),
            "friend_of_friend" => ("好友的好友", "Friend of a friend"),
            _ => ("其他", "Other"),
        };
        if zh { z } else { e }
    }

    /// A community's join policy, in words.
    pub fn join_policy(&self, s: &str) -> &'static str {
        let zh = std::ptr::eq(self, &ZH);
        let (z, e) = match s {
            "open" => ("公开加入", "Open"),
            "approval" => ("需审核", "Approval"),
            "invite_only" => ("仅限邀请", "Invite only"),
            _ => ("未知", "Unknown"),
        };
        if zh { z } else { e }
    }
}

pub static ZH: Strings = Strings {
    app_name: "邻里 kith",
    switch_lang: "English",
    nav_feed: "动态",
    nav_shops: "好物",
    nav_communities: "社群",
    nav_orders: "订单",
    nav_me: "我的",
    nav_console: "商家后台",
    nav_clerk: "门店核销",
    nav_admin: "平台管理",
    nav_search: "搜索",
    search_hint: "搜索 减肥、宝宝辅食、白酒…",
    search_scope: "范围",
    search_type: "类型",
    scopes: [
        ("friends", "好友"),
        ("following", "关注"),
        ("communities", "我的社群"),
        ("everyone", "所有人"),
    ],
    targets: [
        ("posts", "动态"),
        ("products", "商品"),
        ("communities", "社群"),
        ("people", "人"),
    ],
    who_wrote: "谁在聊这个",
    results: "条结果",
    mutual_friends: "位共同好友",
    friend: "好友",
    nav_wallet: "钱包与团队",
    nav_groupbuy: "我的拼团",
    login: "登录",
    logout: "退出",
    register: "注册",
    login_id: "手机号或邮箱",
    phone: "手机号",
    password: "密码",
    display_name: "昵称",
    no_account: "还没有账号？",
    have_account: "已有账号？",
    demo_hint: "演示账号见启动时打印的列表，密码 kith-demo-2026",
    sms_login: "手机验证码登录",
    sms_code: "验证码",
    sms_get_code: "获取验证码",
    sms_sent: "验证码已发送，5 分钟内有效。",
    sms_new_number: "新手机号登录即注册。",
    sms_demo_hint: "演示环境：验证码不会真的发短信，获取后显示在这里（也在服务器日志里）。",
    sms_demo_code: "演示环境验证码：",
    sms_bad_phone: "请输入正确的手机号（11 位，1 开头）",
    sms_bad_code: "请输入 6 位数字验证码",
    sms_wrong_code: "验证码不对或已过期，请重新获取",
    sms_too_many: "请求太频繁，请稍后再试（秒）：",
    sms_unavailable: "短信暂时发不出去，请稍后再试，或用密码登录",
    phone_title: "手机号",
    phone_bound_now: "已绑定：",
    phone_none: "还没有绑定手机号。绑定后可以用手机验证码登录，也能收到短信通知。",
    phone_bind_hint: "输入手机号获取验证码，验证后绑定到你的账号。",
    phone_bind: "绑定",
    phone_change: "更换手机号",
    phone_taken: "这个手机号已经是另一个账号的了，请用它以验证码登录",
    phone_registered: "这个手机号已注册，请直接登录（可用验证码登录）",
    password_login: "密码登录",
    password_login_hint: "已设置密码？也可以用密码登录",
    weak_password: "密码太容易被猜到，请换一个更长、更少见的密码",
    challenge_needed: "为保护账户安全，这次需要先完成一道自动验证（浏览器几秒内完成），然后请再提交一次。",
    challenge_solving: "正在进行安全验证，请稍候…",
    challenge_solved: "验证完成，请提交。",
    challenge_failed: "这个浏览器无法完成验证，请换用最新版浏览器并通过 HTTPS 打开。",
    error_title: "出错了",
    back: "返回",
    feed_title: "好友动态",
    feed_empty: "还没有动态。关注好友、加入社群后，这里会热闹起来。",
    write_post: "发动态",
    like: "赞",
    unlike: "取消赞",
    open_share: "🔗 查看分享的好物",
    comments: "评论",
    add_comment: "写评论…",
    send: "发送",
    no_comments: "还没有评论",
    more: "更多",
    post_body: "想说点什么？",
    visibility: "谁可以看",
    vis_public: "公开",
    vis_friends: "仅好友",
    vis_community: "社群内",
    community: "社群",
    none: "无",
    image: "图片",
    tag_product: "标记商品",
    publish: "发布",
    tagged_products: "提到的商品",
    shops_title: "好物商家",
    products_n: "件商品",
    price_list: "原价",
    price_yours: "你的价格",
    quantity: "数量",
    add_to_cart: "加入购物车",
    buy_now: "立即购买",
    sold: "已售",
    cart: "购物车",
    cart_empty: "购物车是空的",
    remove: "移除",
    update: "更新",
    checkout: "结算",
    delivery: "配送方式",
    delivery_shipping: "快递到家",
    delivery_pickup: "门店自提",
    pickup_store: "自提门店",
    address: "收货地址",
    addr_name: "收货人",
    addr_province: "省",
    addr_city: "市",
    addr_district: "区",
    addr_detail: "详细地址",
    place_order: "提交订单",
    checkout_no_stock: "库存不足，请减少数量后再提交。",
    checkout_hold_limit: "超出限购：每人在一家店最多有 {orders} 笔待付款订单，同一商品待付款最多 {units} 件。请先支付或取消已有订单。",
    reviews: "评价",
    no_reviews: "暂无评价",
    orders_title: "我的订单",
    orders_empty: "还没有订单",
    order: "订单",
    status: "状态",
    total: "合计",
    goods: "商品",
    shipping_fee: "运费",
    cart_sum: "合计",
    cart_sum_hint: "（快递到家；到店自提不收运费，积分抵扣下单时计算）",
    pay_wallet: "余额支付",
    pay_sandbox: "沙箱网关支付",
    pay_by: "支付方式",
    cancel_order: "取消订单",
    confirm_receipt: "确认收货",
    pickup_code: "提货码",
    pickup_code_hint: "到店出示提货码，店员核销后即可取货",
    carrier: "快递公司",
    tracking_no: "运单号",
    tracking_title: "物流信息",
    history: "订单记录",
    communities_title: "社群",
    members_n: "位成员",
    join: "加入",
    joined: "已加入",
    join_pending: "审核中",
    invite_only: "需邀请链接",
    community_posts: "社群动态",
    me_title: "我的",
    wallet_balance: "钱包余额",
    topup: "充值（沙箱网关）",
    topup_amount: "充值金额（元）",
    my_posts: "我的动态",
    friends_n: "好友",
    followers_n: "粉丝",
    following_n: "关注",
    console_title: "商家后台",
    console_none: "你还不是任何商家的员工。",
    apply_merchant: "申请开店",
    merchant_name: "商家名称",
    description: "简介",
    submit: "提交",
    applied: "申请已提交，等待平台审核",
    dashboard: "概览",
    gmv: "成交额（扣除退款）",
    buyers: "付款顾客",
    active_products: "在售商品",
    stores: "门店",
    products: "商品",
    orders: "订单",
    new_product: "新建商品",
    product_name: "商品名称",
    create: "创建",
    skus: "规格（SKU）",
    sku_code: "SKU 编码",
    spec: "规格",
    add_sku: "添加规格",
    tier_prices: "会员价",
    tier: "等级",
    set_price: "设置价格",
    price_yuan: "价格（元）",
    stock: "库存",
    location: "仓库/门店",
    on_hand: "在库",
    reserved: "已锁定",
    adjust_by: "增减数量",
    adjust: "调整",
    activate: "上架",
    archive: "下架",
    all: "全部",
    ship: "发货",
    refund: "退款",
    refund_reason: "退款原因",
    ready_for_pickup: "备货完成，通知自提",
    buyer_address: "收货信息",
    new_store: "新建门店",
    store_name: "门店名称",
    address_line: "地址",
    latitude: "纬度",
    longitude: "经度",
    opens: "每天开门",
    closes: "每天关门",
    clerks: "店员",
    invite_clerk: "邀请店员",
    invite_code: "邀请码（发给店员，在“我的”页面接受）",
    owned_communities: "商家社群",
    clerk_title: "门店核销",
    redeem: "核销",
    redeem_code: "8 位提货码",
    redeemed: "核销成功",
    todays_pickups: "待自提订单",
    no_pickups: "暂无待自提订单",
    admin_title: "平台管理",
    applications: "待审核的开店申请",
    no_applications: "没有待审核的申请",
    approve: "通过",
    reject: "驳回",
    reject_reason: "驳回原因",
    approved_list: "已入驻商家",
};

pub static EN: Strings = Strings {
    app_name: "kith",
    switch_lang: "中文",
    nav_feed: "Feed",
    nav_shops: "Shops",
    nav_communities: "Communities",
    nav_orders: "Orders",
    nav_me: "Me",
    nav_console: "Merchant console",
    nav_clerk: "Store pickups",
    nav_admin: "Admin",
    nav_search: "Search",
    search_hint: "Search 减肥, 宝宝辅食, 白酒…",
    search_scope: "Scope",
    search_type: "Type",
    scopes: [
        ("friends", "Friends"),
        ("following", "Following"),
        ("communities", "My communities"),
        ("everyone", "Everyone"),
    ],
    targets: [
        ("posts", "Posts"),
        ("products", "Products"),
        ("communities", "Communities"),
        ("people", "People"),
    ],
    who_wrote: "Who is talking about it",
    results: "results",
    mutual_friends: "mutual friends",
    friend: "Friend",
    nav_wallet: "Wallet & team",
    nav_groupbuy: "My group-buys",
    login: "Log in",
    logout: "Log out",
    register: "Sign up",
    login_id: "Phone or email",
    phone: "Phone",
    password: "Password",
    display_name: "Display name",
    no_account: "No account yet?",
    have_account: "Already have an account?",
    demo_hint: "Demo logins are printed at start-up; the password is kith-demo-2026",
    sms_login: "Sign in with a text message code",
    sms_code: "Code",
    sms_get_code: "Get a code",
    sms_sent: "Code sent; it works for 5 minutes.",
    sms_new_number: "A new number signs up as it signs in.",
    sms_demo_hint: "Demo: no text message is really sent; the code shows here once asked for (and in the server log).",
    sms_demo_code: "Demo code:",
    sms_bad_phone: "Enter a mainland mobile number (11 digits starting with 1)",
    sms_bad_code: "Enter the 6 digits of the code",
    sms_wrong_code: "Wrong or expired code; get a new one",
    sms_too_many: "Too many requests; try again in (seconds):",
    sms_unavailable: "Text messages cannot be sent right now; try later or use your password",
    phone_title: "Phone number",
    phone_bound_now: "Bound:",
    phone_none: "No phone number yet. With one you can sign in by text message code and get text notifications.",
    phone_bind_hint: "Enter the number, get a code, and bind it once it is verified.",
    phone_bind: "Bind",
    phone_change: "Change number",
    phone_taken: "This number belongs to another account; sign in with it by code instead",
    phone_registered: "This number is registered already; sign in (a text message code works)",
    password_login: "Password sign-in",
    password_login_hint: "Set a password? You can sign in with it too",
    weak_password: "This password is too easy to guess; choose a longer, less common one",
    challenge_needed: "To protect the account, this attempt must first pass an automatic check (your browser solves it in a few seconds); then submit again.",
    challenge_solving: "Running a security check, one moment…",
    challenge_solved: "Check passed: submit.",
    challenge_failed: "This browser cannot run the check: use an up-to-date browser over HTTPS.",
    error_title: "Something went wrong",
    back: "Back",
    feed_title: "Friends' feed",
    feed_empty: "Nothing here yet. Follow friends and join communities to fill your feed.",
    write_post: "New post",
    like: "Like",
    unlike: "Unlike",
    open_share: "🔗 Open the shared item",
    comments: "Comments",
    add_comment: "Write a comment…",
    send: "Send",
    no_comments: "No comments yet",
    more: "More",
    post_body: "What's on your mind?",
    visibility: "Who can see it",
    vis_public: "Public",
    vis_friends: "Friends",
    vis_community: "Community",
    community: "Community",
    none: "None",
    image: "Image",
    tag_product: "Tag a product",
    publish: "Publish",
    tagged_products: "Products mentioned",
    shops_title: "Shops",
    products_n: "products",
    price_list: "List price",
    price_yours: "Your price",
    quantity: "Quantity",
    add_to_cart: "Add to cart",
    buy_now: "Buy now",
    sold: "Sold",
    cart: "Cart",
    cart_empty: "Your cart is empty",
    remove: "Remove",
    update: "Update",
    checkout: "Check out",
    delivery: "Delivery",
    delivery_shipping: "Ship to me",
    delivery_pickup: "Pick up in store",
    pickup_store: "Pickup store",
    address: "Shipping address",
    addr_name: "Recipient",
    addr_province: "Province",
    addr_city: "City",
    addr_district: "District",
    addr_detail: "Street address",
    place_order: "Place order",
    checkout_no_stock: "Not enough stock: lower the quantity and try again.",
    checkout_hold_limit: "Over the limit: at most {orders} unpaid orders at one shop and {units} of one item waiting unpaid per member. Pay for or cancel an order first.",
    reviews: "Reviews",
    no_reviews: "No reviews yet",
    orders_title: "My orders",
    orders_empty: "No orders yet",
    order: "Order",
    status: "Status",
    total: "Total",
    goods: "Goods",
    shipping_fee: "Shipping",
    cart_sum: "Total",
    cart_sum_hint: "(delivered; store pickup ships free, points are taken off at checkout)",
    pay_wallet: "Pay from wallet",
    pay_sandbox: "Pay via sandbox gateway",
    pay_by: "Payment",
    cancel_order: "Cancel order",
    confirm_receipt: "Confirm receipt",
    pickup_code: "Pickup code",
    pickup_code_hint: "Show this code in the store; the clerk redeems it and hands over your order",
    carrier: "Carrier",
    tracking_no: "Tracking number",
    tracking_title: "Tracking",
    history: "History",
    communities_title: "Communities",
    members_n: "members",
    join: "Join",
    joined: "Joined",
    join_pending: "Pending approval",
    invite_only: "Invite link needed",
    community_posts: "Community posts",
    me_title: "Me",
    wallet_balance: "Wallet balance",
    topup: "Top up (sandbox gateway)",
    topup_amount: "Amount to top up (yuan)",
    my_posts: "My posts",
    friends_n: "Friends",
    followers_n: "Followers",
    following_n: "Following",
    console_title: "Merchant console",
    console_none: "You are not staff of any merchant.",
    apply_merchant: "Open a shop",
    merchant_name: "Shop name",
    description: "Description",
    submit: "Submit",
    applied: "Application sent; the platform will review it",
    dashboard: "Dashboard",
    gmv: "GMV (net of refunds)",
    buyers: "Paying buyers",
    active_products: "Products on sale",
    stores: "Stores",
    products: "Products",
    orders: "Orders",
    new_product: "New product",
    product_name: "Product name",
    create: "Create",
    skus: "SKUs",
    sku_code: "SKU code",
    spec: "Spec",
    add_sku: "Add SKU",
    tier_prices: "Tier prices",
    tier: "Tier",
    set_price: "Set price",
    price_yuan: "Price (yuan)",
    stock: "Stock",
    location: "Location",
    on_hand: "On hand",
    reserved: "Reserved",
    adjust_by: "Change by",
    adjust: "Adjust",
    activate: "Put on sale",
    archive: "Take off sale",
    all: "All",
    ship: "Ship",
    refund: "Refund",
    refund_reason: "Refund reason",
    ready_for_pickup: "Packed: notify for pickup",
    buyer_address: "Ship to",
    new_store: "New store",
    store_name: "Store name",
    address_line: "Address",
    latitude: "Latitude",
    longitude: "Longitude",
    opens: "Opens daily",
    closes: "Closes daily",
    clerks: "Clerks",
    invite_clerk: "Invite a clerk",
    invite_code: "Invitation code (the clerk accepts it on their Me page)",
    owned_communities: "Shop communities",
    clerk_title: "Store pickups",
    redeem: "Redeem",
    redeem_code: "8-digit pickup code",
    redeemed: "Redeemed",
    todays_pickups: "Orders waiting for pickup",
    no_pickups: "No orders waiting for pickup",
    admin_title: "Platform admin",
    applications: "Merchant applications",
    no_applications: "No pending applications",
    approve: "Approve",
    reject: "Reject",
    reject_reason: "Reason for rejection",
    approved_list: "Trading merchants",
};

pub mod activities;
pub mod addresses;
pub mod aftersale;
pub mod console;
pub mod desk;
pub mod flash;
pub mod group_buy;
pub mod home;
pub mod neighbourhood;
pub mod notify;
pub mod pictures;
pub mod points;
pub mod promotions;
pub mod public;
pub mod rails;
pub mod reconcile;
pub mod refunds;
pub mod refusals;
pub mod settlement;
pub mod social;
pub mod wechat;

#[cfg(test)]
mod tests {
    use super::{EN, ZH};

    #[test]
    fn the_systems_order_notes_read_as_words_and_typed_ones_stay() {
        use kith_app::commerce::orders::notes;
        for note in [
            notes::CANCELLED_BY_BUYER,
            notes::UNPAID_AT_DEADLINE,
            notes::RECEIPT_AUTO_CONFIRMED,
            notes::AFTERSALE_WINDOW_CLOSED,
            notes::PICKED_UP,
            notes::BATCH_CUT_OFF_UNPAID,
        ] {
            let zh = ZH.order_note(note);
            assert!(zh != note && !zh.is_ascii(), "{note} → {zh}");
            assert_ne!(EN.order_note(note), note);
        }
        assert_eq!(ZH.order_note("sf: delivered"), "顺丰速运：已签收");
        assert_eq!(
            ZH.order_note(&notes::shipped("sf", "SF0006000004")),
            "顺丰速运 SF0006000004"
        );
        assert_eq!(EN.order_note("zto 7788"), "ZTO Express 7788");
        // An unknown carrier keeps its code; a typed note of other words stays as typed.
        assert_eq!(ZH.order_note("deppon DP123"), "deppon DP123");
        assert_eq!(ZH.order_note("Sorry, out of stock"), "Sorry, out of stock");
        assert_eq!(ZH.order_note("尺码不合适"), "尺码不合适");
    }

    #[test]
    fn times_in_the_feed_read_as_how_long_ago() {
        assert_eq!(ZH.ago(5).as_deref(), Some("刚刚"));
        assert_eq!(ZH.ago(59).as_deref(), Some("刚刚"));
        assert_eq!(ZH.ago(60).as_deref(), Some("1 分钟前"));
        assert_eq!(ZH.ago(3_599).as_deref(), Some("59 分钟前"));
        assert_eq!(ZH.ago(3_600).as_deref(), Some("1 小时前"));
        assert_eq!(EN.ago(2 * 86_400).as_deref(), Some("2 d ago"));
        // A week on, or a clock ahead: the date says it.
        assert_eq!(ZH.ago(7 * 86_400), None);
        assert_eq!(ZH.ago(-1), None);
    }

    #[test]
    fn codes_read_as_words_in_both_languages() {
        assert_eq!(ZH.merchant_status("approved"), "已开通");
        assert_eq!(EN.merchant_status("pending"), "Under review");
        assert_eq!(ZH.staff_role("manager"), "管理员");
        assert_eq!(ZH.actor("gateway"), "支付渠道");
        assert_eq!(ZH.carrier_name("SF"), "顺丰速运");
        assert_eq!(EN.carrier_name("zto"), "ZTO Express");
        // An unknown carrier shows the code the merchant typed.
        assert_eq!(ZH.carrier_name("deppon"), "deppon");
        assert_eq!(ZH.actor("robot"), "未知");
    }
}
