// The naive baseline: the same path (parse -> RSS -> learning lookup -> forward) written the
// obvious way, with an object per packet, string MAC keys in a Map, a bit-serial Toeplitz
// over a fresh array, and arrays of packet objects as queues.
import { MICROSOFT_RSS_KEY, toeplitzNaive } from '../src/nic/rss.js';

interface Packet { data: Uint8Array; inPort: number; dst: string; src: string; etherType: number; srcIp: number[]; dstIp: number[]; proto: number; sport: number; dport: number; hash: number; queue: number }

const hex = (b: Uint8Array, o: number) => Array.from(b.subarray(o, o + 6), (x) => x.toString(16).padStart(2, '0')).join(':');

export class NaivePipeline {
  private readonly macs = new Map<string, { port: number; seen: number }>();
  private readonly queues: Packet[][] = [[], [], [], []];
  readonly out: Packet[][] = [[], []];

  constructor() { this.macs.set('1/02:00:00:00:00:02', { port: 1, seen: Date.now() }); }

  receive(data: Uint8Array, inPort: number): void {
    const p: Packet = { data, inPort, dst: hex(data, 0), src: hex(data, 6), etherType: (data[12] << 8) | data[13], srcIp: [], dstIp: [], proto: 0, sport: 0, dport: 0, hash: 0, queue: 0 };
    if (p.etherType === 0x0800) {
      const ihl = (data[14] & 15) * 4;
      p.srcIp = Array.from(data.subarray(26, 30));
      p.dstIp = Array.from(data.subarray(30, 34));
      p.proto = data[23];
      const l4 = 14 + ihl;
      p.sport = (data[l4] << 8) | data[l4 + 1];
      p.dport = (data[l4 + 2] << 8) | data[l4 + 3];
      p.hash = toeplitzNaive(MICROSOFT_RSS_KEY, Uint8Array.from([...p.srcIp, ...p.dstIp, p.sport >> 8, p.sport & 255, p.dport >> 8, p.dport & 255]));
    }
    p.queue = (p.hash & 127) % 4;
    this.queues[p.queue].push(p);
  }

  process(): void {
    for (const q of this.queues) {
      for (const p of q.splice(0)) {
        this.macs.set(`1/${p.src}`, { port: p.inPort, seen: Date.now() });
        const e = this.macs.get(`1/${p.dst}`);
        if (e && e.port !== p.inPort) this.out[e.port].push(p);
        else for (let port = 0; port < 2; port++) if (port !== p.inPort) this.out[port].push(p);
      }
    }
  }
}
