// Dishonest parties for the game tests: what a cheating worker may commit (wrong lengths, odd
// chunks, garbage in padding, random roots) and how either side may misplay (random or malformed
// moves, silence, playing for time). The honest side is src/dispute/play.ts's honest strategies.
import type { Hex } from 'viem';
import { type Hash, keccak256, toHex } from '../../src/commit/keccak.ts';
import { tensorBytes } from '../../src/commit/tensorRoot.ts';
import { revealPrefixArgs, segmentStepArgs } from '../../src/dispute/moves.ts';
import { honestClaim, type OpClaim } from '../../src/dispute/party.ts';
import {
  type GameView,
  honestChallenger,
  honestWorker,
  type Move,
  type Strategy,
} from '../../src/dispute/play.ts';
import { stepBits } from '../../src/dispute/tree.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import type { Rng } from '../support/randomModel.ts';

export type ClaimAttack = 'wrongLength' | 'extraLeaves' | 'paddingGarbage' | 'hugeChunk' | 'randomLeaves';
export const CLAIM_ATTACKS: readonly ClaimAttack[] = [
  'wrongLength',
  'extraLeaves',
  'paddingGarbage',
  'hugeChunk',
  'randomLeaves',
];

function randomHash(rng: Rng): Hash {
  return Uint8Array.from({ length: 32 }, () => rng.int(0, 255));
}

/** What a cheater commits for one op output of bytes `bytes`. */
export function attackClaim(attack: ClaimAttack, bytes: Uint8Array, rng: Rng): OpClaim {
  const honest = honestClaim(bytes);
  switch (attack) {
    case 'wrongLength': {
      // Same chunk leaves, a byte length off by a little (often with the same chunk count).
      const delta = rng.pick(
        [1, -1, 2, 1024, -bytes.length + 1].filter((d) => bytes.length + d >= 0 && d !== 0),
      );
      return { ...honest, byteLength: bytes.length + delta };
    }
    case 'extraLeaves': {
      // Zero leaves appended (the old "absent" sentinel) and a length that counts them.
      const n = rng.int(1, 3);
      return {
        chunks: [...honest.chunks, ...Array.from({ length: n }, () => new Uint8Array())],
        leaves: [...honest.leaves, ...Array.from({ length: n }, () => new Uint8Array(32))],
        byteLength: bytes.length + n * 1024,
      };
    }
    case 'paddingGarbage': {
      // The honest leaves and length, with a nonzero leaf where the tree must be empty.
      const extra = rng.int(1, 2);
      return {
        chunks: [...honest.chunks, ...Array.from({ length: extra }, () => new Uint8Array([1]))],
        leaves: [...honest.leaves, ...Array.from({ length: extra }, () => randomHash(rng))],
        byteLength: bytes.length,
      };
    }
    case 'hugeChunk': {
      // One leaf that hashes a 418,871-byte "chunk": its reveal would nearly fill a block.
      const c = rng.int(0, honest.chunks.length - 1);
      const huge = new Uint8Array(418_871);
      huge.set(honest.chunks[c].subarray(0, Math.min(honest.chunks[c].length, huge.length)));
      huge[huge.length - 1] = rng.int(1, 255);
      const chunks = [...honest.chunks];
      chunks[c] = huge;
      const leaves = [...honest.leaves];
      leaves[c] = keccak256(huge);
      return { chunks, leaves, byteLength: bytes.length };
    }
    case 'randomLeaves':
      return {
        chunks: honest.chunks.map((c) => c.map(() => rng.int(0, 255))),
        leaves: honest.leaves.map(() => randomHash(rng)),
        byteLength: bytes.length,
      };
  }
}

export function claimOfTensor(t: Tensor, attack: ClaimAttack, rng: Rng): OpClaim {
  return attackClaim(attack, tensorBytes(t.dtype, t.data), rng);
}

export interface Misplay {
  /** Probability that a move is replaced by a malformed or random one. */
  garbage: number;
  /** Probability that the party stops moving. */
  silence: number;
  /** Probability that the party first lets time pass, and the most seconds it waits. */
  delay: number;
  maxDelaySeconds: number;
}

const randomBytes32 = (rng: Rng): Hex => toHex(randomHash(rng));

function withMisplay(
  base: Strategy,
  rng: Rng,
  misplay: Misplay,
  garbage: (view: GameView) => Move,
): Strategy {
  let silent = false;
  return {
    move(view) {
      if (silent || rng.bool(misplay.silence)) {
        silent = true;
        return undefined;
      }
      const move = rng.bool(misplay.garbage) ? garbage(view) : base.move(view);
      if (move && rng.bool(misplay.delay)) move.delaySeconds = rng.int(1, misplay.maxDelaySeconds);
      return move;
    },
  };
}

