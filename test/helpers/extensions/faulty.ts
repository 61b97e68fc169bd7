// A test extension that misbehaves as configured, once traffic reaches it: throws a value
// without a prototype, ends its thread with process.exit, or never returns from a hook or
// from its datapath() set-up. For the worker supervision tests (issue 10, defect 5).
import type { ExtensionDefinition } from '../../../src/vswitch/ext/api.js';

export interface FaultyConfig { fault: 'throw-null-proto' | 'exit' | 'spin' | 'spin-datapath' | 'none' }

export default function faulty(c: FaultyConfig): ExtensionDefinition {
  return {
    name: `faulty-${c.fault}`,
    kind: 'filter',
    datapath() {
      if (c.fault === 'spin-datapath') for (;;) { /* never returns */ }
      return {
        ingress() {
          if (c.fault === 'throw-null-proto') throw Object.create(null);
          if (c.fault === 'exit') process.exit(0);
          if (c.fault === 'spin') for (;;) { /* never returns */ }
        },
      };
    },
  };
}
