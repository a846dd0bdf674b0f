import type { ModelFormat } from '../format.js';

// Placeholder: not implemented yet.
export const ggufFormat: ModelFormat = {
  name: 'gguf',
  rules: [],
  detect: () => false,
  scan: () => Promise.resolve(),
};
