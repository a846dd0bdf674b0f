import type { ModelFormat } from '../format.js';

// Placeholder: not implemented yet.
export const compressedFormat: ModelFormat = {
  name: 'compressed',
  rules: [],
  detect: () => false,
  scan: () => Promise.resolve(),
};
