import type { ModelFormat } from '../format.js';

// Placeholder: not implemented yet.
export const numpyFormat: ModelFormat = {
  name: 'numpy',
  rules: [],
  detect: () => false,
  scan: () => Promise.resolve(),
};
