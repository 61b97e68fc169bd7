// An answer of the control API other than 200: its status, message and (for 400) the field at fault.
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly field?: string) { super(message); }
}
