/**
 * How options are declared and checked, at every level (RaftCore, RaftNode, Cluster): each
 * option is one OptionSpec (type, range, default, one-line doc) in one table, and
 * checkOptions() refuses unknown names and values of the wrong type with errors that name them.
 */
export interface OptionSpec {
  /** What the value must be, as an error says it: "a positive integer". */
  expects: string;
  /** The value has the right JS type (else a TypeError). */
  isType: (v: unknown) => boolean;
  /** A value of the right type is acceptable (else a RangeError). */
  inRange?: (v: any) => boolean;
  required?: boolean;
  /** Used when the option is absent (or undefined); absent options without one stay undefined. */
  default?: unknown;
  doc: string;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

const isNumber = (v: unknown): boolean => typeof v === 'number';

export function positiveInt(doc: string, def?: number): OptionSpec {
  return { expects: 'a positive integer', isType: isNumber, inRange: (v: number) => Number.isSafeInteger(v) && v > 0, default: def, doc };
}

export function nonNegativeInt(doc: string, def?: number): OptionSpec {
  return { expects: 'a non-negative integer', isType: isNumber, inRange: (v: number) => Number.isSafeInteger(v) && v >= 0, default: def, doc };
}

export function positiveNumber(doc: string, def?: number): OptionSpec {
  return { expects: 'a positive number', isType: isNumber, inRange: (v: number) => Number.isFinite(v) && v > 0, default: def, doc };
}

export function integer(doc: string, def?: number): OptionSpec {
  return { expects: 'an integer', isType: isNumber, inRange: (v: number) => Number.isSafeInteger(v), default: def, doc };
}

export function boolean(doc: string, def?: boolean): OptionSpec {
  return { expects: 'a boolean', isType: (v) => typeof v === 'boolean', default: def, doc };
}

export function func(doc: string): OptionSpec {
  return { expects: 'a function', isType: (v) => typeof v === 'function', doc };
}

export function object(doc: string, expects = 'an object'): OptionSpec {
  return { expects, isType: (v) => typeof v === 'object' && v !== null && !Array.isArray(v), doc };
}

export function required(spec: OptionSpec): OptionSpec {
  return { ...spec, required: true };
}

/** `number 0`, `string "10"`, `null`, `array`, `object Map`...: what an error says it got. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'string': return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)}`;
    case 'number': case 'boolean': case 'bigint': return `${typeof v} ${String(v)}`;
    case 'object': { const name = (v as object).constructor?.name; return name && name !== 'Object' ? `object ${name}` : 'object'; }
    default: return typeof v;
  }
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length];
}

/** The known name a misspelt one most likely meant, or null when none is close. */
export function closestName(name: string, known: readonly string[]): string | null {
  const lower = name.toLowerCase();
  let best: string | null = null;
  let bestScore = Infinity;
  for (const k of known) {
    const kl = k.toLowerCase();
    // a missing unit suffix or a case slip (electionTimeout, maxinflight) counts as close
    const d = kl.startsWith(lower) || lower.startsWith(kl) ? Math.abs(kl.length - lower.length) * 0.5 : editDistance(lower, kl);
    if (d < bestScore) { bestScore = d; best = k; }
  }
  return best !== null && bestScore <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

/**
 * Checks `given` against `table`: an object, no unknown names, every required option
 * present, every value of the right type and range. `where` names the caller in errors.
 */
export function checkOptions(table: OptionTable, given: unknown, where: string): void {
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new TypeError(`${where} needs an options object, got ${describeValue(given)}`);
  }
  const known = Object.keys(table);
  for (const name of Object.keys(given)) {
    if (Object.prototype.hasOwnProperty.call(table, name)) continue;
    const near = closestName(name, known);
    throw new TypeError(`unknown option ${name} for ${where}${near ? `: did you mean ${near}?` : ''} (known options: ${known.join(', ')})`);
  }
  for (const name of known) {
    const spec = table[name];
    const v = (given as Record<string, unknown>)[name];
    if (v === undefined) {
      if (spec.required) throw new TypeError(`option ${name} is required by ${where}: ${spec.expects} (${spec.doc})`);
      continue;
    }
    if (!spec.isType(v)) throw new TypeError(`option ${name} must be ${spec.expects}, got ${describeValue(v)}`);
    if (spec.inRange && !spec.inRange(v)) throw new RangeError(`option ${name} must be ${spec.expects}, got ${describeValue(v)}`);
  }
}

/** The default of every option of `table` that has one. */
export function defaultsOf(table: OptionTable): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) if (spec.default !== undefined) out[name] = spec.default;
  return out;
}

/** The entries of `table` named in `names` (to share options between levels). */
export function pickOptions<K extends string>(table: OptionTable, names: readonly K[]): Record<K, OptionSpec> {
  const out = {} as Record<K, OptionSpec>;
  for (const n of names) {
    if (!table[n]) throw new Error(`no option ${n} to pick`);
    out[n] = table[n];
  }
  return out;
}
