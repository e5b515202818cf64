//! The double-entry ledger's rules: which accounts exist, what a journal entry is, and what
//! makes one valid. Writing entries (in the same transaction as the state change that
//! caused them) is the store's job; deciding whether an entry may exist at all is this
//! module's.
//!
//! Convention: a posting's `amount_fen` is what it adds to its account's balance; a
//! balance is the sum of its account's postings; the postings of every entry sum to zero.
//! "Transfer A from X to Y" is the postings `[X: −A, Y: +A]`. Money from outside (a payment
//! gateway) enters through an `external:…` account, which goes negative by what came in, so
//! the sum over all accounts stays zero and the external balance is what we owe the world
//! an explanation for.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{DomainError, Fen};

/// The name of a ledger account, e.g. `member:{id}:wallet`. Built only by the constructors
/// in [`accounts`] or by [`AccountId::parse`], which accept exactly the same forms, so a
/// stored name always means one account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
// Deserializing goes through `parse`, so a name read from JSON is as valid as a built one.
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl AccountId {
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let parts: Vec<&str> = input.split(':').collect();
        match parts.as_slice() {
            ["member", id, "wallet"] => accounts::member_wallet(id),
            ["merchant", id, "pending"] => accounts::merchant_pending(id),
            ["merchant", id, "available"] => accounts::merchant_available(id),
            ["merchant", id, "direct", provider] => accounts::merchant_direct(id, provider),
            ["external", "gateway", provider] => accounts::external_gateway(provider),
            ["platform", "revenue"] => Ok(accounts::platform_revenue()),
            ["distributor", member, merchant, state] => {
                let state = accounts::CommissionState::parse(state).ok_or_else(|| {
                    DomainError::invalid(
                        "account",
                        "distributor state must be pending, frozen, available or withdrawing",
                    )
                })?;
                accounts::distributor(member, merchant, state)
            }
            ["points", merchant, "issued"] => accounts::points_issued(merchant),
            ["points", member, merchant, state] => {
                let state = accounts::PointsState::parse(state).ok_or_else(|| {
                    DomainError::invalid("account", "points state must be frozen or available")
                })?;
                accounts::points(member, merchant, state)
            }
            _ => Err(DomainError::invalid(
                "account",
                "must be member:{id}:wallet, merchant:{id}:pending, merchant:{id}:available, \
                 merchant:{id}:direct:{provider}, external:gateway:{provider}, distributor:{member}:{merchant}:{state}, \
                 points:{merchant}:issued, points:{member}:{merchant}:{state} or \
                 platform:revenue",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the account holds points (积分), a non-cash asset counted in points, not fen:
    /// an entry holds either points accounts or money accounts, never both.
    pub fn is_points(&self) -> bool {
        self.0.starts_with("points:")
    }

    /// Whether many owners' transactions move the account at once: a merchant's pending
    /// balance and its direct rail (every payment of the merchant), a gateway's and the
    /// platform's accounts (every order of the platform), a merchant's issued points (every
    /// member's points there) and a distributor's pending commission (every order they
    /// brought). No one spends from a pooled account, so none is ever guarded against going
    /// negative, and the store may keep its balance in several rows that add up to it.
    pub fn is_pooled(&self) -> bool {
        let parts: Vec<&str> = self.0.split(':').collect();
        matches!(
            parts.as_slice(),
            ["merchant", _, "pending"]
                | ["merchant", _, "direct", _]
                | ["external", "gateway", _]
                | ["platform", "revenue"]
                | ["points", _, "issued"]
                | ["distributor", _, _, "pending"]
        )
    }
}

impl TryFrom<String> for AccountId {
    type Error = DomainError;

    fn try_from(s: String) -> Result<Self, DomainError> {
        Self::parse(&s)
    }
}

impl From<AccountId> for String {
    fn from(a: AccountId) -> String {
        a.0
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The only ways to name an account.
pub mod accounts {
    use super::AccountId;
    use crate::DomainError;

    /// Ids are 1–64 visible ASCII characters without `:`, the separator of account names
    /// (a `:` inside an id would let two owners share one account name).
    fn id_part(id: &str) -> Result<&str, DomainError> {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if ok {
            Ok(id)
        } else {
            Err(DomainError::invalid(
                "account",
                "id must be 1–64 visible ASCII characters without ':'",
            ))
        }
    }

    /// A member's wallet (储值): top-ups and refunds to wallet land here.
    pub fn member_wallet(account_id: &str) -> Result<AccountId, DomainError> {
        Ok(AccountId(format!("member:{}:wallet", id_part(account_id)?)))
    }

    /// Money of a merchant's paid orders still inside the after-sale window: a refund can
    /// still take it back, so the merchant cannot withdraw it yet.
    pub fn merchant_pending(merchant_id: &str) -> Result<AccountId, DomainError> {
        Ok(AccountId(format!(
            "merchant:{}:pending",
            id_part(merchant_id)?
        )))
    }

    /// Money a merchant may withdraw: settled after the after-sale window closed.
    pub fn merchant_available(merchant_id: &str) -> Result<AccountId, DomainError> {
        Ok(AccountId(format!(
            "merchant:{}:available",
            id_part(merchant_id)?
        )))
    }

    /// Money a merchant took into its own account at a provider (its own WeChat Pay 商户号
    /// or Alipay app): the payment never passed through the platform, so it enters here,
    /// not through [`external_gateway`], and goes negative by what the merchant holds
    /// (refunds it paid back raise it again). With the merchant's pending and available
    /// balances it nets to the merchant's settlement position: positive, the platform owes
    /// the merchant (wallet payments it holds for it); negative, the merchant owes the
    /// platform (commissions and fees the platform pays out of money the merchant holds).
    pub fn merchant_direct(merchant_id: &str, provider: &str) -> Result<AccountId, DomainError> {
        Ok(AccountId(format!(
            "merchant:{}:direct:{}",
            id_part(merchant_id)?,
            provider_part(provider)?
        )))
    }

    /// A provider's short name: 1–32 of `[a-z0-9_]`.
    fn provider_part(provider: &str) -> Result<&str, DomainError> {
        let ok = !provider.is_empty()
            && provider.len() <= 32
            && provider
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(provider)
        } else {
            Err(DomainError::invalid(
                "account",
                "gateway provider must be 1–32 of a-z, 0-9 and _",
            ))
        }
    }

    /// Where a payment gateway's money enters the platform's own account (and refunds
    /// leave); goes negative by what came in. `provider` is a short `[a-z0-9_]` name
    /// (1–32), e.g. `wechat_pay`.
    pub fn external_gateway(provider: &str) -> Result<AccountId, DomainError> {
        Ok(AccountId(format!(
            "external:gateway:{}",
            provider_part(provider)?
        )))
    }

    /// The platform's own income (its fees).
    pub fn platform_revenue() -> AccountId {
        AccountId("platform:revenue".to_owned())
    }

    /// Where a distributor's commission from one merchant stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum CommissionState {
        /// The order is paid; a refund may still take it back.
        Pending,
        /// Delivered or picked up, inside the after-sale window.
        Frozen,
        /// The window closed: withdrawable (negative when a clawback left a debt).
        Available,
        /// Asked to be paid out, waiting for a platform admin and the payout.
        Withdrawing,
    }

    impl CommissionState {
        pub const ALL: [CommissionState; 4] = [
            Self::Pending,
            Self::Frozen,
            Self::Available,
            Self::Withdrawing,
        ];
        pub fn as_str(self) -> &'static str {
            match self {
                Self::Pending => "pending",
                Self::Frozen => "frozen",
                Self::Available => "available",
                Self::Withdrawing => "withdrawing",
            }
        }
        pub fn parse(s: &str) -> Option<Self> {
            Self::ALL.into_iter().find(|c| c.as_str() == s)
        }
    }

    /// A distributor's commission balance at one merchant, in one state.
    pub fn distributor(
        member_id: &str,
        merchant_id: &str,
        state: CommissionState,
    ) -> Result<AccountId, DomainError> {
        Ok(AccountId(format!(
            "distributor:{}:{}:{}",
            id_part(member_id)?,
            id_part(merchant_id)?,
            state.as_str()
        )))
    }

    /// Where a member's points at one merchant stand.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum PointsState {
        /// Earned on a paid order whose after-sale window is still open: a refund takes
        /// them back.
        Frozen,
        /// Usable at checkout until they expire.
        Available,
    }

    impl PointsState {
        pub fn as_str(self) -> &'static str {
            match self {
                Self::Frozen => "frozen",
                Self::Available => "available",
            }
        }
        pub fn parse(s: &str) -> Option<Self> {
            [Self::Frozen, Self::Available]
                .into_iter()
                .find(|p| p.as_str() == s)
        }
    }

    /// A member's points at one merchant, in one state. Counted in points, not fen.
    pub fn points(
        member_id: &str,
        merchant_id: &str,
        state: PointsState,
    ) -> Result<AccountId, DomainError> {
        Ok(AccountId(format!(
            "points:{}:{}:{}",
            id_part(member_id)?,
            id_part(merchant_id)?,
            state.as_str()
        )))
    }

    /// Where a merchant's points come from and go back to (earned out of it; redeemed,
    /// reversed and expired into it): negative by the points its members hold.
    pub fn points_issued(merchant_id: &str) -> Result<AccountId, DomainError> {
        Ok(AccountId(format!(
            "points:{}:issued",
            id_part(merchant_id)?
        )))
    }
}

