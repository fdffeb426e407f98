//! How the admin commands print: `--output table` (aligned columns for people, the default) or
//! `--output json` (the endpoint's JSON for scripts). One table renderer serves every command.

use clap::{Args, ValueEnum};
use serde_json::Value;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns.
    #[default]
    Table,
    /// The admin endpoint's JSON, unchanged.
    Json,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// How to print: aligned columns or the admin endpoint's JSON.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    pub output: Output,
}

/// Column alignment: numbers right, text left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table of text cells with computed column widths. The last column is not padded.
#[derive(Debug, Default)]
pub struct Table {
    header: Option<Vec<String>>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

/// The gap between columns.
const GAP: &str = "  ";

impl Table {
    /// A table with a header row; `align` gives each column's alignment.
    pub fn new(header: &[&str], align: &[Align]) -> Table {
        Table {
            header: Some(header.iter().map(|h| (*h).to_owned()).collect()),
            align: align.to_vec(),
            rows: Vec::new(),
        }
    }

    /// `key  value` lines: keys left, values left.
    pub fn key_value() -> Table {
        Table {
            header: None,
            align: vec![Align::Left, Align::Left],
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) -> &mut Table {
        self.rows.push(cells);
        self
    }

    pub fn render(&self) -> String {
        let lines: Vec<&Vec<String>> = self.header.iter().chain(self.rows.iter()).collect();
        let columns = lines.iter().map(|l| l.len()).max().unwrap_or(0);
        let width = |c: usize| {
            lines
                .iter()
                .filter_map(|l| l.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..columns).map(width).collect();
        let mut out = String::new();
        for line in lines {
            let mut text = String::new();
            for (c, cell) in line.iter().enumerate() {
                if c > 0 {
                    text.push_str(GAP);
                }
                let w = widths[c];
                match self.align.get(c).copied().unwrap_or(Align::Left) {
                    Align::Right => text.push_str(&format!("{cell:>w$}")),
                    Align::Left => text.push_str(&format!("{cell:<w$}")),
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A ratio or other fraction for people: at most 3 decimals, no trailing zeros.
pub fn ratio(value: f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

/// Milliseconds with one decimal.
pub fn ms(value: f64) -> String {
    format!("{value:.1}")
}

/// A JSON value as one cell: strings bare, numbers rounded (whole numbers as such), absent as `-`.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => ratio(f),
            _ => n.to_string(),
        },
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            if items.is_empty() {
                "-".into()
            } else {
                items.iter().map(cell).collect::<Vec<_>>().join(", ")
            }
        }
        Value::Object(map) if map.is_empty() => "-".into(),
        other => other.to_string(),
    }
}

/// A JSON document as `key  value` lines: nested objects flattened to `a.b` keys, `first` keys
/// in that order at the top, lists of objects as their own tables after the lines.
pub fn document(value: &Value, first: &[&str]) -> String {
    let mut lines = Table::key_value();
    let mut tables = Vec::new();
    let mut flat = Vec::new();
    flatten("", value, &mut flat);
    let rank = |key: &str| {
        first
            .iter()
            .position(|f| key == *f || key.starts_with(&format!("{f}.")))
            .unwrap_or(first.len())
    };
    flat.sort_by_key(|(key, _)| rank(key));
    for (key, v) in flat {
        match v {
            Value::Array(items) if items.iter().any(Value::is_object) => {
                tables.push((key, object_table(items)));
            }
            _ => {
                lines.row(vec![key, cell(v)]);
            }
        }
    }
    let mut out = lines.render();
    for (key, table) in tables {
        out.push_str(&format!("\n{key}:\n{}", table.render()));
    }
    out
}

/// Pairs of dotted key and leaf value, in document order (objects only are descended into).
fn flatten<'v>(prefix: &str, value: &'v Value, out: &mut Vec<(String, &'v Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        _ => out.push((prefix.to_owned(), value)),
    }
}

/// A list of JSON objects as a table: one column per key (in first-seen order), numbers right.
fn object_table(items: &[Value]) -> Table {
    let mut keys: Vec<String> = Vec::new();
    for item in items {
        if let Value::Object(map) = item {
            for k in map.keys() {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
        }
    }
    let align: Vec<Align> = keys
        .iter()
        .map(|k| {
            let numeric = items.iter().all(|i| i[k].is_number() || i[k].is_null());
            if numeric {
                Align::Right
            } else {
                Align::Left
            }
        })
        .collect();
    let header: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut table = Table::new(&header, &align);
    for item in items {
        table.row(keys.iter().map(|k| cell(&item[k.as_str()])).collect());
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell_and_numbers_align_right() {
        let mut t = Table::new(
            &["handler", "invocations", "why"],
            &[Align::Left, Align::Right, Align::Left],
        );
        t.row(vec!["a.B#c".into(), "7".into(), "candidate".into()]);
        t.row(vec![
            "a.LongName#m".into(),
            "12345".into(),
            "profiling 1/3".into(),
        ]);
        assert_eq!(
            t.render(),
            "handler       invocations  why\n\
             a.B#c                   7  candidate\n\
             a.LongName#m        12345  profiling 1/3\n"
        );
    }

    #[test]
    fn the_last_column_has_no_trailing_spaces() {
        let mut t = Table::key_value();
        t.row(vec!["mode".into(), "auto".into()]);
        t.row(vec!["x".into(), String::new()]);
        assert_eq!(t.render(), "mode  auto\nx\n");
    }

    #[test]
    fn numbers_are_rounded_for_people() {
        assert_eq!(ratio(0.016_192_588_501_819_37), "0.016");
        assert_eq!(ratio(0.25), "0.25");
        assert_eq!(ratio(1.0), "1");
        assert_eq!(ratio(0.0), "0");
        assert_eq!(ratio(0.0001), "0");
        assert_eq!(ms(12.3456), "12.3");
        assert_eq!(ms(0.0), "0.0");
        assert_eq!(cell(&json!(0.016_192_588_501_819_37)), "0.016");
        assert_eq!(cell(&json!(42)), "42");
        assert_eq!(cell(&json!(null)), "-");
        assert_eq!(cell(&json!(["a", "b"])), "a, b");
        assert_eq!(cell(&json!({})), "-");
    }

    #[test]
    fn documents_become_aligned_key_value_lines_with_chosen_keys_first() {
        let doc = json!({
            "capacity": 4,
            "mode": "auto",
            "last_decision": {"why": "in-flight 8 of capacity 2", "ratio": 0.7500000001},
            "phase": "offload",
            "instances": [{"instance_id": "i-1", "cold": true, "round_trip_us": 1200}],
        });
        let text = document(&doc, &["mode", "phase", "last_decision"]);
        assert_eq!(
            text,
            "mode                 auto\n\
             phase                offload\n\
             last_decision.ratio  0.75\n\
             last_decision.why    in-flight 8 of capacity 2\n\
             capacity             4\n\
             \n\
             instances:\n\
             cold  instance_id  round_trip_us\n\
             true  i-1                   1200\n"
        );
    }
}
