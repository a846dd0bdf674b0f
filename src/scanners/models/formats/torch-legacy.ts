import type { ModelFormat } from '../format.js';

// Placeholder: not implemented yet.
export const torchLegacyFormat: ModelFormat = {
  name: 'torch-legacy',
  rules: [],
  detect: () => false,
  scan: () => Promise.resolve(),
};
