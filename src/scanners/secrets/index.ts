import type { Scanner } from '../../core/scanner.js';

// Placeholder: not implemented yet.
export const secretsScanner: Scanner = {
  name: 'secrets',
  description: 'Credentials in code, notebooks, configs, git history and image layers.',
  rules: [],
  scan: () => Promise.resolve(),
};
