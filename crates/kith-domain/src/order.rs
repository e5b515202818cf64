//! Orders: where an order stands and the legal moves between states (docs/PRODUCT.md §4), and how
//! it reaches its buyer. This module owns only the state machine; prices and totals live
//! in [`crate::pricing`], money movements in [`crate::ledger`].
//!
//! ```text
//! pending_payment → paid → (awaiting_group) → fulfilling → shipped → delivered  → completed
//!                                                        ↘ ready_for_pickup → picked_up ↗
//! pending_payment → cancelled                 (before payment, or on timeout)
//! any paid state (completed included) → refunded   (a full refund)
//! ```
//!
//! Partial refunds are per line and do not change the status; they are tracked on the
//! lines (see [`crate::pricing::refund_amount`]). Only a refund of everything moves the
//! order to `refunded`.

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Created, stock reserved, waiting for the buyer to pay (times out into `cancelled`).
    PendingPayment,
    /// Paid; an ordinary order moves on to fulfilment, a group-buy order waits for its group.
    Paid,
    /// Paid into a group-buy that has not filled yet.
    AwaitingGroup,
    /// The merchant is preparing the goods.
    Fulfilling,
    Shipped,
    ReadyForPickup,
    Delivered,
    PickedUp,
    /// The after-sale window is over. Still refundable (by the merchant), hence not terminal.
    Completed,
    Cancelled,
    Refunded,
}

impl OrderStatus {
    /// Every status, in the order of the happy path; for tables and tests.
    pub const ALL: [OrderStatus; 11] = [
        Self::PendingPayment,
        Self::Paid,
        Self::AwaitingGroup,
        Self::Fulfilling,
        Self::Shipped,
        Self::ReadyForPickup,
        Self::Delivered,
        Self::PickedUp,
        Self::Completed,
        Self::Cancelled,
        Self::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "pending_payment",
            Self::Paid => "paid",
            Self::AwaitingGroup => "awaiting_group",
            Self::Fulfilling => "fulfilling",
            Self::Shipped => "shipped",
            Self::ReadyForPickup => "ready_for_pickup",
            Self::Delivered => "delivered",
            Self::PickedUp => "picked_up",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// No move leaves a terminal state. `completed` is not terminal: a completed order can
    /// still be refunded.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Cancelled | Self::Refunded)
    }

    /// Whether money was taken and not yet given back in full: exactly the states a full
    /// refund may start from.
    pub fn can_refund(self) -> bool {
        matches!(
            self,
            Self::Paid
                | Self::AwaitingGroup
                | Self::Fulfilling
                | Self::Shipped
                | Self::ReadyForPickup
                | Self::Delivered
                | Self::PickedUp
                | Self::Completed
        )
    }

    /// The payment gateway confirmed the payment.
    pub fn pay(self) -> Result<Self, DomainError> {
        match self {
            Self::PendingPayment => Ok(Self::Paid),
            other => Err(other.refuse("pay")),
        }
    }

    /// A paid group-buy order waits for its group to fill.
    pub fn await_group(self) -> Result<Self, DomainError> {
        match self {
            Self::Paid => Ok(Self::AwaitingGroup),
            other => Err(other.refuse("await a group")),
        }
    }

    /// The merchant starts preparing: straight after payment, or when the group filled.
    pub fn start_fulfilment(self) -> Result<Self, DomainError> {
        match self {
            Self::Paid | Self::AwaitingGroup => Ok(Self::Fulfilling),
            other => Err(other.refuse("start fulfilment")),
        }
    }

    /// Whether the buyer may pay now (the pages' 去支付).
    pub fn can_pay(self) -> bool {
        self.pay().is_ok()
    }

    /// Whether the merchant may ship the order now (a shipping order being fulfilled).
    pub fn can_ship(self, method: DeliveryMethod) -> bool {
        self.ship(method).is_ok()
    }

    /// Whether the merchant may mark the order ready for pickup now.
    pub fn can_mark_ready(self, method: DeliveryMethod) -> bool {
        self.mark_ready(method).is_ok()
    }

    /// Whether the buyer may confirm delivery now (确认收货).
    pub fn can_confirm_delivery(self) -> bool {
        self.deliver().is_ok()
    }

    /// The merchant hands a shipping order to the carrier.
    pub fn ship(self, method: DeliveryMethod) -> Result<Self, DomainError> {
        match (self, method) {
            // Checked first, so the error says why rather than only where the order stands.
            (other, DeliveryMethod::Pickup) => Err(other.refuse("ship a pickup order")),
            (Self::Fulfilling, DeliveryMethod::Shipping) => Ok(Self::Shipped),
            (other, DeliveryMethod::Shipping) => Err(other.refuse("ship")),
        }
    }

    /// The goods of a pickup order wait at the store.
    pub fn mark_ready(self, method: DeliveryMethod) -> Result<Self, DomainError> {
        match (self, method) {
            (other, DeliveryMethod::Shipping) => {
                Err(other.refuse("mark a shipping order ready for pickup"))
            }
            (Self::Fulfilling, DeliveryMethod::Pickup) => Ok(Self::ReadyForPickup),
            (other, DeliveryMethod::Pickup) => Err(other.refuse("mark ready for pickup")),
        }
    }

