//! Links that carry a page's filters along (pagination), built the same way on the server
//! and in the browser.

use leptos_router::params::ParamsMap;

/// `path?k=v&…`: the non-empty values of `keys` from `query`, then the cursor.
pub fn page_href(path: &str, query: &ParamsMap, keys: &[&str], cursor: (&str, &str)) -> String {
    let mut pairs: Vec<(&str, String)> = keys
        .iter()
        .filter_map(|k| query.get(k).filter(|v| !v.is_empty()).map(|v| (*k, v)))
        .collect();
    pairs.push((cursor.0, cursor.1.to_owned()));
    let qs = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    format!("{path}?{qs}")
}

/// Percent-encodes a query component (letters, digits and `-_.~` stay as they are).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_filters_and_add_the_cursor() {
        let mut q = ParamsMap::new();
        q.insert("from", "2026-11-01 &x".to_owned());
        q.insert("band", String::new());
        q.insert("after", "old".to_owned());
        assert_eq!(
            page_href("/queue", &q, &["band", "from"], ("after", "1.42")),
            "/queue?from=2026-11-01%20%26x&after=1.42"
        );
    }
}
