/**
 * Finds where a pickle ends, without interpreting it: the structural step the legacy PyTorch readers
 * need to walk a sequence of pickles and raw bytes (as a zip reader needs entry sizes). It knows only
 * each opcode's argument length. What the pickle does is for the pickle analyser, which scans every
 * pickle found here as a member.
 */

type Arg = { fixed: number } | { prefixed: 1 | 4 | 8 } | { lines: 1 | 2 };

const ARGS = new Map<number, Arg>();
const none = '().012NQRabdelostu}])\x81\x85\x86\x87\x88\x89\x8f\x90\x91\x92\x93\x94\x97\x98';
for (const c of none) ARGS.set(c.charCodeAt(0), { fixed: 0 });
const fixed: [string, number][] = [
  ['J', 4], ['K', 1], ['M', 2], ['G', 8], ['h', 1], ['j', 4], ['q', 1], ['r', 4],
  ['\x80', 1], ['\x82', 1], ['\x83', 2], ['\x84', 4], ['\x95', 8],
];
for (const [c, n] of fixed) ARGS.set(c.charCodeAt(0), { fixed: n });
const prefixed: [string, 1 | 4 | 8][] = [
  ['T', 4], ['U', 1], ['X', 4], ['B', 4], ['C', 1], ['\x8a', 1], ['\x8b', 4], ['\x8c', 1], ['\x8d', 8], ['\x8e', 8], ['\x96', 8],
];
for (const [c, n] of prefixed) ARGS.set(c.charCodeAt(0), { prefixed: n });
for (const c of 'FILPSVgp') ARGS.set(c.charCodeAt(0), { lines: 1 });
for (const c of 'ci') ARGS.set(c.charCodeAt(0), { lines: 2 });

const STRING_OPS = new Set([...'STUVXBC\x8c\x8d\x8e'].map((c) => c.charCodeAt(0)));

export type Extent =
  | { kind: 'end'; end: number; opcodes: number; strings: number; int?: number }
  /** The buffer ended inside the pickle: read more and call again. */
  | { kind: 'more' }
  /** Not a pickle (an unknown opcode or a broken argument) at `at`. */
  | { kind: 'invalid'; at: number };

function readLength(data: Buffer, at: number, width: 1 | 4 | 8): number {
  if (width === 1) return data[at] ?? 0;
  if (width === 4) return data.readInt32LE(at);
  const big = data.readBigUInt64LE(at);
  return big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(big);
}

/**
 * Walks opcodes from `start` to STOP. `complete` says `data` ends where the source ends (so running
 * out is damage, not a reason to read more). Also counts string opcodes (legacy storage keys) and, for
 * a pickle that is a lone small int, returns it (legacy tar counts).
 */
export function pickleExtent(data: Buffer, start: number, complete: boolean, maxOpcodes = 10_000_000): Extent {
  let pos = start;
  let opcodes = 0;
  let strings = 0;
  let int: number | undefined;
  const short = (): Extent => (complete ? { kind: 'invalid', at: pos } : { kind: 'more' });
  while (opcodes < maxOpcodes) {
    if (pos >= data.length) return short();
    const op = data[pos] as number;
    const arg = ARGS.get(op);
    if (!arg) return { kind: 'invalid', at: pos };
    opcodes += 1;
    if (STRING_OPS.has(op)) strings += 1;
    const at = pos + 1;
    if (op === 0x2e) {
      const result: Extent = { kind: 'end', end: at, opcodes, strings };
      if (int !== undefined && opcodes <= 3) result.int = int;
      return result;
    }
    if ('fixed' in arg) {
      if (at + arg.fixed > data.length) return short();
      if (op === 0x4b) int = data[at];
      else if (op === 0x4d) int = data.readUInt16LE(at);
      else if (op === 0x4a) int = data.readInt32LE(at);
      pos = at + arg.fixed;
    } else if ('prefixed' in arg) {
      if (at + arg.prefixed > data.length) return short();
      const length = readLength(data, at, arg.prefixed);
      if (length < 0) return { kind: 'invalid', at: pos };
      if (at + arg.prefixed + length > data.length) return short();
      pos = at + arg.prefixed + length;
    } else {
      let p = at;
      for (let line = 0; line < arg.lines; line++) {
        const nl = data.indexOf(0x0a, p);
        if (nl < 0) return short();
        p = nl + 1;
      }
      if (op === 0x49) {
        const text = data.subarray(at, p - 1).toString('latin1');
        if (/^-?\d{1,9}$/.test(text)) int = Number(text);
      }
      pos = p;
    }
  }
  return { kind: 'invalid', at: pos };
}
