import { analyseStream, type StreamOptions, type StreamResult } from './analyser.js';
import { displayName, type ImportRecord, type PickleCollector } from './collector.js';
import { walkLoaderView } from './loader-views.js';

/**
 * Every opcode stream a real loader executes: the analyser's main reading is the sequential one
 * (`pickle.loads`, joblib's unpickler, a C unpickler whose frames come from its prefetch buffer); this
 * explores the readings of a C unpickler that fetches some frames with `read(n)` (loader-views.ts),
 * breadth first over the frames whose honouring changes the reading, and analyses each distinct stream
 * into the same collector. Each reading that leaves the sequential one is a divergence event.
 */

/** Readings explored per stream, beyond the sequential one. */
export const MAX_VIEWS = 16;
/** Opcodes walked per reading (structurally) and analysed per reading. */
const MAX_VIEW_OPCODES = 20_000_000;
/**
 * Work (opcodes walked and analysed) spent on other readings of one stream: a few times the main reading,
 * so that a hostile stream with many straddling frames ends in a limit finding rather than at the deadline.
 */
const VIEW_WORK_FACTOR = 4;
const VIEW_WORK_MIN = 4_000_000;
const MAX_REACHED = 5;

export function exploreLoaderViews(data: Buffer, start: number, main: StreamResult, collector: PickleCollector, options: StreamOptions): number {
  // C file readings differ from the sequential one only where an opcode crosses a frame's end or frames nest,
  // which the main reading notices (frameAnomaly); joblib array bytes that the main reading skipped are
  // opcodes to every other loader, so they are walked too.
  if (!main.frameAnomaly && !main.skipped) return 0;
  const deadline = options.deadline;
  const seed = walkLoaderView(data, start, new Set(), MAX_VIEW_OPCODES, deadline, false);
  if (seed.straddles.length === 0) return 0;
  const budget = VIEW_WORK_FACTOR * main.opcodes + VIEW_WORK_MIN;
  let work = seed.ops;
  const queue: { frames: number[]; added: number }[] = [];
  const seen = new Set<string>();
  const push = (frames: number[], added: number): void => {
    const sorted = [...new Set([...frames, added])].sort((a, b) => a - b);
    const key = sorted.join(',');
    if (seen.has(key)) return;
    seen.add(key);
    queue.push({ frames: sorted, added });
  };
  for (const s of seed.straddles) push([], s.frame);
  let views = 0;
  let opcodes = 0;
  while (queue.length > 0) {
    if (views >= MAX_VIEWS || work > budget || Date.now() > deadline) {
      collector.add(collector.limits, { offset: start, kind: 'views', limit: MAX_VIEWS });
      break;
    }
    const { frames, added } = queue.shift()!;
    const view = walkLoaderView(data, start, new Set(frames), MAX_VIEW_OPCODES, deadline);
    views += 1;
    work += view.ops;
    for (const s of view.straddles) push(frames, s.frame);
    if (view.drops.length === 0) continue;
    const before = new Map<ImportRecord, number>();
    for (const rec of collector.records.values()) before.set(rec, rec.count);
    const computedBefore = collector.computed.length + collector.extensions.length;
    collector.mapOffset = (offset) => view.toData(offset);
    try {
      const r = analyseStream(view.bytes, 0, collector, { ...options, joblib: false, quiet: true, lenient: false });
      opcodes += r.opcodes;
      work += r.opcodes;
    } finally {
      collector.mapOffset = undefined;
    }
    const fresh: string[] = [];
    const again: string[] = [];
    for (const rec of collector.records.values()) {
      if (rec.verdict === 'safe' || rec.verdict === 'allowed') continue;
      const was = before.get(rec);
      if (was === undefined) fresh.push(displayName(rec));
      else if (rec.count > was) again.push(displayName(rec));
    }
    const reached = [...fresh, ...again];
    if (collector.computed.length + collector.extensions.length > computedBefore) reached.push('a computed import');
    // The divergence this reading adds: the drop of the frame honoured last.
    const drop = view.drops.find((d) => d.frame === added) ?? view.drops[view.drops.length - 1]!;
    collector.add(collector.divergences, { offset: drop.at, kind: 'drop', frame: drop.frame, left: drop.left, reached: reached.slice(0, MAX_REACHED) });
  }
  return opcodes;
}
