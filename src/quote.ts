// Quoting user input in error messages: at most a short prefix, so an error never echoes a
// megabyte of whatever was sent (a rule id, a configuration string, a request path).

/** `s` as a JSON string of at most `max` characters, with its full length when cut. */
export function brief(s: unknown, max = 64): string {
  const t = typeof s === 'string' ? s : String(s);
  return t.length <= max ? JSON.stringify(t) : `${JSON.stringify(t.slice(0, max))}… (${t.length} characters)`;
}

/**
 * A thrown value as text, whatever it is: an Error, a string, null, an object without a
 * prototype (String() throws on it) or a Proxy whose traps throw. Never throws.
 */
export function thrownText(x: unknown, max = 300): string {
  let t: string;
  try {
    if (x instanceof Error) t = `${x.name}: ${x.message}`;
    else if (typeof x === 'string') t = x;
    else if (x === null || x === undefined || typeof x !== 'object') t = String(x);
    else t = `a thrown ${Object.prototype.toString.call(x)}`;
  } catch {
    t = 'a thrown value that cannot be shown';
  }
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/** Why a file could not be opened, in words ("no such file") rather than an errno name. */
export function fileProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not a file';
  if (code === 'ENOTDIR') return 'a part of the path is not a directory';
  return code ?? thrownText(e);
}
