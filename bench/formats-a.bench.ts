// Scan time and memory for big protobuf models whose bulk is tensor payloads: a ~2 GiB ONNX model with
// an embedded initializer (raw_data) and a ~1.5 GiB frozen TensorFlow GraphDef with one huge Const,
// both sparse files on disk. Baseline, measured in the same run: `sha256sum` of the same file (what any
// reader that touches the weights pays), from a warm page cache.
// Target: each scan < 0.01 × sha256sum and < 100 MB peak RSS — the protobuf walk reads structure only.
// Usage: node --import tsx bench/run.ts formats-a
import { spawnSync } from 'node:child_process';
import { canMeasureCli, measureModelScan } from './cli-process.js';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FileSource } from '../src/core/byte-source.js';
import { runScan } from '../src/scanners/engine.js';
import { analyzeOnnx } from '../src/scanners/models/formats/onnx.js';
import { analyzeTf } from '../src/scanners/models/formats/tf-saved-model.js';

const WORK = 'bench/.work';
const ONNX = `${WORK}/formats-a-2g.onnx`;
const GRAPH = `${WORK}/formats-a-1g5.pb`;
const ONNX_PAYLOAD = 2 ** 31 - 64 * 1024; // keeps every message under protobuf's 2 GiB limit
const GRAPH_PAYLOAD = 1.5 * 2 ** 30;

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}
const tag = (field: number, wire: number): Buffer => varint(field * 8 + wire);
const fVarint = (field: number, n: number): Buffer => Buffer.concat([tag(field, 0), varint(n)]);
const fBytes = (field: number, data: Buffer | string): Buffer => {
  const b = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([tag(field, 2), varint(b.length), b]);
};
const fMsg = (field: number, ...parts: Buffer[]): Buffer => fBytes(field, Buffer.concat(parts));
/** Header of a LEN field whose payload (of `length` bytes) is written separately. */
const lenHeader = (field: number, length: number): Buffer => Buffer.concat([tag(field, 2), varint(length)]);

/** Writes `prefix`, then `hole` bytes of sparse zeros, then `suffix`. */
function writeSparse(path: string, prefix: Buffer, hole: number, suffix: Buffer): void {
  mkdirSync(WORK, { recursive: true });
  const fd = openSync(path, 'w');
  writeSync(fd, prefix, 0, prefix.length, 0);
  ftruncateSync(fd, prefix.length + hole);
  writeSync(fd, suffix, 0, suffix.length, prefix.length + hole);
  closeSync(fd);
}

function buildOnnx(): void {
  const node = (op: string, inputs: string[], outputs: string[], name: string): Buffer =>
    fMsg(1, ...inputs.map((i) => fBytes(1, i)), ...outputs.map((o) => fBytes(2, o)), fBytes(3, name), fBytes(4, op));
  const floats = ONNX_PAYLOAD / 4;
  const tensorHead = Buffer.concat([fVarint(1, floats / 1024), fVarint(1, 1024), fVarint(2, 1), fBytes(8, 'w'), lenHeader(9, ONNX_PAYLOAD)]);
  const graphHead = Buffer.concat([node('MatMul', ['x', 'w'], ['y'], 'matmul'), fBytes(2, 'main'), lenHeader(5, tensorHead.length + ONNX_PAYLOAD), tensorHead]);
  const graphTail = Buffer.concat([node('Relu', ['y'], ['z'], 'relu'), fMsg(11, fBytes(1, 'x')), fMsg(12, fBytes(1, 'z'))]);
  const graphLength = graphHead.length + ONNX_PAYLOAD + graphTail.length;
  const prefix = Buffer.concat([fVarint(1, 8), fBytes(2, 'bench'), lenHeader(7, graphLength), graphHead]);
  const suffix = Buffer.concat([graphTail, fMsg(8, fBytes(1, ''), fVarint(2, 17))]);
  writeSparse(ONNX, prefix, ONNX_PAYLOAD, suffix);
}

