import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { compare as comparePep440, valid as validPep440 } from '@renovatebot/pep440';
import semver from 'semver';
import { parse as parseYaml } from 'yaml';
import { CustodyError } from '../../core/errors.js';
import { asRecord, isRecord } from '../../core/json.js';
import { BufferSource } from '../../core/byte-source.js';
import { readRegularFile } from '../../core/safe-fs.js';
import type { Severity } from '../../core/severity.js';
import { readZip } from '../containers/zip-reader.js';
import { cvss3BaseScore } from './cvss.js';
import { normalizePyPIName } from './pep508.js';
import type { Ecosystem } from './types.js';

/**
 * An offline advisory database in the OSV schema (https://ossf.github.io/osv-schema/): the OSV export
 * of an ecosystem (a zip or directory of `<id>.json`), or a clone of the PyPA advisory database (YAML,
 * `vulns/<package>/<id>.yaml`). Records are indexed by the package names they mention and parsed only
 * when a scanned manifest pins one of those packages.
 */

export interface Advisory {
  id: string;
  aliases: readonly string[];
  summary: string;
  severity: Severity;
  /** The first fixed version listed for the matched range, when there is one. */
  fixed?: string;
}

export interface AdvisoryMatch {
  advisories: Advisory[];
  /** Records naming the package that could not be read; the version was not fully checked against them. */
  unreadable: string[];
}

interface RawRecord {
  file: string;
  text: string;
  yaml: boolean;
  parsed?: ParsedRecord | null;
}

interface Range {
  events: { introduced?: string; fixed?: string; last_affected?: string; limit?: string }[];
}

interface Affected {
  ecosystem: Ecosystem;
  name: string;
  ranges: Range[];
  versions: ReadonlySet<string>;
}

interface ParsedRecord {
  advisory: Omit<Advisory, 'fixed'>;
  affected: Affected[];
}

const MAX_RECORD_BYTES = 8 * 1024 * 1024;
const MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024;
const MAX_RECORDS = 1_000_000;
const ECOSYSTEMS: Readonly<Record<string, Ecosystem>> = { pypi: 'pypi', npm: 'npm' };

function packageKey(ecosystem: Ecosystem, name: string): string {
  return `${ecosystem}:${ecosystem === 'pypi' ? normalizePyPIName(name) : name.toLowerCase()}`;
}

export class AdvisoryDatabase {
  private readonly byPackage = new Map<string, RawRecord[]>();
  readonly records: number;

  private constructor(records: RawRecord[]) {
    this.records = records.length;
    // Every `"name": "…"` (JSON) or `name: …` (YAML) is a candidate package name; a superset is fine,
    // the parsed record decides.
    const jsonName = /"name"\s*:\s*"([^"\\]{1,214})"/g;
    const yamlName = /^\s*-?\s*name\s*:\s*['"]?([^'"\s#]{1,214})/gm;
    for (const record of records) {
      const re = record.yaml ? yamlName : jsonName;
      re.lastIndex = 0;
      const names = new Set<string>();
      for (let m = re.exec(record.text); m; m = re.exec(record.text)) names.add(m[1]!);
      for (const name of names) {
        for (const ecosystem of ['pypi', 'npm'] as const) {
          const key = packageKey(ecosystem, name);
          const list = this.byPackage.get(key);
          if (list) list.push(record);
          else this.byPackage.set(key, [record]);
        }
      }
    }
  }

  /** Loads a directory (walked for .json/.yaml/.yml) or a zip of OSV records. Errors: PATH_NOT_FOUND, IO_ERROR, INPUT_LIMIT, PARSE_ERROR. */
  static async load(path: string): Promise<AdvisoryDatabase> {
    const records: RawRecord[] = [];
    let total = 0;
    const add = (file: string, bytes: Buffer): void => {
      total += bytes.length;
      if (records.length >= MAX_RECORDS || total > MAX_TOTAL_BYTES) throw new CustodyError('INPUT_LIMIT', `advisory database ${path} holds more than ${MAX_RECORDS} records or ${MAX_TOTAL_BYTES} bytes`);
      records.push({ file, text: bytes.toString('utf8'), yaml: /\.ya?ml$/i.test(file) });
    };
    let isDirectory: boolean;
    try {
      readdirSync(path);
      isDirectory = true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new CustodyError('PATH_NOT_FOUND', `advisory database ${path} does not exist`, { cause: error });
      isDirectory = false;
    }
    if (isDirectory) {
      const walk = async (dir: string, depth: number): Promise<void> => {
        if (depth > 16) return;
        for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
          if (entry.name.startsWith('.')) continue;
          const full = join(dir, entry.name);
          if (entry.isDirectory()) await walk(full, depth + 1);
          else if (entry.isFile() && /\.(?:json|ya?ml)$/i.test(entry.name)) add(full, await readRegularFile(full, { maxBytes: MAX_RECORD_BYTES }));
        }
      };
      await walk(path, 0);
    } else {
      await loadZip(path, add);
    }
    return new AdvisoryDatabase(records);
  }

  /** Advisories that affect `version` of a package. */
  match(ecosystem: Ecosystem, name: string, version: string): AdvisoryMatch {
    const result: AdvisoryMatch = { advisories: [], unreadable: [] };
    if (ecosystem !== 'pypi' && ecosystem !== 'npm') return result;
    const key = packageKey(ecosystem, name);
    for (const record of this.byPackage.get(key) ?? []) {
      if (record.parsed === undefined) record.parsed = parseRecord(record);
      if (record.parsed === null) {
        result.unreadable.push(record.file);
        continue;
      }
      const { advisory, affected } = record.parsed;
      for (const entry of affected) {
        if (entry.ecosystem !== ecosystem || packageKey(ecosystem, entry.name) !== key) continue;
        const hit = affects(entry, version);
        if (hit.affected) {
          result.advisories.push(hit.fixed === undefined ? { ...advisory } : { ...advisory, fixed: hit.fixed });
          break;
        }
      }
    }
    return result;
  }
}

