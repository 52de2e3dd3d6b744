//! The few values used last (最近使用), by number: segment files kept open for line reads, table
//! blocks kept once checked.
//!
//! Guarantees: at most `capacity` values are kept, the one used longest ago dropped first; a
//! value is made (and may fail) only when it is not kept; safe to share between threads.

use std::sync::{Mutex, PoisonError};

use crate::error::Result;

/// The values used last, newest first.
#[derive(Debug)]
pub(crate) struct Recent<V> {
    capacity: usize,
    kept: Mutex<Vec<(u64, V)>>,
}

impl<V: Clone> Recent<V> {
    pub fn new(capacity: usize) -> Recent<V> {
        Recent { capacity, kept: Mutex::new(Vec::with_capacity(capacity)) }
    }

    /// The value kept for `number`, else `make()`'s, kept from now on.
    pub fn get_or_make(&self, number: u64, make: impl FnOnce() -> Result<V>) -> Result<V> {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = kept.iter().position(|(kept_number, _)| *kept_number == number) {
            let entry = kept.remove(at);
            let value = entry.1.clone();
            kept.insert(0, entry);
            return Ok(value);
        }
        let value = make()?;
        kept.insert(0, (number, value.clone()));
        kept.truncate(self.capacity);
        Ok(value)
    }

    /// Forget every value (what they were made from changed).
    pub fn clear(&self) {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_values_used_last_and_makes_only_the_others() {
        let recent = Recent::new(2);
        let made = std::cell::Cell::new(0);
        let get = |number: u64| {
            recent
                .get_or_make(number, || {
                    made.set(made.get() + 1);
                    Ok(number * 10)
                })
                .unwrap()
        };
        assert_eq!((get(1), get(2), get(1)), (10, 20, 10));
        assert_eq!(made.get(), 2);
        get(3); // 2 was used longest ago: dropped
        get(1);
        assert_eq!(made.get(), 3);
        get(2);
        assert_eq!(made.get(), 4);
        recent.clear();
        get(2);
        assert_eq!(made.get(), 5);
        let failed = recent.get_or_make(9, || Err(crate::error::Error::bad_input("no")));
        assert!(failed.is_err());
        assert_eq!(made.get(), 5);
    }
}
