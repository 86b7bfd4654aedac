# pragma version ~=0.4.3
"""
@title zkpipe rollup
@notice Orders batches (data as calldata), queues L1 -> L2 deposits, consolidates
        proven state roots and pays withdrawals claimed against them.
@dev    `verifyBatches` consolidates only with a proof its verifier accepts for the public
        input this contract computes from its own storage and the call (see _publicInput);
        anyone may submit it. The verifier is fixed at deployment: the Groth16 verifier of
        the wrap circuit, or the INSECURE development verifier (dev_verifier.vy: one key's
        word, for machines without Groth16 keys). See docs/l1.md and docs/wrap.md.
"""

interface Verifier:
    def verifyProof(proof: uint256[12], publicInput: uint256) -> bool: view

# Limits. Why one data blob per call and not a Bytes[120_000] per batch: Vyper copies a
# DynArray argument into memory at a fixed stride of its maximum size, so the k-th batch
# of a call would pay memory expansion for (k-1) * 120 kB even when the batches are tiny
# (16 batches of 1 kB cost 7.9M gas that way, 0.74M this way; see docs/l1.md).
MAX_BATCHES_PER_CALL: constant(uint256) = 16
MAX_SEQUENCE_DATA_BYTES: constant(uint256) = 120_000
MAX_PROOF_DEPTH: constant(uint256) = 32
PUBLIC_KEY_BYTES: constant(uint256) = 40
WEI_PER_GWEI: constant(uint256) = 10**9
GOLDILOCKS_P: constant(uint256) = 2**64 - 2**32 + 1
# The high half of every 16-, 32- and 64-bit group (0xFF00..., 0xFFFF0000..., 0xFFFFFFFF00000000...
# repeated; decimal because a 32-byte hex literal is a bytes32), to swap bytes inside 8-byte lanes.
LANE_MASK_8: constant(uint256) = 115341536360906404779899502576747487978354537254490211650198994186870666100480
LANE_MASK_16: constant(uint256) = 115790322417210952336529717160220497262186272106556906860092653394915770695680
LANE_MASK_32: constant(uint256) = 115792089210356248762697446947946071893095522863849111501270640965525260206080

# The batch data layout of zkpipe.spec (spec/batch.py, spec/encoding.py), little-endian:
#   header 68 B: number u64 | timestamp u64 | deposit_start u64 | deposit_end u64 |
#                previous accumulated input hash 4 x u64 | tx_count u32
#   then tx_count transactions, each starting with its tag as a u32: deposit 96 B, transfer 112 B,
#   withdraw 128 B (whole 16-byte chunks, ADR 27).
# A deposit's 96 bytes are its queue entry exactly as queued (tag 1 | index | account | key |
# amount in gwei | L1 sender | 12 zero bytes): sequencing checks each against the entry's hash, so
# the posted data -- which the proof is bound to -- carries exactly the queue's entries, in order.
HEADER_BYTES: constant(uint256) = 68
DEPOSIT_BYTES: constant(uint256) = 96
TRANSFER_BYTES: constant(uint256) = 112
WITHDRAW_BYTES: constant(uint256) = 128
# A tag's four little-endian bytes read as a big-endian u32.
DEPOSIT_TAG: constant(uint256) = 1 * 2**24
TRANSFER_TAG: constant(uint256) = 2 * 2**24
WITHDRAW_TAG: constant(uint256) = 3 * 2**24
MAX_TXS_PER_BATCH: constant(uint256) = MAX_SEQUENCE_DATA_BYTES // DEPOSIT_BYTES


struct BatchRecord:
    # What sequencing hashed into accInputHash for one batch (besides the chain id and number).
    dataHash: bytes32  # sha256 of the batch's data
    timestamp: uint64
    depositStart: uint64
    depositEnd: uint64


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
verifier: public(immutable(address))
genesisStateRoot: public(immutable(bytes32))
chainId: public(immutable(uint64))

# Sequenced (virtual) state.
lastBatchSequenced: public(uint64)
lastBatchTimestamp: public(uint64)
lastDepositConsumed: public(uint64)
accInputHash: public(HashMap[uint64, bytes32])

