//! The little of a statement's structure that SQLite does not report: which subqueries and
//! FROM items a statement has, and the equalities its WHERE and ON clauses are made of. SQLite
//! already accepted the statement (it ran); this only reads its shape, and whenever the shape is
//! beyond what it reads (an OR between conditions, a NATURAL join, a parenthesised join), it says
//! so instead of guessing, so that a caller can stay silent rather than raise a false alarm.
//! Names are resolved against a real schema by the caller (`keys`), and SQLite's authorizer
//! confirms what a statement reads.

use std::collections::BTreeMap;

/// A token: its kind and its byte offset in the statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub at: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A name or keyword as written; `quoted` names are never keywords.
    Word {
        text: String,
        quoted: bool,
    },
    /// A string literal, without its quotes.
    Str(String),
    Num(String),
    /// `?`, `?1`, `:name`, `@name`, `$name`
    Param,
    Op(String),
    Open,
    Close,
    Comma,
    Dot,
    Semi,
}

impl Tok {
    /// An unquoted word equal to `kw` (ASCII case-insensitive).
    pub fn is(&self, kw: &str) -> bool {
        matches!(self, Tok::Word { text, quoted: false } if text.eq_ignore_ascii_case(kw))
    }

    pub fn word(&self) -> Option<&str> {
        match self {
            Tok::Word { text, .. } => Some(text),
            _ => None,
        }
    }
}

/// Split SQL into tokens (comments and whitespace dropped).
pub fn lex(sql: &str) -> Vec<Token> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let tok = if c.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if b[i..].starts_with(b"--") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        } else if b[i..].starts_with(b"/*") {
            i = sql[i + 2..].find("*/").map_or(b.len(), |k| i + 2 + k + 2);
            continue;
        } else if c == b'\'' || c == b'"' || c == b'`' || c == b'[' {
            let close = if c == b'[' { b']' } else { c };
            let mut j = i + 1;
            let mut text = Vec::new();
            while j < b.len() {
                if b[j] == close {
                    if close != b']' && b.get(j + 1) == Some(&close) {
                        text.push(close);
                        j += 2;
                        continue;
                    }
                    break;
                }
                text.push(b[j]);
                j += 1;
            }
            i = (j + 1).min(b.len());
            let text = String::from_utf8_lossy(&text).into_owned();
            if c == b'\'' {
                Tok::Str(text)
            } else {
                Tok::Word { text, quoted: true }
            }
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let mut j = i;
            if b[i..].starts_with(b"0x") || b[i..].starts_with(b"0X") {
                j += 2;
                while j < b.len() && b[j].is_ascii_hexdigit() {
                    j += 1;
                }
            } else {
                while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.' || b[j] == b'_') {
                    j += 1;
                }
                if j < b.len() && (b[j] == b'e' || b[j] == b'E') {
                    j += 1;
                    if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                        j += 1;
                    }
                    while j < b.len() && b[j].is_ascii_digit() {
                        j += 1;
                    }
                }
            }
            i = j;
            Tok::Num(sql[start..j].to_string())
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            let mut j = i;
            while j < b.len()
                && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'$' || b[j] >= 0x80)
            {
                j += 1;
            }
            i = j;
            // a blob literal: X'…'
            if j - start == 1 && (c == b'x' || c == b'X') && b.get(j) == Some(&b'\'') {
                let end = sql[j + 1..].find('\'').map_or(b.len(), |k| j + 1 + k + 1);
                i = end;
                Tok::Str(sql[start..end].to_string())
            } else {
                Tok::Word {
                    text: sql[start..j].to_string(),
                    quoted: false,
                }
            }
        } else if matches!(c, b'?' | b':' | b'@' | b'$') {
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            i = j;
            Tok::Param
        } else {
            i += 1;
            match c {
                b'(' => Tok::Open,
                b')' => Tok::Close,
                b',' => Tok::Comma,
                b'.' => Tok::Dot,
                b';' => Tok::Semi,
                _ => {
                    // two ASCII bytes, or one (a byte slice never splits a character here)
                    let two = b
                        .get(start..start + 2)
                        .and_then(|t| std::str::from_utf8(t).ok())
                        .unwrap_or("");
                    let op =
                        if ["||", "<<", ">>", "<=", ">=", "==", "!=", "<>", "->"].contains(&two) {
                            i += 1;
                            if two == "->" && b.get(i) == Some(&b'>') {
                                i += 1;
                                "->>".to_string()
                            } else {
                                two.to_string()
                            }
                        } else {
                            (c as char).to_string()
                        };
                    Tok::Op(op)
                }
            }
        };
        out.push(Token { tok, at: start });
    }
    out
}

/// Tokens with parentheses matched: a group holds what is between them.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Tok(Token),
    Group { at: usize, items: Vec<Node> },
}

impl Node {
    pub fn tok(&self) -> Option<&Tok> {
        match self {
            Node::Tok(t) => Some(&t.tok),
            Node::Group { .. } => None,
        }
    }

    pub fn is(&self, kw: &str) -> bool {
        self.tok().is_some_and(|t| t.is(kw))
    }

    pub fn at(&self) -> usize {
        match self {
            Node::Tok(t) => t.at,
            Node::Group { at, .. } => *at,
        }
    }

    /// The items of a group.
    pub fn group(&self) -> Option<&[Node]> {
        match self {
            Node::Group { items, .. } => Some(items),
            Node::Tok(_) => None,
        }
    }

    /// A group that holds a query: `(SELECT …)`, `(WITH …)`, `(VALUES …)`.
    pub fn query(&self) -> Option<&[Node]> {
        self.group().filter(|items| {
            items
                .first()
                .is_some_and(|n| n.is("SELECT") || n.is("WITH") || n.is("VALUES"))
        })
    }
}

