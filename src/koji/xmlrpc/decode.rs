//! Decoding: the pull tokenizer over XML-RPC markup, the value builder with its filter of the
//! outermost structs' members, and the `<methodResponse>`/`<methodCall>` parsers. The unit
//! tests round-trip through `encode.rs`.

use std::collections::BTreeMap;

use base64::Engine;

use super::value::{Fault, Value, XmlError};

/// A pull parser over the document: values are built straight from the markup (no element
/// tree), which matters for `listTaggedRPMS` answers of tens of thousands of RPMs (tens of
/// megabytes). It reads from any `BufRead`, so an answer can be decoded while it is still
/// arriving.
///
/// The tokenizer is written for XML-RPC, the subset of XML Koji and every XML-RPC library
/// produce: elements (attributes are ignored), character and the five predefined entity
/// references, CDATA sections, comments, processing instructions and a DOCTYPE without an
/// internal subset. Anything else is an error. It is about three times faster than a general
/// XML reader on these documents.
struct Pull<R> {
    src: R,
    /// Input read but not consumed yet starts at `pos`.
    buf: Vec<u8>,
    pos: usize,
    /// Bytes dropped from the front of `buf` so far (for error positions).
    dropped: usize,
    eof: bool,
    /// Text read before the structural event that ended it.
    text: String,
    /// Members kept in the outermost structs (see [`decode_response_from`]); others are
    /// skipped without building their values.
    keep: Option<fn(&str) -> bool>,
    /// How many structs enclose the current position.
    struct_depth: usize,
    /// The text of the last name that is not an XML-RPC element ([`N::Other`]), for messages.
    other: String,
}

/// A structural event. Element names are codes ([`N`]): a comparison is one byte, and no
/// name is allocated.
enum Tok {
    Start(N),
    Empty(N),
    End(N),
    Eof,
}

/// The XML-RPC element names as codes, both ways from one list; `Other` for any other name
/// (its text kept in `Pull::other`).
macro_rules! element_names {
    ($($code:ident = $name:literal,)*) => {
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        enum N {
            $($code,)*
            Other,
        }

        impl N {
            #[inline]
            fn of(raw: &[u8]) -> N {
                // A match on the bytes compiles to a switch on the length and one comparison.
                match raw {
                    $($name => N::$code,)*
                    _ => N::Other,
                }
            }

            fn as_str(self) -> &'static str {
                match self {
                    // Checked at compile time: the names are ASCII.
                    $(N::$code => const {
                        match std::str::from_utf8($name) {
                            Ok(s) => s,
                            Err(_) => panic!("an element name is not UTF-8"),
                        }
                    },)*
                    N::Other => "?",
                }
            }
        }
    };
}

element_names! {
    Value = b"value",
    Member = b"member",
    Name = b"name",
    String = b"string",
    Int = b"int",
    I4 = b"i4",
    I8 = b"i8",
    Struct = b"struct",
    Array = b"array",
    Data = b"data",
    Boolean = b"boolean",
    Double = b"double",
    Nil = b"nil",
    DateTime = b"dateTime.iso8601",
    Base64 = b"base64",
    Param = b"param",
    Params = b"params",
    Fault = b"fault",
    MethodResponse = b"methodResponse",
    MethodCall = b"methodCall",
    MethodName = b"methodName",
}

