//! The OpenAPI document of the API, made from the route table.

use serde_json::{Value, json};

use super::api::{Access, ROUTES, SESSION_COOKIE};

/// The OpenAPI 3.1 document of the API, made from the route table that also authorizes every request, so
/// no route can be served without being described.
pub fn openapi() -> Value {
    let mut paths = serde_json::Map::new();
    for (method, path, access, summary) in ROUTES {
        let security = match access {
            Access::Public => json!([]),
            Access::Role(_) => json!([{"session": []}, {"token": []}]),
        };
        let role = match access {
            Access::Public => "public".to_string(),
            Access::Role(role) => format!("needs the {} role", role.as_str()),
        };
        let parameters: Vec<Value> = path
            .split('/')
            .filter_map(|part| part.strip_prefix('{').and_then(|part| part.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "integer"}}))
            .collect();
        let mut responses = json!({
            "200": {"description": "OK"},
            "400": {"description": "The body is not what the route takes", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "404": {"description": "No such thing"},
            "422": {"description": "The request is understood but refused; details say why"},
        });
        if *access != Access::Public {
            responses["401"] = json!({"description": "Not logged in"});
            responses["403"] = json!({"description": "The role is too low, or the CSRF token is missing"});
        }
        let operation = json!({
            "summary": summary,
            "description": role,
            "security": security,
            "parameters": parameters,
            "responses": responses,
        });
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[method.to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "loket-sync", "version": env!("CARGO_PKG_VERSION"), "description": "Personio to Loket.nl payroll sync: connections, plans, approvals, runs."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
                "token": {"type": "http", "scheme": "bearer"},
            },
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "string"}, "details": {"type": "array", "items": {"type": "string"}}}, "required": ["error"]},
            },
        },
    })
}