/// One line of an entry: what it adds to one account's balance (negative takes away).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Posting {
    pub account: AccountId,
    pub amount_fen: i64,
}

impl Posting {
    pub fn new(account: AccountId, amount_fen: i64) -> Self {
        Self {
            account,
            amount_fen,
        }
    }
}

/// Why money moved. Stored beside the entry for statements and audits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A buyer paid an order through a gateway or from their wallet.
    Payment,
    /// A member put money into their wallet.
    WalletTopUp,
    /// Money given back to a buyer.
    Refund,
    /// A merchant's pending money became available after the after-sale window.
    Settlement,
    /// A correction; entries are never edited, so a mistake is undone by a new entry.
    Adjustment,
    /// Commission on an order: booked when paid, frozen on delivery, available after the
    /// after-sale window.
    Commission,
    /// Commission taken back by a refund (in proportion) or clawed back after settlement.
    CommissionReversal,
    /// A distributor's withdrawal: requested, paid out, or returned.
    Withdrawal,
    /// Points earned on a paid order, frozen until its after-sale window closes.
    PointsEarned,
    /// Frozen points became available: the order's after-sale window closed.
    PointsSettled,
    /// Points spent at checkout.
    PointsRedeemed,
    /// Spent points given back: the unpaid order was cancelled or its lines refunded.
    PointsReturned,
    /// Earned points taken back by a refund, in proportion.
    PointsReversed,
    /// Points past their expiry.
    PointsExpired,
    /// The platform and a merchant settled what one owed the other outside kith (a bank
    /// transfer a platform admin records).
    SettledUp,
}

