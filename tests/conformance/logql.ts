/**
 * A LogQL syntax check for the queries the dashboards use (Loki's own parser is AGPL, so it is
 * neither imported nor built here). It follows Loki's documented grammar:
 *
 *   log query     := selector pipeline*
 *   selector      := "{" matcher ("," matcher)* "}"           (at least one matcher)
 *   matcher       := label ("=" | "!=" | "=~" | "!~") string   (regexes must compile)
 *   pipeline      := line filter ("|=" | "!=" | "|~" | "!~") string
 *                  | "|" parser (json | logfmt | unpack | decolorize | regexp string | pattern string)
 *                  | "|" line_format string | "|" label filter (label op string-or-number)
 *   metric query  := aggregation | range function | metric binop metric | number | "(" metric ")"
 *   range function:= (count_over_time | rate | bytes_over_time | bytes_rate | absent_over_time)
 *                    "(" log query "[" duration "]" ")"
 *   aggregation   := (sum | avg | min | max | count | stddev | stdvar | topk | bottomk)
 *                    [by|without (labels)] "(" [number ","] metric ")" [by|without (labels)]
 *
 * It returns the problem, or undefined when the query is well formed.
 */

type Tok = { kind: "ident" | "string" | "number" | "duration" | "op" | "punct"; text: string };

const RANGE_FUNCS = [
  "count_over_time",
  "rate",
  "bytes_over_time",
  "bytes_rate",
  "absent_over_time",
];
const AGGREGATIONS = ["sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk"];
const PARSERS = ["json", "logfmt", "unpack", "decolorize"];
const BINOPS = [
  "+",
  "-",
  "*",
  "/",
  "%",
  "^",
  "==",
  "!=",
  ">",
  ">=",
  "<",
  "<=",
  "and",
  "or",
  "unless",
];

