import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface ProcessMeasure {
  seconds: number;
  /** Peak resident set of the whole process, Node included. */
  rssMb: number;
  /** CPU time of the whole process (all threads): user and system seconds. */
  userSeconds: number;
  systemSeconds: number;
  /** The command's own exit status. */
  status: number | null;
}

/** True when the built CLI and /usr/bin/time are there (`npm run bench` builds first). */
export function canMeasureCli(): boolean {
  return existsSync('/usr/bin/time') && existsSync('dist/cli/main.js');
}

/** Runs a command under /usr/bin/time: wall time, CPU time and peak RSS of the whole process. */
export function measureProcess(args: readonly string[]): ProcessMeasure {
  const run = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const last = run.stderr.trim().split('\n').pop() ?? '';
  const [seconds, kb, user, system] = last.split(' ').map(Number);
  return { seconds: seconds ?? NaN, rssMb: (kb ?? NaN) / 1024, userSeconds: user ?? NaN, systemSeconds: system ?? NaN, status: run.status };
}

/** `node bin/custody scan FILE --only models` as a user runs it. */
export function measureModelScan(path: string): ProcessMeasure {
  return measureProcess([process.execPath, 'bin/custody', 'scan', path, '--only', 'models', '--format', 'json', '--fail-on', 'none']);
}