# Consolidated state. The last verified batch (low 64 bits) and the queue entries the
# consolidated batches consumed (the next 64 bits) share one slot, read and written once per
# consolidation; lastVerifiedBatch() and consolidatedDepositCount() read them.
consolidatedCounts: uint256
consolidatedStateRoot: public(bytes32)
# The proof's commitment chains (data, withdrawals, deposits) at the consolidated state: the
# next proof must start from them. Each is four Goldilocks elements, little-endian u64s in order.
consolidatedChains: public(bytes32[3])
withdrawalsRoot: public(HashMap[uint64, bytes32])  # final batch number of a verification -> root
verificationStart: public(HashMap[uint64, uint64])  # final batch number -> first batch it covers
claimed: public(HashMap[bytes32, bool])  # withdrawal leaf -> paid

# Deposit queue: a keccak hash chain, and its head after each prefix.
depositCount: public(uint64)
depositQueueHash: public(bytes32)
depositQueueHashAt: public(HashMap[uint64, bytes32])
# keccak of each entry's 96-byte record as the batch data must carry it.
depositRecordHash: public(HashMap[uint64, bytes32])


@deploy
def __init__(_sequencer: address, _verifier: address, _genesisStateRoot: bytes32, _chainId: uint64):
    assert _sequencer != empty(address), "zero sequencer"
    assert _verifier.is_contract, "verifier is not a contract"
    assert convert(_chainId, uint256) <= convert(max_value(uint32), uint256), "chain id above u32"
    sequencer = _sequencer
    verifier = _verifier
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
    number: uint256 = convert(self.lastBatchSequenced, uint256)
    queue: uint256 = convert(self.lastDepositConsumed, uint256)
    for b: BatchData in batches:
        length: uint256 = convert(b.dataLength, uint256)
        assert start + length <= len(data), "batch lengths exceed data"
        # Verify the data parses and its header is this batch's: an unprovable batch is never
        # sequenced. Reads are 32-byte words inside the batch (header fields at offsets < 37 read
        # forward, later fields backward from their last byte), so no slice copies memory.
        assert length >= HEADER_BYTES, "batch shorter than its header"
        number += 1
        assert self._le(convert(extract32(data, start), uint256) >> 192, 8) == number, "wrong batch number"
        header_ts: uint256 = self._le(convert(extract32(data, start + 8), uint256) >> 192, 8)
        assert header_ts == convert(b.timestamp, uint256), "timestamp differs from the data"
        assert self._le(convert(extract32(data, start + 16), uint256) >> 192, 8) == queue, "wrong deposit start"
        end: uint256 = self._le(convert(extract32(data, start + 24), uint256) >> 192, 8)
        assert end == convert(b.depositCount, uint256), "deposit count differs from the data"
        count: uint256 = self._le(convert(extract32(data, start + HEADER_BYTES - 32), uint256) % 2**32, 4)
        pos: uint256 = start + HEADER_BYTES
        stop: uint256 = start + length
        for i: uint256 in range(count, bound=MAX_TXS_PER_BATCH):
            assert pos < stop, "fewer transactions than the header says"
            tag: uint256 = convert(extract32(data, pos - 28), uint256) % 2**32
            if tag == DEPOSIT_TAG:
                assert pos + DEPOSIT_BYTES <= stop, "truncated deposit"
                w0: bytes32 = extract32(data, pos)
                w1: bytes32 = extract32(data, pos + 32)
                w2: bytes32 = extract32(data, pos + 64)
                assert self._isQueued(queue, w0, w1, w2), "deposit is not the next queue entry"
                queue += 1
                pos += DEPOSIT_BYTES
            elif tag == TRANSFER_TAG:
                pos += TRANSFER_BYTES
            elif tag == WITHDRAW_TAG:
                pos += WITHDRAW_BYTES
            else:
                raise "unknown transaction tag"
        assert pos == stop, "batch length differs from its transactions"
        assert queue == end, "deposit range differs from the batch's deposits"
        # Why two cases: slicing copies into a buffer that sits after the 120 kB argument, and
        # memory expansion there costs ~100k gas; a batch that is the whole blob needs no copy.
        dataHash: bytes32 = empty(bytes32)
        if length == len(data):
            dataHash = sha256(data)
        else:
            dataHash = sha256(slice(data, start, length))
        self._appendBatch(dataHash, b.timestamp, b.depositCount)
        start += length
    # Why: bytes after the last batch would be posted but belong to no batch.
    assert start == len(data), "data longer than its batches"


@internal
@pure
def _le(x: uint256, size: uint256) -> uint256:
    # The low `size` bytes of `x` in reverse order (little-endian <-> big-endian).
    out: uint256 = 0
    v: uint256 = x
    for i: uint256 in range(size, bound=8):
        out = (out << 8) | (v % 256)
        v = v >> 8
    return out


