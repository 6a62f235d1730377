//! Between Rust and JavaScript: the user and context a script sees, and the decisions it
//! returns, checked field by field.

use muster_guest::{Context, GroupAssignment, User, UserDecision};
use rquickjs::{Array, Ctx, IntoJs, Object, Value};
use serde::Serialize;

use crate::error::{ScriptError, json};

/// The context without `config` (added as the loaded, frozen value).
#[derive(Serialize)]
struct ContextView<'a> {
    realm: &'a str,
    trigger: muster_guest::Trigger,
}

/// `user` as a JavaScript object (`user.userName`, `user.attributes.department[0]`, …), built
/// field by field: cheaper inside the sandbox than going through JSON text.
pub fn user<'js>(ctx: &Ctx<'js>, user: &User) -> rquickjs::Result<Value<'js>> {
    let object = Object::new(ctx.clone())?;
    object.set("userName", user.user_name.as_str())?;
    object.set("externalId", string_or_null(ctx, user.external_id.as_deref())?)?;
    object.set("email", string_or_null(ctx, user.email.as_deref())?)?;
    object.set("attributes", attributes(ctx, user)?)?;
    object.set("providerGroups", strings(ctx, &user.provider_groups)?)?;
    object.set("internalGroups", strings(ctx, &user.internal_groups)?)?;
    Ok(object.into_value())
}

/// The attributes by name. Setting a property named `__proto__` would replace the object's
/// prototype rather than add the attribute, so a user with such an attribute gets the object
/// JSON.parse makes, whose properties are all its own.
fn attributes<'js>(ctx: &Ctx<'js>, user: &User) -> rquickjs::Result<Value<'js>> {
    if user.attributes.contains_key("__proto__") {
        return from_json(ctx, &user.attributes);
    }
    let attributes = Object::new(ctx.clone())?;
    for (name, values) in &user.attributes {
        attributes.set(name.as_str(), strings(ctx, values)?)?;
    }
    Ok(attributes.into_value())
}

fn string_or_null<'js>(ctx: &Ctx<'js>, text: Option<&str>) -> rquickjs::Result<Value<'js>> {
    match text {
        Some(text) => text.into_js(ctx),
        None => Ok(Value::new_null(ctx.clone())),
    }
}

fn strings<'js>(ctx: &Ctx<'js>, items: &[String]) -> rquickjs::Result<Array<'js>> {
    let array = Array::new(ctx.clone())?;
    for (index, item) in items.iter().enumerate() {
        array.set(index, item.as_str())?;
    }
    Ok(array)
}

/// `context` as a JavaScript object, with the settings' `config`.
pub fn context<'js>(ctx: &Ctx<'js>, context: &Context, config: Value<'js>) -> rquickjs::Result<Value<'js>> {
    let value = from_json(ctx, &ContextView { realm: &context.realm, trigger: context.trigger })?;
    if let Some(object) = value.as_object() {
        object.set("config", config)?;
    }
    Ok(value)
}

fn from_json<'js>(ctx: &Ctx<'js>, value: &impl Serialize) -> rquickjs::Result<Value<'js>> {
    // Plain strings, maps and lists always serialize.
    let text = serde_json::to_string(value).map_err(|_| rquickjs::Error::Unknown)?;
    ctx.json_parse(text)
}

/// Reads what `decideUser` returned: `{organization: string|null, rule?: string, groups?: string[]}`.
pub fn user_decision<'js>(ctx: &Ctx<'js>, returned: &Value<'js>) -> Result<UserDecision, ScriptError> {
    let shape = Shape { ctx, entry: "decideUser", returned };
    let object = shape.object()?;
    let organization = match object.get::<_, Value>("organization").map_err(|e| shape.engine(e))? {
        value if value.is_null() => None,
        value => Some(shape.string(&value, "\"organization\" must be a string or null (null: No organization)")?),
    };
    let rule = shape.optional_string(&object, "rule")?;
    let groups = shape.optional_strings(&object, "groups")?.unwrap_or_default();
    Ok(UserDecision { organization, rule, groups })
}

/// Reads what `decideGroup` returned for `group`: `{organizations: string[], rule?: string}`.
pub fn group_assignment<'js>(
    ctx: &Ctx<'js>,
    group: &str,
    returned: &Value<'js>,
) -> Result<GroupAssignment, ScriptError> {
    let shape = Shape { ctx, entry: "decideGroup", returned };
    let object = shape.object()?;
    let organizations = shape
        .optional_strings(&object, "organizations")?
        .ok_or_else(|| shape.wrong("\"organizations\" must be an array of strings (empty: No organization)"))?;
    let rule = shape.optional_string(&object, "rule")?;
    Ok(GroupAssignment { group: group.to_owned(), organizations, rule })
}

/// Checks one returned value, naming the entry and the value in every complaint.
struct Shape<'a, 'js> {
    ctx: &'a Ctx<'js>,
    entry: &'static str,
    returned: &'a Value<'js>,
}

impl<'js> Shape<'_, 'js> {
    fn wrong(&self, problem: &str) -> ScriptError {
        let returned = if self.returned.is_undefined() {
            "undefined".to_owned()
        } else if self.returned.is_function() {
            "a function".to_owned()
        } else {
            json(self.ctx, self.returned).unwrap_or_else(|| self.returned.type_name().to_owned())
        };
        ScriptError::Shape { entry: self.entry, returned, problem: problem.to_owned() }
    }

    fn engine(&self, error: rquickjs::Error) -> ScriptError {
        crate::error::caught(self.ctx, error, &format!("reading what {} returned", self.entry))
    }

    fn object(&self) -> Result<Object<'js>, ScriptError> {
        if self.returned.is_promise() {
            return Err(
                self.wrong("it must return a decision object, not a Promise (async functions are not supported)")
            );
        }
        match self.returned.as_object() {
            Some(object) if !self.returned.is_array() && !self.returned.is_function() => Ok(object.clone()),
            _ => Err(self.wrong("it must return an object")),
        }
    }

    fn string(&self, value: &Value<'js>, problem: &str) -> Result<String, ScriptError> {
        match value.as_string() {
            Some(text) => text.to_string().map_err(|e| self.engine(e)),
            None => Err(self.wrong(problem)),
        }
    }

    /// A string field that may be absent, `undefined` or `null`.
    fn optional_string(&self, object: &Object<'js>, field: &str) -> Result<Option<String>, ScriptError> {
        let value: Value = object.get(field).map_err(|e| self.engine(e))?;
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        self.string(&value, &format!("\"{field}\" must be a string when given")).map(Some)
    }

    /// An array-of-strings field that may be absent or `undefined`.
    fn optional_strings(&self, object: &Object<'js>, field: &str) -> Result<Option<Vec<String>>, ScriptError> {
        let value: Value = object.get(field).map_err(|e| self.engine(e))?;
        if value.is_undefined() {
            return Ok(None);
        }
        let problem = format!("\"{field}\" must be an array of strings");
        let array = value.as_array().ok_or_else(|| self.wrong(&problem))?;
        let mut strings = Vec::with_capacity(array.len());
        for (index, item) in array.iter::<Value>().enumerate() {
            let item = item.map_err(|e| self.engine(e))?;
            strings.push(self.string(&item, &format!("{problem} (item {index} is not)"))?);
        }
        Ok(Some(strings))
    }
}
