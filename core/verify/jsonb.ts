/**
 * PostgreSQL's `jsonb::text` for a value the loader sends as `JSON.stringify(value)`.
 *
 * Why reproduce jsonb::text rather than hash something else: jsonb keeps no trace of the input
 * text, so the only exact and cheap thing the server can hash per row is its own output form
 * (`convert_to(col::text, 'UTF8')`). Its rules (jsonb.c / numeric.c / json.c escape_json):
 *  - object keys ordered by byte length, then bytewise (lengthCompareJsonbString); last duplicate wins;
 *  - `", "` between elements, `": "` after keys, `{}` / `[]` when empty;
 *  - strings escaped like JSON.stringify (\" \\ \b \f \n \r \t, other < 0x20 as \u00xx lowercase);
 *  - numbers parsed by numeric_in and printed by numeric_out: plain notation, never an exponent,
 *    display scale = max(0, fraction digits − exponent), e.g. `1e-7` → `0.0000001`, `1e+21` → `1` + 21 zeros.
 * Input semantics follow JSON.stringify (the loader's serialiser): toJSON, undefined/function values
 * skipped in objects and null in arrays, non-finite numbers → null.
 * test/integration/verify/jsonb.test.ts compares this with the server for every JSON value of the real fixtures.
 */
export function jsonbText(value: unknown): string {
  const out: string[] = [];
  write(value, out);
  return out.join('');
}

function write(v: unknown, out: string[]): void {
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function')
    v = (v as { toJSON(k: string): unknown }).toJSON('');
  switch (typeof v) {
    case 'string':
      out.push(JSON.stringify(v));
      return;
    case 'number':
      out.push(Number.isFinite(v) ? numericText(v) : 'null');
      return;
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return;
    case 'bigint':
      throw new TypeError('Do not know how to serialize a BigInt');
    case 'object':
      break;
    default:
      out.push('null');
      return;
  }
  if (v === null) {
    out.push('null');
    return;
  }
  if (Array.isArray(v)) {
    out.push('[');
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.push(', ');
      const el: unknown = v[i];
      if (el === undefined || typeof el === 'function' || typeof el === 'symbol') out.push('null');
      else write(el, out);
    }
    out.push(']');
    return;
  }
  const entries: [string, Buffer, unknown][] = [];
  for (const key of Object.keys(v)) {
    const el = (v as Record<string, unknown>)[key];
    if (el === undefined || typeof el === 'function' || typeof el === 'symbol') continue;
    entries.push([key, Buffer.from(key, 'utf8'), el]);
  }
  entries.sort((a, b) => a[1].length - b[1].length || Buffer.compare(a[1], b[1]));
  out.push('{');
  entries.forEach(([key, , el], i) => {
    if (i > 0) out.push(', ');
    out.push(JSON.stringify(key), ': ');
    write(el, out);
  });
  out.push('}');
}

/** numeric_out(numeric_in(JSON.stringify(n))) for a finite number. */
export function numericText(n: number): string {
  const s = JSON.stringify(n);
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(s);
  if (!m) throw new Error(`unexpected number text ${s}`);
  const [, sign = '', int = '', frac = '', expText] = m;
  if (expText === undefined) return s;
  const exp = Number(expText);
  const digits = int + frac;
  const point = int.length + exp;
  let body: string;
  if (point <= 0) body = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) body = digits + '0'.repeat(point - digits.length);
  else body = `${digits.slice(0, point)}.${digits.slice(point)}`;
  body = body.replace(/^0+(?=\d)/, '');
  return sign + body;
}
