//! Tests of the spec diff.

use super::spec::*;
use super::*;
use serde_json::json;

fn spec(schemas: Value, op: Value) -> Value {
    json!({
        "openapi": "3.0.3",
        "paths": {"/things/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "put": op
        }},
        "components": {"schemas": schemas}
    })
}

fn base() -> Value {
    spec(
        json!({
            "ThingRequest": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"},
                "size": {"type": "integer"},
                "color": {"$ref": "#/components/schemas/Color"}
            }},
            "Color": {"anyOf": [{"type": "string", "enum": ["red", "blue"]}, {"type": "string"}]},
            "Thing": {"type": "object", "required": ["id"], "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"}
            }}
        }),
        json!({
            "operationId": "put_thing",
            "parameters": [{"name": "dry", "in": "query", "schema": {"type": "boolean"}}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ThingRequest"}}}},
            "responses": {
                "200": {"description": "ok", "headers": {"ETag": {"schema": {"type": "string"}}},
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                "404": {"description": "no", "content": {"text/plain": {"schema": {"type": "string"}}}}
            }
        }),
    )
}

fn changes(head: &Value) -> Vec<String> {
    diff(&base(), head)
        .changes
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn assert_has(found: &[String], needle: &str) {
    assert!(
        found.iter().any(|c| c.contains(needle)),
        "{needle:?} not in {found:#?}"
    );
}

#[test]
fn identical_specs_have_no_change() {
    assert!(diff(&base(), &base()).is_empty());
}

#[test]
fn additive_changes_are_additive() {
    let mut head = base();
    let schemas = &mut head["components"]["schemas"];
    schemas["ThingRequest"]["properties"]["shape"] = json!({"type": "string"});
    schemas["Thing"]["properties"]["created"] = json!({"type": "string"});
    schemas["Thing"]["required"] = json!(["id", "created"]);
    schemas["Color"]["anyOf"][0]["enum"] = json!(["red", "blue", "green"]);
    let op = &mut head["paths"]["/things/{id}"]["put"];
    op["parameters"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "verbose", "in": "query", "schema": {"type": "boolean"}}));
    op["responses"]["429"] = json!({"description": "slow down"});
    op["responses"]["202"] = json!({"description": "accepted"});
    op["responses"]["200"]["headers"]["Expires"] = json!({"schema": {"type": "string"}});
    head["paths"]["/things"] = json!({"get": {"operationId": "list_things",
        "responses": {"200": {"description": "ok"}}}});
    let diff = diff(&base(), &head);
    assert!(!diff.has_breaking(), "{diff}");
    let found: Vec<String> = diff.changes.iter().map(ToString::to_string).collect();
    for needle in [
        "schema ThingRequest.shape: new optional property",
        "schema Thing.created: new required property",
        "schema Color: new enum value(s) [\"green\"]",
        "new optional query parameter `verbose`",
        "new status 429",
        "new status 202",
        "new response header expires on status 200",
        "GET /things (list_things): new operation",
    ] {
        assert_has(&found, needle);
    }
}

#[test]
fn breaking_changes_are_breaking() {
    let mut head = base();
    let schemas = &mut head["components"]["schemas"];
    // Rename a required request field.
    let name = schemas["ThingRequest"]["properties"]["name"].take();
    schemas["ThingRequest"]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("name");
    schemas["ThingRequest"]["properties"]["title"] = name;
    schemas["ThingRequest"]["required"] = json!(["title"]);
    // A response field becomes optional, another changes type.
    schemas["Thing"]["required"] = json!([]);
    schemas["Thing"]["properties"]["name"] = json!({"type": "integer"});
    schemas["Color"]["anyOf"][0]["enum"] = json!(["red"]);
    let op = &mut head["paths"]["/things/{id}"]["put"];
    op["parameters"] =
        json!([{"name": "dry", "in": "query", "required": true, "schema": {"type": "boolean"}}]);
    op["responses"]["200"]["headers"] = json!({});
    let diff = diff(&base(), &head);
    let breaking: Vec<String> = diff.breaking().map(ToString::to_string).collect();
    for needle in [
        "schema ThingRequest.name: property removed",
        "schema ThingRequest.title: new required property",
        "schema Thing.id: became optional",
        "schema Thing.name: type changed from string to integer",
        "schema Color: enum value(s) [\"blue\"] removed",
        "query parameter `dry` became required",
        "response header etag removed from status 200",
    ] {
        assert_has(&breaking, needle);
    }
}

#[test]
fn a_ref_wrapped_in_all_of_to_carry_a_description_is_no_change() {
    let mut head = base();
    head["components"]["schemas"]["ThingRequest"]["properties"]["color"] = json!({
        "allOf": [{"$ref": "#/components/schemas/Color"}],
        "description": "The thing's color.",
        "readOnly": true
    });
    assert!(diff(&base(), &head).is_empty(), "{:#?}", changes(&head));

    // Anything beside the `$ref` that is not an annotation still counts.
    head["components"]["schemas"]["ThingRequest"]["properties"]["color"] = json!({
        "allOf": [{"$ref": "#/components/schemas/Color"}],
        "nullable": true
    });
    assert_has(&changes(&head), "type Color replaced by an inline schema");
}

#[test]
fn a_new_map_key_type_is_breaking() {
    let mut head = base();
    head["components"]["schemas"]["Thing"]["properties"]["parts"] =
        json!({"type": "object", "additionalProperties": {"type": "string"}});
    let mut keyed = head.clone();
    keyed["components"]["schemas"]["Thing"]["properties"]["parts"]["x-key-type"] = json!("PartKey");
    let found: Vec<String> = diff(&head, &keyed)
        .changes
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_has(
        &found,
        "map key type (`x-key-type`) changed from \"String\" to \"PartKey\"",
    );
    assert!(
        found.iter().all(|c| c.starts_with("breaking")),
        "{found:#?}"
    );
}

