/**
 * The README's code examples, as the README test runs them. Every ```js or ```ts fence in
 * README.md must be preceded (on the line before) by one of these markers:
 *
 *   <!-- example: NAME -->          a whole program: run it; the next fence, a ```text block, is its
 *                                   expected output, line by line, where `...` matches any text
 *   <!-- example-file: NAME/FILE -->  written as FILE next to example NAME before it runs
 *   <!-- fragment -->               part of a larger program (needs the reader's own code): only parsed
 *   <!-- not yet run: REASON -->    an example waiting for an API: only parsed, reported as todo
 */
export type Block =
  | { kind: 'example'; name: string; code: string; expected: string[]; line: number }
  | { kind: 'file'; example: string; file: string; code: string; line: number }
  | { kind: 'fragment'; code: string; line: number }
  | { kind: 'todo'; reason: string; code: string; line: number };

const FENCE_OPEN = /^```(\w*)\s*$/;
const FENCE_CLOSE = /^```\s*$/;
const MARKER = /^<!--\s*(example-file|example|fragment|not yet run)\b\s*:?\s*(.*?)\s*-->\s*$/;

export function readmeBlocks(readme: string): Block[] {
  const lines = readme.split('\n');
  const blocks: Block[] = [];
  let awaitingOutput: { name: string; code: string; line: number } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE_OPEN.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !FENCE_CLOSE.test(lines[end])) end++;
    if (end === lines.length) throw new Error(`README.md:${i + 1}: fence never closed`);
    const code = lines.slice(start, end).join('\n');
    const lang = open[1];
    const marker = MARKER.exec(lines[i - 1] ?? '');
    const at = i + 1;
    i = end;
    if (awaitingOutput) {
      if (lang !== 'text') throw new Error(`README.md:${at}: example "${awaitingOutput.name}" (line ${awaitingOutput.line}) must be followed by a \`\`\`text block with its output`);
      blocks.push({ kind: 'example', ...awaitingOutput, expected: code.split('\n') });
      awaitingOutput = null;
      continue;
    }
    if (lang !== 'js' && lang !== 'ts') continue;
    if (!marker) throw new Error(`README.md:${at}: a \`\`\`${lang} fence needs a marker on the line before: <!-- example: name -->, <!-- example-file: name/file -->, <!-- fragment --> or <!-- not yet run: reason -->`);
    const [, kind, arg] = marker;
    if (kind === 'example') {
      if (!/^[\w-]+$/.test(arg)) throw new Error(`README.md:${at - 1}: example name must be a word, got "${arg}"`);
      awaitingOutput = { name: arg, code, line: at };
    } else if (kind === 'example-file') {
      const m = /^([\w-]+)\/([\w.-]+)$/.exec(arg);
      if (!m) throw new Error(`README.md:${at - 1}: example-file needs NAME/FILE, got "${arg}"`);
      blocks.push({ kind: 'file', example: m[1], file: m[2], code, line: at });
    } else if (kind === 'fragment') {
      blocks.push({ kind: 'fragment', code, line: at });
    } else {
      if (arg === '') throw new Error(`README.md:${at - 1}: "not yet run" needs a reason`);
      blocks.push({ kind: 'todo', reason: arg, code, line: at });
    }
  }
  if (awaitingOutput) throw new Error(`README.md: example "${awaitingOutput.name}" has no \`\`\`text output block`);
  return blocks;
}

/** Whether `actual` output matches the expected lines: same count, each line whole, `...` matching any text. */
export function matchesOutput(expected: string[], actual: string): boolean {
  const got = actual.replace(/\n+$/, '').split('\n');
  if (got.length !== expected.length) return false;
  return expected.every((e, k) => {
    const re = new RegExp(`^${e.split('...').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return re.test(got[k]);
  });
}
