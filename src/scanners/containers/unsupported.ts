import type { ScanContext, ScanTarget } from '../../core/scanner.js';
import { unscannableContainerRule } from './archive-rules.js';

interface Magic {
  format: string;
  at: number;
  bytes: readonly number[] | string;
  kind: 'archive' | 'compression';
}

/** Archives and compressed streams Custody does not open. Detected by magic bytes at a fixed offset. */
const MAGICS: readonly Magic[] = [
  { format: '7-Zip', at: 0, bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], kind: 'archive' },
  { format: 'RAR', at: 0, bytes: [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07], kind: 'archive' },
  { format: 'Microsoft CAB', at: 0, bytes: [0x4d, 0x53, 0x43, 0x46, 0, 0, 0, 0], kind: 'archive' },
  { format: 'ar (Unix archive, .deb)', at: 0, bytes: '!<arch>\n', kind: 'archive' },
  { format: 'cpio', at: 0, bytes: '070701', kind: 'archive' },
  { format: 'cpio', at: 0, bytes: '070702', kind: 'archive' },
  { format: 'cpio', at: 0, bytes: '070707', kind: 'archive' },
  { format: 'xar', at: 0, bytes: 'xar!', kind: 'archive' },
  { format: 'RPM', at: 0, bytes: [0xed, 0xab, 0xee, 0xdb], kind: 'archive' },
  { format: 'squashfs', at: 0, bytes: 'hsqs', kind: 'archive' },
  { format: 'ISO 9660', at: 0x8001, bytes: 'CD001', kind: 'archive' },
  { format: 'Unix compress (.Z)', at: 0, bytes: [0x1f, 0x9d], kind: 'compression' },
  { format: 'lzip', at: 0, bytes: 'LZIP', kind: 'compression' },
  { format: 'lzop', at: 0, bytes: [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a], kind: 'compression' },
  { format: 'legacy LZ4', at: 0, bytes: [0x02, 0x21, 0x4c, 0x18], kind: 'compression' },
  { format: 'Brotli-framed (.br)', at: 0, bytes: [0xce, 0xb2, 0xcf, 0x81], kind: 'compression' },
];

function matches(head: Buffer, magic: Magic): boolean {
  const bytes = typeof magic.bytes === 'string' ? Buffer.from(magic.bytes, 'latin1') : magic.bytes;
  if (head.length < magic.at + bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (head[magic.at + i] !== bytes[i]) return false;
  return true;
}

function identify(target: ScanTarget): Magic | undefined {
  return MAGICS.find((magic) => matches(target.head, magic));
}

/**
 * Archives and compressed streams Custody cannot open are never passed silently: a 7z or RAR may carry
 * a pickle that a pipeline unpacks and loads, or a key that a deployment unpacks. Zip, tar, gzip,
 * bzip2, xz, zstd, LZ4 and LZMA are opened by the other readers of this layer.
 */
export function reportUnopenable(target: ScanTarget, context: ScanContext): void {
  const found = identify(target);
  if (found === undefined) return;
  const report = context.reporter(unscannableContainerRule, target);
  if (found.kind === 'archive') report({ message: 'archive', data: { format: found.format } });
  else report({ message: 'compression', data: { format: found.format, detail: 'Custody cannot decode it' } });
}
