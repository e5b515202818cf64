//! communities
