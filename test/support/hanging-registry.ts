/**
 * A scanner registry (the module `runScan({ registry })` and every worker load) whose one scanner
 * misbehaves on demand, by file content — the way a parser bug on hostile input would:
 *
 *   LOOP…   a synchronous loop that never ends
 *   WAIT…   a thread blocked in Atomics.wait forever
 *   CRASH…  the worker thread exits
 *   else    one `probe/seen` finding, so a test can tell the file was scanned
 *
 * It is injected exactly as production injects Custody's own registry (src/scanners/index.ts); the
 * engine has no test-only switch.
 */
import { defineRule } from '../../src/core/rule.js';
import type { Scanner } from '../../src/core/scanner.js';

const seenRule = defineRule<'seen', void>({
  id: 'probe/seen',
  title: 'Scanned by the probe',
  description: 'The probe scanner read this file to the end.',
  severity: 'info',
  confidence: 'high',
  tags: ['cwe:1'],
  remediation: 'Nothing to do.',
  messages: { seen: 'scanned' },
  check: () => undefined,
});

const probe: Scanner = {
  name: 'probe',
  description: 'Misbehaves on demand',
  rules: [seenRule],
  scan(target, context) {
    const head = target.head.toString('latin1');
    if (head.startsWith('LOOP')) for (;;);
    if (head.startsWith('WAIT')) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    if (head.startsWith('CRASH')) process.exit(3);
    context.reporter(seenRule, target)({ message: 'seen' });
    return Promise.resolve();
  },
};

export const SCANNERS: readonly Scanner[] = [probe];