impl EntryKind {
    pub const ALL: [EntryKind; 15] = [
        Self::Payment,
        Self::WalletTopUp,
        Self::Refund,
        Self::Settlement,
        Self::Adjustment,
        Self::Commission,
        Self::CommissionReversal,
        Self::Withdrawal,
        Self::PointsEarned,
        Self::PointsSettled,
        Self::PointsRedeemed,
        Self::PointsReturned,
        Self::PointsReversed,
        Self::PointsExpired,
        Self::SettledUp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Payment => "payment",
            Self::WalletTopUp => "wallet_top_up",
            Self::Refund => "refund",
            Self::Settlement => "settlement",
            Self::Adjustment => "adjustment",
            Self::Commission => "commission",
            Self::CommissionReversal => "commission_reversal",
            Self::Withdrawal => "withdrawal",
            Self::PointsEarned => "points_earned",
            Self::PointsSettled => "points_settled",
            Self::PointsRedeemed => "points_redeemed",
            Self::PointsReturned => "points_returned",
            Self::PointsReversed => "points_reversed",
            Self::PointsExpired => "points_expired",
            Self::SettledUp => "settled_up",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One movement of money: balanced postings under a unique idempotency key. Only
/// [`JournalEntry::new`] builds one, so an entry that exists is balanced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    idempotency_key: String,
    kind: EntryKind,
    postings: Vec<Posting>,
}

impl JournalEntry {
    pub const MAX_KEY_LEN: usize = 200;

