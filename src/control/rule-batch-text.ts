// RuleBatchText: splits a POST /rules body — {"add": [rule, ...], "del": [id, ...]} — into the
// JSON texts of its elements without parsing the body whole, in slices of bounded time. A
// 13 MB body of 100,000 rules would hold the main thread (which also transmits) for ~300 ms
// in one JSON.parse; here the scan runs in slices, and each element is parsed later, in
// chunks, by whoever compiles it (the main thread and every datapath thread).
//
// The scan walks the text once, outside strings, tracking depth (refusing nesting deeper
// than `maxDepth`, with the byte offset) and the element boundaries of arrays that are values
// of the top-level object. The skeleton — the body with those arrays' contents replaced by
// their index — is then small enough to JSON.parse at once, which checks the structure.

import { RuleTexts } from '../flow/rule-set.js';

export class BatchTextError extends Error {}


interface Container { open: number; close: number; elements: string[] }

export class RuleBatchText {
  private readonly text: string;
  private readonly maxDepth: number;
  private i = 0;
  private depth = 0;
  private inString = false;
  private readonly containers: Container[] = [];
  private current: Container | null = null;
  private elementStart = 0;
  private result: RuleTexts | null = null;

  constructor(text: string, maxDepth: number) {
    this.text = text;
    this.maxDepth = maxDepth;
  }

  /** Scan until `deadline` (performance.now() ms); the texts when done, else null. Throws BatchTextError. */
  step(deadline: number): RuleTexts | null {
    if (this.result) return this.result;
    const t = this.text, n = t.length;
    let i = this.i, depth = this.depth, inString = this.inString;
    while (i < n) {
      if ((i & 0xffff) === 0 && i !== 0 && performance.now() >= deadline) break;
      const c = t.charCodeAt(i);
      if (inString) {
        if (c === 0x5c) i++; // backslash: skip the escaped character
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x5b || c === 0x7b) { // [ {
        if (++depth > this.maxDepth) throw new BatchTextError(`body nests deeper than ${this.maxDepth} levels (at byte ${i})`);
        if (depth === 2 && c === 0x5b) { this.current = { open: i, close: -1, elements: [] }; this.elementStart = i + 1; }
      } else if (c === 0x5d || c === 0x7d) { // ] }
        if (depth === 2 && c === 0x5d && this.current) {
          const last = t.slice(this.elementStart, i).trim();
          if (last.length > 0 || this.current.elements.length > 0) this.element(last);
          this.current.close = i;
          this.containers.push(this.current);
          this.current = null;
        }
        depth--;
      } else if (c === 0x2c && depth === 2 && this.current) { // ,
        this.element(t.slice(this.elementStart, i).trim());
        this.elementStart = i + 1;
      }
      i++;
    }
    this.i = i; this.depth = depth; this.inString = inString;
    if (i < n) return null;
    return (this.result = this.finish());
  }

  private element(text: string): void {
    if (text.length === 0) throw new BatchTextError(`body is not JSON: an empty array element (at byte ${this.elementStart})`);
    this.current!.elements.push(text);
  }

  // Parse the skeleton and hand out the element texts of "add" and "del".
  private finish(): RuleTexts {
    const t = this.text;
    if (t.trim() === '') return { addTexts: [], del: [] };
    let skeleton = '', at = 0;
    this.containers.forEach((c, k) => { skeleton += t.slice(at, c.open + 1) + k; at = c.close; });
    skeleton += t.slice(at);
    let doc: unknown;
    try { doc = JSON.parse(skeleton); } catch (e) { throw new BatchTextError(`body is not JSON: ${(e as Error).message.slice(0, 120)}`); }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new BatchTextError('body must be an object {add?: [rules], del?: [ids]}');
    const d = doc as Record<string, unknown>;
    const out: RuleTexts = { addTexts: [], del: [] };
    for (const k of Object.keys(d)) {
      if (k !== 'add' && k !== 'del') throw new BatchTextError(`unknown field ${JSON.stringify(k.slice(0, 64))} (add, del)`);
      const v = d[k];
      if (!Array.isArray(v) || v.length !== 1 || typeof v[0] !== 'number') throw new BatchTextError(k === 'add' ? 'add must be an array of rules' : 'del must be an array of rule ids');
      const elements = this.containers[v[0]].elements;
      if (k === 'add') out.addTexts = elements;
      else {
        out.del = elements.map((e, i) => {
          let id: unknown;
          try { id = JSON.parse(e); } catch { id = undefined; }
          if (typeof id !== 'string') throw new BatchTextError(`del[${i}]: a rule id must be a string`);
          return id;
        });
      }
    }
    return out;
  }
}
