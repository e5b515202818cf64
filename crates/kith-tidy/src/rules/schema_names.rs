//! Rule 8, one name per schema: the OpenAPI document keys its component schemas by type
//! name (or the `#[schema(as = …)]` given), and utoipa keeps the last of two types with the
//! same name without a word. Two `ToSchema` types named alike therefore make one of them
//! describe the other's answers — a `notify::Kind` documented as the after-sale `Kind` —
//! which only a fuzzer notices. Every `ToSchema` type of the crates must have its own name.

use std::collections::BTreeMap;

use crate::{Problem, SourceFile};

/// The schema names declared in one file's text: (name, 1-based line).
pub fn declared(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].trim_start();
        if l.starts_with("#[derive(") && l.contains("ToSchema") {
            let mut alias = None;
            let mut j = i + 1;
            while j < lines.len() {
                let t = lines[j].trim_start();
                if let Some(rest) = t.strip_prefix("#[schema(as = ") {
                    alias = rest.split([')', ',']).next().map(|s| s.trim().to_owned());
                } else if !t.starts_with("#[") && !t.starts_with("///") && !t.starts_with("//") {
                    break;
                }
                j += 1;
            }
            let item = lines.get(j).map(|s| s.trim_start()).unwrap_or_default();
            let item = item.strip_prefix("pub ").unwrap_or(item);
            let name = item
                .strip_prefix("struct ")
                .or_else(|| item.strip_prefix("enum "))
                .and_then(|r| r.split(|c: char| !c.is_alphanumeric() && c != '_').next());
            if let Some(name) = name.filter(|n| !n.is_empty()) {
                let name = alias
                    .map(|a| a.rsplit("::").next().unwrap_or(&a).to_owned())
                    .unwrap_or_else(|| name.to_owned());
                out.push((name, j + 1));
            }
            i = j;
        }
        i += 1;
    }
    out
}

/// Every schema name declared in more than one place.
pub fn check(files: &[SourceFile]) -> Vec<Problem> {
    let mut seen: BTreeMap<String, Vec<(String, usize)>> = BTreeMap::new();
    for f in files.iter().filter(|f| f.path.ends_with(".rs")) {
        for (name, line) in declared(&f.text) {
            seen.entry(name).or_default().push((f.path.clone(), line));
        }
    }
    let mut problems = Vec::new();
    for (name, places) in seen.iter().filter(|(_, p)| p.len() > 1) {
        let all: Vec<String> = places.iter().map(|(p, l)| format!("{p}:{l}")).collect();
        for (path, line) in places {
            problems.push(Problem::at(
                path,
                *line,
                format!(
                    "the OpenAPI schema `{name}` is declared {} times ({}): give this one its \
                     own name with #[schema(as = …)]",
                    places.len(),
                    all.join(", ")
                ),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_types_of_one_name_are_found_and_an_alias_tells_them_apart() {
        let a = "#[derive(Debug, utoipa::ToSchema)]\n/// A kind.\npub enum Kind {\n    A,\n}\n";
        let b = "#[derive(Serialize, ToSchema)]\n#[serde(rename_all = \"snake_case\")]\npub enum Kind { B }\n";
        let files = [SourceFile::new("a.rs", a), SourceFile::new("b.rs", b)];
        let p = check(&files);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].line, Some(3));
        let b = "#[derive(ToSchema)]\n#[schema(as = OtherKind)]\npub enum Kind { B }\n";
        let files = [SourceFile::new("a.rs", a), SourceFile::new("b.rs", b)];
        assert!(check(&files).is_empty());
        assert_eq!(declared(b), vec![("OtherKind".to_owned(), 3)]);
    }
}
