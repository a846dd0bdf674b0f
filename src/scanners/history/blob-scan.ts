import { BufferSource, readAll, type ByteSource } from '../../core/byte-source.js';
import type { Finding } from '../../core/finding.js';
import { scanSource, type FileScanOptions } from '../file-scan.js';

/**
 * Scans one blob as if it were a file at `path`, dropping findings that an inline suppression
 * (`custody-ignore <rule-id> -- <reason>` on the finding's line or the line above) silences — the
 * same rule `custody scan` applies to files on disk. Used for history blobs (in the main thread and in
 * history workers) and by `custody notebook clean`.
 */
export async function scanBlob(path: string, source: ByteSource, options: FileScanOptions): Promise<Finding[]> {
  const findings = await scanSource(path, source, options);
  if (!findings.some((f) => f.location.line !== undefined && f.location.member === undefined)) return findings;
  const data = source instanceof BufferSource ? source.all() : await readAll(source, options.config.limits.maxTextBytes);
  if (data === undefined || !data.includes('custody-ignore')) return findings;
  const lines = data.toString('utf8').split('\n');
  return findings.filter((finding) => !isSuppressed(finding, lines));
}

const SUPPRESSION = /custody-ignore\s+([A-Za-z0-9_-]+\/[A-Za-z0-9_-]+)\s+--\s*\S/;

function isSuppressed(finding: Finding, lines: readonly string[]): boolean {
  const line = finding.location.line;
  if (line === undefined || finding.location.member !== undefined) return false;
  return [line, line - 1].some((at) => {
    const match = SUPPRESSION.exec(lines[at - 1] ?? '');
    return match !== null && match[1] === finding.ruleId;
  });
}
