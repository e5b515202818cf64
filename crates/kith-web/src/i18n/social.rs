//! The strings of the member app's money-sharing and social pages: the commission wallet
//! and withdrawals, the team, share links with their QR code, editing posts, replies,
//! announcements and invite links. Read in templates as `c.t.social().<name>`.

use super::{Strings, ZH};

pub struct Social {
    pub wallet_title: &'static str,
    pub wallet_hint: &'static str,
    pub no_wallets: &'static str,
    pub statement: &'static str,
    pub no_lines: &'static str,
    pub withdraw: &'static str,
    pub withdraw_amount: &'static str,
    pub my_withdrawals: &'static str,
    pub no_withdrawals: &'static str,
    pub refused: &'static str,
    pub team_title: &'static str,
    pub earnings: &'static str,
    pub bound_to_me: &'static str,
    pub generation: &'static str,
    pub team_empty: &'static str,
    pub my_links: &'static str,
    pub no_links: &'static str,
    pub visits: &'static str,
    pub signups: &'static str,
    pub share: &'static str,
    pub share_title: &'static str,
    pub share_hint: &'static str,
    pub share_link: &'static str,
    pub copy_link: &'static str,
    pub copied: &'static str,
    pub poster_title: &'static str,
    pub poster_recommends: &'static str,
    pub poster_scan: &'static str,
    pub poster_hint: &'static str,
    pub qr_label: &'static str,
    pub open_shared: &'static str,
    pub commission_title: &'static str,
    pub channel: &'static str,
    pub my_share: &'static str,
    pub rate: &'static str,
    pub base: &'static str,
    pub amount: &'static str,
    pub reversed: &'static str,
    pub edit: &'static str,
    pub edit_post: &'static str,
    pub save: &'static str,
    pub delete_post: &'static str,
    pub edited: &'static str,
    pub reply: &'static str,
    pub replies: &'static str,
    pub announcements: &'static str,
    pub no_announcements: &'static str,
    pub post_announcement: &'static str,
    pub invites: &'static str,
    pub create_invite: &'static str,
    pub max_uses: &'static str,
    pub expires_hours: &'static str,
    pub invite_created: &'static str,
    pub uses: &'static str,
    pub revoked: &'static str,
    pub revoke: &'static str,
    pub invite_title: &'static str,
    pub invite_hint: &'static str,
    pub invite_accept: &'static str,
    pub shared_title: &'static str,
    pub shared_hint: &'static str,
    pub shared_login: &'static str,
}

impl Strings {
    /// The money-sharing and social strings of this language.
    pub fn social(&self) -> &'static Social {
        if std::ptr::eq(self, &ZH) {
            &SOCIAL_ZH
        } else {
            &SOCIAL_EN
        }
    }

    /// A commission balance (`pending`, `frozen`, `available`, `withdrawing`, `planned`), in words.
    pub fn balance_name(&self, s: &str) -> &'static str {
        let (z, e) = match s {
            "planned" => ("待付款", "Awaiting payment"),
            "pending" => ("待确认", "Pending"),
            "frozen" => ("售后期冻结", "Frozen (after-sale)"),
            "available" => ("可提现", "Available"),
            "withdrawing" => ("提现中", "Withdrawing"),
            "void" => ("已退回", "Taken back"),
            _ => ("未知", "Unknown"),
        };
        self.pick(z, e)
    }

    /// A withdrawal's state, in words.
    pub fn withdrawal_status(&self, s: &str) -> &'static str {
        let (z, e) = match s {
            "requested" => ("审核中", "Under review"),
            "paying" => ("打款中", "Paying out"),
            "paid" => ("已到账", "Paid"),
            "rejected" => ("已驳回", "Rejected"),
            "failed" => ("打款失败，已退回", "Payout failed, returned"),
            _ => ("未知", "Unknown"),
        };
        self.pick(z, e)
    }

    /// What moved a commission balance (`commission`, `commission_reversal`, `withdrawal`).
    pub fn line_kind(&self, s: &str) -> &'static str {
        let (z, e) = match s {
            "commission" => ("佣金", "Commission"),
            "commission_reversal" => ("佣金冲回", "Commission reversed"),
            "withdrawal" => ("提现", "Withdrawal"),
            _ => ("其他", "Other"),
        };
        self.pick(z, e)
    }

    /// Where commission came from (`rebate`, `l1`, `l2`, `content`, `group_leader`).
    pub fn earning_source(&self, s: &str) -> &'static str {
        let (z, e) = match s {
            "rebate" => ("自购返利", "Self-purchase rebate"),
            "l1" => ("直接推广", "Direct referrals"),
            "l2" => ("间接推广", "Second-level referrals"),
            "content" => ("内容带货", "Content credit"),
            "group_leader" => ("团长奖励", "Group leader"),
            _ => ("其他", "Other"),
        };
        self.pick(z, e)
    }

    /// What a share link points to (`product`, `post`, `community`, `group_buy`).
    pub fn link_kind(&self, s: &str) -> &'static str {
        let (z, e) = match s {
            "product" => ("商品", "Product"),
            "post" => ("动态", "Post"),
            "community" => ("社群", "Community"),
            "group_buy" => ("拼团", "Group-buy"),
            _ => ("其他", "Other"),
        };
        self.pick(z, e)
    }

    /// How an order was attributed (`share`, `content`, `referrer`, `none`, …).
    pub fn channel_name(&self, s: &str) -> &'static str {
        let (z, e) = match s {
            "share" => ("分享链接", "Share link"),
            "content" => ("内容带货", "Content credit"),
            "referrer" | "binding" => ("绑定关系", "Bound referrer"),
            "group_buy" => ("拼团", "Group-buy"),
            "none" => ("无", "None"),
            _ => ("其他", "Other"),
        };
        self.pick(z, e)
    }

    fn pick(&self, zh: &'static str, en: &'static str) -> &'static str {
        if std::ptr::eq(self, &ZH) { zh } else { en }
    }
}