/** A worker defending `provider` (a dishonest trace) that also misplays at random. */
export function dishonestWorker(
  provider: Parameters<typeof honestWorker>[0],
  rng: Rng,
  misplay: Misplay,
): Strategy {
  return withMisplay(honestWorker(provider), rng, misplay, (view) => {
    const g = view.game;
    const children = (n: number) => Array.from({ length: n }, () => randomBytes32(rng));
    switch (view.state) {
      case 'awaitWorkerTrace':
        return {
          fn: 'revealTrace',
          args: [
            BigInt(rng.int(0, 5)),
            randomBytes32(rng),
            randomBytes32(rng),
            children(rng.int(0, 8)),
            children(64),
          ],
        };
      case 'awaitWorkerTensor':
        return { fn: 'revealTensor', args: [randomBytes32(rng), children(rng.pick([0, 2, 64]))] };
      case 'awaitWorkerChunk':
        return {
          fn: 'revealChunk',
          args: [toHex(Uint8Array.from({ length: rng.int(0, 2048) }, () => rng.int(0, 255)))],
        };
      case 'awaitStep': {
        const k = Number(g.opIndex);
        const element = Number(g.element);
        if (!provider.prefix(k, element) || rng.bool(0.3)) return { fn: 'revealNodes', args: [children(2)] };
        // Its partial sums under a random root, or with the byte proof or children bent.
        const [step, root, proof, first] = revealPrefixArgs(provider, k, element);
        const u = rng.int(0, 2);
        return {
          fn: 'revealPrefix',
          args: [
            step,
            u === 0 ? randomBytes32(rng) : root,
            u === 1 ? proof.map(() => randomBytes32(rng)) : proof,
            u === 2 ? children(first.length) : first,
          ],
        };
      }
      case 'awaitPrefixStep': {
        const k = Number(g.opIndex);
        const element = Number(g.element);
        if (!provider.prefix(k, element)) return { fn: 'revealNodes', args: [children(2)] };
        // Another segment's step, or a partial sum before it that is not its leaf.
        const i = Number(g.position);
        const [step, before, siblings] = segmentStepArgs(provider, k, element, i, undefined);
        if (rng.bool())
          return { fn: 'submitSegmentStep', args: [step, before + BigInt(rng.int(1, 9)), siblings] };
        const other = provider.segmentStep(k, element, i === 0 ? 1 : i - 1);
        return { fn: 'submitSegmentStep', args: [other, before, siblings] };
      }
      default:
        return { fn: 'revealNodes', args: [children(2 ** stepBits(g.height))] };
    }
  });
}

/** A challenger that walks by `provider` (a dishonest or honest trace), or at random. */
export function dishonestChallenger(
  provider: Parameters<typeof honestChallenger>[0],
  rng: Rng,
  misplay: Misplay,
): Strategy {
  const guided = honestChallenger(provider);
  return withMisplay(guided, rng, misplay, (view) => {
    const g = view.game;
    switch (view.state) {
      case 'awaitChallengerOpPick':
      case 'awaitChallengerChunkPick':
      case 'awaitChallengerPrefixPick':
        // Any child, including padding and out-of-range ones.
        return { fn: 'pick', args: [view.children, BigInt(rng.int(0, Math.max(0, view.children.length)))] };
      case 'awaitChallengerElement':
        return { fn: 'nameElement', args: [view.chunk, BigInt(rng.int(0, 1100))] };
      case 'awaitChallengerOp': {
        const m = guided.move(view);
        if (!m) return { fn: 'pick', args: [[], 0n] };
        // The honest naming with one producer root or sibling replaced at random.
        const [op, out, sources] = m.args as [
          unknown,
          unknown,
          { producerRoot: Hex; traceSiblings: Hex[] }[],
        ];
        const bent = sources.map((s) => (rng.bool(0.5) ? { ...s, producerRoot: randomBytes32(rng) } : s));
        return { fn: 'nameOp', args: [op, out, bent] };
      }
      case 'awaitPrefixStep': {
        // Its own partial sum before the segment, proven in its own tree instead of the worker's.
        const k = Number(g.opIndex);
        const element = Number(g.element);
        if (!provider.prefix(k, element)) return { fn: 'pick', args: [[], 0n] };
        return {
          fn: 'submitSegmentStep',
          args: segmentStepArgs(provider, k, element, Number(g.position), undefined),
        };
      }
      default:
        return { fn: 'submitStep', args: [provider.step(Number(g.opIndex), Number(g.element))] };
    }
  });
}