/// Match parentheses (an unmatched `)` is dropped, an unclosed `(` closes at the end).
pub fn tree(tokens: Vec<Token>) -> Vec<Node> {
    let mut stack: Vec<(usize, Vec<Node>)> = vec![(0, Vec::new())];
    for t in tokens {
        match t.tok {
            Tok::Open => stack.push((t.at, Vec::new())),
            Tok::Close if stack.len() > 1 => {
                let (at, items) = stack.pop().expect("a group");
                stack
                    .last_mut()
                    .expect("the top")
                    .1
                    .push(Node::Group { at, items });
            }
            Tok::Close => {}
            _ => stack.last_mut().expect("the top").1.push(Node::Tok(t)),
        }
    }
    while stack.len() > 1 {
        let (at, items) = stack.pop().expect("a group");
        stack
            .last_mut()
            .expect("the top")
            .1
            .push(Node::Group { at, items });
    }
    stack.pop().map(|(_, n)| n).unwrap_or_default()
}

/// Split nodes at top-level commas.
pub fn split_commas(nodes: &[Node]) -> Vec<&[Node]> {
    let mut out = Vec::new();
    let mut from = 0;
    for (i, n) in nodes.iter().enumerate() {
        if matches!(n.tok(), Some(Tok::Comma)) {
            out.push(&nodes[from..i]);
            from = i + 1;
        }
    }
    out.push(&nodes[from..]);
    out
}

/// A value in a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// `[qualifier.]name`
    Col {
        qual: Option<String>,
        name: String,
    },
    /// A literal, as written (a string without quotes), or a parameter.
    Literal(String),
    /// One value nothing here can see into: a scalar subquery (its scope), a parameter.
    Value(Option<usize>),
    /// `(a, b)`
    Row(Vec<Operand>),
    Other,
}

/// One condition of a WHERE or ON clause, once split at its top-level ANDs.
#[derive(Debug, Clone, PartialEq)]
pub enum Conjunct {
    /// `a = b`, `a == b`, `a IS b`
    Eq(Operand, Operand, usize),
    /// `a [NOT] IN (SELECT …)`: the subquery's scopes (one per SELECT of a compound).
    InQuery {
        lhs: Operand,
        sub: Vec<usize>,
        at: usize,
    },
    /// `a [NOT] IN (1, 2)`: the values as written.
    InList {
        lhs: Operand,
        values: Vec<String>,
        negated: bool,
    },
    Other,
}

/// Where a subquery sits in the statement around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// The statement itself.
    Top,
    /// A WHERE or ON clause.
    Filter,
    /// A FROM item (a derived table).
    From,
    /// A WITH clause.
    With,
    /// What a statement writes or returns: an UPDATE's SET, a SELECT list, ORDER BY, …
    Value,
}

/// A FROM item (the target of an UPDATE or DELETE included).
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// The table or CTE named (None: a derived table).
    pub table: Option<String>,
    /// The name the statement uses for it: its alias, else the table's name.
    pub alias: String,
    /// The scopes of a derived table (one per SELECT of a compound).
    pub derived: Vec<usize>,
}

/// One item of a SELECT list.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Its alias, else the column it names; None for an unnamed expression.
    pub name: Option<String>,
    pub value: Operand,
    /// `*` or `t.*`
    pub star: bool,
}

/// A SELECT core (or the statement around its subqueries): what it reads from and what its
/// conditions say.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    pub parent: Option<usize>,
    pub region: Region,
    pub sources: Vec<Source>,
    pub items: Vec<Item>,
    pub conjuncts: Vec<Conjunct>,
    /// Its conditions are beyond what is read here (an OR at their top, a NATURAL join, …).
    pub opaque: bool,
    pub at: usize,
}

/// What kind of statement, by its first word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Select,
    Insert,
    Update,
    Delete,
    /// `CREATE TABLE … AS SELECT`
    CreateAs,
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub kind: Kind,
    pub scopes: Vec<Scope>,
    /// Common table expressions by lowercased name: their scopes.
    pub ctes: BTreeMap<String, Vec<usize>>,
}

const JOIN_WORDS: [&str; 8] = [
    "JOIN", "LEFT", "RIGHT", "FULL", "INNER", "CROSS", "OUTER", "NATURAL",
];

/// Words that end a FROM item's alias position.
const NOT_ALIAS: [&str; 22] = [
    "WHERE",
    "GROUP",
    "HAVING",
    "WINDOW",
    "ORDER",
    "LIMIT",
    "RETURNING",
    "SET",
    "ON",
    "USING",
    "JOIN",
    "LEFT",
    "RIGHT",
    "FULL",
    "INNER",
    "CROSS",
    "OUTER",
    "NATURAL",
    "INDEXED",
    "NOT",
    "UNION",
    "EXCEPT",
];

