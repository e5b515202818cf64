//! Group-buy (拼团): the rules of a campaign and of one group's seats.
//!
//! A merchant's **campaign** sells one SKU at a group price to groups of a fixed size. A
//! member **opens** a group (its leader, optionally at a leader price — 0 is 团长免单) and
//! others **join** it; each order holds one **seat**. A seat is *held* from the moment its
//! order is placed and *paid* when the order is paid, so a group never takes more orders
//! than it has seats: `paid ≤ held ≤ size`, always. The group **succeeds** the moment its
//! last seat is paid and **fails** when its time runs out first (every paid seat refunded).
//! A seat whose order is cancelled or refunded before success is *released* and free
//! again; if that was the leader's, the earliest paid member leads.
//!
//! ```text
//! opening ──leader pays──▶ forming ──last seat paid──▶ succeeded
//!    │                        │
//!    └─leader's order lapses──┴──time runs out / nobody paid left──▶ failed
//! ```

use serde::{Deserialize, Serialize};

use crate::{DomainError, Fen};

/// Smallest and largest group.
pub const MIN_SIZE: i64 = 2;
pub const MAX_SIZE: i64 = 100;
/// How long a group may run: 10 minutes to 7 days (default 24 h).
pub const MIN_DURATION_SECS: i64 = 600;
pub const MAX_DURATION_SECS: i64 = 7 * 24 * 3600;
pub const DEFAULT_DURATION_SECS: i64 = 24 * 3600;
/// Bounds of a campaign's stock and of one member's purchases in it.
pub const MAX_STOCK_LIMIT: i64 = 1_000_000;
pub const MAX_PER_MEMBER: i64 = 100;

/// A campaign's terms, as a merchant asks for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignTerms {
    pub group_size: i64,
    pub group_price: Fen,
    /// `None`: the leader pays the group price.
    pub leader_price: Option<Fen>,
    pub duration_secs: i64,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub stock_limit: i64,
    pub per_member_limit: i64,
    pub leader_bp: i64,
}

impl CampaignTerms {
    /// Checks every bound; `list_price` is the SKU's, which the group price must undercut
    /// (a group-buy is a discount for bringing friends, never a mark-up).
    pub fn validate(self, list_price: Fen) -> Result<Self, DomainError> {
        let t = self;
        if !(MIN_SIZE..=MAX_SIZE).contains(&t.group_size) {
            return Err(DomainError::invalid(
                "group_size",
                format!("must be {MIN_SIZE}–{MAX_SIZE}"),
            ));
        }
        if t.group_price.get() < 1 {
            return Err(DomainError::invalid(
                "group_price_fen",
                "must be at least 1 fen",
            ));
        }
        if t.group_price > list_price {
            return Err(DomainError::invalid(
                "group_price_fen",
                format!(
                    "must not exceed the SKU's list price ({} fen)",
                    list_price.get()
                ),
            ));
        }
        if let Some(l) = t.leader_price
            && (l.get() < 0 || l > t.group_price)
        {
            return Err(DomainError::invalid(
                "leader_price_fen",
                "must be between 0 (leader free) and the group price",
            ));
        }
        if !(MIN_DURATION_SECS..=MAX_DURATION_SECS).contains(&t.duration_secs) {
            return Err(DomainError::invalid(
                "duration_secs",
                format!("must be {MIN_DURATION_SECS}–{MAX_DURATION_SECS} seconds"),
            ));
        }
        if t.ends_at_ms <= t.starts_at_ms {
            return Err(DomainError::invalid("ends_at", "must be after starts_at"));
        }
        if t.stock_limit < t.group_size || t.stock_limit > MAX_STOCK_LIMIT {
            return Err(DomainError::invalid(
                "stock_limit",
                format!("must be between the group size and {MAX_STOCK_LIMIT}"),
            ));
        }
        if !(1..=MAX_PER_MEMBER).contains(&t.per_member_limit) {
            return Err(DomainError::invalid(
                "per_member_limit",
                format!("must be 1–{MAX_PER_MEMBER}"),
            ));
        }
        if !(0..=crate::commission::FULL_BP).contains(&t.leader_bp) {
            return Err(DomainError::invalid(
                "leader_bp",
                "must be 0–10000 basis points",
            ));
        }
        Ok(t)
    }

    /// What the leader pays per seat.
    pub fn leader_unit(&self) -> Fen {
        self.leader_price.unwrap_or(self.group_price)
    }
}

/// Where a group stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupStatus {
    /// Opened; waiting for the leader's payment. Not joinable yet.
    Opening,
    /// The leader paid; joinable until full and paid, or until it expires.
    Forming,
    Succeeded,
    Failed,
}

impl GroupStatus {
    pub const ALL: [GroupStatus; 4] = [Self::Opening, Self::Forming, Self::Succeeded, Self::Failed];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opening => "opening",
            Self::Forming => "forming",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
    /// Whether the group waits for its leader to pay before it opens.
    pub fn waits_for_leader(self) -> bool {
        self == Self::Opening
    }

