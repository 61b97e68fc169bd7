// TextArena: each installed rule's JSON text (for listing) as bytes in pages outside the
// JavaScript heap, by rule slot. 100,000 rule texts as strings were 17 MB the young-generation
// collector had to copy while a change ran — 10–16 ms pauses on the thread that transmits.
//
// Texts are appended to the current page. A page whose live bytes fall below a quarter of it
// is compacted: its remaining texts (found through the page's own list of slots) move to the
// current page — at most a quarter page copied — and an empty page is released. So memory
// stays within about four times the live texts, and no operation copies more than a quarter
// page at once (16 KiB).

const PAGE = 1 << 16;

export class TextArena {
  private readonly pages: (Buffer | null)[] = [];
  /** Live bytes per page. */
  private readonly live: number[] = [];
  private readonly freePages: number[] = [];
  private current = -1;
  private used = 0;
  /** First slot of each page's list of slots. */
  private readonly first: number[] = [];
  private readonly page: Int32Array;
  private readonly at: Int32Array;
  private readonly len: Int32Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;

  constructor(slots: number) {
    this.page = new Int32Array(slots).fill(-1);
    this.at = new Int32Array(slots);
    this.len = new Int32Array(slots);
    this.next = new Int32Array(slots).fill(-1);
    this.prev = new Int32Array(slots).fill(-1);
  }

  /** Pages held, and their bytes (they are released as texts go). */
  get pageCount(): number { return this.pages.length - this.freePages.length; }
  get bytesHeld(): number { let n = 0; for (const p of this.pages) n += p?.length ?? 0; return n; }
  get bytesLive(): number { let n = 0; this.pages.forEach((p, i) => { if (p) n += this.live[i]; }); return n; }

  /** Store bytes [a, b) of src as slot s's text. */
  put(s: number, src: Uint8Array, a: number, b: number): void {
    const n = b - a;
    if (this.current < 0 || this.used + n > this.pages[this.current]!.length) this.open(n);
    const p = this.current;
    this.pages[p]!.set(src.subarray(a, b), this.used);
    this.page[s] = p; this.at[s] = this.used; this.len[s] = n;
    this.used += n;
    this.live[p] += n;
    this.prev[s] = -1;
    this.next[s] = this.first[p];
    if (this.first[p] >= 0) this.prev[this.first[p]] = s;
    this.first[p] = s;
  }

  putString(s: number, text: string): void {
    const b = Buffer.from(text, 'utf8');
    this.put(s, b, 0, b.length);
  }

  /** Slot s's text (undefined if it has none). */
  text(s: number): string | undefined {
    const p = this.page[s];
    return p < 0 ? undefined : this.pages[p]!.toString('utf8', this.at[s], this.at[s] + this.len[s]);
  }

  /** Slot s's text is gone. */
  drop(s: number): void {
    const p = this.page[s];
    if (p < 0) return;
    this.unlist(s, p);
    this.live[p] -= this.len[s];
    if (p === this.current) return;
    if (this.live[p] === 0) this.release(p);
    else if (this.live[p] < this.pages[p]!.length / 4) this.compact(p);
  }

  private open(need: number): void {
    const p = this.freePages.pop() ?? this.pages.length;
    this.pages[p] = Buffer.allocUnsafe(Math.max(PAGE, need));
    this.live[p] = 0;
    this.first[p] = -1;
    const old = this.current;
    this.current = p;
    this.used = 0;
    // The page just left may already be mostly dead.
    if (old >= 0 && this.live[old] === 0) this.release(old);
    else if (old >= 0 && this.live[old] < this.pages[old]!.length / 4) this.compact(old);
  }

  private release(p: number): void {
    this.pages[p] = null;
    this.freePages.push(p);
  }

  private unlist(s: number, p: number): void {
    if (this.prev[s] >= 0) this.next[this.prev[s]] = this.next[s]; else this.first[p] = this.next[s];
    if (this.next[s] >= 0) this.prev[this.next[s]] = this.prev[s];
    this.page[s] = -1;
  }

  // Move page p's live texts to the current page (at most a quarter page of bytes).
  private compact(p: number): void {
    const src = this.pages[p]!;
    for (let s = this.first[p]; s >= 0; s = this.first[p]) {
      const a = this.at[s], n = this.len[s];
      this.unlist(s, p);
      this.live[p] -= n;
      this.put(s, src, a, a + n);
    }
    this.release(p);
  }
}
