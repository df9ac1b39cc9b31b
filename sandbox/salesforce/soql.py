"""SOQL text to a syntax tree: a tokenizer and a recursive-descent parser.

Only syntax lives here; names are resolved against the org's schema by `compiler`. Anything the
parser cannot read is a MALFORMED_QUERY with Salesforce's layout (the offending line, a caret,
"ERROR at Row:r:Column:c" and the reason), never a Python exception: the bot builds SOQL from
user text, and the stand-in must answer malformed input the way Salesforce does.

Grammar (the subset Salesforce documents and the bot needs, plus a little more)::

    query     := SELECT items FROM name [alias] [USING SCOPE name] [WHERE cond]
                 [WITH (SECURITY_ENFORCED | USER_MODE | SYSTEM_MODE)]
                 [GROUP BY paths] [HAVING cond] [ORDER BY orders] [LIMIT n] [OFFSET n]
                 [FOR (VIEW | REFERENCE)]
    item      := path [alias] | func '(' [path] ')' [alias] | '(' subquery ')'
                 | FIELDS '(' ALL | STANDARD | CUSTOM ')'
    cond      := unary (AND unary)* | unary (OR unary)*   -- mixing needs parentheses
    unary     := NOT unary | '(' cond ')' | operand op value
                 | operand [NOT] IN '(' values | query ')' | operand LIKE string
    value     := string | number | TRUE | FALSE | NULL | date | datetime | DATE_LITERAL[:n]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import SalesforceError

KEYWORDS = frozenset(
    {
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "LIKE",
        "INCLUDES",
        "EXCLUDES",
        "GROUP",
        "BY",
        "HAVING",
        "ORDER",
        "ASC",
        "DESC",
        "NULLS",
        "FIRST",
        "LAST",
        "LIMIT",
        "OFFSET",
        "NULL",
        "TRUE",
        "FALSE",
        "WITH",
        "FOR",
        "USING",
        "SCOPE",
        "TYPEOF",
        "WHEN",
        "THEN",
        "ELSE",
        "END",
        "UPDATE",
        "VIEW",
        "REFERENCE",
        "ROLLUP",
        "CUBE",
    }
)
AGGREGATES = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"})

# Date literals: name -> takes ":n".
DATE_LITERALS = {
    "YESTERDAY": False,
    "TODAY": False,
    "TOMORROW": False,
    "LAST_WEEK": False,
    "THIS_WEEK": False,
    "NEXT_WEEK": False,
    "LAST_MONTH": False,
    "THIS_MONTH": False,
    "NEXT_MONTH": False,
    "LAST_90_DAYS": False,
    "NEXT_90_DAYS": False,
    "THIS_QUARTER": False,
    "LAST_QUARTER": False,
    "NEXT_QUARTER": False,
    "THIS_YEAR": False,
    "LAST_YEAR": False,
    "NEXT_YEAR": False,
    "LAST_N_DAYS": True,
    "NEXT_N_DAYS": True,
    "N_DAYS_AGO": True,
    "LAST_N_WEEKS": True,
    "NEXT_N_WEEKS": True,
    "LAST_N_MONTHS": True,
    "NEXT_N_MONTHS": True,
    "LAST_N_QUARTERS": True,
    "NEXT_N_QUARTERS": True,
    "LAST_N_YEARS": True,
    "NEXT_N_YEARS": True,
}

MAX_QUERY_LENGTH = 100_000


# Tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # IDENT STRING NUMBER DATE DATETIME OP ( ) , . : - + EOF
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper()


_WS = re.compile(r"\s+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})(?![A-Za-z0-9_])"
)
_BAD_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T[0-9:.]*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![A-Za-z0-9_:])")
_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_DIGITS = "0123456789"
_OPS = ("!=", "<>", "<=", ">=", "=", "<", ">")


def _error_text(text: str, pos: int, message: str) -> str:
    pos = max(0, min(pos, len(text)))
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    if line_end < 0:
        line_end = len(text)
    row = text.count("\n", 0, pos) + 1
    column = pos - line_start + 1
    line = text[line_start:line_end]
    return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{message}"


def malformed(text: str, pos: int, message: str) -> SalesforceError:
    """A MALFORMED_QUERY error pointing at `pos` in the query text."""
    return SalesforceError(400, "MALFORMED_QUERY", _error_text(text, pos, message))


def tokenize(text: str) -> list[Token]:
    """The token list, ending with EOF; MALFORMED_QUERY on a character SOQL does not use."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        ws = _WS.match(text, i)
        if ws:
            i = ws.end()
            continue
        if ch == "'":
            j = i + 1
            while j < n and text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise malformed(text, i, f"line 1:{i} mismatched character '<EOF>' expecting '''")
            tokens.append(Token("STRING", text[i + 1 : j], i))
            i = j + 1
            continue
        if ch in _DIGITS:
            m = _DATETIME.match(text, i)
            if m:
                tokens.append(Token("DATETIME", m.group(), i))
                i = m.end()
                continue
            bad = _BAD_DATETIME.match(text, i)
            if bad:
                raise malformed(
                    text, i, f"line 1:{i} no viable alternative at character '{bad.group()}'"
                )
            m = _DATE.match(text, i)
            if m:
                tokens.append(Token("DATE", m.group(), i))
                i = m.end()
                continue
        if ch in _DIGITS or (ch == "." and i + 1 < n and text[i + 1] in _DIGITS):
            m = _NUMBER.match(text, i)
            assert m is not None  # the first character is an ASCII digit
            end = m.end()
            if end < n and (text[end].isalpha() or text[end] == "_"):
                raise malformed(text, i, f"unexpected token: '{text[i : end + 1]}'")
            tokens.append(Token("NUMBER", m.group(), i))
            i = end
            continue
        m = _IDENT.match(text, i)
        if m:
            tokens.append(Token("IDENT", m.group(), i))
            i = m.end()
            continue
        for op in _OPS:
            if text.startswith(op, i):
                tokens.append(Token("OP", op, i))
                i += len(op)
                break
        else:
            if ch in "(),.:-+":
                tokens.append(Token(ch, ch, i))
                i += 1
                continue
            raise malformed(text, i, f"line 1:{i} no viable alternative at character '{ch}'")
    tokens.append(Token("EOF", "<EOF>", n))
    return tokens


