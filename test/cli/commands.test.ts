import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMANDS } from '../../src/cli/commands/index.js';

describe('command registry', () => {
  it('lists each command sorted by name, with the name and summary its module declares', async () => {
    assert.deepEqual(COMMANDS.map((c) => c.name), [...COMMANDS.map((c) => c.name)].sort());
    for (const entry of COMMANDS) {
      const command = await entry.load();
      assert.equal(command.name, entry.name);
      assert.equal(command.summary, entry.summary, `${entry.name}: the summary in commands/index.ts must match the command's`);
    }
  });
});
