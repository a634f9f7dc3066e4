//! What changed between two session documents: a small JSON diff, computed when a history is rendered (never
//! on the write path).

use serde_json::Value;

/// One difference: the JSON path (`members.1.properties.custom.mode`) and the values before and after
/// (`None`: absent).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Difference {
    /// Dot-separated path of object keys and array indices; empty for the whole document.
    pub(crate) path: String,
    /// The value before, `None` when it was added.
    pub(crate) before: Option<Value>,
    /// The value after, `None` when it was removed.
    pub(crate) after: Option<Value>,
}

/// The differences between `before` and `after`, in document order: objects are compared key by key and
/// arrays of equal length item by item; anything else that differs is one difference. At most `limit` are
/// returned (the rest are counted in the second value).
pub(crate) fn diff(before: &Value, after: &Value, limit: usize) -> (Vec<Difference>, usize) {
    let mut out = Vec::new();
    let mut more = 0;
    walk(
        before,
        after,
        &mut String::new(),
        &mut out,
        &mut more,
        limit,
    );
    (out, more)
}

fn walk(
    before: &Value,
    after: &Value,
    path: &mut String,
    out: &mut Vec<Difference>,
    more: &mut usize,
    limit: usize,
) {
    if before == after {
        return;
    }
    match (before, after) {
        (Value::Object(old), Value::Object(new)) => {
            for (key, old_value) in old {
                let len = push(path, key);
                match new.get(key) {
                    Some(new_value) => walk(old_value, new_value, path, out, more, limit),
                    None => emit(path, Some(old_value), None, out, more, limit),
                }
                path.truncate(len);
            }
            for (key, new_value) in new.iter().filter(|(key, _)| !old.contains_key(*key)) {
                let len = push(path, key);
                emit(path, None, Some(new_value), out, more, limit);
                path.truncate(len);
            }
        }
        (Value::Array(old), Value::Array(new)) if old.len() == new.len() => {
            for (index, (old_value, new_value)) in old.iter().zip(new).enumerate() {
                let len = push(path, &index.to_string());
                walk(old_value, new_value, path, out, more, limit);
                path.truncate(len);
            }
        }
        _ => emit(path, Some(before), Some(after), out, more, limit),
    }
}

/// Appends `.key` (or `key` at the root); returns the length to truncate back to.
fn push(path: &mut String, key: &str) -> usize {
    let len = path.len();
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
    len
}

fn emit(
    path: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    out: &mut Vec<Difference>,
    more: &mut usize,
    limit: usize,
) {
    if out.len() >= limit {
        *more += 1;
        return;
    }
    out.push(Difference {
        path: path.to_owned(),
        before: before.cloned(),
        after: after.cloned(),
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reports_added_removed_and_changed_leaves_by_path() {
        let before =
            json!({"members": {"0": {"status": "active"}}, "custom": {"mode": "ffa", "gone": 1}});
        let after = json!({"members": {"0": {"status": "ready"}, "1": {"status": "active"}},
            "custom": {"mode": "ffa"}});
        let (found, more) = diff(&before, &after, 10);
        assert_eq!(more, 0);
        let paths: Vec<&str> = found.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["members.0.status", "members.1", "custom.gone"]);
        assert_eq!(found[0].before, Some(json!("active")));
        assert_eq!(found[0].after, Some(json!("ready")));
        assert_eq!(found[1].before, None);
        assert_eq!(found[2].after, None);
    }

    #[test]
    fn arrays_of_other_lengths_and_the_limit() {
        let (found, more) = diff(
            &json!({"a": [1], "b": 1, "c": 1}),
            &json!({"a": [1, 2], "b": 2, "c": 2}),
            2,
        );
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].path, "a");
        assert_eq!(more, 1);
        assert!(diff(&json!({"x": 1}), &json!({"x": 1}), 5).0.is_empty());
    }
}