impl Shape {
    /// Read the shape of one statement.
    pub fn of(sql: &str) -> Shape {
        let nodes = tree(lex(sql));
        let mut s = Shape {
            kind: Kind::Other,
            scopes: Vec::new(),
            ctes: BTreeMap::new(),
        };
        let mut rest: &[Node] = &nodes;
        while rest
            .last()
            .is_some_and(|n| matches!(n.tok(), Some(Tok::Semi)))
        {
            rest = &rest[..rest.len() - 1];
        }
        if rest.first().is_some_and(|n| n.is("WITH")) {
            rest = s.with(rest);
        }
        let first = rest.first();
        if first.is_some_and(|n| n.is("SELECT") || n.is("VALUES")) {
            s.kind = Kind::Select;
            s.select(rest, None, Region::Top);
        } else if first.is_some_and(|n| n.is("UPDATE")) {
            s.kind = Kind::Update;
            s.update(rest);
        } else if first.is_some_and(|n| n.is("DELETE")) {
            s.kind = Kind::Delete;
            s.delete(rest);
        } else if first.is_some_and(|n| n.is("INSERT") || n.is("REPLACE")) {
            s.kind = Kind::Insert;
            s.insert(rest);
        } else if first.is_some_and(|n| n.is("CREATE"))
            && let Some(i) = rest.iter().position(|n| n.is("AS")).filter(|&i| {
                rest.get(i + 1)
                    .is_some_and(|n| n.is("SELECT") || n.is("WITH"))
            })
            && rest.iter().take(i).any(|n| n.is("TABLE"))
        {
            s.kind = Kind::CreateAs;
            let mut q = &rest[i + 1..];
            if q.first().is_some_and(|n| n.is("WITH")) {
                q = s.with(q);
            }
            s.select(q, None, Region::Top);
        }
        s
    }

    fn push(&mut self, parent: Option<usize>, region: Region, at: usize) -> usize {
        self.scopes.push(Scope {
            parent,
            region,
            sources: Vec::new(),
            items: Vec::new(),
            conjuncts: Vec::new(),
            opaque: false,
            at,
        });
        self.scopes.len() - 1
    }

