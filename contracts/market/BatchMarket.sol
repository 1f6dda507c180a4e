// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Commitments} from "../game/Commitments.sol";
import {IAgentRegistry} from "../interfaces/IAgentRegistry.sol";
import {IBatchMarket} from "../interfaces/IBatchMarket.sol";
import {IDisputeArena} from "../interfaces/IDisputeArena.sol";
import {IDisputeGame} from "../interfaces/IDisputeGame.sol";
import {MarketParams} from "./MarketParams.sol";
import {BatchPages} from "./lib/BatchPages.sol";
import {ConvictionBounty} from "./lib/ConvictionBounty.sol";
import {ReentrancyGuard} from "./lib/ReentrancyGuard.sol";
import {SafeTransfer} from "./lib/SafeTransfer.sol";
import {SignatureCheck} from "./lib/SignatureCheck.sol";

/// @title BatchMarket: many results settled with one batch root per requester.
/// @notice Requesters deposit and sign each request off-chain (EIP-712 `Request`). A worker posts
/// ONE root over leaves keccak256(abi.encode(requestHash, resultCommitment, outputRoot, fee)) for
/// ONE requester and fee token, with the requester's EIP-712 signature of the batch header: no
/// batch charges a deposit without its owner's consent, and every check of consent happens at
/// posting, so nothing the requester does later (new code, a rotated 1271 signer) can convict.
/// The total is reserved from the deposit and paid to the worker after the window. Nothing is
/// checked per result on the honest path. Any leaf can be challenged alone with its inclusion
/// proof; every challenge is a claim numbered in opening order (its `seq` on the batch):
///   queryRequest       the worker must reveal the request (fee >= leaf fee), or the batch is convicted
///   challengeResult    a dispute game on that leaf
///   challengeDuplicate two leaves of one worker with the same request hash
///   demandLeaves / publishLeaves  the requester forces the leaf list on chain in pages of 256;
///                      a total above the leaves' fees convicts
/// One proven fault convicts the whole batch: the total goes back to the deposit, the stake is
/// slashed and its beneficiary share escrowed by the market (ConvictionBounty, the TaskMarket's
/// rule). Every claim open at the conviction plays on; each that proves the fault (a won game, an
/// expired query) is a win like the convicting claim, and the escrow is split equally per win
/// (`claimBounty`): a sybil that convicts first takes 1/n. Solvency: the balance in each token =
/// Σ deposits + Σ reserved totals + Σ owed, and for native also + Σ open query bonds + Σ escrows.
contract BatchMarket is IBatchMarket, IDisputeArena, ReentrancyGuard {
    using ConvictionBounty for ConvictionBounty.Pool;

    /// The largest batch: its 16 pages of 256 leaves publish in well under one response window.
    uint256 public constant MAX_BATCH_SIZE = 4096;
    bytes32 public constant REQUEST_TYPEHASH = keccak256(
        "Request(address requester,address worker,bytes32 modelRoot,bytes32 inputRoot,address feeToken,uint256 fee,uint256 nonce,uint64 deadline)"
    );
    bytes32 public constant HEADER_TYPEHASH = keccak256(
        "BatchHeader(address requester,address worker,address feeToken,bytes32 root,uint32 count,uint128 totalFee,uint256 nonce,uint64 deadline)"
    );
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    IAgentRegistry public immutable registry;
    IDisputeGame public immutable game;
    uint256 public immutable batchStakeBase;
    uint256 public immutable batchStakePerResult;
    uint256 public immutable challengeBond;
    uint256 public immutable queryBond;
    uint256 public immutable challengeWindow;
    uint256 public immutable responseWindow;
    uint256 public immutable withdrawalDelay;
    uint256 public immutable slashBeneficiaryBps;
    uint256 public immutable bondWorkerBps;
    uint256 public immutable maxBatchSize;
    uint256 private immutable _chainId;
    bytes32 private immutable _domainSeparator;

    /// ERC-20s accepted as fee tokens, fixed at deployment (the native currency always is).
    mapping(address token => bool) public feeTokenAllowed;
    mapping(uint256 batchId => Batch) private _batches;
    mapping(uint256 queryId => Query) private _queries;
    mapping(uint256 batchId => uint256 queryId) public openDemand;
    mapping(uint256 batchId => mapping(uint256 index => uint256 queryId)) public requestQueryOf;
    mapping(uint256 batchId => Pages) private _pages;
    mapping(address requester => mapping(uint256 nonce => bool)) public headerNonceUsed;
    mapping(address token => mapping(address requester => Deposit)) private _deposits;
    mapping(address token => mapping(address account => uint256)) public owed;
    /// Open claims and the conviction escrow of each batch claimed against; wins per claimant.
    mapping(uint256 batchId => ConvictionBounty.Pool) private _pools;
    mapping(uint256 batchId => mapping(address claimant => uint256)) private _wins;
    uint256 public batchCount;
    uint256 public queryCount;

    constructor(IAgentRegistry registry_, IDisputeGame game_, MarketParams.Batch memory p, address[] memory feeTokens) {
        MarketParams.check(p);
        if (p.maxBatchSize == 0 || p.maxBatchSize > MAX_BATCH_SIZE) {
            revert BatchMarketMaxBatchSize(p.maxBatchSize, MAX_BATCH_SIZE);
        }
        registry = registry_;
        game = game_;
        batchStakeBase = p.batchStakeBase;
        batchStakePerResult = p.batchStakePerResult;
        challengeBond = p.challengeBond;
        queryBond = p.queryBond;
        challengeWindow = p.challengeWindow;
        responseWindow = p.responseWindow;
        withdrawalDelay = p.withdrawalDelay;
        slashBeneficiaryBps = p.slashBeneficiaryBps;
        bondWorkerBps = p.bondWorkerBps;
        maxBatchSize = p.maxBatchSize;
        feeTokenAllowed[address(0)] = true;
        for (uint256 i; i < feeTokens.length; ++i) {
            feeTokenAllowed[feeTokens[i]] = true;
        }
        _chainId = block.chainid;
        _domainSeparator = _buildDomainSeparator();
    }

    /// Only the registry's slash proceeds (escrowed for the winning claims) arrive without a call.
    receive() external payable {
        if (msg.sender != address(registry)) revert BatchMarketUnexpectedValue(msg.sender);
    }

    // ---- deposits ----

    /// Adds to the caller's deposit; credits what actually arrived (fee-on-transfer tokens are safe).
    function deposit(address token, uint256 amount) external payable nonReentrant {
        if (amount == 0) revert BatchMarketZeroAmount();
        if (!feeTokenAllowed[token]) revert BatchMarketTokenNotAllowed(token);
        uint256 received;
        if (token == address(0)) {
            if (msg.value != amount) revert BatchMarketValueMismatch(msg.value, amount);
            received = amount;
        } else {
            if (msg.value != 0) revert BatchMarketValueMismatch(msg.value, 0);
            received = SafeTransfer.pull(token, msg.sender, amount);
        }
        _deposits[token][msg.sender].available += uint128(received);
        emit Deposited(token, msg.sender, received);
    }

    /// Announces a withdrawal. Until it is ready the amount stays available to signed batches, so a
    /// worker holding a signed header always has `withdrawalDelay` of notice before a deposit shrinks.
    function requestWithdrawal(address token, uint256 amount) external {
        if (amount == 0) revert BatchMarketZeroAmount();
        Deposit storage d = _deposits[token][msg.sender];
        d.pending = uint128(amount);
        d.readyAt = uint64(block.timestamp + withdrawalDelay);
        emit WithdrawalRequested(token, msg.sender, amount, d.readyAt);
    }

    function withdrawDeposit(address token, address to) external nonReentrant {
        if (to == address(0)) revert BatchMarketZeroAddress();
        Deposit storage d = _deposits[token][msg.sender];
        if (d.pending == 0) revert BatchMarketNoWithdrawal(token, msg.sender);
        if (block.timestamp < d.readyAt) revert BatchMarketWithdrawalNotReady(d.readyAt);
        uint256 amount = d.pending < d.available ? d.pending : d.available;
        d.available -= uint128(amount);
        d.pending = 0;
        SafeTransfer.send(token, to, amount);
        emit DepositWithdrawn(token, msg.sender, to, amount);
    }

    /// Voids a header the requester signed but no worker has posted yet.
    function cancelHeader(uint256 nonce) external {
        if (headerNonceUsed[msg.sender][nonce]) revert BatchMarketNonceUsed(msg.sender, nonce);
        headerNonceUsed[msg.sender][nonce] = true;
        emit HeaderCancelled(msg.sender, nonce);
    }

    // ---- worker ----

    /// Posts one batch root with the requester's signature of its header; reserves the total from
    /// the deposit and locks stake. The signature is checked here and never again.
    function postBatch(BatchHeader calldata h, bytes calldata signature)
        external
        nonReentrant
        returns (uint256 batchId)
    {
        if (msg.sender != h.worker) revert BatchMarketNotWorker(h.worker, msg.sender);
        if (h.count == 0 || h.count > maxBatchSize) revert BatchMarketBadCount(h.count, maxBatchSize);
        // An unpaid batch would only buy reputation.
        if (h.totalFee == 0) revert BatchMarketZeroFee();
        if (block.timestamp > h.deadline) revert BatchMarketHeaderExpired(h.deadline, block.timestamp);
        if (!feeTokenAllowed[h.feeToken]) revert BatchMarketTokenNotAllowed(h.feeToken);
        if (headerNonceUsed[h.requester][h.nonce]) revert BatchMarketNonceUsed(h.requester, h.nonce);
        // INVARIANT: a deposit is charged only with its owner's signature of this very header.
        if (!SignatureCheck.isValid(h.requester, headerHash(h), signature)) revert BatchMarketBadSignature(h.requester);
        headerNonceUsed[h.requester][h.nonce] = true;
        if (!registry.isActive(msg.sender)) revert BatchMarketWorkerNotActive(msg.sender);
        Deposit storage d = _deposits[h.feeToken][h.requester];
        // INVARIANT: a batch can only be paid from funds reserved for it at posting.
        if (d.available < h.totalFee) revert BatchMarketDepositTooLow(d.available, h.totalFee);
        d.available -= h.totalFee;
        uint256 stake = batchStakeBase + batchStakePerResult * h.count;
        registry.lockStake(msg.sender, stake);
        batchId = ++batchCount;
        Batch storage b = _batches[batchId];
        b.worker = msg.sender;
        b.status = Status.Posted;
        b.deadline = uint40(block.timestamp + challengeWindow);
        b.postedAt = uint40(block.timestamp);
        b.requester = h.requester;
        b.count = h.count;
        b.feeToken = h.feeToken;
        b.root = h.root;
        b.totalFee = h.totalFee;
        b.stake = uint128(stake);
        emit BatchPosted(batchId, msg.sender, h.requester, h, stake);
    }

    function finalizeBatch(uint256 batchId) external nonReentrant {
        Batch storage b = _posted(batchId);
        if (block.timestamp < b.deadline) revert BatchMarketWindowOpen(batchId, b.deadline);
        // Only a batch that was claimed against has a pool: the honest path reads no extra word.
        if (b.claims != 0) {
            uint256 open = _pools[batchId].open;
            if (open != 0) revert BatchMarketClaimsOpen(batchId, open);
        }
        b.status = Status.Finalized;
        // INVARIANT: the reserved total is paid out exactly once, to the worker, for an unconvicted batch.
        owed[b.feeToken][b.worker] += b.totalFee;
        registry.release(b.worker, b.stake, IAgentRegistry.Outcome.ResultAccepted, b.count);
        emit BatchFinalized(batchId, b.worker, b.totalFee);
    }

    // ---- request queries ----

    /// Asks the worker to reveal the request of leaf `index` within the response window (one query per leaf).
    function queryRequest(uint256 batchId, Leaf calldata leaf, uint256 index, bytes32[] calldata proof)
        external
        payable
        nonReentrant
        returns (uint256 queryId)
    {
        Batch storage b = _challengeable(batchId);
        _checkLeaf(batchId, b, leaf, index, proof);
        uint256 earlier = requestQueryOf[batchId][index];
        if (earlier != 0) revert BatchMarketLeafQueried(batchId, index, earlier);
        queryId = _openQuery(batchId, b, QueryKind.Request, leaf.requestHash, leaf.fee, index);
        requestQueryOf[batchId][index] = queryId;
    }

    /// Answers a request query (anyone may; also after a conviction, for a query open at it).
    /// Consent was proven by the header at posting, so only facts fixed then are checked: the hash,
    /// the parties, the fee and the request's deadline.
    function revealRequest(uint256 queryId, Request calldata r) external nonReentrant {
        (Query storage q, Batch storage b) = _liveQuery(queryId, QueryKind.Request);
        if (block.timestamp > q.deadline) revert BatchMarketQueryExpired(queryId, q.deadline);
        bytes32 digest = requestHash(r);
        if (digest != q.requestHash) revert BatchMarketRequestMismatch(digest, q.requestHash);
        if (r.requester != b.requester || r.worker != b.worker || r.feeToken != b.feeToken) {
            revert BatchMarketWrongParties(r.requester, r.worker, r.feeToken);
        }
        if (q.fee > r.fee) revert BatchMarketOvercharged(q.fee, r.fee);
        if (r.deadline < b.postedAt) revert BatchMarketRequestExpired(r.deadline, b.postedAt);
        emit RequestRevealed(queryId, q.batchId, r);
        _payBondToWorker(q, b);
        _closeQuery(queryId, q, QueryStatus.Answered);
        _settleIfDone(q.batchId, b);
    }

    // ---- leaf demands ----

    /// The requester demands the leaf list on chain, once per batch (bonded; the bond compensates a
    /// worker that publishes every page in time).
    function demandLeaves(uint256 batchId) external payable nonReentrant returns (uint256 queryId) {
        Batch storage b = _challengeable(batchId);
        if (msg.sender != b.requester) revert BatchMarketNotRequester(batchId, msg.sender);
        if (b.demanded) revert BatchMarketAlreadyDemanded(batchId);
        b.demanded = true;
        queryId = _openQuery(batchId, b, QueryKind.Leaves, bytes32(0), 0, 0);
        openDemand[batchId] = queryId;
    }

    /// Publishes page `page` of the demanded leaves with its proof against the batch root (anyone
    /// may; each page once). When the last page is in, the demand is answered and the window
    /// reopens once for challenges on the published data; a total above the leaves' fees convicts
    /// the batch, for the requester.
    function publishLeaves(uint256 batchId, uint256 page, Leaf[] calldata leaves, bytes32[] calldata proof)
        external
        nonReentrant
    {
        uint256 queryId = openDemand[batchId];
        if (queryId == 0) revert BatchMarketNoDemand(batchId);
        (Query storage q, Batch storage b) = _liveQuery(queryId, QueryKind.Leaves);
        if (block.timestamp > q.deadline) revert BatchMarketQueryExpired(queryId, q.deadline);
        uint256 count = b.count;
        uint256 expected = BatchPages.pageLength(count, page);
        if (expected == 0) revert BatchMarketBadPage(batchId, page, BatchPages.pageCount(count));
        Pages storage progress = _pages[batchId];
        if (progress.mask & (1 << page) != 0) revert BatchMarketPagePublished(batchId, page);
        if (leaves.length != expected) revert BatchMarketLeafCount(leaves.length, expected);
        bytes32[] memory hashes = new bytes32[](BatchPages.width(count));
        uint256 sum;
        for (uint256 i; i < leaves.length; ++i) {
            hashes[i] = leafHash(leaves[i]);
            sum += leaves[i].fee;
        }
        if (!BatchPages.verify(b.root, count, page, hashes, proof)) revert BatchMarketLeavesMismatch(batchId, page);
        emit LeavesPublished(batchId, page, leaves);
        sum += progress.feeSum;
        progress.mask |= uint16(1 << page);
        progress.published += 1;
        // Saturates: a sum past the largest total can only be "not overcharged".
        progress.feeSum = sum > type(uint128).max ? type(uint128).max : uint128(sum);
        if (progress.published < BatchPages.pageCount(count)) return;
        if (b.totalFee > sum) {
            // The requester proved its own case: its bond comes back, and it is the claimant.
            owed[address(0)][q.challenger] += q.bond;
            _closeQuery(queryId, q, QueryStatus.Failed);
            _proveFault(batchId, b, q.seq, b.requester);
            return;
        }
        _payBondToWorker(q, b);
        _closeQuery(queryId, q, QueryStatus.Answered);
        uint256 reopened = block.timestamp + challengeWindow;
        if (reopened > b.deadline) b.deadline = uint40(reopened);
    }

    /// Closes a query left unanswered past its deadline (anyone may): a proved fault, so the bond is
    /// returned and the query counts as a win (it convicts, or takes a part of an earlier escrow).
    function expireQuery(uint256 queryId) external nonReentrant {
        Query storage q = _queries[queryId];
        if (q.status == QueryStatus.None) revert BatchMarketUnknownQuery(queryId);
        if (q.status != QueryStatus.Open) revert BatchMarketQueryClosed(queryId);
        if (block.timestamp <= q.deadline) revert BatchMarketQueryNotExpired(queryId, q.deadline);
        uint256 batchId = q.batchId;
        owed[address(0)][q.challenger] += q.bond;
        _closeQuery(queryId, q, QueryStatus.Failed);
        _proveFault(batchId, _batches[batchId], q.seq, q.challenger);
    }

    // ---- faults ----

    /// Two leaves with the same request hash, in one batch or in two batches of the same worker:
    /// the later one charges a request twice, so its batch is convicted.
    function challengeDuplicate(
        uint256 batchA,
        Leaf calldata leafA,
        uint256 indexA,
        bytes32[] calldata proofA,
        uint256 batchB,
        Leaf calldata leafB,
        uint256 indexB,
        bytes32[] calldata proofB
    ) external nonReentrant {
        Batch storage a = _batches[batchA];
        Batch storage b = _challengeable(batchB);
        if (
            leafA.requestHash != leafB.requestHash || a.worker != b.worker || batchA > batchB
                || (batchA == batchB && indexA == indexB)
        ) revert BatchMarketNotDuplicate();
        if (msg.sender == b.worker) revert BatchMarketSelfChallenge(batchB);
        _checkLeaf(batchA, a, leafA, indexA, proofA);
        _checkLeaf(batchB, b, leafB, indexB, proofB);
        _proveFault(batchB, b, ++b.claims, msg.sender);
    }

    /// Opens a dispute game on leaf `index`; `r` is the request (it gives the model and input).
    /// The game's subject names the batch and the claim's seq (see subjectOf).
    function challengeResult(
        uint256 batchId,
        Leaf calldata leaf,
        uint256 index,
        bytes32[] calldata proof,
        Request calldata r
    ) external payable nonReentrant returns (uint256 gameId) {
        Batch storage b = _challengeable(batchId);
        if (msg.value != challengeBond) revert BatchMarketValueMismatch(msg.value, challengeBond);
        if (msg.sender == b.worker) revert BatchMarketSelfChallenge(batchId);
        _checkLeaf(batchId, b, leaf, index, proof);
        bytes32 digest = requestHash(r);
        if (digest != leaf.requestHash) revert BatchMarketRequestMismatch(digest, leaf.requestHash);
        _pools[batchId].open += 1;
        gameId = game.open{value: msg.value}(
            IDisputeGame.OpenParams({
                subject: subjectOf(batchId, ++b.claims),
                modelRoot: r.modelRoot,
                inputRoot: r.inputRoot,
                outputRoot: leaf.outputRoot,
                worker: b.worker,
                challenger: msg.sender
            })
        );
        emit ResultChallenged(batchId, gameId, msg.sender, index);
    }

    function onDisputeResolved(uint256 gameId, bytes32 subject, Outcome outcome, address worker, address challenger)
        external
        nonReentrant
    {
        if (msg.sender != address(game)) revert BatchMarketNotGame(msg.sender);
        (uint256 batchId, uint256 seq) = _decodeSubject(subject);
        Batch storage b = _batches[batchId];
        _pools[batchId].open -= 1;
        emit DisputeSettled(batchId, gameId, outcome);
        if (outcome == Outcome.ChallengerWon) {
            registry.recordOutcome(challenger, IAgentRegistry.Outcome.DisputeWon, 1);
            _proveFault(batchId, b, seq, challenger);
            return;
        }
        if (outcome == Outcome.WorkerWon) {
            registry.recordOutcome(worker, IAgentRegistry.Outcome.DisputeWon, 1);
            registry.recordOutcome(challenger, IAgentRegistry.Outcome.DisputeLost, 1);
        }
        _settleIfDone(batchId, b);
    }

    /// Whether the batch that the game's subject names is convicted.
    function isConvicted(bytes32 subject) public view returns (bool) {
        (uint256 batchId,) = _decodeSubject(subject);
        return _batches[batchId].status == Status.Convicted;
    }

    /// No game is ever moot: games cannot open on a convicted batch, and every game open at a
    /// conviction plays on, so that the honest challengers share the reward with any sybil.
    function isMoot(bytes32, uint256) external pure returns (bool) {
        return false;
    }

    /// Credits the caller's part of a settled conviction escrow to its balance (`owed`, native).
    function claimBounty(uint256 batchId) external nonReentrant {
        ConvictionBounty.Pool storage pool = _pools[batchId];
        if (_batches[batchId].status != Status.Convicted || pool.open != 0) {
            revert BatchMarketBountyNotSettled(batchId, pool.open);
        }
        // INVARIANT: each win is paid its share of the escrow once (take zeroes the wins).
        uint256 amount = pool.take(_wins[batchId], msg.sender);
        if (amount == 0) revert BatchMarketNoBounty(batchId, msg.sender);
        owed[address(0)][msg.sender] += amount;
        emit BountyClaimed(batchId, msg.sender, amount);
    }

    function withdraw(address token, address to) external nonReentrant {
        if (to == address(0)) revert BatchMarketZeroAddress();
        uint256 amount = owed[token][msg.sender];
        if (amount == 0) revert BatchMarketNothingOwed(token, msg.sender);
        owed[token][msg.sender] = 0;
        SafeTransfer.send(token, to, amount);
        emit Withdrawn(token, msg.sender, to, amount);
    }

    // ---- views ----

    function domainSeparator() public view returns (bytes32) {
        return block.chainid == _chainId ? _domainSeparator : _buildDomainSeparator();
    }

    /// The EIP-712 digest the requester signs; it is also the task ID inside the result commitment.
    function requestHash(Request calldata r) public view returns (bytes32) {
        return _typedDigest(keccak256(abi.encode(REQUEST_TYPEHASH, r)));
    }

    /// The EIP-712 digest of a batch header, which the requester signs to let it be posted.
    function headerHash(BatchHeader calldata h) public view returns (bytes32) {
        return _typedDigest(keccak256(abi.encode(HEADER_TYPEHASH, h)));
    }

    function leafHash(Leaf calldata l) public pure returns (bytes32) {
        return keccak256(abi.encode(l.requestHash, l.resultCommitment, l.outputRoot, l.fee));
    }

    /// The dispute-game subject of claim `seq` on batch `batchId`.
    function subjectOf(uint256 batchId, uint256 seq) public pure returns (bytes32) {
        return bytes32((batchId << 32) | seq);
    }

    function batch(uint256 batchId) external view returns (Batch memory) {
        return _batches[batchId];
    }

    function query(uint256 queryId) external view returns (Query memory) {
        return _queries[queryId];
    }

    function pages(uint256 batchId) external view returns (Pages memory) {
        return _pages[batchId];
    }

    function deposits(address token, address requester) external view returns (Deposit memory) {
        return _deposits[token][requester];
    }

    /// The open claims of a batch and its conviction escrow (see ConvictionBounty.Pool).
    function disputes(uint256 batchId) external view returns (ConvictionBounty.Pool memory) {
        return _pools[batchId];
    }

    /// How many winning claims the escrow of batch `batchId` owes `claimant` a share for.
    function bountyWins(uint256 batchId, address claimant) external view returns (uint256) {
        return _wins[batchId][claimant];
    }

    // ---- internals ----

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("Verinfer BatchMarket"), keccak256("1"), block.chainid, address(this))
        );
    }

    function _typedDigest(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(), structHash));
    }

    function _decodeSubject(bytes32 subject) private pure returns (uint256 batchId, uint256 seq) {
        batchId = uint256(subject) >> 32;
        seq = uint256(subject) & type(uint32).max;
    }

    function _posted(uint256 batchId) private view returns (Batch storage b) {
        b = _batches[batchId];
        if (b.status == Status.None) revert BatchMarketUnknownBatch(batchId);
        if (b.status != Status.Posted) revert BatchMarketWrongStatus(batchId, b.status);
    }

    function _challengeable(uint256 batchId) private view returns (Batch storage b) {
        b = _posted(batchId);
        if (block.timestamp >= b.deadline) revert BatchMarketWindowClosed(batchId, b.deadline);
    }

    function _checkLeaf(uint256 batchId, Batch storage b, Leaf calldata leaf, uint256 index, bytes32[] calldata proof)
        private
        view
    {
        if (b.status == Status.None) revert BatchMarketUnknownBatch(batchId);
        if (!Commitments.verifyLeaf(b.root, b.count, leafHash(leaf), index, proof)) {
            revert BatchMarketBadProof(batchId, index);
        }
    }

    function _openQuery(uint256 batchId, Batch storage b, QueryKind kind, bytes32 hash, uint256 fee, uint256 index)
        private
        returns (uint256 queryId)
    {
        if (msg.value != queryBond) revert BatchMarketValueMismatch(msg.value, queryBond);
        if (msg.sender == b.worker) revert BatchMarketSelfChallenge(batchId);
        _pools[batchId].open += 1;
        queryId = ++queryCount;
        _queries[queryId] = Query({
            batchId: uint64(batchId),
            kind: kind,
            status: QueryStatus.Open,
            deadline: uint40(block.timestamp + responseWindow),
            seq: ++b.claims,
            challenger: msg.sender,
            bond: uint96(msg.value),
            fee: uint128(fee),
            requestHash: hash
        });
        emit QueryOpened(queryId, batchId, kind, msg.sender, index);
    }

    /// An open query of `kind` (a request query open at a conviction plays on; a demand is closed).
    function _liveQuery(uint256 queryId, QueryKind kind) private view returns (Query storage q, Batch storage b) {
        q = _queries[queryId];
        if (q.status == QueryStatus.None || q.kind != kind) revert BatchMarketUnknownQuery(queryId);
        if (q.status != QueryStatus.Open) revert BatchMarketQueryClosed(queryId);
        b = _batches[q.batchId];
    }

    function _closeQuery(uint256 queryId, Query storage q, QueryStatus status) private {
        q.status = status;
        q.bond = 0;
        _pools[q.batchId].open -= 1;
        if (q.kind == QueryKind.Leaves) delete openDemand[q.batchId];
        emit QueryClosed(queryId, status);
    }

    /// A query answered in the worker's favour: bondWorkerBps of the bond to the worker, the rest burnt.
    function _payBondToWorker(Query storage q, Batch storage b) private {
        uint256 toWorker = uint256(q.bond) * bondWorkerBps / 10_000;
        owed[address(0)][b.worker] += toWorker;
        SafeTransfer.sendNative(SafeTransfer.BURN, q.bond - toWorker);
    }

    /// Claim `seq` by `claimant` proved a fault: the first proof convicts the batch; every proof
    /// (the convicting claim's, and each of a claim open at the conviction) counts one win.
    function _proveFault(uint256 batchId, Batch storage b, uint256 seq, address claimant) private {
        if (b.status == Status.Posted) _convict(batchId, b, seq, claimant);
        _pools[batchId].countWinner(_wins[batchId], claimant);
        emit ClaimWon(batchId, seq, claimant);
        _settleIfDone(batchId, b);
    }

    /// Voids the batch: the total goes back to the deposit, the stake is slashed to the market and its
    /// beneficiary share escrowed. An open demand is closed moot (bond returned): the data it asks for
    /// decides nothing any more, and the requester has its total back.
    function _convict(uint256 batchId, Batch storage b, uint256 seq, address claimant) private {
        b.status = Status.Convicted;
        // INVARIANT: the reserved total returns to the requester's deposit exactly once.
        _deposits[b.feeToken][b.requester].available += b.totalFee;
        registry.recordOutcome(b.worker, IAgentRegistry.Outcome.DisputeLost, 1);
        // INVARIANT: the batch stake is slashed exactly once, at the conviction, and the market
        // escrows exactly the beneficiary share that arrives.
        registry.slash(b.worker, b.stake, address(this), slashBeneficiaryBps);
        _pools[batchId].collect(registry);
        emit BatchConvicted(batchId, b.worker, seq, claimant);
        uint256 demand = openDemand[batchId];
        if (demand != 0) {
            Query storage q = _queries[demand];
            owed[address(0)][q.challenger] += q.bond;
            _closeQuery(demand, q, QueryStatus.Moot);
        }
    }

    /// Divides the escrow of a convicted batch once no claim on it is open. Called only where a claim
    /// closed or at the conviction, and none opens on a convicted batch: it settles once.
    function _settleIfDone(uint256 batchId, Batch storage b) private {
        ConvictionBounty.Pool storage pool = _pools[batchId];
        // INVARIANT: the escrow is divided once, when the last claim open at the conviction resolves.
        if (b.status != Status.Convicted || pool.open != 0) return;
        uint256 burnt = pool.settle();
        emit BountySettled(batchId, pool.winners, pool.escrow, burnt);
    }
}
