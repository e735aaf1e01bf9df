/**
 * Measures function length: for each folder given (default: components, scripts, infra,
 * policy/engine) prints the longest functions in its .ts files, in lines from the line of the
 * declaration to the line of its closing brace, using the TypeScript compiler's own parser.
 * Counts function declarations, methods, constructors, accessors, function expressions and arrow
 * functions with a block body; a function nested in another is measured on its own as well.
 *
 *   npm run measure:functions -- [--top N] [folder...]
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";

export interface FunctionLength {
  file: string;
  name: string;
  line: number;
  lines: number;
}

/** Every .ts file below dir (node_modules and declaration files left out). */
function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (entry === "node_modules") return [];
    if (statSync(path).isDirectory()) return tsFiles(path);
    return path.endsWith(".ts") && !path.endsWith(".d.ts") ? [path] : [];
  });
}

/** A readable name: the declared name, or the variable/property an anonymous function is bound to. */
function nameOf(node: ts.FunctionLikeDeclaration, sf: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(node)) {
    const cls = node.parent;
    return `${ts.isClassLike(cls) && cls.name ? cls.name.text : "class"}.constructor`;
  }
  if (node.name) return node.name.getText(sf);
  const p = node.parent;
  if ((ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p)) && p.name)
    return p.name.getText(sf);
  return "(anonymous)";
}

/** The length in lines of every function in one file. */
export function functionLengths(path: string, root = process.cwd()): FunctionLength[] {
  const sf = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true);
  const found: FunctionLength[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body && ts.isBlock(node.body)) {
      const fn = node as ts.FunctionLikeDeclaration;
      const start = sf.getLineAndCharacterOfPosition(fn.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(fn.getEnd()).line;
      found.push({
        file: relative(root, path),
        name: nameOf(fn, sf),
        line: start + 1,
        lines: end - start + 1,
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

function main(argv: string[]): void {
  let top = 3;
  const folders: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--top") top = Number(argv[++i]);
    else folders.push(argv[i]!);
  }
  if (!Number.isInteger(top) || top < 1)
    throw new Error("--top takes a whole number of at least 1");
  for (const folder of folders.length
    ? folders
    : ["components", "scripts", "infra", "policy/engine"]) {
    const all = tsFiles(folder)
      .flatMap((f) => functionLengths(f))
      .sort((a, b) => b.lines - a.lines);
    console.log(`${folder}/ (${all.length} functions)`);
    for (const f of all.slice(0, top))
      console.log(`  ${String(f.lines).padStart(4)} lines  ${f.file}:${f.line} ${f.name}`);
  }
}

if (require.main === module) main(process.argv.slice(2));
