// A generated ML project tree of a given size, for measuring scans as users run them: many small source
// files, a few big notebooks (base64 image outputs), data (CSV, JSON lines), training logs, configs,
// model files (safetensors, a PyTorch zip checkpoint, a pickle, numpy arrays), binaries (images, a
// shared library), and, ignored by the project's .gitignore, a virtual environment and a node_modules
// of many small files. About one text file in 25 holds a fake credential (src/scanners/secrets/fake.ts).
// Deterministic for a seed; nothing is downloaded.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32 } from '../src/scanners/containers/crc32.js';
import { B64URL, Fake, LETTERS, UPPER_B32 } from '../src/scanners/secrets/fake.js';

export interface MlTree {
  root: string;
  bytes: number;
  files: number;
}

/** Pseudo-random bytes, fast (xorshift32 over 32-bit words): image and tensor payloads. */
function noise(f: Fake, n: number): Buffer {
  const words = new Uint32Array(Math.ceil(n / 4));
  let x = (f.int(0xffffffff) | 1) >>> 0;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return Buffer.from(words.buffer, 0, n);
}

/** A secret line for a file kind, or undefined; about one file in 25 gets one. */
function secretFor(f: Fake, kind: 'py' | 'log' | 'yaml' | 'nb'): string | undefined {
  if (f.int(25) !== 0) return undefined;
  const pick = f.int(6);
  const value =
    pick === 0 ? f.checksummed('ghp_') : pick === 1 ? `hf_${f.chars(LETTERS, 34)}` : pick === 2 ? `AKIA${f.chars(UPPER_B32, 16)}` : pick === 3 ? `sk-proj-${f.chars(B64URL, 74)}T3BlbkFJ${f.chars(B64URL, 74)}` : pick === 4 ? f.hex(40) : `${f.alnum(20)}!${f.alnum(6)}`;
  const name = pick === 4 ? 'WANDB_API_KEY' : pick === 5 ? 'DB_PASSWORD' : 'TOKEN';
  if (kind === 'yaml') return `${name.toLowerCase()}: "${value}"`;
  if (kind === 'log') return `DEBUG env ${name}=${value}`;
  return `${name} = "${value}"`;
}

function pythonFile(f: Fake, functions: number, secret: string | undefined): string {
  const lines: string[] = ['import os', 'import torch', 'import numpy as np', 'from transformers import AutoModelForCausalLM, AutoTokenizer', ''];
  for (let i = 0; i < functions; i++) {
    lines.push(`def step_${i}(model, batch, lr=${(f.next() / 100).toFixed(5)}):`);
    lines.push(`    """Training step ${i}: forward, loss, backward (token budget ${f.int(4096)})."""`);
    lines.push('    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])');
    lines.push(`    loss = out.loss * ${f.next().toFixed(3)}`);
    lines.push('    key = jax.random.PRNGKey(0)  # not a secret');
    lines.push(`    run_id = "${f.uuid()}"`);
    lines.push('    api_key = os.environ["SERVICE_API_KEY"]');
    lines.push('    return loss');
    lines.push('');
  }
  if (secret !== undefined) lines.splice(Math.min(10, lines.length), 0, secret);
  return lines.join('\n') + '\n';
}

function notebookFile(f: Fake, images: number, secret: string | undefined): string {
  const cells: unknown[] = [{ cell_type: 'markdown', id: f.hex(8), metadata: {}, source: ['# Analysis\n', 'Loss curves and samples.'] }];
  for (let i = 0; i < images; i++) {
    cells.push({
      cell_type: 'code',
      execution_count: i + 1,
      id: f.hex(8),
      metadata: {},
      source: [`fig = plot(losses[${i}])\n`, 'fig.show()'],
      outputs: [
        { output_type: 'stream', name: 'stdout', text: [`epoch ${i} loss ${f.next().toFixed(4)}\n`] },
        { output_type: 'display_data', data: { 'image/png': noise(f, 240_000).toString('base64'), 'text/plain': ['<Figure size 640x480 with 1 Axes>'] }, metadata: {} },
      ],
    });
  }
  if (secret !== undefined) cells.push({ cell_type: 'code', execution_count: 99, id: f.hex(8), metadata: {}, source: [secret], outputs: [] });
  return JSON.stringify({ cells, metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } }, nbformat: 4, nbformat_minor: 5 }, null, 1) + '\n';
}

function csvFile(f: Fake, rows: number): string {
  const out: string[] = ['id,sha256,feature_a,feature_b,label,split'];
  for (let i = 0; i < rows; i++) out.push(`${f.uuid()},${f.hex(64)},${f.next().toFixed(6)},${f.int(100000)},${f.int(10)},${i % 10 === 0 ? 'test' : 'train'}`);
  return out.join('\n') + '\n';
}

