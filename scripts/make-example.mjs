#!/usr/bin/env node
// Generates examples/ml-project/: a small ML project with planted problems for `npm start` to find
// (see examples/README.md). Pure Node, deterministic, nothing downloaded. The project is gitignored: its
// pickles carry (harmless, echo-only) payloads and its credentials are fake values assembled at run time,
// so this repository never holds a malicious model file or a credential-shaped string.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';

const ROOT = fileURLToPath(new URL('../examples/ml-project/', import.meta.url));
const CMD = 'echo "custody example: this model ran a shell command while loading"';

// ---------------------------------------------------------------------------------------------------
// deterministic pseudo-random values (mulberry32)

function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(0xc0ffee);
const chars = (alphabet, n) => Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');

// ---------------------------------------------------------------------------------------------------
// pickle opcodes, written by hand

const op = {
  proto: (n) => Buffer.from([0x80, n]),
  global: (module, name) => Buffer.from(`c${module}\n${name}\n`, 'latin1'),
  str(s) {
    const body = Buffer.from(s, 'utf8');
    const head = Buffer.alloc(5);
    head[0] = 0x58; // BINUNICODE
    head.writeUInt32LE(body.length, 1);
    return Buffer.concat([head, body]);
  },
  int(n) {
    if (n >= 0 && n < 256) return Buffer.from([0x4b, n]); // BININT1
    const b = Buffer.alloc(5);
    b[0] = 0x4a; // BININT
    b.writeInt32LE(n, 1);
    return b;
  },
  mark: Buffer.from('('),
  tuple: Buffer.from('t'),
  emptyTuple: Buffer.from(')'),
  emptyDict: Buffer.from('}'),
  reduce: Buffer.from('R'),
  setitems: Buffer.from('u'),
  binpersid: Buffer.from('Q'),
  false: Buffer.from([0x89]),
  stop: Buffer.from('.'),
};
const tuple = (...items) => Buffer.concat([op.mark, ...items, op.tuple]);
const call = (module, name, ...args) => Buffer.concat([op.global(module, name), tuple(...args), op.reduce]);

/** models/classifier.pkl: looks like a saved classifier; loading it calls os.system through REDUCE. */
function classifierPickle() {
  return Buffer.concat([
    op.proto(2),
    op.emptyDict,
    op.mark,
    op.str('model'), op.str('LogisticRegression'),
    op.str('classes'), tuple(op.str('cat'), op.str('dog')),
    op.str('version'), op.str('1.3.2'),
    op.str('init'), call('os', 'system', op.str(CMD)),
    op.setitems,
    op.stop,
  ]);
}

/** archive/data.pkl of a PyTorch state_dict: tensors as torch.save writes them, plus one planted entry. */
function torchDataPickle() {
  const tensor = (key, numel, shape) =>
    call(
      'torch._utils',
      '_rebuild_tensor_v2',
      Buffer.concat([tuple(op.str('storage'), op.global('torch', 'FloatStorage'), op.str(key), op.str('cpu'), op.int(numel)), op.binpersid]),
      op.int(0),
      tuple(...shape.map(op.int)),
      tuple(...(shape.length === 2 ? [op.int(shape[1]), op.int(1)] : [op.int(1)])),
      op.false,
      Buffer.concat([op.global('collections', 'OrderedDict'), op.emptyTuple, op.reduce]),
    );
  return Buffer.concat([
    op.proto(2),
    op.global('collections', 'OrderedDict'),
    op.emptyTuple,
    op.reduce,
    op.mark,
    op.str('fc.weight'), tensor('0', 8, [2, 4]),
    op.str('fc.bias'), tensor('1', 2, [2]),
    op.str('fc._extra_state'), call('builtins', 'exec', op.str(`import os; os.system(${JSON.stringify(CMD)})`)),
    op.setitems,
    op.stop,
  ]);
}

function floats(n) {
  const b = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i += 1) b.writeFloatLE(Math.round((random() * 2 - 1) * 1000) / 1000, i * 4);
  return b;
}

// ---------------------------------------------------------------------------------------------------
// a tiny zip writer: stored entries, fixed timestamps, data aligned to 64 bytes like torch.save

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(data) {
  if (typeof zlib.crc32 === 'function') return zlib.crc32(data) >>> 0;
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function zip(entries) {
  const parts = [];
  const central = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const start = offset + 30 + nameBytes.length + 4;
    const pad = (64 - (start % 64)) % 64;
    const extra = Buffer.concat([Buffer.from('FB'), Buffer.from([pad & 0xff, pad >> 8]), Buffer.alloc(pad, 'Z')]);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6); // flags
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x21, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(nameBytes.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, nameBytes);
    parts.push(local, nameBytes, extra, data);
    offset += local.length + nameBytes.length + extra.length + data.length;
  }
  const cdBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBytes, end]);
}

