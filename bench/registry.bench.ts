// The registry under load, on loopback, against baselines measured in the same run.
//
// 1. Metadata reads: GET of a version (token check, three queries, an audit append each) with 16
//    requests in flight. Target ≥ 1,000 requests/s with p99 < 20 ms. Baseline: GET /healthz (no
//    token, no database, no audit entry) on the same server: the framework's ceiling here.
// 2. Transfers: 8 concurrent uploads of 1 GiB each (random bytes; hashed on the way in, fsynced,
//    renamed), then 8 concurrent downloads (re-hashed as they are sent) into files, both through
//    the client of `custody push` and `custody pull` (src/client/http.ts). Target: within 2×
//    of `cp` of the same files (8 cp processes at once; the median of three runs), and a server
//    peak RSS under 300 MB. `cp` does not fsync while the registry (and the pull, before it moves
//    files into place) must, so `cp` followed by `sync` is reported too.
//
// The server is the built CLI (`custody registry serve`, --no-scan so its scanner does not compete
// with the transfers, --token-rate 0) in its own process; the load comes from this process over
// keep-alive connections. REGISTRY_BENCH_MB sets the file size (default 1024);
// REGISTRY_BENCH_SERVER_NODE_ARGS passes node flags to the server process (profiling).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { open } from 'node:fs/promises';
import { RegistryClient } from '../src/client/http.js';
import { computeRootDigest } from '../src/integrity/digest.js';

const WORK = resolve('bench', '.work');
const FILES_DIR = join(WORK, 'registry-files');
const MiB = 1024 * 1024;
const FILE_MB = Number(process.env['REGISTRY_BENCH_MB'] ?? 1024);
const FILE_COUNT = 8;
const READS = 5000;
const IN_FLIGHT = 16;
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function fileSpec(i: number): string {
  return join(FILES_DIR, `f${i}.bin`);
}

