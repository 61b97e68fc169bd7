// RuleBatchText: splits a POST /rules body — {"add": [rule, ...], "del": [id, ...]} — into the
// JSON texts of its elements without parsing the body whole, in slices of bounded time. A
// 13 MB body of 100,000 rules would hold the main thread (which also transmits) for ~300 ms
// in one JSON.parse (and ~30 ms only to decode it to a string); here the scan runs over the
// bytes in slices and notes each element's byte range; elements are decoded and parsed later,
// in chunks, by whoever compiles them (the main thread and every datapath thread), and no
// string per element is ever made here (see rule-texts.ts).
//
// The scan walks the bytes once, outside strings, tracking depth (refusing nesting deeper
// than `maxDepth`, with the byte offset) and the element boundaries of arrays that are values
// of the top-level object. Bytes are safe to scan: in UTF-8 every byte of a multi-byte
// character is >= 0x80, so none is mistaken for a quote, bracket or comma. The skeleton — the
// body with those arrays' contents replaced by their index — is small enough to JSON.parse at
// once, which checks the structure.

import { RuleTexts } from '../flow/rule-texts.js';

export class BatchTextError extends Error {}


/** An array of the top-level object: its brackets' offsets and its elements' [start, end) ranges. */
interface Container { open: number; close: number; elements: number[] }

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

export class RuleBatchText {
  private readonly text: Buffer;
  private readonly maxDepth: number;
  private i = 0;
  private depth = 0;
  private inString = false;
  private readonly containers: Container[] = [];
  private current: Container | null = null;
  private elementStart = 0;
  private result: RuleTexts | null = null;

  constructor(text: Uint8Array | string, maxDepth: number) {
    this.text = typeof text === 'string' ? Buffer.from(text) : Buffer.from(text.buffer, text.byteOffset, text.length);
    this.maxDepth = maxDepth;
  }

  /** Scan until `deadline` (performance.now() ms); the texts when done, else null. Throws BatchTextError (bytes counted from 0). */
  step(deadline: number): RuleTexts | null {
    if (this.result) return this.result;
    const t = this.text, n = t.length;
    let i = this.i, depth = this.depth, inString = this.inString;
    for (let k = 1; i < n; k++) {
      // The time is read every 4 KiB scanned, never before the first byte of a call.
      if ((k & 0xfff) === 0 && performance.now() >= deadline) break;
      const c = t[i];
      if (inString) {
        if (c === 0x5c) i++; // backslash: skip the escaped character
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x5b || c === 0x7b) { // [ {
        if (++depth > this.maxDepth) throw new BatchTextError(`body nests deeper than ${this.maxDepth} levels (at byte ${i})`);
        if (depth === 2 && c === 0x5b) { this.current = { open: i, close: -1, elements: [] }; this.elementStart = i + 1; }
      } else if (c === 0x5d || c === 0x7d) { // ] }
        if (depth === 2 && c === 0x5d && this.current) {
          if (!this.blank(this.elementStart, i) || this.current.elements.length > 0) this.element(this.elementStart, i);
          this.current.close = i;
          this.containers.push(this.current);
          this.current = null;
        }
        depth--;
      } else if (c === 0x2c && depth === 2 && this.current) { // ,
        this.element(this.elementStart, i);
        this.elementStart = i + 1;
      }
      i++;
    }
    this.i = i; this.depth = depth; this.inString = inString;
    if (i < n) return null;
    return (this.result = this.finish());
  }

  private blank(a: number, b: number): boolean {
    for (let i = a; i < b; i++) if (!isSpace(this.text[i])) return false;
    return true;
  }

  // Bytes [a, b), without surrounding white space, are an element.
  private element(a: number, b: number): void {
    const t = this.text;
    while (a < b && isSpace(t[a])) a++;
    while (b > a && isSpace(t[b - 1])) b--;
    if (a === b) throw new BatchTextError(`body is not JSON: an empty array element (at byte ${this.elementStart})`);
    this.current!.elements.push(a, b);
  }

  // Parse the skeleton and hand out the element texts of "add" and "del".
  private finish(): RuleTexts {
    const t = this.text;
    const none = new Int32Array(0);
    if (this.blank(0, t.length)) return { bytes: t, add: none, del: none };
    let skeleton = '', at = 0;
    const raw = (a: number, b: number) => t.toString('utf8', a, b);
    this.containers.forEach((c, k) => { skeleton += raw(at, c.open + 1) + k; at = c.close; });
    skeleton += raw(at, t.length);
    let doc: unknown;
    try { doc = JSON.parse(skeleton); } catch (e) { throw new BatchTextError(`body is not JSON: ${(e as Error).message.slice(0, 120)}`); }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new BatchTextError('body must be an object {add?: [rules], del?: [ids]}');
    const d = doc as Record<string, unknown>;
    const out: RuleTexts = { bytes: t, add: none, del: none };
    for (const k of Object.keys(d)) {
      if (k !== 'add' && k !== 'del') throw new BatchTextError(`unknown field ${JSON.stringify(k.slice(0, 64))} (add, del)`);
      const v = d[k];
      if (!Array.isArray(v) || v.length !== 1 || typeof v[0] !== 'number') throw new BatchTextError(k === 'add' ? 'add must be an array of rules' : 'del must be an array of rule ids');
      const elements = Int32Array.from(this.containers[v[0]].elements);
      // Parsed later, in chunks (RuleSync): parsing 100,000 ids here would take ~50 ms at once.
      if (k === 'add') out.add = elements;
      else out.del = elements;
    }
    return out;
  }
}
