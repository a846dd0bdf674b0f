/**
 * A cheap first-byte test for "this could be a pickle", used to decide which members deserve a full
 * read (CRC check) and how to describe a polyglot prefix. The pickle analyser decides for real.
 */
const PROTOCOL_0_STARTS = new Set([...'(]}cNIFLSVKJMGUTX'].map((c) => c.charCodeAt(0)));

export function startsLikePickle(data: Uint8Array, at = 0): boolean {
  const first = data[at];
  if (first === undefined) return false;
  if (first === 0x80) {
    const protocol = data[at + 1];
    return protocol !== undefined && protocol >= 2 && protocol <= 5;
  }
  return PROTOCOL_0_STARTS.has(first);
}
