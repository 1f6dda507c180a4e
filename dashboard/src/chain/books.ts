// Each contract's native balance against its books, by the solvency rule its source states:
//   TaskMarket: the fees of open native tasks + Σ owed native + Σ conviction escrows;
//   BatchMarket: Σ deposits + Σ reserved totals + Σ owed + Σ open query bonds + Σ escrows, summed
//     here as what its events paid in less what they paid out (the split needs every account);
//   DisputeGame: Σ bonds of unresolved games + Σ credits.
// The ledger is summed from events (events.ts); the balances are read from the chain. Ether that
// moved without its event, or an event without its ether, shows as a mismatch.
import { type Book, eth, type Ledger } from './model.ts';

export interface Balances {
  taskMarket: bigint;
  batchMarket: bigint;
  disputeGame: bigint;
}

/** The BatchMarket's fixed query bond and the share of it an answered query pays the worker. */
export interface BatchTerms {
  queryBond: bigint;
  bondWorkerBps: bigint;
}

export function booksOf(L: Ledger, balances: Balances, batch: BatchTerms): Book[] {
  // An answered query pays bondWorkerBps of its bond to the worker (owed, still held) and burns the rest.
  const burntPerAnswer = batch.queryBond - (batch.queryBond * batch.bondWorkerBps) / 10_000n;
  const batchIn = L.batchIn + L.batchQueries * batch.queryBond;
  const batchOut = L.batchOut + L.batchAnswered * burntPerAnswer;
  return [
    {
      contract: 'taskMarket',
      balance: balances.taskMarket,
      books: L.taskFees + L.taskOwed + L.taskEscrow,
      parts: [
        ['open fees', L.taskFees],
        ['owed', L.taskOwed],
        ['escrows', L.taskEscrow],
      ],
    },
    {
      contract: 'batchMarket',
      balance: balances.batchMarket,
      books: batchIn - batchOut,
      parts: [
        ['paid in', batchIn],
        ['paid out or burnt', -batchOut],
      ],
    },
    {
      contract: 'disputeGame',
      balance: balances.disputeGame,
      books: L.gameBonds + L.gameCredits,
      parts: [
        ['open bonds', L.gameBonds],
        ['unclaimed credits', L.gameCredits],
      ],
    },
  ];
}

const NAMES: Record<Book['contract'], string> = {
  taskMarket: 'TaskMarket',
  batchMarket: 'BatchMarket',
  disputeGame: 'DisputeGame',
};

/** One contract's line on the card: its balance, and how its books add up or where they differ. */
export function bookLine(b: Book): string {
  if (b.balance !== b.books)
    return `${NAMES[b.contract]}: balance ${eth(b.balance)} ETH ≠ books ${eth(b.books)} ETH`;
  const sum = b.parts
    .map(([k, v], i) => `${i === 0 ? '' : v < 0n ? ' − ' : ' + '}${k} ${eth(v < 0n ? -v : v)}`)
    .join('');
  return `${NAMES[b.contract]} ${eth(b.balance)} ETH = ${sum}`;
}