    /// The carrier (or the buyer) confirmed delivery.
    pub fn deliver(self) -> Result<Self, DomainError> {
        match self {
            Self::Shipped => Ok(Self::Delivered),
            other => Err(other.refuse("deliver")),
        }
    }

    /// A clerk redeemed the pickup code.
    pub fn pick_up(self) -> Result<Self, DomainError> {
        match self {
            Self::ReadyForPickup => Ok(Self::PickedUp),
            other => Err(other.refuse("pick up")),
        }
    }

    /// The after-sale window closed after delivery or pickup.
    pub fn complete(self) -> Result<Self, DomainError> {
        match self {
            Self::Delivered | Self::PickedUp => Ok(Self::Completed),
            other => Err(other.refuse("complete")),
        }
    }

    /// The buyer cancels, or the unpaid-order timeout fires. Only before payment: after it,
    /// giving the money back is a refund, which goes through the ledger.
    pub fn cancel(self) -> Result<Self, DomainError> {
        match self {
            Self::PendingPayment => Ok(Self::Cancelled),
            other => Err(other.refuse("cancel")),
        }
    }

    /// Everything paid is given back (a failed group, or a refund of every line).
    pub fn refund_fully(self) -> Result<Self, DomainError> {
        if self.can_refund() {
            Ok(Self::Refunded)
        } else {
            Err(self.refuse("refund"))
        }
    }

    fn refuse(self, action: &'static str) -> DomainError {
        DomainError::IllegalTransition {
            action,
            state: self.as_str().to_owned(),
        }
    }
}

/// How the goods reach the buyer: by carrier to an address, or collected at a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMethod {
    Shipping,
    Pickup,
}

impl DeliveryMethod {
    pub fn is_pickup(self) -> bool {
        self == Self::Pickup
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shipping => "shipping",
            Self::Pickup => "pickup",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "shipping" => Some(Self::Shipping),
            "pickup" => Some(Self::Pickup),
            _ => None,
        }
    }
}

/// What an order was placed as. An ordinary order (a checkout or a 秒杀) is `Plain`; a
/// group-buy seat and a 接龙 join have rows of their own beside the order, which the order
/// lifecycle's hooks for that kind look after — and only for orders of that kind, so a plain
/// order's payment asks no group or batch table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderKind {
    Plain,
    /// A group-buy (拼团) seat.
    Group,
    /// A 接龙 batch join.
    Batch,
}

