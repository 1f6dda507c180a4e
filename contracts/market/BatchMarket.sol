// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Commitments} from "../game/Commitments.sol";
import {IAgentRegistry} from "../interfaces/IAgentRegistry.sol";
import {IDisputeArena} from "../interfaces/IDisputeArena.sol";
import {IDisputeGame} from "../interfaces/IDisputeGame.sol";
import {MarketParams} from "./MarketParams.sol";
import {ReentrancyGuard} from "./lib/ReentrancyGuard.sol";
import {SafeTransfer} from "./lib/SafeTransfer.sol";
import {SignatureCheck} from "./lib/SignatureCheck.sol";

error BatchMarketZeroAmount();
error BatchMarketValueMismatch(uint256 sent, uint256 required);
error BatchMarketNoWithdrawal(address token, address requester);
error BatchMarketWithdrawalNotReady(uint256 readyAt);
error BatchMarketDepositTooLow(uint256 available, uint256 required);
error BatchMarketWorkerNotActive(address worker);
error BatchMarketBadCount(uint256 count, uint256 max);
error BatchMarketUnknownBatch(uint256 batchId);
error BatchMarketWrongStatus(uint256 batchId, BatchMarket.Status status);
error BatchMarketWindowOpen(uint256 batchId, uint256 endsAt);
error BatchMarketWindowClosed(uint256 batchId, uint256 closedAt);
error BatchMarketDisputesOpen(uint256 batchId, uint256 openDisputes);
error BatchMarketTooManyDisputes(uint256 batchId);
error BatchMarketBadProof(uint256 batchId, uint256 index);
error BatchMarketSelfChallenge(uint256 batchId);
error BatchMarketNotRequester(uint256 batchId, address caller);
error BatchMarketDemandOpen(uint256 batchId, uint256 queryId);
error BatchMarketUnknownQuery(uint256 queryId);
error BatchMarketQueryClosed(uint256 queryId);
error BatchMarketQueryExpired(uint256 queryId, uint256 deadline);
error BatchMarketQueryNotExpired(uint256 queryId, uint256 deadline);
error BatchMarketRequestMismatch(bytes32 computed, bytes32 requestHash);
error BatchMarketWrongParties(address requester, address worker, address feeToken);
error BatchMarketOvercharged(uint256 leafFee, uint256 signedFee);
error BatchMarketRequestExpired(uint256 deadline, uint256 postedAt);
error BatchMarketBadSignature(address requester);
error BatchMarketLeafCount(uint256 got, uint256 count);
error BatchMarketLeavesMismatch(uint256 batchId, bytes32 computed, bytes32 root);
error BatchMarketNotDuplicate();
error BatchMarketNotGame(address caller);
error BatchMarketNothingOwed(address token, address account);
error BatchMarketZeroAddress();