function jsonLinesFile(f: Fake, records: number): string {
  const out: string[] = [];
  for (let i = 0; i < records; i++) out.push(JSON.stringify({ id: f.uuid(), text: `sample ${i} with some words about tokens and keys`, tokens: Array.from({ length: 24 }, () => f.int(32000)), score: f.next() }));
  return out.join('\n') + '\n';
}

function logFile(f: Fake, lines: number, secret: string | undefined): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(`2024-06-${10 + (i % 18)}T12:${String(i % 60).padStart(2, '0')}:00Z INFO step=${i} loss=${f.next().toFixed(4)} lr=3e-4 tokens_per_sec=${f.int(90000)} request_id=${f.uuid()}`);
  if (secret !== undefined) out.splice(lines >> 1, 0, secret);
  return out.join('\n') + '\n';
}

function yamlFile(f: Fake, secret: string | undefined): string {
  const lines = ['trainer:', `  max_epochs: ${f.int(50)}`, '  precision: bf16-mixed', 'wandb:', '  api_key: ${oc.env:WANDB_API_KEY}', 'tokenizer:', '  pad_token: "<pad>"', `  checksum: sha256:${f.hex(64)}`];
  for (let i = 0; i < 20; i++) lines.push(`layer_${i}:`, `  hidden: ${64 << f.int(5)}`, `  dropout: ${f.next().toFixed(2)}`);
  if (secret !== undefined) lines.push(secret);
  return lines.join('\n') + '\n';
}

/** A safetensors file: an 8-byte header length, the JSON header, then tensor bytes. */
function safetensorsFile(f: Fake, tensors: number, tensorBytes: number): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  for (let i = 0; i < tensors; i++) header[`model.layers.${i}.weight`] = { dtype: 'F32', shape: [tensorBytes / 4], data_offsets: [i * tensorBytes, (i + 1) * tensorBytes] };
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, noise(f, tensors * tensorBytes)]);
}

/** A numpy .npy file of float32. */
function npyFile(f: Fake, count: number): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${count},), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(prefix);
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), noise(f, count * 4)]);
}

/** A benign protocol-2 pickle of a dict of lists (what a small sklearn-style artefact pickles to). */
function picklePayload(entries: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0x80, 0x02, 0x7d, 0x28])]; // PROTO 2, EMPTY_DICT, MARK
  for (let i = 0; i < entries; i++) {
    const key = Buffer.from(`feature_${i}`);
    parts.push(Buffer.from([0x58]), Buffer.alloc(4), key); // BINUNICODE
    parts[parts.length - 2]!.writeUInt32LE(key.length);
    parts.push(Buffer.from([0x5d, 0x28])); // EMPTY_LIST, MARK
    for (let j = 0; j < 8; j++) parts.push(Buffer.from([0x4b, (i + j) & 0xff])); // BININT1
    parts.push(Buffer.from([0x65])); // APPENDS
  }
  parts.push(Buffer.from([0x75, 0x2e])); // SETITEMS, STOP
  return Buffer.concat(parts);
}

/** A PyTorch-shaped zip checkpoint (stored members): a data.pkl rebuilding tensors from persistent ids. */
function torchZip(f: Fake, storages: number, storageBytes: number): Buffer {
  const str = (s: string): Buffer => {
    const b = Buffer.from(s);
    const head = Buffer.alloc(5);
    head[0] = 0x58;
    head.writeUInt32LE(b.length, 1);
    return Buffer.concat([head, b]);
  };
  const int = (n: number): Buffer => {
    const b = Buffer.alloc(5);
    b[0] = 0x4a;
    b.writeInt32LE(n, 1);
    return b;
  };
  const pkl: Buffer[] = [Buffer.from('\x80\x02ccollections\nOrderedDict\n)R(', 'latin1')];
  for (let i = 0; i < storages; i++) {
    pkl.push(str(`layer${i}.weight`), Buffer.from('ctorch._utils\n_rebuild_tensor_v2\n((', 'latin1'), str('storage'), Buffer.from('ctorch\nFloatStorage\n', 'latin1'), str(String(i)), str('cpu'), int(storageBytes / 4), Buffer.from('tQ', 'latin1'));
    pkl.push(int(0), int(storageBytes / 4), Buffer.from('\x85', 'latin1'), int(1), Buffer.from('\x85\x89ccollections\nOrderedDict\n)RtR', 'latin1'));
  }
  pkl.push(Buffer.from('u.', 'latin1'));
  const members: [string, Buffer][] = [['archive/data.pkl', Buffer.concat(pkl)], ['archive/byteorder', Buffer.from('little')]];
  for (let i = 0; i < storages; i++) members.push([`archive/data/${i}`, noise(f, storageBytes)]);
  members.push(['archive/version', Buffer.from('3\n')]);
  const out: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of members) {
    const nameBytes = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(nameBytes.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, nameBytes);
    out.push(local, nameBytes, data);
    offset += 30 + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...out, directory, end]);
}

