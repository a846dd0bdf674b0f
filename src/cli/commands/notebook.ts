import { access, lstat } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { defaultConfig, loadConfig, type ResolvedConfig } from '../../core/config.js';
import { CustodyError, isCustodyError } from '../../core/errors.js';
import { readRegularFile, writeFileSafely } from '../../core/safe-fs.js';
import { joinDisplay, toPosix, walkFiles } from '../../core/walk.js';
import { cleanNotebook, DEFAULT_CELL_METADATA, DEFAULT_NOTEBOOK_METADATA, findCellSecrets, type CellSecret, type CleanOptions, type CleanSummary } from '../../notebook/clean.js';
import { allRules } from '../../scanners/index.js';
import { secretsScanner } from '../../scanners/secrets/index.js';
import { EXIT, parseCommandArgs, type CliIo, type Command } from '../command.js';
import { escapeForTerminal as e } from '../../core/terminal.js';
import { describeErrorMessage } from '../../scanners/redact-text.js';

const USAGE = `Usage: custody notebook clean PATH... [options]

Strips outputs and execution metadata from Jupyter notebooks (.ipynb), in place, keeping key order,
indentation and line endings, so that only sources reach version control. Refuses a notebook whose
cell sources hold a secret — cleaning cannot remove it — naming the cell and line. Directories are
walked for *.ipynb files (honouring .gitignore).

Stripped by default:
  outputs and execution counts of code cells
  cell metadata:     ${DEFAULT_CELL_METADATA.join(', ')}
  notebook metadata: ${DEFAULT_NOTEBOOK_METADATA.join(', ')}

Options:
  --check               Write nothing; exit 1 if any notebook would change (for CI)
  --dry-run             Write nothing; print what would change
  --keep-output         Keep outputs (secrets in kept outputs are then refused too)
  --keep-metadata LIST  Comma-separated keys to keep although on a strip list
                        (execution_count keeps execution counts)
  --strip-metadata LIST Comma-separated extra cell and notebook metadata keys to strip
  --config FILE         Configuration file for the secrets check (default: .custody.yml if present)
  -h, --help            Show this help

Exit codes: 0 clean (or cleaned), 1 a notebook holds a secret in a cell source, or (--check) would
change, 2 a notebook could not be read or written.
`;