/** Advisory exports are read whole (OSV's PyPI zip is tens of MB): one read instead of one per record. */
const MAX_ZIP_BYTES = 1024 * 1024 * 1024;

async function loadZip(path: string, add: (file: string, bytes: Buffer) => void): Promise<void> {
  const source = new BufferSource(await readRegularFile(path, { maxBytes: MAX_ZIP_BYTES }));
  const archive = await readZip(source, source.all().subarray(0, 64 * 1024), { maxEntries: MAX_RECORDS, deadline: Date.now() + 120_000 });
  if (!archive || !archive.hasEnd) throw new CustodyError('PARSE_ERROR', `advisory database ${path} is neither a directory nor a zip archive`);
  const all = source.all();
  for (const entry of archive.entries) {
    if (!/\.(?:json|ya?ml)$/i.test(entry.name) || entry.name.endsWith('/')) continue;
    if (entry.size > MAX_RECORD_BYTES || entry.compressedSize > MAX_RECORD_BYTES) throw new CustodyError('INPUT_LIMIT', `advisory ${entry.name} in ${path} is larger than ${MAX_RECORD_BYTES} bytes`);
    const start = entry.local?.dataStart;
    if (start === undefined || start + entry.compressedSize > all.length) throw new CustodyError('PARSE_ERROR', `advisory database ${path}: no data for ${entry.name}`);
    const raw = all.subarray(start, start + entry.compressedSize);
    let bytes: Buffer;
    if (entry.method === 0) bytes = raw;
    else if (entry.method === 8) {
      try {
        bytes = inflateRawSync(raw, { maxOutputLength: MAX_RECORD_BYTES });
      } catch (error) {
        throw new CustodyError('PARSE_ERROR', `advisory database ${path}: ${entry.name} does not inflate`, { cause: error });
      }
    } else throw new CustodyError('UNSUPPORTED_FORMAT', `advisory database ${path}: ${entry.name} uses zip method ${entry.method}`);
    add(`${path}!${entry.name}`, bytes);
  }
}

const GHSA_SEVERITY: Readonly<Record<string, Severity>> = { CRITICAL: 'critical', HIGH: 'high', MODERATE: 'medium', MEDIUM: 'medium', LOW: 'low' };

function severityOf(doc: Record<string, unknown>): Severity {
  const named = asRecord(doc['database_specific'])?.['severity'];
  if (typeof named === 'string' && GHSA_SEVERITY[named.toUpperCase()]) return GHSA_SEVERITY[named.toUpperCase()]!;
  let best: number | undefined;
  for (const item of Array.isArray(doc['severity']) ? doc['severity'] : []) {
    const score = asRecord(item)?.['score'];
    if (typeof score !== 'string') continue;
    const value = cvss3BaseScore(score) ?? (Number.isFinite(Number(score)) ? Number(score) : undefined);
    if (value !== undefined && (best === undefined || value > best)) best = value;
  }
  if (best === undefined) return 'high'; // a known vulnerability without a published score
  return best >= 9 ? 'critical' : best >= 7 ? 'high' : best >= 4 ? 'medium' : 'low';
}

