//! SQL templates to statements with bound parameters.
//!
//! `SELECT * FROM t WHERE id = {{inputs.id}}` becomes `SELECT * FROM t WHERE id = $1` (or `?`)
//! with the input `id` bound as the first parameter: an input value is never statement text,
//! whatever it holds. A small lexer tracks where each template sits, and refuses (when the query
//! is saved, and again when it runs):
//! - a template inside a string literal, a dollar-quoted string or a comment (it would be text
//!   there, not a value);
//! - a template inside a quoted identifier, after `.`, glued to a name, or right after `FROM`,
//!   `JOIN`, `INTO`, `UPDATE`, `TABLE`: identifiers cannot be bound, so they cannot be templated;
//! - placeholders written by hand (`$1` on PostgreSQL, `?` on MySQL and SQLite, `:x`/`@x`/`$x`
//!   on SQLite): every parameter comes from a template, so the count always matches.

use crate::Error;
use crate::template::{self, Segment};

/// The SQL dialect, for quoting rules and placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `$n` placeholders; `'…'`, `E'…'`, `$tag$…$tag$` strings; `"…"` identifiers; nested
    /// block comments.
    Postgres,
    /// `?` placeholders; `'…'` and `"…"` strings with backslash escapes; `` `…` `` identifiers;
    /// `#` comments.
    Mysql,
    /// `?` placeholders; `'…'` strings; `"…"`, `` `…` `` and `[…]` identifiers.
    Sqlite,
}

/// A statement and the input keys bound to its parameters, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The SQL with placeholders.
    pub text: String,
    /// For each placeholder number (PostgreSQL) or each `?` (MySQL, SQLite), the input key.
    pub params: Vec<String>,
}

const FIELD: &str = "dataQueryOptions.query";

const TEMPLATE_IN_LITERAL: &str = "a template inside a string literal would be text: write it outside the quotes ({{inputs.x}}, not '{{inputs.x}}')";
const TEMPLATE_AS_IDENTIFIER: &str =
    "identifiers (table and column names) cannot be templated: only values can";

/// What a quote opens.
#[derive(Debug, Clone, Copy)]
enum Enclosure {
    /// A string literal; `backslash`: backslashes escape (MySQL, PostgreSQL `E'…'`).
    Literal { backslash: bool },
    /// A quoted identifier.
    Identifier,
}

/// Words after which a template would be an identifier.
const IDENTIFIER_CONTEXT: &[&str] = &["FROM", "JOIN", "INTO", "UPDATE", "TABLE"];

/// Compiles `sql` for `dialect`.
pub fn compile(dialect: Dialect, sql: &str) -> Result<Statement, Error> {
    let mut lexer = Lexer {
        dialect,
        sql: sql.as_bytes(),
        text: sql,
        at: 0,
        out: String::with_capacity(sql.len()),
        params: Vec::new(),
        last_word: String::new(),
    };
    lexer.run()?;
    Ok(Statement {
        text: lexer.out,
        params: lexer.params,
    })
}

struct Lexer<'a> {
    dialect: Dialect,
    sql: &'a [u8],
    text: &'a str,
    at: usize,
    out: String,
    params: Vec<String>,
    /// The last bare word seen (upper case), to spot identifier positions.
    last_word: String,
}

fn refused(message: &str) -> Error {
    Error::invalid(FIELD, message)
}

