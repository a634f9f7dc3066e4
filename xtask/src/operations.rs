//! Generates `xbl-mpsd-api/src/generated_operations.rs`: an `xbl_mpsd_api::Operation` impl for every request
//! builder progenitor generated, so `xbl-mpsd-ext` can run any operation — including one added to the spec
//! today — with the client's retries (by HTTP method) and typed errors.
//!
//! The impls are read off the generated client itself (the builder's name, its `send`'s return type, the
//! HTTP method and the operationId in `send`'s body), not guessed from the spec, so they always agree
//! with what progenitor generated.
//!
//! One thing comes from the spec: an operation marked `x-idempotent: true` (a `POST` that only reads, such as
//! a batch session query) gets `fn is_idempotent() -> bool { true }`, so `MpsdClient::operation` retries it
//! like a `GET`. The extension must be a boolean; `false` (or none) keeps the verdict by HTTP method.

use std::collections::BTreeSet;

use anyhow::{Context, Result, bail};
use quote::ToTokens;
use serde_json::Value;

/// The extension that marks an operation safe to repeat whatever its method.
pub const IDEMPOTENT_EXTENSION: &str = "x-idempotent";

/// The operationIds of `spec` marked `x-idempotent: true`; an `x-idempotent` that is not a boolean is an error
/// naming the operation.
pub fn idempotent_operations(spec: &Value) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for (path, method) in crate::validate::operations(spec) {
        let operation = &spec["paths"][&path][method];
        let name = || {
            operation["operationId"].as_str().map_or_else(
                || format!("{} {path}", method.to_uppercase()),
                str::to_owned,
            )
        };
        match operation.get(IDEMPOTENT_EXTENSION) {
            None | Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) => {
                out.insert(name());
            }
            Some(other) => bail!(
                "{}: {IDEMPOTENT_EXTENSION} must be true or false, not {other}",
                name()
            ),
        }
    }
    Ok(out)
}

/// One builder found in the generated client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuilderOp {
    /// The builder's type name in `builder::` (`GetHandle`).
    pub builder: String,
    /// The operationId (`get_handle`).
    pub operation_id: String,
    /// The HTTP method in upper case (`GET`).
    pub method: String,
    /// The path template (`/handles/{handleId}`).
    pub path: String,
    /// The typed success (`types::HandleDocument`, `()`, `ByteStream`).
    pub output: String,
    /// The error body type (`()` when the generation input types no error).
    pub error: String,
}

fn generic_arg(ty: &syn::Type, outer: &str, index: usize) -> Option<syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let segment = path.path.segments.last()?;
    if segment.ident != outer {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    args.args
        .iter()
        .filter_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t.clone()),
            _ => None,
        })
        .nth(index)
}

/// `T` of `impl Future<Output = T> + …`; any other type as it is.
fn future_output(ty: &syn::Type) -> syn::Type {
    let syn::Type::ImplTrait(bounds) = ty else {
        return ty.clone();
    };
    bounds
        .bounds
        .iter()
        .find_map(|bound| match bound {
            syn::TypeParamBound::Trait(t) => match &t.path.segments.last()?.arguments {
                syn::PathArguments::AngleBracketed(args) => {
                    args.args.iter().find_map(|a| match a {
                        syn::GenericArgument::AssocType(assoc) if assoc.ident == "Output" => {
                            Some(assoc.ty.clone())
                        }
                        _ => None,
                    })
                }
                _ => None,
            },
            _ => None,
        })
        .unwrap_or_else(|| ty.clone())
}

fn tokens(value: &impl ToTokens) -> String {
    value.to_token_stream().to_string()
}

/// The items of the generated client's `mod builder`.
pub fn builder_module(file: &syn::File) -> Result<&[syn::Item]> {
    file.items
        .iter()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "builder" => m.content.as_ref(),
            _ => None,
        })
        .map(|(_, items)| items.as_slice())
        .context("the generated client has no `mod builder`")
}

