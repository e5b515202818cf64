//! Values crossing the storage boundary. Four shapes are enough for kith: integers
//! (money in fen, counts, Unix milliseconds, booleans as 0/1), text (ids, names, JSON),
//! bytes, and null. No floats: money never is one, and coordinates are micro-degrees.

use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(v.into())
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(v.into())
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Bytes(v.to_vec())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One result row; columns by position, in the order the SELECT names them.
#[derive(Debug, Clone)]
pub struct Row(pub(crate) Vec<Value>);

impl Row {
    pub fn get<T: FromValue>(&self, idx: usize) -> Result<T, StoreError> {
        let v = self
            .0
            .get(idx)
            .ok_or_else(|| StoreError::Decode(format!("no column {idx}")))?;
        T::from_value(v).map_err(|why| StoreError::Decode(format!("column {idx}: {why}")))
    }

    /// Shorthands for the common shapes.
    pub fn int(&self, idx: usize) -> Result<i64, StoreError> {
        self.get(idx)
    }
    pub fn text(&self, idx: usize) -> Result<String, StoreError> {
        self.get(idx)
    }
    pub fn opt_text(&self, idx: usize) -> Result<Option<String>, StoreError> {
        self.get(idx)
    }
    pub fn opt_int(&self, idx: usize) -> Result<Option<i64>, StoreError> {
        self.get(idx)
    }
    pub fn bool(&self, idx: usize) -> Result<bool, StoreError> {
        self.get(idx)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Replaces column `idx` with what the transaction just wrote there, so a row read
    /// before an UPDATE can stand for the row after it without reading it again. Out of
    /// range: nothing changes.
    pub fn set(&mut self, idx: usize, v: impl Into<Value>) {
        if let Some(slot) = self.0.get_mut(idx) {
            *slot = v.into();
        }
    }
}

pub trait FromValue: Sized {
    fn from_value(v: &Value) -> Result<Self, String>;
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Int(i) => Ok(*i),
            other => Err(format!("expected integer, got {other:?}")),
        }
    }
}
impl FromValue for bool {
    fn from_value(v: &Value) -> Result<Self, String> {
        i64::from_value(v).map(|i| i != 0)
    }
}
impl FromValue for String {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            other => Err(format!("expected text, got {other:?}")),
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Bytes(b) => Ok(b.clone()),
            Value::Text(s) => Ok(s.as_bytes().to_vec()),
            other => Err(format!("expected bytes, got {other:?}")),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}
