//! The strings of the group-buy (拼团) pages: a campaign with its joinable groups, a group
//! with its seats and time left, the member's group-buys and the console's campaigns. Read
//! in templates as `c.t.group_buy().<name>`.

use super::{Strings, ZH};

pub struct GroupBuy {
    pub title: &'static str,
    pub campaigns: &'static str,
    pub no_campaigns: &'static str,
    pub see_campaigns: &'static str,
    pub list_price: &'static str,
    pub group_price: &'static str,
    pub leader_price: &'static str,
    pub leader_free: &'static str,
    pub group_size: &'static str,
    pub people: &'static str,
    pub seats_left: &'static str,
    pub seats_taken: &'static str,
    pub duration: &'static str,
    pub hours: &'static str,
    pub ends_at: &'static str,
    pub open_group: &'static str,
    pub open_hint: &'static str,
    pub not_open: &'static str,
    pub joinable: &'static str,
    pub no_joinable: &'static str,
    pub join: &'static str,
    pub view_group: &'static str,
    pub login_to_join: &'static str,
    pub group_title: &'static str,
    pub leader: &'static str,
    pub members: &'static str,
    pub paid: &'static str,
    pub held: &'static str,
    pub free: &'static str,
    pub waiting_leader: &'static str,
    pub fail_reason: &'static str,
    pub share: &'static str,
    pub share_hint: &'static str,
    pub my_groups: &'static str,
    pub no_groups: &'static str,
    pub order: &'static str,
    pub seat: &'static str,
    pub refused: &'static str,
    pub campaign: &'static str,
    pub sku: &'static str,
    pub status: &'static str,
    pub create: &'static str,
    pub create_hint: &'static str,
    pub leader_price_hint: &'static str,
    pub stock_limit: &'static str,
    pub per_member_limit: &'static str,
    pub commission: &'static str,
    pub leader_rate: &'static str,
    pub end: &'static str,
    pub ended: &'static str,
    pub running: &'static str,
    pub paused: &'static str,
    pub created: &'static str,
    pub fix_field: &'static str,
    pub no_skus: &'static str,
}

impl Strings {
    /// The group-buy strings of this language.
    pub fn group_buy(&self) -> &'static GroupBuy {
        if std::ptr::eq(self, &ZH) {
            &GROUP_BUY_ZH
        } else {
            &GROUP_BUY_EN
        }
    }

    /// A group's state (`opening`, `forming`, `succeeded`, `failed`), in words.
    pub fn group_status(&self, s: &str) -> &'static str {
        let (z, e) = match s {
            "opening" => ("待团长付款", "Opening: waiting for the leader to pay"),
            "forming" => ("拼团中", "Forming"),
            "succeeded" => ("拼团成功", "Succeeded"),
            "failed" => ("拼团失败", "Failed"),
            _ => ("未知", "Unknown"),
        };
        self.gb_pick(z, e)
    }

    /// A seat's state (`held`, `paid`, `released`), in words.
    pub fn seat_status(&self, s: &str) -> &'static str {
        let (z, e) = match s {
            "held" => ("待付款", "Awaiting payment"),
            "paid" => ("已付款", "Paid"),
            "released" => ("已释放", "Released"),
            _ => ("未知", "Unknown"),
        };
        self.gb_pick(z, e)
    }

    fn gb_pick(&self, zh: &'static str, en: &'static str) -> &'static str {
        if std::ptr::eq(self, &ZH) { zh } else { en }
    }

    /// Time left, rounded down to the minute: "还剩 5 小时 12 分" / "5 h 12 min left".
    pub fn time_left(&self, secs: i64) -> String {
        let secs = secs.max(0);
        let (h, m) = (secs / 3600, secs % 3600 / 60);
        if std::ptr::eq(self, &ZH) {
            match (h, m, secs) {
                (_, _, 0) => "已到期".to_owned(),
                (0, 0, _) => "还剩不到 1 分钟".to_owned(),
                (0, m, _) => format!("还剩 {m} 分"),
                (h, m, _) => format!("还剩 {h} 小时 {m} 分"),
            }
        } else {
            match (h, m, secs) {
                (_, _, 0) => "time is up".to_owned(),
                (0, 0, _) => "less than a minute left".to_owned(),
                (0, m, _) => format!("{m} min left"),
                (h, m, _) => format!("{h} h {m} min left"),
            }
        }
    }
}