/// Reads every builder with a `send` method from the generated client's source.
pub fn builders(client_source: &str) -> Result<Vec<BuilderOp>> {
    let file = syn::parse_file(client_source).context("the generated client does not parse")?;
    let builder_items = builder_module(&file)?;
    let mut out = Vec::new();
    for item in builder_items {
        let syn::Item::Impl(imp) = item else {
            continue;
        };
        if imp.trait_.is_some() {
            continue;
        }
        let syn::Type::Path(self_ty) = &*imp.self_ty else {
            continue;
        };
        let Some(name) = self_ty.path.segments.last().map(|s| s.ident.to_string()) else {
            continue;
        };
        for impl_item in &imp.items {
            let syn::ImplItem::Fn(f) = impl_item else {
                continue;
            };
            if f.sig.ident != "send" {
                continue;
            }
            let syn::ReturnType::Type(_, ret) = &f.sig.output else {
                bail!("builder::{name}::send returns nothing");
            };
            // `send` returns its result, or (boxed in the api crate) `impl Future<Output = …>`.
            let ret = &future_output(ret);
            let ok = generic_arg(ret, "Result", 0)
                .with_context(|| format!("builder::{name}::send does not return a Result"))?;
            let err = generic_arg(ret, "Result", 1)
                .with_context(|| format!("builder::{name}::send has no error type"))?;
            let output = generic_arg(&ok, "ResponseValue", 0).with_context(|| {
                format!("builder::{name}::send's success is not a ResponseValue")
            })?;
            let error = generic_arg(&err, "Error", 0)
                .with_context(|| format!("builder::{name}::send's error is not an Error<E>"))?;
            // progenitor documents `send` as "Sends a `GET` request to `/handles/{handleId}`".
            let doc: String = f.attrs.iter().map(tokens).collect::<Vec<_>>().join(" ");
            let mut quoted = doc.split("Sends a `").nth(1).unwrap_or_default().split('`');
            let doc_method = quoted.next().filter(|m| !m.is_empty()).map(str::to_owned);
            let path = quoted
                .nth(1)
                .filter(|p| p.starts_with('/'))
                .with_context(|| format!("builder::{name}::send's doc names no path: {doc}"))?
                .to_owned();
            // The request itself is made in `send_untyped` when postprocessing split `send` (see
            // `postprocess::send_untyped`); read the whole impl.
            let body = tokens(imp);
            let operation_id = body
                .split("operation_id :")
                .nth(1)
                .and_then(|rest| rest.split('"').nth(1))
                .with_context(|| format!("builder::{name}::send names no operation_id"))?
                .to_owned();
            let method = doc_method
                .or_else(|| {
                    ["get", "put", "post", "delete", "patch", "head"]
                        .iter()
                        .find(|m| body.contains(&format!("client . client . {m} (")))
                        .map(|m| m.to_uppercase())
                        .or_else(|| {
                            body.split("Method ::")
                                .nth(1)
                                .and_then(|rest| rest.split_whitespace().next())
                                .map(str::to_owned)
                        })
                })
                .with_context(|| format!("builder::{name}::send: no HTTP method found"))?;
            out.push(BuilderOp {
                builder: name.clone(),
                operation_id,
                method,
                path,
                output: tokens(&output),
                error: tokens(&error),
            });
        }
    }
    if out.is_empty() {
        bail!("no request builder found in the generated client");
    }
    Ok(out)
}

