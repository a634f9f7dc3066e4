//! Changes to progenitor's output that its settings cannot express, made on the syntax tree before
//! formatting. Each is mechanical and applies to every type alike; nothing here names a type.
//!
//! In the `types` module:
//! 1. **The open enums are appended**: one `::xbl_mpsd_api::open_enum!` invocation per enumeration of the
//!    spec ([`crate::enums`]), which progenitor was told to use instead of generating closed enums.
//! 2. **Every generated struct is `#[non_exhaustive]`**: outside `xbl-mpsd-api` it cannot be built with a
//!    struct literal (use `Default` and assign fields, or a request body's builder, `X::builder()`), so a field
//!    added to the spec never breaks a caller.
//! 3. **Every struct whose fields are all optional derives `Default`** (a delta or query can start from
//!    `X::default()`); a struct with a required field does not, so it cannot be sent without it.
//! 4. **A builder starts with an empty map of unknown keys** (`extra`): typify treats the flattened map
//!    as a required field, so `X::builder()…try_into()` would fail with "no value supplied for extra".
//! 5. **Every generated struct implements `FromJson`** (one `::xbl_mpsd_api::from_json!` invocation naming
//!    them): its decoder is compiled in `xbl-mpsd-api`, not in every crate that reads it
//!    (`xbl-mpsd-api/src/json.rs`).
//!
//! In the operation `builder` module ([`operation_builders`]): the request body is a boxed `RequestBody` (sent
//! as given), and no `api-version` header is sent. Then only the request bodies keep a struct builder
//! ([`body_builders_only`]).

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use syn::{Attribute, Fields, Item, ItemStruct, parse_quote};

use crate::enums::OpenEnum;

