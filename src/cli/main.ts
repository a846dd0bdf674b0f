import { CustodyError, isCustodyError } from '../core/errors.js';
import { EXIT, type CliIo } from './command.js';
import { COMMANDS } from './commands/index.js';
import { readVersion } from './version.js';


function mainUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'custody — chain-of-custody security for machine-learning pipelines',
    '',
    'Usage: custody <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `custody <command> --help` for a command\'s options.',
    'Exit codes: 0 clean, 1 findings at or above --fail-on (or a failed verification), 2 the tool could not run.',
    '',
  ].join('\n');
}

/** Runs the CLI; the one place where errors become exit codes. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(mainUsage());
    return name === undefined ? EXIT.error : EXIT.ok;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`${readVersion()}\n`);
    return EXIT.ok;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  try {
    if (!entry) throw new CustodyError('USAGE', `unknown command "${name}"; run \`custody --help\` for the list`);
    const command = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(command.usage);
      return EXIT.ok;
    }
    return await command.run(rest, io);
  } catch (error) {
    if (isCustodyError(error)) {
      io.stderr.write(`custody: error ${error.code}: ${error.message}\n`);
    } else {
      io.stderr.write(`custody: error INTERNAL: ${error instanceof Error ? error.message : String(error)}\n`);
      if (io.env['CUSTODY_DEBUG'] && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    }
    return EXIT.error;
  }
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    cwd: process.cwd(),
    env: process.env,
  };
}
