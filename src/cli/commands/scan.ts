import { access, lstat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { readBaseline, writeBaseline } from '../../core/baseline.js';
import { defaultConfig, loadConfig } from '../../core/config.js';
import { CustodyError } from '../../core/errors.js';
import { atLeast, isSeverity, type Severity } from '../../core/severity.js';
import { renderReport, isReportFormat, REPORT_FORMATS } from '../../report/index.js';
import { runScan, type ScanProgress } from '../../scanners/engine.js';
import { SELECTABLE_SCANNERS, allRules } from '../../scanners/index.js';
import { EXIT, parseCommandArgs, type CliIo, type Command } from '../command.js';
import { readVersion } from '../version.js';
import { writeOutputFile } from './hash.js';

const USAGE = `Usage: custody scan PATH... [options]

Scans files and directories for model files that run code when loaded, leaked credentials,
and other risks in ML pipelines. Every file under a directory is scanned; what a .gitignore in the
tree matches is still scanned for model files and other high-risk formats (see docs/scan.md).

Options:
  --only LIST           Scanners to run, comma-separated: ${SELECTABLE_SCANNERS.join(', ')} (default: all)
  --format FORMAT       ${REPORT_FORMATS.join(' | ')} (default: text)
  --output FILE         Write the report to FILE instead of standard output
  --fail-on SEVERITY    Exit 1 when a finding is at or above: critical | high | medium | low | info | none
                        (default: high)
  --exclude GLOB        Skip paths matching GLOB (repeatable)
  --config FILE         Configuration file (none by default: a .custody.yml in the working directory or
                        in a scanned tree is read only when named here)
  --baseline FILE       Hide findings whose fingerprints are in FILE
  --write-baseline FILE Write every finding of this scan to FILE as the new baseline
  --history             Also scan all of each git repository's history (secrets)
  --advisories PATH     Match pinned dependencies against an offline advisory database: an OSV
                        export (directory or zip of JSON records) or a PyPA advisory-database clone
  --no-gitignore        Scan what .gitignore files match with every scanner too
  --jobs N              Worker threads (default: chosen from the work size; 0 = none)
  -h, --help            Show this help

Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 the tool could not run.
`;

export const scanCommand: Command = {
  name: 'scan',
  summary: 'Scan model files, secrets and configs for risks',
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs('scan', args, {
      only: { type: 'string' },
      format: { type: 'string', default: 'text' },
      output: { type: 'string' },
      'fail-on': { type: 'string', default: 'high' },
      exclude: { type: 'string', multiple: true },
      config: { type: 'string' },
      baseline: { type: 'string' },
      'write-baseline': { type: 'string' },
      history: { type: 'boolean', default: false },
      'no-gitignore': { type: 'boolean', default: false },
      jobs: { type: 'string' },
      advisories: { type: 'string' },
    });
    if (positionals.length === 0) throw new CustodyError('USAGE', 'scan: give at least one PATH to scan (see `custody scan --help`)');
    const format = values.format;
    if (!isReportFormat(format)) throw new CustodyError('USAGE', `scan: --format must be one of ${REPORT_FORMATS.join(', ')}, found "${format}"`);
    const failOn = values['fail-on'];
    if (failOn !== 'none' && !isSeverity(failOn)) throw new CustodyError('USAGE', `scan: --fail-on must be critical, high, medium, low, info or none, found "${failOn}"`);
    let jobs: number | undefined;
    if (values.jobs !== undefined) {
      jobs = Number(values.jobs);
      if (!Number.isInteger(jobs) || jobs < 0 || jobs > 64) throw new CustodyError('USAGE', `scan: --jobs must be an integer from 0 to 64, found "${values.jobs}"`);
    }

    const rules = allRules();
    const known = new Set(rules.map((r) => r.id));
    // Configuration is read only from the file the user names: a .custody.yml in the working directory is
    // usually the scanned repository's own (`cd repo && custody scan .`), and could switch rules off.
    let config = defaultConfig();
    if (values.config !== undefined) config = await loadConfig(resolve(io.cwd, values.config), known);
    else if (await lstat(resolve(io.cwd, '.custody.yml')).then(() => true, () => false)) {
      io.stderr.write('custody scan: note: .custody.yml in the working directory is not read; pass --config .custody.yml to use it\n');
    }
    const advisories = values.advisories ?? config.deps.advisories;
    if (advisories !== undefined) {
      const path = resolve(values.advisories === undefined && values.config !== undefined ? resolve(io.cwd, values.config, '..') : io.cwd, advisories);
      if (!(await access(path).then(() => true, () => false))) throw new CustodyError('PATH_NOT_FOUND', `scan: advisory database ${advisories} does not exist`);
      config = { ...config, deps: { ...config.deps, advisories: path } };
    }
    const baseline = values.baseline === undefined ? undefined : await readBaseline(resolve(io.cwd, values.baseline));

    const progress = io.stderrIsTTY ? progressLine(io) : undefined;
    const result = await runScan({
      paths: positionals,
      ...(values.only === undefined ? {} : { only: values.only.split(',').map((s) => s.trim()).filter(Boolean) }),
      config,
      ...(values.exclude === undefined ? {} : { exclude: values.exclude }),
      ...(baseline === undefined ? {} : { baseline }),
      ...(jobs === undefined ? {} : { jobs }),
      gitignore: !values['no-gitignore'],
      history: values.history,
      ...(progress ? { onProgress: progress.update } : {}),
    });
    progress?.done();

    if (values['write-baseline'] !== undefined) await writeBaseline(resolve(io.cwd, values['write-baseline']), result.findings);
    const report = renderReport(format, result, { color: format === 'text' && values.output === undefined && io.stdoutIsTTY && !io.env['NO_COLOR'], rules, toolVersion: readVersion() });
    if (values.output !== undefined) {
      await writeOutputFile('scan', io, values.output, report);
    } else io.stdout.write(report);

    if (failOn === 'none') return EXIT.ok;
    const threshold: Severity = failOn;
    return result.findings.some((f) => atLeast(f.severity, threshold)) ? EXIT.findings : EXIT.ok;
  },
};

function progressLine(io: CliIo): { update: (p: ScanProgress) => void; done: () => void } {
  let last = 0;
  let shown = false;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 100 && p.filesDone < p.filesTotal) return;
      last = now;
      shown = true;
      const pct = p.bytesTotal > 0 ? Math.floor((p.bytesDone / p.bytesTotal) * 100) : 100;
      io.stderr.write(`\r\x1b[2Kscanning ${p.filesDone}/${p.filesTotal} files (${pct}%)`);
    },
    done() {
      if (shown) io.stderr.write('\r\x1b[2K');
    },
  };
}
