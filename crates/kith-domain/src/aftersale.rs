//! After-sales the buyer starts (docs/PRODUCT.md §4, After-sales): the request's legal moves,
//! its kinds and reasons, how many units of a line a request may name, what a confirmed
//! return puts back on the shelf, and what an arbitration decision refunds.
//!
//! ```text
//! requested → agreed → refunding → refunded                       (仅退款)
//!           ↘        → awaiting_return → return_shipped → returned → refunding → refunded (退货退款)
//!            refused → requested      (the buyer revises and resubmits, at most twice)
//!                    → disputed → decided   (the platform decides: all, part or nothing; final)
//! requested | refused | agreed | awaiting_return → cancelled        (by the buyer)
//! awaiting_return | refused → closed                                 (the buyer stayed silent)
//! ```
//!
//! The money a request gives back is not computed here: the refund goes through the order's
//! one refund path ([`crate::pricing::refund_amount`]), which already returns exactly what
//! the lines paid and the shipping with the last units.

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// How many times a refused request may be revised and sent again.
pub const MAX_RESUBMISSIONS: u32 = 2;
/// How many photos a request may carry.
pub const MAX_PHOTOS: usize = 6;

/// 仅退款 or 退货退款.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = AftersaleKind)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 仅退款: the money back, the goods stay (or never left).
    RefundOnly,
    /// 退货退款: the goods go back to the merchant, then the money.
    ReturnRefund,
}

impl Kind {
    /// Whether the goods go back before the money (退货退款).
    pub fn needs_return(self) -> bool {
        self == Self::ReturnRefund
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RefundOnly => "refund_only",
            Self::ReturnRefund => "return_refund",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "refund_only" => Ok(Self::RefundOnly),
            "return_refund" => Ok(Self::ReturnRefund),
            _ => Err(DomainError::invalid(
                "kind",
                "must be refund_only or return_refund",
            )),
        }
    }
}

/// The fixed list of reasons a buyer picks from (their words are in the i18n tables).
pub const REASONS: [&str; 8] = [
    "not_received",
    "damaged",
    "wrong_item",
    "quality",
    "not_as_described",
    "missing_parts",
    "changed_mind",
    "other",
];

/// A reason from [`REASONS`].
pub fn parse_reason(s: &str) -> Result<&'static str, DomainError> {
    REASONS.iter().copied().find(|r| *r == s).ok_or_else(|| {
        DomainError::invalid("reason", format!("must be one of {}", REASONS.join(", ")))
    })
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for the merchant's answer (agreed by default when the merchant is silent).
    Requested,
    /// The merchant agreed; a 仅退款 goes straight on to its refund, a return to awaiting it.
    Agreed,
    /// The merchant refused, with a reason. The buyer may revise, ask for arbitration or
    /// cancel; silence closes it.
    Refused,
    /// Agreed return: the buyer is to send the goods back and enter the tracking number.
    AwaitingReturn,
    /// The buyer sent the goods back; the merchant is to confirm receipt.
    ReturnShipped,
    /// The merchant confirmed receipt (or was silent, which counts as received undamaged).
    Returned,
    /// The money is on its way back through the order's provider.
    Refunding,
    Refunded,
    /// Withdrawn by the buyer.
    Cancelled,
    /// The buyer did not ship the return (or answer a refusal) in time.
    Closed,
    /// The buyer asked the platform to arbitrate a refusal.
    Disputed,
    /// The platform decided; final.
    Decided,
}

