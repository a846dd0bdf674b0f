import { CustodyError, isCustodyError } from '../core/errors.js';
import { guardTerminalStream } from '../core/terminal.js';
import { describeErrorMessage, redactSecretsInText } from '../scanners/redact-text.js';
import { EXIT, type CliIo, type Output } from './command.js';
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

/** An output stream that cannot carry terminal control sequences from the input (see guardTerminalStream). */
function guardOutput(output: Output): Output {
  return { write: (text: string) => output.write(guardTerminalStream(text)) };
}

/**
 * Runs the CLI; the one place where errors become exit codes. Everything a command writes goes
 * through guardOutput; error messages (which quote paths and parser messages) are also redacted and
 * escaped field by field.
 */
export async function runCli(argv: string[], rawIo: CliIo): Promise<number> {
  const io: CliIo = { ...rawIo, stdout: guardOutput(rawIo.stdout), stderr: guardOutput(rawIo.stderr) };
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
      io.stderr.write(`custody: error ${error.code}: ${describeErrorMessage(error.message)}\n`);
    } else {
      io.stderr.write(`custody: error INTERNAL: ${describeErrorMessage(error instanceof Error ? error.message : String(error))}\n`);
      if (io.env['CUSTODY_DEBUG'] && error instanceof Error && error.stack) io.stderr.write(`${redactSecretsInText(error.stack)}\n`);
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
