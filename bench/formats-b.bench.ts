// Scan time and memory for 10 GB safetensors and GGUF models (sparse files on disk): only the headers
// are read — a 200-tensor safetensors JSON header; a GGUF header with a 32,000-token vocabulary, scores,
// a chat template and 200 tensor infos — so the scan must not depend on the file size.
// Baseline, measured in the same run: a plain fs read of the same header bytes (open, read, close).
// Target: each scan < 1 s and < 100 MB of memory: the peak RSS of a fresh process that scans, minus the
// peak RSS of the same process that loads everything but scans nothing (Node and tsx alone are ~90 MB).
// Usage: node --import tsx bench/run.ts formats-b
import { spawnSync } from 'node:child_process';
import { canMeasureCli, measureModelScan, measureProcess } from './cli-process.js';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runScan } from '../src/scanners/engine.js';

const WORK = 'bench/.work';
const SAFETENSORS = `${WORK}/formats-b-10g.safetensors`;
const GGUF = `${WORK}/formats-b-10g.gguf`;
const TENSORS = 200;
const DIM = 5120;
const TENSOR_BYTES = DIM * DIM * 2; // BF16 / F16
const DATA_BYTES = TENSORS * TENSOR_BYTES; // 10.49 GB

/** Writes the header, then extends the file with sparse zeros to its full size. */
function writeSparse(path: string, header: Buffer, total: number): void {
  mkdirSync(WORK, { recursive: true });
  const fd = openSync(path, 'w');
  writeSync(fd, header, 0, header.length, 0);
  ftruncateSync(fd, total);
  closeSync(fd);
}

function buildSafetensors(): number {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  for (let i = 0; i < TENSORS; i++) {
    header[`model.layers.${i}.mlp.weight`] = { dtype: 'BF16', shape: [DIM, DIM], data_offsets: [i * TENSOR_BYTES, (i + 1) * TENSOR_BYTES] };
  }
  const text = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(text.length));
  const head = Buffer.concat([prefix, text]);
  writeSparse(SAFETENSORS, head, head.length + DATA_BYTES);
  return head.length;
}

function buildGguf(): number {
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  const u64 = (n: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    return b;
  };
  const str = (s: string): Buffer => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);
  const kv = (key: string, type: number, value: Buffer): Buffer => Buffer.concat([str(key), u32(type), value]);
  const vocab = Array.from({ length: 32_000 }, (_, i) => `tok_${i}`);
  const template =
    "{{ bos_token }}{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  const kvs = [
    kv('general.architecture', 8, str('llama')),
    kv('general.name', 8, str('bench')),
    kv('tokenizer.ggml.tokens', 9, Buffer.concat([u32(8), u64(vocab.length), ...vocab.map(str)])),
    kv('tokenizer.ggml.scores', 9, Buffer.concat([u32(6), u64(vocab.length), Buffer.alloc(vocab.length * 4)])),
    kv('tokenizer.chat_template', 8, str(template)),
  ];
  const infos: Buffer[] = [];
  for (let i = 0; i < TENSORS; i++) infos.push(str(`blk.${i}.ffn.weight`), u32(2), u64(DIM), u64(DIM), u32(1), u64(i * TENSOR_BYTES));
  let head = Buffer.concat([Buffer.from('GGUF'), u32(3), u64(TENSORS), u64(kvs.length), ...kvs, ...infos]);
  head = Buffer.concat([head, Buffer.alloc((32 - (head.length % 32)) % 32)]);
  writeSparse(GGUF, head, head.length + DATA_BYTES);
  return head.length;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** The same process without a scan: Node, tsx and Custody's modules loaded. */