@internal
@view
def _isQueued(index: uint256, w0: bytes32, w1: bytes32, w2: bytes32) -> bool:
    # w0, w1, w2: the record's three 32-byte words.
    return keccak256(concat(w0, w1, w2)) == self.depositRecordHash[convert(index, uint64)]


@internal
def _appendBatch(dataHash: bytes32, timestamp: uint64, depositCount: uint64):
    # Why a separate function: internal frames sit below the external one in memory, so the
    # hashing buffers here stay cheap instead of following the 120 kB data argument.
    assert timestamp >= self.lastBatchTimestamp, "timestamp goes backwards"
    assert convert(timestamp, uint256) <= block.timestamp, "timestamp in the future"
    assert depositCount >= self.lastDepositConsumed, "deposit count goes backwards"
    assert depositCount <= self.depositCount, "consumes missing deposits"
    number: uint64 = self.lastBatchSequenced + 1
    acc: bytes32 = self._batchInputHash(
        self.accInputHash[number - 1], dataHash, number, timestamp, self.lastDepositConsumed, depositCount
    )
    self.accInputHash[number] = acc
    self.lastBatchSequenced = number
    self.lastBatchTimestamp = timestamp
    self.lastDepositConsumed = depositCount
    log SequenceBatch(batchNumber=number, accInputHash=acc)


@internal
@view
def _batchInputHash(
    previous: bytes32, dataHash: bytes32, number: uint64, timestamp: uint64, depositStart: uint64, depositEnd: uint64
) -> bytes32:
    # The accumulated input hash after one batch (zkpipe.spec.compute_batch_input_hash): SHA-256,
    # as the data-commitment proof hashes the data, over 100 bytes:
    #   previous 32 | sha256(data) 32 | chain id u32 | number u64 | timestamp u64 |
    #   queue start u64 | queue end u64          (integers big-endian)
    return sha256(
        concat(
            previous,
            dataHash,
            convert(convert(chainId, uint32), bytes4),
            convert(number, bytes8),
            convert(timestamp, bytes8),
            convert(depositStart, bytes8),
            convert(depositEnd, bytes8),
        )
    )


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
    # Verify the key is canonical: five little-endian u64 limbs, each below the field modulus.
    for i: uint256 in range(5):
        limb: uint256 = self._le(convert(slice(publicKey, 8 * i, 8), uint256), 8)
        assert limb < GOLDILOCKS_P, "public key limb not below p"
    index: uint64 = self.depositCount
    self.depositRecordHash[index] = keccak256(
        concat(
            b"\x01\x00\x00\x00",
            convert(convert(self._le(convert(index, uint256), 8), uint64), bytes8),
            convert(convert(self._le(convert(accountIndex, uint256), 4), uint32), bytes4),
            publicKey,
            convert(convert(self._le(amount, 8), uint64), bytes8),
            convert(msg.sender, bytes20),
            empty(bytes12),
        )
    )
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
def verifyBatches(
    finalBatchNumber: uint64,
    finalBatch: BatchRecord,
    newStateRoot: bytes32,
    newChains: bytes32[3],
    feeTotal: uint64,
    newWithdrawalsRoot: bytes32,
    proof: uint256[12],
):
    """
    @notice Consolidates batches up to `finalBatchNumber` with a wrapped proof that they move the
            consolidated state to `newStateRoot` and the commitment chains to `newChains`
            (data, withdrawals, deposits). `finalBatch` is what sequencing hashed for the last
            batch (checked against accInputHash). Anyone may submit it.
    """
    counts: uint256 = self.consolidatedCounts
    lastVerified: uint64 = convert(counts % 2**64, uint64)
    assert finalBatchNumber > lastVerified, "batch already verified"
    assert finalBatchNumber <= self.lastBatchSequenced, "batch not sequenced"
    # Why a record in the call and not a stored queue count per batch: sequencing stays at one new
    # slot per batch (a second one cost 22k gas per batch), and the record is bound by accInputHash.
    acc: bytes32 = self._batchInputHash(
        self.accInputHash[finalBatchNumber - 1],
        finalBatch.dataHash,
        finalBatchNumber,
        finalBatch.timestamp,
        finalBatch.depositStart,
        finalBatch.depositEnd,
    )
    assert acc == self.accInputHash[finalBatchNumber], "final batch record differs from L1's"
    publicInput: uint256 = self._publicInput(
        newStateRoot, newChains, feeTotal, convert(counts >> 64, uint64), finalBatch.depositEnd
    )
    # Why assert as well: the Groth16 verifier reverts on a bad proof, another verifier may return False.
    assert staticcall Verifier(verifier).verifyProof(proof, publicInput), "invalid proof"
    self.verificationStart[finalBatchNumber] = lastVerified + 1
    self.withdrawalsRoot[finalBatchNumber] = newWithdrawalsRoot
    self.consolidatedCounts = convert(finalBatchNumber, uint256) | (convert(finalBatch.depositEnd, uint256) << 64)
    self.consolidatedStateRoot = newStateRoot
    self.consolidatedChains = newChains
    log VerifyBatches(
        finalBatchNumber=finalBatchNumber, newStateRoot=newStateRoot, withdrawalsRoot=newWithdrawalsRoot
    )