impl State {
    pub const ALL: [State; 12] = [
        Self::Requested,
        Self::Agreed,
        Self::Refused,
        Self::AwaitingReturn,
        Self::ReturnShipped,
        Self::Returned,
        Self::Refunding,
        Self::Refunded,
        Self::Cancelled,
        Self::Closed,
        Self::Disputed,
        Self::Decided,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Agreed => "agreed",
            Self::Refused => "refused",
            Self::AwaitingReturn => "awaiting_return",
            Self::ReturnShipped => "return_shipped",
            Self::Returned => "returned",
            Self::Refunding => "refunding",
            Self::Refunded => "refunded",
            Self::Cancelled => "cancelled",
            Self::Closed => "closed",
            Self::Disputed => "disputed",
            Self::Decided => "decided",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// No move leaves these; a request in one of them holds no line and no window.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Refunded | Self::Cancelled | Self::Closed | Self::Decided
        )
    }

    fn refuse(self, action: &'static str) -> DomainError {
        DomainError::IllegalTransition {
            action,
            state: self.as_str().to_owned(),
        }
    }

    /// The merchant (or its silence at the deadline) agrees.
    pub fn agree(self) -> Result<Self, DomainError> {
        match self {
            Self::Requested => Ok(Self::Agreed),
            other => Err(other.refuse("agree")),
        }
    }

    /// After agreement: a 仅退款 goes to its refund, a return waits for the goods.
    pub fn after_agreement(self, kind: Kind) -> Result<Self, DomainError> {
        match (self, kind) {
            (Self::Agreed, Kind::RefundOnly) => Ok(Self::Refunding),
            (Self::Agreed, Kind::ReturnRefund) => Ok(Self::AwaitingReturn),
            (other, _) => Err(other.refuse("proceed after agreement")),
        }
    }

    /// The merchant refuses, with a reason.
    pub fn refuse_request(self) -> Result<Self, DomainError> {
        match self {
            Self::Requested => Ok(Self::Refused),
            other => Err(other.refuse("refuse")),
        }
    }

    /// The buyer revises a refused request and sends it again; `resubmissions` is how many
    /// times that already happened.
    pub fn resubmit(self, resubmissions: u32) -> Result<Self, DomainError> {
        match self {
            Self::Refused if resubmissions < MAX_RESUBMISSIONS => Ok(Self::Requested),
            Self::Refused => Err(DomainError::IllegalTransition {
                action: "resubmit (twice already: ask for arbitration instead)",
                state: self.as_str().to_owned(),
            }),
            other => Err(other.refuse("resubmit")),
        }
    }

    /// The buyer asks the platform to arbitrate a refusal.
    pub fn dispute(self) -> Result<Self, DomainError> {
        match self {
            Self::Refused => Ok(Self::Disputed),
            other => Err(other.refuse("ask for arbitration")),
        }
    }

    /// The platform decides a dispute; final.
    pub fn decide(self) -> Result<Self, DomainError> {
        match self {
            Self::Disputed => Ok(Self::Decided),
            other => Err(other.refuse("decide")),
        }
    }

    /// The buyer entered the return's carrier and tracking number.
    pub fn ship_return(self) -> Result<Self, DomainError> {
        match self {
            Self::AwaitingReturn => Ok(Self::ReturnShipped),
            other => Err(other.refuse("ship the return")),
        }
    }

    /// The merchant confirmed receipt of the return (or its silence counts as receipt).
    pub fn receive(self) -> Result<Self, DomainError> {
        match self {
            Self::ReturnShipped => Ok(Self::Returned),
            other => Err(other.refuse("confirm receipt")),
        }
    }

    /// The goods are back: the refund starts.
    pub fn start_refund(self) -> Result<Self, DomainError> {
        match self {
            Self::Returned => Ok(Self::Refunding),
            other => Err(other.refuse("start the refund")),
        }
    }

    /// The provider confirmed the refund.
    pub fn refunded(self) -> Result<Self, DomainError> {
        match self {
            Self::Refunding => Ok(Self::Refunded),
            other => Err(other.refuse("finish the refund")),
        }
    }

    /// The buyer withdraws the request; only before the goods or the money moved.
    pub fn cancel(self) -> Result<Self, DomainError> {
        match self {
            Self::Requested | Self::Refused | Self::Agreed | Self::AwaitingReturn => {
                Ok(Self::Cancelled)
            }
            other => Err(other.refuse("cancel")),
        }
    }

    /// The buyer's deadline passed: a return not shipped, or a refusal not answered.
    pub fn close(self) -> Result<Self, DomainError> {
        match self {
            Self::AwaitingReturn | Self::Refused => Ok(Self::Closed),
            other => Err(other.refuse("close")),
        }
    }
}

