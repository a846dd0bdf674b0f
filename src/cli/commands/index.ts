import type { Command } from '../command.js';
import { attestCommand } from './attest.js';
import { dataCommand } from './data.js';
import { hashCommand } from './hash.js';
import { keygenCommand } from './keygen.js';
import { notebookCommand } from './notebook.js';
import { rulesCommand } from './rules.js';
import { scanCommand } from './scan.js';
import { signCommand } from './sign.js';
import { verifyCommand } from './verify.js';

/** Every command, sorted by name. */
export const COMMANDS: readonly Command[] = [attestCommand, dataCommand, hashCommand, keygenCommand, notebookCommand, rulesCommand, scanCommand, signCommand, verifyCommand];
