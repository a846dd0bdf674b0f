import { parse as parseYaml } from 'yaml';
import { CustodyError, formatProblems, isCustodyError, type Problem } from './errors.js';
import { readRegularFile } from './safe-fs.js';
import { isSeverity, type Severity } from './severity.js';
import { isRecord } from './json.js';

/**
 * `.custody.yml`. Flow: load → parse → normalize → validate; every problem is collected and reported
 * at once. Config is data: nothing in it can cause code to load.
 *
 * Only the file the user names (`--config FILE`) is read. Nothing is loaded from the working directory
 * or from inside a scanned tree on its own: `cd repo && custody scan .` is the usual way to scan an
 * untrusted repository, and its own `.custody.yml` could otherwise switch rules off.
 */
export interface RuleSetting {
  enabled: boolean;
  severity?: Severity;
}

export interface Limits {
  /** Largest container member or decompressed stream read into memory. */
  maxMemberBytes: number;
  /** Containers inside containers. */
  maxNesting: number;
  /** Wall-clock budget per top-level file. */
  fileTimeoutMs: number;
  /** Text files larger than this are read in windows by text scanners, or skipped with a finding. */
  maxTextBytes: number;
  /** Findings of one rule listed per file; the rest are counted in one `core/findings-capped` finding. */
  maxFindingsPerRule: number;
  /** Entries read from one archive (zip, tar); the rest are reported, not scanned. */
  maxEntries: number;
}

export interface ResolvedConfig {
  rules: ReadonlyMap<string, RuleSetting>;
  exclude: readonly string[];
  models: {
    /** Extra globals to treat as safe: `module.name` or `module.*`. */
    allow: readonly string[];
  };
  deps: {
    /** An offline advisory database (OSV export directory or zip, or a PyPA advisory-database clone). */
    advisories?: string;
  };
  secrets: {
    /** Values matching any of these regular expressions are not reported. */
    allowValues: readonly string[];
    /** Paths (globs) whose secrets are not reported. */
    allowPaths: readonly string[];
  };
  limits: Limits;
}

export const DEFAULT_LIMITS: Limits = {
  maxMemberBytes: 512 * 1024 * 1024,
  maxNesting: 6,
  fileTimeoutMs: 60_000,
  maxTextBytes: 64 * 1024 * 1024,
  maxEntries: 100_000,
  maxFindingsPerRule: 1000,
};

export function defaultConfig(): ResolvedConfig {
  return {
    rules: new Map(),
    exclude: [],
    models: { allow: [] },
    deps: {},
    secrets: { allowValues: [], allowPaths: [] },
    limits: { ...DEFAULT_LIMITS },
  };
}

const TOP_KEYS = new Set(['rules', 'exclude', 'models', 'deps', 'secrets', 'limits']);

