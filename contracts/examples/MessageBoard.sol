// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ITaskMarket} from "../interfaces/ITaskMarket.sol";
import {IVerinferConsumer} from "../interfaces/IVerinferConsumer.sol";

/// The task ids of the market (TaskMarket.taskId).
interface ITaskIds {
    function taskId(ITaskMarket.Task calldata t) external view returns (bytes32);
}

/// Only the TaskMarket delivers results.
error MessageBoardNotMarket(address caller);
/// The post's task must be asked of the spam model.
error MessageBoardWrongModel(bytes32 modelRoot, bytes32 spamModel);
/// The post's task must deliver its result to this board.
error MessageBoardWrongConsumer(address consumer);
/// The callback would run out of gas before it records the verdict.
error MessageBoardCallbackGasTooLow(uint32 limit, uint32 min);
/// Only the task's requester posts under it (nobody can attach a text to another's task).
error MessageBoardNotRequester(address caller, address requester);
error MessageBoardEmptyText();
error MessageBoardTextTooLong(uint256 length, uint256 max);
error MessageBoardPostExists(bytes32 taskId);
/// No post waits for this task's result (never submitted, or already decided).
error MessageBoardUnknownTask(bytes32 taskId);
/// The spam model's output is two bytes; anything else is not its output.
error MessageBoardBadOutput(uint256 length);

/// @title MessageBoard: an example consumer that publishes a post only if the spam model says ham.
/// @notice The flow:
///   1. the author tokenizes the text with the spam model's tokenizer (src/examples/spamTokenizer.ts),
///      and builds a task for `spamModel` whose input is those tokens and whose consumer is this board;
///   2. `submit(text, task)` records the post as pending under the task's id;
///   3. a worker posts the result (postSigned, or createTask and postResult) and, once the task is
///      final (challenge window passed, audits settled), TaskMarket.finalize calls onVerinferResult
///      with the output, and the board accepts or rejects the post.
/// Decision rule, integers only: the spam model's output is a u8 tensor of shape [1, 2], two bytes:
/// the quantized scores of "ham" (byte 0) and "spam" (byte 1). Both share the tensor's zero point
/// and scale, so comparing the bytes compares the scores. A post is accepted iff byte 0 > byte 1;
/// a tie is not ham (the board errs on the side of rejecting).
/// What the board cannot check: it does not tokenize on chain, so it binds each post to its task's
/// input root (`Post.inputRoot`). Anyone recomputes that root from the text with the public tokenizer
/// (a tensor root of the token ids, docs/commitments.md); a client shows a post only if they match.
contract MessageBoard is IVerinferConsumer {
    enum Status {
        None,
        Pending,
        Accepted,
        Rejected
    }

    struct Post {
        address author;
        Status status;
        /// The input root of the post's task: the root of the text's token ids.
        bytes32 inputRoot;
        string text;
    }

    /// The longest text accepted (the tokenizer reads at most 64 words of it anyway).
    uint256 public constant MAX_TEXT_BYTES = 8_192;
    /// Gas the callback needs to record a verdict (an acceptance measures ~37k with its feed entry,
    /// test/examples/messageBoard.test.ts); the market forwards exactly the task's limit.
    uint32 public constant MIN_CALLBACK_GAS = 80_000;
    /// The spam model's output: u8 [1, 2].
    uint256 internal constant OUTPUT_BYTES = 2;

    address public immutable market;
    bytes32 public immutable spamModel;

    mapping(bytes32 taskId => Post) private _posts;
    /// The accepted posts in the order they were accepted: the board's feed.
    bytes32[] private _feed;

    event PostSubmitted(bytes32 indexed taskId, address indexed author, bytes32 inputRoot, string text);
    event PostAccepted(bytes32 indexed taskId, address indexed author, uint8 hamScore, uint8 spamScore);
    event PostRejected(bytes32 indexed taskId, address indexed author, uint8 hamScore, uint8 spamScore);

    constructor(address market_, bytes32 spamModel_) {
        market = market_;
        spamModel = spamModel_;
    }

    /// Records `text` as pending under `task`, which the caller requests of the spam model with this
    /// board as its consumer. The task may be created before or after (postSigned creates it).
    function submit(string calldata text, ITaskMarket.Task calldata task) external returns (bytes32 taskId) {
        uint256 length = bytes(text).length;
        if (length == 0) revert MessageBoardEmptyText();
        if (length > MAX_TEXT_BYTES) revert MessageBoardTextTooLong(length, MAX_TEXT_BYTES);
        if (task.requester != msg.sender) revert MessageBoardNotRequester(msg.sender, task.requester);
        if (task.modelRoot != spamModel) revert MessageBoardWrongModel(task.modelRoot, spamModel);
        if (task.consumer != address(this)) revert MessageBoardWrongConsumer(task.consumer);
        if (task.callbackGasLimit < MIN_CALLBACK_GAS) {
            revert MessageBoardCallbackGasTooLow(task.callbackGasLimit, MIN_CALLBACK_GAS);
        }
        taskId = ITaskIds(market).taskId(task);
        Post storage p = _posts[taskId];
        if (p.status != Status.None) revert MessageBoardPostExists(taskId);
        p.author = msg.sender;
        p.status = Status.Pending;
        p.inputRoot = task.inputRoot;
        p.text = text;
        emit PostSubmitted(taskId, msg.sender, task.inputRoot, text);
    }

    /// The market's callback once the task is final: `output` is the result tensor's bytes, whose
    /// root the market checked against the finalized result.
    function onVerinferResult(bytes32 taskId, bytes32, bytes calldata output) external {
        // INVARIANT: only the market's finalized result decides a post.
        if (msg.sender != market) revert MessageBoardNotMarket(msg.sender);
        Post storage p = _posts[taskId];
        if (p.status != Status.Pending) revert MessageBoardUnknownTask(taskId);
        if (output.length != OUTPUT_BYTES) revert MessageBoardBadOutput(output.length);
        uint8 ham = uint8(output[0]);
        uint8 spam = uint8(output[1]);
        if (ham > spam) {
            p.status = Status.Accepted;
            _feed.push(taskId);
            emit PostAccepted(taskId, p.author, ham, spam);
        } else {
            p.status = Status.Rejected;
            emit PostRejected(taskId, p.author, ham, spam);
        }
    }

    function post(bytes32 taskId) external view returns (Post memory) {
        return _posts[taskId];
    }

    function feedLength() external view returns (uint256) {
        return _feed.length;
    }

    function feedAt(uint256 index) external view returns (bytes32) {
        return _feed[index];
    }
}
