import type { ModelFormat } from '../format.js';
import { scanCompressed, sniffWrapper } from '../containers/compressed-scan.js';
import { archiveLimitExceededRule, compressedStreamDamagedRule } from '../containers/rules.js';

/**
 * Compressed wrappers around model files: gzip and zlib (joblib `compress=True`, `.pkl.gz`), joblib's
 * old `ZF` format, bzip2, xz, zstd, LZ4 frames and LZMA-alone (joblib `compress='lzma'`). The decoded content is scanned as a member by
 * every scanner, so a pickle inside a gzip inside a zip is still analysed.
 */
export const compressedFormat: ModelFormat = {
  name: 'compressed',
  rules: [archiveLimitExceededRule, compressedStreamDamagedRule],
  detect: (target) => sniffWrapper(target.head) !== undefined,
  async scan(target, context) {
    const wrapper = sniffWrapper(target.head);
    if (wrapper) await scanCompressed(target, context, wrapper);
  },
};
