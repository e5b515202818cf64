//! The strings of the 社区团购 pages: choosing a 团长, a 接龙 batch, the leader's point and
//! the console's leaders, batches and pick lists. Read in templates as
//! `c.t.nb().<name>`.

use super::{Strings, ZH};

pub struct Neighbourhood {
    pub leaders: &'static str,
    pub applications: &'static str,
    pub no_applications: &'static str,
    pub no_leaders: &'static str,
    pub leader: &'static str,
    pub point: &'static str,
    pub address: &'static str,
    pub capacity: &'static str,
    pub rate: &'static str,
    pub rate_hint: &'static str,
    pub status: &'static str,
    pub approve: &'static str,
    pub refuse: &'static str,
    pub suspend: &'static str,
    pub resume: &'static str,
    pub set_level: &'static str,
    pub batches: &'static str,
    pub no_batches: &'static str,
    pub create: &'static str,
    pub create_hint: &'static str,
    pub title: &'static str,
    pub cutoff: &'static str,
    pub pickup_date: &'static str,
    pub min_total: &'static str,
    pub sku: &'static str,
    pub price: &'static str,
    pub per_member: &'static str,
    pub quantity_limit: &'static str,
    pub joins: &'static str,
    pub paid_units: &'static str,
    pub pick_lists: &'static str,
    pub no_pick_lists: &'static str,
    pub export_csv: &'static str,
    pub print: &'static str,
    pub mark_delivered: &'static str,
    pub delivered_at: &'static str,
    pub buyers: &'static str,
    pub product: &'static str,
    pub quantity: &'static str,
    pub fix_field: &'static str,
    pub no_skus: &'static str,
    pub choose_title: &'static str,
    pub choose_hint: &'static str,
    pub my_leader: &'static str,
    pub no_leader_yet: &'static str,
    pub choose: &'static str,
    pub chosen: &'static str,
    pub distance: &'static str,
    pub friends_here: &'static str,
    pub community_here: &'static str,
    pub open_batches: &'static str,
    pub join: &'static str,
    pub join_hint: &'static str,
    pub joined_list: &'static str,
    pub nobody_yet: &'static str,
    pub someone: &'static str,
    pub unpaid: &'static str,
    pub left: &'static str,
    pub closed: &'static str,
    pub choose_first: &'static str,
    pub login_to_join: &'static str,
    pub my_points: &'static str,
    pub no_points: &'static str,
    pub apply: &'static str,
    pub apply_hint: &'static str,
    pub latitude: &'static str,
    pub longitude: &'static str,
    pub redeem_desk: &'static str,
    pub earnings: &'static str,
    pub figures: &'static str,
    pub orders: &'static str,
    pub repeat_rate: &'static str,
    pub pickup_rate: &'static str,
    pub candidates: &'static str,
    pub candidates_hint: &'static str,
    pub influence: &'static str,
    pub reach: &'static str,
}

impl Strings {
    /// The 社区团购 strings of this language.
    pub fn nb(&self) -> &'static Neighbourhood {
        if std::ptr::eq(self, &ZH) {
            &NB_ZH
        } else {
            &NB_EN
        }
    }

    /// A leader's state, in words.
    pub fn leader_status(&self, s: &str) -> &'static str {
        let (z, e) = match s {
            "applied" => ("待审核", "Applied"),
            "approved" => ("已批准", "Approved"),
            "refused" => ("已拒绝", "Refused"),
            "suspended" => ("已暂停", "Suspended"),
            _ => ("未知", "Unknown"),
        };
        if std::ptr::eq(self, &ZH) { z } else { e }
    }

    /// A batch's state, in words.
    pub fn batch_status(&self, s: &str) -> &'static str {
        let (z, e) = match s {
            "open" => ("接龙中", "Open"),
            "fixed" => ("已截单", "Fixed"),
            "failed" => ("未成团，已退款", "Failed, refunded"),
            _ => ("未知", "Unknown"),
        };
        if std::ptr::eq(self, &ZH) { z } else { e }
    }

    /// "3 位好友在这里提货" / "3 friends pick up here".
    pub fn friends_here(&self, n: i64) -> String {
        if std::ptr::eq(self, &ZH) {
            format!("{n} 位好友在这里提货")
        } else {
            format!("{n} friends pick up here")
        }
    }

    /// "2 位群友在这里提货" / "2 community members pick up here".
    pub fn community_here(&self, n: i64) -> String {
        if std::ptr::eq(self, &ZH) {
            format!("{n} 位群友在这里提货")
        } else {
            format!("{n} community members pick up here")
        }
    }

    /// "850 米" / "1.2 公里".
    pub fn metres(&self, m: i64) -> String {
        let zh = std::ptr::eq(self, &ZH);
        match (m < 1000, zh) {
            (true, true) => format!("{m} 米"),
            (true, false) => format!("{m} m"),
            (false, true) => format!("{:.1} 公里", m as f64 / 1000.0),
            (false, false) => format!("{:.1} km", m as f64 / 1000.0),
        }
    }
}

