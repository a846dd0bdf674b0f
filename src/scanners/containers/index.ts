import type { Scanner } from '../../core/scanner.js';

// Placeholder: not implemented yet.
export const containersScanner: Scanner = {
  name: 'containers',
  description: 'Opens container images (docker save, OCI layout) and feeds every layer file to the other scanners.',
  alwaysOn: true,
  rules: [],
  scan: () => Promise.resolve(),
};
