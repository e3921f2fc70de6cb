//! A small, bounded parser and serialiser for the parts of RFC 8941
//! structured fields that `Signature-Input`, `Signature` and
//! `Content-Digest` use: dictionaries whose members are items or inner lists,
//! with parameters. No recursion (inner lists cannot nest), every loop is
//! bounded by the input, and member/parameter counts are capped.
//!
//! Written here rather than taken from the `sfv` crate: we need a fifth of
//! RFC 8941, the caps are ours, and the tree stays lean.

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};

const MAX_MEMBERS: usize = 64;
const MAX_INNER_ITEMS: usize = 64;
const MAX_PARAMS: usize = 32;

/// Byte sequences are decoded whether or not they are padded (RFC 8941 §4.2.7
/// lets parsers be lenient here).
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A bare item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BareItem {
    Integer(i64),
    /// Kept in canonical text form (`1.5`, `-0.25`).
    Decimal(String),
    String(String),
    Token(String),
    ByteSeq(Vec<u8>),
    Boolean(bool),
}

/// Parameters, in order.
pub type Params = Vec<(String, BareItem)>;

/// A dictionary member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    Item(BareItem, Params),
    InnerList(Vec<(BareItem, Params)>, Params),
}

/// A dictionary, in order (a repeated key overwrites the earlier value in place).
pub type Dictionary = Vec<(String, Member)>;

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

type PResult<T> = Result<T, String>;

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> PResult<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!(
                "expected `{}` at byte {}",
                char::from(byte),
                self.pos
            ))
        }
    }

    fn key(&mut self) -> PResult<String> {
        match self.peek() {
            Some(c) if c.is_ascii_lowercase() || c == b'*' => {}
            _ => return Err(format!("expected a key at byte {}", self.pos)),
        }
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-.*".contains(&c) {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(String::from_utf8_lossy(&self.input[start..self.pos]).into_owned())
    }

    fn params(&mut self) -> PResult<Params> {
        let mut params: Params = Vec::new();
        while self.peek() == Some(b';') {
            self.pos += 1;
            self.skip_sp();
            let key = self.key()?;
            let value = if self.peek() == Some(b'=') {
                self.pos += 1;
                self.bare_item()?
            } else {
                BareItem::Boolean(true)
            };
            if let Some(slot) = params.iter_mut().find(|(k, _)| *k == key) {
                slot.1 = value;
            } else {
                if params.len() >= MAX_PARAMS {
                    return Err("too many parameters".into());
                }
                params.push((key, value));
            }
        }
        Ok(params)
    }

    fn bare_item(&mut self) -> PResult<BareItem> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'"') => self.string(),
            Some(b':') => self.byte_seq(),
            Some(b'?') => self.boolean(),
            Some(c) if c.is_ascii_alphabetic() || c == b'*' => Ok(self.token()),
            _ => Err(format!("expected an item at byte {}", self.pos)),
        }
    }

    fn number(&mut self) -> PResult<BareItem> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        let int_digits = &self.input[start..self.pos];
        if int_digits.is_empty() {
            return Err("a number needs digits".into());
        }
        let int_text = String::from_utf8_lossy(int_digits);
        if self.peek() != Some(b'.') {
            if int_digits.len() > 15 {
                return Err("integer too long".into());
            }
            let value: i64 = int_text.parse().map_err(|_| "bad integer".to_owned())?;
            return Ok(BareItem::Integer(if negative { -value } else { value }));
        }
        self.pos += 1;
        if int_digits.len() > 12 {
            return Err("decimal too long".into());
        }
        let frac_start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        let frac = &self.input[frac_start..self.pos];
        if frac.is_empty() || frac.len() > 3 {
            return Err("a decimal needs 1 to 3 fractional digits".into());
        }
        let int_value: u64 = int_text.parse().map_err(|_| "bad decimal".to_owned())?;
        let frac_text = String::from_utf8_lossy(frac);
        let trimmed = frac_text.trim_end_matches('0');
        let frac_canon = if trimmed.is_empty() { "0" } else { trimmed };
        let sign = if negative { "-" } else { "" };
        Ok(BareItem::Decimal(format!("{sign}{int_value}.{frac_canon}")))
    }

    fn string(&mut self) -> PResult<BareItem> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err("unterminated string".into()),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(BareItem::String(out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(char::from(c));
                            self.pos += 1;
                        }
                        _ => return Err("bad escape in string".into()),
                    }
                }
                Some(c @ 0x20..=0x7e) => {
                    out.push(char::from(c));
                    self.pos += 1;
                }
                Some(_) => return Err("non-printable byte in string".into()),
            }
        }
    }

    fn token(&mut self) -> BareItem {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c) {
                self.pos += 1;
            } else {
                break;
            }
        }
        BareItem::Token(String::from_utf8_lossy(&self.input[start..self.pos]).into_owned())
    }

    fn byte_seq(&mut self) -> PResult<BareItem> {
        self.expect(b':')?;
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || b"+/=".contains(&c) {
                self.pos += 1;
            } else {
                break;
            }
        }
        let encoded = &self.input[start..self.pos];
        self.expect(b':')?;
        LENIENT_B64
            .decode(encoded)
            .map(BareItem::ByteSeq)
            .map_err(|_| "bad base64 in byte sequence".into())
    }

    fn boolean(&mut self) -> PResult<BareItem> {
        self.expect(b'?')?;
        let value = match self.peek() {
            Some(b'1') => true,
            Some(b'0') => false,
            _ => return Err("bad boolean".into()),
        };
        self.pos += 1;
        Ok(BareItem::Boolean(value))
    }

    fn inner_list(&mut self) -> PResult<Member> {
        self.expect(b'(')?;
        let mut items = Vec::new();
        loop {
            self.skip_sp();
            if self.peek() == Some(b')') {
                self.pos += 1;
                let params = self.params()?;
                return Ok(Member::InnerList(items, params));
            }
            if items.len() >= MAX_INNER_ITEMS {
                return Err("too many items in an inner list".into());
            }
            let item = self.bare_item()?;
            let params = self.params()?;
            items.push((item, params));
            match self.peek() {
                Some(b' ' | b')') => {}
                _ => return Err(format!("expected ` ` or `)` at byte {}", self.pos)),
            }
        }
    }
}

