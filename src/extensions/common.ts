// Helpers shared by the built-in extensions: port selection by name.

/** Flags per port index: the ports named in `names` (all ports when names is undefined). Throws naming a bad name. */
export function portFlags(names: unknown, ports: readonly string[], ext: string, field = 'ports'): Uint8Array {
  const flags = new Uint8Array(ports.length);
  if (names === undefined) { flags.fill(1); return flags; }
  if (!Array.isArray(names)) throw new Error(`${ext}: config.${field} must be a list of port names`);
  for (const n of names) {
    const p = ports.indexOf(String(n));
    if (p < 0) throw new Error(`${ext}: config.${field}: unknown port ${JSON.stringify(n)} (ports: ${ports.join(', ')})`);
    flags[p] = 1;
  }
  return flags;
}

export function portIndex(name: unknown, ports: readonly string[], ext: string, field: string): number {
  const p = ports.indexOf(String(name));
  if (p < 0) throw new Error(`${ext}: config.${field}: unknown port ${JSON.stringify(name)} (ports: ${ports.join(', ')})`);
  return p;
}