@external
@view
def publicInput(newStateRoot: bytes32, newChains: bytes32[3], feeTotal: uint64, queueOut: uint64) -> uint256:
    """
    @notice The public input a proof consolidating up to a batch whose queue count is `queueOut`
            must have now.
    """
    return self._publicInput(newStateRoot, newChains, feeTotal, convert(self.consolidatedCounts >> 64, uint64), queueOut)


@external
@view
def lastVerifiedBatch() -> uint64:
    """@notice Number of the last consolidated batch."""
    return convert(self.consolidatedCounts % 2**64, uint64)


@external
@view
def consolidatedDepositCount() -> uint64:
    """@notice Queue entries the consolidated batches consumed: the next proof's queue_in."""
    return convert(self.consolidatedCounts >> 64, uint64)


@internal
@view
def _publicInput(
    newStateRoot: bytes32, newChains: bytes32[3], feeTotal: uint64, queueIn: uint64, queueOut: uint64
) -> uint256:
    # The proof's one public input (docs/wrap.md "Public input"): SHA-256 of the aggregate's
    # statement (native/engine/src/circuits/statement.rs), each element 8 bytes big-endian, its
    # top three bits cleared. Each field comes from this contract's storage or from the call:
    #   root_before      consolidatedStateRoot                 storage
    #   root_after       newStateRoot                          call
    #   data_in          consolidatedChains[0]                 storage (the last proof's data_out)
    #   data_out         newChains[0]                          call
    #   withdrawals_in   consolidatedChains[1]                 storage
    #   withdrawals_out  newChains[1]                          call
    #   deposits_in      consolidatedChains[2]                 storage
    #   deposits_out     newChains[2]                          call
    #   fee_total        feeTotal                              call
    #   queue_in         consolidatedDepositCount()            storage (queueIn: its packed slot)
    #   queue_out        the final batch's queue end           storage (its record, checked against
    #                                                          accInputHash by verifyBatches)
    #   chain_id         chainId                               immutable
    # A digest is stored as four little-endian u64s; _lanesBigEndian turns it into the four
    # big-endian u64s the hash takes, so a non-canonical digest simply hashes to another input.
    digest: bytes32 = sha256(
        concat(
            self._lanesBigEndian(self.consolidatedStateRoot),
            self._lanesBigEndian(newStateRoot),
            self._lanesBigEndian(self.consolidatedChains[0]),
            self._lanesBigEndian(newChains[0]),
            self._lanesBigEndian(self.consolidatedChains[1]),
            self._lanesBigEndian(newChains[1]),
            self._lanesBigEndian(self.consolidatedChains[2]),
            self._lanesBigEndian(newChains[2]),
            convert(feeTotal, bytes8),
            convert(queueIn, bytes8),
            convert(queueOut, bytes8),
            convert(chainId, bytes8),
        )
    )
    return convert(digest, uint256) & (2**253 - 1)


@internal
@pure
def _lanesBigEndian(word: bytes32) -> bytes32:
    # Reverses the bytes inside each 8-byte lane of `word`.
    x: uint256 = convert(word, uint256)
    x = ((x & LANE_MASK_8) >> 8) | ((x << 8) & LANE_MASK_8)
    x = ((x & LANE_MASK_16) >> 16) | ((x << 16) & LANE_MASK_16)
    x = ((x & LANE_MASK_32) >> 32) | ((x << 32) & LANE_MASK_32)
    return convert(x, bytes32)


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
