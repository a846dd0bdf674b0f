import { lstatSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readAll } from '../../core/byte-source.js';
import { readSmallRegularFileSync } from '../../core/safe-fs.js';
import type { AnyRule } from '../../core/rule.js';
import type { ScanContext, Scanner, ScanTarget } from '../../core/scanner.js';
import { ciDomain } from './domains/ci.js';
import { cloudDomain } from './domains/cloud.js';
import { composeDomain } from './domains/compose.js';
import { dockerfileDomain } from './domains/dockerfile.js';
import { kubernetesDomain } from './domains/kubernetes.js';
import { servicesDomain } from './domains/services.js';
import { classifyByName, classifyJson, classifyYaml } from './kinds.js';
import { configUnreadableRule } from './unreadable.js';
import type { ConfigDomain, ConfigFile, ConfigKind, ConfigReport } from './types.js';
import { parseYamlDocuments, type YamlDocument } from './yaml.js';

/** Every configuration domain, sorted by name. */
export const CONFIG_DOMAINS: readonly ConfigDomain[] = [ciDomain, cloudDomain, composeDomain, dockerfileDomain, kubernetesDomain, servicesDomain];

export const CONFIG_RULES: readonly AnyRule[] = [configUnreadableRule, ...CONFIG_DOMAINS.flatMap((d) => d.rules)].sort((a, b) => (a.id < b.id ? -1 : 1));

const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
const MAX_SIBLING_BYTES = 1024 * 1024;

/** Reads a small regular file next to `absPath` (never through a link, never blocking on a FIFO). */
function siblingReader(target: ScanTarget): (name: string) => string | undefined {
  if (target.absPath === undefined || target.member !== undefined) return () => undefined;
  const dir = dirname(target.absPath);
  return (name) => {
    const path = join(dir, name);
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat?.isFile()) return undefined;
    if (stat.size > MAX_SIBLING_BYTES) return '';
    return readSmallRegularFileSync(path, MAX_SIBLING_BYTES)?.toString('utf8');
  };
}

const MAX_SIBLING_NAMES = 500;

function siblingLister(target: ScanTarget): () => string[] {
  if (target.absPath === undefined || target.member !== undefined) return () => [];
  const dir = dirname(target.absPath);
  return () => {
    try {
      return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort().slice(0, MAX_SIBLING_NAMES);
    } catch {
      return [];
    }
  };
}

function isChartValues(target: ScanTarget): boolean {
  if (target.absPath === undefined || target.member !== undefined) return false;
  return lstatSync(join(dirname(target.absPath), 'Chart.yaml'), { throwIfNoEntry: false })?.isFile() === true;
}

export async function scanConfig(target: ScanTarget, context: ScanContext): Promise<void> {
  const path = target.member ?? target.path;
  const byName = classifyByName(path);
  if (!byName) return;
  const kinds = new Set(CONFIG_DOMAINS.flatMap((d) => d.kinds));
  // Nothing to do for kinds no domain reads (cheap exit before reading the file).
  if (byName !== 'yaml' && byName !== 'json' && !kinds.has(byName)) return;
  const unreadable = context.reporter(configUnreadableRule, target);
  const bytes = await readAll(target.source, Math.min(MAX_CONFIG_BYTES, context.limits.maxTextBytes));
  if (!bytes) {
    if (byName !== 'yaml' && byName !== 'json') unreadable({ message: 'tooLarge', data: { size: target.source.size, limit: MAX_CONFIG_BYTES }, line: 1, key: 'too-large' });
    return;
  }
  if (bytes.subarray(0, 8192).includes(0)) return; // binary
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  let kind: ConfigKind;
  let yaml: YamlDocument[] | undefined;
  if (byName === 'yaml' || byName === 'json') {
    const classified = byName === 'yaml' ? classifyYaml(path, text, isChartValues(target)) : classifyJson(text);
    if (!classified) return;
    kind = classified.kind;
    yaml = classified.yaml;
  } else kind = byName;
  if (!kinds.has(kind)) return;
  if (yaml === undefined && (kind === 'compose' || kind === 'github-actions' || kind === 'gitlab-ci')) yaml = parseYamlDocuments(text);
  for (const doc of yaml ?? []) {
    const first = doc.errors[0];
    if (first) unreadable({ message: 'yaml', data: { problem: first.message }, line: first.at.line, column: first.at.column, key: `yaml:${first.at.line}` });
  }
  const lines = text.split(/\r?\n/);
  const file: ConfigFile = {
    kind,
    path: target.member === undefined ? target.path : `${target.path}!${target.member}`,
    text,
    ...(yaml === undefined ? {} : { yaml }),
    sibling: siblingReader(target),
    siblingNames: siblingLister(target),
    lineText: (line) => (lines[line - 1] ?? '').trim(),
  };
  const reporters = new Map<string, ReturnType<ScanContext['reporter']>>();
  const report: ConfigReport = (rule, input) => {
    let reporter = reporters.get(rule.id);
    if (!reporter) {
      reporter = context.reporter(rule, target);
      reporters.set(rule.id, reporter);
    }
    reporter(input as Parameters<typeof reporter>[0]);
  };
  for (const domain of CONFIG_DOMAINS) if (domain.kinds.includes(kind)) domain.check(file, report);
}

export const configScanner: Scanner = {
  name: 'config',
  description: 'Dockerfiles, Compose, Kubernetes, CI workflows, ML service configs and launch flags, IAM and SageMaker infrastructure.',
  rules: CONFIG_RULES,
  scan: (target, context) => scanConfig(target, context),
};