# Syntax tree -------------------------------------------------------------------------------


@dataclass
class Path:
    """A field path as written: `Name`, `blng__Account__r.Name`, `a.Name` (with alias a)."""

    parts: list[str]
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass
class Func:
    """An aggregate (`COUNT(Id)`, `COUNT()`, `SUM(x)` ...) or FIELDS(ALL)."""

    name: str  # upper case
    arg: Path | None
    pos: int
    raw: str = ""  # FIELDS(...) argument


@dataclass
class SelectItem:
    expr: Path | Func | Query
    alias: str | None = None
    pos: int = 0


@dataclass
class Literal:
    kind: str  # string number boolean null date datetime dateliteral
    value: Any  # raw string content for strings, number text, bool, (name, n) for literals
    pos: int


@dataclass
class Compare:
    lhs: Path | Func
    op: str  # = != < > <= >= LIKE
    value: Literal
    pos: int


@dataclass
class InList:
    lhs: Path | Func
    negated: bool
    values: list[Literal] | Query
    pos: int


@dataclass
class BoolOp:
    op: str  # AND | OR
    items: list[Any]


@dataclass
class Not:
    item: Any


@dataclass
class OrderItem:
    expr: Path | Func
    descending: bool = False
    nulls: str | None = None  # FIRST | LAST


@dataclass
class Query:
    items: list[SelectItem]
    sobject: str
    sobject_pos: int
    alias: str | None = None
    where: Any = None
    group_by: list[Path] = field(default_factory=list)
    having: Any = None
    order_by: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    pos: int = 0
    text: str = ""


# Parser ------------------------------------------------------------------------------------


