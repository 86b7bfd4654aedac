# pragma version ~=0.4.3
"""
@title zkpipe rollup
@notice Orders batches (data as calldata), queues L1 -> L2 deposits, consolidates
        verified state roots and pays withdrawals claimed against them.
@dev    TRUSTED-AGGREGATOR MODE: `verifyBatches` checks no proof. It trusts the
        configured aggregator address. On-chain verification of the aggregated
        proof is a later issue; until then the consolidated state is only as
        good as that key. See docs/l1.md.
"""

# Limits. Why one data blob per call and not a Bytes[120_000] per batch: Vyper copies a
# DynArray argument into memory at a fixed stride of its maximum size, so the k-th batch
# of a call would pay memory expansion for (k-1) * 120 kB even when the batches are tiny
# (16 batches of 1 kB cost 7.9M gas that way, 0.74M this way; see docs/l1.md).
MAX_BATCHES_PER_CALL: constant(uint256) = 16
MAX_SEQUENCE_DATA_BYTES: constant(uint256) = 120_000
MAX_PROOF_DEPTH: constant(uint256) = 32
PUBLIC_KEY_BYTES: constant(uint256) = 40
WEI_PER_GWEI: constant(uint256) = 10**9


struct BatchData:
    dataLength: uint32  # bytes of this batch in the call's `data`, batches back to back
    timestamp: uint64  # the batch's L2 timestamp, seconds
    depositCount: uint64  # deposits consumed by all batches up to and including this one


event SequenceBatch:
    batchNumber: indexed(uint64)
    accInputHash: bytes32

event Deposit:
    depositIndex: indexed(uint64)
    accountIndex: uint32
    publicKey: Bytes[PUBLIC_KEY_BYTES]
    amountGwei: uint64
    sender: address
    queueHash: bytes32

event VerifyBatches:
    finalBatchNumber: indexed(uint64)
    newStateRoot: bytes32
    withdrawalsRoot: bytes32

event ClaimWithdrawal:
    finalBatchNumber: indexed(uint64)
    batchNumber: uint64
    index: uint32
    recipient: indexed(address)
    amountGwei: uint64


sequencer: public(immutable(address))
trustedAggregator: public(immutable(address))
genesisStateRoot: public(immutable(bytes32))
chainId: public(immutable(uint64))

# Sequenced (virtual) state.
lastBatchSequenced: public(uint64)
lastBatchTimestamp: public(uint64)
lastDepositConsumed: public(uint64)
accInputHash: public(HashMap[uint64, bytes32])

# Consolidated state.
lastVerifiedBatch: public(uint64)
consolidatedStateRoot: public(bytes32)
withdrawalsRoot: public(HashMap[uint64, bytes32])  # final batch number of a verification -> root
verificationStart: public(HashMap[uint64, uint64])  # final batch number -> first batch it covers
claimed: public(HashMap[bytes32, bool])  # withdrawal leaf -> paid

# Deposit queue: a keccak hash chain, and its head after each prefix.
depositCount: public(uint64)
depositQueueHash: public(bytes32)
depositQueueHashAt: public(HashMap[uint64, bytes32])


@deploy
def __init__(_sequencer: address, _aggregator: address, _genesisStateRoot: bytes32, _chainId: uint64):
    assert _sequencer != empty(address), "zero sequencer"
    assert _aggregator != empty(address), "zero aggregator"
    sequencer = _sequencer
    trustedAggregator = _aggregator
    genesisStateRoot = _genesisStateRoot
    chainId = _chainId
    self.consolidatedStateRoot = _genesisStateRoot
    # Batch timestamps may not precede the deployment.
    self.lastBatchTimestamp = convert(block.timestamp, uint64)


@external
def sequenceBatches(batches: DynArray[BatchData, MAX_BATCHES_PER_CALL], data: Bytes[MAX_SEQUENCE_DATA_BYTES]):
    """
    @notice Appends batches to the accumulated input hash chain (sequencer only). The
            batches' L2 data are `data`, cut in order by each batch's `dataLength`.
    """
    assert msg.sender == sequencer, "only sequencer"
    assert len(batches) > 0, "no batches"
    start: uint256 = 0
    for b: BatchData in batches:
        length: uint256 = convert(b.dataLength, uint256)
        assert start + length <= len(data), "batch lengths exceed data"
        # Why two cases: slicing copies into a buffer that sits after the 120 kB argument, and
        # memory expansion there costs ~100k gas; a batch that is the whole blob needs no copy.
        dataHash: bytes32 = empty(bytes32)
        if length == len(data):
            dataHash = keccak256(data)
        else:
            dataHash = keccak256(slice(data, start, length))
        self._appendBatch(dataHash, b.timestamp, b.depositCount)
        start += length
    # Why: bytes after the last batch would be posted but belong to no batch.
    assert start == len(data), "data longer than its batches"


