import type { ModelFormat } from '../format.js';

// Placeholder: not implemented yet.
export const safetensorsFormat: ModelFormat = {
  name: 'safetensors',
  rules: [],
  detect: () => false,
  scan: () => Promise.resolve(),
};
