import { defineRule } from '../../../core/rule.js';

/*
 * Rules for model layouts inside containers (legacy PyTorch files, NumPy arrays). The readers report
 * them directly, so each `check` is unused. Rules about the containers themselves (zip structure,
 * compressed streams, limits, archives Custody cannot open) belong to the shared container layer:
 * src/scanners/containers/archive-rules.ts.
 */

const DESERIALIZATION = ['cwe:502', 'owasp-ml:ML06'] as const;

export const torchLegacyExtraPickleRule = defineRule<'extra', void>({
  id: 'models/torch-legacy-extra-pickle',
  title: 'Legacy PyTorch file carries a pickle outside its usual places',
  description:
    'A legacy (pre-1.6) PyTorch file is a sequence of pickles followed by raw tensor bytes. Bytes beyond the expected ' +
    'layout, or more pickles than the format has, start another pickle: tools that stop after the first pickle never ' +
    'look at it. Custody analysed it.',
  severity: 'high',
  confidence: 'medium',
  tags: [...DESERIALIZATION],
  remediation: 'Do not load the file; re-save trusted weights with torch.save (zip format) or as safetensors.',
  messages: {
    extra: 'A pickle starts at offset {{offset}}, outside the legacy PyTorch layout ({{detail}}); it was analysed.',
  },
  check: () => undefined,
});

export const torchLegacyMalformedRule = defineRule<'layout' | 'pickle', void>({
  id: 'models/torch-legacy-malformed',
  title: 'Legacy PyTorch file does not follow the legacy layout',
  description:
    'The file starts like a legacy (pre-1.6) PyTorch checkpoint, but the pickles and raw tensor storages that follow ' +
    'do not line up. Bytes Custody could not place were scanned as far as possible; the file is reported because ' +
    'what torch.load would do with it is uncertain.',
  severity: 'medium',
  confidence: 'medium',
  tags: [...DESERIALIZATION, 'cwe:20'],
  remediation: 'Re-save trusted weights with torch.save (zip format) or as safetensors.',
  messages: {
    layout: 'Legacy PyTorch layout could not be followed after offset {{offset}}: {{detail}}.',
    pickle: 'Legacy PyTorch pickle #{{index}} at offset {{offset}} could not be read to its end.',
  },
  check: () => undefined,
});

export const npyObjectArrayRule = defineRule<'object', void>({
  id: 'models/npy-object-array',
  title: 'NumPy array of Python objects (loading needs allow_pickle)',
  description:
    'The .npy header declares an object dtype, so the data is a pickle: `numpy.load(..., allow_pickle=True)` ' +
    'unpickles it and can run code. Custody analysed the pickle; this finding records that loading needs ' +
    '`allow_pickle`, which should never be granted to untrusted files.',
  severity: 'medium',
  confidence: 'high',
  tags: [...DESERIALIZATION],
  remediation: 'Store numeric arrays (no object dtype) and load with allow_pickle=False.',
  messages: { object: 'Array with dtype {{descr}}: its data is a pickle that numpy.load runs when allow_pickle=True.' },
  check: () => undefined,
});

export const npyMalformedRule = defineRule<'header' | 'size' | 'trailing' | 'version', void>({
  id: 'models/npy-malformed',
  title: 'Malformed NumPy .npy file',
  description:
    'The .npy header cannot be parsed, uses an unknown version, or the data length does not match shape × item size. ' +
    'Extra bytes after the array are invisible to numpy.load but can carry content for other readers.',
  severity: 'medium',
  confidence: 'medium',
  tags: ['cwe:20'],
  remediation: 'Re-save the array with numpy.save from trusted data.',
  messages: {
    header: 'The .npy header could not be parsed: {{detail}}.',
    version: 'Unknown .npy format version {{version}}.',
    size: 'The array data is {{actual}} bytes; shape {{shape}} × {{itemsize}}-byte items needs {{expected}}.',
    trailing: '{{extra}} bytes follow the array data ({{detail}}).',
  },
  check: () => undefined,
});

