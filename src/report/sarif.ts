import type { Finding } from '../core/finding.js';
import type { AnyRule } from '../core/rule.js';
import { escapeJsonForTerminal } from '../core/terminal.js';
import type { Severity } from '../core/severity.js';
import type { ScanResult } from '../scanners/engine.js';
import type { ReportOptions } from './options.js';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' };
/** GitHub code scanning reads `security-severity` (0–10) to rank security alerts. */
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', info: '0.0' };

function ruleDescriptor(rule: AnyRule): Record<string, unknown> {
  const cwe = rule.tags.filter((t) => t.startsWith('cwe:')).map((t) => `external/cwe/cwe-${t.slice(4)}`);
  return {
    id: rule.id,
    name: rule.id.replace(/[/-](\w)/g, (_m: string, c: string) => c.toUpperCase()),
    shortDescription: { text: rule.title },
    fullDescription: { text: rule.description },
    help: { text: `${rule.description}\n\nRemediation: ${rule.remediation}`, markdown: `${rule.description}\n\n**Remediation:** ${rule.remediation}\n\n[Documentation](${rule.docs})` },
    helpUri: rule.docs,
    defaultConfiguration: { level: LEVEL[rule.severity] },
    properties: { tags: ['security', ...cwe, ...rule.tags.filter((t) => !t.startsWith('cwe:'))], precision: rule.confidence === 'high' ? 'high' : rule.confidence === 'medium' ? 'medium' : 'low', 'security-severity': SECURITY_SEVERITY[rule.severity] },
  };
}

/** Relative paths stay relative (GitHub resolves them against the repository root); absolute ones become file: URIs. */
function artifactUri(path: string): string {
  const encoded = path.replace(/^(\.\/)+/, '').split('/').map(encodeURIComponent).join('/');
  return path.startsWith('/') ? `file://${encoded}` : encoded;
}

function result(f: Finding, ruleIndex: Map<string, number>): Record<string, unknown> {
  const region: Record<string, number> = {};
  if (f.location.line !== undefined) region['startLine'] = f.location.line;
  if (f.location.column !== undefined) region['startColumn'] = f.location.column;
  if (f.location.endLine !== undefined) region['endLine'] = f.location.endLine;
  if (f.location.line === undefined && f.location.offset !== undefined && f.location.member === undefined) region['byteOffset'] = f.location.offset;
  const physicalLocation: Record<string, unknown> = { artifactLocation: { uri: artifactUri(f.location.path) } };
  if (Object.keys(region).length > 0) physicalLocation['region'] = region;
  const location: Record<string, unknown> = { physicalLocation };
  if (f.location.member) location['logicalLocations'] = [{ fullyQualifiedName: `${f.location.path}!${f.location.member}`, kind: 'member' }];
  const properties: Record<string, unknown> = { severity: f.severity, confidence: f.confidence, 'security-severity': SECURITY_SEVERITY[f.severity] };
  if (f.location.member) properties['member'] = f.location.member;
  if (f.location.offset !== undefined) properties['offset'] = f.location.offset;
  if (f.evidence !== undefined) properties['evidence'] = f.evidence;
  if (f.properties) Object.assign(properties, f.properties);
  const out: Record<string, unknown> = {
    ruleId: f.ruleId,
    level: LEVEL[f.severity],
    message: { text: f.message },
    locations: [location],
    partialFingerprints: { 'custody/v1': f.fingerprint },
    properties,
  };
  const index = ruleIndex.get(f.ruleId);
  if (index !== undefined) out['ruleIndex'] = index;
  return out;
}

/** SARIF 2.1.0, as GitHub code scanning accepts it; terminal-unsafe characters are JSON escapes (values unchanged). */
export function renderSarif(scan: ScanResult, options: ReportOptions): string {
  const used = new Set(scan.findings.map((f) => f.ruleId));
  const rules = options.rules.filter((r) => used.has(r.id) || options.rules.length <= 400);
  const ruleIndex = new Map(rules.map((r, i) => [r.id, i]));
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'custody', semanticVersion: options.toolVersion, version: options.toolVersion, informationUri: 'https://github.com/custody-dev/custody', rules: rules.map(ruleDescriptor) } },
        automationDetails: { id: `custody/scan/${scan.summary.scanners.join('+')}/` },
        columnKind: 'unicodeCodePoints',
        results: scan.findings.map((f) => result(f, ruleIndex)),
      },
    ],
  };
  return `${escapeJsonForTerminal(JSON.stringify(log, null, 2))}\n`;
}
