import { CustodyError } from '../../core/errors.js';
import type { Command } from '../command.js';

// Placeholder: not implemented yet.
export const signCommand: Command = {
  name: 'sign',
  summary: '(not implemented yet)',
  usage: 'custody sign: not implemented yet\n',
  run: () => Promise.reject(new CustodyError('USAGE', 'custody sign is not implemented yet')),
};
