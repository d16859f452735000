//! A small PDF writer for text documents (the applicant's notice): US Letter pages, the
//! standard Helvetica fonts (no font is embedded), paragraphs wrapped to the page width with the
//! fonts' published metrics, and new pages as the text needs them.
//!
//! The output is a pure function of the blocks given: no creation date, no document ID, no
//! producer string, objects in a fixed order — so a notice regenerated from its stored record
//! is byte-identical (`audit reproduce` compares the two).

use std::fmt::Write as _;

/// A block of text in the document.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A large bold heading.
    Title(String),
    /// A bold section heading.
    Heading(String),
    /// A paragraph.
    Text(String),
    /// A small, muted paragraph.
    Small(String),
    /// An item of a list, with its marker ("1.", "•").
    Item(String, String),
    /// Vertical space, in points.
    Space(f32),
}

const PAGE_W: f32 = 612.0;
const PAGE_H: f32 = 792.0;
const MARGIN: f32 = 60.0;
const INDENT: f32 = 18.0;

/// Helvetica's advance widths (1/1000 em) for WinAnsi codes 32–126, from Adobe's AFM file.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278,
    278, // ' '..'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584,
    556, // '0'..'?'
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722,
    778, // '@'..'O'
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469,
    556, // 'P'..'_'
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556,
    556, // '`'..'o'
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // 'p'..'~'
];

/// Helvetica-Bold's advance widths for WinAnsi codes 32–126.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278,
    278, // ' '..'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584,
    611, // '0'..'?'
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722,
    778, // '@'..'O'
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584,
    556, // 'P'..'_'
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611,
    611, // '`'..'o'
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, // 'p'..'~'
];

/// A character in WinAnsiEncoding (the standard fonts' encoding), `?` when it has none.
fn win_ansi(c: char) -> u8 {
    match c {
        ' '..='~' => c as u8,
        '\u{a0}'..='\u{ff}' => c as u32 as u8,
        '€' => 0x80,
        '…' => 0x85,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '−' => b'-',
        _ => b'?',
    }
}

/// The advance width of an encoded byte, in 1/1000 em.
fn width(b: u8, bold: bool) -> u32 {
    let table = if bold { &HELVETICA_BOLD } else { &HELVETICA };
    match b {
        32..=126 => u32::from(table[usize::from(b - 32)]),
        0x91 | 0x92 => {
            if bold {
                278
            } else {
                222
            }
        }
        0x93 | 0x94 => {
            if bold {
                500
            } else {
                333
            }
        }
        0x95 => 350,
        0x96 | 0x80 => 556,
        0x97 | 0x85 => 1000,
        _ => 556,
    }
}

#[derive(Debug, Clone, Copy)]
struct Style {
    size: f32,
    bold: bool,
    /// Grey level of the text (0 black).
    grey: f32,
}

fn text_width(bytes: &[u8], style: Style) -> f32 {
    bytes.iter().map(|&b| width(b, style.bold)).sum::<u32>() as f32 * style.size / 1000.0
}

