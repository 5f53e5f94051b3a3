//! The client's roots in a legacy session: the answer to `roots/list` is
//! kept until the client sends `notifications/roots/list_changed`, so tools
//! that need the roots on every call ask the client once.

use crate::sync::MutexExt;
use serde_json::Value;
use std::sync::Mutex;

/// A session's cached `roots/list` result, with a generation that moves on
/// each change so an answer fetched across a change is not kept.
#[derive(Debug, Default)]
pub(crate) struct RootsCache {
    state: Mutex<(u64, Option<Value>)>,
}

impl RootsCache {
    /// The cached result, or the generation to store a fresh one under.
    pub(crate) fn get(&self) -> Result<Value, u64> {
        let st = self.state.lock_unpoisoned();
        st.1.clone().ok_or(st.0)
    }

    /// Keep `v`, fetched during generation `gen`, unless the roots changed since.
    pub(crate) fn put(&self, gen: u64, v: Value) {
        let mut st = self.state.lock_unpoisoned();
        if st.0 == gen {
            st.1 = Some(v);
        }
    }

    /// The client's roots changed: forget them.
    pub(crate) fn invalidate(&self) {
        let mut st = self.state.lock_unpoisoned();
        st.0 += 1;
        st.1 = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_an_answer_until_invalidated_and_drops_a_stale_one() {
        let c = RootsCache::default();
        let g = c.get().unwrap_err();
        c.put(g, json!({"roots": []}));
        assert_eq!(c.get().unwrap(), json!({"roots": []}));
        c.invalidate();
        let g2 = c.get().unwrap_err();
        assert_ne!(g, g2);
        c.put(g, json!({"roots": ["stale"]})); // fetched before the change
        assert!(c.get().is_err());
        c.put(g2, json!({"roots": ["fresh"]}));
        assert_eq!(c.get().unwrap(), json!({"roots": ["fresh"]}));
    }
}