function torchCheckpoint() {
  return zip([
    { name: 'checkpoint/data.pkl', data: torchDataPickle() },
    { name: 'checkpoint/byteorder', data: Buffer.from('little') },
    { name: 'checkpoint/data/0', data: floats(8) },
    { name: 'checkpoint/data/1', data: floats(2) },
    { name: 'checkpoint/version', data: Buffer.from('3\n') },
  ]);
}

// ---------------------------------------------------------------------------------------------------
// a clean safetensors file

function safetensors() {
  const tensors = [
    ['embed.weight', [16, 8]],
    ['proj.bias', [8]],
    ['proj.weight', [8, 8]],
  ];
  const header = { __metadata__: { format: 'pt' } };
  const data = [];
  let at = 0;
  for (const [name, shape] of tensors) {
    const n = shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: 'F32', shape, data_offsets: [at, at + n * 4] };
    data.push(floats(n));
    at += n * 4;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json), ...data]);
}

// ---------------------------------------------------------------------------------------------------
// text files; credentials are fake, pseudo-random and assembled here so no committed file contains one

const awsKeyId = ['AK', 'IA', chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)].join('');
const awsSecret = chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 40);
const dbPassword = chars('ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789', 20);

function notebook() {
  const cell = (type, lines) => ({
    cell_type: type,
    ...(type === 'code' ? { execution_count: null, outputs: [] } : {}),
    metadata: {},
    source: lines.map((l, i) => (i < lines.length - 1 ? `${l}\n` : l)),
  });
  return {
    cells: [
      cell('markdown', ['# Explore the training data', '', 'Pull the latest features from S3 and look at class balance.']),
      cell('code', [
        'import boto3',
        'import pandas as pd',
        '',
        '# fake credential planted by scripts/make-example.mjs for the Custody demo',
        `AWS_ACCESS_KEY_ID = "${awsKeyId}"`,
        `AWS_SECRET_ACCESS_KEY = "${awsSecret}"`,
        '',
        's3 = boto3.client("s3", aws_access_key_id=AWS_ACCESS_KEY_ID, aws_secret_access_key=AWS_SECRET_ACCESS_KEY)',
        'df = pd.read_parquet("s3://ml-features/train.parquet")',
        'df["label"].value_counts()',
      ]),
    ],
    metadata: { kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' }, language_info: { name: 'python' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

const TRAIN_PY = `"""Fine-tune the classifier on the latest features."""
import pickle

import torch
from transformers import AutoModel

# Loads a full pickle: runs whatever code the checkpoint carries (no weights_only=True).
state = torch.load("models/checkpoint.pt")

# Runs Python code shipped inside the downloaded model repository.
encoder = AutoModel.from_pretrained("some-org/text-encoder", trust_remote_code=True)

with open("models/classifier.pkl", "rb") as f:
    classifier = pickle.load(f)


def main() -> None:
    print(type(state), type(encoder), classifier)


if __name__ == "__main__":
    main()
`;

const REQUIREMENTS = `torch
transformers>=4.30
numpy
scikit-learn
pandas
boto3
`;

const DOCKERFILE = `FROM python:latest
WORKDIR /app
COPY . /app
RUN pip install -r requirements.txt
ENV PYTHONUNBUFFERED=1
CMD ["python", "train.py"]
`;

function projectReadme() {
  return `# ml-project (generated)

A small, deliberately unsafe ML project made by \`node scripts/make-example.mjs\` for Custody's demo.
See ../README.md for what is planted. Regenerate at any time; do not use anything here for real.
`;
}

// ---------------------------------------------------------------------------------------------------

/** data/train.csv: a small, clean training set (the dataset `npm start` pushes to the demo registry). */
function trainingCsv() {
  const random = prng(0xda7a); // its own generator: the other files keep their bytes
  const rows = ['text,label'];
  const words = ['good', 'bad', 'fine', 'awful', 'great', 'poor', 'solid', 'weak'];
  for (let i = 0; i < 200; i += 1) {
    const a = words[Math.floor(random() * words.length)];
    const b = words[Math.floor(random() * words.length)];
    rows.push(`"${a} and ${b}",${['good', 'fine', 'great', 'solid'].includes(a) ? 1 : 0}`);
  }
  return `${rows.join('\n')}\n`;
}

const files = {
  'README.md': projectReadme(),
  'data/train.csv': trainingCsv(),
  'train.py': TRAIN_PY,
  'requirements.txt': REQUIREMENTS,
  Dockerfile: DOCKERFILE,
  '.env': `# fake values planted by scripts/make-example.mjs\nDATABASE_URL=postgresql://trainer:${dbPassword}@db.internal:5432/features\nLOG_LEVEL=info\n`,
  'notebooks/explore.ipynb': `${JSON.stringify(notebook(), null, 1)}\n`,
  'models/classifier.pkl': classifierPickle(),
  'models/checkpoint.pt': torchCheckpoint(),
  'models/encoder.safetensors': safetensors(),
};

rmSync(ROOT, { recursive: true, force: true });
for (const [name, content] of Object.entries(files)) {
  const path = join(ROOT, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}
process.stdout.write(`wrote ${Object.keys(files).length} files to examples/ml-project/\n`);