impl Lexer<'_> {
    fn peek(&self, offset: usize) -> Option<u8> {
        self.sql.get(self.at + offset).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        self.sql[self.at..].starts_with(s.as_bytes())
    }

    /// Copies `sql[from..to]` to the output.
    fn copy(&mut self, from: usize, to: usize) {
        self.out.push_str(&self.text[from..to]);
    }

    fn run(&mut self) -> Result<(), Error> {
        while self.at < self.sql.len() {
            let byte = self.sql[self.at];
            if self.starts_with("{{") {
                self.template()?;
            } else if byte == b'\'' {
                self.last_word.clear();
                let backslash = self.dialect == Dialect::Mysql || self.escape_string_prefix();
                self.enclosed(b'\'', Enclosure::Literal { backslash })?;
            } else if byte == b'"' {
                self.last_word.clear();
                match self.dialect {
                    Dialect::Mysql => {
                        self.enclosed(b'"', Enclosure::Literal { backslash: true })?
                    }
                    _ => self.enclosed(b'"', Enclosure::Identifier)?,
                }
            } else if byte == b'`' && self.dialect != Dialect::Postgres {
                self.last_word.clear();
                self.enclosed(b'`', Enclosure::Identifier)?;
            } else if byte == b'[' && self.dialect == Dialect::Sqlite {
                self.last_word.clear();
                self.enclosed(b']', Enclosure::Identifier)?;
            } else if self.starts_with("--") || (byte == b'#' && self.dialect == Dialect::Mysql) {
                self.line_comment()?;
            } else if self.starts_with("/*") {
                self.block_comment()?;
            } else if byte == b'$' && self.dialect == Dialect::Postgres {
                self.dollar()?;
            } else if byte == b'?' && self.dialect != Dialect::Postgres {
                return Err(refused(
                    "write {{inputs.<key>}} instead of a `?` placeholder",
                ));
            } else if matches!(byte, b':' | b'@' | b'$')
                && self.dialect == Dialect::Sqlite
                && self
                    .peek(1)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(refused(
                    "write {{inputs.<key>}} instead of a named placeholder",
                ));
            } else if byte.is_ascii_alphabetic() || byte == b'_' {
                self.word();
            } else {
                if !byte.is_ascii_whitespace() {
                    self.last_word.clear();
                }
                let start = self.at;
                self.at += utf8_width(byte);
                self.copy(start, self.at.min(self.sql.len()));
            }
        }
        Ok(())
    }

    /// `E'…'` (PostgreSQL): the `E` was already copied as a word; backslashes escape.
    fn escape_string_prefix(&self) -> bool {
        self.dialect == Dialect::Postgres
            && self.at > 0
            && matches!(self.sql[self.at - 1], b'E' | b'e')
            && (self.at < 2 || !is_word_byte(self.sql[self.at - 2]))
    }

    fn word(&mut self) {
        let start = self.at;
        while self.peek(0).is_some_and(is_word_byte) {
            self.at += 1;
        }
        self.last_word = self.text[start..self.at].to_ascii_uppercase();
        self.copy(start, self.at);
    }

    fn template(&mut self) -> Result<(), Error> {
        let glued_before = self.at > 0 && matches!(self.sql[self.at - 1], b'.');
        let word_before = self.at > 0 && is_word_byte(self.sql[self.at - 1]);
        let Some(end) = self.text[self.at..].find("}}") else {
            return Err(refused("`{{` without its `}}`"));
        };
        let whole = &self.text[self.at..self.at + end + 2];
        let key = match template::parse(FIELD, whole)?.as_slice() {
            [Segment::Input(key)] => (*key).to_string(),
            _ => return Err(refused("a template is {{inputs.<key>}}")),
        };
        self.at += end + 2;
        let glued_after = self.peek(0).is_some_and(|b| is_word_byte(b) || b == b'.');
        if glued_before
            || word_before
            || glued_after
            || IDENTIFIER_CONTEXT.contains(&self.last_word.as_str())
        {
            return Err(refused(TEMPLATE_AS_IDENTIFIER));
        }
        self.last_word.clear();
        match self.dialect {
            Dialect::Postgres => {
                let number = match self.params.iter().position(|k| *k == key) {
                    Some(index) => index + 1,
                    None => {
                        self.params.push(key);
                        self.params.len()
                    }
                };
                self.out.push_str(&format!("${number}"));
            }
            Dialect::Mysql | Dialect::Sqlite => {
                self.params.push(key);
                self.out.push('?');
            }
        }
        Ok(())
    }

    /// A string literal or quoted identifier opened at `self.at` and closed by `close`.
    fn enclosed(&mut self, close: u8, kind: Enclosure) -> Result<(), Error> {
        let (backslash, doubled, unclosed, inside) = match kind {
            Enclosure::Literal { backslash } => (
                backslash,
                true,
                "a string literal is not closed",
                TEMPLATE_IN_LITERAL,
            ),
            Enclosure::Identifier => (
                false,
                close != b']',
                "a quoted identifier is not closed",
                TEMPLATE_AS_IDENTIFIER,
            ),
        };
        let start = self.at;
        self.at += 1;
        loop {
            match self.peek(0) {
                None => return Err(refused(unclosed)),
                Some(b'\\') if backslash => self.at += 2,
                Some(b) if b == close => {
                    if doubled && self.peek(1) == Some(close) {
                        self.at += 2;
                    } else {
                        self.at += 1;
                        break;
                    }
                }
                Some(b'{') if self.starts_with("{{") => return Err(refused(inside)),
                Some(_) => self.at += 1,
            }
        }
        let end = self.at.min(self.sql.len());
        self.copy(start, end);
        Ok(())
    }

    fn line_comment(&mut self) -> Result<(), Error> {
        let start = self.at;
        while let Some(b) = self.peek(0) {
            if b == b'\n' {
                break;
            }
            if self.starts_with("{{") {
                return Err(refused("a template inside a comment"));
            }
            self.at += 1;
        }
        self.copy(start, self.at);
        Ok(())
    }

    fn block_comment(&mut self) -> Result<(), Error> {
        let start = self.at;
        let nests = self.dialect == Dialect::Postgres;
        let mut depth = 0usize;
        loop {
            if self.at >= self.sql.len() {
                return Err(refused("a block comment is not closed"));
            }
            if self.starts_with("/*") && (depth == 0 || nests) {
                depth += 1;
                self.at += 2;
            } else if self.starts_with("*/") {
                depth -= 1;
                self.at += 2;
                if depth == 0 {
                    break;
                }
            } else if self.starts_with("{{") {
                return Err(refused("a template inside a comment"));
            } else {
                self.at += 1;
            }
        }
        self.copy(start, self.at);
        Ok(())
    }

    /// PostgreSQL `$`: a hand-written `$1` (refused), a dollar-quoted string, or part of a name.
    fn dollar(&mut self) -> Result<(), Error> {
        if self.peek(1).is_some_and(|b| b.is_ascii_digit()) {
            return Err(refused(
                "write {{inputs.<key>}} instead of a `$n` placeholder",
            ));
        }
        let rest = &self.text[self.at + 1..];
        let tag_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        if rest.as_bytes().get(tag_len) != Some(&b'$') {
            let start = self.at;
            self.at += 1;
            self.copy(start, self.at);
            return Ok(());
        }
        let delimiter = &self.text[self.at..self.at + tag_len + 2];
        let body_start = self.at + delimiter.len();
        let Some(body_len) = self.text[body_start..].find(delimiter) else {
            return Err(refused("a dollar-quoted string is not closed"));
        };
        if self.text[body_start..body_start + body_len].contains("{{") {
            return Err(refused(TEMPLATE_IN_LITERAL));
        }
        let start = self.at;
        self.at = body_start + body_len + delimiter.len();
        self.copy(start, self.at);
        Ok(())
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

fn utf8_width(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ok(dialect: Dialect, sql: &str) -> Statement {
        compile(dialect, sql).unwrap()
    }

    fn refused_with(dialect: Dialect, sql: &str, needle: &str) {
        let error = compile(dialect, sql).unwrap_err().to_string();
        assert!(error.contains(needle), "{sql}: {error}");
    }

    #[test]
    fn templates_become_numbered_or_positional_parameters() {
        let pg = ok(
            Dialect::Postgres,
            "SELECT * FROM t WHERE a = {{inputs.a}} AND b = {{ inputs.b }} OR a = {{inputs.a}}",
        );
        assert_eq!(pg.text, "SELECT * FROM t WHERE a = $1 AND b = $2 OR a = $1");
        assert_eq!(pg.params, ["a", "b"]);
        let my = ok(
            Dialect::Mysql,
            "SELECT * FROM t WHERE a = {{inputs.a}} OR a = {{inputs.a}}",
        );
        assert_eq!(my.text, "SELECT * FROM t WHERE a = ? OR a = ?");
        assert_eq!(my.params, ["a", "a"]);
    }

    #[test]
    fn literals_comments_and_unicode_pass_through_untouched() {
        let sql = "SELECT 'it''s {', \"weird \"\"col\", $$ body $$, $tag$ x $tag$ -- note\n/* c /* n */ */ ,'é' FROM t WHERE x = {{inputs.x}} AND j ? 'k'";
        let compiled = ok(Dialect::Postgres, sql);
        assert_eq!(compiled.text, sql.replace("{{inputs.x}}", "$1"));
        let mysql = "SELECT 'a\\'{', \"b\" # c {\n FROM `t` WHERE x = {{inputs.x}}";
        assert_eq!(
            ok(Dialect::Mysql, mysql).text,
            mysql.replace("{{inputs.x}}", "?")
        );
    }

    #[test]
    fn templates_inside_literals_are_refused() {
        refused_with(Dialect::Postgres, "SELECT '{{inputs.x}}'", "string literal");
        refused_with(
            Dialect::Postgres,
            "SELECT E'\\'{{inputs.x}}'",
            "string literal",
        );
        refused_with(
            Dialect::Postgres,
            "SELECT $q${{inputs.x}}$q$",
            "string literal",
        );
        refused_with(Dialect::Mysql, "SELECT \"{{inputs.x}}\"", "string literal");
        refused_with(
            Dialect::Mysql,
            "SELECT 'a\\' {{inputs.x}}'",
            "string literal",
        );
        refused_with(Dialect::Sqlite, "SELECT 1 -- {{inputs.x}}", "comment");
        refused_with(Dialect::Sqlite, "SELECT 1 /* {{inputs.x}} */", "comment");
    }

    #[test]
    fn identifiers_cannot_be_templated() {
        for sql in [
            "SELECT * FROM {{inputs.t}}",
            "SELECT * FROM a JOIN {{inputs.t}} ON true",
            "INSERT INTO {{inputs.t}} VALUES (1)",
            "SELECT \"{{inputs.c}}\" FROM t",
            "SELECT t.{{inputs.c}} FROM t",
            "SELECT col_{{inputs.c}} FROM t",
            "SELECT {{inputs.c}}_x FROM t",
        ] {
            refused_with(Dialect::Postgres, sql, "identifiers");
        }
        refused_with(
            Dialect::Sqlite,
            "SELECT [{{inputs.c}}] FROM t",
            "identifiers",
        );
        refused_with(
            Dialect::Mysql,
            "SELECT `{{inputs.c}}` FROM t",
            "identifiers",
        );
    }

    #[test]
    fn hand_written_placeholders_and_bad_templates_are_refused() {
        refused_with(Dialect::Postgres, "SELECT $1", "placeholder");
        refused_with(Dialect::Mysql, "SELECT ?", "placeholder");
        refused_with(Dialect::Sqlite, "SELECT :id", "placeholder");
        refused_with(Dialect::Postgres, "SELECT {{env.X}}", "template");
        refused_with(Dialect::Postgres, "SELECT '", "not closed");
        refused_with(Dialect::Postgres, "SELECT {{inputs.x", "without");
    }

    proptest::proptest! {
        #[test]
        fn the_lexer_never_panics(sql in "\\PC{0,80}") {
            for dialect in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
                let _ = compile(dialect, &sql);
            }
        }
    }
}
