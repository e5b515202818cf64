//! The words of the console's member and withdrawal tables, the member picker and the
//! drawn fission tree. Read in templates as `c.t.desk(key)`; a key without words is a bug
//! (debug builds stop on it, so a page test finds it).

use super::{Strings, ZH};

impl Strings {
    /// A word of the console's desk pages, by key.
    pub fn desk(&self, key: &str) -> &'static str {
        let (zh, en) = match key {
            "members" => ("会员", "Members"),
            "members_help" => (
                "在本店下过单、持有本店等级、是本店分销员或绑定了本店分销员、加入了本店社群的人。手机号只显示前三位和后四位。",
                "People who ordered here, hold one of the shop's tiers, are its distributors or bound to one, or belong to one of its communities. Phones show only their first three and last four digits.",
            ),
            "search_label" => ("按姓名或手机号查找", "Find by name or phone"),
            "search_hint" => (
                "手机号请输入完整 11 位或尾号 4 位",
                "A phone by all 11 digits or its last four",
            ),
            "search" => ("查找", "Search"),
            "clear" => ("全部会员", "All members"),
            "member" => ("会员", "Member"),
            "phone" => ("手机", "Phone"),
            "tier" => ("等级", "Tier"),
            "no_tier" => ("—", "—"),
            "orders" => ("订单数", "Orders"),
            "spent" => ("消费", "Spent"),
            "first_order" => ("首次下单", "First order"),
            "last_order" => ("最近下单", "Last order"),
            "no_members" => ("还没有会员", "No members yet"),
            "no_match" => ("没有找到匹配的会员", "No member matches"),
            "buyer_search_label" => (
                "按买家姓名或手机号查找",
                "Find by the buyer's name or phone",
            ),
            "clear_search" => ("清除查找", "Clear the search"),
            "no_order_match" => ("没有这位买家的订单", "No order of such a buyer"),
            "capped" => (
                "只列出最近的 200 位，请用查找缩小范围；导出文件包含全部。",
                "Only the latest 200 are listed; search to narrow it. The export holds everyone.",
            ),
            "withdrawals" => ("提现记录", "Withdrawals"),
            "withdrawals_help" => (
                "分销员从本店佣金中申请的提现，由平台审核后打款。",
                "Withdrawals distributors asked for from their commission at this shop; the platform approves and pays them.",
            ),
            "amount" => ("金额", "Amount"),
            "status" => ("状态", "Status"),
            "requested_at" => ("申请时间", "Requested"),
            "decided_at" => ("处理时间", "Decided"),
            "note" => ("备注", "Note"),
            "no_withdrawals" => ("还没有提现申请", "No withdrawals yet"),
            "pick_member" => ("选择会员", "Choose a member"),
            "pick_hint" => (
                "输入姓名或手机号，从本店会员中选择",
                "Type a name or phone to choose one of the shop's members",
            ),
            "pick_none" => (
                "没有找到，换个姓名或手机号试试",
                "Nobody found; try another name or phone",
            ),
            "issue_member" => ("发给会员", "Issue to a member"),
            "todo_aftersales" => ("售后申请待处理", "After-sale requests to answer"),
            "todo_returns" => ("退货待签收", "Returns to receive"),
            "todo_leaders" => ("团长申请待审核", "Leader applications to decide"),
            "suspend_sure" => (
                "暂停后该团长不能再接单，可随时恢复。",
                "A suspended leader takes no orders until resumed.",
            ),
            "tree" => ("关系树", "The tree"),
            "tree_help" => (
                "每人下面是他带来的人，人数多的分支在前；超出的以“还有 N 人”计。",
                "Under each person are the people they brought, biggest branches first; the rest are counted as “N more”.",
            ),
            "tree_empty" => ("还没有人", "Nobody yet"),
            _ => {
                debug_assert!(false, "no desk words for {key:?}");
                ("", "")
            }
        };
        if std::ptr::eq(self, &ZH) { zh } else { en }
    }

    /// "还有 N 人" under a drawn tree's node: the people not drawn there.
    pub fn desk_more(&self, n: &i64) -> String {
        if std::ptr::eq(self, &ZH) {
            format!("还有 {n} 人")
        } else {
            format!("{n} more")
        }
    }

    /// "邀请 N 人" beside a drawn tree's node.
    pub fn desk_brought(&self, n: &i64) -> String {
        if std::ptr::eq(self, &ZH) {
            format!("带来 {n} 人")
        } else {
            format!("brought {n}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{EN, ZH};

    #[test]
    fn desk_words_in_both_languages() {
        assert_eq!(ZH.desk("members"), "会员");
        assert_eq!(EN.desk("withdrawals"), "Withdrawals");
        assert_eq!(ZH.desk_more(&3), "还有 3 人");
        assert_eq!(EN.desk_more(&3), "3 more");
    }
}
