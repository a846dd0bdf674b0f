import type { ModelFormat } from '../format.js';

// Placeholder: not implemented yet.
export const kerasH5Format: ModelFormat = {
  name: 'keras-h5',
  rules: [],
  detect: () => false,
  scan: () => Promise.resolve(),
};
