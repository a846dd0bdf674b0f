import { defineRule } from '../../core/rule.js';

/*
 * Rules of the shared container layer for zip archives, compressed streams, limits and archives
 * Custody cannot open. The readers report them directly (each `check` is unused), once per container,
 * whatever scanners `--only` selects: what a container hides is unread for every scanner alike.
 *
 * Their ids keep the `models/` prefix they were released under (ids are never renamed): zip and
 * compressed streams were first opened by the models scanner, and these tricks matter most to model
 * loaders (torch.load, numpy.load, joblib), whose behaviour the messages describe.
 */

const DESERIALIZATION = ['cwe:502', 'owasp-ml:ML06'] as const;

export const zipDuplicateEntryRule = defineRule<'duplicate', void>({
  id: 'models/zip-duplicate-entry',
  title: 'Zip archive holds two entries with the same name',
  description:
    'Two central-directory entries share a name. Readers disagree on which copy they return (Python zipfile, which ' +
    'torch.load and numpy use, takes the last; others take the first), so a scanner that reads one copy can pass ' +
    'a payload that a loader reads from the other. Custody scans every copy.',
  severity: 'high',
  confidence: 'high',
  tags: [...DESERIALIZATION, 'cwe:436'],
  remediation: 'Rebuild the archive from trusted sources; a legitimate writer never stores a name twice.',
  messages: { duplicate: '{{kind}} has {{count}} entries named {{name}}; loaders pick different copies. Every copy was scanned.' },
  check: () => undefined,
});

export const zipHeaderMismatchRule = defineRule<'name' | 'method' | 'size' | 'crc' | 'descriptor' | 'orphan', void>({
  id: 'models/zip-header-mismatch',
  title: 'Zip local header disagrees with the central directory',
  description:
    'Each zip entry is described twice: in the central directory and in a local header before its data. Python ' +
    'zipfile and PyTorch read names and sizes from the central directory; streaming extractors read the local ' +
    'header. When the two disagree, or a local entry is missing from the central directory, different tools see ' +
    'different files — a known way to hide a payload from scanners. Custody scans the content under each reading.',
  severity: 'high',
  confidence: 'high',
  tags: [...DESERIALIZATION, 'cwe:436'],
  remediation: 'Rebuild the archive with a standard writer (torch.save, zipfile) from trusted content.',
  messages: {
    name: 'Entry {{name}} is named {{local}} in its local header.',
    method: 'Entry {{name}}: central directory says compression method {{central}}, local header says {{local}}.',
    size: 'Entry {{name}}: central directory says {{central}} compressed bytes, local header says {{local}}.',
    crc: 'Entry {{name}}: central directory CRC {{central}} differs from the local header CRC {{local}}.',
    descriptor: 'Entry {{name}}: {{detail}}',
    orphan: 'Local entry {{name}} at offset {{offset}} is not in the central directory: streaming extractors see it, zipfile does not. It was scanned.',
  },
  check: () => undefined,
});

export const zipCrcMismatchRule = defineRule<'mismatch', void>({
  id: 'models/zip-crc-mismatch',
  title: 'Zip entry content does not match its CRC-32',
  description:
    'The CRC-32 recorded for an entry does not match its content. Tools that verify CRCs (Python zipfile) refuse the ' +
    'entry, so a scanner built on them skips it, while loaders that do not verify read it. A deliberately wrong CRC ' +
    'hides content from scanners. Custody scans the content anyway.',
  severity: 'high',
  confidence: 'high',
  tags: [...DESERIALIZATION, 'cwe:354'],
  remediation: 'Do not load the file; rebuild the archive from trusted content.',
  messages: { mismatch: 'Entry {{name}} has CRC-32 {{actual}} but the archive records {{expected}}.' },
  check: () => undefined,
});

