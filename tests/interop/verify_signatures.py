#!/usr/bin/env python3
"""Checks every signature of piaojue result bundles with Python's `cryptography` (OpenSSL's
Ed25519), sharing no code with the appliance: body = base64-decode(envelope.body); message =
b"piaojue/v1/result" + b"\\0" + body. Exit 0 if every signature of every file verifies."""
import base64
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

DOMAIN = b"piaojue/v1/result\x00"


def main(paths):
    failed = 0
    for path in paths:
        with open(path, "rb") as f:
            envelope = json.load(f)
        assert envelope["format"] == "piaojue-bundle/1", path
        body = base64.b64decode(envelope["body"], validate=True)
        for sig in envelope["signatures"]:
            key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(sig["public_key"]))
            try:
                key.verify(bytes.fromhex(sig["signature"]), DOMAIN + body)
                print(f"OK {path} {sig['role']} {sig['public_key'][:16]}")
            except InvalidSignature:
                print(f"BAD {path} {sig['role']} {sig['public_key'][:16]}")
                failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
