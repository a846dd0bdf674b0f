import { CustodyError } from '../../core/errors.js';
import type { Command } from '../command.js';

// Placeholder: not implemented yet.
export const keygenCommand: Command = {
  name: 'keygen',
  summary: '(not implemented yet)',
  usage: 'custody keygen: not implemented yet\n',
  run: () => Promise.reject(new CustodyError('USAGE', 'custody keygen is not implemented yet')),
};