impl OrderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Group => "group",
            Self::Batch => "batch",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "plain" => Some(Self::Plain),
            "group" => Some(Self::Group),
            "batch" => Some(Self::Batch),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryMethod::{Pickup, Shipping};
    use OrderStatus::*;
    use proptest::prelude::*;

    /// Every move, with the delivery method baked in for the two that read it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Action {
        Pay,
        AwaitGroup,
        StartFulfilment,
        Ship(DeliveryMethod),
        MarkReady(DeliveryMethod),
        Deliver,
        PickUp,
        Complete,
        Cancel,
        RefundFully,
    }

    const ACTIONS: [Action; 12] = [
        Action::Pay,
        Action::AwaitGroup,
        Action::StartFulfilment,
        Action::Ship(Shipping),
        Action::Ship(Pickup),
        Action::MarkReady(Shipping),
        Action::MarkReady(Pickup),
        Action::Deliver,
        Action::PickUp,
        Action::Complete,
        Action::Cancel,
        Action::RefundFully,
    ];

    fn apply(state: OrderStatus, action: Action) -> Result<OrderStatus, DomainError> {
        match action {
            Action::Pay => state.pay(),
            Action::AwaitGroup => state.await_group(),
            Action::StartFulfilment => state.start_fulfilment(),
            Action::Ship(m) => state.ship(m),
            Action::MarkReady(m) => state.mark_ready(m),
            Action::Deliver => state.deliver(),
            Action::PickUp => state.pick_up(),
            Action::Complete => state.complete(),
            Action::Cancel => state.cancel(),
            Action::RefundFully => state.refund_fully(),
        }
    }

    /// The whole machine, written out by hand from docs/PRODUCT.md §4: every legal move and where it
    /// leads. Anything not listed must be refused.
    fn legal() -> Vec<(OrderStatus, Action, OrderStatus)> {
        let mut moves = vec![
            (PendingPayment, Action::Pay, Paid),
            (PendingPayment, Action::Cancel, Cancelled),
            (Paid, Action::AwaitGroup, AwaitingGroup),
            (Paid, Action::StartFulfilment, Fulfilling),
            (AwaitingGroup, Action::StartFulfilment, Fulfilling),
            (Fulfilling, Action::Ship(Shipping), Shipped),
            (Fulfilling, Action::MarkReady(Pickup), ReadyForPickup),
            (Shipped, Action::Deliver, Delivered),
            (ReadyForPickup, Action::PickUp, PickedUp),
            (Delivered, Action::Complete, Completed),
            (PickedUp, Action::Complete, Completed),
        ];
        for from in [
            Paid,
            AwaitingGroup,
            Fulfilling,
            Shipped,
            ReadyForPickup,
            Delivered,
            PickedUp,
            Completed,
        ] {
            moves.push((from, Action::RefundFully, Refunded));
        }
        moves
    }

    #[test]
    fn exactly_the_legal_moves_succeed() {
        let legal = legal();
        let mut checked = 0;
        for state in OrderStatus::ALL {
            for action in ACTIONS {
                let expected = legal
                    .iter()
                    .find(|(from, a, _)| *from == state && *a == action)
                    .map(|(_, _, to)| *to);
                match (apply(state, action), expected) {
                    (Ok(got), Some(want)) => assert_eq!(got, want, "{state:?} {action:?}"),
                    (Err(DomainError::IllegalTransition { state: s, .. }), None) => {
                        assert_eq!(s, state.as_str(), "{action:?}")
                    }
                    (got, want) => panic!("{state:?} {action:?}: got {got:?}, want {want:?}"),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 11 * 12);
    }

    #[test]
    fn wrong_delivery_method_says_why() {
        let msg = Fulfilling.ship(Pickup).unwrap_err().to_string();
        assert_eq!(msg, "cannot ship a pickup order while fulfilling");
        let msg = Fulfilling.mark_ready(Shipping).unwrap_err().to_string();
        assert_eq!(
            msg,
            "cannot mark a shipping order ready for pickup while fulfilling"
        );
    }

    #[test]
    fn can_refund_matches_refund_fully_and_terminal_states() {
        for s in OrderStatus::ALL {
            assert_eq!(s.can_refund(), s.refund_fully().is_ok(), "{s:?}");
            assert_eq!(s.is_terminal(), matches!(s, Cancelled | Refunded), "{s:?}");
        }
        assert!(!Completed.is_terminal());
        assert!(Completed.can_refund());
        assert!(!PendingPayment.can_refund());
    }

    #[test]
    fn names_round_trip_and_match_serde() {
        use serde::de::{IntoDeserializer, value::StrDeserializer};
        fn serde_name<T: for<'de> Deserialize<'de>>(s: &str) -> Option<T> {
            let d: StrDeserializer<'_, serde::de::value::Error> = s.into_deserializer();
            T::deserialize(d).ok()
        }
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::from_db(s.as_str()), Some(s));
            assert_eq!(serde_name::<OrderStatus>(s.as_str()), Some(s));
        }
        for m in [Shipping, Pickup] {
            assert_eq!(DeliveryMethod::from_db(m.as_str()), Some(m));
            assert_eq!(serde_name::<DeliveryMethod>(m.as_str()), Some(m));
        }
        assert_eq!(OrderStatus::from_db("Paid"), None);
        assert_eq!(DeliveryMethod::from_db("express"), None);
    }

    /// Any action, with the two that end an order (cancel, refund) rarer, so that many
    /// walks get as far as `completed` before ending.
    fn any_action() -> impl Strategy<Value = Action> {
        let onward: Vec<Action> = ACTIONS
            .into_iter()
            .filter(|a| !matches!(a, Action::Cancel | Action::RefundFully))
            .collect();
        prop_oneof![
            8 => proptest::sample::select(onward),
            1 => Just(Action::Cancel),
            1 => Just(Action::RefundFully),
        ]
    }

    proptest! {
        /// Random walks from a new order: the machine never escapes its states, a terminal
        /// state is never left, `completed` is only reached from `delivered` or `picked_up`,
        /// and an order goes only the way its delivery method allows.
        #[test]
        fn random_walks_keep_the_invariants(
            pickup in any::<bool>(),
            actions in proptest::collection::vec(any_action(), 0..60),
        ) {
            let method = if pickup { Pickup } else { Shipping };
            let mut state = PendingPayment;
            for action in actions {
                // The caller only ever passes the order's own method.
                let action = match action {
                    Action::Ship(_) => Action::Ship(method),
                    Action::MarkReady(_) => Action::MarkReady(method),
                    a => a,
                };
                match apply(state, action) {
                    Ok(next) => {
                        prop_assert!(OrderStatus::ALL.contains(&next));
                        prop_assert!(!state.is_terminal(), "left {state:?} by {action:?}");
                        if next == Completed {
                            prop_assert!(matches!(state, Delivered | PickedUp), "{state:?}");
                        }
                        match method {
                            Shipping => prop_assert!(!matches!(next, ReadyForPickup | PickedUp)),
                            Pickup => prop_assert!(!matches!(next, Shipped | Delivered)),
                        }
                        state = next;
                    }
                    Err(e) => {
                        let refused_here = matches!(
                            e,
                            DomainError::IllegalTransition { state: ref s, .. } if s == state.as_str()
                        );
                        prop_assert!(refused_here, "{e:?}");
                    }
                }
            }
        }
    }
}
