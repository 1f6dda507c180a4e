// The dashboard page's pure logic, outside the browser: where a task is in its life, how a
// dispute's range narrows move by move, and ether amounts by integer arithmetic.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import type { Hex } from 'viem';
import { ranges } from '../../dashboard/src/chain/dissection.ts';
import { eth, type GameRow, type Move, type TaskRow, taskStage } from '../../dashboard/src/chain/model.ts';

const H = `0x${'00'.repeat(32)}` as Hex;
const A = `0x${'11'.repeat(20)}` as Hex;
const at = (block: bigint) => ({ block, tx: H });

function task(extra: Partial<TaskRow> = {}): TaskRow {
  return {
    id: H,
    created: at(1n),
    requester: A,
    modelRoot: H,
    inputRoot: H,
    fee: 1n,
    inline: '0x',
    challenges: [],
    ...extra,
  };
}

describe('taskStage', () => {
  it('follows a task from request to finality and says what it waits for', () => {
    assert.equal(taskStage(task()).waiting, 'a worker to take it');
    assert.equal(
      taskStage(task({ taken: { ...at(2n), worker: A } })).waiting,
      'the worker to post its result',
    );
    const posted = { ...at(2n), worker: A, outputRoot: H, commitment: H, output: '0x00' as Hex };
    assert.equal(taskStage(task({ posted })).stage, 'committed');
    const audit = { ...at(3n), selected: true, auditor: A, deadline: 10n };
    assert.equal(taskStage(task({ posted, audit })).stage, 'audit drawn');
    assert.equal(
      taskStage(task({ posted, audit, attested: { ...at(4n), auditor: A } })).stage,
      'challenge window',
    );
    assert.equal(taskStage(task({ posted, audit: { ...audit, selected: false } })).stage, 'challenge window');
    assert.deepEqual(taskStage(task({ posted, finalized: { ...at(9n), workerPay: 1n } })).outcome, 'final');
  });

  it('names a dispute, a conviction and an expiry', () => {
    const challenges = [{ ...at(5n), gameId: 1n, challenger: A }];
    assert.equal(taskStage(task({ challenges })).stage, 'disputed');
    assert.equal(
      taskStage(task({ challenges, convicted: { ...at(6n), challenger: A } })).outcome,
      'convicted',
    );
    assert.equal(taskStage(task({ expired: at(7n) })).outcome, 'expired');
  });
});

describe('ranges', () => {
  const move = (kind: string, by: Move['by'], args: Record<string, unknown>): Move => ({
    ...at(1n),
    kind,
    by,
    args,
  });
  it('narrows over ops, then chunks, then bytes, one range per move', () => {
    const g: GameRow = {
      id: 1n,
      subject: H,
      arena: A,
      bond: 1n,
      opCount: 100n,
      opened: at(1n),
      moves: [
        move('TraceRevealed', 'worker', { children: [] }),
        move('ChildPicked', 'challenger', { phase: 2, height: 6n, position: 1n }),
        move('NodesRevealed', 'worker', { phase: 3, height: 6n, position: 1n, children: [] }),
        move('ChildPicked', 'challenger', { phase: 2, height: 0n, position: 70n }),
        move('OpNamed', 'challenger', { opIndex: 70n, outputLength: 3000n }),
        move('TensorRevealed', 'worker', { children: [] }),
        move('ChildPicked', 'challenger', { phase: 6, height: 0n, position: 2n }),
        move('ChunkRevealed', 'worker', { chunkIndex: 2n, chunk: `0x${'ab'.repeat(952)}` }),
        move('ElementNamed', 'challenger', { element: 5n, workerByte: 9n }),
        move('StepVerified', 'anyone', { value: 7n }),
      ],
    };
    const r = ranges(g).map((x) => `${x.level} ${x.lo}-${x.hi}/${x.size}`);
    assert.deepEqual(r, [
      'ops 0-100/100',
      'ops 64-100/100', // the second node of 64 leaves, cut at the 100 real ops
      'ops 64-100/100',
      'ops 70-71/100',
      'ops 70-71/100',
      'chunks 0-3/3', // 3000 bytes are 3 chunks of 1 KiB
      'chunks 2-3/3',
      'bytes 0-952/952',
      'bytes 5-6/952',
      'bytes 5-6/952',
    ]);
  });
});

describe('eth', () => {
  it('prints wei as ether with at most four decimals, without floating point', () => {
    assert.equal(eth(0n), '0');
    assert.equal(eth(10n ** 18n), '1');
    assert.equal(eth(1_500_000_000_000_000_000n), '1.5');
    assert.equal(eth(123_456_789_000_000_000n), '0.1234');
    assert.equal(eth(-(10n ** 17n)), '-0.1');
    assert.equal(eth(10n ** 40n), `1${'0'.repeat(22)}`);
  });
});

describe('hex conversions without Node’s Buffer (as in the browser)', () => {
  it('give the same hex and bytes as viem', () => {
    const script = `
      delete globalThis.Buffer;
      const { toHex, fromHex } = await import(${JSON.stringify(new URL('../../src/commit/keccak.ts', import.meta.url).href)});
      const viem = await import('viem');
      const bytes = new Uint8Array(300).map((_, i) => (i * 37) & 255);
      const hex = toHex(bytes.subarray(7, 290));
      if (hex !== viem.bytesToHex(bytes.subarray(7, 290))) throw new Error('toHex differs: ' + hex);
      if (viem.bytesToHex(fromHex(hex)) !== hex) throw new Error('fromHex differs');
      if (toHex(new Uint8Array(0)) !== '0x' || fromHex('0x').length !== 0) throw new Error('empty differs');
      console.log('same');
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.stderr, '');
    assert.equal(r.stdout.trim(), 'same');
  });
});