    pub fn is_over(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// One group as the join rule needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupState {
    pub status: GroupStatus,
    pub size: i64,
    pub held: i64,
    pub paid: i64,
    pub expires_at_ms: Option<i64>,
    pub leader: String,
}

/// Why a member may not take a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinRefusal {
    NotOpenYet,
    Full,
    Expired,
    Over(GroupStatus),
    OwnGroup,
    AlreadyIn,
}

impl JoinRefusal {
    pub fn message(self) -> &'static str {
        match self {
            Self::NotOpenYet => "the group opens when its leader has paid",
            Self::Full => "the group is full",
            Self::Expired => "the group's time has run out",
            Self::Over(GroupStatus::Succeeded) => "the group has already succeeded",
            Self::Over(_) => "the group has failed",
            Self::OwnGroup => "you lead this group; share it instead of joining it",
            Self::AlreadyIn => "you already hold a seat in this group",
        }
    }
}

/// Whether `member` (holding a live seat in the group or not) may take a seat now.
pub fn can_join(
    g: &GroupState,
    member: &str,
    already_in: bool,
    now_ms: i64,
) -> Result<(), JoinRefusal> {
    match g.status {
        GroupStatus::Opening => return Err(JoinRefusal::NotOpenYet),
        s @ (GroupStatus::Succeeded | GroupStatus::Failed) => return Err(JoinRefusal::Over(s)),
        GroupStatus::Forming => {}
    }
    if g.expires_at_ms.is_some_and(|e| now_ms >= e) {
        return Err(JoinRefusal::Expired);
    }
    if g.leader == member {
        return Err(JoinRefusal::OwnGroup);
    }
    if already_in {
        return Err(JoinRefusal::AlreadyIn);
    }
    if g.held >= g.size {
        return Err(JoinRefusal::Full);
    }
    Ok(())
}

/// Whether a seat's payment may be taken now: the group is still gathering (opening for
/// the leader's own payment, forming for everyone) and its time has not run out.
pub fn takes_payment(g: &GroupState, now_ms: i64) -> bool {
    matches!(g.status, GroupStatus::Opening | GroupStatus::Forming)
        && g.expires_at_ms.is_none_or(|e| now_ms < e)
}

/// After a seat's payment: the status the group moves to (`Forming` once the leader has
/// paid; `Succeeded` when that payment fills the last seat).
pub fn after_payment(size: i64, paid_now: i64) -> GroupStatus {
    if paid_now >= size {
        GroupStatus::Succeeded
    } else {
        GroupStatus::Forming
    }
}

