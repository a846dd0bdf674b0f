import type { ModelFormat } from '../format.js';

// Placeholder: not implemented yet.
export const zipFormat: ModelFormat = {
  name: 'zip',
  rules: [],
  detect: () => false,
  scan: () => Promise.resolve(),
};
