import type { ModelFormat } from '../format.js';

// Placeholder: not implemented yet.
export const tfSavedModelFormat: ModelFormat = {
  name: 'tf-saved-model',
  rules: [],
  detect: () => false,
  scan: () => Promise.resolve(),
};