/** Parses and validates config text. `knownRuleIds`, when given, makes unknown rule ids problems. */
export function parseConfig(text: string, source: string, knownRuleIds?: ReadonlySet<string>): ResolvedConfig {
  const problems: Problem[] = [];
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100, uniqueKeys: true }) ?? {};
  } catch (error) {
    throw new CustodyError('CONFIG_INVALID', `${source}: not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  const config = defaultConfig();
  if (!isRecord(raw)) {
    throw new CustodyError('CONFIG_INVALID', `${source}: expected a mapping at the top level, found ${typeName(raw)}`);
  }
  for (const key of Object.keys(raw)) {
    if (!TOP_KEYS.has(key)) problems.push({ path: key, message: `unknown key; expected one of ${[...TOP_KEYS].join(', ')}` });
  }

  const rules = new Map<string, RuleSetting>();
  if (raw['rules'] !== undefined) {
    if (!isRecord(raw['rules'])) problems.push({ path: 'rules', message: `expected a mapping of rule id to setting, found ${typeName(raw['rules'])}` });
    else {
      for (const [id, value] of Object.entries(raw['rules'])) {
        const path = `rules.${id}`;
        if (knownRuleIds && !knownRuleIds.has(id)) problems.push({ path, message: 'unknown rule id (see `custody rules`)' });
        if (value === 'off' || value === false) rules.set(id, { enabled: false });
        else if (value === 'on' || value === true) rules.set(id, { enabled: true });
        else if (isSeverity(value)) rules.set(id, { enabled: true, severity: value });
        else if (isRecord(value)) {
          const setting: RuleSetting = { enabled: value['enabled'] !== false };
          if (value['enabled'] !== undefined && typeof value['enabled'] !== 'boolean') problems.push({ path: `${path}.enabled`, message: 'expected true or false' });
          if (value['severity'] !== undefined) {
            if (isSeverity(value['severity'])) setting.severity = value['severity'];
            else problems.push({ path: `${path}.severity`, message: `expected critical, high, medium, low or info, found ${JSON.stringify(value['severity'])}` });
          }
          for (const k of Object.keys(value)) if (k !== 'enabled' && k !== 'severity') problems.push({ path: `${path}.${k}`, message: 'unknown key; expected enabled or severity' });
          rules.set(id, setting);
        } else problems.push({ path, message: `expected off, on, a severity, or {enabled, severity}; found ${JSON.stringify(value)}` });
      }
    }
  }
  config.rules = rules;

  const exclude = stringList(raw['exclude'], 'exclude', problems);
  if (exclude) config.exclude = exclude;

  const models = section(raw, 'models', ['allow'], problems);
  if (models) {
    const allow = stringList(models['allow'], 'models.allow', problems);
    if (allow) {
      for (const [i, entry] of allow.entries()) {
        if (!/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*(\.\*)?$/.test(entry)) problems.push({ path: `models.allow[${i}]`, message: `expected module.name or module.*, found ${JSON.stringify(entry)}` });
      }
      config.models = { allow };
    }
  }

  const deps = section(raw, 'deps', ['advisories'], problems);
  if (deps?.['advisories'] !== undefined) {
    if (typeof deps['advisories'] === 'string' && deps['advisories'] !== '') config.deps = { advisories: deps['advisories'] };
    else problems.push({ path: 'deps.advisories', message: `expected a path, found ${typeName(deps['advisories'])}` });
  }

  const secrets = section(raw, 'secrets', ['allowValues', 'allowPaths'], problems);
  if (secrets) {
    const allowValues = stringList(secrets['allowValues'], 'secrets.allowValues', problems) ?? [];
    for (const [i, pattern] of allowValues.entries()) {
      try {
        new RegExp(pattern, 'u');
      } catch (error) {
        problems.push({ path: `secrets.allowValues[${i}]`, message: `not a valid regular expression: ${(error as Error).message}` });
      }
    }
    config.secrets = { allowValues, allowPaths: stringList(secrets['allowPaths'], 'secrets.allowPaths', problems) ?? [] };
  }

  const limits = section(raw, 'limits', Object.keys(DEFAULT_LIMITS), problems);
  if (limits) {
    for (const [key, value] of Object.entries(limits)) {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) problems.push({ path: `limits.${key}`, message: `expected a positive integer, found ${JSON.stringify(value)}` });
      else (config.limits as unknown as Record<string, number>)[key] = value;
    }
  }

  if (problems.length > 0) {
    throw new CustodyError('CONFIG_INVALID', `${source} has ${problems.length} problem(s):\n${formatProblems(problems)}`, { details: { problems } });
  }
  return config;
}

/** The largest configuration file read. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Reads a configuration file as a regular file of bounded size (a FIFO or device is refused, never
 * waited on). Errors: CONFIG_NOT_FOUND, SPECIAL_FILE, INPUT_LIMIT, IO_ERROR, CONFIG_INVALID.
 */
export async function loadConfig(path: string, knownRuleIds?: ReadonlySet<string>): Promise<ResolvedConfig> {
  let data: Buffer;
  try {
    data = await readRegularFile(path, { maxBytes: MAX_CONFIG_BYTES });
  } catch (error) {
    if (isCustodyError(error, 'PATH_NOT_FOUND')) throw new CustodyError('CONFIG_NOT_FOUND', `cannot read config file ${path}: ${error.message}`, { cause: error });
    throw error;
  }
  return parseConfig(data.toString('utf8'), path, knownRuleIds);
}

function section(raw: Record<string, unknown>, key: string, allowed: readonly string[], problems: Problem[]): Record<string, unknown> | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (!isRecord(value)) {
    problems.push({ path: key, message: `expected a mapping, found ${typeName(value)}` });
    return undefined;
  }
  for (const k of Object.keys(value)) if (!allowed.includes(k)) problems.push({ path: `${key}.${k}`, message: `unknown key; expected one of ${allowed.join(', ')}` });
  return value;
}

function stringList(value: unknown, path: string, problems: Problem[]): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    problems.push({ path, message: `expected a list of strings, found ${typeName(value)}` });
    return undefined;
  }
  return value as string[];
}

function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value;
}
