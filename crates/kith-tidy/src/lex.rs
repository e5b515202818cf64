//! A small Rust "lexer": just enough to tell code from comments and string literals.
//!
//! [`lex`] returns the file's *code* — the same text, byte for byte the same length, with
//! every comment and the inside of every string and char literal replaced by spaces
//! (newlines are kept) — and the file's string literals with the line each starts on.
//! Because offsets and lines do not move, anything found in the code can be reported at the
//! original file's line, and a literal's text can be read back from the original.
//!
//! It knows `//` and (nested) `/* */` comments, doc comments included; `"…"` strings with
//! escapes; raw strings `r"…"`, `r#"…"#`; byte and C strings (`b"…"`, `br#"…"#`, `c"…"`);
//! char and byte literals (`'x'`, `'\n'`, `b'"'`), told apart from lifetimes (`'a`). It does
//! not know macros' own syntax; it does not need to.

/// One string literal: where it starts and what is between its quotes, as written (escapes
/// are not processed, so a line break in the source is a real `\n` in `text`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    /// 1-based line of the opening quote.
    pub line: usize,
    pub text: String,
}

/// A file split into code (comments and literal contents blanked) and its string literals.
#[derive(Debug, Clone)]
pub struct Lexed {
    pub code: String,
    pub literals: Vec<Literal>,
}

/// Splits Rust source into code and string literals; see the module comment.
pub fn lex(text: &str) -> Lexed {
    let mut lexer = Lexer {
        text,
        src: text.as_bytes(),
        lines: Lines::new(text),
        code: text.as_bytes().to_vec(),
        literals: Vec::new(),
    };
    let src = lexer.src;
    let mut i = 0;
    while i < src.len() {
        let rest = &src[i..];
        i = if rest.starts_with(b"//") {
            lexer.blank_to(i, find_from(src, i, b"\n").unwrap_or(src.len()))
        } else if rest.starts_with(b"/*") {
            lexer.blank_to(i, block_comment_end(src, i))
        } else if rest[0] == b'"' {
            lexer.string(i, false, 0)
        } else if rest[0] == b'\'' {
            lexer.char_or_lifetime(i)
        } else if is_word_start(rest[0]) {
            lexer.after_word(i, word_end(src, i))
        } else {
            i + 1
        };
    }
    Lexed {
        // Only whole ASCII-delimited ranges were blanked, so this stays valid UTF-8.
        code: String::from_utf8(lexer.code).expect("blanking keeps UTF-8"),
        literals: lexer.literals,
    }
}

struct Lexer<'a> {
    text: &'a str,
    src: &'a [u8],
    lines: Lines,
    code: Vec<u8>,
    literals: Vec<Literal>,
}

impl Lexer<'_> {
    /// Blanks `start..end` of the code; returns `end`.
    fn blank_to(&mut self, start: usize, end: usize) -> usize {
        blank(&mut self.code, start..end);
        end
    }

    /// A word may be a literal's prefix (`r`, `br`, `cr`, `b`, `c`); anything else is kept.
    fn after_word(&mut self, start: usize, end: usize) -> usize {
        let src = self.src;
        match (&src[start..end], src.get(end)) {
            (b"r" | b"br" | b"cr", Some(b'"' | b'#')) => {
                let hashes = src[end..].iter().take_while(|&&b| b == b'#').count();
                if src.get(end + hashes) == Some(&b'"') {
                    self.string(end + hashes, true, hashes)
                } else {
                    end // a raw identifier such as `r#type`
                }
            }
            (b"b" | b"c", Some(b'"')) => self.string(end, false, 0),
            (b"b", Some(b'\'')) => self.char_or_lifetime(end),
            _ => end,
        }
    }

    /// A string whose opening quote is at `open`; a raw one (no escapes) closes with `"`
    /// and `hashes` `#`s. Returns the offset after its closing delimiter.
    fn string(&mut self, open: usize, raw: bool, hashes: usize) -> usize {
        let src = self.src;
        let start = open + 1;
        let mut i = start;
        let end = loop {
            match src.get(i) {
                None => break src.len(),
                Some(b'\\') if !raw => i += 2,
                Some(b'"') if closes(&src[i + 1..], hashes) => break i,
                Some(_) => i += 1,
            }
        };
        self.literals.push(Literal {
            line: self.lines.line(open),
            text: String::from_utf8_lossy(&src[start..end]).into_owned(),
        });
        self.blank_to(start, end);
        (end + 1 + hashes).min(src.len())
    }

    /// `'x'`, `'\n'`, `'\u{1F600}'` are literals (blanked); `'a` in `&'a str` is a lifetime.
    fn char_or_lifetime(&mut self, quote: usize) -> usize {
        let after = quote + 1;
        let Some(c) = self.text.get(after..).and_then(|s| s.chars().next()) else {
            return after;
        };
        let close = if c == '\\' {
            find_from(self.src, after + 2, b"'")
        } else if self.src.get(after + c.len_utf8()) == Some(&b'\'') {
            Some(after + c.len_utf8())
        } else {
            None // a lifetime or a label
        };
        match close {
            Some(close) => self.blank_to(after, close) + 1,
            None => after,
        }
    }
}

