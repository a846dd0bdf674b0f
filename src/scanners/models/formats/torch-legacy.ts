import type { ModelFormat } from '../format.js';
import { torchLegacyExtraPickleRule, torchLegacyMalformedRule } from '../containers/rules.js';
import { isLegacyStacked, isLegacyTar, scanLegacyStacked, scanLegacyTar } from '../containers/torch-legacy-scan.js';

/**
 * Legacy PyTorch checkpoints (before the zip format of torch 1.6): the stacked sequence of pickles
 * and raw storages, and the older tar with sys_info / pickle / tensors / storages members. Every
 * pickle torch.load would unpickle is handed to the scanners; bytes outside the layout are reported.
 */
export const torchLegacyFormat: ModelFormat = {
  name: 'torch-legacy',
  // It also reports models/archive-limit-exceeded, a rule of the container layer (listed there).
  rules: [torchLegacyExtraPickleRule, torchLegacyMalformedRule],
  detect: (target) => isLegacyStacked(target.head) || isLegacyTar(target.head),
  async scan(target, context) {
    if (isLegacyStacked(target.head)) await scanLegacyStacked(target, context);
    else await scanLegacyTar(target, context);
  },
};
