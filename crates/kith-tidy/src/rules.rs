//! The rules, one module each. Every checker is a plain function from files in memory to
//! [`Problem`](crate::Problem)s, so a unit test can break it on purpose and `tests/tidy.rs`
//! can run it over the real tree.

pub mod app_sql;
pub mod codemap;
pub mod context_cycles;
pub mod faces_sql;
pub mod file_size;
pub mod pure_domain;
pub mod schema_names;
pub mod self_contained;
pub mod test_modules;