function tokenize(q: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let s = "";
      while (j < q.length && q[j] !== '"') {
        if (q[j] === "\\") {
          const e = q[j + 1];
          if (e === undefined) throw new Error("unterminated string");
          s += e === "n" ? "\n" : e === "t" ? "\t" : e;
          j += 2;
        } else s += q[j++];
      }
      if (j >= q.length) throw new Error(`unterminated string starting at ${i}`);
      toks.push({ kind: "string", text: s });
      i = j + 1;
      continue;
    }
    if (c === "`") {
      const j = q.indexOf("`", i + 1);
      if (j < 0) throw new Error(`unterminated raw string starting at ${i}`);
      toks.push({ kind: "string", text: q.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    const dur = /^\d+(ms|s|m|h|d|w|y)(\d+(ms|s|m|h))*/.exec(q.slice(i));
    if (dur) {
      toks.push({ kind: "duration", text: dur[0] });
      i += dur[0].length;
      continue;
    }
    const num = /^\d+(\.\d+)?/.exec(q.slice(i));
    if (num) {
      toks.push({ kind: "number", text: num[0] });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(q.slice(i));
    if (id) {
      toks.push({ kind: "ident", text: id[0] });
      i += id[0].length;
      continue;
    }
    const op = /^(\|=|\|~|!=|!~|=~|==|>=|<=|[=|><+\-*/%^])/.exec(q.slice(i));
    if (op) {
      toks.push({ kind: "op", text: op[0] });
      i += op[0].length;
      continue;
    }
    if ("{}()[],".includes(c)) {
      toks.push({ kind: "punct", text: c });
      i++;
      continue;
    }
    throw new Error(`unexpected character ${JSON.stringify(c)} at ${i}`);
  }
  return toks;
}

/** Compiles an RE2 pattern as far as JavaScript can (leading (?i) becomes the i flag). */
function checkRegex(re: string): void {
  const m = /^\(\?([imsU]+)\)/.exec(re);
  const flags = m ? m[1]!.replace(/[U]/g, "") : "";
  try {
    new RegExp(m ? re.slice(m[0].length) : re, flags);
  } catch (e) {
    throw new Error(`invalid regular expression ${JSON.stringify(re)}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

class Parser {
  private i = 0;
  constructor(private readonly t: Tok[]) {}
  private peek(o = 0): Tok | undefined {
    return this.t[this.i + o];
  }
  private next(): Tok {
    const tok = this.t[this.i++];
    if (!tok) throw new Error("unexpected end of query");
    return tok;
  }
  private expect(text: string): void {
    const tok = this.next();
    if (tok.text !== text || tok.kind === "string")
      throw new Error(`expected ${JSON.stringify(text)}, got ${JSON.stringify(tok.text)}`);
  }
  private is(text: string, o = 0): boolean {
    const tok = this.peek(o);
    return !!tok && tok.kind !== "string" && tok.text === text;
  }
  private string(what: string): string {
    const tok = this.next();
    if (tok.kind !== "string") throw new Error(`${what} must be a string, got ${tok.text}`);
    return tok.text;
  }
  done(): void {
    if (this.i !== this.t.length)
      throw new Error(`unexpected ${JSON.stringify(this.peek()!.text)}`);
  }

  query(): void {
    if (this.is("{")) this.logQuery();
    else this.metric();
  }

  private selector(): void {
    this.expect("{");
    let n = 0;
    while (!this.is("}")) {
      if (n > 0) this.expect(",");
      const label = this.next();
      if (label.kind !== "ident") throw new Error(`expected a label name, got ${label.text}`);
      const op = this.next();
      if (!["=", "!=", "=~", "!~"].includes(op.text))
        throw new Error(`unknown matcher operator ${op.text}`);
      const value = this.string(`the value of ${label.text}`);
      if (op.text.endsWith("~")) checkRegex(value);
      n++;
    }
    this.expect("}");
    if (n === 0) throw new Error("a stream selector needs at least one matcher");
  }

  logQuery(): void {
    this.selector();
    for (;;) {
      const tok = this.peek();
      if (!tok || tok.kind !== "op") return;
      if (["|=", "!=", "|~", "!~"].includes(tok.text)) {
        this.next();
        const s = this.string("a line filter");
        if (tok.text.endsWith("~")) checkRegex(s);
      } else if (tok.text === "|") {
        this.next();
        const stage = this.next();
        if (stage.kind !== "ident")
          throw new Error(`expected a pipeline stage after |, got ${stage.text}`);
        if (PARSERS.includes(stage.text)) continue;
        if (stage.text === "regexp") checkRegex(this.string("regexp"));
        else if (stage.text === "pattern" || stage.text === "line_format") this.string(stage.text);
        else {
          const op = this.next();
          if (!["=", "!=", "=~", "!~", "==", ">", ">=", "<", "<="].includes(op.text))
            throw new Error(`unknown stage or label filter ${stage.text} ${op.text}`);
          const v = this.next();
          if (v.kind !== "string" && v.kind !== "number" && v.kind !== "duration")
            throw new Error(`label filter ${stage.text} needs a value`);
        }
      } else return;
    }
  }

  private grouping(): void {
    this.expect("(");
    let n = 0;
    while (!this.is(")")) {
      if (n++ > 0) this.expect(",");
      if (this.next().kind !== "ident") throw new Error("grouping labels must be label names");
    }
    this.expect(")");
  }

  private metric(): void {
    this.operand();
    while (this.peek()?.kind === "op" || BINOPS.includes(this.peek()?.text ?? "")) {
      const op = this.next();
      if (!BINOPS.includes(op.text)) throw new Error(`unknown operator ${op.text}`);
      if (this.is("bool")) this.next();
      this.operand();
    }
  }

  private operand(): void {
    const tok = this.next();
    if (tok.kind === "number") return;
    if (tok.text === "(") {
      this.metric();
      this.expect(")");
      return;
    }
    if (tok.kind !== "ident") throw new Error(`unexpected ${JSON.stringify(tok.text)}`);
    if (RANGE_FUNCS.includes(tok.text)) {
      this.expect("(");
      this.logQuery();
      this.expect("[");
      if (this.next().kind !== "duration")
        throw new Error(`${tok.text} needs a range such as [5m]`);
      this.expect("]");
      this.expect(")");
      return;
    }
    if (AGGREGATIONS.includes(tok.text)) {
      if (this.is("by") || this.is("without")) {
        this.next();
        this.grouping();
      }
      this.expect("(");
      if (tok.text === "topk" || tok.text === "bottomk") {
        if (this.next().kind !== "number") throw new Error(`${tok.text} needs a number first`);
        this.expect(",");
      }
      this.metric();
      this.expect(")");
      if (this.is("by") || this.is("without")) {
        this.next();
        this.grouping();
      }
      return;
    }
    throw new Error(`unknown function or aggregation ${tok.text}`);
  }
}

/** The problem with a LogQL query, or undefined when it is well formed. */
export function logqlProblem(query: string): string | undefined {
  try {
    const p = new Parser(tokenize(query));
    p.query();
    p.done();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