pub static NB_ZH: Neighbourhood = Neighbourhood {
    leaders: "团长",
    applications: "待审核的团长申请",
    no_applications: "暂无待审核的申请",
    no_leaders: "还没有团长",
    leader: "团长",
    point: "自提点",
    address: "地址",
    capacity: "可存放订单数",
    rate: "团长佣金",
    rate_hint: "佣金比例（%），与分销各级合计不超过佣金上限",
    status: "状态",
    approve: "批准",
    refuse: "拒绝",
    suspend: "暂停",
    resume: "恢复",
    set_level: "调整佣金",
    batches: "接龙",
    no_batches: "还没有接龙",
    create: "发起接龙",
    create_hint: "成员在截单前接龙下单，到所选团长的自提点提货。",
    title: "接龙标题",
    cutoff: "截单时间",
    pickup_date: "预计提货日",
    min_total: "最低成团件数（不足则全部退款，0 为不限）",
    sku: "商品",
    price: "接龙价（元）",
    per_member: "每人限购",
    quantity_limit: "总量",
    joins: "接龙人数",
    paid_units: "已付款件数",
    pick_lists: "拣货单",
    no_pick_lists: "还没有已付款的订单",
    export_csv: "导出 CSV",
    print: "打印",
    mark_delivered: "标记已送达自提点",
    delivered_at: "送达时间",
    buyers: "买家",
    product: "商品",
    quantity: "数量",
    fix_field: "请修改",
    no_skus: "先上架商品，才能发起接龙。",
    choose_title: "选择我的团长",
    choose_hint: "好友和群友常去的自提点排在前面，其次是离你最近的。",
    my_leader: "我的团长",
    no_leader_yet: "还没有选择团长",
    choose: "选这位团长",
    chosen: "当前团长",
    distance: "距离",
    friends_here: "好友在这里提货",
    community_here: "群友在这里提货",
    open_batches: "正在接龙",
    join: "参加接龙",
    join_hint: "下单后请在截单前付款，到团长的自提点凭提货码取货。",
    joined_list: "接龙名单",
    nobody_yet: "还没有人接龙，来做第一个吧",
    someone: "某位邻居",
    unpaid: "待付款",
    left: "剩余",
    closed: "已截单",
    choose_first: "请先选择团长",
    login_to_join: "登录后参加接龙",
    my_points: "我的自提点",
    no_points: "你还不是团长",
    apply: "申请成为团长",
    apply_hint: "填写你的自提点，商家审核通过后即可接单。",
    latitude: "纬度",
    longitude: "经度",
    redeem_desk: "核销提货码",
    earnings: "我的佣金",
    figures: "团长业绩（近 30 天）",
    orders: "订单数",
    repeat_rate: "复购率",
    pickup_rate: "提货率",
    candidates: "候选团长",
    candidates_hint: "社群里影响力最大、还不是团长的成员，可以邀请他们开自提点。",
    influence: "影响力",
    reach: "三度触达",
};

pub static NB_EN: Neighbourhood = Neighbourhood {
    leaders: "Leaders",
    applications: "Applications to review",
    no_applications: "No applications to review",
    no_leaders: "No leaders yet",
    leader: "Leader",
    point: "Pickup point",
    address: "Address",
    capacity: "Orders it can hold",
    rate: "Leader commission",
    rate_hint: "Rate (%); with the referral levels within the plan's cap",
    status: "Status",
    approve: "Approve",
    refuse: "Refuse",
    suspend: "Suspend",
    resume: "Resume",
    set_level: "Set rate",
    batches: "Batches",
    no_batches: "No batches yet",
    create: "Open a batch",
    create_hint: "Members add their order before the cut-off and pick up at their leader's point.",
    title: "Title",
    cutoff: "Cut-off",
    pickup_date: "Expected pickup day",
    min_total: "Minimum units (below it everything is refunded; 0 for none)",
    sku: "Product",
    price: "Batch price (¥)",
    per_member: "Per member",
    quantity_limit: "Total",
    joins: "Joins",
    paid_units: "Units paid",
    pick_lists: "Pick lists",
    no_pick_lists: "No paid orders yet",
    export_csv: "Export CSV",
    print: "Print",
    mark_delivered: "Mark delivered to the point",
    delivered_at: "Delivered",
    buyers: "Buyers",
    product: "Product",
    quantity: "Quantity",
    fix_field: "Please fix",
    no_skus: "Put a product on sale first.",
    choose_title: "Choose my leader",
    choose_hint: "Points your friends and community use come first, then the nearest.",
    my_leader: "My leader",
    no_leader_yet: "No leader chosen yet",
    choose: "Choose this leader",
    chosen: "Current leader",
    distance: "Distance",
    friends_here: "friends pick up here",
    community_here: "community members pick up here",
    open_batches: "Open batches",
    join: "Join",
    join_hint: "Pay before the cut-off; pick up at your leader's point with your code.",
    joined_list: "Who joined",
    nobody_yet: "Nobody has joined yet",
    someone: "A neighbour",
    unpaid: "Unpaid",
    left: "left",
    closed: "Closed",
    choose_first: "Choose your leader first",
    login_to_join: "Log in to join",
    my_points: "My pickup points",
    no_points: "You are not a leader yet",
    apply: "Apply to lead",
    apply_hint: "Describe your pickup point; the merchant reviews it.",
    latitude: "Latitude",
    longitude: "Longitude",
    redeem_desk: "Redeem pickup codes",
    earnings: "My commission",
    figures: "Leaders' figures (last 30 days)",
    orders: "Orders",
    repeat_rate: "Repeat rate",
    pickup_rate: "Pickup rate",
    candidates: "Candidate leaders",
    candidates_hint: "The most influential members of your communities who do not lead a point yet.",
    influence: "Influence",
    reach: "Reach within three hops",
};
