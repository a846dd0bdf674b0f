import type { ModelFormat } from '../format.js';

// Placeholder: not implemented yet.
export const onnxFormat: ModelFormat = {
  name: 'onnx',
  rules: [],
  detect: () => false,
  scan: () => Promise.resolve(),
};
