//! What a regeneration changes in the Rust surface of the generated types, whatever caused it: a spec change,
//! or a change of the generator (its settings, `transform.rs`, `postprocess.rs`). [`crate::spec_diff`] sees
//! only the spec; this compares the public fields of the generated structs of `types` between two versions
//! of `generated.rs`. A field whose type changed, or that is gone, breaks callers that read or set it; a new
//! field or struct breaks none (the structs are `#[non_exhaustive]`).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use syn::{Fields, Item};

use crate::change::{Change, Class};

/// `struct → field → type` of the `types` module (builders left out: they follow their structs).
fn surface(source: &str) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    let file: syn::File = syn::parse_str(source).context("generated.rs does not parse")?;
    let mut out = BTreeMap::new();
    let types = file.items.iter().find_map(|item| match item {
        Item::Mod(m) if m.ident == "types" => m.content.as_ref().map(|(_, items)| items),
        _ => None,
    });
    for item in types.into_iter().flatten() {
        let Item::Struct(s) = item else {
            continue;
        };
        let mut fields = BTreeMap::new();
        match &s.fields {
            Fields::Named(named) => {
                for field in &named.named {
                    if let (syn::Visibility::Public(_), Some(ident)) = (&field.vis, &field.ident) {
                        fields.insert(ident.to_string(), type_text(&field.ty));
                    }
                }
            }
            Fields::Unnamed(unnamed) => {
                for (i, field) in unnamed.unnamed.iter().enumerate() {
                    fields.insert(i.to_string(), type_text(&field.ty));
                }
            }
            Fields::Unit => {}
        }
        out.insert(s.ident.to_string(), fields);
    }
    Ok(out)
}

/// A type as a reader writes it: no spaces, no absolute prefixes of the usual crates.
fn type_text(ty: &syn::Type) -> String {
    let text: String = quote::quote!(#ty).to_string().split_whitespace().collect();
    // A trailing comma in generic arguments (where prettyplease broke the line) is no difference.
    let mut text = text.replace(",>", ">");
    for prefix in [
        "::xbl_mpsd_api::types::",
        "::xbl_mpsd_api::",
        "::std::option::",
        "::std::vec::",
        "::std::string::",
        "::indexmap::",
        "::serde_json::",
        "::chrono::offset::",
        "::chrono::",
        "::uuid::",
    ] {
        text = text.replace(prefix, "");
    }
    text
}

/// The changes of the generated types from `base` to `head` (both the text of a `generated.rs`).
pub fn diff(base: &str, head: &str) -> Result<Vec<Change>> {
    let (base, head) = (surface(base)?, surface(head)?);
    let mut changes = Vec::new();
    let mut add = |class, location: String, what: String| {
        changes.push(Change {
            class,
            location,
            what,
        })
    };
    for (name, fields) in &base {
        let Some(now) = head.get(name) else {
            add(Class::Breaking, format!("type {name}"), "removed".into());
            continue;
        };
        for (field, ty) in fields {
            match now.get(field) {
                None => add(
                    Class::Breaking,
                    format!("type {name}.{field}"),
                    "field removed".into(),
                ),
                Some(new) if new != ty => add(
                    Class::Breaking,
                    format!("type {name}.{field}"),
                    format!("`{ty}` became `{new}`"),
                ),
                Some(_) => {}
            }
        }
        for field in now.keys().filter(|f| !fields.contains_key(*f)) {
            add(
                Class::Additive,
                format!("type {name}.{field}"),
                format!("new field `{}`", now[field]),
            );
        }
    }
    for name in head.keys().filter(|n| !base.contains_key(*n)) {
        add(Class::Additive, format!("type {name}"), "new type".into());
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_type_changes_removals_and_additions_are_classified() {
        let base = r#"pub mod types {
            pub struct Doc { pub a: ::std::option::Option<i64>, pub gone: i32, pub same: String }
            pub struct Old { pub x: i32 }
            pub mod builder { pub struct Doc { a: i32 } }
        }"#;
        let head = r#"pub mod types {
            pub struct Doc { pub a: ::xbl_mpsd_api::Nullable<i64>, pub same: String, pub new: bool }
            pub struct Fresh(pub String);
        }"#;
        let found: Vec<String> = diff(base, head)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "breaking  type Doc.a: `Option<i64>` became `Nullable<i64>`",
                "breaking  type Doc.gone: field removed",
                "additive  type Doc.new: new field `bool`",
                "breaking  type Old: removed",
                "additive  type Fresh: new type",
            ]
        );
        assert!(diff(base, base).unwrap().is_empty());
    }
}
