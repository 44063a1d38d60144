//! HTML rendering of the browse pages. Every interpolated value is escaped;
//! links to package files are relative (or the entry's own http(s) URL);
//! a homepage becomes a link only when it is http(s).

use std::fmt::Write as _;
use std::path::Path;

use peipkg_format::keys::group_fingerprint;
use peipkg_format::repository::{Dependency, Descriptor, PackageEntry};

use super::{load_record, IndexMeta, Record};
use peipkg_format::repository::raw::RawEntry;

/// Escape text for HTML element content and quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Percent-encode a path for an href, keeping `/` and RFC 3986 unreserved
/// characters. `+` and `:` are encoded: object stores read `+` as a space,
/// and a `:` could be taken for a scheme.
pub fn href_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The href of a package file from a page `depth` directories below the
/// repository root.
fn package_href(url: &str, depth: usize) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return Some(url.to_string());
    }
    let path = url.strip_prefix('/')?;
    Some(format!("{}{}", "../".repeat(depth), href_path(path)))
}

/// Human size: bytes below 1 KiB, then KiB/MiB/GiB with one decimal.
pub fn size(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

/// A relation as text: `name (constraint) [arch]`.
fn relations<T: std::fmt::Display>(list: &[T]) -> String {
    peipkg_format::documents::manifest::relations_text(list).unwrap_or_else(|| "—".to_string())
}

fn head(out: &mut String, title: &str, css: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         {}\n<title>{}</title>\n<link rel=\"icon\" href=\"data:,\">\n<link rel=\"stylesheet\" href=\"{css}\">\n</head>\n<body>\n",
        super::GENERATOR,
        esc(title)
    );
}

