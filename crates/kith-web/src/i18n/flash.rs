//! What a page says after an action redirected to it (`?done=<what>`), in one line: the
//! console and the admin pages confirm every change this way.

use super::{Strings, ZH};

impl Strings {
    /// The confirmation for `?done=<key>`, or `None` for a key no action sends.
    pub fn done(&self, key: &str) -> Option<&'static str> {
        let (zh, en) = match key {
            "saved" => ("已保存", "Saved"),
            "created" => ("已创建", "Created"),
            "deleted" => ("已删除", "Deleted"),
            "shipped" => (
                "已发货，买家会看到物流单号",
                "Shipped; the buyer sees the tracking number",
            ),
            "ready" => (
                "已备货，买家可凭提货码到店自提",
                "Ready; the buyer can pick it up with their code",
            ),
            "refunded" => (
                "退款已提交，款项按原路退回",
                "Refunded to where the money came from",
            ),
            "refund_retried" => (
                "已重新发起退款，等待支付渠道确认",
                "Refund asked again; waiting for the provider",
            ),
            "approved" => ("已批准", "Approved"),
            "aftersale_agreed" => (
                "已同意；仅退款的款项按原路退回，退货的买家会看到退货地址",
                "Agreed: a refund goes back the way it came, a return shows the buyer where to send it",
            ),
            "aftersale_refused" => (
                "已拒绝，买家可申请平台介入",
                "Refused; the buyer may ask the platform to step in",
            ),
            "aftersale_received" => (
                "已确认收到退货，退款按原路退回",
                "Return received; the refund goes back the way it came",
            ),
            "aftersale_decided" => (
                "已裁决，双方都会看到结果",
                "Decided; both sides see the outcome",
            ),
            "reconciled" => ("对账完成", "Reconciled"),
            "settled_up" => ("结算已登记", "Settlement recorded"),
            "cut_off" => ("已截单", "Closed"),
            "rejected" => ("已驳回", "Rejected"),
            "ended" => ("活动已结束", "Campaign ended"),
            "enabled" => ("已重新启用", "Enabled again"),
            "phone_bound" => ("手机号已绑定", "Phone number bound"),
            "followed" => (
                "已关注，对方的动态会出现在首页",
                "Followed: their posts show on your home page",
            ),
            "suspended" => (
                "已暂停，该自提点不再接单和核销",
                "Suspended: the point takes no orders or pickups",
            ),
            "resumed" => ("已恢复", "Resumed"),
            "paused" => ("已暂停发放", "Paused"),
            "activity_paused" => (
                "已暂停，新订单不再享受这个满减",
                "Paused: new orders no longer take this discount",
            ),
            "flash_paused" => (
                "已暂停，暂停期间不能抢购",
                "Paused: nobody can buy until it resumes",
            ),
            "flash_ended" => (
                "已结束，已下的订单不受影响",
                "Ended: orders already placed stand",
            ),
            "activity_ended" => (
                "已停止，已下单的优惠不变",
                "Ended: orders already placed keep their discount",
            ),
            "coupon_ended" => (
                "已停止发放，已领的券仍可使用",
                "Ended: coupons already claimed stay valid",
            ),
            "issued" => (
                "已发放给该等级的每位会员",
                "Issued to every member of the tier",
            ),
            "claimed" => (
                "领取成功，已放入我的优惠券",
                "Claimed: it waits in My coupons",
            ),
            "chosen" => (
                "已选定团长，接龙订单将送到该自提点",
                "Leader chosen: your batch orders go to this point",
            ),
            "delivered" => (
                "已送达，买家会收到提货码",
                "Delivered: the buyers get their pickup codes",
            ),
            _ => return None,
        };
        Some(if std::ptr::eq(self, &ZH) { zh } else { en })
    }
}

/// The words of a confirmation step (`<details class="confirm">`: the action opens it, a
/// second button inside does it), so no refund, deletion, approval or end happens on one
/// stray click — without JavaScript.
pub struct Confirm {
    pub sure: &'static str,
    pub confirm_refund: &'static str,
    pub confirm_delete: &'static str,
    pub confirm_approve: &'static str,
    pub confirm_reject: &'static str,
    pub confirm_end: &'static str,
}

impl Strings {
    pub fn confirm(&self) -> &'static Confirm {
        if std::ptr::eq(self, &ZH) {
            &CONFIRM_ZH
        } else {
            &CONFIRM_EN
        }
    }
}

static CONFIRM_ZH: Confirm = Confirm {
    sure: "确定吗？此操作无法撤销。",
    confirm_refund: "确认退款",
    confirm_delete: "确认删除",
    confirm_approve: "确认批准",
    confirm_reject: "确认驳回",
    confirm_end: "确认结束",
};

static CONFIRM_EN: Confirm = Confirm {
    sure: "Are you sure? This cannot be undone.",
    confirm_refund: "Refund now",
    confirm_delete: "Delete now",
    confirm_approve: "Approve now",
    confirm_reject: "Reject now",
    confirm_end: "End now",
};