/// Whether `rest` (after a `"`) starts with the `hashes` `#`s that close a raw string.
fn closes(rest: &[u8], hashes: usize) -> bool {
    rest.get(..hashes)
        .is_some_and(|h| h.iter().all(|&b| b == b'#'))
}

/// The offset just after the `*/` closing the (possibly nested) comment opened at `open`.
fn block_comment_end(src: &[u8], open: usize) -> usize {
    let mut depth = 0;
    let mut i = open;
    while i < src.len() {
        if src[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if src[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    src.len()
}

/// Replaces every byte of `range` but newlines with a space.
pub fn blank(code: &mut [u8], range: std::ops::Range<usize>) {
    for b in &mut code[range] {
        if *b != b'\n' {
            *b = b' ';
        }
    }
}

fn find_from(src: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    src.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// First byte of an identifier, keyword or number.
pub fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The end of the identifier (or number) starting at `start`.
pub fn word_end(src: &[u8], start: usize) -> usize {
    src[start..]
        .iter()
        .position(|&b| !is_word_start(b))
        .map_or(src.len(), |p| p + start)
}

/// 1-based line of byte offset `at`.
pub fn line_at(src: &[u8], at: usize) -> usize {
    src[..at.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Answers "which line is this offset on" quickly, for files with many matches.
pub struct Lines(Vec<usize>);

impl Lines {
    pub fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|&(_, b)| b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        Self(starts)
    }

    /// 1-based line of byte offset `at`.
    pub fn line(&self, at: usize) -> usize {
        self.0.partition_point(|&start| start <= at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_literal_contents_are_blanked_in_place() {
        let text = "let a = \"x // y\"; // note\n/* a /* nested */ b */ let b = 'c';";
        let lexed = lex(text);
        assert_eq!(lexed.code.len(), text.len());
        assert_eq!(
            lexed.code.lines().next().unwrap().trim_end(),
            "let a = \"      \";"
        );
        assert!(!lexed.code.contains("nested"));
        assert!(lexed.code.contains("let b = ' ';"));
        assert_eq!(
            lexed.literals,
            vec![Literal {
                line: 1,
                text: "x // y".into()
            }]
        );
    }

    #[test]
    fn raw_byte_and_escaped_strings() {
        let text = "r#\"say \"hi\"\"#, b\"\\\"q\", br\"z\", r#type, \"a\nb\"";
        let texts: Vec<_> = lex(text)
            .literals
            .into_iter()
            .map(|l| (l.line, l.text))
            .collect();
        assert_eq!(
            texts,
            [
                (1, "say \"hi\"".into()),
                (1, "\\\"q".into()),
                (1, "z".into()),
                (1, "a\nb".into())
            ]
        );
    }

    #[test]
    fn a_lifetime_is_not_a_char_literal() {
        let lexed = lex("fn f<'a>(x: &'a str) -> char { '\"' }\nlet s = \"still a string\";");
        assert!(lexed.code.contains("fn f<'a>(x: &'a str)"));
        assert_eq!(lexed.literals.len(), 1);
        assert_eq!(lexed.literals[0].line, 2);
    }

    #[test]
    fn lines_of_offsets() {
        let lines = Lines::new("a\nbc\n\nd");
        assert_eq!(
            [0, 1, 2, 4, 5, 6].map(|at| lines.line(at)),
            [1, 1, 2, 2, 3, 4]
        );
    }
}
