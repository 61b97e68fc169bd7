// An example third-party extension for sluice: a block list of IPv4 addresses.
//
// Frames to or from a listed address are dropped, on every port. The list comes from the
// configuration and can be replaced at run time through a switch property:
//
//   sluice prop set block-list '["10.0.0.9", "192.0.2.1"]'
//
// A malformed list is vetoed (the property change is refused and nothing changes).
// It shows the whole contract: a filter, flow-cacheable (its decision depends only on the
// addresses, which are in the flow key), with a main-thread part (start, control, stop) and a
// per-datapath-thread part (datapath) that share a SharedArrayBuffer.
//
// Bind it from the configuration by path (relative to the configuration file):
//   "extensions": [{ "module": "./examples/block-list.mjs", "config": { "addresses": ["10.0.0.9"] } }]

const MAX = 256;

function parse(list) {
  if (!Array.isArray(list) || list.length > MAX) return null;
  const out = [];
  for (const a of list) {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(String(a));
    if (!m || m.slice(1).some((x) => Number(x) > 255)) return null;
    out.push(((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0);
  }
  return out;
}

export default function blockList(config = {}) {
  let table = null; // Int32Array over the shared buffer: [count, address...]
  let ctx = null;
  const store = (addresses) => {
    Atomics.store(table, 0, 0);
    addresses.forEach((a, i) => { table[1 + i] = a | 0; });
    Atomics.store(table, 0, addresses.length);
  };
  return {
    name: config.name ?? 'block-list',
    kind: 'filter',
    cacheable: true,
    dropReasons: ['blocked'],

    // Main thread, once, when the switch starts: check the configuration, share the table.
    start(c) {
      ctx = c;
      const addresses = parse(config.addresses ?? []);
      if (!addresses) throw new Error(`config.addresses must be a list of at most ${MAX} IPv4 addresses`);
      const shared = new SharedArrayBuffer((1 + MAX) * 4);
      table = new Int32Array(shared);
      store(addresses);
      c.log(`blocking ${addresses.length} address(es)`);
      return { shared };
    },

    // Main thread, every control operation: veto a malformed "block-list" property, apply a good one.
    control(op) {
      if ((op.op === 'propertyAdd' || op.op === 'propertyUpdate') && op.scope === 'switch' && op.name === 'block-list') {
        const addresses = parse(op.value);
        if (!addresses) return { veto: `block-list must be a list of at most ${MAX} IPv4 addresses` };
        store(addresses);
        ctx.invalidateFlows(); // cached decisions were made with the old list
      } else if (op.op === 'propertyDelete' && op.scope === 'switch' && op.name === 'block-list') {
        store(parse(config.addresses ?? [])); // back to the configured list
        ctx.invalidateFlows();
      }
      return undefined;
    },

    // Each datapath thread, once: return the per-packet hooks (synchronous, whole batches).
    datapath(d) {
      const list = new Int32Array(d.shared);
      return {
        ingress(b) {
          const k = b.keys;
          const n = Atomics.load(list, 0);
          for (let j = 0; j < b.count; j++) {
            const h = b.handle(j);
            if (k.ipVersion[h] !== 4) continue;
            const src = k.src[h * 4] | 0, dst = k.dst[h * 4] | 0;
            for (let i = 1; i <= n; i++) if (list[i] === src || list[i] === dst) { b.drop(j, 'blocked'); break; }
          }
        },
      };
    },

    stop() { ctx?.log('stopped'); },
  };
}
