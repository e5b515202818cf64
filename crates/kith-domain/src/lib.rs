//! # kith-domain
//!
//! The pure core of kith: values that can only be built by parsing (a phone number, an
//! email, a password that meets the policy, a tier code, opening hours), the legal moves
//! of a merchant application and of an order, money as integer fen with the ledger's
//! double-entry rules and the pricing of orders and refunds, and the clock that every time
//! rule reads.
//!
//! Architecture invariant: this crate knows nothing of HTTP, SQL, async or the file system.
//! Everything here is deterministic given its inputs (and the injected [`Clock`]), which is
//! what lets the rules be property-tested.

pub mod aftersale;
pub mod clock;
pub mod commission;
pub mod error;
pub mod flash_sale;
pub mod group_buy;
pub mod identity;
pub mod ledger;
pub mod merchant;
pub mod money;
pub mod neighbourhood;
pub mod order;
pub mod order_price;
pub mod points;
pub mod pricing;
pub mod promotion;
pub mod refund;
pub mod region;
pub mod signature;
pub mod store;
pub mod text;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::DomainError;
pub use identity::{Email, LoginId, Password, Phone};
pub use ledger::{AccountId, EntryKind, JournalEntry, Posting};
pub use merchant::{MerchantStatus, StaffRole, TierCode};
pub use money::Fen;
pub use order::{DeliveryMethod, OrderKind, OrderStatus};
pub use pricing::{Quantity, RefundPlan, ShippingRule, Totals};
pub use promotion::{CouponState, PromotionStatus};
pub use store::{Coordinates, OpeningHours};
pub use text::BoundedText;
