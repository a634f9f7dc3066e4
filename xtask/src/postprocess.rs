//! Changes to progenitor's output that its settings cannot express, made on the syntax tree before
//! formatting. Each is mechanical and applies to every type alike; nothing here names a type.
//!
//! In the `types` module:
//! 1. **The open enums are appended**: one `::xbl_mpsd_api::open_enum!` invocation per enumeration of the
//!    spec ([`crate::enums`]), which progenitor was told to use instead of generating closed enums.
//! 2. **Every generated struct is `#[non_exhaustive]`**: outside `xbl-mpsd-api` it cannot be built with a
//!    struct literal (use its builder, `X::builder()`, or `Default` and assign fields), so a field added to
//!    the spec never breaks a caller.
//! 3. **Every struct whose fields are all optional derives `Default`** (a delta or query can start from
//!    `X::default()`); a struct with a required field does not, so it cannot be sent without it.
//! 4. **A builder starts with an empty map of unknown keys** (`extra`): typify treats the flattened map
//!    as a required field, so `X::builder()…try_into()` would fail with "no value supplied for extra".

use anyhow::{Context, Result, bail};
use syn::{Attribute, Fields, Item, ItemStruct, parse_quote};

use crate::enums::OpenEnum;

/// Applies the three steps to the `types` module of the generated client.
pub fn types_module(file: &mut syn::File, open_enums: &[OpenEnum]) -> Result<()> {
    let Some(types) = file.items.iter_mut().find_map(|item| match item {
        Item::Mod(m) if m.ident == "types" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    }) else {
        bail!("progenitor's output has no `types` module");
    };
    for item in types.iter_mut() {
        match item {
            Item::Struct(s) => struct_attributes(s),
            Item::Mod(m) if m.ident == "builder" => {
                for item in m.content.iter_mut().flat_map(|(_, items)| items.iter_mut()) {
                    if let Item::Impl(i) = item {
                        empty_extra_by_default(i);
                    }
                }
            }
            _ => {}
        }
    }
    for e in open_enums {
        let item: Item = syn::parse_str(&e.to_rust())
            .with_context(|| format!("the open enum `{}` does not parse", e.name))?;
        types.push(item);
    }
    Ok(())
}

fn derives(attrs: &[Attribute], name: &str) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("derive")
            && a.parse_args_with(
                syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
            )
            .is_ok_and(|paths| {
                paths
                    .iter()
                    .any(|p| p.segments.last().is_some_and(|s| s.ident == name))
            })
    })
}

/// Whether a field is optional on the wire: `skip_serializing_if` (absent when empty) or the flattened
/// map of unknown keys.
fn optional_field(field: &syn::Field) -> bool {
    field.attrs.iter().any(|a| {
        a.path().is_ident("serde") && {
            let text = a
                .meta
                .require_list()
                .map(|l| l.tokens.to_string())
                .unwrap_or_default();
            text.contains("skip_serializing_if") || text.contains("flatten")
        }
    })
}

/// In a builder's `impl Default`, `extra: Err("no value supplied for extra")` becomes
/// `extra: Ok(Default::default())`.
fn empty_extra_by_default(item: &mut syn::ItemImpl) {
    let is_default = item
        .trait_
        .as_ref()
        .and_then(|(path, _)| path.segments.last().map(|s| s.ident == "Default"))
        .unwrap_or(false);
    if !is_default {
        return;
    }
    for impl_item in &mut item.items {
        let syn::ImplItem::Fn(f) = impl_item else {
            continue;
        };
        for stmt in &mut f.block.stmts {
            let syn::Stmt::Expr(syn::Expr::Struct(init), _) = stmt else {
                continue;
            };
            for field in &mut init.fields {
                if matches!(&field.member, syn::Member::Named(name) if name == "extra") {
                    field.expr = parse_quote!(Ok(Default::default()));
                }
            }
        }
    }
}

fn struct_attributes(s: &mut ItemStruct) {
    let Fields::Named(fields) = &s.fields else {
        return;
    };
    let all_optional = fields.named.iter().all(optional_field);
    if all_optional && !derives(&s.attrs, "Default") {
        s.attrs.push(parse_quote!(#[derive(Default)]));
    }
    if !s.attrs.iter().any(|a| a.path().is_ident("non_exhaustive")) {
        s.attrs.push(parse_quote!(#[non_exhaustive]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(src: &str) -> String {
        let mut file: syn::File = syn::parse_str(src).unwrap();
        types_module(&mut file, &[]).unwrap();
        prettyplease::unparse(&file)
    }

    #[test]
    fn structs_become_non_exhaustive_and_all_optional_ones_default() {
        let out = run(r#"
            pub mod types {
                #[derive(Clone)]
                pub struct Delta {
                    #[serde(skip_serializing_if = "Option::is_none")]
                    pub a: Option<i32>,
                    #[serde(flatten)]
                    pub extra: Map,
                }
                #[derive(Clone)]
                pub struct Request { pub version: i32 }
                pub struct Wrapper(pub String);
            }
        "#);
        let delta = &out[out.find("pub struct Delta").unwrap() - 80..];
        assert!(
            delta.contains("#[derive(Default)]\n    #[non_exhaustive]\n    pub struct Delta"),
            "{out}"
        );
        let request = &out[out.find("pub struct Request").unwrap() - 40..];
        assert!(
            request.contains("#[non_exhaustive]\n    pub struct Request"),
            "{out}"
        );
        assert_eq!(out.matches("derive(Default)").count(), 1, "{out}");
        assert!(
            !out.contains("#[non_exhaustive]\n    pub struct Wrapper"),
            "{out}"
        );
    }

    #[test]
    fn builders_start_with_no_unknown_keys() {
        let out = run(r#"
            pub mod types {
                pub mod builder {
                    impl ::std::default::Default for Delta {
                        fn default() -> Self {
                            Self {
                                a: Err("no value supplied for a".to_string()),
                                extra: Err("no value supplied for extra".to_string()),
                            }
                        }
                    }
                }
            }
        "#);
        assert!(out.contains("a: Err("), "{out}");
        assert!(out.contains("extra: Ok(Default::default())"), "{out}");
    }

    #[test]
    fn a_missing_types_module_is_an_error() {
        let mut file: syn::File = syn::parse_str("pub mod other {}").unwrap();
        assert!(types_module(&mut file, &[]).is_err());
    }
}