/** A PNG-signed blob (the scanners sniff the signature; the rest is noise). */
function pngFile(f: Fake, size: number): Buffer {
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), noise(f, size - 8)]);
}

/** An ELF-signed blob, the shape of a compiled extension module. */
function elfFile(f: Fake, size: number): Buffer {
  return Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(8), noise(f, size - 16)]);
}

/**
 * Builds (or reuses, when its stamp matches) a tree of about `targetBytes` under `root`. A fixed share
 * is small files (source, configs, the ignored environments), the rest big text and binaries.
 */
export function buildMlTree(root: string, targetBytes: number, seed = 4242): MlTree {
  const version = `ml-tree 1 ${targetBytes} ${seed}`;
  const stamp = join(root, '.stamp');
  if (existsSync(stamp)) {
    const [stamped, bytes, files] = readFileSync(stamp, 'utf8').split('\n');
    if (stamped === version) return { root, bytes: Number(bytes), files: Number(files) };
  }
  rmSync(root, { recursive: true, force: true });
  const f = new Fake(seed);
  let bytes = 0;
  let files = 0;
  const put = (rel: string, data: string | Buffer): void => {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
    bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    files += 1;
  };
  const scale = targetBytes / (200 * 1024 * 1024);
  const count = (n: number): number => Math.max(1, Math.round(n * scale));

  put('.gitignore', '.venv/\nnode_modules/\n__pycache__/\n*.egg-info/\n');
  put('README.md', '# Project\n\nTraining and evaluation code, notebooks and configs.\n');
  // Ignored: a virtual environment and a front end's node_modules — many small files.
  for (let i = 0; i < count(1500); i++) put(`.venv/lib/python3.11/site-packages/pkg${i % 60}/mod_${i}.py`, pythonFile(f, 3 + f.int(8), undefined));
  for (let i = 0; i < count(1500); i++) put(`ui/node_modules/dep${i % 80}/lib/index_${i}.js`, `'use strict';\nmodule.exports = function f${i}(a, b) { return a + b * ${f.int(1000)}; };\n// ${f.hex(40)}\n`.repeat(1 + f.int(20)));
  // Source and configs: many small files.
  for (let i = 0; i < count(2500); i++) put(`src/pkg${i % 25}/module_${i}.py`, pythonFile(f, 4 + f.int(30), secretFor(f, 'py')));
  for (let i = 0; i < count(600); i++) put(`configs/exp${i % 12}/run_${i}.yaml`, yamlFile(f, secretFor(f, 'yaml')));
  for (let i = 0; i < count(200); i++) put(`configs/json/run_${i}.json`, JSON.stringify({ run: i, lr: f.next(), layers: Array.from({ length: 40 }, () => f.int(4096)), tags: ['exp', f.hex(12)] }, null, 2));
  // Model files and binaries.
  for (let i = 0; i < count(2); i++) put(`checkpoints/run${i}/model.safetensors`, safetensorsFile(f, 24, 256 * 1024));
  put('checkpoints/run0/pytorch_model.bin', torchZip(f, 12, 512 * 1024));
  put('checkpoints/run0/label_encoder.pkl', picklePayload(400));
  for (let i = 0; i < count(4); i++) put(`data/embeddings_${i}.npy`, npyFile(f, 256 * 1024));
  for (let i = 0; i < count(60); i++) put(`assets/figures/fig_${i}.png`, pngFile(f, 40_000 + f.int(80_000)));
  put('src/native/_kernels.cpython-311-x86_64-linux-gnu.so', elfFile(f, 2 * 1024 * 1024));
  // Big text: notebooks with image outputs, data, logs — until the target size.
  let i = 0;
  while (bytes < targetBytes) {
    const n = i++;
    switch (n % 4) {
      case 0:
        put(`notebooks/analysis_${n}.ipynb`, notebookFile(f, 4 + f.int(8), secretFor(f, 'nb')));
        break;
      case 1:
        put(`data/features_${n}.csv`, csvFile(f, 8_000 + f.int(8_000)));
        break;
      case 2:
        put(`data/samples_${n}.jsonl`, jsonLinesFile(f, 2_000 + f.int(2_000)));
        break;
      default:
        put(`logs/train_${n}.log`, logFile(f, 8_000 + f.int(10_000), secretFor(f, 'log')));
    }
  }
  writeFileSync(stamp, `${version}\n${bytes}\n${files}\n`);
  return { root, bytes, files };
}
