#!/usr/bin/env node
// Part of `npm run build`: copies the web console's static files (style sheet, scripts) from
// src/console/static/ to dist/console/static/, where the built server serves them from.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const from = join(root, 'src', 'console', 'static');
const to = join(root, 'dist', 'console', 'static');
mkdirSync(to, { recursive: true });
for (const name of readdirSync(from)) if (/\.(css|js|svg)$/.test(name)) copyFileSync(join(from, name), join(to, name));