/// Splits encoded text into lines no wider than `max` points, at spaces (a word longer than
/// a line is cut).
fn wrap(bytes: &[u8], style: Style, max: f32) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    for word in bytes.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let mut candidate = line.clone();
        if !candidate.is_empty() {
            candidate.push(b' ');
        }
        candidate.extend_from_slice(word);
        if text_width(&candidate, style) <= max {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        line = word.to_vec();
        // A word wider than a line is cut where it overflows.
        while text_width(&line, style) > max && line.len() > 1 {
            let mut cut = line.len() - 1;
            while cut > 1 && text_width(&line[..cut], style) > max {
                cut -= 1;
            }
            lines.push(line[..cut].to_vec());
            line = line[cut..].to_vec();
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A PDF string literal of encoded bytes: parentheses and backslashes escaped, bytes outside
/// printable ASCII in octal.
fn literal(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('(');
    for &b in bytes {
        match b {
            b'(' | b')' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            32..=126 => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push(')');
    out
}

/// Lays out `blocks` on pages and returns the PDF file. `footer` is printed at the bottom of
/// every page with "page N of M".
pub fn render(blocks: &[Block], footer: &str) -> Vec<u8> {
    let body = Style {
        size: 10.5,
        bold: false,
        grey: 0.0,
    };
    let width = PAGE_W - 2.0 * MARGIN;
    let mut pages: Vec<String> = Vec::new();
    let mut page = String::new();
    let mut y = PAGE_H - MARGIN;
    let bottom = MARGIN + 24.0;
    let put = |pages: &mut Vec<String>,
               page: &mut String,
               y: &mut f32,
               x: f32,
               bytes: &[u8],
               style: Style| {
        let lead = style.size * 1.35;
        if *y - lead < bottom {
            pages.push(std::mem::take(page));
            *y = PAGE_H - MARGIN;
        }
        *y -= lead;
        let font = if style.bold { "F2" } else { "F1" };
        let _ = writeln!(
            page,
            "BT {g:.2} g /{font} {s:.1} Tf {x:.2} {y:.2} Td {t} Tj ET",
            g = style.grey,
            s = style.size,
            y = *y,
            t = literal(bytes),
        );
    };
    for block in blocks {
        let (text, style, x, marker) = match block {
            Block::Space(points) => {
                y -= points;
                continue;
            }
            Block::Title(t) => (
                t,
                Style {
                    size: 17.0,
                    bold: true,
                    ..body
                },
                MARGIN,
                None,
            ),
            Block::Heading(t) => (
                t,
                Style {
                    size: 12.0,
                    bold: true,
                    ..body
                },
                MARGIN,
                None,
            ),
            Block::Text(t) => (t, body, MARGIN, None),
            Block::Small(t) => (
                t,
                Style {
                    size: 8.5,
                    grey: 0.3,
                    ..body
                },
                MARGIN,
                None,
            ),
            Block::Item(m, t) => (t, body, MARGIN + INDENT, Some(m)),
        };
        let bytes: Vec<u8> = text.chars().map(win_ansi).collect();
        let lines = wrap(&bytes, style, width - (x - MARGIN));
        for (k, line) in lines.iter().enumerate() {
            if k == 0 {
                if let Some(m) = marker {
                    // The marker sits in the indent, on the item's first line.
                    let m: Vec<u8> = m.chars().map(win_ansi).collect();
                    let lead = style.size * 1.35;
                    if y - lead < bottom {
                        pages.push(std::mem::take(&mut page));
                        y = PAGE_H - MARGIN;
                    }
                    let _ = writeln!(
                        page,
                        "BT 0.00 g /F1 {s:.1} Tf {x:.2} {y:.2} Td {t} Tj ET",
                        s = style.size,
                        x = MARGIN + 2.0,
                        y = y - lead,
                        t = literal(&m),
                    );
                }
            }
            put(&mut pages, &mut page, &mut y, x, line, style);
        }
        y -= style.size * 0.5;
    }
    pages.push(page);

    let total = pages.len();
    // Objects: 1 catalog, 2 pages, 3 Helvetica, 4 Helvetica-Bold, then page k at 5 + 2k and its
    // content at 6 + 2k.
    let mut objects: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {total} >>",
            (0..total)
                .map(|k| format!("{} 0 R", 5 + 2 * k))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_owned(),
    ];
    for (k, content) in pages.iter().enumerate() {
        let foot: Vec<u8> = format!("{footer} · page {} of {total}", k + 1)
            .chars()
            .map(win_ansi)
            .collect();
        let stream = format!(
            "{content}BT 0.40 g /F1 8.0 Tf {MARGIN:.2} {:.2} Td {} Tj ET\n",
            MARGIN - 10.0,
            literal(&foot)
        );
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W:.0} {PAGE_H:.0}] \
             /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
            6 + 2 * k
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{stream}endstream",
            stream.len()
        ));
    }
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        let _ = write!(out, "{} 0 obj\n{o}\nendobj\n", i + 1);
    }
    let xref = out.len();
    let _ = write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for off in offsets {
        let _ = writeln!(out, "{off:010} 00000 n ");
    }
    let _ = write!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(n: usize) -> Vec<Block> {
        let mut b = vec![
            Block::Title("Notice (of) action \\ taken".into()),
            Block::Heading("Principal reasons".into()),
        ];
        for k in 0..n {
            b.push(Block::Item(
                format!("{}.", k + 1),
                format!("Reason {k} — the applicant’s balance fell to −$80 in the last 90 days, which is a long sentence that has to wrap across the width of the page at least once"),
            ));
        }
        b.push(Block::Small("ECOA".into()));
        b
    }

    /// The xref table's offsets, read back from the file.
    fn xref_offsets(pdf: &str) -> Vec<usize> {
        let at = pdf.rfind("startxref\n").expect("startxref") + "startxref\n".len();
        let xref: usize = pdf[at..]
            .lines()
            .next()
            .expect("offset")
            .parse()
            .expect("number");
        pdf[xref..]
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n "))
            .map(|l| l[..10].parse().expect("offset"))
            .collect()
    }

    #[test]
    fn the_same_blocks_give_the_same_bytes_and_a_valid_cross_reference() {
        let a = render(&doc(3), "Application X");
        assert_eq!(a, render(&doc(3), "Application X"));
        let text = String::from_utf8(a).expect("ASCII");
        assert!(text.starts_with("%PDF-1.4\n") && text.ends_with("%%EOF\n"));
        let offsets = xref_offsets(&text);
        assert_eq!(offsets.len(), 6, "4 shared objects and one page");
        for (i, off) in offsets.iter().enumerate() {
            assert!(
                text[*off..].starts_with(&format!("{} 0 obj\n", i + 1)),
                "object {}",
                i + 1
            );
        }
        // Stream lengths are the bytes between "stream\n" and "endstream".
        let s = text.find("stream\n").expect("stream") + "stream\n".len();
        let e = text.find("endstream").expect("endstream");
        let len_at = text[..s].rfind("/Length ").expect("length") + "/Length ".len();
        let len: usize = text[len_at..]
            .split_whitespace()
            .next()
            .expect("n")
            .parse()
            .expect("n");
        assert_eq!(len, e - s);
        // Escapes and WinAnsi bytes in octal; no date or ID anywhere.
        assert!(text.contains("(Notice \\(of\\) action \\\\ taken)"));
        assert!(
            text.contains("\\227") && text.contains("\\222"),
            "em dash, apostrophe"
        );
        assert!(!text.contains("CreationDate") && !text.contains("/ID"));
    }

    #[test]
    fn long_text_wraps_within_the_margins_and_flows_onto_new_pages() {
        let text = String::from_utf8(render(&doc(80), "F")).expect("ASCII");
        assert!(text.contains("/Count "));
        let pages: usize = text
            .split("/Count ")
            .nth(1)
            .and_then(|t| t.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .expect("count");
        assert!(pages >= 3, "{pages} pages");
        assert_eq!(xref_offsets(&text).len(), 4 + 2 * pages);
        assert!(text.contains(&format!("page {pages} of {pages}")));
        let body = Style {
            size: 10.5,
            bold: false,
            grey: 0.0,
        };
        let long: Vec<u8> = "word ".repeat(200).into_bytes();
        for line in wrap(&long, body, 300.0) {
            assert!(text_width(&line, body) <= 300.0);
        }
        let unbroken = vec![b'W'; 200];
        let lines = wrap(&unbroken, body, 100.0);
        assert!(lines.len() > 1 && lines.iter().all(|l| text_width(l, body) <= 100.0));
        assert_eq!(lines.concat(), unbroken);
        // A long word after short ones is cut too, and nothing is lost.
        let mixed: Vec<u8> = [b"a b ".as_slice(), &unbroken].concat();
        let lines = wrap(&mixed, body, 100.0);
        assert!(lines.iter().all(|l| text_width(l, body) <= 100.0));
        assert_eq!(
            lines.concat().len(),
            mixed.len() - 1,
            "only the space at the break goes"
        );
    }
}
