import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { handVectors } from './vectors.ts';

const stored = JSON.parse(readFileSync(new URL('./hand.json', import.meta.url), 'utf8'));

test('the hand-built model reproduces its checked-in output bytes and roots', () => {
  assert.deepEqual(handVectors(), stored);
});