#[test]
fn a_removed_operation_and_a_renamed_operation_id_are_breaking() {
    let mut head = base();
    head["paths"]["/things/{id}"]["put"]["operationId"] = json!("replace_thing");
    assert_has(
        &changes(&head),
        "breaking  PUT /things/{id} (put_thing): operationId changed",
    );
    let mut head = base();
    head["paths"] = json!({});
    assert_has(
        &changes(&head),
        "breaking  PUT /things/{id} (put_thing): operation removed",
    );
}

#[test]
fn operations_are_paired_by_operation_id_so_a_renamed_path_parameter_is_a_gone_setter() {
    let mut head = base();
    let paths = head["paths"].as_object_mut().unwrap();
    let mut item = paths.remove("/things/{id}").unwrap();
    item["parameters"][0]["name"] = json!("thingId");
    paths.insert("/things/{thingId}".into(), item);
    let found = changes(&head);
    assert_has(
        &found,
        "breaking  PUT /things/{thingId} (put_thing): path parameter `id` renamed to `thingId`: the setter `.id()` is gone (now `.thing_id()`)",
    );
    assert!(
        found
            .iter()
            .all(|c| !c.contains("operation removed") && !c.contains("new operation")),
        "{found:#?}"
    );
    assert_eq!(found.len(), 1, "{found:#?}");

    // A literal segment changes: the method and its setters stay.
    let mut head = base();
    let paths = head["paths"].as_object_mut().unwrap();
    let item = paths.remove("/things/{id}").unwrap();
    paths.insert("/items/{id}".into(), item);
    let found = changes(&head);
    assert_eq!(
        found,
        [
            "additive  PUT /items/{id} (put_thing): path changed from /things/{id} (the generated method and its setters are unchanged)"
        ]
    );

    // Another method: breaking (retries change).
    let mut head = base();
    let op = head["paths"]["/things/{id}"]["put"].take();
    let item = head["paths"]["/things/{id}"].as_object_mut().unwrap();
    item.remove("put");
    item.insert("post".into(), op);
    assert_has(&changes(&head), "method changed from PUT to POST");
    assert_eq!(setter_name("sessionTemplateName"), "session_template_name");
    assert_eq!(path_parameter_renames("/a/{x}/b", "/a/{y}/c"), None);
    assert_eq!(path_parameter_renames("/a/{x}", "/a/{x}/b"), None);
}

#[test]
fn a_new_required_field_on_a_shared_schema_is_breaking_through_its_request_use() {
    let mut head = base();
    head["components"]["schemas"]["ThingRequest"]["properties"]["must"] = json!({"type": "string"});
    head["components"]["schemas"]["ThingRequest"]["required"] = json!(["name", "must"]);
    assert_has(
        &changes(&head),
        "breaking  schema ThingRequest.must: new required property",
    );
}

#[test]
fn a_second_success_schema_changes_no_typed_success_but_a_new_first_one_does() {
    let mut head = base();
    head["paths"]["/things/{id}"]["put"]["responses"]["201"] = json!({"description": "x",
        "content": {"application/json": {"schema": {"type": "object"}}}});
    assert!(!diff(&base(), &head).has_breaking());
    let mut head = base();
    head["paths"]["/things/{id}"]["put"]["responses"]["200"]["content"]["application/json"]["schema"] =
        json!({"$ref": "#/components/schemas/ThingRequest"});
    assert_has(
        &changes(&head),
        "typed success changes from Thing to ThingRequest",
    );
}

#[test]
fn base_is_a_file_when_one_exists_else_a_git_revision() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.yaml");
    std::fs::write(&file, "openapi: 3.0.3\npaths: {}\n").unwrap();
    assert_eq!(
        Base::parse(Some(file.to_str().unwrap()), dir.path()),
        Base::File(file.clone())
    );
    assert_eq!(
        Base::parse(Some("old.yaml"), dir.path()),
        Base::File(dir.path().join("old.yaml"))
    );
    assert_eq!(
        Base::parse(Some("v0.1.0"), dir.path()),
        Base::Rev("v0.1.0".into())
    );
    assert_eq!(Base::parse(None, dir.path()), Base::Rev("HEAD".into()));
    assert_eq!(
        Base::File(file).load(dir.path()).unwrap()["openapi"],
        "3.0.3"
    );
}

#[test]
fn on_the_real_spec_a_renamed_required_field_and_a_removed_operation_are_breaking() {
    let root = crate::workspace_root().unwrap();
    let spec = crate::read_spec(&root.join(crate::codegen::SPEC_PATH)).unwrap();
    let mut head = spec.clone();
    let request = &mut head["components"]["schemas"]["CreateHandleRequest"];
    let version = request["properties"]
        .as_object_mut()
        .unwrap()
        .remove("version")
        .unwrap();
    request["properties"]["handleVersion"] = version;
    request["required"] = json!(["type", "handleVersion", "sessionRef"]);
    head["paths"]["/handles/query"]
        .as_object_mut()
        .unwrap()
        .remove("post");
    let diff = diff(&spec, &head);
    let breaking: Vec<String> = diff.breaking().map(ToString::to_string).collect();
    for needle in [
        "schema CreateHandleRequest.version: property removed",
        "schema CreateHandleRequest.handleVersion: new required property",
        "POST /handles/query (query_handles): operation removed",
    ] {
        assert_has(&breaking, needle);
    }
    assert!(
        diff.changes.iter().all(|c| c.class == Class::Breaking),
        "{diff}"
    );
}
