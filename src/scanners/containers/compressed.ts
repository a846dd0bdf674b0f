import { SliceSource } from '../../core/byte-source.js';
import type { ScanContext, ScanTarget } from '../../core/scanner.js';
import { decodeToSource, SPOOL_MEMORY_BYTES, type Codec } from './decompress.js';
import { archiveLimitExceededRule, compressedStreamDamagedRule } from './archive-rules.js';

/** A compressed wrapper recognised by its magic bytes. */
export interface Wrapper {
  codec: Codec;
  /** Name in messages. */
  label: string;
  /** Bytes of wrapper header before the stream (joblib's old `ZF` header). */
  skip: number;
  /** Strong magic: damage is always reported. Weak magic (a bare zlib header) is reported only when something decoded. */
  strong: boolean;
}

/** Expansion beyond this ratio on a large output is reported as a bomb pattern. */
export const BOMB_RATIO = 500;
export const BOMB_MIN_OUTPUT = 16 * 1024 * 1024;

const ZF_HEADER = 2 + 19;

function startsWith(head: Buffer, bytes: readonly number[], at = 0): boolean {
  if (head.length < at + bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (head[at + i] !== bytes[i]) return false;
  return true;
}

/** Recognises gzip, zlib, joblib's `ZF`, bzip2, xz, zstd, LZ4-frame and LZMA-alone streams by their first bytes. */
export function sniffWrapper(head: Buffer): Wrapper | undefined {
  if (startsWith(head, [0x1f, 0x8b, 0x08])) return { codec: 'gzip', label: 'gzip', skip: 0, strong: true };
  if (startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return { codec: 'xz', label: 'xz', skip: 0, strong: true };
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) return { codec: 'zstd', label: 'zstd', skip: 0, strong: true };
  if (startsWith(head, [0x04, 0x22, 0x4d, 0x18])) return { codec: 'lz4', label: 'LZ4 frame', skip: 0, strong: true };
  if (startsWith(head, [0x42, 0x5a, 0x68]) && (head[3] ?? 0) >= 0x31 && (head[3] ?? 0) <= 0x39) {
    if (startsWith(head, [0x31, 0x41, 0x59, 0x26, 0x53, 0x59], 4) || startsWith(head, [0x17, 0x72, 0x45, 0x38, 0x50, 0x90], 4)) {
      return { codec: 'bzip2', label: 'bzip2', skip: 0, strong: true };
    }
  }
  // joblib < 0.10: b'ZF' + hex(length) left-justified to 19 characters (+ one more space in old files).
  if (head.length > ZF_HEADER && head.subarray(0, 4).toString('latin1') === 'ZF0x' && /^ZF0x[0-9a-fA-F]+L? *$/.test(head.subarray(0, ZF_HEADER).toString('latin1'))) {
    return { codec: 'zlib', label: 'joblib ZF (zlib)', skip: head[ZF_HEADER] === 0x20 ? ZF_HEADER + 1 : ZF_HEADER, strong: true };
  }
  if (isLzmaAlone(head)) return { codec: 'lzma-alone', label: 'LZMA', skip: 0, strong: false };
  const cmf = head[0] ?? 0;
  const flg = head[1] ?? 0;
  if (cmf === 0x78 && (flg === 0x01 || flg === 0x5e || flg === 0x9c || flg === 0xda) && ((cmf << 8) | flg) % 31 === 0) {
    return { codec: 'zlib', label: 'zlib', skip: 0, strong: false };
  }
  return undefined;
}

/**
 * LZMA "alone" (.lzma, joblib `compress='lzma'`): the properties byte 0x5D (lc=3 lp=0 pb=2, what every
 * xz/Python preset writes), a dictionary size that is a power of two or 3×2^n, and an uncompressed size that is -1 or sane.
 */
export function isLzmaAlone(head: Buffer): boolean {
  if (head.length < 14 || head[0] !== 0x5d) return false;
  const dict = head.readUInt32LE(1);
  const pow2 = dict > 0 && (dict & (dict - 1)) === 0;
  const third = dict / 3;
  const three = Number.isInteger(third) && third > 0 && (third & (third - 1)) === 0;
  if (!(pow2 || three) || dict < 4096) return false;
  const size = head.readBigUInt64LE(5);
  // The range coder's first byte is always 0.
  return (size === 0xffffffffffffffffn || size < 1n << 48n) && head[13] === 0;
}

const EXTENSIONS = /\.(gz|gzip|z|bz2|bz|xz|zst|zstd|lz4|zlib|lzma)$/i;
/** Short names of compressed tarballs: `x.tgz` holds `x.tar`. */
const TAR_EXTENSIONS = /\.(tgz|taz|tbz|tbz2|tb2|txz|tzst|tlz4)$/i;

/** The member name of the decoded content: the outer name without its compression extension. */
function memberName(target: ScanTarget, wrapper: Wrapper): string {
  const outer = target.member ?? target.path;
  const base = outer.slice(Math.max(outer.lastIndexOf('/'), outer.lastIndexOf('!')) + 1);
  const tarball = base.replace(TAR_EXTENSIONS, '.tar');
  if (tarball !== base && !tarball.startsWith('.')) return tarball;
  const stripped = base.replace(EXTENSIONS, '');
  return stripped !== base && stripped !== '' ? stripped : `${wrapper.codec} content`;
}

/**
 * Decodes a compressed wrapper (bounded by limits.maxMemberBytes and the deadline) and scans what it
 * holds with every scanner, as a member named after the file without its compression extension
 * (`data.tar.gz!data.tar`, `notes.ipynb.gz!notes.ipynb`). Large output is spooled to a temporary file and scanned from there, so
 * memory stays bounded whatever the stream expands to. A damaged stream is reported and its decoded
 * part still scanned.
 */
export async function scanCompressed(target: ScanTarget, context: ScanContext, wrapper: Wrapper): Promise<void> {
  const { source } = target;
  const maxMember = context.limits.maxMemberBytes;
  const limit = context.reporter(archiveLimitExceededRule, target);
  const name = memberName(target, wrapper);
  const compressedLength = Math.max(0, source.size - wrapper.skip);
  let inputLength = compressedLength;
  if (inputLength > maxMember) {
    limit({ message: 'inputSize', data: { name: target.member ?? target.path, size: compressedLength, limit: maxMember } });
    inputLength = maxMember;
  }
  const input = new SliceSource(source, wrapper.skip, inputLength);
  const result = await decodeToSource(wrapper.codec, input, { maxOutput: maxMember, deadline: context.deadline, memoryBytes: SPOOL_MEMORY_BYTES });
  try {
    const size = result.size;
    if (result.error !== undefined && size === 0 && !wrapper.strong) return; // a look-alike, not a zlib stream
    if (result.error !== undefined && inputLength === compressedLength) {
      context.reporter(compressedStreamDamagedRule, target)({
        message: 'damaged',
        data: { codec: wrapper.label, decoded: size, detail: result.error },
      });
    }
    if (result.stopped === 'limit') limit({ message: 'memberSize', data: { name, limit: maxMember } });
    else if (result.stopped === 'timeout') limit({ message: 'timeout', data: { kind: `${wrapper.label} stream`, count: 1 } });
    if (size > BOMB_MIN_OUTPUT && size > inputLength * BOMB_RATIO) {
      limit({
        message: 'ratio',
        severity: 'medium',
        data: { name, ratio: Math.round(size / Math.max(1, inputLength)), compressed: inputLength, size },
      });
    }
    if (size > 0) await context.scanMember(target, name, result.source);
  } finally {
    await result.dispose();
  }
}
