import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUDIT_TRANSITIONS } from './audit.ts';
import { DISPUTE_TRANSITIONS } from './dispute.ts';
import { isTerminal, JobTransitionError, nextState, type TransitionTable } from './machine.ts';
import { TASK_TRANSITIONS } from './task.ts';

const tables: [string, TransitionTable<string, string>, string[], string[]][] = [
  [
    'task',
    TASK_TRANSITIONS,
    ['open', 'signed', 'posted'],
    ['finalized', 'convicted', 'lost', 'expired', 'rejected'],
  ],
  ['audit', AUDIT_TRANSITIONS, ['pending', 'watching', 'assigned'], ['attested', 'challenged', 'closed']],
  ['dispute', DISPUTE_TRANSITIONS, ['playing', 'settling'], ['done']],
];

describe('job machines', () => {
  for (const [name, table, live, terminal] of tables) {
    it(`${name}: every target is a state, and exactly the expected states are terminal`, () => {
      const states = Object.keys(table);
      for (const s of states)
        for (const t of Object.values(table[s])) assert.ok(states.includes(t as string), `${s} -> ${t}`);
      assert.deepEqual(states.filter((s) => isTerminal(table, s)).sort(), [...terminal].sort());
      assert.deepEqual(states.filter((s) => !isTerminal(table, s)).sort(), [...live].sort());
      // Every live state can reach a terminal one.
      for (const s of live) {
        const seen = new Set([s]);
        const queue = [s];
        while (queue.length) {
          for (const t of Object.values(table[queue.shift() as string]) as string[]) {
            if (seen.has(t)) continue;
            seen.add(t);
            queue.push(t);
          }
        }
        assert.ok(
          [...seen].some((t) => terminal.includes(t)),
          `${s} reaches an end`,
        );
      }
    });
  }

  it('walks the happy paths and rejects events a state does not allow', () => {
    assert.equal(nextState('task', TASK_TRANSITIONS, 'open', 'resultPosted'), 'posted');
    assert.equal(nextState('task', TASK_TRANSITIONS, 'posted', 'finalized'), 'finalized');
    assert.equal(nextState('task', TASK_TRANSITIONS, 'posted', 'convicted'), 'convicted');
    assert.equal(nextState('audit', AUDIT_TRANSITIONS, 'pending', 'posted'), 'watching');
    assert.equal(nextState('audit', AUDIT_TRANSITIONS, 'watching', 'verified'), 'watching');
    assert.equal(nextState('audit', AUDIT_TRANSITIONS, 'assigned', 'attested'), 'attested');
    assert.equal(nextState('dispute', DISPUTE_TRANSITIONS, 'playing', 'moved'), 'playing');
    assert.equal(nextState('dispute', DISPUTE_TRANSITIONS, 'playing', 'resolved'), 'settling');
    // A posted result cannot be posted again, an attested audit cannot be challenged, a finished game cannot move.
    assert.throws(() => nextState('task', TASK_TRANSITIONS, 'posted', 'resultPosted'), JobTransitionError);
    assert.throws(() => nextState('audit', AUDIT_TRANSITIONS, 'attested', 'challenged'), /terminal/);
    assert.throws(
      () => nextState('audit', AUDIT_TRANSITIONS, 'pending', 'attested'),
      /Allowed: posted, closed/,
    );
    assert.throws(() => nextState('dispute', DISPUTE_TRANSITIONS, 'done', 'moved'), JobTransitionError);
    assert.throws(() => nextState('dispute', DISPUTE_TRANSITIONS, 'nowhere' as 'done', 'moved'), /no state/);
  });
});