/** Random files, made once and kept (bench/.work is not committed). */
function generate(): string[] {
  mkdirSync(FILES_DIR, { recursive: true });
  const chunk = Buffer.allocUnsafe(16 * MiB);
  const paths: string[] = [];
  for (let i = 0; i < FILE_COUNT; i += 1) {
    const path = fileSpec(i);
    paths.push(path);
    if (existsSync(path) && statSync(path).size === FILE_MB * MiB) continue;
    const fd = openSync(path, 'w');
    for (let written = 0; written < FILE_MB * MiB; written += chunk.length) {
      randomFillSync(chunk);
      writeSync(fd, chunk, 0, Math.min(chunk.length, FILE_MB * MiB - written));
    }
    closeSync(fd);
  }
  return paths;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface Server {
  child: ChildProcess;
  url: string;
}

/** Node flags for the server process only (to profile it: `--cpu-prof --cpu-prof-dir=DIR`, `--trace-gc`). */
const SERVER_NODE_ARGS = (process.env['REGISTRY_BENCH_SERVER_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');

async function startServer(dataDir: string): Promise<Server> {
  const child = spawn(process.execPath, [...SERVER_NODE_ARGS, 'bin/custody', 'registry', 'serve', '--data-dir', dataDir, '--port', '0', '--log-level', 'silent', '--no-scan', '--token-rate', '0'], { stdio: ['ignore', SERVER_NODE_ARGS.length > 0 ? 'inherit' : 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /listening on (\S+)/.exec(err);
      if (m) resolveUrl(m[1] as string);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${String(code)}: ${err}`)));
  });
  return { child, url };
}

function call(url: string, method: string, path: string, token: string | undefined, body?: { json?: unknown; file?: string; size?: number }): Promise<{ status: number; text: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolveCall, reject) => {
    const headers: Record<string, string> = {};
    if (token) headers['authorization'] = `Bearer ${token}`;
    let payload: Buffer | undefined;
    if (body?.json !== undefined) {
      payload = Buffer.from(JSON.stringify(body.json));
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    } else if (body?.file) {
      headers['content-type'] = 'application/octet-stream';
      headers['content-length'] = String(body.size);
    }
    const req = request(new URL(url + path), { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolveCall({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), ms: performance.now() - started }));
    });
    req.on('error', reject);
    if (payload) req.end(payload);
    else if (body?.file) pipeline(createReadStream(body.file, { highWaterMark: MiB }), req).catch(reject);
    else req.end();
  });
}

async function load(url: string, path: string, token: string | undefined, count: number): Promise<{ perSecond: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      const r = await call(url, 'GET', path, token);
      if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text.slice(0, 200)}`);
      latencies.push(r.ms);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { perSecond: count / seconds, p50: at(0.5), p99: at(0.99) };
}

function timed(fn: () => void): number {
  const started = performance.now();
  fn();
  return (performance.now() - started) / 1000;
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

const fmt = (n: number, digits = 1): string => n.toFixed(digits);

interface Cpu {
  user: number;
  system: number;
}

/** CPU seconds (user, system) a process has used so far, from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): Cpu {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

/** CPU seconds of this process's finished children (the cp processes). */
function childrenCpuSeconds(): Cpu {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  return { user: Number(fields[13]) / 100, system: Number(fields[14]) / 100 };
}

/** This process's CPU seconds (the bench is the client). */
function ownCpuSeconds(): Cpu {
  const u = process.cpuUsage();
  return { user: u.user / 1e6, system: u.system / 1e6 };
}

/** CPU seconds between two readings: total (user + system). System time here is mostly the kernel copying into the page cache. */
const cpuSpent = (from: Cpu, to: Cpu): string => `${fmt(to.user - from.user + to.system - from.system, 2)} (${fmt(to.user - from.user, 2)} + ${fmt(to.system - from.system, 2)})`;

async function main(): Promise<void> {
  if (!existsSync('dist/cli/main.js')) throw new Error('build first (npm run bench builds)');
  const base = join(WORK, 'registry-bench');
  rmSync(base, { recursive: true, force: true });
  const dataDir = join(base, 'data');
  const server = await startServer(dataDir);
  const token = readFileSync(join(dataDir, 'initial-admin-token'), 'utf8').trim();
  const lines: string[] = ['## bench/registry.bench.ts', ''];
  try {
    await call(server.url, 'POST', '/v1/projects', token, { json: { name: 'bench' } });
    // A small version to read.
    const small = Buffer.from('weights');
    const resources = [{ name: 'w.bin', algorithm: 'sha256', digest: createHash('sha256').update(small).digest('hex') }];
    const manifest = { name: 'm', digest: { sha256: computeRootDigest(resources.map((r) => r.digest)) }, serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false }, resources };
    const started = JSON.parse((await call(server.url, 'POST', '/v1/projects/bench/models/m/uploads', token, { json: { manifest } })).text) as { uploadId: string; version: string };
    const smallPath = join(base, 'w.bin');
    mkdirSync(base, { recursive: true });
    const fd = openSync(smallPath, 'w');
    writeSync(fd, small);
    closeSync(fd);
    await call(server.url, 'PUT', `/v1/uploads/${started.uploadId}/files/w.bin`, token, { file: smallPath, size: small.length });
    await call(server.url, 'POST', `/v1/uploads/${started.uploadId}/commit`, token);
    const versionPath = `/v1/projects/bench/models/m/versions/${started.version}`;

    await load(server.url, versionPath, token, 500);
    await load(server.url, '/healthz', undefined, 500);
    const health = await load(server.url, '/healthz', undefined, READS);
    const reads = await load(server.url, versionPath, token, READS);
    lines.push(
      `Metadata reads (target ≥ 1,000 requests/s, p99 < 20 ms), ${READS} requests, ${IN_FLIGHT} in flight:`,
      '',
      '| | requests/s | p50 ms | p99 ms |',
      '|---|---|---|---|',
      `| GET a version (token, queries, audit append) | ${fmt(reads.perSecond, 0)} | ${fmt(reads.p50)} | ${fmt(reads.p99)} |`,
      `| baseline: GET /healthz (no token, no database, no audit) | ${fmt(health.perSecond, 0)} | ${fmt(health.p50)} | ${fmt(health.p99)} |`,
      `| ratio | ${fmt(reads.perSecond / health.perSecond, 2)} × | | |`,
      '',
    );

    const files = generate();
    const digests = await Promise.all(files.map(sha256File));
    // cp's time moves with what the page cache holds (40 % between runs here): three runs, the median counts.
    const cpOut = join(base, 'cp-out');
    const cpRuns: { seconds: number; sync: number; cpu: [Cpu, Cpu] }[] = [];
    for (let run = 0; run < 3; run += 1) {
      mkdirSync(cpOut, { recursive: true });
      const before = childrenCpuSeconds();
      const t = performance.now();
      await Promise.all(files.map((f, i) => new Promise<void>((done) => spawn('cp', [f, join(cpOut, `f${i}.bin`)]).on('exit', () => done()))));
      const seconds = (performance.now() - t) / 1000;
      const after = childrenCpuSeconds();
      const sync = timed(() => spawnSync('sync'));
      rmSync(cpOut, { recursive: true, force: true });
      spawnSync('sync');
      cpRuns.push({ seconds, sync, cpu: [before, after] });
    }
    const cpMedian = [...cpRuns].sort((a, b) => a.seconds - b.seconds)[1] as (typeof cpRuns)[number];
    const cpSeconds = cpMedian.seconds;
    const syncSeconds = cpMedian.sync;
    const [cpCpu0, cpCpu1] = cpMedian.cpu;
    // The same work done with system tools: copy, hash the copy, flush it to disk.
    mkdirSync(cpOut, { recursive: true });
    const verifiedCpu0 = childrenCpuSeconds();
    const verifiedSeconds = await (async () => {
      const t = performance.now();
      await Promise.all(files.map((f, i) => new Promise<void>((done) => spawn('sh', ['-c', 'cp "$1" "$2" && openssl dgst -sha256 "$2" >/dev/null', 'sh', f, join(cpOut, `f${i}.bin`)]).on('exit', () => done()))));
      spawnSync('sync');
      return (performance.now() - t) / 1000;
    })();
    const verifiedCpu1 = childrenCpuSeconds();
    rmSync(cpOut, { recursive: true, force: true });
    spawnSync('sync');

    const bigResources = files.map((_, i) => ({ name: `f${i}.bin`, algorithm: 'sha256', digest: digests[i] as string }));
    const bigManifest = { name: 'big', digest: { sha256: computeRootDigest(bigResources.map((r) => r.digest)) }, serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false }, resources: bigResources };
    const upload = JSON.parse((await call(server.url, 'POST', '/v1/projects/bench/models/big/uploads', token, { json: { manifest: bigManifest } })).text) as { uploadId: string; version: string };
    // The transfers go through the client `custody push` and `custody pull` use.
    const client = new RegistryClient(server.url, token);
    const pid = server.child.pid ?? 0;
    const cpu0 = { server: cpuSeconds(pid), client: ownCpuSeconds() };
    let t = performance.now();
    const puts = await Promise.all(files.map((f, i) => client.upload<{ size: number }>(`/v1/uploads/${upload.uploadId}/files/f${i}.bin`, f, FILE_MB * MiB)));
    const uploadSeconds = (performance.now() - t) / 1000;
    const cpu1 = { server: cpuSeconds(pid), client: ownCpuSeconds() };
    if (puts.some((p) => p.size !== FILE_MB * MiB)) throw new Error(`upload failed: ${JSON.stringify(puts)}`);
    const commit = await call(server.url, 'POST', `/v1/uploads/${upload.uploadId}/commit`, token);
    if (commit.status !== 201) throw new Error(`commit failed: ${commit.text}`);
    const dlOut = join(base, 'dl-out');
    mkdirSync(dlOut, { recursive: true });
    const cpu2 = { server: cpuSeconds(pid), client: ownCpuSeconds() };
    t = performance.now();
    const gets = await Promise.all(
      files.map(async (_, i) => {
        const out = await open(join(dlOut, `f${i}.bin`), 'wx');
        try {
          return await client.download(`/v1/projects/bench/models/big/versions/${upload.version}/files/f${i}.bin`, out);
        } finally {
          await out.close();
        }
      }),
    );
    const downloadSeconds = (performance.now() - t) / 1000;
    const cpu3 = { server: cpuSeconds(pid), client: ownCpuSeconds() };
    if (gets.some((g) => g.size !== FILE_MB * MiB)) throw new Error('download failed');
    const sizesOk = files.every((_, i) => statSync(join(dlOut, `f${i}.bin`)).size === FILE_MB * MiB);
    const rss = peakRssMb(server.child.pid ?? 0);
    rmSync(dlOut, { recursive: true, force: true });
    const total = (FILE_COUNT * FILE_MB) / 1024;
    const rate = (seconds: number): string => `${fmt((FILE_COUNT * FILE_MB) / seconds, 0)} MiB/s`;
    lines.push(
      `Transfers (target within 2× of cp, server peak RSS < 300 MB): ${FILE_COUNT} files of ${FILE_MB} MiB at once (${fmt(total)} GiB)${sizesOk ? '' : ' — DOWNLOAD SIZES WRONG'}:`,
      '',
      '| | seconds | rate | × cp | server CPU s (user + sys) | client CPU s (user + sys) |',
      '|---|---|---|---|---|---|',
      `| upload (hash on the way in, fsync, rename) | ${fmt(uploadSeconds, 2)} | ${rate(uploadSeconds)} | ${fmt(uploadSeconds / cpSeconds, 2)} | ${cpuSpent(cpu0.server, cpu1.server)} | ${cpuSpent(cpu0.client, cpu1.client)} |`,
      `| download (re-hash as sent) into files | ${fmt(downloadSeconds, 2)} | ${rate(downloadSeconds)} | ${fmt(downloadSeconds / cpSeconds, 2)} | ${cpuSpent(cpu2.server, cpu3.server)} | ${cpuSpent(cpu2.client, cpu3.client)} |`,
      `| baseline: 8 × cp (median of ${cpRuns.map((r) => fmt(r.seconds, 2)).join(', ')} s) | ${fmt(cpSeconds, 2)} | ${rate(cpSeconds)} | 1.00 | ${cpuSpent(cpCpu0, cpCpu1)} | |`,
      `| baseline: 8 × cp, then sync | ${fmt(cpSeconds + syncSeconds, 2)} | ${rate(cpSeconds + syncSeconds)} | ${fmt((cpSeconds + syncSeconds) / cpSeconds, 2)} | | |`,
      `| baseline: 8 × (cp, openssl dgst -sha256 of the copy), then sync | ${fmt(verifiedSeconds, 2)} | ${rate(verifiedSeconds)} | ${fmt(verifiedSeconds / cpSeconds, 2)} | ${cpuSpent(verifiedCpu0, verifiedCpu1)} | |`,
      '',
      `Against copying, hashing and flushing with system tools: upload ${fmt(uploadSeconds / verifiedSeconds, 2)}×, download ${fmt(downloadSeconds / verifiedSeconds, 2)}×.`,
      '',
      `Server peak RSS (VmHWM) over the whole run: ${fmt(rss, 0)} MB.`,
      '',
    );
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
    rmSync(base, { recursive: true, force: true });
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
