import { HEAD_BYTES } from '../../../core/scanner.js';
import type { ModelFormat } from '../format.js';
import {
  archiveLimitExceededRule,
  zipCrcMismatchRule,
  zipDuplicateEntryRule,
  zipFlagBitsRule,
  zipHeaderMismatchRule,
  zipMalformedRule,
  zipPathTraversalRule,
  zipPolyglotRule,
  zipUnsupportedCompressionRule,
} from '../containers/rules.js';
import { scanZip } from '../containers/zip-scan.js';
import { startsLikeZip } from '../containers/zip-reader.js';

/**
 * Zip archives: PyTorch checkpoints (`archive/data.pkl` + `archive/data/N`), TorchScript archives,
 * NumPy .npz, and any other zip. Every member is scanned by every scanner, whatever its name; every
 * structural trick that makes readers disagree is reported.
 *
 * Detection: a zip signature at the start, or (for files larger than the head, or a head holding an
 * end record) a possible end record at the end — `scan` checks the tail and returns quietly when
 * there is no zip there, so a pickle with a zip appended is read as both.
 */
export const zipFormat: ModelFormat = {
  name: 'zip',
  rules: [
    archiveLimitExceededRule,
    zipCrcMismatchRule,
    zipDuplicateEntryRule,
    zipFlagBitsRule,
    zipHeaderMismatchRule,
    zipMalformedRule,
    zipPathTraversalRule,
    zipPolyglotRule,
    zipUnsupportedCompressionRule,
  ],
  detect(target) {
    if (startsLikeZip(target.head)) return true;
    if (target.source.size > target.head.length && target.head.length >= HEAD_BYTES) return true;
    return target.head.includes('PK\x05\x06', 0, 'latin1');
  },
  async scan(target, context) {
    await scanZip(target, context);
  },
};