export const notebookCommand: Command = {
  name: 'notebook',
  summary: 'Strip outputs and execution metadata from notebooks (refusing cells with secrets)',
  usage: USAGE,
  async run(args: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = args;
    if (sub !== 'clean') {
      throw new CustodyError('USAGE', `notebook: expected the subcommand \`clean\`, found ${sub === undefined ? 'nothing' : `"${sub}"`} (see \`custody notebook --help\`)`);
    }
    const { values, positionals } = parseCommandArgs('notebook clean', rest, {
      check: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      'keep-output': { type: 'boolean', default: false },
      'keep-metadata': { type: 'string', multiple: true },
      'strip-metadata': { type: 'string', multiple: true },
      config: { type: 'string' },
    });
    if (positionals.length === 0) throw new CustodyError('USAGE', 'notebook clean: give at least one notebook or directory (see `custody notebook --help`)');
    const list = (items: string[] | undefined): string[] => (items ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
    const extra = list(values['strip-metadata']);
    const options: CleanOptions = {
      keepOutput: values['keep-output'],
      keepMetadata: list(values['keep-metadata']),
      cellMetadata: [...DEFAULT_CELL_METADATA, ...extra],
      notebookMetadata: [...DEFAULT_NOTEBOOK_METADATA, ...extra],
    };
    const write = !values.check && !values['dry-run'];

    const rules = allRules();
    const knownRuleIds = new Set(rules.map((r) => r.id));
    const config = await readConfig(io, values.config, knownRuleIds);
    const notebooks = await listNotebooks(io, positionals);

    let exit: number = EXIT.ok;
    const raise = (code: number): void => {
      exit = Math.max(exit, code);
    };
    let cleaned = 0;
    let refused = 0;
    let failed = 0;
    for (const { display, absPath } of notebooks) {
      try {
        const bytes = await readNotebook(absPath, config.limits.maxTextBytes);
        const result = cleanNotebook(bytes.toString('utf8'), options);
        // Outputs being stripped cannot keep a secret, so the check reads the cleaned notebook: the same
        // cells and source lines, without outputs that may hold millions of values.
        const checked = options.keepOutput || !result.changed ? bytes : Buffer.from(result.text, 'utf8');
        const secrets = await findCellSecrets(display, checked, { scanners: [secretsScanner], config, knownRuleIds, includeOutputs: options.keepOutput === true });
        if (secrets.length > 0) {
          refused += 1;
          raise(EXIT.findings);
          io.stderr.write(describeSecrets(display, secrets, result.cellIds));
          continue;
        }
        if (!result.changed) continue;
        cleaned += 1;
        const what = describeSummary(result.summary);
        if (write) {
          await writeFileSafely(absPath, result.text);
          io.stdout.write(`cleaned ${e(display)} (${what})\n`);
        } else {
          io.stdout.write(`${e(display)} would be cleaned (${what})\n`);
          if (values.check) raise(EXIT.findings);
        }
      } catch (error) {
        raise(EXIT.error);
        failed += 1;
        const code = isCustodyError(error) ? error.code : 'IO_ERROR';
        io.stderr.write(`custody: error ${code}: ${e(display)}: ${describeErrorMessage((error as Error).message)}\n`);
      }
    }
    const verb = write ? 'cleaned' : 'to clean';
    const clean = notebooks.length - cleaned - refused - failed;
    io.stdout.write(`${notebooks.length} notebook(s): ${cleaned} ${verb}, ${clean} already clean, ${refused} refused (secrets), ${failed} unreadable\n`);
    return exit;
  },
};

async function readConfig(io: CliIo, path: string | undefined, known: ReadonlySet<string>): Promise<ResolvedConfig> {
  if (path !== undefined) return loadConfig(resolve(io.cwd, path), known);
  const local = resolve(io.cwd, '.custody.yml');
  if (await access(local).then(() => true, () => false)) return loadConfig(local, known);
  return defaultConfig();
}

/** Files named directly are taken whatever their extension; directories are walked for *.ipynb. */
async function listNotebooks(io: CliIo, paths: readonly string[]): Promise<{ display: string; absPath: string }[]> {
  const out: { display: string; absPath: string }[] = [];
  for (const path of paths) {
    const absolute = resolve(io.cwd, path);
    let isDirectory: boolean;
    try {
      isDirectory = (await lstat(absolute)).isDirectory();
    } catch (error) {
      throw new CustodyError('PATH_NOT_FOUND', `notebook clean: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
    if (!isDirectory) {
      out.push({ display: toPosix(path), absPath: absolute });
      continue;
    }
    for await (const file of walkFiles([absolute])) {
      if (file.absPath.endsWith('.ipynb')) out.push({ display: joinDisplay(path, toPosix(relative(absolute, file.absPath))), absPath: file.absPath });
    }
  }
  return out;
}

/**
 * Reads a notebook named by the user or found by the walk: a FIFO or device (or a link to one) is
 * refused without blocking (SPECIAL_FILE), a file over limits.maxTextBytes before any of it is read.
 */
async function readNotebook(path: string, maxBytes: number): Promise<Buffer> {
  try {
    return await readRegularFile(path, { maxBytes });
  } catch (error) {
    if (isCustodyError(error, 'INPUT_LIMIT')) {
      throw new CustodyError('INPUT_LIMIT', `${error.message}: notebooks are read up to limits.maxTextBytes (raise it in .custody.yml)`, { cause: error, ...(error.details ? { details: error.details } : {}) });
    }
    throw error;
  }
}

function describeSummary(summary: CleanSummary): string {
  const parts: string[] = [];
  if (summary.outputs > 0) parts.push(`${summary.outputs} output(s)`);
  if (summary.executionCounts > 0) parts.push(`${summary.executionCounts} execution count(s)`);
  if (summary.metadata.length > 0) parts.push(`metadata: ${[...new Set(summary.metadata.map((m) => m.slice(m.lastIndexOf('.') + 1)))].join(', ')}`);
  return parts.join(', ');
}

/** `nb.ipynb: cell 3 line 2: secrets/aws-access-key (…)` — cells counted from 1, as a reader counts them. */
function describeSecrets(display: string, secrets: readonly CellSecret[], cellIds: readonly (string | undefined)[]): string {
  const lines = secrets.map((s) => {
    const id = cellIds[s.cell];
    const where = `cell ${s.cell + 1}${s.field === 'outputs' ? ' output' : ''} line ${s.line}`;
    return `${e(display)}: ${where}: ${e(s.ruleId)}: ${e(s.message)}${s.evidence === undefined ? '' : ` [${e(s.evidence)}]`}${id === undefined ? '' : ` (cell id ${e(id)})`}\n`;
  });
  return `${lines.join('')}${e(display)}: not cleaned — remove the secret from the cell (read it from the environment or a secrets manager), rotate it, then run again.\n`;
}
