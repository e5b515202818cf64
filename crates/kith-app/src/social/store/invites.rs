//! invites
