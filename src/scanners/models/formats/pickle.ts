import { readAll } from '../../../core/byte-source.js';
import { isLegacyStacked } from '../containers/torch-legacy-scan.js';
import type { ModelFormat } from '../format.js';
import { detectPickle, pickleRules, pickleTooLargeRule, scanPickleBuffer } from '../pickle/index.js';

const ZIP_LOCAL_HEADER = 0x504b0304;

/**
 * A file that is a pickle (recognised by content, never by name): plain pickles, joblib dumps,
 * pickle-prefixed polyglots. The first stream and every pickle concatenated after it are analysed.
 * Zip files (PyTorch's zip format, npz) are opened by the container layer (src/scanners/containers/), which hands their pickles back here as members.
 * Legacy stacked PyTorch files: the first pickle is read here; the torch-legacy format walks the layout
 * and hands over each later pickle as a member, so they are not read twice.
 */
export const pickleFormat: ModelFormat = {
  name: 'pickle',
  rules: pickleRules,
  detect(target) {
    const head = target.head;
    if (head.length >= 4 && head.readUInt32BE(0) === ZIP_LOCAL_HEADER) return false;
    return detectPickle(head, target.source.size);
  },
  async scan(target, context) {
    const limit = context.limits.maxMemberBytes;
    const size = target.source.size;
    // At any depth: torch.storage._load_from_bytes hands over whole legacy saves as members.
    const firstOnly = isLegacyStacked(target.head);
    if (size > limit) {
      context.reporter(pickleTooLargeRule, target)({ message: 'tooLarge', data: { size, limit }, offset: limit });
      const prefix = await target.source.read(0, limit);
      await scanPickleBuffer(prefix, target, context, { partialEnd: prefix.length, firstOnly });
      return;
    }
    const data = (await readAll(target.source, limit)) ?? Buffer.alloc(0);
    await scanPickleBuffer(data, target, context, { firstOnly });
  },
};
