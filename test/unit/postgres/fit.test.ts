import { describe, expect, it } from 'vitest';
import { fitJson, fitRow, fitText, type FitNote } from '../../../core/postgres/fit';

describe('fitText', () => {
  it('keeps text PostgreSQL can store byte for byte: control characters, emoji, CJK, right-to-left', () => {
    for (const s of ['plain', 'tab\tbell\u0007esc\u001b del\u007f', 'emoji 😀👩‍👩‍👧', '中文字符', 'שלום עולם', '']) {
      const f = fitText(s);
      expect(f.value).toBe(s);
      expect(f.change).toBeUndefined();
    }
  });
  it('removes NUL and names every offset', () => {
    const s = `${'a'.repeat(411)}\0${'b'.repeat(566)}\0c`;
    const f = fitText(s);
    expect(f.value).toBe(s.replaceAll('\0', ''));
    expect(f.change).toBe('2 NUL removed at offsets 411, 978');
  });
  it('replaces lone surrogates (high or low) by U+FFFD and keeps valid pairs', () => {
    const f = fitText('x\ud83d y \ude00 ok 😀');
    expect(f.value).toBe('x\ufffd y \ufffd ok 😀');
    expect(f.change).toBe('2 lone surrogates replaced by U+FFFD at offsets 1, 5');
    expect(Buffer.from(f.value, 'utf8').toString('utf8')).toBe(f.value);
  });
  it('lists the first offsets and says there are more', () => {
    expect(fitText('\0'.repeat(7)).change).toBe('7 NUL removed at offsets 0, 1, 2, 3, 4, …');
  });
});

describe('fitJson / fitRow', () => {
  it('fits strings and keys inside JSON, naming the path, and returns the same object when nothing changed', () => {
    const clean = { a: [1, 'two', { b: null }] };
    const notes: FitNote[] = [];
    expect(fitJson(clean, 'meta', notes)).toBe(clean);
    expect(notes).toEqual([]);
    const fitted = fitJson({ 'k\0': ['ok', 'x\0y'], n: 1 }, 'meta', notes);
    expect(fitted).toEqual({ k: ['ok', 'xy'], n: 1 });
    expect(notes).toEqual([
      { field: 'meta key "k"', change: '1 NUL removed at offset 1' },
      { field: 'meta.k[1]', change: '1 NUL removed at offset 1' },
    ]);
  });
  it('fits text, jsonb and array columns by column name and leaves vectors and numbers alone', () => {
    const v = new Float32Array([1, 2]);
    const row = ['id-1', 'a\0b', { s: '\udc00' }, ['c\0'], 7, v];
    const out = fitRow(
      ['text', 'text', 'jsonb', 'text[]', 'int4', 'vector'],
      ['id', 'content', 'meta', 'ids', 'n', 'v'],
      row,
    );
    expect(out.row).toEqual(['id-1', 'ab', { s: '\ufffd' }, ['c'], 7, v]);
    expect(out.row[5]).toBe(v);
    expect(row[1]).toBe('a\0b'); // the source row is not changed in place
    expect(out.fits.map((f) => f.field)).toEqual(['content', 'meta.s', 'ids[0]']);
    const same = ['x', { y: 1 }];
    expect(fitRow(['text', 'jsonb'], ['a', 'b'], same).row).toBe(same);
  });
});