    /// Checks, in order: the key is 1–200 visible ASCII characters; there are at least two
    /// postings; no amount is zero (a zero posting records nothing and hides mistakes); no
    /// account appears twice (one net posting per account keeps statements readable); the
    /// amounts sum to exactly zero, with overflow an error rather than a wrap.
    pub fn new(
        idempotency_key: impl Into<String>,
        kind: EntryKind,
        postings: Vec<Posting>,
    ) -> Result<Self, DomainError> {
        let idempotency_key = idempotency_key.into();
        let key_ok = !idempotency_key.is_empty()
            && idempotency_key.len() <= Self::MAX_KEY_LEN
            && idempotency_key.bytes().all(|b| b.is_ascii_graphic());
        if !key_ok {
            return Err(DomainError::invalid(
                "idempotency_key",
                "must be 1–200 visible ASCII characters",
            ));
        }
        if postings.len() < 2 {
            return Err(DomainError::invalid(
                "postings",
                "an entry needs at least two postings",
            ));
        }
        let mut sum: i64 = 0;
        for (i, p) in postings.iter().enumerate() {
            if p.amount_fen == 0 {
                return Err(DomainError::invalid(
                    format!("postings[{i}].amount_fen"),
                    "must not be zero",
                ));
            }
            if p.account.is_points() != postings[0].account.is_points() {
                return Err(DomainError::invalid(
                    format!("postings[{i}].account"),
                    "points and money never share an entry",
                ));
            }
            if postings[..i].iter().any(|q| q.account == p.account) {
                return Err(DomainError::invalid(
                    format!("postings[{i}].account"),
                    format!("{} appears twice in one entry", p.account),
                ));
            }
            sum = sum
                .checked_add(p.amount_fen)
                .ok_or_else(|| DomainError::invalid("postings", "amounts overflow"))?;
        }
        if sum != 0 {
            return Err(DomainError::invalid(
                "postings",
                format!("must sum to zero, but sum to {sum}"),
            ));
        }
        Ok(Self {
            idempotency_key,
            kind,
            postings,
        })
    }

    /// Move `amount` (more than zero) from one account to another: `[from: −amount,
    /// to: +amount]`.
    pub fn transfer(
        idempotency_key: impl Into<String>,
        kind: EntryKind,
        from: AccountId,
        to: AccountId,
        amount: Fen,
    ) -> Result<Self, DomainError> {
        if amount.get() <= 0 {
            return Err(DomainError::invalid("amount", "must be more than zero"));
        }
        if from == to {
            return Err(DomainError::invalid(
                "to",
                "must differ from the account the money comes from",
            ));
        }
        // Negating a positive i64 cannot overflow.
        let postings = vec![
            Posting::new(from, -amount.get()),
            Posting::new(to, amount.get()),
        ];
        Self::new(idempotency_key, kind, postings)
    }

    pub fn idempotency_key(&self) -> &str {
        &self.idempotency_key
    }

    pub fn kind(&self) -> EntryKind {
        self.kind
    }

    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }
}

