import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CustodyError } from '../core/errors.js';

export interface Output {
  write(text: string): unknown;
}

/** Everything a command touches of the outside world, so tests can run commands in-process. */
export interface CliIo {
  stdout: Output;
  stderr: Output;
  /** True when stdout is a terminal (colour in text output). */
  stdoutIsTTY: boolean;
  /** True when stderr is a terminal (progress lines). */
  stderrIsTTY: boolean;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

export interface Command {
  readonly name: string;
  /** One line for `custody --help`. */
  readonly summary: string;
  /** Full help text for `custody <name> --help`. */
  readonly usage: string;
  /** Returns the exit code: 0 clean/success, 1 findings or verification failure, 2 tool error. */
  run(args: string[], io: CliIo): Promise<number>;
}

export const EXIT = { ok: 0, findings: 1, error: 2 } as const;

/** node:util parseArgs with strict checking, turning its errors into coded USAGE errors. */
type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
export type ParsedArgs<T extends OptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>>;

export function parseCommandArgs<const T extends OptionsConfig>(command: string, args: string[], options: T): ParsedArgs<T> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CustodyError('USAGE', `${command}: ${(error as Error).message} (see \`custody ${command} --help\`)`, { cause: error });
  }
}
