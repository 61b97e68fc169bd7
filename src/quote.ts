// Quoting user input in error messages: at most a short prefix, so an error never echoes a
// megabyte of whatever was sent (a rule id, a configuration string, a request path).

/** `s` as a JSON string of at most `max` characters, with its full length when cut. */
export function brief(s: unknown, max = 64): string {
  const t = typeof s === 'string' ? s : String(s);
  return t.length <= max ? JSON.stringify(t) : `${JSON.stringify(t.slice(0, max))}… (${t.length} characters)`;
}