/// Parses a structured-field dictionary.
pub fn parse_dictionary(input: &[u8]) -> Result<Dictionary, String> {
    let mut p = Parser { input, pos: 0 };
    p.skip_sp();
    let mut dict: Dictionary = Vec::new();
    while p.peek().is_some() {
        let key = p.key()?;
        let member = if p.peek() == Some(b'=') {
            p.pos += 1;
            if p.peek() == Some(b'(') {
                p.inner_list()?
            } else {
                let item = p.bare_item()?;
                Member::Item(item, p.params()?)
            }
        } else {
            Member::Item(BareItem::Boolean(true), p.params()?)
        };
        if let Some(slot) = dict.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = member;
        } else {
            if dict.len() >= MAX_MEMBERS {
                return Err("too many dictionary members".into());
            }
            dict.push((key, member));
        }
        p.skip_ows();
        if p.peek().is_none() {
            break;
        }
        p.expect(b',')?;
        p.skip_ows();
        if p.peek().is_none() {
            return Err("trailing comma".into());
        }
    }
    Ok(dict)
}

/// Serialises a bare item (RFC 8941 §4.1).
pub fn serialize_bare_item(item: &BareItem, out: &mut String) {
    match item {
        BareItem::Integer(i) => out.push_str(&i.to_string()),
        BareItem::Decimal(d) => out.push_str(d),
        BareItem::String(s) => {
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        BareItem::Token(t) => out.push_str(t),
        BareItem::ByteSeq(b) => {
            out.push(':');
            out.push_str(&STANDARD.encode(b));
            out.push(':');
        }
        BareItem::Boolean(b) => out.push_str(if *b { "?1" } else { "?0" }),
    }
}

/// Serialises parameters (`;key=value`, `;flag` for true).
pub fn serialize_params(params: &Params, out: &mut String) {
    for (key, value) in params {
        out.push(';');
        out.push_str(key);
        if *value != BareItem::Boolean(true) {
            out.push('=');
            serialize_bare_item(value, out);
        }
    }
}

/// Serialises an inner list with its parameters.
pub fn serialize_inner_list(items: &[(BareItem, Params)], params: &Params) -> String {
    let mut out = String::from("(");
    for (i, (item, item_params)) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        serialize_bare_item(item, &mut out);
        serialize_params(item_params, &mut out);
    }
    out.push(')');
    serialize_params(params, &mut out);
    out
}