impl std::fmt::Display for N {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the content of a `<value>` is a scalar: text, `<t/>`, or `<t>text</t>` (no comment,
/// CDATA or nested element, which could hide or hold a `</value>`).
fn is_scalar(span: &[u8]) -> bool {
    let mut lts = memchr::memchr_iter(b'<', span);
    match (lts.next(), lts.next(), lts.next()) {
        (None, _, _) => true,
        (Some(a), None, _) => {
            span[a + 1..].first().is_some_and(u8::is_ascii_alphabetic) && span.ends_with(b"/>")
        }
        (Some(a), Some(b), None) => {
            span[a + 1..].first().is_some_and(u8::is_ascii_alphabetic)
                && span[b + 1..].first() == Some(&b'/')
                && span.trim_ascii_end().ends_with(b">")
        }
        _ => false,
    }
}

/// Appends character data, resolving entity and character references and normalising line
/// ends (`\r\n` and `\r` become `\n`, as an XML parser does).
fn push_text(out: &mut String, raw: &[u8]) -> Result<(), XmlError> {
    let s = std::str::from_utf8(raw).map_err(|_| XmlError("text is not UTF-8".into()))?;
    if !s.contains(['&', '\r']) {
        out.push_str(s);
        return Ok(());
    }
    let mut rest = s;
    while let Some(i) = rest.find(['&', '\r']) {
        out.push_str(&rest[..i]);
        if rest.as_bytes()[i] == b'\r' {
            out.push('\n');
            rest = rest[i + 1..].strip_prefix('\n').unwrap_or(&rest[i + 1..]);
            continue;
        }
        let end = rest[i..]
            .find(';')
            .ok_or_else(|| XmlError(format!("unterminated reference in {rest:?}")))?;
        let name = &rest[i + 1..i + end];
        let c = match name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = name.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = name.strip_prefix('#') {
                    dec.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .ok_or_else(|| XmlError(format!("unknown entity &{name};")))?
            }
        };
        out.push(c);
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    Ok(())
}

impl<R: std::io::BufRead> Pull<R> {
    fn new(src: R) -> Self {
        Self {
            src,
            buf: Vec::new(),
            pos: 0,
            dropped: 0,
            eof: false,
            text: String::new(),
            keep: None,
            struct_depth: 0,
            other: String::new(),
        }
    }

    /// The name in `buf[from..to]` (`trim`: trailing white space allowed, as in an end tag).
    fn name_of(&mut self, from: usize, to: usize, trim: bool) -> Result<N, XmlError> {
        let raw = &self.buf[from..to];
        let raw = if trim { raw.trim_ascii_end() } else { raw };
        let n = N::of(raw);
        if n == N::Other {
            self.other = std::str::from_utf8(raw)
                .map_err(|_| XmlError("an element name is not UTF-8".into()))?
                .to_string();
        }
        Ok(n)
    }

    /// A name for messages.
    fn show(&self, n: N) -> &str {
        if n == N::Other {
            &self.other
        } else {
            n.as_str()
        }
    }

    fn err(&self, what: impl std::fmt::Display) -> XmlError {
        XmlError(format!("at byte {}: {what}", self.dropped + self.pos))
    }

    /// Appends more input to `buf`; false at the end of the input.
    fn more(&mut self) -> Result<bool, XmlError> {
        if self.eof {
            return Ok(false);
        }
        let chunk = self
            .src
            .fill_buf()
            .map_err(|e| XmlError(format!("reading the answer: {e}")))?;
        if chunk.is_empty() {
            self.eof = true;
            return Ok(false);
        }
        let n = chunk.len();
        self.buf.extend_from_slice(chunk);
        self.src.consume(n);
        Ok(true)
    }

    /// The index in `buf` of the first `needle` at or after `from`, reading more as needed.
    fn find(&mut self, from: usize, needle: &[u8]) -> Result<Option<usize>, XmlError> {
        let mut start = from;
        loop {
            let hit = if needle.len() == 1 {
                // Most spans between markup are short: a plain scan first.
                let hay = &self.buf[start..];
                let head = hay.len().min(32);
                hay[..head]
                    .iter()
                    .position(|&b| b == needle[0])
                    .or_else(|| memchr::memchr(needle[0], &hay[head..]).map(|i| i + head))
            } else {
                memchr::memmem::find(&self.buf[start..], needle)
            };
            if let Some(i) = hit {
                return Ok(Some(start + i));
            }
            start = self.buf.len().saturating_sub(needle.len() - 1).max(from);
            if !self.more()? {
                return Ok(None);
            }
        }
    }

    fn find_or_fail(&mut self, from: usize, needle: &[u8], what: &str) -> Result<usize, XmlError> {
        self.find(from, needle)?
            .ok_or_else(|| XmlError(format!("unexpected end of document in {what}")))
    }

    /// The next structural event; the text read before it is left in `self.text`.
    fn next(&mut self) -> Result<Tok, XmlError> {
        self.text.clear();
        loop {
            // Drop consumed input now and then (no index into `buf` is held here).
            if self.pos > 64 * 1024 && self.pos * 2 > self.buf.len() {
                self.buf.drain(..self.pos);
                self.dropped += self.pos;
                self.pos = 0;
            }
            let Some(lt) = self.find(self.pos, b"<")? else {
                let rest = std::mem::take(&mut self.buf);
                push_text(&mut self.text, &rest[self.pos..])?;
                self.dropped += rest.len();
                self.pos = 0;
                return Ok(Tok::Eof);
            };
            if lt > self.pos {
                push_text(&mut self.text, &self.buf[self.pos..lt])?;
                self.pos = lt;
            }
            while self.buf.len() < lt + 2 {
                if !self.more()? {
                    return Err(self.err("unexpected end of document after '<'"));
                }
            }
            match self.buf[lt + 1] {
                b'/' => {
                    let gt = self.find_or_fail(lt, b">", "an end tag")?;
                    let name = self.name_of(lt + 2, gt, true)?;
                    self.pos = gt + 1;
                    return Ok(Tok::End(name));
                }
                b'?' => {
                    let end = self.find_or_fail(lt + 2, b"?>", "a processing instruction")?;
                    self.pos = end + 2;
                }
                b'!' => {
                    while self.buf.len() < lt + 9 && self.more()? {}
                    let head = &self.buf[lt..(lt + 9).min(self.buf.len())];
                    if head.starts_with(b"<!--") {
                        let end = self.find_or_fail(lt + 4, b"-->", "a comment")?;
                        self.pos = end + 3;
                    } else if head.starts_with(b"<![CDATA[") {
                        let end = self.find_or_fail(lt + 9, b"]]>", "a CDATA section")?;
                        let raw = std::str::from_utf8(&self.buf[lt + 9..end])
                            .map_err(|_| XmlError("text is not UTF-8".into()))?;
                        self.text.push_str(raw);
                        self.pos = end + 3;
                    } else if head.starts_with(b"<!DOCTYPE") {
                        let gt = self.find_or_fail(lt, b">", "a DOCTYPE")?;
                        if self.buf[lt..gt].contains(&b'[') {
                            return Err(self.err("a DOCTYPE internal subset is not supported"));
                        }
                        self.pos = gt + 1;
                    } else {
                        return Err(self.err("unsupported markup declaration"));
                    }
                }
                _ => {
                    let gt = self.find_or_fail(lt, b">", "a start tag")?;
                    let inner = &self.buf[lt + 1..gt];
                    let empty = inner.last() == Some(&b'/');
                    let inner = if empty {
                        &inner[..inner.len() - 1]
                    } else {
                        inner
                    };
                    let name_len = inner
                        .iter()
                        .position(|b| b.is_ascii_whitespace())
                        .unwrap_or(inner.len());
                    if name_len == 0 {
                        return Err(self.err("an element without a name"));
                    }
                    let name = self.name_of(lt + 1, lt + 1 + name_len, false)?;
                    self.pos = gt + 1;
                    return Ok(if empty {
                        Tok::Empty(name)
                    } else {
                        Tok::Start(name)
                    });
                }
            }
        }
    }

    fn expect_start(&mut self, name: N) -> Result<(), XmlError> {
        match self.next()? {
            Tok::Start(n) if n == name => Ok(()),
            Tok::Start(n) | Tok::Empty(n) => {
                Err(self.err(format!("expected <{name}>, got <{}>", self.show(n))))
            }
            Tok::End(n) => Err(self.err(format!("expected <{name}>, got </{}>", self.show(n)))),
            Tok::Eof => Err(XmlError(format!(
                "unexpected end of document, expected <{name}>"
            ))),
        }
    }

    fn expect_end(&mut self, name: N) -> Result<(), XmlError> {
        match self.next()? {
            Tok::End(n) if n == name => Ok(()),
            Tok::Eof => Err(XmlError(format!(
                "unexpected end of document, expected </{name}>"
            ))),
            _ => Err(self.err(format!("expected </{name}>"))),
        }
    }

    /// The text content of the element just started, up to its end tag.
    fn text_of(&mut self, name: N) -> Result<String, XmlError> {
        self.text_in(name)?;
        // A copy of the exact size; `self.text` keeps its capacity for the next text.
        Ok(self.text.as_str().to_owned())
    }

    /// Reads the text content of the element just started into `self.text` (valid until the
    /// next token), without copying it.
    fn text_in(&mut self, name: N) -> Result<(), XmlError> {
        match self.next()? {
            Tok::End(n) if n == name => Ok(()),
            Tok::Eof => Err(XmlError(format!("unexpected end of document in <{name}>"))),
            _ => Err(self.err(format!("unexpected element in <{name}>"))),
        }
    }

    /// Skips the value whose `<value>` start tag was just read. A scalar (no markup but its
    /// type element before the next `</value>`) is passed over with one search; anything else
    /// goes through the tokenizer, which checks it is well-formed.
    fn skip_value(&mut self) -> Result<(), XmlError> {
        const END: &[u8] = b"</value>";
        // The third '<' at most is the `</value>` of a scalar.
        let mut at = self.pos;
        for _ in 0..3 {
            let Some(lt) = self.find(at, b"<")? else {
                break;
            };
            while self.buf.len() < lt + END.len() && self.more()? {}
            if self.buf[lt..].starts_with(END) {
                if is_scalar(&self.buf[self.pos..lt]) {
                    self.pos = lt + END.len();
                    return Ok(());
                }
                break;
            }
            at = lt + 1;
        }
        self.skip_to_end(N::Value)
    }

    /// Skips everything up to the end tag matching the element `name` just started.
    fn skip_to_end(&mut self, name: N) -> Result<(), XmlError> {
        let mut depth = 0usize;
        loop {
            match self.next()? {
                Tok::Start(_) => depth += 1,
                Tok::End(n) if depth == 0 => {
                    return if n == name {
                        Ok(())
                    } else {
                        Err(self.err(format!("expected </{name}>, got </{}>", self.show(n))))
                    };
                }
                Tok::End(_) => depth -= 1,
                Tok::Empty(_) => {}
                Tok::Eof => {
                    return Err(XmlError(format!("unexpected end of document in <{name}>")));
                }
            }
        }
    }

    /// A value whose `<value>` start tag was just read.
    fn value(&mut self) -> Result<Value, XmlError> {
        match self.next()? {
            Tok::End(N::Value) => Ok(Value::String(self.text.as_str().to_owned())),
            Tok::Start(t) => {
                let v = self.typed(t)?;
                self.expect_end(N::Value)?;
                Ok(v)
            }
            Tok::Empty(t) => {
                let v = match t {
                    N::Nil => Value::Nil,
                    N::String => Value::String(String::new()),
                    N::Struct => Value::Struct(BTreeMap::new()),
                    N::Base64 => Value::Base64(vec![]),
                    other => {
                        return Err(self.err(format!("invalid empty <{}/>", self.show(other))));
                    }
                };
                self.expect_end(N::Value)?;
                Ok(v)
            }
            Tok::End(n) => Err(self.err(format!("expected </value>, got </{}>", self.show(n)))),
            Tok::Eof => Err(XmlError("unexpected end of document in <value>".into())),
        }
    }

    fn typed(&mut self, t: N) -> Result<Value, XmlError> {
        let bad = |kind: &str, text: &str| XmlError(format!("invalid <{kind}>: {text:?}"));
        Ok(match t {
            N::Int | N::I4 | N::I8 => {
                let text = self.text_of(t)?;
                Value::Int(text.trim().parse().map_err(|_| bad(t.as_str(), &text))?)
            }
            N::Boolean => match self.text_of(t)?.trim() {
                "1" => Value::Bool(true),
                "0" => Value::Bool(false),
                other => return Err(bad("boolean", other)),
            },
            N::String => Value::String(self.text_of(t)?),
            N::Double => {
                let text = self.text_of(t)?;
                Value::Double(text.trim().parse().map_err(|_| bad("double", &text))?)
            }
            N::DateTime => Value::DateTime(self.text_of(t)?.trim().to_string()),
            N::Base64 => {
                let text = self.text_of(t)?;
                Value::Base64(
                    base64::engine::general_purpose::STANDARD
                        .decode(text.split_whitespace().collect::<String>())
                        .map_err(|_| bad("base64", &text))?,
                )
            }
            N::Nil => {
                self.expect_end(N::Nil)?;
                Value::Nil
            }
            N::Struct => {
                let mut m = BTreeMap::new();
                let filter = self.keep.filter(|_| self.struct_depth == 0);
                self.struct_depth += 1;
                loop {
                    match self.next()? {
                        Tok::Start(N::Member) => {
                            self.expect_start(N::Name)?;
                            // A skipped member's name is never copied.
                            self.text_in(N::Name)?;
                            let name = filter
                                .is_none_or(|keep| keep(&self.text))
                                .then(|| self.text.as_str().to_owned());
                            self.expect_start(N::Value)?;
                            match name {
                                Some(name) => {
                                    let v = self.value()?;
                                    m.insert(name, v);
                                }
                                None => self.skip_value()?,
                            }
                            self.expect_end(N::Member)?;
                        }
                        Tok::End(N::Struct) => break,
                        _ => return Err(self.err("expected <member> or </struct>")),
                    }
                }
                self.struct_depth -= 1;
                Value::Struct(m)
            }
            N::Array => {
                let mut items = Vec::new();
                match self.next()? {
                    Tok::Empty(N::Data) => {}
                    Tok::Start(N::Data) => loop {
                        match self.next()? {
                            Tok::Start(N::Value) => items.push(self.value()?),
                            Tok::End(N::Data) => break,
                            _ => return Err(self.err("expected <value> or </data>")),
                        }
                    },
                    _ => return Err(XmlError("<array> has no <data>".into())),
                }
                self.expect_end(N::Array)?;
                Value::Array(items)
            }
            other => {
                return Err(XmlError(format!(
                    "unknown value type <{}>",
                    self.show(other)
                )));
            }
        })
    }

    /// Reads the root element's start tag, which must be `want`.
    fn root(&mut self, want: N) -> Result<(), XmlError> {
        match self.next()? {
            Tok::Start(n) if n == want => Ok(()),
            Tok::Start(n) => Err(XmlError(format!(
                "expected <{want}>, got <{}>",
                self.show(n)
            ))),
            Tok::Empty(n) => Err(XmlError(format!("empty root element <{}/>", self.show(n)))),
            Tok::End(_) => Err(self.err("unbalanced end tag")),
            Tok::Eof => Err(XmlError("empty document".into())),
        }
    }
}

/// Parses a `<methodResponse>`: the value, or the fault.
pub fn decode_response(xml: &[u8]) -> Result<Result<Value, Fault>, XmlError> {
    decode_response_from(xml, None)
}

/// Parses a `<methodResponse>` from a reader (an answer still arriving, say). With `keep`, the
/// outermost structs of the value (the RPMs and builds of `listTaggedRPMS`) hold only the
/// members `keep` accepts; the others are skipped without building their values. Nested
/// structs and faults are whole.
pub fn decode_response_from<R: std::io::BufRead>(
    input: R,
    keep: Option<fn(&str) -> bool>,
) -> Result<Result<Value, Fault>, XmlError> {
    let mut p = Pull::new(input);
    p.root(N::MethodResponse)?;
    let out = match p.next()? {
        Tok::Start(N::Fault) => {
            p.expect_start(N::Value)?;
            let v = p.value()?;
            p.expect_end(N::Fault)?;
            let code = v
                .get("faultCode")
                .as_i64()
                .ok_or_else(|| XmlError("fault without faultCode".into()))?;
            let message = v
                .get("faultString")
                .as_str()
                .unwrap_or_default()
                .to_string();
            Err(Fault { code, message })
        }
        Tok::Start(N::Params) => {
            p.expect_start(N::Param)?;
            p.expect_start(N::Value)?;
            p.keep = keep;
            let v = p.value()?;
            p.expect_end(N::Param)?;
            p.expect_end(N::Params)?;
            Ok(v)
        }
        _ => {
            return Err(XmlError(
                "<methodResponse> has no <params> or <fault>".into(),
            ));
        }
    };
    p.expect_end(N::MethodResponse)?;
    Ok(out)
}

/// The position of the first byte from `at` that is not ASCII whitespace.
fn skip_space(xml: &[u8], at: usize) -> usize {
    at + xml[at..]
        .iter()
        .take_while(|b| b.is_ascii_whitespace())
        .count()
}

/// Skips ASCII whitespace from `at`; then, if `tags` follow one after the other (whitespace
/// allowed between them), the position after the last.
fn after_tags(xml: &[u8], mut at: usize, tags: &[&[u8]]) -> Option<usize> {
    for tag in tags {
        at = skip_space(xml, at);
        if !xml[at..].starts_with(tag) {
            return None;
        }
        at += tag.len();
    }
    Some(at)
}

/// Parses a `<methodResponse>` whose value is an array of two arrays (`listTaggedRPMS`'s
/// `[rpms, builds]`), the two on two threads, with `keep` as in [`decode_response_from`].
///
/// `None` when the text is not plainly that shape: a fault, another value, or more than one
/// place where an array's end is followed by an array's start (arrays of arrays nested in the
/// members). The caller then decodes it whole. Each half is decoded from its exact byte range
/// and must end exactly there, so a wrong split is an error, never a different value.
pub fn decode_pair_response(
    xml: &[u8],
    keep: Option<fn(&str) -> bool>,
) -> Option<Result<Value, XmlError>> {
    let start = memchr::memmem::find(xml, b"<methodResponse>")? + b"<methodResponse>".len();
    let first = after_tags(
        xml,
        start,
        &[b"<params>", b"<param>", b"<value>", b"<array>", b"<data>"],
    )?;
    after_tags(xml, first, &[b"<value>", b"<array>", b"<data>"])?;
    // The boundary: `</data></array></value>` followed by `<value><array><data>` (whitespace
    // allowed between the tags).
    let mut boundary = None;
    for end in memchr::memmem::find_iter(xml, b"</data>") {
        let Some(after) = after_tags(xml, end, &[b"</data>", b"</array>", b"</value>"]) else {
            continue;
        };
        if after_tags(xml, after, &[b"<value>", b"<array>", b"<data>"]).is_some() {
            if boundary.is_some() {
                return None;
            }
            boundary = Some(after);
        }
    }
    let boundary = boundary?;
    let second = skip_space(xml, boundary);
    let half = |range: &[u8], tail: &[N]| -> Result<Value, XmlError> {
        let mut p = Pull::new(range);
        p.expect_start(N::Value)?;
        p.keep = keep;
        let v = p.value()?;
        for &n in tail {
            p.expect_end(n)?;
        }
        match p.next()? {
            Tok::Eof => Ok(v),
            _ => Err(XmlError(
                "the split answer does not end where it should".into(),
            )),
        }
    };
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| half(&xml[first..boundary], &[]));
        let b = half(
            &xml[second..],
            &[
                N::Data,
                N::Array,
                N::Value,
                N::Param,
                N::Params,
                N::MethodResponse,
            ],
        );
        (a.join(), b)
    });
    let a = match a {
        Ok(a) => a,
        Err(_) => return Some(Err(XmlError("decoder thread panicked".into()))),
    };
    Some(a.and_then(|a| Ok(Value::Array(vec![a, b?]))))
}