class Parser:
    """Recursive descent over the token list; every failure is MALFORMED_QUERY."""

    def __init__(self, text: str) -> None:
        if len(text) > MAX_QUERY_LENGTH:
            raise SalesforceError(
                400,
                "QUERY_TOO_COMPLICATED",
                f"Query is too long: {len(text)} characters (maximum {MAX_QUERY_LENGTH})",
            )
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        if token.kind != "EOF":
            self.i += 1
        return token

    def unexpected(self, token: Token | None = None) -> SalesforceError:
        token = token or self.tok
        shown = "<EOF>" if token.kind == "EOF" else token.text
        if token.kind == "STRING":
            shown = f"'{token.text}'"
        return malformed(self.text, token.pos, f"unexpected token: '{shown}'")

    def is_kw(self, *words: str, token: Token | None = None) -> bool:
        token = token or self.tok
        return token.kind == "IDENT" and token.upper in words

    def expect_kw(self, word: str) -> Token:
        if not self.is_kw(word):
            raise self.unexpected()
        return self.advance()

    def expect(self, kind: str) -> Token:
        if self.tok.kind != kind:
            raise self.unexpected()
        return self.advance()

    # grammar
    def parse(self) -> Query:
        query = self.query(top=True)
        if self.tok.kind != "EOF":
            raise self.unexpected()
        return query

    def query(self, top: bool) -> Query:
        start = self.expect_kw("SELECT")
        items = self.select_items(top)
        self.expect_kw("FROM")
        if self.tok.kind != "IDENT" or self.tok.upper in KEYWORDS:
            raise self.unexpected()
        name_tok = self.advance()
        query = Query(items, name_tok.text, name_tok.pos, pos=start.pos, text=self.text)
        if self.tok.kind == "IDENT" and self.tok.upper not in KEYWORDS:
            query.alias = self.advance().text
        if self.is_kw("USING"):
            self.advance()
            self.expect_kw("SCOPE")
            self.expect("IDENT")
        if self.is_kw("WHERE"):
            self.advance()
            query.where = self.condition()
        if self.is_kw("WITH"):
            self.advance()
            if not self.is_kw("SECURITY_ENFORCED", "USER_MODE", "SYSTEM_MODE"):
                raise self.unexpected()
            self.advance()
        if self.is_kw("GROUP"):
            self.advance()
            self.expect_kw("BY")
            if self.is_kw("ROLLUP", "CUBE"):
                raise malformed(
                    self.text, self.tok.pos, f"{self.tok.upper} is not supported by this stand-in"
                )
            query.group_by.append(self.path())
            while self.tok.kind == ",":
                self.advance()
                query.group_by.append(self.path())
        if self.is_kw("HAVING"):
            self.advance()
            query.having = self.condition()
        if self.is_kw("ORDER"):
            self.advance()
            self.expect_kw("BY")
            query.order_by.append(self.order_item())
            while self.tok.kind == ",":
                self.advance()
                query.order_by.append(self.order_item())
        if self.is_kw("LIMIT"):
            self.advance()
            query.limit = self.integer()
        if self.is_kw("OFFSET"):
            self.advance()
            query.offset = self.integer()
        if self.is_kw("FOR"):
            self.advance()
            if not self.is_kw("VIEW", "REFERENCE"):
                raise self.unexpected()
            self.advance()
        return query

    def integer(self) -> int:
        token = self.tok
        if token.kind != "NUMBER" or not token.text.isdigit():
            raise self.unexpected()
        self.advance()
        return int(token.text)

    def select_items(self, top: bool) -> list[SelectItem]:
        items = [self.select_item(top)]
        while self.tok.kind == ",":
            self.advance()
            items.append(self.select_item(top))
        return items

    def select_item(self, top: bool) -> SelectItem:
        token = self.tok
        if token.kind == "(":
            if not top:
                raise self.unexpected()
            self.advance()
            if not self.is_kw("SELECT"):
                raise self.unexpected()
            sub = self.query(top=False)
            self.expect(")")
            return SelectItem(sub, None, token.pos)
        if self.is_kw("TYPEOF"):
            raise malformed(self.text, token.pos, "TYPEOF is not supported by this stand-in")
        if token.kind != "IDENT" or (token.upper in KEYWORDS and token.upper != "FIRST"):
            raise self.unexpected()
        expr: Path | Func
        expr = self.function() if self.peek().kind == "(" else self.path()
        alias = None
        if self.tok.kind == "IDENT" and self.tok.upper not in KEYWORDS:
            alias = self.advance().text
        return SelectItem(expr, alias, token.pos)

    def function(self) -> Func:
        name_tok = self.advance()
        name = name_tok.upper
        self.expect("(")
        if name == "FIELDS":
            if not self.is_kw("ALL", "STANDARD", "CUSTOM"):
                raise self.unexpected()
            raw = self.advance().upper
            self.expect(")")
            return Func(name, None, name_tok.pos, raw)
        if name not in AGGREGATES:
            raise malformed(
                self.text, name_tok.pos, f"Unknown or unsupported function: {name_tok.text}"
            )
        arg = None
        if self.tok.kind != ")":
            arg = self.path()
        elif name != "COUNT":
            raise self.unexpected()
        self.expect(")")
        return Func(name, arg, name_tok.pos)

    def path(self) -> Path:
        token = self.tok
        if token.kind != "IDENT" or token.upper in KEYWORDS - {"FIRST", "LAST"}:
            raise self.unexpected()
        parts = [self.advance().text]
        while self.tok.kind == ".":
            self.advance()
            if self.tok.kind != "IDENT":
                raise self.unexpected()
            parts.append(self.advance().text)
        return Path(parts, token.pos)

    def order_item(self) -> OrderItem:
        expr: Path | Func
        if self.tok.kind == "IDENT" and self.peek().kind == "(":
            expr = self.function()
        else:
            expr = self.path()
        item = OrderItem(expr)
        if self.is_kw("ASC", "DESC"):
            item.descending = self.advance().upper == "DESC"
        if self.is_kw("NULLS"):
            self.advance()
            if not self.is_kw("FIRST", "LAST"):
                raise self.unexpected()
            item.nulls = self.advance().upper
        return item

    # conditions
    def condition(self) -> Any:
        first = self.unary()
        if not self.is_kw("AND", "OR"):
            return first
        op = self.tok.upper
        items = [first]
        while self.is_kw("AND", "OR"):
            if self.tok.upper != op:
                raise self.unexpected()  # Salesforce wants parentheses to mix AND and OR
            self.advance()
            items.append(self.unary())
        return BoolOp(op, items)

    def unary(self) -> Any:
        if self.is_kw("NOT"):
            self.advance()
            return Not(self.unary())
        if self.tok.kind == "(":
            self.advance()
            inner = self.condition()
            self.expect(")")
            return inner
        return self.predicate()

    def predicate(self) -> Any:
        token = self.tok
        lhs: Path | Func
        lhs = self.function() if token.kind == "IDENT" and self.peek().kind == "(" else self.path()
        op_tok = self.tok
        if op_tok.kind == "OP":
            self.advance()
            op = "!=" if op_tok.text == "<>" else op_tok.text
            return Compare(lhs, op, self.value(), op_tok.pos)
        if self.is_kw("LIKE"):
            self.advance()
            value = self.value()
            return Compare(lhs, "LIKE", value, op_tok.pos)
        negated = False
        if self.is_kw("NOT"):
            self.advance()
            negated = True
            if not self.is_kw("IN"):
                raise self.unexpected()
        if self.is_kw("IN"):
            self.advance()
            self.expect("(")
            values: list[Literal] | Query
            if self.is_kw("SELECT"):
                values = self.query(top=False)
            else:
                values = [self.value()]
                while self.tok.kind == ",":
                    self.advance()
                    values.append(self.value())
            self.expect(")")
            return InList(lhs, negated, values, op_tok.pos)
        if self.is_kw("INCLUDES", "EXCLUDES"):
            raise malformed(
                self.text,
                op_tok.pos,
                f"{op_tok.upper} is only valid on multi-select picklist fields",
            )
        raise self.unexpected()

    def value(self) -> Literal:
        token = self.tok
        if token.kind == "STRING":
            self.advance()
            return Literal("string", token.text, token.pos)
        if token.kind in ("-", "+") and self.peek().kind == "NUMBER":
            self.advance()
            number = self.advance()
            sign = "-" if token.kind == "-" else ""
            return Literal("number", sign + number.text, token.pos)
        if token.kind == "NUMBER":
            self.advance()
            return Literal("number", token.text, token.pos)
        if token.kind == "DATE":
            self.advance()
            return Literal("date", token.text, token.pos)
        if token.kind == "DATETIME":
            self.advance()
            return Literal("datetime", token.text, token.pos)
        if token.kind == "IDENT":
            word = token.upper
            if word in ("TRUE", "FALSE"):
                self.advance()
                return Literal("boolean", word == "TRUE", token.pos)
            if word == "NULL":
                self.advance()
                return Literal("null", None, token.pos)
            if word in DATE_LITERALS:
                self.advance()
                n = None
                if DATE_LITERALS[word]:
                    if self.tok.kind != ":":
                        raise self.unexpected()
                    self.advance()
                    n = self.integer()
                return Literal("dateliteral", (word, n), token.pos)
        if token.kind == ":":
            raise malformed(self.text, token.pos, "Bind variables are only available in Apex code")
        raise self.unexpected()


