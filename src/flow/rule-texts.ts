// RuleTexts: a rule batch as bytes — how large batches travel from the control API to every
// thread without becoming 100,000 strings or objects at once. `add` and `del` hold the
// [start, end) byte ranges of each added rule's and each deleted id's JSON text in `bytes`
// (two numbers per element). Consecutive elements of one array are separated only by commas
// and white space, so a run of them, bracketed, is itself a JSON array: chunkText().

import type { RuleBatch } from './rule.js';

export interface RuleTexts { bytes: Buffer; add: Int32Array; del: Int32Array }

/** A batch given as objects, as texts (configuration, tests, single-rule requests). */
export function textsOf(batch: RuleBatch): RuleTexts {
  const parts: string[] = [];
  const ranges = (list: readonly unknown[]) => {
    const r = new Int32Array(list.length * 2);
    list.forEach((x, i) => {
      const t = JSON.stringify(x) ?? 'null';
      r[2 * i] = at; at += Buffer.byteLength(t); r[2 * i + 1] = at;
      parts.push(t);
      at++; parts.push(',');
    });
    return r;
  };
  let at = 0;
  const del = ranges(batch.del ?? []);
  const add = ranges(batch.add ?? []);
  return { bytes: Buffer.from(parts.join(''), 'utf8'), add, del };
}

/** Elements in a range list. */
export const count = (ranges: Int32Array): number => ranges.length >> 1;

/** Elements [from, to) of a range list as one JSON array text. */
export function chunkText(t: RuleTexts, ranges: Int32Array, from: number, to: number): string {
  if (to <= from) return '[]';
  return `[${t.bytes.toString('utf8', ranges[2 * from], ranges[2 * to - 1])}]`;
}

/** Element i's text. */
export const elementText = (t: RuleTexts, ranges: Int32Array, i: number): string => t.bytes.toString('utf8', ranges[2 * i], ranges[2 * i + 1]);