/// Parses a `<methodCall>` (test hub side).
pub fn decode_call(xml: &[u8]) -> Result<(String, Vec<Value>), XmlError> {
    let mut p = Pull::new(xml);
    p.root(N::MethodCall)?;
    p.expect_start(N::MethodName)?;
    let method = p.text_of(N::MethodName)?.trim().to_string();
    let mut params = Vec::new();
    match p.next()? {
        Tok::Start(N::Params) => {
            loop {
                match p.next()? {
                    Tok::Start(N::Param) => {
                        p.expect_start(N::Value)?;
                        params.push(p.value()?);
                        p.expect_end(N::Param)?;
                    }
                    Tok::End(N::Params) => break,
                    _ => return Err(p.err("expected <param> or </params>")),
                }
            }
            p.expect_end(N::MethodCall)?;
        }
        Tok::Empty(N::Params) => p.expect_end(N::MethodCall)?,
        Tok::End(N::MethodCall) => {}
        _ => return Err(p.err("expected <params>")),
    }
    Ok((method, params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::koji::xmlrpc::encode::{encode_call, encode_response};
    use crate::koji::xmlrpc::value::{split_kwargs, with_kwargs};

    fn row(i: i64, extra: Value) -> Value {
        Value::Struct(
            [
                ("id".to_string(), Value::Int(i)),
                (
                    "name".to_string(),
                    Value::String(format!("p{i} &lt; </value>")),
                ),
                ("skipped".to_string(), Value::String("x".into())),
                ("extra".to_string(), extra),
            ]
            .into_iter()
            .collect(),
        )
    }

    fn pair(extra: Value) -> Value {
        Value::Array(vec![
            Value::Array((0..50).map(|i| row(i, extra.clone())).collect()),
            Value::Array((0..30).map(|i| row(1000 + i, Value::Nil)).collect()),
        ])
    }

    #[test]
    fn a_pair_of_arrays_decodes_on_two_threads_as_it_does_whole() {
        let keep: fn(&str) -> bool = |m| m != "skipped";
        let nested = Value::Struct(
            [(
                "a".to_string(),
                Value::Array(vec![Value::Int(1), Value::Int(2)]),
            )]
            .into_iter()
            .collect(),
        );
        let xml = encode_response(&Ok(pair(nested)));
        // Python's marshaller puts a newline after most tags; both shapes split.
        let spaced = xml.replace("><", ">\n<");
        for text in [xml, spaced] {
            for k in [None, Some(keep)] {
                let whole = decode_response_from(text.as_bytes(), k).unwrap().unwrap();
                let split = decode_pair_response(text.as_bytes(), k).unwrap().unwrap();
                assert_eq!(split, whole);
            }
        }
    }

    #[test]
    fn what_does_not_split_plainly_is_left_to_the_whole_decoder() {
        // Arrays of arrays inside the members: more than one place looks like the boundary.
        let ambiguous = Value::Array(vec![Value::Array(vec![]), Value::Array(vec![])]);
        let xml = encode_response(&Ok(pair(ambiguous)));
        assert!(decode_pair_response(xml.as_bytes(), None).is_none());
        let fault = encode_response(&Err(Fault {
            code: 1000,
            message: "no".into(),
        }));
        assert!(decode_pair_response(fault.as_bytes(), None).is_none());
        let one_array = encode_response(&Ok(Value::Array(vec![row(1, Value::Nil)])));
        assert!(decode_pair_response(one_array.as_bytes(), None).is_none());
        // A cut answer is an error, not a shorter value.
        let xml = encode_response(&Ok(pair(Value::Nil)));
        let cut = &xml[..xml.len() - 40];
        assert!(decode_pair_response(cut.as_bytes(), None).unwrap().is_err());
    }

    #[test]
    fn round_trip_all_types() {
        let v = Value::structure([
            ("a", Value::Int(1)),
            ("big", Value::Int(5_000_000_000)),
            ("s", Value::String("x < y & \"z\"\n".into())),
            ("n", Value::Nil),
            ("d", Value::Double(1795294601.332094)),
            ("b", Value::Base64(vec![0, 1, 255])),
            (
                "l",
                Value::Array(vec![Value::Bool(true), Value::Bool(false)]),
            ),
        ]);
        let xml = encode_response(&Ok(v.clone()));
        assert!(xml.contains("<i8>5000000000</i8>") && xml.contains("<nil/>"));
        assert_eq!(decode_response(xml.as_bytes()).unwrap(), Ok(v.clone()));
        let call = encode_call(
            "getTag",
            &with_kwargs(vec!["f40".into()], vec![("event", Value::Int(3))]),
        );
        let (m, params) = decode_call(call.as_bytes()).unwrap();
        assert_eq!(m, "getTag");
        let (args, kw) = split_kwargs(params);
        assert_eq!(args, vec![Value::String("f40".into())]);
        assert_eq!(kw.get("event"), Some(&Value::Int(3)));
    }

    #[test]
    fn faults_untyped_values_and_garbage() {
        let f = encode_response(&Err(Fault {
            code: 1000,
            message: "No such tagInfo: 'x'".into(),
        }));
        assert_eq!(
            decode_response(f.as_bytes()).unwrap(),
            Err(Fault {
                code: 1000,
                message: "No such tagInfo: 'x'".into()
            })
        );
        let untyped = b"<methodResponse><params><param><value>plain &amp; text</value></param></params></methodResponse>";
        assert_eq!(
            decode_response(untyped).unwrap(),
            Ok(Value::String("plain & text".into()))
        );
        assert!(decode_response(b"<html>500</html>").is_err());
        assert!(
            decode_response(b"<methodResponse><params><param><value><int>x</int></value>").is_err()
        );
        assert!(decode_response(b"").is_err());
    }

    #[test]
    fn skipped_members_of_every_shape() {
        // Skipped: untyped text, `<nil/>`, a typed scalar, pretty-printed white space, a CDATA
        // and a comment holding `</value>`, a nested struct; `k` is kept after each.
        let skipped = [
            "plain text",
            "<nil/>",
            "<string>s &amp; t</string>",
            "\n  <int>3</int>\n",
            "<string><![CDATA[a</value>b]]></string>",
            "<string>x<!-- </value> --></string>",
            "<struct><member><name>k</name><value><int>9</int></value></member></struct>",
        ];
        let keep: fn(&str) -> bool = |m| m == "k";
        for v in skipped {
            let xml = format!(
                "<methodResponse><params><param><value><struct>\
                 <member><name>x</name><value>{v}</value></member>\
                 <member><name>k</name><value><int>1</int></value></member>\
                 </struct></value></param></params></methodResponse>"
            );
            let got = decode_response_from(Trickle(xml.as_bytes()), Some(keep)).unwrap();
            assert_eq!(
                got,
                Ok(Value::structure([("k", Value::Int(1))])),
                "skipping {v:?}"
            );
        }
        assert!(is_scalar(b"<string>a</string>") && is_scalar(b"") && is_scalar(b"<nil/>"));
        assert!(!is_scalar(b"<struct></struct><x>") && !is_scalar(b"<!-- -->"));
    }

    /// A reader that hands out one byte per `fill_buf`, as a body arriving in tiny chunks.
    struct Trickle<'a>(&'a [u8]);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = usize::from(!self.0.is_empty() && !out.is_empty());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    impl std::io::BufRead for Trickle<'_> {
        fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
            Ok(&self.0[..self.0.len().min(1)])
        }
        fn consume(&mut self, n: usize) {
            self.0 = &self.0[n..];
        }
    }

    #[test]
    fn kept_members_of_outermost_structs_and_byte_by_byte_input() {
        let rpm = |id: i64| {
            Value::structure([
                ("id", Value::Int(id)),
                ("name", Value::String(format!("p{id} & <q>"))),
                ("buildtime", Value::Int(7)),
                (
                    "extra",
                    Value::structure([("buildtime", Value::Int(8)), ("id", Value::Nil)]),
                ),
                ("payloadhash", Value::Array(vec![Value::Nil, Value::Int(1)])),
            ])
        };
        let answer = Value::Array(vec![
            Value::Array(vec![rpm(1), rpm(2)]),
            Value::Array(vec![]),
        ]);
        let xml = encode_response(&Ok(answer.clone()));
        // Byte by byte, as slowly as a body can arrive: the same value.
        assert_eq!(
            decode_response_from(Trickle(xml.as_bytes()), None).unwrap(),
            Ok(answer)
        );
        // Only `id`, `name` and `extra` kept at the outermost level; `extra` stays whole.
        let keep: fn(&str) -> bool = |m| matches!(m, "id" | "name" | "extra");
        let got = decode_response_from(Trickle(xml.as_bytes()), Some(keep))
            .unwrap()
            .unwrap();
        let first = &got.as_array().unwrap()[0].as_array().unwrap()[0];
        assert_eq!(
            first,
            &Value::structure([
                ("id", Value::Int(1)),
                ("name", Value::String("p1 & <q>".into())),
                (
                    "extra",
                    Value::structure([("buildtime", Value::Int(8)), ("id", Value::Nil)]),
                ),
            ])
        );
        // A skipped member must still be well-formed.
        let broken = xml.replacen(
            "</data></array></value></member>",
            "</data></value></member>",
            1,
        );
        assert_ne!(broken, xml);
        assert!(decode_response_from(broken.as_bytes(), Some(keep)).is_err());
    }
}
