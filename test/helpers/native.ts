// When a test of the native I/O path may skip: only outside CI, with the reason printed. In CI
// (CI=true) the addon must have built, so a missing module fails the test instead of skipping it.

import { native, nativeMissing } from '../../src/native/io.js';

/** A skip reason for node:test, or false when the native module is loaded. */
export function requireNative(): string | false {
  if (native !== null) return false;
  if (process.env.CI === 'true' && process.env.SLUICE_NATIVE !== 'off') throw new Error(`CI must test the native I/O path: ${nativeMissing}`);
  return `native I/O module not loaded: ${nativeMissing}`;
}

/** A skip reason when the test needs root and /dev/net/tun (taps, namespaces), or false. */
export function requireRoot(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (taps and network namespaces)';
  return false;
}