/// @title BatchMarket: many results settled with one batch root per requester.
/// @notice Requesters deposit; each request is an EIP-712 signature off-chain. A worker posts ONE
/// root over leaves keccak256(abi.encode(requestHash, resultCommitment, outputRoot, fee)) for ONE
/// requester and fee token, with the count and total; the total is reserved from the deposit and
/// paid to the worker after the window. Nothing is checked per result on the honest path. Any leaf
/// can be challenged alone with its inclusion proof:
///   querySignature   the worker must reveal the signed request (fee >= leaf fee) or be slashed
///   challengeResult  a dispute game on that leaf
///   challengeDuplicate  two leaves of one worker with the same request hash
///   demandLeaves / publishLeaves  the requester forces the leaf list on chain; total > Σ fees convicts
/// One proven fault convicts the whole batch: the total goes back to the deposit, the stake is slashed.
contract BatchMarket is IDisputeArena, ReentrancyGuard {
    struct Request {
        address requester;
        /// The worker the requester chose: binds the payee, so another worker cannot charge for it.
        address worker;
        bytes32 modelRoot;
        bytes32 inputRoot;
        address feeToken;
        uint256 fee;
        uint256 nonce;
        uint64 deadline;
    }

    struct Leaf {
        bytes32 requestHash;
        bytes32 resultCommitment;
        bytes32 outputRoot;
        uint256 fee;
    }

    struct BatchHeader {
        address requester;
        address feeToken;
        bytes32 root;
        uint32 count;
        uint128 totalFee;
    }

    enum Status {
        None,
        Posted,
        Finalized,
        Convicted
    }

    struct Batch {
        address worker;
        Status status;
        uint8 openDisputes;
        uint40 deadline;
        uint40 postedAt;
        address requester;
        uint32 count;
        address feeToken;
        bytes32 root;
        uint128 totalFee;
        uint128 stake;
    }

    enum QueryKind {
        Signature,
        Leaves
    }

    enum QueryStatus {
        None,
        Open,
        Answered,
        Failed,
        Moot
    }

    struct Query {
        uint64 batchId;
        QueryKind kind;
        QueryStatus status;
        uint40 deadline;
        address challenger;
        uint128 bond;
        uint128 fee;
        bytes32 requestHash;
    }

    struct Deposit {
        uint128 available;
        uint128 pending;
        uint64 readyAt;
    }

    bytes32 public constant REQUEST_TYPEHASH = keccak256(
        "Request(address requester,address worker,bytes32 modelRoot,bytes32 inputRoot,address feeToken,uint256 fee,uint256 nonce,uint64 deadline)"
    );
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    event Deposited(address indexed token, address indexed requester, uint256 amount);
    event WithdrawalRequested(address indexed token, address indexed requester, uint256 amount, uint256 readyAt);
    event DepositWithdrawn(address indexed token, address indexed requester, address to, uint256 amount);
    event BatchPosted(
        uint256 indexed batchId, address indexed worker, address indexed requester, BatchHeader header, uint256 stake
    );
    event BatchFinalized(uint256 indexed batchId, address indexed worker, uint256 totalFee);
    event BatchConvicted(uint256 indexed batchId, address indexed worker, address indexed beneficiary);
    event QueryOpened(uint256 indexed queryId, uint256 indexed batchId, QueryKind kind, address challenger, uint256 index);
    event QueryClosed(uint256 indexed queryId, QueryStatus status);
    event LeavesPublished(uint256 indexed batchId, Leaf[] leaves, uint256 sum);
    event ResultChallenged(uint256 indexed batchId, uint256 indexed gameId, address indexed challenger, uint256 index);
    event DisputeSettled(uint256 indexed batchId, uint256 indexed gameId, Outcome outcome);
    event Withdrawn(address indexed token, address indexed account, address to, uint256 amount);

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

    mapping(uint256 batchId => Batch) private _batches;
    mapping(uint256 queryId => Query) private _queries;
    mapping(uint256 batchId => uint256 queryId) public openDemand;
    mapping(address token => mapping(address requester => Deposit)) private _deposits;
    mapping(address token => mapping(address account => uint256)) public owed;
    uint256 public batchCount;
    uint256 public queryCount;

    constructor(IAgentRegistry registry_, IDisputeGame game_, MarketParams.Batch memory p) {
        MarketParams.check(p);
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
        _chainId = block.chainid;
        _domainSeparator = _buildDomainSeparator();
    }

    // ---- deposits ----

    /// Adds to the caller's deposit; credits what actually arrived (fee-on-transfer tokens are safe).
    function deposit(address token, uint256 amount) external payable nonReentrant {
        if (amount == 0) revert BatchMarketZeroAmount();
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

    /// Announces a withdrawal. Until it is ready the amount stays available to batches, so a
    /// worker always has `withdrawalDelay` of notice before a deposit shrinks.
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

    // ---- worker ----

    /// Posts one batch root for one requester; reserves the total from the deposit and locks stake.
    function postBatch(BatchHeader calldata h) external nonReentrant returns (uint256 batchId) {
        if (h.count == 0 || h.count > maxBatchSize) revert BatchMarketBadCount(h.count, maxBatchSize);
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
        if (b.openDisputes != 0) revert BatchMarketDisputesOpen(batchId, b.openDisputes);
        b.status = Status.Finalized;
        owed[b.feeToken][b.worker] += b.totalFee;
        registry.release(b.worker, b.stake, IAgentRegistry.Outcome.ResultAccepted, b.count);
        emit BatchFinalized(batchId, b.worker, b.totalFee);
    }

    // ---- challenges of single leaves ----

    /// Asks the worker to show the requester's signature for leaf `index` within the response window.
    function querySignature(uint256 batchId, Leaf calldata leaf, uint256 index, bytes32[] calldata proof)
        external
        payable
        nonReentrant
        returns (uint256 queryId)
    {
        Batch storage b = _challengeable(batchId);
        _checkLeaf(batchId, b, leaf, index, proof);
        queryId = _openQuery(batchId, b, QueryKind.Signature, leaf.requestHash, leaf.fee, index);
    }

    /// Answers a signature query (anyone may; the worker has the signature).
    function answerSignature(uint256 queryId, Request calldata r, bytes calldata signature) external nonReentrant {
        (Query storage q, Batch storage b) = _openQueryOf(queryId, QueryKind.Signature);
        if (block.timestamp > q.deadline) revert BatchMarketQueryExpired(queryId, q.deadline);
        bytes32 digest = requestHash(r);
        if (digest != q.requestHash) revert BatchMarketRequestMismatch(digest, q.requestHash);
        if (r.requester != b.requester || r.worker != b.worker || r.feeToken != b.feeToken) {
            revert BatchMarketWrongParties(r.requester, r.worker, r.feeToken);
        }
        if (q.fee > r.fee) revert BatchMarketOvercharged(q.fee, r.fee);
        if (r.deadline < b.postedAt) revert BatchMarketRequestExpired(r.deadline, b.postedAt);
        if (!SignatureCheck.isValid(r.requester, digest, signature)) revert BatchMarketBadSignature(r.requester);
        _payBondToWorker(q, b);
        _closeQuery(queryId, q, b, QueryStatus.Answered);
    }

    /// The requester demands the leaf list on chain (bonded; the bond compensates a worker that publishes).
    function demandLeaves(uint256 batchId) external payable nonReentrant returns (uint256 queryId) {
        Batch storage b = _challengeable(batchId);
        if (msg.sender != b.requester) revert BatchMarketNotRequester(batchId, msg.sender);
        if (openDemand[batchId] != 0) revert BatchMarketDemandOpen(batchId, openDemand[batchId]);
        queryId = _openQuery(batchId, b, QueryKind.Leaves, bytes32(0), 0, 0);
        openDemand[batchId] = queryId;
    }

    /// Publishes every leaf (anyone may). Convicts the batch if its total exceeds the leaves' fees;
    /// otherwise answers an open demand and reopens the window for challenges on the published data.
    function publishLeaves(uint256 batchId, Leaf[] calldata leaves) external nonReentrant {
        Batch storage b = _posted(batchId);
        if (leaves.length != b.count) revert BatchMarketLeafCount(leaves.length, b.count);
        bytes32[] memory hashes = new bytes32[](leaves.length);
        uint256 sum;
        for (uint256 i; i < leaves.length; ++i) {
            hashes[i] = leafHash(leaves[i]);
            sum += leaves[i].fee;
        }
        bytes32 root = Commitments.merkleRootInPlace(hashes);
        if (root != b.root) revert BatchMarketLeavesMismatch(batchId, root, b.root);
        emit LeavesPublished(batchId, leaves, sum);
        uint256 demand = openDemand[batchId];
        if (b.totalFee > sum) {
            _convict(batchId, b, msg.sender);
            return;
        }
        if (demand != 0) {
            Query storage q = _queries[demand];
            _payBondToWorker(q, b);
            _closeQuery(demand, q, b, QueryStatus.Answered);
        }
        uint256 reopened = block.timestamp + challengeWindow;
        if (reopened > b.deadline) b.deadline = uint40(reopened);
    }

    /// Closes an unanswered query after its deadline: the batch is convicted and the bond returned.
    /// If the batch was already convicted, the query is moot and the bond is returned.
    function expireQuery(uint256 queryId) external nonReentrant {
        Query storage q = _queries[queryId];
        if (q.status == QueryStatus.None) revert BatchMarketUnknownQuery(queryId);
        if (q.status != QueryStatus.Open) revert BatchMarketQueryClosed(queryId);
        Batch storage b = _batches[q.batchId];
        bool moot = b.status == Status.Convicted;
        if (!moot && block.timestamp <= q.deadline) revert BatchMarketQueryNotExpired(queryId, q.deadline);
        owed[address(0)][q.challenger] += q.bond;
        _closeQuery(queryId, q, b, moot ? QueryStatus.Moot : QueryStatus.Failed);
        if (!moot) _convict(q.batchId, b, q.challenger);
    }

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
        _checkLeaf(batchA, a, leafA, indexA, proofA);
        _checkLeaf(batchB, b, leafB, indexB, proofB);
        _convict(batchB, b, msg.sender);
    }

    /// Opens a dispute game on leaf `index`; `r` is the signed request (it gives the model and input).
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
        if (b.openDisputes == type(uint8).max) revert BatchMarketTooManyDisputes(batchId);
        b.openDisputes += 1;
        gameId = game.open{value: msg.value}(
            IDisputeGame.OpenParams({
                subject: bytes32(batchId),
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
        uint256 batchId = uint256(subject);
        Batch storage b = _batches[batchId];
        b.openDisputes -= 1;
        emit DisputeSettled(batchId, gameId, outcome);
        if (outcome == Outcome.ChallengerWon) {
            registry.recordOutcome(challenger, IAgentRegistry.Outcome.DisputeWon, 1);
            _convict(batchId, b, challenger);
        } else if (outcome == Outcome.WorkerWon) {
            registry.recordOutcome(worker, IAgentRegistry.Outcome.DisputeWon, 1);
            registry.recordOutcome(challenger, IAgentRegistry.Outcome.DisputeLost, 1);
        }
    }

    /// Every game on a convicted subject is moot (its challenger gets its bond back).
    function isMoot(bytes32 subject, uint256) external view returns (bool) {
        return isConvicted(subject);
    }

    function isConvicted(bytes32 subject) public view returns (bool) {
        return _batches[uint256(subject)].status == Status.Convicted;
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
        bytes32 structHash = keccak256(abi.encode(REQUEST_TYPEHASH, r));
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(), structHash));
    }

    function leafHash(Leaf calldata l) public pure returns (bytes32) {
        return keccak256(abi.encode(l.requestHash, l.resultCommitment, l.outputRoot, l.fee));
    }

    function batch(uint256 batchId) external view returns (Batch memory) {
        return _batches[batchId];
    }

    function query(uint256 queryId) external view returns (Query memory) {
        return _queries[queryId];
    }

    function deposits(address token, address requester) external view returns (Deposit memory) {
        return _deposits[token][requester];
    }

    // ---- internals ----

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("Verinfer BatchMarket"), keccak256("1"), block.chainid, address(this))
        );
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
        if (b.openDisputes == type(uint8).max) revert BatchMarketTooManyDisputes(batchId);
        b.openDisputes += 1;
        queryId = ++queryCount;
        _queries[queryId] = Query({
            batchId: uint64(batchId),
            kind: kind,
            status: QueryStatus.Open,
            deadline: uint40(block.timestamp + responseWindow),
            challenger: msg.sender,
            bond: uint128(msg.value),
            fee: uint128(fee),
            requestHash: hash
        });
        emit QueryOpened(queryId, batchId, kind, msg.sender, index);
    }

    function _openQueryOf(uint256 queryId, QueryKind kind) private view returns (Query storage q, Batch storage b) {
        q = _queries[queryId];
        if (q.status == QueryStatus.None || q.kind != kind) revert BatchMarketUnknownQuery(queryId);
        if (q.status != QueryStatus.Open) revert BatchMarketQueryClosed(queryId);
        b = _batches[q.batchId];
        if (b.status != Status.Posted) revert BatchMarketWrongStatus(q.batchId, b.status);
    }

    function _closeQuery(uint256 queryId, Query storage q, Batch storage b, QueryStatus status) private {
        q.status = status;
        q.bond = 0;
        b.openDisputes -= 1;
        if (q.kind == QueryKind.Leaves) delete openDemand[q.batchId];
        emit QueryClosed(queryId, status);
    }

    /// A query answered in the worker's favour: bondWorkerBps of the bond to the worker, the rest burnt.
    function _payBondToWorker(Query storage q, Batch storage b) private {
        uint256 toWorker = uint256(q.bond) * bondWorkerBps / 10_000;
        owed[address(0)][b.worker] += toWorker;
        SafeTransfer.sendNative(SafeTransfer.BURN, q.bond - toWorker);
    }

    /// One proven fault voids the batch: the total goes back to the deposit, the whole batch stake is slashed.
    function _convict(uint256 batchId, Batch storage b, address beneficiary) private {
        b.status = Status.Convicted;
        // INVARIANT: the reserved total returns to the requester's deposit exactly once.
        _deposits[b.feeToken][b.requester].available += b.totalFee;
        registry.slash(b.worker, b.stake, beneficiary, slashBeneficiaryBps);
        registry.recordOutcome(b.worker, IAgentRegistry.Outcome.DisputeLost, 1);
        emit BatchConvicted(batchId, b.worker, beneficiary);
    }
}
