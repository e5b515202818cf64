//! (scenarios being written)
