// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title SignatureCheck: ECDSA (65-byte, low-s) signatures, then EIP-1271 for contracts.
/// @notice ECDSA is tried first: a key's signature stays valid when its account later gains code
/// (an EIP-7702 delegation), so installing code cannot revoke what the key signed. EIP-1271 is
/// asked only when the ECDSA check fails and the signer has code (a contract wallet).
library SignatureCheck {
    bytes4 internal constant EIP1271_MAGIC = 0x1626ba7e;
    uint256 internal constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    function isValid(address signer, bytes32 digest, bytes calldata signature) internal view returns (bool) {
        if (isValidECDSA(signer, digest, signature)) return true;
        if (signer.code.length == 0) return false;
        (bool ok, bytes memory ret) = signer.staticcall(abi.encodeWithSelector(EIP1271_MAGIC, digest, signature));
        return ok && ret.length >= 32 && bytes4(abi.decode(ret, (bytes32))) == EIP1271_MAGIC;
    }

    function isValidECDSA(address signer, bytes32 digest, bytes calldata signature) internal pure returns (bool) {
        if (signature.length != 65) return false;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) return false;
        address recovered = ecrecover(digest, v, r, s);
        return recovered != address(0) && recovered == signer;
    }
}