@internal
def _appendBatch(dataHash: bytes32, timestamp: uint64, depositCount: uint64):
    # Why a separate function: internal frames sit below the external one in memory, so the
    # hashing buffers here stay cheap instead of following the 120 kB data argument.
    assert timestamp >= self.lastBatchTimestamp, "timestamp goes backwards"
    assert convert(timestamp, uint256) <= block.timestamp, "timestamp in the future"
    assert depositCount >= self.lastDepositConsumed, "deposit count goes backwards"
    assert depositCount <= self.depositCount, "consumes missing deposits"
    number: uint64 = self.lastBatchSequenced + 1
    acc: bytes32 = keccak256(abi_encode(self.accInputHash[number - 1], dataHash, timestamp, depositCount))
    self.accInputHash[number] = acc
    self.lastBatchSequenced = number
    self.lastBatchTimestamp = timestamp
    self.lastDepositConsumed = depositCount
    log SequenceBatch(batchNumber=number, accInputHash=acc)


@external
@payable
def deposit(accountIndex: uint32, publicKey: Bytes[PUBLIC_KEY_BYTES]):
    """
    @notice Queues msg.value (whole gwei) for L2 account `accountIndex`.
    """
    assert len(publicKey) == PUBLIC_KEY_BYTES, "public key must be 40 bytes"
    assert msg.value % WEI_PER_GWEI == 0, "value not whole gwei"
    amount: uint256 = msg.value // WEI_PER_GWEI
    assert amount > 0, "zero deposit"
    assert amount <= convert(max_value(uint64), uint256), "deposit above u64 gwei"
    index: uint64 = self.depositCount
    head: bytes32 = keccak256(
        concat(
            self.depositQueueHash,
            convert(index, bytes8),
            convert(accountIndex, bytes4),
            publicKey,
            convert(convert(amount, uint64), bytes8),
            convert(msg.sender, bytes20),
        )
    )
    self.depositQueueHash = head
    self.depositCount = index + 1
    self.depositQueueHashAt[index + 1] = head
    log Deposit(
        depositIndex=index,
        accountIndex=accountIndex,
        publicKey=publicKey,
        amountGwei=convert(amount, uint64),
        sender=msg.sender,
        queueHash=head,
    )


@external
def verifyBatches(finalBatchNumber: uint64, newStateRoot: bytes32, newWithdrawalsRoot: bytes32):
    """
    @notice Consolidates batches up to `finalBatchNumber` (trusted aggregator only).
    @dev    No proof is checked yet: see the contract header.
    """
    assert msg.sender == trustedAggregator, "only trusted aggregator"
    assert finalBatchNumber > self.lastVerifiedBatch, "batch already verified"
    assert finalBatchNumber <= self.lastBatchSequenced, "batch not sequenced"
    self.verificationStart[finalBatchNumber] = self.lastVerifiedBatch + 1
    self.withdrawalsRoot[finalBatchNumber] = newWithdrawalsRoot
    self.lastVerifiedBatch = finalBatchNumber
    self.consolidatedStateRoot = newStateRoot
    log VerifyBatches(
        finalBatchNumber=finalBatchNumber, newStateRoot=newStateRoot, withdrawalsRoot=newWithdrawalsRoot
    )


@external
@nonreentrant
def claimWithdrawal(
    finalBatchNumber: uint64,
    batchNumber: uint64,
    index: uint32,
    recipient: address,
    amountGwei: uint64,
    leafPosition: uint256,
    proof: DynArray[bytes32, MAX_PROOF_DEPTH],
):
    """
    @notice Pays `amountGwei` gwei to `recipient` against the withdrawals root of
            the verification ending at `finalBatchNumber`. Anyone may submit it.
    """
    start: uint64 = self.verificationStart[finalBatchNumber]
    assert start != 0, "unknown verification"
    assert batchNumber >= start and batchNumber <= finalBatchNumber, "batch outside verification"
    leaf: bytes32 = keccak256(abi_encode(batchNumber, index, recipient, amountGwei))
    assert not self.claimed[leaf], "already claimed"
    node: bytes32 = leaf
    position: uint256 = leafPosition
    for sibling: bytes32 in proof:
        if position % 2 == 0:
            node = keccak256(concat(node, sibling))
        else:
            node = keccak256(concat(sibling, node))
        position = position // 2
    # Why: bits above the depth would be ignored, so one proof would have many encodings.
    assert position == 0, "position outside tree"
    assert node == self.withdrawalsRoot[finalBatchNumber], "bad proof"
    # Effects before the interaction: the leaf is spent before any value leaves.
    self.claimed[leaf] = True
    log ClaimWithdrawal(
        finalBatchNumber=finalBatchNumber,
        batchNumber=batchNumber,
        index=index,
        recipient=recipient,
        amountGwei=amountGwei,
    )
    raw_call(recipient, b"", value=convert(amountGwei, uint256) * WEI_PER_GWEI)