    /// `WITH [RECURSIVE] name [(cols)] AS [NOT] [MATERIALIZED] (query), …`: the rest.
    fn with<'n>(&mut self, nodes: &'n [Node]) -> &'n [Node] {
        let mut i = 1;
        if nodes.get(i).is_some_and(|n| n.is("RECURSIVE")) {
            i += 1;
        }
        loop {
            let Some(name) = nodes.get(i).and_then(|n| n.tok()).and_then(Tok::word) else {
                return &nodes[nodes.len()..];
            };
            let name = name.to_ascii_lowercase();
            i += 1;
            if nodes.get(i).and_then(Node::group).is_some() {
                i += 1;
            }
            while nodes
                .get(i)
                .is_some_and(|n| n.is("AS") || n.is("NOT") || n.is("MATERIALIZED"))
            {
                i += 1;
            }
            if let Some(q) = nodes.get(i).and_then(Node::query) {
                let cores = self.query(q, None, Region::With);
                self.ctes.insert(name, cores);
            }
            i += 1;
            if nodes
                .get(i)
                .is_some_and(|n| matches!(n.tok(), Some(Tok::Comma)))
            {
                i += 1;
                continue;
            }
            return &nodes[i.min(nodes.len())..];
        }
    }

    /// A query in a group (it may begin with WITH): the scopes of its SELECT cores.
    fn query(&mut self, nodes: &[Node], parent: Option<usize>, region: Region) -> Vec<usize> {
        let mut rest = nodes;
        if rest.first().is_some_and(|n| n.is("WITH")) {
            // a nested WITH: its names are visible statement-wide here (good enough to resolve)
            rest = self.with(rest);
        }
        self.select(rest, parent, region)
    }

    /// A SELECT, possibly compound: one scope per core.
    fn select(&mut self, nodes: &[Node], parent: Option<usize>, region: Region) -> Vec<usize> {
        let mut cores = Vec::new();
        let mut from = 0;
        for (i, n) in nodes.iter().enumerate() {
            if n.is("UNION") || n.is("INTERSECT") || n.is("EXCEPT") {
                cores.push(&nodes[from..i]);
                from = i + 1;
                if nodes.get(from).is_some_and(|n| n.is("ALL")) {
                    from += 1;
                }
            }
        }
        cores.push(&nodes[from..]);
        cores
            .into_iter()
            .map(|core| self.core(core, parent, region))
            .collect()
    }

    /// The clauses of a statement part: clause keyword position → its nodes.
    fn clauses<'n>(nodes: &'n [Node], words: &[&str]) -> Vec<(String, &'n [Node])> {
        let mut out: Vec<(String, &'n [Node])> = Vec::new();
        let mut start = 0;
        let mut name = String::new();
        for (i, n) in nodes.iter().enumerate() {
            let Some(w) = words.iter().find(|w| n.is(w)) else {
                continue;
            };
            // ORDER BY and GROUP BY inside a window definition are in a group; here they are
            // clauses. `ON` only starts a clause where the caller asks for it.
            out.push((name, &nodes[start..i]));
            name = w.to_string();
            start = i + 1;
            if matches!(*w, "GROUP" | "ORDER") && nodes.get(start).is_some_and(|n| n.is("BY")) {
                start += 1;
            }
        }
        out.push((name, &nodes[start..]));
        out
    }

    fn core(&mut self, nodes: &[Node], parent: Option<usize>, region: Region) -> usize {
        let at = nodes.first().map_or(0, Node::at);
        let me = self.push(parent, region, at);
        if nodes.first().is_some_and(|n| n.is("VALUES")) {
            self.subqueries(&nodes[1..], me, Region::Value);
            return me;
        }
        let words = [
            "FROM", "WHERE", "GROUP", "HAVING", "WINDOW", "ORDER", "LIMIT",
        ];
        for (clause, part) in Self::clauses(&nodes[1.min(nodes.len())..], &words) {
            match clause.as_str() {
                "" => self.items(part, me),
                "FROM" => self.from(part, me),
                "WHERE" => self.conditions(part, me),
                _ => self.subqueries(part, me, Region::Value),
            }
        }
        me
    }

    fn items(&mut self, nodes: &[Node], me: usize) {
        let mut nodes = nodes;
        while nodes
            .first()
            .is_some_and(|n| n.is("DISTINCT") || n.is("ALL"))
        {
            nodes = &nodes[1..];
        }
        for item in split_commas(nodes) {
            self.subqueries(item, me, Region::Value);
            let star = item
                .last()
                .is_some_and(|n| n.tok() == Some(&Tok::Op("*".into())));
            // `expr [AS] alias`
            let (expr, alias) = match item {
                [e @ .., a, n] if a.is("AS") => (e, n.tok().and_then(Tok::word)),
                [e @ .., n]
                    if !e.is_empty()
                        && n.tok().is_some_and(|t| match t {
                            Tok::Word { quoted: true, .. } => true,
                            Tok::Word { .. } => !NOT_AN_ALIAS.iter().any(|k| t.is(k)),
                            _ => false,
                        })
                        && !matches!(e.last().and_then(Node::tok), Some(Tok::Dot)) =>
                {
                    (e, n.tok().and_then(Tok::word))
                }
                _ => (item, None),
            };
            let value = self.operand(expr, me);
            let name = alias.map(str::to_string).or(match &value {
                Operand::Col { name, .. } => Some(name.clone()),
                _ => None,
            });
            self.scopes[me].items.push(Item { name, value, star });
        }
    }

    /// FROM items: `a [AS] x, b JOIN c ON … USING (…)`.
    fn from(&mut self, nodes: &[Node], me: usize) {
        let mut i = 0;
        while i < nodes.len() {
            let n = &nodes[i];
            if matches!(n.tok(), Some(Tok::Comma)) {
                i += 1;
                continue;
            }
            if n.is("NATURAL") {
                self.scopes[me].opaque = true;
            }
            if JOIN_WORDS.iter().any(|w| n.is(w)) {
                i += 1;
                continue;
            }
            if n.is("ON") {
                let end = (i + 1..nodes.len())
                    .find(|&j| {
                        let m = &nodes[j];
                        matches!(m.tok(), Some(Tok::Comma)) || JOIN_WORDS.iter().any(|w| m.is(w))
                    })
                    .unwrap_or(nodes.len());
                self.conditions(&nodes[i + 1..end], me);
                i = end;
                continue;
            }
            if n.is("USING") {
                let cols: Vec<String> = nodes
                    .get(i + 1)
                    .and_then(Node::group)
                    .map(|g| {
                        g.iter()
                            .filter_map(|x| x.tok().and_then(Tok::word).map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let srcs = &self.scopes[me].sources;
                if srcs.len() >= 2 {
                    let (a, b) = (
                        srcs[srcs.len() - 2].alias.clone(),
                        srcs[srcs.len() - 1].alias.clone(),
                    );
                    for c in cols {
                        self.scopes[me].conjuncts.push(Conjunct::Eq(
                            Operand::Col {
                                qual: Some(a.clone()),
                                name: c.clone(),
                            },
                            Operand::Col {
                                qual: Some(b.clone()),
                                name: c,
                            },
                            n.at(),
                        ));
                    }
                }
                i += 2;
                continue;
            }
            // one item: a table (maybe schema-qualified, maybe a table-valued function) or a
            // derived table, then its alias
            let mut source = Source {
                table: None,
                alias: String::new(),
                derived: Vec::new(),
            };
            if let Some(q) = n.query() {
                source.derived = self.query(q, Some(me), Region::From);
                i += 1;
            } else if n.group().is_some() {
                // a parenthesised join: beyond this reading
                self.scopes[me].opaque = true;
                self.subqueries(std::slice::from_ref(n), me, Region::From);
                i += 1;
            } else if let Some(w) = n.tok().and_then(Tok::word) {
                let mut name = w.to_string();
                i += 1;
                if nodes.get(i).is_some_and(|m| m.tok() == Some(&Tok::Dot))
                    && let Some(t) = nodes.get(i + 1).and_then(|m| m.tok()).and_then(Tok::word)
                {
                    name = t.to_string();
                    i += 2;
                }
                if let Some(args) = nodes.get(i).and_then(Node::group) {
                    // a table-valued function: its arguments may hold subqueries
                    self.subqueries(args, me, Region::Value);
                    i += 1;
                    self.scopes[me].opaque = true;
                }
                source.alias = name.clone();
                source.table = Some(name);
            } else {
                i += 1;
                continue;
            }
            if nodes.get(i).is_some_and(|m| m.is("AS")) {
                i += 1;
            }
            if let Some(Tok::Word { text, quoted }) = nodes.get(i).and_then(Node::tok)
                && (*quoted || !NOT_ALIAS.iter().any(|w| text.eq_ignore_ascii_case(w)))
            {
                source.alias = text.clone();
                i += 1;
            }
            if nodes.get(i).is_some_and(|m| m.is("INDEXED")) {
                i += 3;
            } else if nodes.get(i).is_some_and(|m| m.is("NOT"))
                && nodes.get(i + 1).is_some_and(|m| m.is("INDEXED"))
            {
                i += 2;
            }
            self.scopes[me].sources.push(source);
        }
    }

    /// `UPDATE [OR x] t [[AS] a] [INDEXED BY i | NOT INDEXED] SET … [FROM …] [WHERE …] …`
    fn update(&mut self, nodes: &[Node]) {
        let me = self.push(None, Region::Top, 0);
        let mut i = 1;
        if nodes.get(i).is_some_and(|n| n.is("OR")) {
            i += 2;
        }
        let set = nodes
            .iter()
            .position(|n| n.is("SET"))
            .unwrap_or(nodes.len());
        self.from(&nodes[i.min(set)..set], me);
        let rest = &nodes[(set + 1).min(nodes.len())..];
        for (clause, part) in Self::clauses(rest, &["FROM", "WHERE", "RETURNING", "ORDER", "LIMIT"])
        {
            match clause.as_str() {
                "FROM" => self.from(part, me),
                "WHERE" => self.conditions(part, me),
                _ => self.subqueries(part, me, Region::Value),
            }
        }
    }

    /// `DELETE FROM t [[AS] a] [INDEXED BY i] [WHERE …] …`
    fn delete(&mut self, nodes: &[Node]) {
        let me = self.push(None, Region::Top, 0);
        let rest = &nodes[2.min(nodes.len())..];
        for (clause, part) in Self::clauses(rest, &["WHERE", "RETURNING", "ORDER", "LIMIT"]) {
            match clause.as_str() {
                "" => self.from(part, me),
                "WHERE" => self.conditions(part, me),
                _ => self.subqueries(part, me, Region::Value),
            }
        }
    }

    /// `INSERT [OR x] INTO t [AS a] [(cols)] SELECT … | VALUES … [ON CONFLICT …]`
    fn insert(&mut self, nodes: &[Node]) {
        let body = nodes
            .iter()
            .position(|n| n.is("SELECT") || n.is("VALUES") || n.is("WITH"))
            .unwrap_or(nodes.len());
        let end = (body..nodes.len())
            .find(|&i| nodes[i].is("ON") && nodes.get(i + 1).is_some_and(|n| n.is("CONFLICT")))
            .unwrap_or(nodes.len());
        let mut q = &nodes[body..end];
        if q.first().is_some_and(|n| n.is("WITH")) {
            q = self.with(q);
        }
        if !q.is_empty() {
            self.select(q, None, Region::Top);
        }
    }

    /// Subqueries anywhere in `nodes` (not a condition of this scope).
    fn subqueries(&mut self, nodes: &[Node], me: usize, region: Region) {
        for n in nodes {
            if let Some(q) = n.query() {
                self.query(q, Some(me), region);
            } else if let Some(g) = n.group() {
                self.subqueries(g, me, region);
            }
        }
    }

    /// A WHERE or ON clause: split at its top-level ANDs into conjuncts of `me`.
    fn conditions(&mut self, nodes: &[Node], me: usize) {
        let mut parts: Vec<&[Node]> = Vec::new();
        let mut from = 0;
        let mut between = false;
        let mut case = 0usize;
        for (i, n) in nodes.iter().enumerate() {
            if n.is("CASE") {
                case += 1;
            } else if n.is("END") && case > 0 {
                case -= 1;
            } else if case > 0 {
                continue;
            } else if n.is("BETWEEN") {
                between = true;
            } else if n.is("AND") {
                if between {
                    between = false;
                } else {
                    parts.push(&nodes[from..i]);
                    from = i + 1;
                }
            }
        }
        parts.push(&nodes[from..]);
        if top_level_or(nodes) {
            self.scopes[me].opaque = true;
            self.subqueries(nodes, me, Region::Filter);
            // what sits under an OR pins nothing, but its subqueries still have shapes
            return;
        }
        for part in parts {
            let c = self.conjunct(part, me);
            self.scopes[me].conjuncts.push(c);
        }
    }

    fn conjunct(&mut self, nodes: &[Node], me: usize) -> Conjunct {
        // `(a AND b)`: the same conditions; `(a OR b)` pins nothing, but spoils nothing else
        if let [g] = nodes
            && let Some(items) = g.group()
            && g.query().is_none()
            && split_commas(items).len() == 1
        {
            if top_level_or(items) {
                self.subqueries(items, me, Region::Filter);
            } else {
                self.conditions(items, me);
            }
            return Conjunct::Other;
        }
        if nodes.first().is_some_and(|n| n.is("NOT") || n.is("EXISTS")) {
            self.subqueries(nodes, me, Region::Filter);
            return Conjunct::Other;
        }
        let eq = nodes
            .iter()
            .position(|n| matches!(n.tok(), Some(Tok::Op(o)) if o == "=" || o == "=="));
        let is = nodes.iter().position(|n| n.is("IS"));
        let in_at = nodes.iter().position(|n| n.is("IN"));
        if let Some(k) = in_at {
            let negated = k > 0 && nodes[k - 1].is("NOT");
            let lhs_end = if negated { k - 1 } else { k };
            let lhs = self.operand(&nodes[..lhs_end], me);
            let at = nodes[k].at();
            return match nodes.get(k + 1) {
                Some(g) if g.query().is_some() => {
                    let sub = self.query(g.query().unwrap_or_default(), Some(me), Region::Filter);
                    self.subqueries(&nodes[k + 2..], me, Region::Filter);
                    Conjunct::InQuery { lhs, sub, at }
                }
                Some(g) if g.group().is_some() => {
                    let items = g.group().unwrap_or_default();
                    let values: Vec<String> = split_commas(items)
                        .into_iter()
                        .filter_map(|v| match self.operand(v, me) {
                            Operand::Literal(l) => Some(l),
                            _ => None,
                        })
                        .collect();
                    if values.len() != split_commas(items).len() {
                        self.subqueries(items, me, Region::Filter);
                        return Conjunct::Other;
                    }
                    Conjunct::InList {
                        lhs,
                        values,
                        negated,
                    }
                }
                _ => Conjunct::Other,
            };
        }
        let split = match (eq, is) {
            (Some(e), _) => Some((e, 1)),
            // `a IS b`, but not `a IS NOT b`
            (None, Some(k)) if !nodes.get(k + 1).is_some_and(|n| n.is("NOT")) => Some((k, 1)),
            _ => None,
        };
        let Some((k, w)) = split else {
            self.subqueries(nodes, me, Region::Filter);
            return Conjunct::Other;
        };
        let at = nodes[k].at();
        let a = self.operand(&nodes[..k], me);
        let b = self.operand(&nodes[k + w..], me);
        Conjunct::Eq(a, b, at)
    }

    /// An operand of a condition, its subqueries given scopes under `me`.
    fn operand(&mut self, nodes: &[Node], me: usize) -> Operand {
        let word = |n: &Node| match n.tok() {
            Some(Tok::Word { text, quoted }) => Some((text.clone(), *quoted)),
            _ => None,
        };
        match nodes {
            [n] => {
                if let Some(q) = n.query() {
                    let sub = self.query(q, Some(me), Region::Filter);
                    return Operand::Value(sub.first().copied());
                }
                if let Some(items) = n.group() {
                    let parts = split_commas(items);
                    if parts.len() == 1 {
                        return self.operand(items, me);
                    }
                    return Operand::Row(parts.into_iter().map(|p| self.operand(p, me)).collect());
                }
                match n.tok() {
                    Some(Tok::Num(v)) => Operand::Literal(canonical(v)),
                    Some(Tok::Str(v)) => Operand::Literal(v.clone()),
                    Some(Tok::Param) => Operand::Value(None),
                    Some(t) if t.is("NULL") || t.is("TRUE") || t.is("FALSE") => {
                        Operand::Value(None)
                    }
                    Some(t @ Tok::Word { quoted: false, .. })
                        if KEYWORDS.iter().any(|k| t.is(k)) =>
                    {
                        Operand::Other
                    }
                    _ => match word(n) {
                        Some((name, _)) => Operand::Col { qual: None, name },
                        None => Operand::Other,
                    },
                }
            }
            [sign, n]
                if matches!(sign.tok(), Some(Tok::Op(o)) if o == "-")
                    && matches!(n.tok(), Some(Tok::Num(_))) =>
            {
                Operand::Literal(canonical(&format!(
                    "-{}",
                    n.tok().and_then(num).unwrap_or_default()
                )))
            }
            [q, dot, c] if dot.tok() == Some(&Tok::Dot) => match (word(q), word(c)) {
                (Some((q, _)), Some((c, _))) => Operand::Col {
                    qual: Some(q),
                    name: c,
                },
                _ => Operand::Other,
            },
            [_, d1, q, d2, c] if d1.tok() == Some(&Tok::Dot) && d2.tok() == Some(&Tok::Dot) => {
                match (word(q), word(c)) {
                    (Some((q, _)), Some((c, _))) => Operand::Col {
                        qual: Some(q),
                        name: c,
                    },
                    _ => Operand::Other,
                }
            }
            _ => {
                self.subqueries(nodes, me, Region::Filter);
                Operand::Other
            }
        }
    }

    /// The scopes whose conditions filter the rows the statement writes: the statement's own,
    /// and those of subqueries in its WHERE and ON clauses (not those that compute the values it
    /// writes).
    pub fn filters(&self, scope: usize) -> bool {
        let mut s = scope;
        loop {
            let sc = &self.scopes[s];
            if sc.region == Region::Value {
                return false;
            }
            match sc.parent {
                Some(p) => s = p,
                None => return true,
            }
        }
    }

    /// The names of the columns the conditions that filter the rows written compare.
    pub fn filter_columns(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |o: &Operand| {
            if let Operand::Col { name, .. } = o
                && !out.iter().any(|n| n.eq_ignore_ascii_case(name))
            {
                out.push(name.clone());
            }
        };
        for (i, sc) in self.scopes.iter().enumerate() {
            if !self.filters(i) {
                continue;
            }
            for c in &sc.conjuncts {
                match c {
                    Conjunct::Eq(a, b, _) => {
                        add(a);
                        add(b);
                    }
                    Conjunct::InQuery { lhs, .. } | Conjunct::InList { lhs, .. } => {
                        if let Operand::Row(cols) = lhs {
                            cols.iter().for_each(&mut add);
                        } else {
                            add(lhs);
                        }
                    }
                    Conjunct::Other => {}
                }
            }
        }
        out
    }

    /// Literal values a column named `column` is compared with by `=`, `IS` or `IN (…)` in the
    /// conditions that filter the rows written (any qualifier); None when there is none.
    pub fn literal_filters(&self, column: &str) -> Option<Vec<String>> {
        let named = |o: &Operand| matches!(o, Operand::Col { name, .. } if name.eq_ignore_ascii_case(column));
        let mut out = Vec::new();
        for (i, sc) in self.scopes.iter().enumerate() {
            if !self.filters(i) {
                continue;
            }
            for c in &sc.conjuncts {
                match c {
                    Conjunct::Eq(a, b, _) => {
                        for (x, y) in [(a, b), (b, a)] {
                            if named(x)
                                && let Operand::Literal(v) = y
                            {
                                out.push(v.clone());
                            }
                        }
                    }
                    Conjunct::InList {
                        lhs,
                        values,
                        negated: false,
                    } if named(lhs) => out.extend(values.iter().cloned()),
                    Conjunct::InQuery { .. } => {}
                    _ => {}
                }
            }
        }
        out.sort();
        out.dedup();
        (!out.is_empty()).then_some(out)
    }
}

/// An OR between conditions (not inside a CASE or a group).
fn top_level_or(nodes: &[Node]) -> bool {
    let mut case = 0usize;
    for n in nodes {
        if n.is("CASE") {
            case += 1;
        } else if n.is("END") && case > 0 {
            case -= 1;
        } else if case == 0 && n.is("OR") {
            return true;
        }
    }
    false
}

/// A numeric literal as SQLite compares it with an INTEGER: `1.0` and `1` are the same value.
fn canonical(v: &str) -> String {
    match v.parse::<f64>() {
        Ok(f) if f.fract() == 0.0 && f.abs() < 9.0e15 && !v.starts_with("0x") => {
            (f as i64).to_string()
        }
        _ => v.to_string(),
    }
}

fn num(t: &Tok) -> Option<String> {
    match t {
        Tok::Num(n) => Some(n.clone()),
        _ => None,
    }
}

/// Words that end an expression without being its alias.
const NOT_AN_ALIAS: [&str; 9] = [
    "END",
    "NULL",
    "TRUE",
    "FALSE",
    "CURRENT_TIMESTAMP",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "ASC",
    "DESC",
];

/// Words that are never a column in an operand.
const KEYWORDS: [&str; 12] = [
    "SELECT", "NOT", "EXISTS", "CASE", "CAST", "AND", "OR", "IN", "IS", "LIKE", "GLOB", "BETWEEN",
];

/// The CHECK constraints of a CREATE TABLE, normalised (whitespace, case and qualifiers gone),
/// each with the column it is written on (None: a table constraint); and the definition of each
/// item (a column or a table constraint) normalised, with its column name.
pub fn table_items(sql: &str) -> Vec<TableItem> {
    let nodes = tree(lex(sql));
    let Some(body) = nodes.iter().find_map(Node::group) else {
        return Vec::new();
    };
    split_commas(body)
        .into_iter()
        .filter(|item| !item.is_empty())
        .map(|item| {
            let first = &item[0];
            let constraint = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
                .iter()
                .any(|w| first.is(w));
            let column = if constraint {
                None
            } else {
                first.tok().and_then(Tok::word).map(str::to_string)
            };
            let mut checks = Vec::new();
            for (i, n) in item.iter().enumerate() {
                if n.is("CHECK")
                    && let Some(g) = item.get(i + 1).and_then(Node::group)
                {
                    checks.push(normal(g, true));
                }
            }
            TableItem {
                column,
                definition: normal(item, false),
                written: normal_with(item, false, false),
                checks,
            }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableItem {
    pub column: Option<String>,
    /// Normalised for comparison (lowercased).
    pub definition: String,
    /// The same, with the case as written, for people.
    pub written: String,
    pub checks: Vec<String>,
}

/// Nodes as normalised text: tokens lowercased (strings kept), spaced; `unqualify` drops
/// `name.` before a column (inside one table's CHECK a qualifier can only name that table).
pub fn normal(nodes: &[Node], unqualify: bool) -> String {
    normal_with(nodes, unqualify, true)
}

/// The same, lowercasing words only when `fold`.
pub fn normal_with(nodes: &[Node], unqualify: bool, fold: bool) -> String {
    let mut out: Vec<String> = Vec::new();
    fn walk(nodes: &[Node], unqualify: bool, fold: bool, out: &mut Vec<String>) {
        let mut i = 0;
        while i < nodes.len() {
            let n = &nodes[i];
            if unqualify
                && n.tok().and_then(Tok::word).is_some()
                && nodes.get(i + 1).and_then(Node::tok) == Some(&Tok::Dot)
                && nodes
                    .get(i + 2)
                    .and_then(Node::tok)
                    .and_then(Tok::word)
                    .is_some()
            {
                i += 2;
                continue;
            }
            match n {
                Node::Group { items, .. } => {
                    out.push("(".into());
                    walk(items, unqualify, fold, out);
                    out.push(")".into());
                }
                Node::Tok(t) => out.push(match &t.tok {
                    Tok::Word { text, .. } if fold => text.to_ascii_lowercase(),
                    Tok::Word { text, .. } => text.clone(),
                    Tok::Str(s) => format!("'{}'", s.replace('\'', "''")),
                    Tok::Num(n) => n.clone(),
                    Tok::Param => "?".into(),
                    Tok::Op(o) => o.clone(),
                    Tok::Open => "(".into(),
                    Tok::Close => ")".into(),
                    Tok::Comma => ",".into(),
                    Tok::Dot => ".".into(),
                    Tok::Semi => ";".into(),
                }),
            }
            i += 1;
        }
    }
    walk(nodes, unqualify, fold, &mut out);
    out.join(" ")
        .replace(" ( ", "(")
        .replace(" )", ")")
        .replace(" , ", ", ")
        .replace(" . ", ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(q: Option<&str>, n: &str) -> Operand {
        Operand::Col {
            qual: q.map(Into::into),
            name: n.into(),
        }
    }

    #[test]
    fn tokens_keep_strings_names_numbers_and_operators_apart() {
        let t: Vec<Tok> =
            lex("SELECT \"a b\", 'it''s', x'0F', 1.5e3, -- c\n a<=b, ?2 /* x */ FROM [t]")
                .into_iter()
                .map(|t| t.tok)
                .collect();
        assert_eq!(
            t,
            vec![
                Tok::Word {
                    text: "SELECT".into(),
                    quoted: false
                },
                Tok::Word {
                    text: "a b".into(),
                    quoted: true
                },
                Tok::Comma,
                Tok::Str("it's".into()),
                Tok::Comma,
                Tok::Str("x'0F'".into()),
                Tok::Comma,
                Tok::Num("1.5e3".into()),
                Tok::Comma,
                Tok::Word {
                    text: "a".into(),
                    quoted: false
                },
                Tok::Op("<=".into()),
                Tok::Word {
                    text: "b".into(),
                    quoted: false
                },
                Tok::Comma,
                Tok::Param,
                Tok::Word {
                    text: "FROM".into(),
                    quoted: false
                },
                Tok::Word {
                    text: "t".into(),
                    quoted: true
                },
            ]
        );
    }

    #[test]
    fn an_update_with_an_in_subquery() {
        let s = Shape::of(
            "UPDATE point_readings_agg_5m AS a SET avg = NULL, min = (SELECT 1) \
             WHERE a.point_id IN (SELECT id FROM point_info WHERE system_id = 1 AND metric_type = 'energy')",
        );
        assert_eq!(s.kind, Kind::Update);
        let top = &s.scopes[0];
        assert_eq!(
            top.sources[0].table.as_deref(),
            Some("point_readings_agg_5m")
        );
        assert_eq!(top.sources[0].alias, "a");
        let Conjunct::InQuery { lhs, sub, .. } = &top.conjuncts[0] else {
            panic!("{:?}", top.conjuncts)
        };
        assert_eq!(lhs, &col(Some("a"), "point_id"));
        let inner = &s.scopes[sub[0]];
        assert_eq!(inner.items[0].value, col(None, "id"));
        assert_eq!(inner.sources[0].table.as_deref(), Some("point_info"));
        let eqs: Vec<(&Operand, &Operand)> = inner
            .conjuncts
            .iter()
            .filter_map(|c| match c {
                Conjunct::Eq(a, b, _) => Some((a, b)),
                _ => None,
            })
            .collect();
        assert_eq!(
            eqs,
            vec![
                (&col(None, "system_id"), &Operand::Literal("1".into())),
                (
                    &col(None, "metric_type"),
                    &Operand::Literal("energy".into())
                ),
            ]
        );
        // the scalar subquery of SET does not filter the rows written; the IN one does
        assert!(s.filters(sub[0]));
        let set_scope = s
            .scopes
            .iter()
            .position(|x| x.region == Region::Value)
            .unwrap();
        assert!(!s.filters(set_scope));
        assert_eq!(s.literal_filters("system_id"), Some(vec!["1".into()]));
        assert_eq!(s.literal_filters("id"), None);
    }

    #[test]
    fn joins_ctes_row_values_exists_and_or() {
        let s = Shape::of(
            "WITH ids AS (SELECT system_id, id FROM point_info WHERE metric_type = 'soc') \
             INSERT INTO x (a) SELECT r.value FROM point_readings r JOIN point_info p \
             ON p.system_id = r.system_id AND p.id = r.point_id, systems s \
             WHERE (r.system_id, r.point_id) IN (SELECT system_id, id FROM ids) \
             AND r.measurement_time BETWEEN 1 AND 2 AND s.id = r.system_id",
        );
        assert_eq!(s.kind, Kind::Insert);
        assert!(s.ctes.contains_key("ids"));
        let main = s.scopes.iter().find(|x| x.region == Region::Top).unwrap();
        let names: Vec<(&str, &str)> = main
            .sources
            .iter()
            .map(|x| (x.table.as_deref().unwrap(), x.alias.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("point_readings", "r"),
                ("point_info", "p"),
                ("systems", "s")
            ]
        );
        let eqs = main
            .conjuncts
            .iter()
            .filter(|c| matches!(c, Conjunct::Eq(..)))
            .count();
        assert_eq!(eqs, 3, "{:?}", main.conjuncts);
        assert!(main.conjuncts.iter().any(|c| matches!(
            c,
            Conjunct::InQuery {
                lhs: Operand::Row(_),
                ..
            }
        )));
        assert!(!main.opaque);
        let or = Shape::of("DELETE FROM t WHERE a = 1 OR b IN (SELECT id FROM u)");
        assert!(or.scopes[0].opaque);
        assert_eq!(or.scopes.len(), 2, "the subquery under OR is still read");
        let exists = Shape::of(
            "DELETE FROM point_readings WHERE NOT EXISTS (SELECT 1 FROM point_info p WHERE p.id = point_readings.point_id)",
        );
        assert_eq!(exists.scopes.len(), 2);
        assert_eq!(exists.scopes[1].parent, Some(0));
        assert!(matches!(
            &exists.scopes[1].conjuncts[0],
            Conjunct::Eq(Operand::Col { .. }, Operand::Col { .. }, _)
        ));
    }

    proptest::proptest! {
        /// Any text, and any soup of SQL's words, has a shape (or none): reading never panics.
        #[test]
        fn reading_a_shape_never_panics(
            text in "\\PC{0,120}",
            words in proptest::collection::vec(proptest::sample::select(vec![
                "SELECT", "FROM", "WHERE", "(", ")", "IN", "NOT", "AND", "OR", "=", "a", "b.c", ",",
                "UPDATE", "SET", "DELETE", "INSERT", "INTO", "VALUES", "JOIN", "ON", "USING",
                "WITH", "AS", "EXISTS", "CASE", "WHEN", "END", "BETWEEN", "1", "'x'", "t", ".",
                "IS", "UNION", "ORDER", "BY", "LIMIT", "CREATE", "TABLE", "CHECK", ";",
            ]), 0..48),
        ) {
            let soup = words.join(" ");
            for sql in [text.as_str(), soup.as_str()] {
                let s = Shape::of(sql);
                let _ = s.literal_filters("a");
                let _ = s.filter_columns();
                let _ = table_items(sql);
            }
        }
    }

    #[test]
    fn checks_and_items_of_a_table() {
        let items = table_items(
            "CREATE TABLE \"posts\" (id INTEGER PRIMARY KEY, title TEXT NOT NULL CHECK (length(\"posts\".title) > 0), \
             CONSTRAINT t CHECK(length(\"__new_posts\".\"title\") < 100), FOREIGN KEY (id) REFERENCES x(id))",
        );
        assert_eq!(items.len(), 4);
        assert_eq!(items[1].column.as_deref(), Some("title"));
        assert_eq!(items[1].checks, vec!["length(title) > 0"]);
        assert_eq!(items[2].column, None);
        assert_eq!(items[2].checks, vec!["length(title) < 100"]);
        assert_eq!(
            items[1].definition,
            "title text not null check(length(posts.title) > 0)"
        );
    }
}