export const zipFlagBitsRule = defineRule<'encrypted' | 'ciphertext' | 'patched' | 'unknown' | 'centralEncryption', void>({
  id: 'models/zip-flag-bits',
  title: 'Zip entry with encryption or unknown flag bits',
  description:
    'An entry is marked encrypted, as patch data, or with reserved flag bits. Scanners often skip encrypted entries ' +
    'silently, so an encryption flag set on content that is not really encrypted (or set in only one of the two ' +
    'headers) makes them skip what a lenient loader reads: that is reported high, and the bytes are scanned as plain ' +
    'data. An entry that really is ciphertext (ZipCrypto or WinZip AES whose bytes do not read as content without ' +
    'decryption) cannot be loaded by torch.load, numpy or joblib, which refuse encrypted entries: it is reported ' +
    'medium, since what it holds cannot be inspected either.',
  severity: 'high',
  confidence: 'medium',
  tags: [...DESERIALIZATION, 'cwe:693'],
  remediation: 'Model archives have no reason to be encrypted: get an unencrypted copy from a trusted source.',
  messages: {
    encrypted: 'Entry {{name}} is marked encrypted (flags {{flags}}) but {{detail}}; its bytes were scanned as plain data.',
    ciphertext: 'Entry {{name}} is encrypted ({{scheme}}, flags {{flags}}): no model loader reads it without a password, and its content could not be inspected.',
    patched: 'Entry {{name}} is marked as compressed patch data (flags {{flags}}), which zipfile refuses and scanners skip.',
    unknown: 'Entry {{name}} has reserved flag bits set (flags {{flags}}).',
    centralEncryption: 'The central directory is marked encrypted (flags {{flags}}).',
  },
  check: () => undefined,
});

export const zipUnsupportedCompressionRule = defineRule<'method', void>({
  id: 'models/zip-unsupported-compression',
  title: 'Zip entry compressed with a method Custody cannot decode',
  description:
    'An entry uses a compression method Custody does not decode (for example Deflate64, PPMd or AES). Its content ' +
    'was not inspected, so whatever it holds is unknown; an unusual method is also a way to make scanners skip a member.',
  severity: 'high',
  confidence: 'high',
  tags: [...DESERIALIZATION, 'cwe:693'],
  remediation: 'Re-create the archive with stored or deflate members (what torch.save and numpy write).',
  messages: { method: 'Entry {{name}} uses compression method {{method}} ({{label}}); its content was not scanned.' },
  check: () => undefined,
});

export const zipMalformedRule = defineRule<
  'noEnd' | 'badDirectory' | 'badLocal' | 'outside' | 'overlap' | 'count' | 'zip64' | 'damaged',
  void
>({
  id: 'models/zip-malformed',
  title: 'Malformed zip archive',
  description:
    'The file presents itself as a zip but its structure is broken: no end-of-central-directory record, a central ' +
    'directory that points outside the file, entries whose data overlap, counts that disagree. Readers recover from ' +
    'such damage in different ways, so what a loader sees may differ from what a scanner sees. Custody reads what ' +
    'it can under every interpretation and reports the file rather than passing it.',
  severity: 'high',
  confidence: 'medium',
  tags: [...DESERIALIZATION, 'cwe:20'],
  remediation: 'Do not load the file; obtain a well-formed copy from a trusted source.',
  messages: {
    noEnd: 'The file starts like a zip but has no end-of-central-directory record; only its local headers could be read.',
    badDirectory: 'The central directory is unreadable: {{detail}}.',
    badLocal: 'Entry {{name}}: no valid local header at offset {{offset}}.',
    outside: 'Entry {{name}}: {{detail}}.',
    overlap: 'Entries {{name}} and {{other}} share bytes (offsets {{offset}} and {{otherOffset}}): a sign of a crafted or bomb archive.',
    count: 'The end record announces {{declared}} entries but the central directory holds {{actual}}; readers that trust the count see a different set of files.',
    zip64: 'The ZIP64 records are inconsistent: {{detail}}.',
    damaged: 'Entry {{name}}: compressed data is damaged ({{detail}}); what decoded before the damage was scanned.',
  },
  check: () => undefined,
});

export const zipPolyglotRule = defineRule<'prefix' | 'pickle' | 'suffix', void>({
  id: 'models/zip-polyglot',
  title: 'File is a zip and something else at once',
  description:
    'Bytes before the first zip entry make the file readable in two ways: as a zip (zipfile finds the archive from its ' +
    'end) and as whatever the prefix is — for a pickle prefix, `pickle.load` runs it while torch.load reads the zip. ' +
    'Bytes after the end record are invisible to zip readers and can carry a payload for another reader. Scanners ' +
    'that recognise only one reading miss the other. Custody analyses both.',
  severity: 'high',
  confidence: 'high',
  tags: [...DESERIALIZATION, 'cwe:434'],
  remediation: 'Do not load the file; a model file is one format, never two.',
  messages: {
    prefix: '{{kind}} starts after {{bytes}} bytes of other data; both readings were scanned.',
    pickle: 'The file is a pickle ({{bytes}} bytes at offset 0) and also a {{kind}}; both were analysed.',
    suffix: '{{bytes}} bytes follow the end of the {{kind}} at offset {{offset}}{{detail}}; they were scanned.',
  },
  check: () => undefined,
});

