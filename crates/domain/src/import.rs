//! Importing organisations and users from a CSV file: the file read into rows by
//! their header names. RFC 4180 quoting; the separator is `;` (as Norwegian
//! spreadsheets write it) or `,`, whichever the header line uses. One file holds
//! both kinds, each row saying which in its `type` column (`organisation` or
//! `user`), organisations first where users belong to them.

use std::collections::HashMap;

/// What a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Organisation,
    User,
}

/// One data row: its line in the file, what it is, and its fields by header name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub kind: Result<RowKind, String>,
    pub fields: HashMap<String, String>,
}

impl Row {
    /// A field's value, or empty.
    pub fn get(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }
}

/// The columns the import knows.
pub const COLUMNS: [&str; 13] = [
    "type",
    "name",
    "kind",
    "municipality",
    "org_number",
    "her_id",
    "address",
    "phone",
    "responsible_unit",
    "username",
    "role",
    "organisation",
    "hpr_number",
];

/// Reads the file into rows; a file that cannot be read says why, in Norwegian.
pub fn read(text: &str) -> Result<Vec<Row>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_line = text.lines().next().unwrap_or("");
    let separator = if first_line.matches(';').count() > first_line.matches(',').count() {
        ';'
    } else {
        ','
    };
    let records = split_records(text, separator)?;
    let mut records = records
        .into_iter()
        .filter(|(_, fields)| fields.iter().any(|f| !f.trim().is_empty()));
    let Some((_, header)) = records.next() else {
        return Err("Filen er tom.".into());
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    if !header.iter().any(|h| h == "type") {
        return Err(
            "Første linje må være overskrifter, med kolonnen «type» (organisation eller user).".into(),
        );
    }
    if let Some(unknown) = header.iter().find(|h| !COLUMNS.contains(&h.as_str())) {
        return Err(format!(
            "Ukjent kolonne «{unknown}». Kolonnene er: {}.",
            COLUMNS.join(", ")
        ));
    }
    Ok(records
        .map(|(line, values)| {
            let fields: HashMap<String, String> = header
                .iter()
                .cloned()
                .zip(values.into_iter().map(|v| v.trim().to_string()))
                .collect();
            let kind = match fields.get("type").map(|t| t.to_lowercase()).as_deref() {
                Some("organisation" | "organisasjon") => Ok(RowKind::Organisation),
                Some("user" | "bruker") => Ok(RowKind::User),
                other => Err(format!(
                    "Ukjent type «{}»: skriv organisation eller user.",
                    other.unwrap_or("")
                )),
            };
            Row { line, kind, fields }
        })
        .collect())
}

/// Splits the text into records of fields, with the line each record starts on.
fn split_records(text: &str, separator: char) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            (c, false) if c == separator => fields.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                fields.push(std::mem::take(&mut field));
                records.push((start, std::mem::take(&mut fields)));
                line += 1;
                start = line;
            }
            ('\n', true) => {
                line += 1;
                field.push('\n');
            }
            (c, _) => field.push(c),
        }
    }
    if quoted {
        return Err(format!("Et anførselstegn på linje {start} lukkes aldri."));
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        records.push((start, fields));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_semicolon_file_from_a_spreadsheet_is_read_by_its_headers() {
        let text = "\u{feff}type;name;kind;org_number\r\norganisation;\"LAR Vest; avd. 2\";health_trust_lar_unit;974760673\r\n\r\nuser;\"Lise \"\"Lege\"\"\";;\r\n";
        let rows = read(text).expect("readable");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].kind, Ok(RowKind::Organisation));
        assert_eq!(rows[0].get("name"), "LAR Vest; avd. 2");
        assert_eq!(rows[0].get("org_number"), "974760673");
        assert_eq!(rows[1].line, 4);
        assert_eq!(rows[1].kind, Ok(RowKind::User));
        assert_eq!(rows[1].get("name"), "Lise \"Lege\"");
    }

    #[test]
    fn a_comma_file_works_too_and_a_bad_type_is_named_on_its_row() {
        let rows = read("type,name\nplace,X\n").expect("readable");
        assert!(rows[0].kind.as_ref().is_err_and(|e| e.contains("place")));
    }

    #[test]
    fn a_file_without_the_type_column_an_unknown_column_or_an_open_quote_is_refused() {
        assert!(read("name,kind\nX,pharmacy\n").is_err());
        assert!(read("type,colour\nuser,blue\n").unwrap_err().contains("colour"));
        assert!(read("type,name\nuser,\"open\n").unwrap_err().contains("linje 2"));
        assert!(read("").is_err());
    }
}
