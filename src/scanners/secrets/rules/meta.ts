import { defineRule } from '../../../core/rule.js';

/** Reported by the scanner itself (not by detectors): input it could not fully read. Never a silent pass. */
export const notebookUnparsedRule = defineRule<'invalid' | 'tooComplex' | 'tooLarge', void>({
  id: 'secrets/notebook-unparsed',
  title: 'Notebook could not be parsed; scanned as raw text',
  description:
    'A `.ipynb` file is not valid notebook JSON, nests too deeply, holds more values (cells, outputs, lines) than the parser keeps ' +
    'in memory, or is larger than `limits.maxTextBytes`. Custody then scans it as ' +
    'raw text, which still finds prefixed tokens but reads JSON-escaped cell sources less well and cannot name cells or skip image ' +
    'payloads, so the notebook is reported rather than silently treated as fully scanned.',
  severity: 'low',
  confidence: 'high',
  tags: ['cwe:703'],
  remediation: 'Repair the notebook (open and save it in Jupyter, or `jupyter nbconvert --to notebook`), strip large outputs, or raise `limits.maxTextBytes`.',
  messages: {
    invalid: 'Notebook is not valid notebook JSON ({{reason}}); scanned as raw text.',
    tooComplex: 'Notebook is beyond what the parser reads ({{reason}}); scanned as raw text.',
    tooLarge: 'Notebook is {{size}} bytes, above limits.maxTextBytes ({{limit}}); scanned as raw text in windows.',
  },
  check: () => undefined,
});

export const scanIncompleteRule = defineRule<'timeout' | 'undecodable', void>({
  id: 'secrets/scan-incomplete',
  title: 'File only partly scanned for secrets',
  description:
    'The secrets scanner stopped before the end of a file: the per-file time budget (`limits.fileTimeoutMs`) ran out, or the text could not ' +
    'be decoded. Whatever the unread part holds is unknown, so the file is reported.',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:703'],
  remediation: 'Split or trim the file, exclude it if it is generated data, or raise `limits.fileTimeoutMs` in .custody.yml.',
  messages: {
    timeout: 'Secrets scan stopped at byte {{offset}} of {{size}}: time budget of {{ms}} ms exhausted.',
    undecodable: 'Secrets scan could not decode this file as text ({{reason}}).',
  },
  check: () => undefined,
});
