//! reviews
