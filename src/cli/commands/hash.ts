import { CustodyError } from '../../core/errors.js';
import type { Command } from '../command.js';

// Placeholder: not implemented yet.
export const hashCommand: Command = {
  name: 'hash',
  summary: '(not implemented yet)',
  usage: 'custody hash: not implemented yet\n',
  run: () => Promise.reject(new CustodyError('USAGE', 'custody hash is not implemented yet')),
};