/// Every account's balance over `entries`: the sum of its postings. For tests and audits
/// (the store keeps balances itself, and an audit compares them with this). Overflow is an
/// error, never a wrap.
pub fn balances(entries: &[JournalEntry]) -> Result<BTreeMap<AccountId, i64>, DomainError> {
    let mut out: BTreeMap<AccountId, i64> = BTreeMap::new();
    for posting in entries.iter().flat_map(JournalEntry::postings) {
        let balance = out.entry(posting.account.clone()).or_insert(0);
        *balance = balance
            .checked_add(posting.amount_fen)
            .ok_or_else(|| DomainError::invalid("balance", "overflow"))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn field_of(e: DomainError) -> String {
        match e {
            DomainError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    fn pool() -> Vec<AccountId> {
        vec![
            accounts::member_wallet("m1").unwrap(),
            accounts::member_wallet("m2").unwrap(),
            accounts::member_wallet("m3").unwrap(),
            accounts::merchant_pending("shop").unwrap(),
            accounts::merchant_available("shop").unwrap(),
            accounts::merchant_pending("other").unwrap(),
            accounts::external_gateway("wechat_pay").unwrap(),
            accounts::external_gateway("alipay").unwrap(),
            accounts::merchant_direct("shop", "wechat").unwrap(),
            accounts::platform_revenue(),
            accounts::distributor("m1", "shop", accounts::CommissionState::Pending).unwrap(),
            accounts::distributor("m1", "shop", accounts::CommissionState::Available).unwrap(),
        ]
    }

    #[test]
    fn points_and_money_never_share_an_entry() {
        let issued = accounts::points_issued("shop").unwrap();
        let held = accounts::points("m1", "shop", accounts::PointsState::Frozen).unwrap();
        assert!(issued.is_points() && held.is_points());
        assert!(!accounts::member_wallet("m1").unwrap().is_points());
        for a in [&issued, &held] {
            assert_eq!(AccountId::parse(a.as_str()).as_ref(), Ok(a));
        }
        assert!(
            JournalEntry::transfer(
                "p",
                EntryKind::PointsEarned,
                issued.clone(),
                held,
                Fen::new(5)
            )
            .is_ok()
        );
        let mixed = JournalEntry::transfer(
            "m",
            EntryKind::PointsRedeemed,
            issued,
            accounts::member_wallet("m1").unwrap(),
            Fen::new(5),
        );
        assert_eq!(
            mixed.map_err(field_of),
            Err("postings[1].account".to_owned())
        );
        assert!(AccountId::parse("points:m1:shop:pending").is_err());
    }

    #[test]
    fn account_names_round_trip_through_parse() {
        for a in pool() {
            assert_eq!(AccountId::parse(a.as_str()).as_ref(), Ok(&a));
        }
        assert_eq!(
            accounts::member_wallet("0190a1b2-c3d4").unwrap().as_str(),
            "member:0190a1b2-c3d4:wallet"
        );
        assert_eq!(
            accounts::external_gateway("wechat_pay").unwrap().as_str(),
            "external:gateway:wechat_pay"
        );
        let direct = accounts::merchant_direct("shop-1", "wechat").unwrap();
        assert_eq!(direct.as_str(), "merchant:shop-1:direct:wechat");
        assert_eq!(AccountId::parse(direct.as_str()), Ok(direct));
    }

    #[test]
    fn pooled_accounts_are_the_shared_ones_none_spendable() {
        use accounts::{CommissionState as C, PointsState as P};
        let pooled = [
            accounts::merchant_pending("m").unwrap(),
            accounts::merchant_direct("m", "wechat").unwrap(),
            accounts::external_gateway("alipay").unwrap(),
            accounts::platform_revenue(),
            accounts::points_issued("m").unwrap(),
            accounts::distributor("d", "m", C::Pending).unwrap(),
        ];
        // Every other kind: one owner's, moved by that owner's orders and withdrawals.
        let own = [
            accounts::member_wallet("a").unwrap(),
            accounts::merchant_available("m").unwrap(),
            accounts::distributor("d", "m", C::Frozen).unwrap(),
            accounts::distributor("d", "m", C::Available).unwrap(),
            accounts::distributor("d", "m", C::Withdrawing).unwrap(),
            accounts::points("a", "m", P::Frozen).unwrap(),
            accounts::points("a", "m", P::Available).unwrap(),
        ];
        for a in &pooled {
            assert!(a.is_pooled(), "{a}");
        }
        for a in &own {
            assert!(!a.is_pooled(), "{a}");
        }
    }

    #[test]
    fn malformed_account_names_are_refused() {
        for bad in [
            "",
            "member::wallet",
            "member:a:b:wallet",
            "member:a:purse",
            "merchant:a:frozen",
            "distributor:a:b:paid",
            "distributor:a:pending",
            "merchant:a",
            "external:gateway:",
            "external:gateway:WeChat",
            "external:bank:icbc",
            "merchant:a:direct",
            "merchant:a:direct:",
            "merchant:a:direct:WeChat",
            "merchant::direct:wechat",
            "merchant:a:held:wechat",
            "platform:revenue:x",
            "platform",
            "Platform:revenue",
            "member:a b:wallet",
            "member:甲:wallet",
        ] {
            assert!(AccountId::parse(bad).is_err(), "{bad}");
        }
        assert!(accounts::member_wallet("a:b").is_err());
        assert!(accounts::merchant_pending("").is_err());
        assert!(accounts::merchant_available(&"x".repeat(65)).is_err());
        assert!(accounts::external_gateway(&"x".repeat(33)).is_err());
    }

    #[test]
    fn entry_kinds_round_trip() {
        for k in EntryKind::ALL {
            assert_eq!(EntryKind::from_db(k.as_str()), Some(k));
        }
        assert_eq!(EntryKind::from_db("bonus"), None);
    }

    #[test]
    fn a_payment_through_the_gateway() {
        let gw = accounts::external_gateway("wechat_pay").unwrap();
        let shop = accounts::merchant_pending("shop").unwrap();
        let e = JournalEntry::transfer(
            "pay:o1",
            EntryKind::Payment,
            gw.clone(),
            shop.clone(),
            Fen::new(12_300),
        )
        .unwrap();
        assert_eq!(e.idempotency_key(), "pay:o1");
        assert_eq!(e.kind(), EntryKind::Payment);
        assert_eq!(
            e.postings(),
            &[
                Posting::new(gw.clone(), -12_300),
                Posting::new(shop.clone(), 12_300)
            ]
        );
        let b = balances(&[e]).unwrap();
        assert_eq!(b[&gw], -12_300);
        assert_eq!(b[&shop], 12_300);
    }

    #[test]
    fn invalid_entries_are_refused_naming_the_problem() {
        let [a, b, c] = [
            accounts::member_wallet("a").unwrap(),
            accounts::member_wallet("b").unwrap(),
            accounts::platform_revenue(),
        ];
        let ok = |k: &str| {
            JournalEntry::new(
                k,
                EntryKind::Adjustment,
                vec![Posting::new(a.clone(), 5), Posting::new(b.clone(), -5)],
            )
        };
        assert!(ok("k").is_ok());
        assert!(ok(&"k".repeat(200)).is_ok());
        for bad_key in ["", "has space", "键", "tab\t", &"k".repeat(201)] {
            assert_eq!(field_of(ok(bad_key).unwrap_err()), "idempotency_key");
        }
        let new = |postings| JournalEntry::new("k", EntryKind::Adjustment, postings);
        assert_eq!(field_of(new(vec![]).unwrap_err()), "postings");
        assert_eq!(
            field_of(new(vec![Posting::new(a.clone(), 0)]).unwrap_err()),
            "postings"
        );
        assert_eq!(
            field_of(
                new(vec![Posting::new(a.clone(), 0), Posting::new(b.clone(), 0)]).unwrap_err()
            ),
            "postings[0].amount_fen"
        );
        assert_eq!(
            field_of(
                new(vec![
                    Posting::new(a.clone(), 5),
                    Posting::new(b.clone(), -3),
                    Posting::new(a.clone(), -2),
                ])
                .unwrap_err()
            ),
            "postings[2].account"
        );
        assert_eq!(
            field_of(
                new(vec![
                    Posting::new(a.clone(), 5),
                    Posting::new(b.clone(), -4)
                ])
                .unwrap_err()
            ),
            "postings"
        );
        // Would wrap to zero in unchecked arithmetic: MAX + MAX + 2 = 0 (mod 2^64).
        let wraps = new(vec![
            Posting::new(a.clone(), i64::MAX),
            Posting::new(b.clone(), i64::MAX),
            Posting::new(c.clone(), 2),
        ]);
        assert_eq!(
            wraps,
            Err(DomainError::invalid("postings", "amounts overflow"))
        );

        let transfer = |from: &AccountId, to: &AccountId, fen| {
            JournalEntry::transfer(
                "t",
                EntryKind::Refund,
                from.clone(),
                to.clone(),
                Fen::new(fen),
            )
        };
        assert!(transfer(&a, &b, 1).is_ok());
        assert!(transfer(&a, &b, i64::MAX).is_ok());
        assert_eq!(field_of(transfer(&a, &b, 0).unwrap_err()), "amount");
        assert_eq!(field_of(transfer(&a, &b, -1).unwrap_err()), "amount");
        assert_eq!(field_of(transfer(&a, &a, 1).unwrap_err()), "to");
    }

    #[test]
    fn balances_refuse_to_wrap() {
        let [a, b] = [
            accounts::member_wallet("a").unwrap(),
            accounts::member_wallet("b").unwrap(),
        ];
        let big = |k: &str| {
            JournalEntry::transfer(
                k,
                EntryKind::Adjustment,
                a.clone(),
                b.clone(),
                Fen::new(i64::MAX),
            )
            .unwrap()
        };
        assert!(balances(&[big("1")]).is_ok());
        assert!(balances(&[big("1"), big("2")]).is_err());
    }

    /// Distinct accounts of the pool, each with a non-zero amount, the last one balancing
    /// the rest. Amounts stay small enough that no sum overflows.
    fn balanced_postings() -> impl Strategy<Value = Vec<Posting>> {
        (
            proptest::sample::subsequence(pool(), 2..=6).prop_shuffle(),
            proptest::collection::vec(prop_oneof![-1_000_000_000i64..=-1, 1i64..=1_000_000_000], 6),
        )
            .prop_filter_map("last posting would be zero", |(accounts, amounts)| {
                let n = accounts.len();
                let head: i64 = amounts[..n - 1].iter().sum();
                (head != 0).then(|| {
                    accounts
                        .into_iter()
                        .enumerate()
                        .map(|(i, acc)| {
                            let amt = if i + 1 == n { -head } else { amounts[i] };
                            Posting::new(acc, amt)
                        })
                        .collect()
                })
            })
    }

    proptest! {
        #[test]
        fn random_transfers_conserve_money(
            moves in proptest::collection::vec(
                (0usize..9, 1usize..9, 1i64..=1_000_000_000_000),
                0..80,
            )
        ) {
            let pool = pool();
            let entries: Vec<JournalEntry> = moves
                .iter()
                .enumerate()
                .map(|(i, &(from, step, fen))| {
                    // `step` in 1..9 over a pool of 9 never lands back on `from`.
                    let to = (from + step) % pool.len();
                    JournalEntry::transfer(
                        format!("t{i}"),
                        EntryKind::Adjustment,
                        pool[from].clone(),
                        pool[to].clone(),
                        Fen::new(fen),
                    )
                    .unwrap()
                })
                .collect();
            for e in &entries {
                prop_assert_eq!(e.postings().iter().map(|p| i128::from(p.amount_fen)).sum::<i128>(), 0);
            }
            let b = balances(&entries).unwrap();
            prop_assert_eq!(b.values().map(|v| i128::from(*v)).sum::<i128>(), 0);
            for (account, balance) in &b {
                let own: i128 = entries
                    .iter()
                    .flat_map(JournalEntry::postings)
                    .filter(|p| &p.account == account)
                    .map(|p| i128::from(p.amount_fen))
                    .sum();
                prop_assert_eq!(i128::from(*balance), own);
            }
        }

        #[test]
        fn balanced_postings_are_accepted_and_unbalanced_refused(
            postings in balanced_postings(),
            which in any::<prop::sample::Index>(),
            offset in prop_oneof![-1_000i64..=-1, 1i64..=1_000],
        ) {
            prop_assert!(JournalEntry::new("k", EntryKind::Adjustment, postings.clone()).is_ok());
            let mut skewed = postings;
            let i = which.index(skewed.len());
            skewed[i].amount_fen += offset;
            let has_zero = skewed[i].amount_fen == 0;
            let got = JournalEntry::new("k", EntryKind::Adjustment, skewed);
            // A zero posting is refused for its own reason; either way it must not pass.
            let want = if has_zero { format!("postings[{i}].amount_fen") } else { "postings".to_owned() };
            prop_assert_eq!(got.map_err(field_of), Err(want));
        }

        #[test]
        fn any_valid_id_round_trips(id in "[!-9;-~]{1,64}", which in 0usize..3) {
            let built = match which {
                0 => accounts::member_wallet(&id),
                1 => accounts::merchant_pending(&id),
                _ => accounts::merchant_available(&id),
            }
            .unwrap();
            prop_assert_eq!(AccountId::parse(built.as_str()), Ok(built));
        }

        #[test]
        fn parse_never_panics_and_accepts_only_what_it_prints(s in ".{0,80}") {
            if let Ok(a) = AccountId::parse(&s) {
                prop_assert_eq!(a.as_str(), s.as_str());
            }
        }
    }
}
