//! JSON merge semantics of session writes: objects merge recursively and `null` deletes a key.

use serde_json::{Map, Value};

/// Merges `patch` into `target`: objects recursively, `null` deletes the key, anything else replaces it.
pub(crate) fn merge(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.shift_remove(key);
            }
            Value::Object(inner) => {
                if let Some(Value::Object(existing)) = target.get_mut(key) {
                    merge(existing, inner);
                } else {
                    let mut fresh = Map::new();
                    merge(&mut fresh, inner);
                    target.insert(key.clone(), Value::Object(fresh));
                }
            }
            other => {
                target.insert(key.clone(), other.clone());
            }
        }
    }
}

/// Merges `patch` into an optional object-valued slot, creating it when absent.
pub(crate) fn merge_into_slot(slot: &mut Option<Value>, patch: &Map<String, Value>) {
    let mut target = match slot.take() {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    merge(&mut target, patch);
    *slot = (!target.is_empty()).then_some(Value::Object(target));
}

/// Finds the first place where writing `patch` over the constants `existing` would change them.
///
/// Constants are write-once: re-sending the same value (or an empty object) is fine, anything else is a change.
/// Returns the dotted path of the first change, below `path`.
pub(crate) fn constant_change(
    existing: Option<&Value>,
    patch: &Value,
    path: &str,
) -> Option<String> {
    match (patch, existing) {
        (Value::Null, None | Some(Value::Null)) => None,
        (Value::Object(p), _) if p.is_empty() => None,
        (Value::Object(p), Some(Value::Object(e))) => p
            .iter()
            .find_map(|(key, value)| constant_change(e.get(key), value, &format!("{path}.{key}"))),
        (_, Some(e)) if e == patch => None,
        _ => Some(path.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn merges_recursively_and_deletes_nulls() {
        let mut target = obj(json!({"a": {"b": 1, "c": 2}, "d": 3}));
        merge(
            &mut target,
            &obj(json!({"a": {"b": null, "e": {"f": null, "g": 4}}, "d": [1]})),
        );
        assert_eq!(
            Value::Object(target),
            json!({"a": {"c": 2, "e": {"g": 4}}, "d": [1]})
        );
    }

    #[test]
    fn constants_detect_changes_only() {
        let existing = json!({"system": {"version": 1, "visibility": "open"}, "custom": {}});
        assert_eq!(
            constant_change(
                Some(&existing),
                &json!({"system": {"version": 1}}),
                "constants"
            ),
            None
        );
        assert_eq!(
            constant_change(Some(&existing), &json!({"custom": {}}), "constants"),
            None
        );
        assert_eq!(
            constant_change(
                Some(&existing),
                &json!({"system": {"version": 2}}),
                "constants"
            ),
            Some("constants.system.version".to_owned())
        );
        assert_eq!(
            constant_change(Some(&existing), &json!({"custom": {"new": 1}}), "constants"),
            Some("constants.custom.new".to_owned())
        );
    }
}