/// How one line stands for a new request: what was bought and what is already refunded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineStanding {
    pub bought: u32,
    pub refunded: u32,
    /// Units named by this line's open requests (at most one is open at a time).
    pub in_open_requests: u32,
}

impl LineStanding {
    /// The most a new request may name of this line.
    pub fn requestable(&self) -> u32 {
        self.bought
            .saturating_sub(self.refunded)
            .saturating_sub(self.in_open_requests)
    }
}

/// Checks a request's `(line index, quantity)` items against the lines: each line named
/// once, with no other open request on it, 1 ≤ quantity ≤ what is left. Errors name the
/// item as `lines[k]`.
pub fn check_request(lines: &[LineStanding], request: &[(usize, u32)]) -> Result<(), DomainError> {
    if request.is_empty() {
        return Err(DomainError::invalid("lines", "name at least one line"));
    }
    for (k, &(index, quantity)) in request.iter().enumerate() {
        let line = lines.get(index).ok_or_else(|| {
            DomainError::invalid(format!("lines[{k}].line_no"), "is not a line of this order")
        })?;
        if request[..k].iter().any(|&(other, _)| other == index) {
            return Err(DomainError::invalid(
                format!("lines[{k}].line_no"),
                "names a line already in this request",
            ));
        }
        if line.in_open_requests > 0 {
            return Err(DomainError::invalid(
                format!("lines[{k}].line_no"),
                "already has an open after-sale request",
            ));
        }
        let left = line.requestable();
        if left == 0 {
            return Err(DomainError::invalid(
                format!("lines[{k}].line_no"),
                "is already refunded in full",
            ));
        }
        if quantity < 1 || quantity > left {
            return Err(DomainError::invalid(
                format!("lines[{k}].quantity"),
                format!("must be 1–{left}, the units bought and not refunded"),
            ));
        }
    }
    Ok(())
}

/// What the merchant says arrived of one returned line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// Units the request returns.
    pub requested: u32,
    pub received: u32,
    pub damaged: u32,
}

impl Receipt {
    /// `received ≤ requested`, `damaged ≤ received`; errors name `lines[k]`.
    pub fn parse(
        k: usize,
        requested: u32,
        received: i64,
        damaged: i64,
    ) -> Result<Self, DomainError> {
        let received = u32::try_from(received)
            .ok()
            .filter(|r| *r <= requested)
            .ok_or_else(|| {
                DomainError::invalid(
                    format!("lines[{k}].received"),
                    format!("must be 0–{requested}, the units returned"),
                )
            })?;
        let damaged = u32::try_from(damaged)
            .ok()
            .filter(|d| *d <= received)
            .ok_or_else(|| {
                DomainError::invalid(
                    format!("lines[{k}].damaged"),
                    format!("must be 0–{received}, the units received"),
                )
            })?;
        Ok(Self {
            requested,
            received,
            damaged,
        })
    }

    /// The merchant's silence: everything arrived, nothing damaged.
    pub fn silent(requested: u32) -> Self {
        Self {
            requested,
            received: requested,
            damaged: 0,
        }
    }

    /// Units that go back on the shelf.
    pub fn restock(&self) -> u32 {
        self.received - self.damaged
    }
}

/// What the platform decides on a dispute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Refund every unit the request named.
    All,
    /// Refund these `(line index, quantity)` items, each at most what the request named.
    Part(Vec<(usize, u32)>),
    /// Refund nothing.
    Nothing,
}

