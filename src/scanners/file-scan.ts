import { FileSource, readAll, type ByteSource } from '../core/byte-source.js';
import type { ResolvedConfig } from '../core/config.js';
import { computeFingerprint, type Finding, type Location } from '../core/finding.js';
import { clip, redactSecret, secretTag } from '../core/redact.js';
import { formatMessage, type AnyRule, type Report, type ReportInput } from '../core/rule.js';
import { HEAD_BYTES, type ScanContext, type ScanTarget, type Scanner } from '../core/scanner.js';
import { atLeast, severityRank, type Severity } from '../core/severity.js';
import type { WalkedFile } from '../core/walk.js';
import { findingsCappedRule, invalidSuppressionRule, nestingLimitRule, scanErrorRule } from './core/rules.js';
import { redactFindingText } from './redact-text.js';

/** Builds a Finding from a rule and a report: applies overrides, redacts secrets, fingerprints. */
export function buildFinding(rule: AnyRule, target: Pick<ScanTarget, 'path' | 'member' | 'properties'>, input: ReportInput<string>, config: ResolvedConfig): Finding {
  const setting = config.rules.get(rule.id);
  const member = [target.member, input.member].filter((m): m is string => m !== undefined && m !== '').join('!');
  const location: Location = { path: target.path };
  if (member !== '') location.member = member;
  if (input.line !== undefined) location.line = input.line;
  if (input.column !== undefined) location.column = input.column;
  if (input.endLine !== undefined) location.endLine = input.endLine;
  if (input.offset !== undefined) location.offset = input.offset;

  let evidence = input.evidence;
  let key = input.key;
  if (input.secret !== undefined) {
    const redacted = redactSecret(input.secret);
    evidence = evidence === undefined ? redacted : evidence.split(input.secret).join(redacted);
    key = `${key ?? ''}\0${secretTag(input.secret, rule.id)}`;
  }
  const template = rule.messages[input.message] ?? input.message;
  const finding: Finding = {
    ruleId: rule.id,
    scanner: rule.scanner,
    severity: setting?.severity ?? input.severity ?? rule.severity,
    confidence: input.confidence ?? rule.confidence,
    title: rule.title,
    message: formatMessage(template, input.data),
    location,
    remediation: rule.remediation,
    docs: rule.docs,
    fingerprint: '',
    tags: rule.tags,
  };
  if (evidence !== undefined) finding.evidence = evidence;
  const properties = target.properties === undefined ? input.properties : { ...target.properties, ...input.properties };
  if (properties !== undefined) finding.properties = properties;
  // Text built from the input (message, evidence, properties) is redacted whatever rule built it; evidence is clipped after, so no secret is cut unrecognisably.
  redactFindingText(finding);
  if (finding.evidence !== undefined) finding.evidence = clip(finding.evidence, 300);
  finding.fingerprint = computeFingerprint(rule.id, location, key ?? evidence ?? finding.message);
  return finding;
}

export interface FileScanOptions {
  scanners: readonly Scanner[];
  config: ResolvedConfig;
  knownRuleIds: ReadonlySet<string>;
}

/**
 * The scanners that still read a file matched by an ignore file inside the scanned tree: formats that
 * run code when loaded (models) and the containers that carry them. Ignore files come from the tree,
 * so they may lower noise but never hide code execution.
 */
export const HIGH_RISK_SCANNERS: readonly string[] = ['containers', 'models'];

/** The lowest severity still reported for a file matched by an ignore file inside the scanned tree. */
export const IGNORED_FILE_MIN_SEVERITY: Severity = 'high';

/**
 * Scans one file on disk with every selected scanner. Never throws: failures become findings.
 * The file is opened without blocking and without following a link as its last component (a walked
 * link is opened at its resolved target), so a FIFO, device or link swapped in after the walk is a
 * `core/scan-error` finding, not a hang. A file the walk marked `ignored` is scanned by the high-risk
 * scanners only, and only findings at or above IGNORED_FILE_MIN_SEVERITY are kept.
 */
