import { CustodyError } from '../../core/errors.js';
import type { Command } from '../command.js';

// Placeholder: not implemented yet.
export const verifyCommand: Command = {
  name: 'verify',
  summary: '(not implemented yet)',
  usage: 'custody verify: not implemented yet\n',
  run: () => Promise.reject(new CustodyError('USAGE', 'custody verify is not implemented yet')),
};
