import type { ModelFormat } from '../format.js';

// Placeholder: not implemented yet.
export const hfRepoFormat: ModelFormat = {
  name: 'hf-repo',
  rules: [],
  detect: () => false,
  scan: () => Promise.resolve(),
};