fn keys_list(out: &mut String, d: &Descriptor) {
    out.push_str("<ul class=\"keys\">");
    for k in &d.repo.signing.keys {
        let _ = write!(
            out,
            "<li><code class=\"fingerprint\">{}</code> <span class=\"status status-{}\">{}</span>",
            esc(&group_fingerprint(&k.fingerprint)),
            esc(&k.status),
            esc(&k.status)
        );
        if !k.valid_until.is_empty() {
            let _ = write!(out, " until <time>{}</time>", esc(&k.valid_until));
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");
}

/// The `dependencies` member of a canonical entry. In canonical JSON a
/// quote inside a string is always escaped, so the first unescaped
/// `,"dependencies":` is the member itself.
fn dependencies_of(e: &RawEntry<'_>) -> Vec<Dependency> {
    const KEY: &[u8] = b",\"dependencies\":";
    let Some(at) = e.bytes.windows(KEY.len()).position(|w| w == KEY) else {
        return Vec::new();
    };
    let rest = &e.bytes[at + KEY.len()..];
    if rest.starts_with(b"[]") {
        return Vec::new();
    }
    let mut de = serde_json::Deserializer::from_slice(rest);
    serde::Deserialize::deserialize(&mut de).unwrap_or_default()
}

/// The front page: every active package.
pub fn front_page(d: &Descriptor, active: &[&RawEntry<'_>], meta: IndexMeta<'_>) -> String {
    let mut out = String::with_capacity(4096 + active.len() * 400);
    let name = &d.repo.name;
    head(&mut out, &format!("{name} — packages"), "assets/style.css");
    let _ = write!(out, "<header>\n<h1 id=\"repo-name\">{}</h1>\n", esc(name));
    if !d.repo.description.is_empty() {
        let _ = writeln!(out, "<p class=\"lead\">{}</p>", esc(&d.repo.description));
    }
    let _ = write!(
        out,
        "<dl class=\"meta\">\n<dt>packages</dt><dd id=\"package-count\">{}</dd>\n\
         <dt>index version</dt><dd id=\"index-version\">{}</dd>\n\
         <dt>generated</dt><dd><time>{}</time></dd>\n<dt>signing keys</dt><dd>",
        active.len(),
        meta.index_version,
        esc(meta.generated_at)
    );
    keys_list(&mut out, d);
    out.push_str(
        "</dd>\n</dl>\n<nav><a href=\"repo.json\">repo.json</a> · \
         <a href=\"index/active.json\">active index</a> · \
         <a href=\"index/archive.json\">archive index</a></nav>\n</header>\n<main>\n",
    );
    if active.is_empty() {
        out.push_str("<p class=\"empty\">No packages published yet.</p>\n");
    } else {
        out.push_str(
            "<table id=\"packages\">\n<thead><tr><th>name</th><th>version</th><th>architecture</th>\
             <th>description</th><th>size</th><th>dependencies</th></tr></thead>\n<tbody>\n",
        );
        for e in active {
            let _ = writeln!(
                out,
                "<tr class=\"package\" data-name=\"{n}\"><td class=\"name\"><a href=\"packages/{h}.html\">{n}</a></td>\
                 <td class=\"version\">{v}</td><td class=\"arch\">{a}</td><td class=\"description\">{desc}</td>\
                 <td class=\"size\" title=\"{bytes} bytes\">{sz}</td><td class=\"deps\">{deps}</td></tr>",
                n = esc(&e.name),
                h = href_path(&e.name),
                v = esc(&e.version),
                a = esc(&e.architecture),
                desc = esc(&e.description),
                bytes = e.size_compressed,
                sz = esc(&size(e.size_compressed)),
                deps = esc(&relations(&dependencies_of(e))),
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str(
        "</main>\n<footer><p>Generated by peipkg-repo. Check the signing-key fingerprints above \
         against the ones the repository's operator published before trusting it.</p></footer>\n</body>\n</html>\n",
    );
    out
}

fn signer_text(rec: Option<&Record>) -> String {
    match rec {
        Some(r) if r.signature == "verified" => format!(
            "<code class=\"fingerprint\">{}</code>",
            esc(&group_fingerprint(&r.key_fingerprint))
        ),
        Some(r) if r.signature == "unsigned" => {
            "<span class=\"unsigned\">unsigned</span>".to_string()
        }
        Some(r) => format!(
            "{} <code>{}</code>",
            esc(&r.signature),
            esc(&r.key_fingerprint)
        ),
        None => "<span class=\"unknown\">not recorded</span>".to_string(),
    }
}

/// A package's page. `entries` are its archive entries, highest version
/// first; records are read from `root`.
pub fn package_page(root: &Path, d: &Descriptor, entries: &[PackageEntry]) -> String {
    let top = &entries[0];
    let records: Vec<Option<Record>> = entries.iter().map(|e| load_record(root, e)).collect();
    let mut out = String::with_capacity(8192);
    head(
        &mut out,
        &format!("{} — {}", top.name, d.repo.name),
        "../assets/style.css",
    );
    let _ = write!(
        out,
        "<header>\n<p class=\"crumbs\"><a href=\"../index.html\">{}</a> / {}</p>\n\
         <h1 id=\"package-name\">{}</h1>\n<p class=\"lead\">{}</p>\n</header>\n<main>\n",
        esc(&d.repo.name),
        esc(&top.name),
        esc(&top.name),
        esc(&top.description)
    );
    out.push_str("<section id=\"current\">\n<h2>Current version</h2>\n<dl class=\"facts\">\n");
    let mut fact = |k: &str, v: String| {
        let _ = writeln!(out, "<dt>{k}</dt><dd>{v}</dd>");
    };
    fact(
        "version",
        format!("<span id=\"current-version\">{}</span>", esc(&top.version)),
    );
    fact("architecture", esc(&top.architecture));
    fact(
        "license",
        if top.license.is_empty() {
            "—".into()
        } else {
            esc(&top.license)
        },
    );
    let hp = &top.homepage;
    let hp_lower = hp.to_ascii_lowercase();
    fact(
        "homepage",
        if hp_lower.starts_with("https://") || hp_lower.starts_with("http://") {
            format!(
                "<a href=\"{}\" rel=\"nofollow noopener\">{}</a>",
                esc(hp),
                esc(hp)
            )
        } else if hp.is_empty() {
            "—".into()
        } else {
            esc(hp)
        },
    );
    fact(
        "download size",
        format!(
            "{} ({} bytes)",
            esc(&size(top.size_compressed)),
            top.size_compressed
        ),
    );
    fact(
        "installed size",
        format!(
            "{} ({} bytes)",
            esc(&size(top.size_installed)),
            top.size_installed
        ),
    );
    fact(
        "built",
        format!(
            "<time>{}</time> by {}",
            esc(&top.build.timestamp),
            esc(&top.build.farm_id)
        ),
    );
    fact(
        "sha256",
        format!("<code class=\"hash\">{}</code>", esc(&top.hash.value)),
    );
    fact("signed by", signer_text(records[0].as_ref()));
    if let Some(h) = package_href(&top.url, 1) {
        fact(
            "download",
            format!(
                "<a class=\"download\" href=\"{}\">{}</a>",
                esc(&h),
                esc(&top.file_name())
            ),
        );
    }
    fact("depends on", esc(&relations(&top.dependencies)));
    fact("optional", esc(&relations(&top.optional_dependencies)));
    fact("conflicts with", esc(&relations(&top.conflicts)));
    fact("provides", esc(&relations(&top.provides)));
    fact("replaces", esc(&relations(&top.replaces)));
    fact(
        "side effects",
        if top.side_effects.is_empty() {
            "—".into()
        } else {
            esc(&top.side_effects.join(", "))
        },
    );
    out.push_str("</dl>\n</section>\n");

    let _ = write!(
        out,
        "<section id=\"versions\">\n<h2>All versions ({})</h2>\n<table class=\"versions\">\n\
         <thead><tr><th>version</th><th>architecture</th><th>size</th><th>built</th><th>signed by</th><th>file</th></tr></thead>\n<tbody>\n",
        entries.len()
    );
    for (e, rec) in entries.iter().zip(&records) {
        let link = match package_href(&e.url, 1) {
            Some(h) => format!("<a href=\"{}\">{}</a>", esc(&h), esc(&e.file_name())),
            None => esc(&e.url),
        };
        let _ = writeln!(
            out,
            "<tr class=\"version\" data-version=\"{v}\"><td><a href=\"#files-{anchor}\">{v}</a></td><td>{a}</td>\
             <td title=\"{b} bytes\">{s}</td><td><time>{t}</time></td><td>{signer}</td><td>{link}</td></tr>",
            v = esc(&e.version),
            anchor = esc(&href_path(&e.label())),
            a = esc(&e.architecture),
            b = e.size_compressed,
            s = esc(&size(e.size_compressed)),
            t = esc(&e.build.timestamp),
            signer = signer_text(rec.as_ref()),
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n<section id=\"files\">\n<h2>Files</h2>\n");
    for (i, (e, rec)) in entries.iter().zip(&records).enumerate() {
        let _ = write!(
            out,
            "<details id=\"files-{}\"{}>\n<summary>{} {}",
            esc(&href_path(&e.label())),
            if i == 0 { " open" } else { "" },
            esc(&e.version),
            esc(&e.architecture)
        );
        match rec {
            None => out.push_str(
                " — file list not recorded (published before this repository kept records)</summary>\n</details>\n",
            ),
            Some(r) => {
                let _ = write!(
                    out,
                    " — {} entries, checked at publish <time>{}</time></summary>\n<table class=\"files\">\n<tbody>\n",
                    r.files.len(),
                    esc(&r.checked_at)
                );
                for f in &r.files {
                    let detail = match f.kind.as_str() {
                        "file" => esc(&size(f.size)),
                        "symlink" => format!("→ {}", esc(&f.target)),
                        other => esc(other),
                    };
                    let _ = writeln!(
                        out,
                        "<tr class=\"file file-{}\"><td class=\"path\">{}{}</td><td>{}</td></tr>",
                        esc(&f.kind),
                        esc(&f.path),
                        if f.kind == "dir" { "/" } else { "" },
                        detail
                    );
                }
                out.push_str("</tbody>\n</table>\n</details>\n");
            }
        }
    }
    out.push_str("</section>\n</main>\n<footer><p><a href=\"../index.html\">All packages</a></p></footer>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_encodes() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            href_path("p/libstdc++/1:1.0~rc1-1/x"),
            "p/libstdc%2B%2B/1%3A1.0~rc1-1/x"
        );
        assert_eq!(package_href("/p/a/b", 1).as_deref(), Some("../p/a/b"));
        assert_eq!(
            package_href("https://h/x", 1).as_deref(),
            Some("https://h/x")
        );
        assert_eq!(package_href("javascript:alert(1)", 1), None);
    }

    #[test]
    fn sizes_and_relations_read_as_text() {
        assert_eq!(size(777), "777 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(5 * 1024 * 1024), "5.0 MiB");
        let d = Dependency {
            name: "libc-dev".into(),
            constraint: ">= 1.0, < 2.0".into(),
            arch: "any".into(),
        };
        assert_eq!(relations(&[d]), "libc-dev (>= 1.0, < 2.0) [any]");
        assert_eq!(relations::<Dependency>(&[]), "—");
    }
}