/// The source of `generated_operations.rs` for the builders of `client_source`; the operations named in
/// `idempotent` (see [`idempotent_operations`]) say they are idempotent whatever their method.
pub fn generate(client_source: &str, idempotent: &BTreeSet<String>) -> Result<String> {
    let mut code = String::from(
        "use crate::{ByteStream, Error, Operation, ResponseValue, builder, types};\n\
         use ::reqwest::Method;\n",
    );
    for op in builders(client_source)? {
        let BuilderOp {
            builder,
            operation_id,
            method,
            path,
            output,
            error,
        } = op;
        let idempotent_fn = if idempotent.contains(&operation_id) {
            "#[doc = \"Marked `x-idempotent: true` in the spec: safe to repeat, retried like a `GET`.\"]\n\
             fn is_idempotent() -> bool { true }\n"
        } else {
            ""
        };
        code.push_str(&format!(
            "#[doc = \"`{method}` `{operation_id}`\"]\n\
             impl<'a> Operation for builder::{builder}<'a> {{\n\
                 type Output = {output};\n\
                 type Error = {error};\n\
                 const METHOD: Method = Method::{method};\n\
                 const OPERATION_ID: &'static str = \"{operation_id}\";\n\
                 const PATH: &'static str = \"{path}\";\n\
                 fn send(self) -> impl ::std::future::Future<Output = Result<ResponseValue<Self::Output>, Error<Self::Error>>> + Send {{\n\
                     builder::{builder}::send(self)\n\
                 }}\n\
                 {idempotent_fn}\
             }}\n"
        ));
    }
    // The same verdicts by progenitor's `OperationInfo::operation_id`, for the client's exec hook (which sees
    // the request, not its builder type): each arm asks the impl above, so there is one answer per operation.
    code.push_str(
        "#[doc = \"Whether the operation `operation_id` (progenitor's `OperationInfo::operation_id`) is \
         safe to repeat: its builder's `Operation::is_idempotent`; `false` for an unknown id.\"]\n\
         pub(crate) fn is_idempotent_operation(operation_id: &str) -> bool {\n\
             match operation_id {\n",
    );
    for op in builders(client_source)? {
        code.push_str(&format!(
            "\"{}\" => <builder::{}<'static> as Operation>::is_idempotent(),\n",
            op.operation_id, op.builder
        ));
    }
    code.push_str("_ => false,\n}\n}\n");
    let file = syn::parse_file(&code).context("the generated Operation impls do not parse")?;
    Ok(prettyplease::unparse(&file))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = r#"
        pub mod types {}
        pub mod builder {
            use super::types;
            #[derive(Debug, Clone)]
            pub struct GetThing<'a> { client: &'a super::Client }
            impl<'a> GetThing<'a> {
                pub fn new(client: &'a super::Client) -> Self { Self { client } }
                ///Sends a `GET` request to `/things/{id}`
                pub async fn send(self) -> Result<ResponseValue<types::Thing>, Error<()>> {
                    let mut request = client.client.get(url).build()?;
                    let info = OperationInfo { operation_id: "get_thing" };
                    parse_only()
                }
            }
            pub struct DropThing<'a> { client: &'a super::Client }
            impl<'a> DropThing<'a> {
                ///Sends a `DELETE` request to `/things`
                pub async fn send(self) -> Result<ResponseValue<()>, Error<()>> {
                    let mut request = client.client.delete(url).headers(h).build()?;
                    let info = OperationInfo { operation_id: "drop_thing" };
                    parse_only()
                }
            }
        }
    "#;

    #[test]
    fn builders_are_read_off_the_generated_client() {
        let found = builders(CLIENT).unwrap();
        assert_eq!(
            found,
            [
                BuilderOp {
                    builder: "GetThing".into(),
                    operation_id: "get_thing".into(),
                    method: "GET".into(),
                    path: "/things/{id}".into(),
                    output: "types :: Thing".into(),
                    error: "()".into(),
                },
                BuilderOp {
                    builder: "DropThing".into(),
                    operation_id: "drop_thing".into(),
                    method: "DELETE".into(),
                    path: "/things".into(),
                    output: "()".into(),
                    error: "()".into(),
                },
            ]
        );
        let code = generate(CLIENT, &BTreeSet::new()).unwrap();
        assert!(
            code.contains("impl<'a> Operation for builder::GetThing<'a>"),
            "{code}"
        );
        assert!(!code.contains("fn is_idempotent()"), "{code}");
        // The lookup by operation id asks each builder's impl.
        assert!(
            code.contains(
                "\"drop_thing\" => <builder::DropThing<'static> as Operation>::is_idempotent()"
            ),
            "{code}"
        );
        let marked = generate(CLIENT, &BTreeSet::from(["drop_thing".to_owned()])).unwrap();
        assert_eq!(
            marked.matches("fn is_idempotent() -> bool").count(),
            1,
            "{marked}"
        );
        assert!(
            code.contains("const METHOD: Method = Method::DELETE;"),
            "{code}"
        );
    }

    #[test]
    fn x_idempotent_is_read_as_a_boolean() {
        let spec = serde_json::json!({ "paths": {
            "/a": { "post": { "operationId": "read_a", "x-idempotent": true } },
            "/b": { "post": { "operationId": "write_b", "x-idempotent": false }, "get": { "operationId": "get_b" } },
        } });
        assert_eq!(
            idempotent_operations(&spec).unwrap(),
            BTreeSet::from(["read_a".to_owned()])
        );
        let bad = serde_json::json!({ "paths": { "/a": { "post": { "operationId": "read_a", "x-idempotent": "yes" } } } });
        let error = idempotent_operations(&bad).unwrap_err().to_string();
        assert!(
            error.contains("read_a") && error.contains("true or false"),
            "{error}"
        );
        // The real spec marks the two batch session queries.
        let root = crate::workspace_root().unwrap();
        let spec = crate::read_spec(&root.join(crate::codegen::SPEC_PATH)).unwrap();
        assert_eq!(
            idempotent_operations(&spec).unwrap(),
            BTreeSet::from([
                "query_sessions_batch".to_owned(),
                "query_template_sessions_batch".to_owned()
            ])
        );
    }

    #[test]
    fn every_operation_of_the_real_spec_gets_an_impl() {
        let root = crate::workspace_root().unwrap();
        let client = std::fs::read_to_string(root.join(crate::codegen::CLIENT_PATH)).unwrap();
        let found = builders(&client).unwrap();
        let spec = crate::read_spec(&root.join(crate::codegen::SPEC_PATH)).unwrap();
        let mut ids: Vec<String> = crate::validate::operations(&spec)
            .into_iter()
            .map(|(path, method)| {
                spec["paths"][&path][method]["operationId"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        let mut got: Vec<String> = found.iter().map(|b| b.operation_id.clone()).collect();
        ids.sort();
        got.sort();
        assert_eq!(got, ids);
    }
}
