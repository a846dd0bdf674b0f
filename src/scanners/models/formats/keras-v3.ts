import type { ModelFormat } from '../format.js';

// Placeholder: not implemented yet.
export const kerasV3Format: ModelFormat = {
  name: 'keras-v3',
  rules: [],
  detect: () => false,
  scan: () => Promise.resolve(),
};