async function idleChild(): Promise<void> {
  await runScan({ paths: [], only: ['models'], jobs: 0 });
  process.stdout.write(JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

async function child(path: string): Promise<void> {
  // A fresh process, so that its peak RSS is the scan's alone.
  const runs: number[] = [];
  let findings = 0;
  for (let i = 0; i < 5; i++) {
    const started = process.hrtime.bigint();
    const result = await runScan({ paths: [path], only: ['models'], jobs: 0 });
    runs.push(Number(process.hrtime.bigint() - started) / 1e6);
    findings = result.findings.length;
  }
  process.stdout.write(JSON.stringify({ ms: median(runs), findings, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

/** The baseline: open the file, read the header bytes, close (warm cache), median of 5. */
function readHeader(path: string, length: number): number {
  const runs: number[] = [];
  const buffer = Buffer.alloc(length);
  for (let i = 0; i < 6; i++) {
    const started = process.hrtime.bigint();
    const fd = openSync(path, 'r');
    readSync(fd, buffer, 0, length, 0);
    closeSync(fd);
    if (i > 0) runs.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return median(runs);
}

function headerLength(path: string): number {
  const fd = openSync(path, 'r');
  const probe = Buffer.alloc(8);
  readSync(fd, probe, 0, 8, 0);
  closeSync(fd);
  if (path.endsWith('.safetensors')) return 8 + Number(probe.readBigUInt64LE(0));
  return statSync(path).size - DATA_BYTES;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--scan-child') return child(process.argv[3] as string);
  if (process.argv[2] === '--idle-child') return idleChild();
  const idle = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--idle-child'], { encoding: 'utf8' });
  if (idle.status !== 0) throw new Error(`idle child failed: ${idle.stderr}`);
  const idleRssMb = (JSON.parse(idle.stdout) as { maxRssMb: number }).maxRssMb;
  const sizes = new Map<string, number>();
  const expected = (path: string): boolean => existsSync(path) && statSync(path).size > DATA_BYTES;
  sizes.set(SAFETENSORS, expected(SAFETENSORS) ? headerLength(SAFETENSORS) : buildSafetensors());
  sizes.set(GGUF, expected(GGUF) ? headerLength(GGUF) : buildGguf());
  const lines = [
    '## 10 GB safetensors and GGUF models: headers only',
    '',
    "Target: `runScan({ paths: [file], only: ['models'], jobs: 0 })` takes < 1 s and < 100 MB peak RSS on a 10 GB file (sparse on disk): " +
      'only the header and metadata are read. Memory is the peak RSS of a fresh process that scans minus that of the same process loading everything without scanning ' +
      `(${idleRssMb.toFixed(0)} MiB: Node, tsx and Custody's modules). Baseline: a plain \`fs\` read of the same header bytes in this run.`,
    '',
    '| file | size | header | fs read of header (baseline) | scan (median of 5) | ratio scan / baseline | peak RSS (process) | scan memory | target | findings |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const path of [SAFETENSORS, GGUF]) {
    const size = statSync(path).size;
    const header = sizes.get(path) as number;
    const baseline = readHeader(path, header);
    const run = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--scan-child', path], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`scan child failed: ${run.stderr}`);
    const scan = JSON.parse(run.stdout) as { ms: number; findings: number; maxRssMb: number };
    const scanMb = Math.max(0, scan.maxRssMb - idleRssMb);
    const ok = scan.ms < 1000 && scanMb < 100;
    lines.push(
      `| ${path.split('/').pop()} | ${(size / 1e9).toFixed(2)} GB | ${(header / 1024).toFixed(0)} KiB | ${baseline.toFixed(2)} ms | ${scan.ms.toFixed(1)} ms | ${(scan.ms / baseline).toFixed(1)}× | ${scan.maxRssMb.toFixed(0)} MiB | ${scanMb.toFixed(0)} MiB | ${ok ? 'meets' : 'MISSES'} | ${scan.findings} |`,
    );
  }
  lines.push('', ...cliRows(), '');
  process.stdout.write(lines.join('\n'));
}

/** The whole built CLI as a user runs it: wall time and peak RSS of the entire process, Node included. */
function cliRows(): string[] {
  if (!canMeasureCli()) return ['(built CLI not measured: needs /usr/bin/time and `npm run build`)'];
  const node = measureProcess([process.execPath, '-e', '0']);
  const rows = [
    `Whole process, built CLI (\`node bin/custody scan FILE --only models --format json\`), peak RSS including Node itself (\`node -e 0\` alone: ${node.rssMb.toFixed(0)} MiB):`,
    '',
    '| file | wall time | peak RSS (whole process) | target < 1 s and < 100 MB |',
    '|---|---|---|---|',
  ];
  for (const path of [SAFETENSORS, GGUF]) {
    const m = measureModelScan(path);
    rows.push(`| ${path.split('/').pop()} | ${m.seconds.toFixed(2)} s | ${m.rssMb.toFixed(0)} MiB | ${m.seconds < 1 && m.rssMb < 100 ? 'meets' : 'MISSES'} |`);
  }
  return rows;
}

await main();
