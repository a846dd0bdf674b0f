import type { ScanContext, ScanTarget } from '../../core/scanner.js';
import { asRecord } from '../../core/json.js';
import { secretInImageConfigRule } from './rules.js';

/**
 * Credentials recorded in an image config: `config.Env` (`NAME=value`) and, in `history[].created_by`,
 * build arguments (`|2 NAME=value OTHER=value /bin/sh -c …`) and `ARG NAME=default` steps.
 */
const SECRET_NAME = /(?:^|_|-)(?:PASS(?:WORD|WD)?|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH)(?:$|_|-)|PASSWORD|SECRET/i;
/** Names that mention a secret but hold a path, a file name, an id or a switch, not the value. */
const NOT_A_VALUE_NAME = /(?:_FILE|_PATH|_DIR|_URL_TEMPLATE|_ID|_NAME|_LENGTH|_TTL|_EXPIRY|_ENABLED|_REQUIRED|_HEADER|_TYPE)$/i;
const PLACEHOLDER = /^(?:\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|<[^>]*>|\*+|x+|changeme|change_me|placeholder|none|null|undefined|true|false|yes|no|0|1|-)$/i;

export function looksLikeSecretAssignment(name: string, value: string): boolean {
  if (!SECRET_NAME.test(name) || NOT_A_VALUE_NAME.test(name)) return false;
  const trimmed = value.trim();
  return trimmed.length >= 6 && !PLACEHOLDER.test(trimmed) && !trimmed.startsWith('/run/secrets/');
}

export function scanImageConfig(config: unknown, file: string, target: ScanTarget, context: ScanContext): void {
  const report = context.reporter(secretInImageConfigRule, target);
  const root = asRecord(config);
  const env = asRecord(root?.['config'])?.['Env'];
  if (Array.isArray(env)) {
    for (const item of env) {
      if (typeof item !== 'string') continue;
      const eq = item.indexOf('=');
      if (eq <= 0) continue;
      const name = item.slice(0, eq);
      const value = item.slice(eq + 1);
      if (looksLikeSecretAssignment(name, value)) {
        report({ message: 'env', member: file, data: { name }, evidence: `ENV ${name}=${value}`, secret: value, key: `env\0${name}` });
      }
    }
  }
  const history = root?.['history'];
  if (!Array.isArray(history)) return;
  for (const [step, item] of history.entries()) {
    const createdBy = asRecord(item)?.['created_by'];
    if (typeof createdBy !== 'string') continue;
    for (const [name, value] of buildArguments(createdBy)) {
      if (looksLikeSecretAssignment(name, value)) {
        report({ message: 'buildArg', member: file, data: { name, step }, evidence: `${name}=${value}`, secret: value, key: `arg\0${name}` });
      }
    }
  }
}

/** `|2 A=1 B=two /bin/sh -c …` (RUN with build args) and `ARG A=1` → [[A, 1], [B, two]]. */
export function buildArguments(createdBy: string): [string, string][] {
  const out: [string, string][] = [];
  const text = createdBy.replace(/^\/bin\/sh -c #\(nop\)\s+/, '').trim();
  const run = /^(?:RUN\s+)?\|(\d{1,3})\s+/.exec(text);
  if (run) {
    let rest = text.slice(run[0].length);
    for (let i = 0; i < Number(run[1]); i++) {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)\s*/.exec(rest);
      if (!match) break;
      out.push([match[1] as string, unquote(match[2] ?? '')]);
      rest = rest.slice(match[0].length);
    }
    return out;
  }
  const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S+)/.exec(text);
  if (arg) out.push([arg[1] as string, unquote(arg[2] ?? '')]);
  return out;
}

function unquote(value: string): string {
  if (value.length >= 2 && ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))) return value.slice(1, -1);
  return value;
}
