import type { Command } from '../command.js';
import { pullCommand, pushCommand, datasetsCommand, modelsCommand } from './artifacts.js';
import { attestCommand } from './attest.js';
import { auditCommand } from './audit.js';
import { hashCommand } from './hash.js';
import { accountCommand, grantCommand, loginCommand, projectCommand, tokenCommand } from './identity.js';
import { keygenCommand } from './keygen.js';
import { notebookCommand } from './notebook.js';
import { registryCommand } from './registry.js';
import { rulesCommand } from './rules.js';
import { scanCommand } from './scan.js';
import { signCommand } from './sign.js';
import { verifyCommand } from './verify.js';

/** Every command, sorted by name. */
export const COMMANDS: readonly Command[] = [
  accountCommand,
  attestCommand,
  auditCommand,
  datasetsCommand,
  grantCommand,
  hashCommand,
  keygenCommand,
  loginCommand,
  modelsCommand,
  notebookCommand,
  projectCommand,
  pullCommand,
  pushCommand,
  registryCommand,
  rulesCommand,
  scanCommand,
  signCommand,
  tokenCommand,
  verifyCommand,
];
