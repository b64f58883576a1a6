//! `clusterdeck plugins`: every backend plugin discovery can see, each
//! started once to say what it is. A plugin that cannot is listed with why,
//! never failing the listing.

use clusterdeck::plugin::{self, Described};
use serde_json::json;

use super::failure::Failure;
use super::views::out;

pub fn list(json: bool) -> Result<(), Failure> {
    let described = plugin::describe_all();
    if json {
        out(&format!("{}\n", as_json(&described)));
    } else {
        out(&as_text(&described));
    }
    Ok(())
}

fn as_json(described: &[Described]) -> serde_json::Value {
    described
        .iter()
        .map(|(found, description)| {
            let mut row = json!({
                "name": found.name,
                "path": found.path,
                "shadowed": found.shadowed,
            });
            match description {
                Ok(description) => {
                    row["version"] = json!(description.version);
                    row["kinds"] = json!(description.kinds);
                    row["capabilities"] = json!(description.capabilities);
                }
                Err(err) => row["error"] = json!(err.to_string()),
            }
            row
        })
        .collect()
}

fn as_text(described: &[Described]) -> String {
    if described.is_empty() {
        let dir = plugin::plugins_dir()
            .map(|dir| format!("{} and ", dir.display()))
            .unwrap_or_default();
        return format!(
            "no plugins found (executables {}* in {dir}PATH)\n",
            plugin::PREFIX
        );
    }
    let mut rows = vec![[
        "NAME".to_owned(),
        "VERSION".to_owned(),
        "KINDS".to_owned(),
        "CAPABILITIES".to_owned(),
        "PATH".to_owned(),
    ]];
    rows.extend(described.iter().map(|(found, description)| {
        let path = found.path.display().to_string();
        match description {
            Ok(description) => [
                found.name.clone(),
                or_dash(&description.version),
                or_dash(&description.kinds.join(",")),
                or_dash(&description.capabilities.join(",")),
                path,
            ],
            Err(_) => [
                found.name.clone(),
                "?".to_owned(),
                "?".to_owned(),
                "?".to_owned(),
                path,
            ],
        }
    }));
    let mut widths = [0; 4];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |row: &[String; 5]| {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            line.push_str(&format!("{cell:<width$}  "));
        }
        format!("{}\n", format!("{line}{}", row[4]).trim_end())
    };
    let mut text = line(&rows[0]);
    for ((found, description), row) in described.iter().zip(&rows[1..]) {
        text.push_str(&line(row));
        if let Err(err) = description {
            text.push_str(&format!("  error: {err}\n"));
        }
        for hidden in &found.shadowed {
            text.push_str(&format!("  shadows: {} (not used)\n", hidden.display()));
        }
    }
    text
}

fn or_dash(text: &str) -> String {
    if text.is_empty() { "-" } else { text }.to_owned()
}