/// The member who leads after the leader's seat was released: the earliest paid seat
/// (`(member, paid_at)`, ties broken by member id for determinism). `None`: nobody paid
/// is left and the group fails.
pub fn next_leader<'a>(paid: impl IntoIterator<Item = (&'a str, i64)>) -> Option<&'a str> {
    paid.into_iter()
        .min_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(b.0)))
        .map(|(m, _)| m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn terms() -> CampaignTerms {
        CampaignTerms {
            group_size: 3,
            group_price: Fen::new(9_900),
            leader_price: Some(Fen::new(0)),
            duration_secs: DEFAULT_DURATION_SECS,
            starts_at_ms: 0,
            ends_at_ms: 1,
            stock_limit: 300,
            per_member_limit: 1,
            leader_bp: 500,
        }
    }

    #[test]
    fn campaign_bounds() {
        let list = Fen::new(12_800);
        assert!(terms().validate(list).is_ok());
        let bad = |f: fn(&mut CampaignTerms), field: &str| {
            let mut t = terms();
            f(&mut t);
            match t.validate(list) {
                Err(DomainError::Invalid { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}: {other:?}"),
            }
        };
        bad(|t| t.group_size = 1, "group_size");
        bad(|t| t.group_size = 101, "group_size");
        bad(|t| t.group_price = Fen::new(12_801), "group_price_fen");
        bad(|t| t.group_price = Fen::new(0), "group_price_fen");
        bad(
            |t| t.leader_price = Some(Fen::new(9_901)),
            "leader_price_fen",
        );
        bad(|t| t.duration_secs = 59, "duration_secs");
        bad(|t| t.ends_at_ms = 0, "ends_at");
        bad(|t| t.stock_limit = 2, "stock_limit");
        bad(|t| t.per_member_limit = 0, "per_member_limit");
        bad(|t| t.leader_bp = 10_001, "leader_bp");
        assert_eq!(terms().leader_unit(), Fen::new(0));
        let t = CampaignTerms {
            leader_price: None,
            ..terms()
        };
        assert_eq!(t.leader_unit(), Fen::new(9_900));
    }

    #[test]
    fn join_refusals_name_the_reason() {
        let g = GroupState {
            status: GroupStatus::Forming,
            size: 3,
            held: 2,
            paid: 1,
            expires_at_ms: Some(100),
            leader: "L".into(),
        };
        assert_eq!(can_join(&g, "m", false, 99), Ok(()));
        assert_eq!(can_join(&g, "m", false, 100), Err(JoinRefusal::Expired));
        assert_eq!(can_join(&g, "L", false, 0), Err(JoinRefusal::OwnGroup));
        assert_eq!(can_join(&g, "m", true, 0), Err(JoinRefusal::AlreadyIn));
        let full = GroupState {
            held: 3,
            ..g.clone()
        };
        assert_eq!(can_join(&full, "m", false, 0), Err(JoinRefusal::Full));
        let opening = GroupState {
            status: GroupStatus::Opening,
            ..g.clone()
        };
        assert_eq!(
            can_join(&opening, "m", false, 0),
            Err(JoinRefusal::NotOpenYet)
        );
        assert!(takes_payment(&opening, 0));
        let failed = GroupState {
            status: GroupStatus::Failed,
            ..g
        };
        assert!(!takes_payment(&failed, 0));
    }

    #[test]
    fn the_earliest_paid_member_leads() {
        assert_eq!(next_leader([("b", 5), ("a", 7), ("c", 5)]), Some("b"));
        assert_eq!(next_leader(Vec::<(&str, i64)>::new()), None);
    }

    /// A group driven only through these rules, by any sequence of joins, payments,
    /// releases and clock ticks.
    #[derive(Debug, Clone)]
    enum Step {
        Join(u8),
        Pay(u8),
        Release(u8),
        Tick(i64),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0u8..8).prop_map(Step::Join),
            (0u8..8).prop_map(Step::Pay),
            (0u8..8).prop_map(Step::Release),
            (1i64..40).prop_map(Step::Tick),
        ]
    }

    #[derive(PartialEq)]
    enum Seat {
        Held,
        Paid(i64),
    }

    proptest! {
        /// Never more paid seats than held, nor held than the size; success exactly when
        /// every seat is paid, and only before expiry; a released leader hands over to the
        /// earliest paid member.
        #[test]
        fn seats_never_overflow(size in 2i64..6, steps in proptest::collection::vec(step(), 0..60)) {
            let mut now = 0i64;
            let mut seats: Vec<(String, Seat)> = vec![("m0".into(), Seat::Held)];
            let mut g = GroupState { status: GroupStatus::Opening, size, held: 1, paid: 0, expires_at_ms: None, leader: "m0".into() };
            for s in steps {
                match s {
                    Step::Tick(d) => {
                        now += d;
                        if g.status == GroupStatus::Forming && g.expires_at_ms.is_some_and(|e| now >= e) {
                            g.status = GroupStatus::Failed;
                        }
                    }
                    Step::Join(m) => {
                        let who = format!("m{m}");
                        let inside = seats.iter().any(|(w, _)| *w == who);
                        if can_join(&g, &who, inside, now).is_ok() {
                            seats.push((who, Seat::Held));
                            g.held += 1;
                        }
                    }
                    Step::Pay(m) => {
                        let who = format!("m{m}");
                        let Some(i) = seats.iter().position(|(w, s)| *w == who && *s == Seat::Held) else { continue };
                        if !takes_payment(&g, now) { continue }
                        seats[i].1 = Seat::Paid(now);
                        g.paid += 1;
                        if g.status == GroupStatus::Opening {
                            g.expires_at_ms = Some(now + 100);
                        }
                        g.status = after_payment(g.size, g.paid);
                        if g.status == GroupStatus::Succeeded {
                            prop_assert!(g.expires_at_ms.is_some_and(|e| now < e), "succeeded after expiry");
                        }
                    }
                    Step::Release(m) => {
                        let who = format!("m{m}");
                        if g.status.is_over() { continue }
                        let Some(i) = seats.iter().position(|(w, _)| *w == who) else { continue };
                        let (w, seat) = seats.remove(i);
                        g.held -= 1;
                        if matches!(seat, Seat::Paid(_)) { g.paid -= 1; }
                        if w == g.leader {
                            let paid = seats.iter().filter_map(|(w, s)| match s { Seat::Paid(at) => Some((w.as_str(), *at)), Seat::Held => None });
                            match next_leader(paid) {
                                Some(l) => g.leader = l.to_owned(),
                                None => g.status = GroupStatus::Failed,
                            }
                        }
                    }
                }
                prop_assert!(0 <= g.paid && g.paid <= g.held && g.held <= g.size);
                prop_assert_eq!(g.held as usize, seats.len());
                prop_assert_eq!(g.paid as usize, seats.iter().filter(|(_, s)| matches!(s, Seat::Paid(_))).count());
                if g.status == GroupStatus::Succeeded {
                    prop_assert_eq!(g.paid, g.size);
                }
                if g.status == GroupStatus::Forming {
                    prop_assert!(seats.iter().any(|(w, s)| *w == g.leader && matches!(s, Seat::Paid(_))));
                }
            }
        }
    }
}
