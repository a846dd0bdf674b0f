import type { AnyRule } from '../../core/rule.js';
import type { Scanner } from '../../core/scanner.js';
import type { ModelFormat } from './format.js';
import { ggufFormat } from './formats/gguf.js';
import { hfRepoFormat } from './formats/hf-repo.js';
import { kerasH5Format } from './formats/keras-h5.js';
import { kerasV3Format } from './formats/keras-v3.js';
import { numpyFormat } from './formats/numpy.js';
import { onnxFormat } from './formats/onnx.js';
import { pickleFormat } from './formats/pickle.js';
import { safetensorsFormat } from './formats/safetensors.js';
import { tfSavedModelFormat } from './formats/tf-saved-model.js';
import { torchLegacyFormat } from './formats/torch-legacy.js';

/** Every format, sorted by name. Each format's `detect` decides by content whether it applies. */
export const MODEL_FORMATS: readonly ModelFormat[] = [
  ggufFormat,
  hfRepoFormat,
  kerasH5Format,
  kerasV3Format,
  numpyFormat,
  onnxFormat,
  pickleFormat,
  safetensorsFormat,
  tfSavedModelFormat,
  torchLegacyFormat,
];

function collectRules(): AnyRule[] {
  const byId = new Map<string, AnyRule>();
  for (const format of MODEL_FORMATS) for (const rule of format.rules) byId.set(rule.id, rule);
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
}

export const modelsScanner: Scanner = {
  name: 'models',
  description: 'Model files (pickle, PyTorch, joblib, numpy, Keras, TensorFlow, ONNX, GGUF, safetensors) read without executing them.',
  rules: collectRules(),
  async scan(target, context) {
    for (const format of MODEL_FORMATS) {
      if (format.detect(target)) await format.scan(target, context);
    }
  },
};
