// code-size: the structure limits the project keeps (issue 11): no file under src/ over 300
// lines, and no function over 80 lines in src/vswitch and src/datapath — the middle of the
// house, where a long method is where the next maintainer gets stuck. Functions are found
// with the TypeScript parser (declarations, methods, constructors, accessors, arrow and
// function expressions; a nested function counts on its own and inside its parent).
//
//   node dist/scripts/code-size.js         prints the longest files and functions; exit 1 over a limit

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

export const FILE_LIMIT = 300;
export const FUNCTION_LIMIT = 80;
/** Where the function limit holds. */
export const FUNCTION_DIRS = ['src/vswitch', 'src/datapath'];

export interface SizeReport { files: { file: string; lines: number }[]; functions: { file: string; name: string; lines: number }[] }

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

export function measure(root: string): SizeReport {
  const files: SizeReport['files'] = [], functions: SizeReport['functions'] = [];
  for (const path of sources(join(root, 'src'))) {
    const file = relative(root, path), text = readFileSync(path, 'utf8');
    files.push({ file, lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0) });
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node) => {
      if (ts.isFunctionLike(n) && 'body' in n && n.body !== undefined) {
        const first = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line, last = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
        const name = (n as ts.FunctionLikeDeclaration).name?.getText(sf) ?? (ts.isPropertyAssignment(n.parent) || ts.isVariableDeclaration(n.parent) ? n.parent.name.getText(sf) : `(anonymous, line ${first + 1})`);
        functions.push({ file, name, lines: last - first + 1 });
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  files.sort((a, b) => b.lines - a.lines);
  functions.sort((a, b) => b.lines - a.lines);
  return { files, functions };
}

/** What breaks a limit. */
export function overLimits(r: SizeReport): string[] {
  return [
    ...r.files.filter((f) => f.lines > FILE_LIMIT).map((f) => `${f.file}: ${f.lines} lines (limit ${FILE_LIMIT})`),
    ...r.functions.filter((f) => f.lines > FUNCTION_LIMIT && FUNCTION_DIRS.some((d) => f.file.startsWith(d + '/'))).map((f) => `${f.file}: ${f.name} is ${f.lines} lines (limit ${FUNCTION_LIMIT})`),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = measure(process.cwd());
  console.log(`longest files:\n${r.files.slice(0, 5).map((f) => `  ${String(f.lines).padStart(4)}  ${f.file}`).join('\n')}`);
  const mid = r.functions.filter((f) => FUNCTION_DIRS.some((d) => f.file.startsWith(d + '/')));
  console.log(`longest functions in ${FUNCTION_DIRS.join(', ')}:\n${mid.slice(0, 5).map((f) => `  ${String(f.lines).padStart(4)}  ${f.file} ${f.name}`).join('\n')}`);
  console.log(`longest functions elsewhere in src:\n${r.functions.filter((f) => !mid.includes(f)).slice(0, 5).map((f) => `  ${String(f.lines).padStart(4)}  ${f.file} ${f.name}`).join('\n')}`);
  const over = overLimits(r);
  if (over.length) { console.log(`over a limit:\n${over.map((o) => `  ${o}`).join('\n')}`); process.exit(1); }
  console.log(`within limits: files <= ${FILE_LIMIT} lines, functions in ${FUNCTION_DIRS.join(' and ')} <= ${FUNCTION_LIMIT} lines`);
}