/// Applies the steps above to the `types` module of the generated client.
pub fn types_module(
    file: &mut syn::File,
    open_enums: &[OpenEnum],
    map_keys: &[MapKey],
) -> Result<()> {
    let Some(types) = file.items.iter_mut().find_map(|item| match item {
        Item::Mod(m) if m.ident == "types" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    }) else {
        bail!("progenitor's output has no `types` module");
    };
    for key in map_keys {
        key.apply(types)?;
    }
    // Optional fields become `Nullable<T>` first (by struct name), then the builders follow.
    let mut nullable: BTreeMap<String, BTreeMap<String, Wire>> = BTreeMap::new();
    for item in types.iter_mut() {
        if let Item::Struct(s) = item {
            let fields = nullable_fields(s)?;
            if !fields.is_empty() {
                nullable.insert(s.ident.to_string(), fields);
            }
        }
    }
    field_docs_from_types(types);
    let mut decoders = Vec::new();
    for item in types.iter_mut() {
        if let Item::Struct(s) = item
            && let Some(decoder) = deserialize_impl(s)?
        {
            decoders.push(decoder);
        }
    }
    types.extend(decoders);
    for item in types.iter_mut() {
        match item {
            Item::Struct(s) => struct_attributes(s),
            Item::Mod(m) if m.ident == "builder" => {
                for item in m.content.iter_mut().flat_map(|(_, items)| items.iter_mut()) {
                    match item {
                        Item::Impl(i) => {
                            empty_extra_by_default(i);
                            nullable_setters(i, &nullable);
                        }
                        Item::Struct(s) => nullable_builder_fields(s, &nullable),
                        _ => {}
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
    let structs: Vec<&syn::Ident> = types
        .iter()
        .filter_map(|item| match item {
            Item::Struct(s) => Some(&s.ident),
            _ => None,
        })
        .collect();
    if !structs.is_empty() {
        types.push(parse_quote!(::xbl_mpsd_api::from_json!(#(#structs),*);));
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

/// A field without a doc comment gets the doc of the generated struct it holds: typify puts the description
/// of an inline object property on the struct it generates for it (`SessionConstantsSystemMetrics`), not on
/// the field (`metrics`), so every field a caller meets is documented.
fn field_docs_from_types(types: &mut [Item]) {
    let docs: BTreeMap<String, Vec<Attribute>> = types
        .iter()
        .filter_map(|item| match item {
            Item::Struct(s) => Some((
                s.ident.to_string(),
                s.attrs
                    .iter()
                    .filter(|a| a.path().is_ident("doc"))
                    .cloned()
                    .collect::<Vec<_>>(),
            )),
            _ => None,
        })
        .filter(|(_, doc)| !doc.is_empty())
        .collect();
    for item in types.iter_mut() {
        let Item::Struct(s) = item else {
            continue;
        };
        let Fields::Named(fields) = &mut s.fields else {
            continue;
        };
        for field in &mut fields.named {
            if field.attrs.iter().any(|a| a.path().is_ident("doc")) {
                continue;
            }
            if field.ident.as_ref().is_some_and(|i| i == "extra") {
                field.attrs.insert(
                    0,
                    parse_quote!(#[doc = "Keys the spec does not name, kept as received and written back."]),
                );
                continue;
            }
            if let Some(doc) = innermost_name(&field.ty).and_then(|name| docs.get(&name)) {
                let mut attrs = doc.clone();
                attrs.append(&mut field.attrs);
                field.attrs = attrs;
            }
        }
    }
}

/// The name of the innermost type of `ty` (`Nullable<Vec<Foo>>` → `Foo`).
fn innermost_name(ty: &syn::Type) -> Option<String> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if let syn::PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(syn::GenericArgument::Type(inner)) = args.args.iter().last()
    {
        return innermost_name(inner);
    }
    Some(last.ident.to_string())
}

/// A map property whose keys are a hand-written type: `x-key-type: <Type>` on a property of a schema under
/// `components/schemas` (e.g. `members` of a session, keyed by `MemberKey`). The type must be in
/// `xbl_mpsd_api`, parse any string (`FromStr`) and write it back unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapKey {
    /// The schema (the generated struct's name).
    pub schema: String,
    /// The property, as spelled on the wire.
    pub property: String,
    /// The key type, a name in `xbl_mpsd_api`.
    pub rust: String,
}

/// Every `x-key-type` of the spec's schema properties.
pub fn map_keys(spec: &serde_json::Value) -> Result<Vec<MapKey>> {
    let mut keys = Vec::new();
    let schemas = spec
        .pointer("/components/schemas")
        .and_then(serde_json::Value::as_object);
    for (schema, body) in schemas.into_iter().flatten() {
        let properties = body
            .get("properties")
            .and_then(serde_json::Value::as_object);
        for (property, body) in properties.into_iter().flatten() {
            let Some(rust) = body.get("x-key-type") else {
                continue;
            };
            let Some(rust) = rust
                .as_str()
                .filter(|r| syn::parse_str::<syn::Ident>(r).is_ok())
            else {
                bail!("`x-key-type` of {schema}.{property} must be a type name, not {rust}");
            };
            keys.push(MapKey {
                schema: schema.clone(),
                property: property.clone(),
                rust: rust.to_owned(),
            });
        }
    }
    Ok(keys)
}

impl MapKey {
    /// Replaces the `String` key of the map in `schema.property`, in the struct and in its builder.
    fn apply(&self, types: &mut [Item]) -> Result<()> {
        let key: syn::Type = syn::parse_str(&format!("::xbl_mpsd_api::{}", self.rust))?;
        let mut replaced = 0;
        let replace_in = |items: &mut [Item], replaced: &mut usize| {
            for item in items {
                let Item::Struct(s) = item else {
                    continue;
                };
                if s.ident != self.schema {
                    continue;
                }
                let Fields::Named(fields) = &mut s.fields else {
                    continue;
                };
                for field in &mut fields.named {
                    if wire_name(field).as_deref() == Some(self.property.as_str())
                        && replace_map_key(&mut field.ty, &key)
                    {
                        *replaced += 1;
                    }
                }
            }
        };
        replace_in(types, &mut replaced);
        for item in types.iter_mut() {
            if let Item::Mod(m) = item
                && m.ident == "builder"
                && let Some((_, items)) = &mut m.content
            {
                replace_in(items, &mut replaced);
                for item in items.iter_mut() {
                    if let Item::Impl(i) = item {
                        self.setter(i, &key);
                    }
                }
            }
        }
        if replaced != 2 {
            bail!(
                "`x-key-type` of {}.{}: expected a map field in the struct and its builder, found {replaced}",
                self.schema,
                self.property
            );
        }
        Ok(())
    }

    fn setter(&self, item: &mut syn::ItemImpl, key: &syn::Type) {
        let syn::Type::Path(self_ty) = &*item.self_ty else {
            return;
        };
        let is_schema = self_ty
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == self.schema);
        if item.trait_.is_some() || !is_schema {
            return;
        }
        let field = snake(&self.property);
        for impl_item in &mut item.items {
            if let syn::ImplItem::Fn(f) = impl_item
                && f.sig.ident == field
                && let Some(where_clause) = &mut f.sig.generics.where_clause
            {
                for predicate in &mut where_clause.predicates {
                    if let syn::WherePredicate::Type(pt) = predicate {
                        for bound in &mut pt.bounds {
                            if let syn::TypeParamBound::Trait(tb) = bound
                                && let Some(last) = tb.path.segments.last_mut()
                                && last.ident == "TryInto"
                                && let syn::PathArguments::AngleBracketed(args) =
                                    &mut last.arguments
                                && let Some(syn::GenericArgument::Type(target)) =
                                    args.args.first_mut()
                            {
                                replace_map_key(target, key);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A field's name on the wire: its serde `rename`, else its identifier.
fn wire_name(field: &syn::Field) -> Option<String> {
    for attr in &field.attrs {
        if !attr.path().is_ident("serde") {
            continue;
        }
        let Ok(metas) = attr.parse_args_with(
            syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
        ) else {
            continue;
        };
        for meta in metas {
            if let syn::Meta::NameValue(nv) = meta
                && nv.path.is_ident("rename")
                && let syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(text),
                    ..
                }) = nv.value
            {
                return Some(text.value());
            }
        }
    }
    field.ident.as_ref().map(ToString::to_string)
}

/// `camelCase` → `snake_case`, as typify names fields.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Replaces `K` in the first `IndexMap<K, V>` found in `ty` by `key`.
fn replace_map_key(ty: &mut syn::Type, key: &syn::Type) -> bool {
    let syn::Type::Path(path) = ty else {
        return false;
    };
    for segment in path.path.segments.iter_mut().rev() {
        let syn::PathArguments::AngleBracketed(args) = &mut segment.arguments else {
            continue;
        };
        if segment.ident == "IndexMap" {
            if let Some(syn::GenericArgument::Type(k)) = args.args.first_mut() {
                *k = key.clone();
                return true;
            }
            return false;
        }
        for arg in args.args.iter_mut() {
            if let syn::GenericArgument::Type(inner) = arg
                && replace_map_key(inner, key)
            {
                return true;
            }
        }
    }
    false
}

/// The serde attribute of a field that is optional on the wire, as typify writes it: `skip_serializing_if`
/// `Option::is_none` (an `Option<T>`) or `Vec::is_empty`/`IndexMap::is_empty` (an array or map, with `default`).
const SKIP_NONE: &str = "::std::option::Option::is_none";
const SKIP_EMPTY: [&str; 3] = [
    "::std::vec::Vec::is_empty",
    ":: indexmap :: IndexMap::is_empty",
    "::serde_json::Map::is_empty",
];
/// What a `Nullable` field is skipped by.
const SKIP_ABSENT: &str = "::xbl_mpsd_api::Nullable::is_absent";

/// Makes every field that is optional on the wire a `::xbl_mpsd_api::Nullable<T>` (absent, `null` or a value),
/// so that a document re-encodes exactly and a delta can say "delete" (`null`) and "clear" (`[]`, `{}`):
/// `Option<T>` becomes `Nullable<T>`, an optional `Vec<T>`/`IndexMap` becomes `Nullable<Vec<T>>`, and the field
/// is `#[serde(default, skip_serializing_if = "Nullable::is_absent")]` (its `rename` kept). Returns the new
/// type of each changed field, by field name, for the struct's builder. A serde attribute of another shape on
/// an optional field is an error, so a typify upgrade cannot silently turn this off.
fn nullable_fields(s: &mut ItemStruct) -> Result<BTreeMap<String, Wire>> {
    let mut changed = BTreeMap::new();
    let Fields::Named(fields) = &mut s.fields else {
        return Ok(changed);
    };
    for field in &mut fields.named {
        let Some(index) = field.attrs.iter().position(|a| a.path().is_ident("serde")) else {
            continue;
        };
        let metas = field.attrs[index]
            .parse_args_with(
                syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
            )
            .with_context(|| format!("a serde attribute of `{}` does not parse", s.ident))?;
        let mut skip = None;
        let mut rename = None;
        let mut other = Vec::new();
        for meta in &metas {
            match meta {
                syn::Meta::NameValue(nv) if nv.path.is_ident("skip_serializing_if") => {
                    if let syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(text),
                        ..
                    }) = &nv.value
                    {
                        skip = Some(text.value());
                    }
                }
                syn::Meta::NameValue(nv) if nv.path.is_ident("rename") => {
                    rename = Some(nv.value.clone());
                }
                syn::Meta::Path(p) if p.is_ident("default") => {}
                other_meta => other.push(quote::quote!(#other_meta).to_string()),
            }
        }
        let Some(skip) = skip else {
            continue;
        };
        let name = field
            .ident
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        if !other.is_empty() {
            bail!(
                "the optional field `{}.{name}` has serde options this step does not know: {}",
                s.ident,
                other.join(", ")
            );
        }
        let wire = if skip == SKIP_NONE {
            Wire::Option
        } else if SKIP_EMPTY.contains(&skip.as_str()) {
            Wire::Collection
        } else {
            bail!(
                "the optional field `{}.{name}` is skipped by `{skip}`, which this step does not know",
                s.ident
            );
        };
        field.attrs[index] = match rename {
            Some(rename) => {
                parse_quote!(#[serde(rename = #rename, default, skip_serializing_if = #SKIP_ABSENT)])
            }
            None => parse_quote!(#[serde(default, skip_serializing_if = #SKIP_ABSENT)]),
        };
        field.ty = wire.nullable(&field.ty).with_context(|| {
            format!(
                "`{}.{name}` is skipped when `None` but is not an `Option`",
                s.ident
            )
        })?;
        changed.insert(name, wire);
    }
    Ok(changed)
}

/// How typify wrote an optional field.
#[derive(Clone, Copy, Debug)]
enum Wire {
    /// `Option<T>`, skipped when `None`.
    Option,
    /// A `Vec` or map, skipped when empty.
    Collection,
}

impl Wire {
    /// The `Nullable` type of a field typify wrote as `ty` (`Option<T>` → `Nullable<T>`, a collection `C` →
    /// `Nullable<C>`); `None` when an `Option` field is not an `Option`.
    fn nullable(self, ty: &syn::Type) -> Option<syn::Type> {
        Some(match self {
            Self::Option => {
                let inner = option_inner(ty)?;
                parse_quote!(::xbl_mpsd_api::Nullable<#inner>)
            }
            Self::Collection => parse_quote!(::xbl_mpsd_api::Nullable<#ty>),
        })
    }
}

/// `T` of `Result<T, E>`.
fn result_ok(ty: &mut syn::Type) -> Option<&mut syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last_mut()?;
    if last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &mut last.arguments else {
        return None;
    };
    match args.args.first_mut()? {
        syn::GenericArgument::Type(inner) => Some(inner),
        _ => None,
    }
}

/// `T` of `::std::option::Option<T>`.
fn option_inner(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(inner) => Some(inner),
        _ => None,
    }
}

/// A builder's field of a `Nullable` field holds `Result<Nullable<T>, String>`.
fn nullable_builder_fields(
    s: &mut ItemStruct,
    nullable: &BTreeMap<String, BTreeMap<String, Wire>>,
) {
    let Some(changed) = nullable.get(&s.ident.to_string()) else {
        return;
    };
    let Fields::Named(fields) = &mut s.fields else {
        return;
    };
    for field in &mut fields.named {
        let Some(wire) = field
            .ident
            .as_ref()
            .and_then(|i| changed.get(&i.to_string()))
        else {
            continue;
        };
        if let Some(ok) = result_ok(&mut field.ty)
            && let Some(new_ty) = wire.nullable(ok)
        {
            *ok = new_ty;
        }
    }
}

/// A builder's setter of a `Nullable` field takes `T: TryInto<Nullable<…>>`: a plain value (`From`), or a
/// `Nullable` to say `null` or absent.
fn nullable_setters(item: &mut syn::ItemImpl, nullable: &BTreeMap<String, BTreeMap<String, Wire>>) {
    if item.trait_.is_some() {
        return;
    }
    let syn::Type::Path(self_ty) = &*item.self_ty else {
        return;
    };
    let Some(changed) = self_ty
        .path
        .segments
        .last()
        .and_then(|s| nullable.get(&s.ident.to_string()))
    else {
        return;
    };
    for impl_item in &mut item.items {
        let syn::ImplItem::Fn(f) = impl_item else {
            continue;
        };
        let Some(wire) = changed.get(&f.sig.ident.to_string()) else {
            continue;
        };
        let Some(where_clause) = &mut f.sig.generics.where_clause else {
            continue;
        };
        for predicate in &mut where_clause.predicates {
            let syn::WherePredicate::Type(pt) = predicate else {
                continue;
            };
            for bound in &mut pt.bounds {
                let syn::TypeParamBound::Trait(tb) = bound else {
                    continue;
                };
                let Some(last) = tb.path.segments.last_mut() else {
                    continue;
                };
                if last.ident == "TryInto"
                    && let syn::PathArguments::AngleBracketed(args) = &mut last.arguments
                    && let Some(syn::GenericArgument::Type(target)) = args.args.first_mut()
                    && let Some(new_ty) = wire.nullable(target)
                {
                    *target = new_ty;
                }
            }
        }
    }
}

/// `schemars::JsonSchema` is derived only with the `schemars` feature of `xbl-mpsd-api` (the CLI's `schema`
/// command turns it on): `#[derive(…, schemars::JsonSchema)]` becomes the same derive without it plus
/// `#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]`, so a program that only calls MPSD does
/// not compile the schema code of every type.
fn schema_derive_behind_feature(attrs: &mut Vec<Attribute>) {
    if remove_derive(attrs, "JsonSchema") {
        attrs.push(parse_quote!(#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]));
    }
}

/// Takes the trait `name` out of every `#[derive(…)]` list; whether one held it.
fn remove_derive(attrs: &mut [Attribute], name: &str) -> bool {
    let mut found = false;
    for attr in attrs.iter_mut().filter(|a| a.path().is_ident("derive")) {
        let Ok(paths) = attr.parse_args_with(
            syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
        ) else {
            continue;
        };
        let is_it = |p: &syn::Path| p.segments.last().is_some_and(|s| s.ident == name);
        if !paths.iter().any(is_it) {
            continue;
        }
        found = true;
        let kept: Vec<&syn::Path> = paths.iter().filter(|p| !is_it(p)).collect();
        *attr = parse_quote!(#[derive(#(#kept),*)]);
    }
    found
}

/// The wire name and role of a struct field, from its `#[serde(…)]` attributes.
enum FieldRole {
    /// Absent → its type's default (`#[serde(default)]`: every optional field, a `Nullable`).
    Optional(String),
    /// Absent → `missing field`.
    Required(String),
    /// The map of unknown keys (`#[serde(flatten)]`).
    Unknown,
}

fn field_role(field: &syn::Field) -> Result<FieldRole> {
    let ident = field
        .ident
        .as_ref()
        .context("a named field without a name")?;
    let mut wire = ident.to_string();
    let mut default = false;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let mut flatten = false;
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                wire = meta.value()?.parse::<syn::LitStr>()?.value();
            } else if meta.path.is_ident("default") {
                default = true;
            } else if meta.path.is_ident("flatten") {
                flatten = true;
            } else if meta.path.is_ident("skip_serializing_if") {
                meta.value()?.parse::<syn::LitStr>()?;
            } else {
                return Err(meta.error("a serde field attribute the decoder does not handle"));
            }
            Ok(())
        })
        .with_context(|| format!("the serde attributes of field `{ident}`"))?;
        if flatten {
            return Ok(FieldRole::Unknown);
        }
    }
    Ok(if default {
        FieldRole::Optional(wire)
    } else {
        FieldRole::Required(wire)
    })
}

/// Replaces serde's derived `Deserialize` of a struct with named fields by an impl that matches each key once
/// and decodes its value straight into its field, unknown keys straight into the map of unknown keys, through
/// the shared functions of `xbl-mpsd-api/src/de.rs`. serde's derive writes a field-name enum with four
/// visitors per struct and, with a flattened map, buffers every unknown entry as its private `Content`: half of
/// the api crate's code, and most of its type-check and borrow-check time in every consumer's build
/// (BENCHMARKS.md, P7). Decoded values and errors are the same. `None` (the derive kept) for a struct that is
/// not one (a tuple struct, `#[serde(transparent)]`) or does not derive `Deserialize`.
fn deserialize_impl(s: &mut ItemStruct) -> Result<Option<Item>> {
    let Fields::Named(fields) = &s.fields else {
        return Ok(None);
    };
    let container_serde = s.attrs.iter().any(|a| a.path().is_ident("serde"));
    if container_serde || !derives(&s.attrs, "Deserialize") {
        return Ok(None);
    }
    let name = &s.ident;
    let mut slots = Vec::new();
    let mut arms = Vec::new();
    let mut inits = Vec::new();
    let mut unknown = None;
    for (index, field) in fields.named.iter().enumerate() {
        let Some(ident) = &field.ident else {
            bail!("a named field of `{name}` without a name");
        };
        let slot = quote::format_ident!("field{index}");
        let (wire, value): (String, syn::Expr) =
            match field_role(field).with_context(|| format!("struct `{name}`"))? {
                FieldRole::Unknown => {
                    if unknown.replace(ident.clone()).is_some() {
                        bail!("`{name}` has two flattened fields");
                    }
                    continue;
                }
                FieldRole::Optional(wire) => (wire, parse_quote!(#slot.unwrap_or_default())),
                FieldRole::Required(wire) => {
                    let value =
                        parse_quote!(::xbl_mpsd_api::de::required::<_, M::Error>(#slot, #wire)?);
                    (wire, value)
                }
            };
        slots.push(quote::quote!(let mut #slot = ::std::option::Option::None;));
        arms.push(quote::quote!(#wire => ::xbl_mpsd_api::de::field(&mut #slot, &mut map, #wire)?,));
        inits.push(quote::quote!(#ident: #value,));
    }
    let (extra_slot, other_arm, extra_init) = match &unknown {
        Some(ident) => (
            quote::quote!(let mut extra = ::serde_json::Map::new();),
            quote::quote!(_ => ::xbl_mpsd_api::de::unknown(&mut extra, key, &mut map)?,),
            quote::quote!(#ident: extra,),
        ),
        None => (
            quote::quote!(),
            quote::quote!(_ => ::xbl_mpsd_api::de::skip(&mut map)?,),
            quote::quote!(),
        ),
    };
    let expecting = format!("struct {name}");
    // The derive goes from the struct; `Serialize` keeps reading the field attributes.
    remove_derive(&mut s.attrs, "Deserialize");
    Ok(Some(parse_quote! {
        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
            where
                D: ::serde::Deserializer<'de>,
            {
                struct Fields;
                impl<'de> ::serde::de::Visitor<'de> for Fields {
                    type Value = #name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(#expecting)
                    }
                    fn visit_map<M>(self, mut map: M) -> ::std::result::Result<#name, M::Error>
                    where
                        M: ::serde::de::MapAccess<'de>,
                    {
                        #(#slots)*
                        #extra_slot
                        while let ::std::option::Option::Some(key) =
                            map.next_key::<::xbl_mpsd_api::de::Key<'de>>()?
                        {
                            match key.as_str() {
                                #(#arms)*
                                #other_arm
                            }
                        }
                        ::std::result::Result::Ok(#name { #(#inits)* #extra_init })
                    }
                }
                deserializer.deserialize_map(Fields)
            }
        }
    }))
}

fn struct_attributes(s: &mut ItemStruct) {
    schema_derive_behind_feature(&mut s.attrs);
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

/// The operation builders (the top-level `builder` module), made cheaper to build and send:
///
/// 1. **The request body is a boxed `RequestBody`** (`xbl-mpsd-api/src/request_body.rs`) instead of the body
///    type's builder: a body given whole (`.body(x)`) is sent as it is instead of being converted into a builder
///    and back, and the operation builder, which every setter moves by value, holds a pointer instead of a
///    few KiB. `body`, `body_map` and `send` keep their signatures. The headers map of a request starts
///    empty (`HeaderMap::new()`, no allocation until a header is set).
/// 2. **No `api-version` header**: progenitor sends the spec's `info.version` in it; MPSD does not know the
///    header (its version header is `X-Xbl-Contract-Version`), so it is not generated rather than removed
///    from every request by a hook.
///
/// Each rewrite must find the shape it expects in every operation; anything else is an error, so a progenitor
/// upgrade that changes its output fails here rather than generating code that silently stops doing this.
pub fn operation_builders(file: &mut syn::File) -> Result<()> {
    use syn::visit_mut::VisitMut;

    let Some(builders) = file.items.iter_mut().find_map(|item| match item {
        Item::Mod(m) if m.ident == "builder" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    }) else {
        bail!("progenitor's output has no operation `builder` module");
    };
    let mut boxed = Vec::new();
    for item in builders.iter_mut() {
        if let Item::Struct(s) = item
            && let Fields::Named(fields) = &mut s.fields
            && let Some(body) = fields
                .named
                .iter_mut()
                .find(|f| f.ident.as_ref().is_some_and(|i| i == "body"))
        {
            let syn::Type::Path(path) = &mut body.ty else {
                bail!("the body field of `{}` is not `Result<_, String>`", s.ident);
            };
            let Some(syn::PathArguments::AngleBracketed(args)) =
                path.path.segments.last_mut().map(|s| &mut s.arguments)
            else {
                bail!("the body field of `{}` is not `Result<_, String>`", s.ident);
            };
            let Some(syn::GenericArgument::Type(inner)) = args.args.first_mut() else {
                bail!("the body field of `{}` is not `Result<_, String>`", s.ident);
            };
            // `types::builder::X` → `RequestBody<types::X, types::builder::X>`.
            let syn::Type::Path(builder) = &*inner else {
                bail!("the body of `{}` is not a builder type", s.ident);
            };
            let mut value = builder.clone();
            let segments = &mut value.path.segments;
            let Some(name) = segments.pop() else {
                bail!("the body of `{}` is not a builder type", s.ident);
            };
            if segments.pop().map(|s| s.ident.to_string()).as_deref() != Some("builder") {
                bail!("the body of `{}` is not a `types::builder::` type", s.ident);
            }
            segments.push(name);
            *inner = parse_quote!(::xbl_mpsd_api::request_body::RequestBody<#value, #inner>);
            boxed.push((s.ident.to_string(), value));
        }
    }

    /// The rewrites inside one method, counted.
    #[derive(Default)]
    struct Rewrite {
        /// In `body`: `.map(From::from)` keeps the value whole (`RequestBody::Value`).
        into_box: usize,
        /// In `body_map`: `self.body.map(f)` edits the body through its builder (`RequestBody::map`).
        map_boxed: usize,
        /// In `send`: `X::try_from(v)` of the body becomes `v.into_value()`.
        unbox: usize,
        /// `header_map.append(…"api-version"…)` statements dropped.
        api_version: usize,
        /// In `send`: `encode_path(&x.to_string())` of a path parameter becomes `PathSegment(&x)`.
        path_segments: usize,
        /// In `send`: `ResponseValue::from_response` becomes the api crate's `typed_response::from_response`.
        typed_responses: usize,
        /// In `send`: `.query(&QueryParam::new(…))` becomes `query_param::unless_none(…)`.
        query_params: usize,
        /// In `send`: the URL's `format!` becomes `path_segment::request_url`.
        urls: usize,
        method: String,
    }
    impl VisitMut for Rewrite {
        fn visit_block_mut(&mut self, block: &mut syn::Block) {
            let before = block.stmts.len();
            block.stmts.retain(|stmt| {
                !quote::ToTokens::to_token_stream(stmt)
                    .to_string()
                    .contains("\"api-version\"")
            });
            self.api_version += before - block.stmts.len();
            syn::visit_mut::visit_block_mut(self, block);
        }
        fn visit_expr_method_call_mut(&mut self, call: &mut syn::ExprMethodCall) {
            syn::visit_mut::visit_expr_method_call_mut(self, call);
            if call.method != "map" || call.args.len() != 1 {
                return;
            }
            let arg = quote::ToTokens::to_token_stream(&call.args[0]).to_string();
            let receiver = quote::ToTokens::to_token_stream(&*call.receiver).to_string();
            if self.method == "body" && arg == "From :: from" {
                call.args[0] = parse_quote!(|v| {
                    ::xbl_mpsd_api::request_body::RequestBody::Value(::std::boxed::Box::new(v))
                });
                self.into_box += 1;
            } else if self.method == "body_map" && arg == "f" && receiver == "self . body" {
                call.args[0] = parse_quote!(|b| b.map(f));
                self.map_boxed += 1;
            }
        }
        fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
            // The request URL is a `format!`, whose arguments syn leaves as tokens: parse them to rewrite
            // the path parameters, and put them back.
            if self.method == "send" && mac.path.is_ident("format") {
                use syn::parse::Parser;
                let parser =
                    syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
                if let Ok(mut args) = parser.parse2(mac.tokens.clone()) {
                    for arg in args.iter_mut() {
                        self.visit_expr_mut(arg);
                    }
                    mac.tokens = quote::ToTokens::to_token_stream(&args);
                }
            }
            syn::visit_mut::visit_macro_mut(self, mac);
        }
        fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
            syn::visit_mut::visit_expr_mut(self, expr);
            // The request URL, `format!(…)`, is written into a string sized for it up front.
            if self.method == "send"
                && let syn::Expr::Macro(m) = expr
                && m.mac.path.is_ident("format")
            {
                let tokens = &m.mac.tokens;
                *expr = parse_quote!(::xbl_mpsd_api::path_segment::request_url(
                    client.baseurl.len(),
                    format_args!(#tokens)
                ));
                self.urls += 1;
                return;
            }
            // `b.query(&QueryParam::new(name, &value))` → `unless_none(b, &value, &QueryParam::new(…))`.
            if self.method == "send"
                && let syn::Expr::MethodCall(call) = expr
                && call.method == "query"
                && let [query @ syn::Expr::Reference(param)] =
                    call.args.iter().collect::<Vec<_>>().as_slice()
                && let syn::Expr::Call(new) = &*param.expr
                && quote::ToTokens::to_token_stream(&*new.func)
                    .to_string()
                    .ends_with("QueryParam :: new")
                && let [_, value @ syn::Expr::Reference(_)] =
                    new.args.iter().collect::<Vec<_>>().as_slice()
            {
                let receiver = &call.receiver;
                *expr = parse_quote!(::xbl_mpsd_api::query_param::unless_none(#receiver, #value, #query));
                self.query_params += 1;
                return;
            }
            if let syn::Expr::Call(call) = expr {
                let func = quote::ToTokens::to_token_stream(&*call.func).to_string();
                if self.method == "send"
                    && func.ends_with(":: try_from")
                    && call.args.len() == 1
                    && quote::ToTokens::to_token_stream(&call.args[0]).to_string() == "v"
                {
                    *expr = parse_quote!(v.into_value());
                    self.unbox += 1;
                } else if self.method == "send"
                    && func.ends_with("encode_path")
                    && let [syn::Expr::Reference(reference)] =
                        call.args.iter().collect::<Vec<_>>().as_slice()
                    && let syn::Expr::MethodCall(to_string) = &*reference.expr
                    && to_string.method == "to_string"
                    && to_string.args.is_empty()
                {
                    let value = &to_string.receiver;
                    *expr = parse_quote!(::xbl_mpsd_api::path_segment::PathSegment(&#value));
                    self.path_segments += 1;
                } else if self.method == "send" && func == "ResponseValue :: from_response" {
                    call.func = parse_quote!(::xbl_mpsd_api::typed_response::from_response);
                    self.typed_responses += 1;
                } else if func.ends_with("HeaderValue :: from_static")
                    && let [syn::Expr::Lit(literal)] =
                        call.args.iter().collect::<Vec<_>>().as_slice()
                {
                    // A constant header value is checked once, at compile time, not on every request.
                    let func = &call.func;
                    *expr = parse_quote!({
                        const VALUE: ::reqwest::header::HeaderValue = #func(#literal);
                        VALUE
                    });
                } else if func.ends_with("HeaderMap :: with_capacity") {
                    // Most requests set none of the optional headers: allocate on the first one.
                    *expr = parse_quote!(::reqwest::header::HeaderMap::new());
                }
            }
        }
    }

    let mut api_versions = 0;
    let mut path_segments = 0;
    let mut typed_responses = 0;
    let mut untyped_sends = 0;
    let mut query_params = 0;
    for item in builders.iter_mut() {
        let Item::Impl(imp) = item else { continue };
        let syn::Type::Path(self_ty) = &*imp.self_ty else {
            continue;
        };
        let Some(name) = self_ty.path.segments.last().map(|s| s.ident.to_string()) else {
            continue;
        };
        let body_type = boxed
            .iter()
            .find(|(builder, _)| *builder == name)
            .map(|(_, value)| value.clone());
        let has_body = body_type.is_some();
        let mut found = Rewrite::default();
        for impl_item in imp.items.iter_mut() {
            let syn::ImplItem::Fn(method) = impl_item else {
                continue;
            };
            let mut rewrite = Rewrite {
                method: method.sig.ident.to_string(),
                ..Rewrite::default()
            };
            if has_body || rewrite.method == "send" {
                rewrite.visit_impl_item_fn_mut(method);
            }
            found.into_box += rewrite.into_box;
            found.map_boxed += rewrite.map_boxed;
            found.unbox += rewrite.unbox;
            found.api_version += rewrite.api_version;
            found.path_segments += rewrite.path_segments;
            found.typed_responses += rewrite.typed_responses;
            found.query_params += rewrite.query_params;
            found.urls += rewrite.urls;
        }
        if found.urls
            != usize::from(
                imp.items
                    .iter()
                    .any(|item| matches!(item, syn::ImplItem::Fn(f) if f.sig.ident == "send")),
            )
        {
            bail!(
                "the URL of `{name}` is not one `format!` in `send`: has progenitor's output changed?"
            );
        }
        if has_body && (found.into_box, found.map_boxed, found.unbox) != (1, 1, 1) {
            bail!(
                "the body of `{name}` was not boxed as expected (body: {}, body_map: {}, send: {} rewrites; \
                 each should be 1): has progenitor's output changed?",
                found.into_box,
                found.map_boxed,
                found.unbox
            );
        }
        if let Some(value) = body_type {
            // A body already on the heap (the SDK keeps a write's delta boxed) is taken as it is.
            imp.items.push(parse_quote! {
                /// Sets the body from a value already on the heap: it is sent as it is, without being
                /// copied or converted (`body` takes any value convertible to the body type).
                pub fn body_boxed(mut self, value: ::std::boxed::Box<#value>) -> Self {
                    self.body = Ok(::xbl_mpsd_api::request_body::RequestBody::Value(value));
                    self
                }
            });
        }
        if let Some(items) = send_untyped(imp)? {
            imp.items.extend(items);
            untyped_sends += 1;
        }
        api_versions += found.api_version;
        path_segments += found.path_segments;
        typed_responses += found.typed_responses;
        query_params += found.query_params;
    }
    if untyped_sends == 0 {
        bail!(
            "no operation builder has a `send` to derive `send_untyped` from: has progenitor's output changed?"
        );
    }
    if boxed.is_empty() {
        bail!("no operation builder has a body to box: has progenitor's output changed?");
    }
    if api_versions == 0 {
        bail!("no `api-version` header was found to drop: has progenitor's output changed?");
    }
    if query_params == 0 {
        bail!("no query parameter was found to skip when unset: has progenitor's output changed?");
    }
    if path_segments == 0 || typed_responses == 0 {
        bail!(
            "found {path_segments} `encode_path` and {typed_responses} `ResponseValue::from_response` calls to \
             replace: has progenitor's output changed?"
        );
    }
    // Every one was replaced: none is left in the operation builders.
    let rest = builders
        .iter()
        .filter(|item| !matches!(item, Item::Use(_)))
        .map(|item| quote::ToTokens::to_token_stream(item).to_string())
        .find(|code| {
            code.contains("encode_path")
                || code.contains("ResponseValue :: from_response")
                || code.contains(". query (")
        });
    if rest.is_some() {
        bail!(
            "an `encode_path`, `ResponseValue::from_response` or `query` call of an unexpected shape is left \
             in the operation builders: has progenitor's output changed?"
        );
    }
    Ok(())
}

/// Keeps the struct builders (`types::builder::X`, `X::builder()`) of the request bodies only: typify writes one
/// for every generated struct, but a request body is the only type the operation builders build through one
/// (`body_map`). Every other struct is read from an answer or is a part of a body, set with `X::default()` and
/// its public fields (step 3 of [`types_module`]): one way to build it, and a quarter of the generated code
/// less for every consumer to compile (each builder is a struct of `Result` fields, a setter per field and
/// three conversions). Run after [`operation_builders`], which names the body types.
pub fn body_builders_only(file: &mut syn::File) -> Result<()> {
    use std::collections::BTreeSet;

    /// The names `X` of the `types::builder::X` paths it visits.
    struct BodyBuilders(BTreeSet<String>);
    impl syn::visit_mut::VisitMut for BodyBuilders {
        fn visit_path_mut(&mut self, path: &mut syn::Path) {
            let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
            if let [.., types, builder, name] = names.as_slice()
                && types == "types"
                && builder == "builder"
            {
                self.0.insert(name.clone());
            }
            syn::visit_mut::visit_path_mut(self, path);
        }
    }

    let mut bodies = BodyBuilders(BTreeSet::new());
    for item in file.items.iter_mut() {
        if let Item::Mod(m) = item
            && m.ident == "builder"
        {
            syn::visit_mut::VisitMut::visit_item_mod_mut(&mut bodies, m);
        }
    }
    let bodies = bodies.0;
    if bodies.is_empty() {
        bail!(
            "no operation builder names a `types::builder::` body: has progenitor's output changed?"
        );
    }
    let Some(types) = file.items.iter_mut().find_map(|item| match item {
        Item::Mod(m) if m.ident == "types" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    }) else {
        bail!("progenitor's output has no `types` module");
    };
    // The type an impl is for: the builder struct and its target share the name (`impl From<super::X> for X`,
    // `impl TryFrom<X> for super::X`).
    let subject = |ty: &syn::Type| match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    };
    let mut kept = BTreeSet::new();
    let mut dropped = 0;
    for item in types.iter_mut() {
        match item {
            Item::Mod(m) if m.ident == "builder" => {
                let Some((_, items)) = m.content.as_mut() else {
                    bail!("the `types::builder` module has no body");
                };
                items.retain(|item| {
                    let name = match item {
                        Item::Struct(s) => Some(s.ident.to_string()),
                        Item::Impl(i) => subject(&i.self_ty),
                        _ => None,
                    };
                    match name {
                        Some(name) if bodies.contains(&name) => {
                            kept.insert(name);
                            true
                        }
                        Some(_) => {
                            dropped += 1;
                            false
                        }
                        None => true,
                    }
                });
            }
            // `impl X { pub fn builder() -> builder::X { … } }`.
            Item::Impl(i)
                if i.trait_.is_none()
                    && subject(&i.self_ty).is_some_and(|name| !bodies.contains(&name)) =>
            {
                i.items.retain(
                    |item| !matches!(item, syn::ImplItem::Fn(f) if f.sig.ident == "builder"),
                );
            }
            _ => {}
        }
    }
    types.retain(|item| !matches!(item, Item::Impl(i) if i.trait_.is_none() && i.items.is_empty()));
    if kept != bodies {
        bail!(
            "the request bodies {bodies:?} should each have a struct builder, found {kept:?}: has typify's output \
             changed?"
        );
    }
    if dropped == 0 {
        bail!(
            "no struct builder besides the request bodies' was found: has typify's output changed?"
        );
    }
    Ok(())
}

/// Splits an operation builder's `send` in two: `send_untyped` makes the request (hooks, headers, body) and
/// returns the response as it came, whatever its status, and `send` calls it and decodes the typed statuses,
/// which `TYPED_STATUSES` lists. For a caller that reads the answer itself: the SDK builds its `Session`
/// straight from the body instead of moving the typed document through progenitor's `ResponseValue` first.
/// Returns the items to add (`None` for an impl without `send`); an error when `send` does not end as expected.
fn send_untyped(imp: &mut syn::ItemImpl) -> Result<Option<[syn::ImplItem; 2]>> {
    let Some(send) = imp.items.iter_mut().find_map(|item| match item {
        syn::ImplItem::Fn(f) if f.sig.ident == "send" => Some(f),
        _ => None,
    }) else {
        return Ok(None);
    };
    let mut untyped = send.clone();
    untyped.sig.ident = syn::Ident::new("send_untyped", send.sig.ident.span());
    // `Result<ResponseValue<T>, Error<E>>` → `Result<::reqwest::Response, Error<E>>`.
    let syn::ReturnType::Type(_, output) = &mut untyped.sig.output else {
        bail!("`send` returns nothing: has progenitor's output changed?");
    };
    let error = match &**output {
        syn::Type::Path(path) => match path.path.segments.last().map(|s| &s.arguments) {
            Some(syn::PathArguments::AngleBracketed(args)) if args.args.len() == 2 => {
                args.args[1].clone()
            }
            _ => bail!("`send` does not return `Result<_, _>`: has progenitor's output changed?"),
        },
        _ => bail!("`send` does not return `Result<_, _>`: has progenitor's output changed?"),
    };
    **output = parse_quote!(Result<::reqwest::Response, #error>);
    // The last statement matches the status to decode the typed answer: the response is returned instead.
    let last = untyped.block.stmts.last();
    let Some(syn::Stmt::Expr(syn::Expr::Match(m), None)) = last else {
        bail!("`send` does not end with a match on the status: has progenitor's output changed?");
    };
    if quote::ToTokens::to_token_stream(&*m.expr).to_string() != "response . status () . as_u16 ()"
    {
        bail!("`send` does not end with a match on the status: has progenitor's output changed?");
    }
    // The statuses `send` decodes as the typed success, for the caller of `send_untyped` to know them.
    let typed: Vec<syn::Lit> = m
        .arms
        .iter()
        .filter(|arm| {
            quote::ToTokens::to_token_stream(&*arm.body)
                .to_string()
                .contains("from_response")
        })
        .filter_map(|arm| match &arm.pat {
            syn::Pat::Lit(lit) => Some(lit.lit.clone()),
            _ => None,
        })
        .collect();
    let decode = m.clone();
    if let Some(last) = untyped.block.stmts.last_mut() {
        *last = syn::Stmt::Expr(parse_quote!(Ok(response)), None);
    }
    // `send` keeps only its decoding: the request is `send_untyped`'s.
    send.block.stmts = vec![
        parse_quote!(let response = self.send_untyped().await?;),
        syn::Stmt::Expr(syn::Expr::Match(decode), None),
    ];
    untyped.attrs = vec![parse_quote! {
        #[doc = "Sends the request as `send` does (same hooks, headers and body) and returns the response as it came, whatever its status, for a caller that reads the answer itself."]
    }];
    let statuses: syn::ImplItem = parse_quote! {
        #[doc = "The statuses whose body `send` decodes as the typed success; `send` returns any other as `Error::UnexpectedResponse`."]
        pub const TYPED_STATUSES: &'static [u16] = &[#(#typed),*];
    };
    let Some(lifetime) = imp.generics.lifetimes().next().map(|l| l.lifetime.clone()) else {
        bail!("an operation builder has no lifetime parameter: has progenitor's output changed?");
    };
    for method in imp.items.iter_mut().filter_map(|item| match item {
        syn::ImplItem::Fn(f) if f.sig.ident == "send" => Some(f),
        _ => None,
    }) {
        boxed_in_api(method, &lifetime)?;
    }
    boxed_in_api(&mut untyped, &lifetime)?;
    Ok(Some([statuses, syn::ImplItem::Fn(untyped)]))
}

/// `async fn f(self) -> T { … }` becomes `fn f(self) -> impl Future<Output = T> + Send + 'a` whose body is
/// boxed by `xbl-mpsd-api` (`src/sending.rs`): the request's code is compiled once, in the api crate, instead
/// of in every crate that awaits it (BENCHMARKS.md, P7). Callers still write `.send().await`.
fn boxed_in_api(method: &mut syn::ImplItemFn, lifetime: &syn::Lifetime) -> Result<()> {
    if method.sig.asyncness.take().is_none() {
        bail!(
            "`{}` is not an `async fn`: has progenitor's output changed?",
            method.sig.ident
        );
    }
    let syn::ReturnType::Type(_, output) = &method.sig.output else {
        bail!(
            "`{}` returns nothing: has progenitor's output changed?",
            method.sig.ident
        );
    };
    let output = output.clone();
    method.sig.output = parse_quote!(
        -> impl ::std::future::Future<Output = #output> + ::std::marker::Send + #lifetime
    );
    let stmts = &method.block.stmts;
    method.block = parse_quote!({
        ::xbl_mpsd_api::sending::boxed(async move { #(#stmts)* })
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(src: &str) -> String {
        let mut file: syn::File = syn::parse_str(src).unwrap();
        types_module(&mut file, &[], &[]).unwrap();
        prettyplease::unparse(&file)
    }

    #[test]
    fn structs_become_non_exhaustive_and_all_optional_ones_default() {
        let out = run(r#"
            pub mod types {
                #[derive(Clone)]
                pub struct Delta {
                    #[serde(skip_serializing_if = "::std::option::Option::is_none")]
                    pub a: ::std::option::Option<i32>,
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
        // Every struct decodes through `FromJson`, compiled in the api crate.
        assert!(
            out.contains("::xbl_mpsd_api::from_json!(Delta, Request, Wrapper);"),
            "{out}"
        );
    }

    #[test]
    fn optional_fields_and_their_builders_become_nullable() {
        let out = run(r#"
            pub mod types {
                pub struct Doc {
                    #[serde(rename = "maxCount", skip_serializing_if = "::std::option::Option::is_none")]
                    pub max_count: ::std::option::Option<i32>,
                    #[serde(default, skip_serializing_if = "::std::vec::Vec::is_empty")]
                    pub keywords: ::std::vec::Vec<String>,
                    pub required: i32,
                }
                pub mod builder {
                    pub struct Doc {
                        max_count: ::std::result::Result<::std::option::Option<i32>, ::std::string::String>,
                        keywords: ::std::result::Result<::std::vec::Vec<String>, ::std::string::String>,
                    }
                    impl Doc {
                        pub fn max_count<T>(mut self, value: T) -> Self
                        where T: ::std::convert::TryInto<::std::option::Option<i32>>, T::Error: Display { self }
                    }
                }
            }
        "#);
        let flat: String = out.split_whitespace().collect();
        for expected in [
            r#"#[serde(rename = "maxCount", default, skip_serializing_if = "::xbl_mpsd_api::Nullable::is_absent")] pub max_count: ::xbl_mpsd_api::Nullable<i32>"#,
            "pub keywords: ::xbl_mpsd_api::Nullable<::std::vec::Vec<String>>",
            "max_count: ::std::result::Result< ::xbl_mpsd_api::Nullable<i32>, ::std::string::String, >",
            "T: ::std::convert::TryInto<::xbl_mpsd_api::Nullable<i32>>",
            "pub required: i32",
        ] {
            let expected: String = expected.split_whitespace().collect();
            assert!(flat.contains(&expected), "{expected}\n{out}");
        }
    }

    #[test]
    fn an_optional_field_of_an_unknown_shape_is_an_error() {
        let mut file: syn::File = syn::parse_str(
            r#"pub mod types { pub struct Doc {
                #[serde(skip_serializing_if = "is_zero")] pub n: u8,
            } }"#,
        )
        .unwrap();
        let err = types_module(&mut file, &[], &[]).unwrap_err().to_string();
        assert!(err.contains("Doc.n") && err.contains("is_zero"), "{err}");
    }

    #[test]
    fn a_map_key_type_replaces_the_string_key_in_the_struct_and_its_builder() {
        let mut file: syn::File = syn::parse_str(
            r#"pub mod types {
                pub struct Session {
                    #[serde(default, skip_serializing_if = ":: indexmap :: IndexMap::is_empty")]
                    pub members: ::indexmap::IndexMap<::std::string::String, Member>,
                }
                pub mod builder {
                    pub struct Session {
                        members: ::std::result::Result<::indexmap::IndexMap<::std::string::String, super::Member>, ::std::string::String>,
                    }
                }
            }"#,
        )
        .unwrap();
        let key = MapKey {
            schema: "Session".into(),
            property: "members".into(),
            rust: "MemberKey".into(),
        };
        types_module(&mut file, &[], std::slice::from_ref(&key)).unwrap();
        let out = prettyplease::unparse(&file);
        assert_eq!(out.matches("::xbl_mpsd_api::MemberKey").count(), 2, "{out}");
        let missing = MapKey {
            property: "players".into(),
            ..key
        };
        let mut file: syn::File =
            syn::parse_str("pub mod types { pub struct Session {} }").unwrap();
        assert!(types_module(&mut file, &[], &[missing]).is_err());
        let spec = serde_json::json!({"components": {"schemas": {"S": {"properties": {
            "m": {"type": "object", "x-key-type": "MemberKey"}, "n": {"type": "object"}}}}}});
        assert_eq!(
            map_keys(&spec).unwrap(),
            [MapKey {
                schema: "S".into(),
                property: "m".into(),
                rust: "MemberKey".into()
            }]
        );
        let bad = serde_json::json!({"components": {"schemas": {"S": {"properties": {
            "m": {"x-key-type": "not a type"}}}}}});
        assert!(map_keys(&bad).is_err());
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
    fn structs_decode_through_the_shared_decoder() {
        let out = run(r#"
            pub mod types {
                #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug)]
                pub struct Doc {
                    #[serde(rename = "maxCount", default, skip_serializing_if = "::std::option::Option::is_none")]
                    pub max_count: ::std::option::Option<i32>,
                    pub version: i32,
                    #[serde(rename = "type")]
                    pub type_: String,
                    #[serde(flatten)]
                    pub extra: ::serde_json::Map<String, ::serde_json::Value>,
                }
                #[derive(::serde::Deserialize, ::serde::Serialize)]
                pub struct Closed { pub a: i32 }
                #[derive(::serde::Deserialize, ::serde::Serialize)]
                #[serde(transparent)]
                pub struct Custom(pub ::serde_json::Value);
            }
        "#)
        .replace(char::is_whitespace, "");
        for expected in [
            "#[derive(::serde::Serialize,Clone,Debug)]",
            "impl<'de>::serde::Deserialize<'de>forDoc{",
            "f.write_str(\"structDoc\")",
            "\"maxCount\"=>{::xbl_mpsd_api::de::field(&mutfield0,&mutmap,\"maxCount\",)?}",
            "\"version\"=>{::xbl_mpsd_api::de::field(&mutfield1,&mutmap,\"version\")?}",
            "\"type\"=>{::xbl_mpsd_api::de::field(&mutfield2,&mutmap,\"type\")?}",
            "_=>::xbl_mpsd_api::de::unknown(&mutextra,key,&mutmap)?,",
            "max_count:field0.unwrap_or_default(),",
            "version:::xbl_mpsd_api::de::required::<_,M::Error,>(field1,\"version\")?,",
            "extra:extra,",
            "_=>::xbl_mpsd_api::de::skip(&mutmap)?,",
            // A transparent newtype keeps serde's derive.
            "#[derive(::serde::Deserialize,::serde::Serialize)]#[serde(transparent)]",
        ] {
            assert!(out.contains(expected), "{expected} not in {out}");
        }
        // An attribute the decoder does not know is an error, not a silently different decoder.
        let mut file: syn::File = syn::parse_str(
            r#"pub mod types {
                #[derive(::serde::Deserialize)]
                pub struct Doc { #[serde(alias = "b")] pub a: i32 }
            }"#,
        )
        .unwrap();
        assert!(types_module(&mut file, &[], &[]).is_err());
    }

    #[test]
    fn only_request_bodies_keep_their_struct_builders() {
        let source = r#"
            pub mod types {
                pub struct Delta { pub a: Option<Part> }
                impl Delta { pub fn builder() -> builder::Delta { Default::default() } }
                pub struct Part { pub b: Option<i64> }
                impl Part { pub fn builder() -> builder::Part { Default::default() } }
                impl std::fmt::Display for Part {}
                pub mod builder {
                    pub struct Delta { a: Result<Option<super::Part>, String> }
                    impl Default for Delta {}
                    impl Delta { pub fn a<T>(self, value: T) -> Self { self } }
                    impl TryFrom<Delta> for super::Delta {}
                    impl From<super::Delta> for Delta {}
                    pub struct Part { b: Result<Option<i64>, String> }
                    impl Default for Part {}
                    impl Part { pub fn b<T>(self, value: T) -> Self { self } }
                    impl TryFrom<Part> for super::Part {}
                    impl From<super::Part> for Part {}
                }
            }
            pub mod builder {
                pub struct Write<'a> { body: Result<RequestBody<types::Delta, types::builder::Delta>, String> }
            }
        "#;
        let mut file: syn::File = syn::parse_str(source).unwrap();
        body_builders_only(&mut file).unwrap();
        let out = prettyplease::unparse(&file).replace(char::is_whitespace, "");
        for kept in [
            "implDelta{pubfnbuilder()->builder::Delta",
            "pubstructDelta{a:Result<",
            "implTryFrom<Delta>forsuper::Delta",
            "implFrom<super::Delta>forDelta",
            "implstd::fmt::DisplayforPart{}",
            "pubstructPart{pubb:Option<i64>,}",
        ] {
            assert!(out.contains(kept), "{kept} not in {out}");
        }
        for dropped in ["builder::Part", "b:Result<", "forsuper::Part", "implPart{"] {
            assert!(!out.contains(dropped), "{dropped} still in {out}");
        }
        // No body named, or a body without a builder: an error, not a silent change.
        let mut file: syn::File =
            syn::parse_str(&source.replace("types::builder::Delta", "X")).unwrap();
        assert!(body_builders_only(&mut file).is_err());
        let mut file: syn::File =
            syn::parse_str(&source.replace("types::builder::Delta>", "types::builder::Other>"))
                .unwrap();
        assert!(body_builders_only(&mut file).is_err());
    }

    #[test]
    fn a_missing_types_module_is_an_error() {
        let mut file: syn::File = syn::parse_str("pub mod other {}").unwrap();
        assert!(types_module(&mut file, &[], &[]).is_err());
    }

    /// An operation builder as progenitor 0.15 writes it (the parts the rewrite touches).
    const OPERATION: &str = r#"
        pub mod builder {
            pub struct Write<'a> {
                client: &'a super::Client,
                body: Result<types::builder::Delta, String>,
            }
            impl<'a> Write<'a> {
                pub fn body<V>(mut self, value: V) -> Self where V: std::convert::TryInto<types::Delta> {
                    self.body = value.try_into().map(From::from).map_err(|s| format!("{}", s));
                    self
                }
                pub fn body_map<F>(mut self, f: F) -> Self
                where F: std::ops::FnOnce(types::builder::Delta) -> types::builder::Delta {
                    self.body = self.body.map(f);
                    self
                }
                pub async fn send(self) -> Result<ResponseValue<types::Session>, Error<()>> {
                    let Self { client, handle_id, nocommit, body } = self;
                    let handle_id = handle_id.map_err(Error::InvalidRequest)?;
                    let nocommit = nocommit.map_err(Error::InvalidRequest)?;
                    let body = body.and_then(|v| types::Delta::try_from(v).map_err(|e| e.to_string()))
                        .map_err(Error::InvalidRequest)?;
                    let url = format!(
                        "{}/handles/{}/session", client.baseurl, encode_path(&handle_id.to_string()),
                    );
                    let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
                    header_map.append(
                        ::reqwest::header::HeaderName::from_static("api-version"),
                        ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),
                    );
                    let request = client.client.put(url)
                        .query(&progenitor_client::QueryParam::new("nocommit", &nocommit))
                        .build()?;
                    let response = client.exec(request).await?;
                    match response.status().as_u16() {
                        200u16 => ResponseValue::from_response(response).await,
                        _ => Err(Error::UnexpectedResponse(response)),
                    }
                }
            }
        }
    "#;

    #[test]
    fn operation_bodies_are_boxed_and_api_version_is_not_sent() {
        let mut file: syn::File = syn::parse_str(OPERATION).unwrap();
        operation_builders(&mut file).unwrap();
        let out = prettyplease::unparse(&file).replace(char::is_whitespace, "");
        for expected in [
            "body:Result<::xbl_mpsd_api::request_body::RequestBody<types::Delta,types::builder::Delta,>,String,>",
            "::xbl_mpsd_api::request_body::RequestBody::Value(::std::boxed::Box::new(v)",
            "self.body=self.body.map(|b|b.map(f));",
            "pubfnbody_boxed(mutself,value:::std::boxed::Box<types::Delta>)->Self{self.body=Ok(::xbl_mpsd_api::request_body::RequestBody::Value(value));self}",
            "body.and_then(|v|v.into_value().map_err(|e|e.to_string()))",
            "HeaderMap::new()",
            "leturl=::xbl_mpsd_api::path_segment::request_url(client.baseurl.len(),format_args!(\"{}/handles/{}/session\",client.baseurl,::xbl_mpsd_api::path_segment::PathSegment(&handle_id),),);",
            "200u16=>{::xbl_mpsd_api::typed_response::from_response(response).await}",
            "pubfnsend_untyped(self,)->impl::std::future::Future<Output=Result<::reqwest::Response,Error<()>>,>+::std::marker::Send+'a{::xbl_mpsd_api::sending::boxed(asyncmove{",
            "letresponse=client.exec(request).await?;Ok(response)})}",
            "letrequest=::xbl_mpsd_api::query_param::unless_none(client.client.put(url),&nocommit,&progenitor_client::QueryParam::new(\"nocommit\",&nocommit),).build()?;",
            "pubconstTYPED_STATUSES:&'static[u16]=&[200u16];",
            "pubfnsend(self,)->impl::std::future::Future<Output=Result<ResponseValue<types::Session>,Error<()>>,>+::std::marker::Send+'a{::xbl_mpsd_api::sending::boxed(asyncmove{letresponse=self.send_untyped().await?;matchresponse.status().as_u16(){",
        ] {
            assert!(out.contains(expected), "{expected} not in {out}");
        }
        assert!(!out.contains("api-version"), "{out}");
    }

    #[test]
    fn an_operation_builder_of_another_shape_is_an_error() {
        let changed = OPERATION.replace(
            "self.body = self.body.map(f);",
            "self.body = self.body.and_then(|b| Ok(f(b)));",
        );
        let mut file: syn::File = syn::parse_str(&changed).unwrap();
        let error = operation_builders(&mut file).unwrap_err().to_string();
        assert!(error.contains("was not boxed as expected"), "{error}");
    }

    #[test]
    fn a_path_parameter_of_another_shape_is_an_error() {
        let changed = OPERATION.replace(
            "encode_path(&handle_id.to_string())",
            "encode_path(&handle_id.as_str())",
        );
        let mut file: syn::File = syn::parse_str(&changed).unwrap();
        let error = operation_builders(&mut file).unwrap_err().to_string();
        assert!(error.contains("encode_path"), "{error}");
    }
}