pub static GROUP_BUY_ZH: GroupBuy = GroupBuy {
    title: "拼团",
    campaigns: "拼团活动",
    no_campaigns: "暂无进行中的拼团",
    see_campaigns: "拼团更便宜",
    list_price: "单买价",
    group_price: "拼团价",
    leader_price: "团长价",
    leader_free: "团长免单",
    group_size: "成团人数",
    people: "人团",
    seats_left: "剩余名额",
    seats_taken: "已占名额",
    duration: "成团时限",
    hours: "小时",
    ends_at: "活动截止",
    open_group: "我要开团",
    open_hint: "开团后先付款，再把拼团分享给朋友；时限内凑齐人数即成团，否则自动全额退款。",
    not_open: "此活动现在不能开团。",
    joinable: "可参加的团（差几人就成团）",
    no_joinable: "暂无可参加的团，来开一个吧。",
    join: "参团",
    view_group: "查看",
    login_to_join: "登录后参团",
    group_title: "拼团详情",
    leader: "团长",
    members: "成员",
    paid: "已付款",
    held: "待付款",
    free: "空位",
    waiting_leader: "团长付款后开始计时",
    fail_reason: "失败原因",
    share: "分享给朋友",
    share_hint: "把链接或二维码发给朋友，一起拼团：",
    my_groups: "我的拼团",
    no_groups: "你还没有参加拼团。",
    order: "订单",
    seat: "名额",
    refused: "未能参团",
    campaign: "活动",
    sku: "商品规格",
    status: "状态",
    create: "发起拼团活动",
    create_hint: "价格以元为单位；团长价留空则与拼团价相同，填 0 即团长免单。",
    leader_price_hint: "团长价（元，可空）",
    stock_limit: "名额上限",
    per_member_limit: "每人限参",
    commission: "拼团订单计佣金",
    leader_rate: "团长佣金比例（%，可空）",
    end: "结束活动",
    ended: "已结束",
    running: "进行中",
    paused: "未在开团期",
    created: "拼团活动已发起。",
    fix_field: "请修改",
    no_skus: "先上架商品，才能发起拼团。",
};

pub static GROUP_BUY_EN: GroupBuy = GroupBuy {
    title: "Group-buy",
    campaigns: "Group-buys",
    no_campaigns: "No group-buys running",
    see_campaigns: "Cheaper together: group-buys",
    list_price: "Alone",
    group_price: "Group price",
    leader_price: "Leader pays",
    leader_free: "Leader free",
    group_size: "Group size",
    people: "people",
    seats_left: "Seats left",
    seats_taken: "Seats taken",
    duration: "Time to fill",
    hours: "hours",
    ends_at: "Campaign ends",
    open_group: "Open a group",
    open_hint: "Pay first, then share the group with friends; if it fills in time it succeeds, otherwise everyone is refunded in full.",
    not_open: "No group can be opened in this campaign now.",
    joinable: "Groups you can join (closest to full first)",
    no_joinable: "No group to join yet: open one.",
    join: "Join",
    view_group: "View",
    login_to_join: "Log in to join",
    group_title: "Group",
    leader: "Leader",
    members: "Members",
    paid: "paid",
    held: "awaiting payment",
    free: "free",
    waiting_leader: "The clock starts when the leader has paid",
    fail_reason: "Why it failed",
    share: "Share with friends",
    share_hint: "Send this link or QR code to friends to fill the group:",
    my_groups: "My group-buys",
    no_groups: "You have not joined a group-buy yet.",
    order: "Order",
    seat: "Seat",
    refused: "Could not join",
    campaign: "Campaign",
    sku: "SKU",
    status: "Status",
    create: "Start a group-buy",
    create_hint: "Prices in yuan; leave the leader price empty for the group price, 0 makes the leader free.",
    leader_price_hint: "Leader price (yuan, optional)",
    stock_limit: "Seat limit",
    per_member_limit: "Seats per member",
    commission: "Group orders earn commission",
    leader_rate: "Leader's commission (%, optional)",
    end: "End campaign",
    ended: "Ended",
    running: "Running",
    paused: "Outside its window",
    created: "Group-buy started.",
    fix_field: "Please fix",
    no_skus: "Put a product on sale first.",
};
