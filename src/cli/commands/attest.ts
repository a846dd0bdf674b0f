import { CustodyError } from '../../core/errors.js';
import type { Command } from '../command.js';

// Placeholder: not implemented yet.
export const attestCommand: Command = {
  name: 'attest',
  summary: '(not implemented yet)',
  usage: 'custody attest: not implemented yet\n',
  run: () => Promise.reject(new CustodyError('USAGE', 'custody attest is not implemented yet')),
};
