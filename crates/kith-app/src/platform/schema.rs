//! OpenAPI fragments for rules a Rust type does not show: a string field that takes one of
//! a fixed list of words (kept a `String` where the use case parses it with its own 422).
//! The document then states the words, so a client (and the API fuzzer) can send one.

use utoipa::openapi::Object;
use utoipa::openapi::schema::{ObjectBuilder, Type};

/// A string schema whose value is one of `values`.
pub fn one_of(values: &[&str]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

#[cfg(test)]
mod tests {
    #[test]
    fn states_the_words() {
        let json = serde_json::to_value(super::one_of(&["a", "b"])).unwrap();
        assert_eq!(json["type"], "string");
        assert_eq!(json["enum"], serde_json::json!(["a", "b"]));
    }
}
