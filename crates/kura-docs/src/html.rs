//! HTML building blocks: escaping, page file names and the shell every page shares.
//!
//! All user text (ids, descriptions, SQL, column names) reaches a page through [`escape`] or
//! [`json_for_script`]; nothing is inserted raw, so a description holding `<script>` stays text.

use std::fmt::Write as _;

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Serialises `value` as JSON that is safe inside `<script type="application/json">`.
///
/// JSON escapes quotes but not `<`, so a string holding `</script>` would end the element early;
/// `<`, `>` and `&` only ever occur inside JSON strings, where `\u003c` and friends mean the same
/// characters to `JSON.parse`.
pub fn json_for_script<T: serde::Serialize>(value: &T) -> String {
    let json = serde_json::to_string(value).expect("the graph types serialise to JSON");
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The file name (without `.html`) of the page for `id`.
///
/// Ids come from the project and may hold characters that are unsafe in paths or URLs (`/`,
/// `..`, spaces, backquoted names). Letters, digits, `_`, `-` and `.` (except a leading one) are
/// kept; every other byte becomes `~XX`. `~` itself is always encoded, so two ids never share a
/// file, and the result needs no further URL encoding.
pub fn file_stem(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for (i, b) in id.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0);
        if keep {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "~{b:02X}");
        }
    }
    out
}

/// Wraps a page body in the shared shell: head, stylesheet, header bar and script.
///
/// `root` is the relative path from the page to the site's root (`""` or `"../"`), so the site
/// works from any directory and from `file://`.
pub fn shell(project: &str, title: &str, root: &str, body: &str) -> String {
    let project = escape(project);
    let title = escape(title);
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · {project}</title>
<link rel="stylesheet" href="{root}assets/kura-docs.css">
</head>
<body>
<header class="bar"><a class="home" href="{root}index.html">{project}</a><span class="sub">kura docs</span></header>
<main>
{body}
</main>
<script src="{root}assets/kura-docs.js"></script>
</body>
</html>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn json_cannot_close_its_script_element() {
        let json = json_for_script(&"</script><b>&");
        assert!(!json.contains('<') && !json.contains('>'));
        let back: String = serde_json::from_str(&json).expect("still valid JSON");
        assert_eq!(back, "</script><b>&");
    }

    #[test]
    fn file_stems_are_safe_and_distinct() {
        assert_eq!(file_stem("stg.orders"), "stg.orders");
        assert_eq!(file_stem("../etc/passwd"), "~2E.~2Fetc~2Fpasswd");
        assert_eq!(file_stem("a b~"), "a~20b~7E");
        assert_ne!(file_stem("a~20b"), file_stem("a b"));
        assert_eq!(file_stem("ü"), "~C3~BC");
    }
}
