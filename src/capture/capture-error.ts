// CaptureError: a capture file the reader cannot go on with, naming the byte offset and what
// is wrong; `truncated` tells a file cut short (everything before is valid) from corrupt structure.

export class CaptureError extends Error {
  readonly offset: number;
  readonly truncated: boolean;
  constructor(offset: number, problem: string, truncated = false) {
    super(`byte offset ${offset}: ${problem}`);
    this.offset = offset;
    this.truncated = truncated;
  }
}