export async function scanFile(file: WalkedFile, options: FileScanOptions): Promise<Finding[]> {
  let source: FileSource;
  try {
    source = await FileSource.open(file.openPath ?? file.absPath, { noFollow: true });
  } catch (error) {
    // The code (SPECIAL_FILE, SYMLINK_REFUSED, …) is kept as a property for tools reading the report.
    const code = (error as { code?: unknown }).code;
    const properties = { ...(typeof code === 'string' ? { errorCode: code } : {}), ...(file.alsoAt === undefined ? {} : { alsoAt: file.alsoAt }) };
    return [buildFinding(scanErrorRule, { path: file.displayPath, properties }, { message: 'failed', data: { scanner: 'file', reason: describe(error) } }, options.config)];
  }
  const ignored = file.ignored === true;
  const scanners = ignored ? options.scanners.filter((s) => s.alwaysOn === true || HIGH_RISK_SCANNERS.includes(s.name)) : options.scanners;
  const properties = file.alsoAt === undefined ? undefined : { alsoAt: file.alsoAt };
  try {
    const findings = await scanBlob(file.displayPath, source, { ...options, scanners }, file.undecodable ? undefined : file.absPath, properties);
    return ignored ? findings.filter((f) => atLeast(f.severity, IGNORED_FILE_MIN_SEVERITY)) : findings;
  } finally {
    await source.close();
  }
}

/**
 * `scanSource` plus inline suppressions: what `custody scan` applies to a file on disk, for bytes from
 * anywhere (a git blob, a notebook being cleaned). Never throws: failures become findings.
 */
export async function scanBlob(path: string, source: ByteSource, options: FileScanOptions, absPath?: string, properties?: Readonly<Record<string, unknown>>): Promise<Finding[]> {
  const findings = await scanSource(path, source, options, absPath, properties);
  return applySuppressions(path, source, findings, options);
}

/**
 * Scans bytes that are not (or not only) a file on disk — a git blob, an image layer member — as if
 * they were a file at `path`. Never throws: failures become findings. `properties` are added to every
 * finding (e.g. the other paths that reach the same file).
 */
export async function scanSource(path: string, source: ByteSource, options: FileScanOptions, absPath?: string, properties?: Readonly<Record<string, unknown>>): Promise<Finding[]> {
  const findings: Finding[] = [];
  const { config, scanners } = options;
  // Findings listed per rule are bounded; the rest are counted, keeping their highest severity.
  const listed = new Map<string, number>();
  const capped = new Map<string, { count: number; severity: Severity }>();
  const add = (rule: AnyRule, target: ScanTarget, input: ReportInput<string>): void => {
    const count = listed.get(rule.id) ?? 0;
    if (count < config.limits.maxFindingsPerRule) {
      listed.set(rule.id, count + 1);
      findings.push(buildFinding(rule, target, input, config));
      return;
    }
    const severity = config.rules.get(rule.id)?.severity ?? input.severity ?? rule.severity;
    const entry = capped.get(rule.id) ?? { count: 0, severity };
    entry.count += 1;
    if (severityRank(severity) > severityRank(entry.severity)) entry.severity = severity;
    capped.set(rule.id, entry);
  };
  const context: ScanContext = {
    config,
    limits: config.limits,
    deadline: Date.now() + config.limits.fileTimeoutMs,
    isEnabled: (ruleId) => config.rules.get(ruleId)?.enabled !== false,
    reporter<M extends string>(rule: AnyRule, target: ScanTarget): Report<M> {
      if (config.rules.get(rule.id)?.enabled === false) return () => undefined;
      return (input) => add(rule, target, input as ReportInput<string>);
    },
    // Containers (src/scanners/containers/) hand each member here once; every scanner sees it, the
    // containers scanner included, so containers nest — up to limits.maxNesting, past which the member
    // is reported and not read.
    scanMember: async (parent, member, memberSource, properties) => {
      const path = parent.member === undefined ? member : `${parent.member}!${member}`;
      const depth = parent.depth + 1;
      if (depth > config.limits.maxNesting) {
        context.reporter(nestingLimitRule, parent)({ message: 'tooDeep', member, data: { member: path, limit: config.limits.maxNesting } });
        return;
      }
      const inherited = properties === undefined ? parent.properties : { ...parent.properties, ...properties };
      const target: ScanTarget = {
        path: parent.path,
        member: path,
        source: memberSource,
        head: await memberSource.read(0, HEAD_BYTES),
        depth,
        ...(inherited === undefined ? {} : { properties: inherited }),
      };
      await runScanners(target, scanners, context);
    },
  };
  try {
    const head = await source.read(0, HEAD_BYTES);
    const target: ScanTarget = { path, source, head, depth: 0, ...(absPath === undefined ? {} : { absPath }), ...(properties === undefined ? {} : { properties }) };
    await runScanners(target, scanners, context);
  } catch (error) {
    findings.push(buildFinding(scanErrorRule, { path, ...(properties === undefined ? {} : { properties }) }, { message: 'failed', data: { scanner: 'file', reason: describe(error) } }, config));
  }
  for (const [rule, { count, severity }] of capped) {
    findings.push(buildFinding(findingsCappedRule, { path, ...(properties === undefined ? {} : { properties }) }, { message: 'capped', severity, key: rule, data: { count, rule, limit: config.limits.maxFindingsPerRule } }, config));
  }
  return findings;
}