def parse(text: str) -> Query:
    """Parse a SOQL statement (MALFORMED_QUERY on anything that is not one)."""
    if not isinstance(text, str) or not text.strip():
        raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
    return Parser(text).parse()


# String literals ---------------------------------------------------------------------------

_SIMPLE_ESCAPES = {
    "n": "\n",
    "N": "\n",
    "r": "\r",
    "R": "\r",
    "t": "\t",
    "T": "\t",
    "b": "\b",
    "B": "\b",
    "f": "\f",
    "F": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
}


def decode_string(text: str, raw: str, pos: int, *, like: bool) -> str:
    """A string literal's value, with Salesforce's escapes.

    With `like`, the result is a SQL LIKE pattern for `ESCAPE '\\'`: `%` and `_` stay
    wildcards, `\\%` and `\\_` become literal characters, and a literal backslash is doubled.
    Outside LIKE, `\\%` and `\\_` are errors, as in Salesforce.
    """
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = raw[i + 1] if i + 1 < len(raw) else ""
        if nxt in _SIMPLE_ESCAPES:
            decoded = _SIMPLE_ESCAPES[nxt]
            out.append("\\\\" if like and decoded == "\\" else decoded)
            i += 2
            continue
        if nxt in ("%", "_") and like:
            out.append("\\" + nxt)
            i += 2
            continue
        if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", raw[i + 2 : i + 6] or ""):
            decoded = chr(int(raw[i + 2 : i + 6], 16))
            out.append("\\" + decoded if like and decoded in "%_\\" else decoded)
            i += 6
            continue
        raise malformed(
            text,
            pos,
            f"Invalid string literal '{raw}'. Illegal character sequence '\\{nxt}' in string "
            "literal.",
        )
    return "".join(out)
