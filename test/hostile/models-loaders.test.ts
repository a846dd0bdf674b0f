// Red team for the loader readings and the expansion measure, through the built CLI in a bounded sandbox: hostile
// pickles that multiply the readings to explore, or the references to measure, must end in a finding within the
// time and memory bounds, run nothing and write nothing outside the tree. Inputs are made here.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertFindingOrCodedError, assertNoCommandRan, assertUnchanged, canaryCommand, makeSandbox, removeSandbox, runCustody, snapshot } from '../support/hostile.js';

const b = (text: string): Buffer => Buffer.from(text, 'latin1');
function frame(n: number): string {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(BigInt(n));
  return `\x95${buf.toString('latin1')}`;
}

/** `frames` frames that each end one byte into a BINUNICODE length, with a canary payload only the honouring readings run. */
function manyStraddles(box: ReturnType<typeof makeSandbox>, frames: number, filler: string): Buffer {
  const cmd = canaryCommand(box, 'frames');
  const payload = `cposix\nsystem\n(V${cmd}\ntR0`;
  let s = '\x80\x04(';
  for (let i = 0; i < frames; i++) {
    const cover = `\x00${payload}N`;
    const body = `${filler}X${String.fromCharCode(cover.length)}`;
    s += `${frame(body.length)}${body}\x00\x00\x00${cover}0`;
  }
  return b(`${s}1N.`);
}

describe('hostile pickles for the loader readings and the expansion measure', () => {
  const box = makeSandbox('models-loaders');
  after(() => removeSandbox(box));

  it('many straddling frames in a large pickle: readings are bounded, the hidden payload is reported, nothing runs', () => {
    writeFileSync(join(box.tree, 'frames.pkl'), manyStraddles(box, 40, 'N0'.repeat(100_000)));
    const before = snapshot(box.outside);
    const result = runCustody(box, ['scan', 'frames.pkl', '--format', 'json'], { timeoutMs: 120_000 });
    assertFindingOrCodedError(result, { rule: 'models/pickle-loader-divergence' });
    assertFindingOrCodedError(result, { rule: 'models/pickle-dangerous-global' });
    assertNoCommandRan(box);
    assertUnchanged(before, box.outside);
  });

  it('billion laughs twenty wide and ten deep, and five million references to one list, stay within bounds', () => {
    let laughs = `${'('.repeat(10)}U\x03lol`;
    for (let i = 0; i < 10; i++) laughs += `${'2'.repeat(19)}l`;
    writeFileSync(join(box.tree, 'laughs.pkl'), b(`${laughs}.`));
    const refs = Buffer.concat([b('\x80\x04]q\x00]'), ...Array.from({ length: 5000 }, () => b(`(${'h\x00'.repeat(1000)}e`)), b('.')]);
    writeFileSync(join(box.tree, 'refs.pkl'), refs);
    const result = runCustody(box, ['scan', 'laughs.pkl', 'refs.pkl', '--format', 'json'], { timeoutMs: 120_000 });
    assertFindingOrCodedError(result, { rule: 'models/pickle-resource-exhaustion' });
    assertNoCommandRan(box);
  });
});
