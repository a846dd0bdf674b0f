import type { ModelFormat } from '../format.js';

// Placeholder: not implemented yet.
export const pickleFormat: ModelFormat = {
  name: 'pickle',
  rules: [],
  detect: () => false,
  scan: () => Promise.resolve(),
};