export const zipPathTraversalRule = defineRule<'path', void>({
  id: 'models/zip-path-traversal',
  title: 'Zip entry name escapes the extraction directory',
  description:
    'An entry name is absolute, has a drive letter, or climbs with `..` (zip slip). Extracting the archive with a ' +
    'naive tool writes outside the target directory — for example over a Python module that runs at next import.',
  severity: 'medium',
  confidence: 'high',
  tags: ['cwe:22'],
  remediation: 'Do not extract the archive with tools that follow such names; rebuild it with relative names.',
  messages: { path: 'Entry name {{name}} escapes the extraction directory.' },
  check: () => undefined,
});

export const archiveLimitExceededRule = defineRule<'entries' | 'memberSize' | 'ratio' | 'total' | 'timeout' | 'inputSize', void>({
  id: 'models/archive-limit-exceeded',
  title: 'Container exceeds a scan limit',
  description:
    'A container has more entries, decompresses to more bytes, or takes longer than Custody is configured to read ' +
    '(`limits` in .custody.yml), or compresses at a ratio only a bomb reaches. The part beyond the limit was not ' +
    'scanned, so the file is reported rather than passed.',
  severity: 'high',
  confidence: 'medium',
  tags: ['cwe:409', 'cwe:400'],
  remediation: 'Inspect the file by hand, or raise the limit in .custody.yml if the file is legitimate and trusted.',
  messages: {
    entries: '{{kind}} has {{count}} entries; only the first {{limit}} were scanned.',
    memberSize: '{{name}} decompresses to more than {{limit}} bytes (limits.maxMemberBytes); only the first {{limit}} were scanned.',
    ratio: '{{name}} expands {{ratio}}× ({{compressed}} → {{size}} bytes): a compression bomb pattern.',
    total: '{{kind}}: decompressed members add up to more than {{limit}} bytes; {{count}} remaining members were not decompressed.',
    timeout: '{{kind}}: the time budget ran out; {{count}} members were not scanned.',
    inputSize: '{{name}} is {{size}} bytes compressed, more than {{limit}} bytes we read; only the start was decoded.',
  },
  check: () => undefined,
});

export const compressedStreamDamagedRule = defineRule<'damaged', void>({
  id: 'models/compressed-stream-damaged',
  title: 'Compressed stream is truncated or corrupt',
  description:
    'A gzip, zlib, bzip2, xz, zstd, LZ4 or LZMA stream (as joblib and .pkl.gz files use) ends early or is corrupt. Loaders ' +
    'that stream decode and act on the bytes before the damage — a pickle runs opcode by opcode — so Custody scans ' +
    'what decoded and reports the rest as unread.',
  severity: 'high',
  confidence: 'medium',
  tags: [...DESERIALIZATION, 'cwe:20'],
  remediation: 'Obtain an intact copy from a trusted source; do not load a damaged file.',
  messages: { damaged: '{{codec}} stream is damaged after {{decoded}} decoded bytes ({{detail}}); the decoded part was scanned.' },
  check: () => undefined,
});

export const unscannableContainerRule = defineRule<'archive' | 'compression', void>({
  id: 'models/unscannable-container',
  title: 'Archive or compressed stream Custody cannot open',
  description:
    'The file is an archive or compressed stream in a format Custody does not read (7z, RAR, CAB, ar, cpio…). ' +
    'Whatever it contains — possibly a pickle that a pipeline unpacks and loads — was not inspected, so it is ' +
    'reported rather than passed.',
  severity: 'high',
  confidence: 'high',
  tags: [...DESERIALIZATION, 'cwe:693'],
  remediation: 'Unpack the archive and scan its contents, or ship models in a format Custody reads (zip, tar, gzip).',
  messages: {
    archive: '{{format}} archive: Custody could not look inside it.',
    compression: '{{format}} data: {{detail}}; its content was not scanned.',
  },
  check: () => undefined,
});

/** Every rule above, sorted by id. */
export const archiveRules = [
  archiveLimitExceededRule,
  compressedStreamDamagedRule,
  unscannableContainerRule,
  zipCrcMismatchRule,
  zipDuplicateEntryRule,
  zipFlagBitsRule,
  zipHeaderMismatchRule,
  zipMalformedRule,
  zipPathTraversalRule,
  zipPolyglotRule,
  zipUnsupportedCompressionRule,
] as const;