function parseRecord(record: RawRecord): ParsedRecord | null {
  let doc: unknown;
  try {
    doc = record.yaml ? parseYaml(record.text, { maxAliasCount: 10 }) : JSON.parse(record.text);
  } catch {
    return null;
  }
  if (!isRecord(doc) || typeof doc['id'] !== 'string' || !Array.isArray(doc['affected'])) return null;
  if (typeof doc['withdrawn'] === 'string') return { advisory: { id: doc['id'], aliases: [], summary: '', severity: 'info' }, affected: [] };
  const affected: Affected[] = [];
  for (const item of doc['affected']) {
    const pkg = asRecord(asRecord(item)?.['package']);
    const ecosystem = typeof pkg?.['ecosystem'] === 'string' ? ECOSYSTEMS[pkg['ecosystem'].toLowerCase()] : undefined;
    if (!pkg || !ecosystem || typeof pkg['name'] !== 'string') continue;
    const ranges: Range[] = [];
    for (const range of Array.isArray(asRecord(item)?.['ranges']) ? (asRecord(item)!['ranges'] as unknown[]) : []) {
      const r = asRecord(range);
      if (!r || (r['type'] !== 'ECOSYSTEM' && r['type'] !== 'SEMVER') || !Array.isArray(r['events'])) continue;
      ranges.push({ events: r['events'].map((e) => asRecord(e) ?? {}).map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => typeof v === 'string'))) });
    }
    const versions = new Set(Array.isArray(asRecord(item)?.['versions']) ? (asRecord(item)!['versions'] as unknown[]).filter((v): v is string => typeof v === 'string') : []);
    affected.push({ ecosystem, name: pkg['name'], ranges, versions });
  }
  const aliases = Array.isArray(doc['aliases']) ? doc['aliases'].filter((a): a is string => typeof a === 'string') : [];
  const summary = typeof doc['summary'] === 'string' ? doc['summary'] : typeof doc['details'] === 'string' ? doc['details'].split('\n', 1)[0]! : '';
  return { advisory: { id: doc['id'], aliases, summary: summary.slice(0, 200), severity: severityOf(doc) }, affected };
}

function compareVersions(ecosystem: Ecosystem, a: string, b: string): number | undefined {
  if (a === '0') return b === '0' ? 0 : -1;
  if (b === '0') return 1;
  if (ecosystem === 'pypi') {
    if (!validPep440(a) || !validPep440(b)) return undefined;
    return comparePep440(a, b);
  }
  const x = semver.valid(a, { loose: true });
  const y = semver.valid(b, { loose: true });
  if (!x || !y) return undefined;
  return semver.compare(x, y);
}

/** OSV range evaluation: a version is affected when it lies in an introduced–fixed (or –last_affected) span. */
function affects(entry: Affected, version: string): { affected: boolean; fixed?: string } {
  if (entry.versions.has(version)) return { affected: true };
  for (const range of entry.ranges) {
    const events = range.events
      .map((e) => ({ kind: Object.keys(e)[0] as keyof Range['events'][number], value: Object.values(e)[0] as string }))
      .filter((e) => e.kind !== undefined && e.value !== undefined);
    // Spans in event order (OSV lists them sorted); `introduced` opens, the others close.
    let open: string | undefined;
    const spans: { from: string; to?: string; inclusive: boolean }[] = [];
    for (const event of events) {
      if (event.kind === 'introduced') open = event.value;
      else if (open !== undefined) {
        spans.push({ from: open, to: event.value, inclusive: event.kind === 'last_affected' });
        open = undefined;
      }
    }
    if (open !== undefined) spans.push({ from: open, inclusive: true });
    for (const span of spans) {
      const lower = compareVersions(entry.ecosystem, version, span.from);
      if (lower === undefined || lower < 0) continue;
      if (span.to === undefined) return { affected: true };
      const upper = compareVersions(entry.ecosystem, version, span.to);
      if (upper === undefined) continue;
      if (upper < 0 || (upper === 0 && span.inclusive)) return span.inclusive ? { affected: true } : { affected: true, fixed: span.to };
    }
  }
  return { affected: false };
}
