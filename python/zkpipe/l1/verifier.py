"""The verifier a rollup consolidates through: the Groth16 one (zkpipe.l1.groth16) or the insecure dev one.

`dev_verifier.vy` accepts any proof from one address. It exists for machines without the wrap's
Groth16 keys (development, CI); a rollup deployed with it trusts that address as the old
trusted-aggregator mode did.
"""

from __future__ import annotations

from zkpipe.errors import InvalidInput
from zkpipe.l1.abi import ContractAbi
from zkpipe.l1.chain import Address, L1Chain, TxHash, TxReceipt, require_success, wait_for_receipt
from zkpipe.l1.compiler import compile_contract

DEV_VERIFIER = "dev_verifier"
DEPLOY_GAS = 1_000_000
DEV_PROOF: tuple[int, ...] = (0,) * 12
"""What a consolidation sends as its proof to the dev verifier (which reads none)."""


def send_deploy_dev_verifier(chain: L1Chain, *, deployer: Address, aggregator: Address) -> TxHash:
    """Submit the creation of an INSECURE dev verifier that accepts any proof sent by `aggregator`."""
    compiled = compile_contract(DEV_VERIFIER)
    data = compiled.bytecode + ContractAbi.parse(compiled.abi).encode_constructor([aggregator])
    return chain.send_transaction(sender=deployer, to=None, data=data, gas=DEPLOY_GAS)


def deployed_address(receipt: TxReceipt) -> Address:
    """The address a successful verifier creation deployed."""
    require_success(receipt)
    if receipt.contract_address is None:
        raise InvalidInput("the receipt is not a contract creation")
    return receipt.contract_address


def deploy_dev_verifier(
    chain: L1Chain, *, deployer: Address, aggregator: Address, timeout: float = 60.0
) -> Address:
    """Deploy an INSECURE dev verifier for `aggregator`, wait for it (mining when the chain can)."""
    tx_hash = send_deploy_dev_verifier(chain, deployer=deployer, aggregator=aggregator)
    mine = getattr(chain, "mine", None)
    if callable(mine):
        mine()
    return deployed_address(wait_for_receipt(chain, tx_hash, timeout=timeout))
