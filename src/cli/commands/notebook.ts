import { CustodyError } from '../../core/errors.js';
import type { Command } from '../command.js';

// Placeholder: not implemented yet.
export const notebookCommand: Command = {
  name: 'notebook',
  summary: '(not implemented yet)',
  usage: 'custody notebook: not implemented yet\n',
  run: () => Promise.reject(new CustodyError('USAGE', 'custody notebook is not implemented yet')),
};