async function runScanners(target: ScanTarget, scanners: readonly Scanner[], context: ScanContext): Promise<void> {
  for (const scanner of scanners) {
    try {
      await scanner.scan(target, context);
    } catch (error) {
      context.reporter(scanErrorRule, target)({ message: 'failed', data: { scanner: scanner.name, reason: describe(error) } });
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return clip(`${typeof code === 'string' ? `${code}: ` : ''}${error.message}`, 200);
  }
  return 'unknown error';
}

const SUPPRESSION = /custody-ignore\s+([A-Za-z0-9_-]+\/[A-Za-z0-9_-]+)(?:\s+--\s*(\S[^\n]*))?/;

/**
 * Inline suppressions: `custody-ignore <rule-id> -- <reason>` on the finding's line or the line above.
 * Only findings with a line in the file as stored can be suppressed; a suppression without a reason
 * or naming an unknown rule does not suppress and is itself reported. When the text cannot be read,
 * nothing is suppressed.
 */
async function applySuppressions(path: string, source: ByteSource, findings: Finding[], options: FileScanOptions): Promise<Finding[]> {
  const withLines = findings.filter((f) => f.location.line !== undefined && (f.location.member === undefined || f.location.member === ''));
  if (withLines.length === 0) return findings;
  let data: Buffer | undefined;
  try {
    data = await readAll(source, options.config.limits.maxTextBytes);
  } catch {
    return findings;
  }
  if (data === undefined || !data.includes('custody-ignore')) return findings;
  const lines = data.toString('utf8').split('\n');
  const kept: Finding[] = [];
  const reported = new Set<number>();
  for (const finding of findings) {
    const line = finding.location.line;
    if (line === undefined || !withLines.includes(finding)) {
      kept.push(finding);
      continue;
    }
    let suppressed = false;
    for (const at of [line, line - 1]) {
      const match = SUPPRESSION.exec(lines[at - 1] ?? '');
      if (!match || match[1] !== finding.ruleId) continue;
      const reason = match[2]?.trim();
      if (!options.knownRuleIds.has(match[1])) {
        if (!reported.has(at)) kept.push(buildFinding(invalidSuppressionRule, { path }, { message: 'unknownRule', line: at, data: { rule: match[1] } }, options.config));
      } else if (!reason) {
        if (!reported.has(at)) kept.push(buildFinding(invalidSuppressionRule, { path }, { message: 'noReason', line: at, data: { rule: match[1] } }, options.config));
      } else suppressed = true;
      reported.add(at);
      break;
    }
    if (!suppressed) kept.push(finding);
  }
  return kept;
}
