import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateCorpus } from './corpus-eval.js';

// The labelled ML-project corpus (scripts/fixtures/gen_secrets_corpus.py): the bench prints the figures,
// this test keeps them from regressing below the bar.
test('precision and recall on the labelled corpus are at least 0.95, in total and per family', async () => {
  const score = await evaluateCorpus(0);
  assert.ok(score.total.expected > 300, `corpus has ${score.total.expected} labelled secrets`);
  const detail = [...score.falsePositives.map((x) => `FP ${x.path}:${x.line} ${x.ruleId}`), ...score.falseNegatives.map((x) => `FN ${x.path}:${x.line} ${x.family}`)].slice(0, 20).join('\n');
  assert.ok(score.total.precision >= 0.95, `precision ${score.total.precision}\n${detail}`);
  assert.ok(score.total.recall >= 0.95, `recall ${score.total.recall}\n${detail}`);
  for (const family of score.families) {
    assert.ok(family.precision >= 0.9 && family.recall >= 0.9, `${family.family}: precision ${family.precision}, recall ${family.recall}\n${detail}`);
  }
  assert.ok(!score.falsePositives.some((x) => x.family === 'meta'), 'no notebook-unparsed or scan-incomplete findings on the corpus');
});
