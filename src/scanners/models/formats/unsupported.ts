import type { ModelFormat } from '../format.js';

// Placeholder: not implemented yet.
export const unsupportedFormat: ModelFormat = {
  name: 'unsupported',
  rules: [],
  detect: () => false,
  scan: () => Promise.resolve(),
};