pub static SOCIAL_ZH: Social = Social {
    wallet_title: "佣金钱包",
    wallet_hint: "朋友通过你的分享下单后佣金待确认，签收后进入售后期冻结，售后期结束可提现。",
    no_wallets: "还没有佣金：把喜欢的商品或动态分享给朋友，他们下单后你就有收益。",
    statement: "明细",
    no_lines: "暂无明细",
    withdraw: "申请提现",
    withdraw_amount: "提现金额（元）",
    my_withdrawals: "提现记录",
    no_withdrawals: "暂无提现记录",
    refused: "未能提交",
    team_title: "我的团队",
    earnings: "我的收益",
    bound_to_me: "绑定到我的成员",
    generation: "代",
    team_empty: "还没有成员绑定到你",
    my_links: "我的分享链接",
    no_links: "还没有分享过：在商品、动态或社群页点“分享”",
    visits: "访问",
    signups: "注册",
    share: "分享",
    share_title: "分享给朋友",
    share_hint: "复制链接发给朋友，或让朋友扫码。朋友通过链接下单，你将获得佣金。",
    share_link: "分享链接",
    copy_link: "复制链接",
    copied: "已复制，去粘贴给朋友吧",
    poster_title: "分享海报",
    poster_recommends: "推荐给你",
    poster_scan: "长按识别二维码",
    poster_hint: "截图或长按保存这张海报，发到朋友圈或群里；扫码打开的就是你的分享链接。",
    qr_label: "分享链接的二维码",
    open_shared: "查看分享的内容",
    commission_title: "订单佣金",
    channel: "归因",
    my_share: "我的佣金",
    rate: "比例",
    base: "计佣金额",
    amount: "金额",
    reversed: "已冲回",
    edit: "编辑",
    edit_post: "编辑动态",
    save: "保存",
    delete_post: "删除动态",
    edited: "已编辑",
    reply: "回复",
    replies: "条回复",
    announcements: "社群公告",
    no_announcements: "暂无公告",
    post_announcement: "发布公告",
    invites: "邀请链接",
    create_invite: "生成邀请链接",
    max_uses: "最多使用次数（可不填）",
    expires_hours: "有效期（小时，可不填）",
    invite_created: "邀请链接已生成，只显示这一次：",
    uses: "已使用",
    revoked: "已撤回",
    revoke: "撤回",
    invite_title: "社群邀请",
    invite_hint: "有朋友邀请你加入社群。接受后即成为成员，无需审核。",
    invite_accept: "接受邀请并加入",
    shared_title: "朋友分享给你",
    shared_hint: "注册后即可查看朋友分享的内容，并与分享的朋友在这家店建立推荐关系。",
    shared_login: "已有账号？登录后查看",
};

pub static SOCIAL_EN: Social = Social {
    wallet_title: "Commission wallet",
    wallet_hint: "Commission is pending when a friend pays through your share, frozen during the after-sale window once delivered, and available to withdraw after it.",
    no_wallets: "No commission yet: share products or posts you like, and earn when friends buy.",
    statement: "Statement",
    no_lines: "No entries yet",
    withdraw: "Withdraw",
    withdraw_amount: "Amount (yuan)",
    my_withdrawals: "My withdrawals",
    no_withdrawals: "No withdrawals yet",
    refused: "Not submitted",
    team_title: "My team",
    earnings: "My earnings",
    bound_to_me: "Members bound to me",
    generation: "Generation",
    team_empty: "Nobody is bound to you yet",
    my_links: "My share links",
    no_links: "No shares yet: press “Share” on a product, post or community",
    visits: "Visits",
    signups: "Sign-ups",
    share: "Share",
    share_title: "Share with friends",
    share_hint: "Copy the link or let a friend scan the code. When they buy through it, you earn commission.",
    share_link: "Share link",
    copy_link: "Copy link",
    copied: "Copied: paste it to a friend",
    poster_title: "Share poster",
    poster_recommends: "recommends this",
    poster_scan: "Scan the code",
    poster_hint: "Take a screenshot or press and hold to save the poster, then post it to Moments or a group; the code opens your share link.",
    qr_label: "QR code of the share link",
    open_shared: "Open what you shared",
    commission_title: "Order commission",
    channel: "Attribution",
    my_share: "My commission",
    rate: "Rate",
    base: "Base",
    amount: "Amount",
    reversed: "Reversed",
    edit: "Edit",
    edit_post: "Edit post",
    save: "Save",
    delete_post: "Delete post",
    edited: "edited",
    reply: "Reply",
    replies: "replies",
    announcements: "Announcements",
    no_announcements: "No announcements",
    post_announcement: "Post an announcement",
    invites: "Invite links",
    create_invite: "Create an invite link",
    max_uses: "Most uses (optional)",
    expires_hours: "Valid for hours (optional)",
    invite_created: "Invite link created; it is shown only this once:",
    uses: "Used",
    revoked: "Withdrawn",
    revoke: "Withdraw",
    invite_title: "Community invitation",
    invite_hint: "A friend invites you to a community. Accept to become a member right away.",
    invite_accept: "Accept and join",
    shared_title: "A friend shared this with you",
    shared_hint: "Sign up to see what your friend shared; you will be linked to them at this shop.",
    shared_login: "Have an account? Log in to see it",
};