impl Decision {
    /// The units to refund, given the request's `(line index, quantity)` items.
    pub fn units(&self, requested: &[(usize, u32)]) -> Result<Vec<(usize, u32)>, DomainError> {
        match self {
            Self::All => Ok(requested.to_vec()),
            Self::Nothing => Ok(Vec::new()),
            Self::Part(items) => {
                if items.is_empty() {
                    return Err(DomainError::invalid(
                        "lines",
                        "a partial decision names at least one line",
                    ));
                }
                for (k, &(index, quantity)) in items.iter().enumerate() {
                    let asked = requested
                        .iter()
                        .find(|(i, _)| *i == index)
                        .map(|(_, q)| *q)
                        .ok_or_else(|| {
                            DomainError::invalid(
                                format!("lines[{k}].line_no"),
                                "is not a line of this request",
                            )
                        })?;
                    if items[..k].iter().any(|(i, _)| *i == index) {
                        return Err(DomainError::invalid(
                            format!("lines[{k}].line_no"),
                            "names a line twice",
                        ));
                    }
                    if quantity < 1 || quantity > asked {
                        return Err(DomainError::invalid(
                            format!("lines[{k}].quantity"),
                            format!("must be 1–{asked}, the units the request named"),
                        ));
                    }
                }
                Ok(items.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Fen;
    use crate::commission::reversal;
    use crate::pricing::{LineState, refund_amount};
    use proptest::prelude::*;

    #[test]
    fn illegal_moves_are_refused_with_a_typed_error() {
        assert!(matches!(
            State::Refunded.cancel(),
            Err(DomainError::IllegalTransition {
                action: "cancel",
                ..
            })
        ));
        assert!(State::ReturnShipped.cancel().is_err());
        assert!(State::Requested.dispute().is_err());
        assert!(State::Decided.decide().is_err());
        assert!(State::Agreed.receive().is_err());
        assert_eq!(State::Refused.resubmit(0), Ok(State::Requested));
        assert_eq!(State::Refused.resubmit(1), Ok(State::Requested));
        assert!(State::Refused.resubmit(2).is_err());
        assert_eq!(State::Refused.dispute(), Ok(State::Disputed));
        assert_eq!(
            State::Agreed.after_agreement(Kind::ReturnRefund),
            Ok(State::AwaitingReturn)
        );
        for s in State::ALL {
            assert_eq!(State::from_db(s.as_str()), Some(s));
            if s.is_final() {
                let moves = [
                    s.agree(),
                    s.refuse_request(),
                    s.resubmit(0),
                    s.dispute(),
                    s.decide(),
                    s.ship_return(),
                    s.receive(),
                    s.start_refund(),
                    s.refunded(),
                    s.cancel(),
                    s.close(),
                ];
                assert!(moves.iter().all(Result::is_err), "{s:?} moved");
            }
        }
    }

    #[test]
    fn requests_name_what_is_left_and_nothing_else() {
        let lines = [
            LineStanding {
                bought: 3,
                refunded: 1,
                in_open_requests: 0,
            },
            LineStanding {
                bought: 2,
                refunded: 2,
                in_open_requests: 0,
            },
            LineStanding {
                bought: 2,
                refunded: 0,
                in_open_requests: 1,
            },
        ];
        assert!(check_request(&lines, &[(0, 2)]).is_ok());
        let field = |r: Result<(), DomainError>| match r {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(check_request(&lines, &[(0, 3)])), "lines[0].quantity");
        assert_eq!(
            field(check_request(&lines, &[(0, 1), (1, 1)])),
            "lines[1].line_no"
        );
        assert_eq!(field(check_request(&lines, &[(2, 1)])), "lines[0].line_no");
        assert_eq!(field(check_request(&lines, &[(9, 1)])), "lines[0].line_no");
        assert_eq!(field(check_request(&lines, &[])), "lines");
        assert_eq!(field(check_request(&lines, &[(0, 0)])), "lines[0].quantity");
    }

    #[test]
    fn receipts_are_bounded() {
        assert!(Receipt::parse(0, 2, 3, 0).is_err());
        assert!(Receipt::parse(0, 2, 2, 3).is_err());
        assert!(Receipt::parse(0, 2, -1, 0).is_err());
        assert_eq!(Receipt::parse(0, 3, 2, 1).map(|r| r.restock()), Ok(1));
        assert_eq!(Receipt::silent(4).restock(), 4);
    }

    /// One step of a random history: a request on some lines, and how it ends.
    #[derive(Debug, Clone)]
    enum Ending {
        Agreed,
        Returned {
            received_pct: u32,
            damaged_pct: u32,
            silent: bool,
        },
        Refused {
            resubmits: u32,
            then: Box<Ending>,
        },
        Arbitrated {
            decision: u8,
            part_pct: u32,
        },
        Cancelled,
        Closed,
    }

    fn ending() -> impl Strategy<Value = Ending> {
        let leaf = prop_oneof![
            Just(Ending::Agreed),
            (0u32..=100, 0u32..=100, any::<bool>()).prop_map(|(r, d, silent)| Ending::Returned {
                received_pct: r,
                damaged_pct: d,
                silent
            }),
            (0u8..3, 0u32..=100)
                .prop_map(|(decision, part_pct)| Ending::Arbitrated { decision, part_pct }),
            Just(Ending::Cancelled),
            Just(Ending::Closed),
        ];
        leaf.prop_recursive(2, 4, 1, |inner| {
            (0u32..4, inner).prop_map(|(resubmits, then)| Ending::Refused {
                resubmits,
                then: Box::new(then),
            })
        })
    }

    /// `(line index, units)` pairs.
    type Units = Vec<(usize, u32)>;

    /// Plays one request through the state machine; returns the final state and the units
    /// refunded and restocked, per line.
    fn play(kind: Kind, ending: &Ending, asked: &[(usize, u32)]) -> (State, Units, Units) {
        let mut s = State::Requested;
        let mut resubmissions = 0;
        let mut ending = ending.clone();
        loop {
            match ending {
                Ending::Refused { resubmits, then } => {
                    s = s.refuse_request().unwrap();
                    for _ in 0..resubmits {
                        match s.resubmit(resubmissions) {
                            Ok(next) => {
                                resubmissions += 1;
                                s = next.refuse_request().unwrap();
                            }
                            Err(_) => assert_eq!(resubmissions, MAX_RESUBMISSIONS),
                        }
                    }
                    match *then {
                        Ending::Arbitrated { .. } | Ending::Cancelled | Ending::Closed => {}
                        // A refused request only ends by arbitration, cancellation or silence;
                        // an agreement needs a fresh submission.
                        _ => match s.resubmit(resubmissions) {
                            Ok(next) => s = next,
                            Err(_) => return (s.close().unwrap(), vec![], vec![]),
                        },
                    }
                    ending = *then;
                }
                Ending::Agreed | Ending::Returned { .. } => {
                    s = s.agree().unwrap().after_agreement(kind).unwrap();
                    let mut restock = Vec::new();
                    if kind == Kind::ReturnRefund {
                        s = s.ship_return().unwrap().receive().unwrap();
                        let (r, d, silent) = match ending {
                            Ending::Returned {
                                received_pct,
                                damaged_pct,
                                silent,
                            } => (received_pct, damaged_pct, silent),
                            _ => (100, 0, true),
                        };
                        for &(i, q) in asked {
                            let receipt = if silent {
                                Receipt::silent(q)
                            } else {
                                let received = i64::from(q * r / 100);
                                let damaged = received * i64::from(d) / 100;
                                Receipt::parse(0, q, received, damaged).unwrap()
                            };
                            restock.push((i, receipt.restock()));
                        }
                        s = s.start_refund().unwrap();
                    }
                    return (s.refunded().unwrap(), asked.to_vec(), restock);
                }
                Ending::Arbitrated { decision, part_pct } => {
                    if s == State::Requested {
                        s = s.refuse_request().unwrap();
                    }
                    s = s.dispute().unwrap();
                    let d = match decision {
                        0 => Decision::All,
                        1 => Decision::Nothing,
                        _ => Decision::Part(
                            asked
                                .iter()
                                .map(|&(i, q)| (i, (q * part_pct / 100).max(1)))
                                .collect(),
                        ),
                    };
                    let units = d.units(asked).unwrap();
                    return (s.decide().unwrap(), units, vec![]);
                }
                Ending::Cancelled => return (s.cancel().unwrap(), vec![], vec![]),
                Ending::Closed => {
                    if s == State::Requested {
                        s = s
                            .agree()
                            .unwrap()
                            .after_agreement(Kind::ReturnRefund)
                            .unwrap();
                    }
                    return (s.close().unwrap(), vec![], vec![]);
                }
            }
        }
    }

    proptest! {
        /// Over random histories of requests on an order: nothing is refunded past what a
        /// line paid, every refund and the commission taken back add up exactly, and the
        /// stock put back is the undamaged units received.
        #[test]
        fn random_request_histories_keep_the_money_and_the_stock_straight(
            units in proptest::collection::vec((1i64..50_000, 1u32..6), 1..4),
            shipping in 0i64..2_000,
            commission_bp in 0i64..3_000,
            history in proptest::collection::vec(
                (any::<bool>(), proptest::collection::vec((0usize..4, 1u32..6), 1..3), ending()),
                0..8,
            ),
        ) {
            let mut lines: Vec<LineState> = units
                .iter()
                .map(|&(unit, quantity)| LineState { unit: Fen::new(unit), quantity, refunded_quantity: 0, discount: Fen::ZERO, refunded_money: Fen::ZERO })
                .collect();
            let goods: i64 = lines.iter().map(|l| l.unit.get() * i64::from(l.quantity)).sum();
            let paid = goods + shipping;
            let commission = goods * commission_bp / 10_000;
            let mut refunded = 0i64;
            let mut goods_refunded = 0i64;
            let mut reversed = 0i64;
            let mut refunded_per_line = vec![0i64; lines.len()];
            let mut restocked = vec![0u32; lines.len()];
            let mut received_undamaged = vec![0u32; lines.len()];
            for (is_return, asked, end) in history {
                let kind = if is_return { Kind::ReturnRefund } else { Kind::RefundOnly };
                let standing: Vec<LineStanding> = lines
                    .iter()
                    .map(|l| LineStanding { bought: l.quantity, refunded: l.refunded_quantity, in_open_requests: 0 })
                    .collect();
                if check_request(&standing, &asked).is_err() {
                    // Refused requests change nothing; asking more than is left always is.
                    for &(i, q) in &asked {
                        if let Some(l) = standing.get(i) {
                            prop_assert!(q <= l.requestable() || check_request(&standing, &[(i, q)]).is_err());
                        }
                    }
                    continue;
                }
                let (end_state, units, restock) = play(kind, &end, &asked);
                prop_assert!(end_state.is_final());
                for (i, q) in restock {
                    restocked[i] += q;
                }
                for &(i, q) in &asked {
                    if kind == Kind::ReturnRefund && end_state == State::Refunded {
                        received_undamaged[i] += q;
                    }
                }
                if units.is_empty() {
                    continue;
                }
                let plan = refund_amount(&lines, Fen::new(shipping), Fen::new(refunded), &units);
                let Ok(plan) = plan else { continue };
                let goods_now: i64 = plan.per_line.iter().map(|(_, _, a)| a.get()).sum();
                reversed += reversal(commission, goods, goods_refunded, goods_refunded + goods_now);
                goods_refunded += goods_now;
                refunded += plan.amount.get();
                for (i, q, a) in &plan.per_line {
                    lines[*i].refunded_quantity += q;
                    refunded_per_line[*i] += a.get();
                }
            }
            for (i, l) in lines.iter().enumerate() {
                prop_assert!(refunded_per_line[i] <= l.unit.get() * i64::from(l.quantity));
                prop_assert!(restocked[i] <= received_undamaged[i]);
                prop_assert!(l.refunded_quantity <= l.quantity);
            }
            prop_assert!(refunded <= paid);
            let all_back = lines.iter().all(|l| l.refunded_quantity == l.quantity);
            if all_back {
                prop_assert_eq!(refunded, paid);
                prop_assert_eq!(reversed, commission);
            } else {
                prop_assert_eq!(refunded, goods_refunded);
                prop_assert_eq!(reversed, commission * goods_refunded / goods.max(1));
            }
        }
    }
}
