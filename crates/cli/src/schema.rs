//! `baton schema`: prints the JSON Schema of the assistant format, for editors.

/// Prints the schema to stdout.
pub fn run() -> anyhow::Result<i32> {
    let schema = baton_assistant::schema::schema();
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(0)
}