function buildGraph(): void {
  const node = (name: string, op: string, inputs: string[] = []): Buffer => fMsg(1, fBytes(1, name), fBytes(2, op), ...inputs.map((i) => fBytes(3, i)));
  // Const node: attr "value" → AttrValue.tensor(8) → TensorProto{dtype, tensor_content(4)}.
  const tensorHead = Buffer.concat([fVarint(1, 1), lenHeader(4, GRAPH_PAYLOAD)]);
  const attrValueHead = Buffer.concat([lenHeader(8, tensorHead.length + GRAPH_PAYLOAD), tensorHead]);
  const entryHead = Buffer.concat([fBytes(1, 'value'), lenHeader(2, attrValueHead.length + GRAPH_PAYLOAD), attrValueHead]);
  const nodeBody = Buffer.concat([fBytes(1, 'w'), fBytes(2, 'Const'), lenHeader(5, entryHead.length + GRAPH_PAYLOAD), entryHead]);
  const prefix = Buffer.concat([node('x', 'Placeholder'), lenHeader(1, nodeBody.length + GRAPH_PAYLOAD), nodeBody]);
  const suffix = Buffer.concat([node('y', 'MatMul', ['x', 'w']), fMsg(4, fVarint(1, 1286))]);
  writeSparse(GRAPH, prefix, GRAPH_PAYLOAD, suffix);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function child(path: string): Promise<void> {
  // Runs in a fresh process so that its peak RSS is the scan's alone.
  const runs: number[] = [];
  let findings = 0;
  for (let i = 0; i < 5; i++) {
    const started = process.hrtime.bigint();
    const result = await runScan({ paths: [path], only: ['models'], jobs: 0 });
    runs.push(Number(process.hrtime.bigint() - started) / 1e6);
    findings = result.findings.length;
  }
  const source = await FileSource.open(path);
  const bytesRead = path.endsWith('.onnx') ? (await analyzeOnnx(source)).bytesRead : (await analyzeTf(source, 'graph-def')).bytesRead;
  await source.close();
  process.stdout.write(JSON.stringify({ ms: median(runs), findings, bytesRead, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

async function main(): Promise<void> {
  if (process.argv[2] === '--scan-child') return child(process.argv[3] as string);
  if (!existsSync(ONNX)) buildOnnx();
  if (!existsSync(GRAPH)) buildGraph();
  const lines = [
    '## Big protobuf models: ONNX with embedded weights, TF GraphDef with a huge constant',
    '',
    'Target: `runScan({ only: [\'models\'], jobs: 0 })` on each file takes < 0.01 × `sha256sum` of the same file (warm cache) and the built CLI scanning it stays under 100 MB peak RSS for the whole process: tensor payloads are skipped, never read. (The in-process scan runs under tsx, whose process alone holds about 100 MB; the CLI column is the honest memory figure.)',
    '',
    '| file | size | sha256sum | scan (median of 5) | ratio | bytes read by the walk | peak RSS (tsx process) | built CLI: wall time, peak RSS (whole process) | target | findings |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const path of [ONNX, GRAPH]) {
    const size = statSync(path).size;
    const sha = (): number => {
      const started = process.hrtime.bigint();
      const run = spawnSync('sha256sum', [path], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`sha256sum failed: ${run.stderr}`);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    sha(); // warm the page cache
    const shaMs = median([sha(), sha()]);
    const run = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--scan-child', path], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`scan child failed: ${run.stderr}`);
    const scan = JSON.parse(run.stdout) as { ms: number; findings: number; bytesRead: number; maxRssMb: number };
    const ratio = scan.ms / shaMs;
    const cli = canMeasureCli() ? measureModelScan(path) : undefined;
    const ok = ratio < 0.01 && (cli === undefined || cli.rssMb < 100);
    const cliText = cli === undefined ? 'not measured' : `${cli.seconds.toFixed(2)} s, ${cli.rssMb.toFixed(0)} MiB`;
    lines.push(
      `| ${path.split('/').pop()} | ${(size / 1024 ** 3).toFixed(2)} GiB | ${shaMs.toFixed(0)} ms | ${scan.ms.toFixed(1)} ms | ${ratio.toFixed(5)} | ${(scan.bytesRead / 1024).toFixed(0)} KiB | ${scan.maxRssMb.toFixed(0)} MiB | ${cliText} | ${ok ? 'meets' : 'MISSES'} | ${scan.findings} |`,
    );
  }
  lines.push('');
  process.stdout.write(lines.join('\n'));
}

await main();
