#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target (tests/fuzz/corpus/<target>/) from the test
vectors in tests/vectors/ and the example configs. Run it again after changing the vectors;
it replaces the generated seeds (named seed-*) and leaves other files (crash regressions) alone.
Needs python3 and the openssl command (AES-128-CTR for the keystore seeds)."""
import hashlib
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VECTORS = os.path.join(ROOT, "tests", "vectors")
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def vec(name):
    with open(os.path.join(VECTORS, name + ".json")) as f:
        return json.load(f)


def unhex(s):
    s = s[2:] if s.startswith("0x") else s
    return bytes.fromhex(s)


# ---- keccak256 (pure Python; hashlib's sha3_256 pads differently) ----
_RC = [0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
       0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
       0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
       0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
       0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
       0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008]
_ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56],
        [27, 20, 39, 8, 14]]
_M = (1 << 64) - 1


def _f(a):
    for rc in _RC:
        c = [a[x][0] ^ a[x][1] ^ a[x][2] ^ a[x][3] ^ a[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ (((c[(x + 1) % 5] << 1) | (c[(x + 1) % 5] >> 63)) & _M)
             for x in range(5)]
        a = [[a[x][y] ^ d[x] for y in range(5)] for x in range(5)]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                r = _ROT[x][y]
                b[y][(2 * x + 3 * y) % 5] = ((a[x][y] << r) | (a[x][y] >> (64 - r))) & _M if r else a[x][y]
        a = [[b[x][y] ^ ((~b[(x + 1) % 5][y]) & b[(x + 2) % 5][y]) for y in range(5)]
             for x in range(5)]
        a[0][0] ^= rc
    return a


def keccak256(data):
    rate = 136
    msg = bytearray(data) + b"\x01"
    while len(msg) % rate:
        msg += b"\x00"
    msg[-1] |= 0x80
    a = [[0] * 5 for _ in range(5)]
    for off in range(0, len(msg), rate):
        block = msg[off:off + rate]
        for i in range(rate // 8):
            x, y = i % 5, i // 5
            a[x][y] ^= int.from_bytes(block[8 * i:8 * i + 8], "little")
        a = _f(a)
    out = b"".join(a[i % 5][i // 5].to_bytes(8, "little") for i in range(4))
    return out


assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


# ---- writing ----
def write(target, seeds):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith("seed-"):
            os.remove(os.path.join(d, f))
    seen = set()
    for s in seeds:
        if isinstance(s, str):
            s = s.encode()
        h = hashlib.sha1(s).hexdigest()
        if h in seen:
            continue
        seen.add(h)
        with open(os.path.join(d, "seed-" + h[:16]), "wb") as f:
            f.write(s)
    print(f"{target}: {len(seen)} seeds")


def u64(v):
    return int(v).to_bytes(8, "big")


# ---- packet ----
def packet_seeds():
    v = vec("packet")
    seeds = [unhex(x["encoded"]) for x in v["vectors"]]
    ok = seeds[0]
    seeds += [ok[:96], b"\x02" + ok[1:], ok[:1] + b"\x00" * 8 + ok[9:], b""]
    return seeds


# ---- rlp ----
def rlp_seeds():
    v = vec("rlp")
    seeds = [unhex(x["out"]) for x in v["valid"].values()]
    seeds += [unhex(x) for x in v["invalid"].values()]
    seeds += [unhex(x["out"]) for x in v["quirks"].values()]
    t = vec("eip1559")
    for x in t["ethereumjs"]["vectors"]:
        raw = unhex(x["signedTransactionRLP"])
        seeds.append(raw)
        # unwrap the extra RLP byte-string layer to get 0x02 ‖ rlp(...)
        i = raw.find(b"\x02")
        if i >= 0:
            seeds.append(raw[i:])
    for x in t["anvil"]["vectors"]:
        seeds.append(unhex(x["raw"]))
    return seeds


# ---- abi ----
ABI_CODES = {"uint256": 1, "bool": 2, "address": 3, "bytes32": 4, "bytes": 6, "string": 7,
             "address[]": 8, "uint256[]": 9, "bytes[]": 10}


def abi_code(t):
    if t in ABI_CODES:
        return ABI_CODES[t]
    if t.startswith("uint") and t[4:].isdigit() and int(t[4:]) <= 64:
        return 0 + 11 * (int(t[4:]) // 8 - 1)
    if t.startswith("bytes") and t[5:].isdigit():
        return 5 + 11 * (int(t[5:]) - 1)
    return None


def abi_seeds():
    f = vec("ferry_abi")
    seeds = []
    for r in f["reverts"]:
        seeds.append(b"\x00" + unhex(r["data"]))
    for e in f["ferry_errors"]:
        seeds.append(b"\x00" + unhex(e["data"]))
    for e in f["events"]:
        log = e["log"]
        kind = {"PacketSent": 0, "PacketDelivered": 1, "PacketRejected": 2}[e["event"]]
        topics = [unhex(t) for t in log["topics"]]
        seeds.append(b"\x01" + bytes([kind, len(topics)]) + b"".join(topics[1:]) +
                     unhex(log["data"]))
    for r in f["returns"]:
        seeds.append(b"\x02" + unhex(r["returned"]))
    for c in f["calldata"]:
        seeds.append(b"\x02" + unhex(c["calldata"])[4:])
    # typed tuples from the Solidity ABI spec examples (types the harness can name)
    for v in vec("abi")["vectors"]:
        codes = [abi_code(t) for t in v["types"]]
        if None in codes:
            continue
        seeds.append(b"\x03" + bytes([len(codes)] + codes) + unhex(v["calldata"])[4:])
    for c in f["calldata"]:
        if c["function"].startswith("configureSource"):
            # (uint64, address, address[], uint8, bool)
            seeds.append(b"\x03" + bytes([5, 7 * 11, 3, 8, 0, 2]) + unhex(c["calldata"])[4:])
        if c["function"].startswith("deliverBatch"):
            seeds.append(b"\x03" + bytes([2, 10, 10]) + unhex(c["calldata"])[4:])
        if c["function"].startswith("deliver("):
            seeds.append(b"\x03" + bytes([2, 6, 6]) + unhex(c["calldata"])[4:])
        if c["function"].startswith("send("):
            seeds.append(b"\x03" + bytes([4, 7 * 11, 4, 7 * 11, 6]) + unhex(c["calldata"])[4:])
    return seeds


# ---- rpc responses ----
def rpc_seeds():
    v = vec("rpc_answers")
    seeds = []
    for k, x in v.items():
        if not isinstance(x, dict):
            continue
        a = x["answer"]
        seeds.append(json.dumps({"jsonrpc": "2.0", "id": 1, "result": a}))
        if isinstance(a, list):
            seeds.append(json.dumps(a[0]))
        else:
            seeds.append(json.dumps(a, indent=1))
    for r in vec("ferry_abi")["reverts"][:4]:
        seeds.append(json.dumps({"jsonrpc": "2.0", "id": 7, "error": {
            "code": 3, "message": "execution reverted", "data": r["data"]}}))
    for code, msg in [(-32000, "nonce too low"), (-32000, "replacement transaction underpriced"),
                      (-32000, "insufficient funds for gas * price + value"),
                      (-32005, "query returned more than 10000 results"),
                      (-32601, "the method eth_foo does not exist"),
                      (-32000, "execution reverted: Ferry: source not configured")]:
        seeds.append(json.dumps({"jsonrpc": "2.0", "id": 2, "error": {"code": code, "message": msg}}))
    for q in ["0x0", "0x1b", "0xffffffffffffffff", "0x10000000000000000", "0x00ff", "0x",
              "0x" + "f" * 64]:
        seeds.append(json.dumps({"jsonrpc": "2.0", "id": 3, "result": q}))
    return seeds


# ---- api requests ----
def api_seeds():
    ids = [x["id"] for x in vec("packet")["vectors"][:3]]
    seeds = [
        {"jsonrpc": "2.0", "id": 1, "method": "ferry_status"},
        {"jsonrpc": "2.0", "id": "a", "method": "ferry_chains", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "ferry_packet", "params": {"id": ids[0]}},
        {"jsonrpc": "2.0", "id": None, "method": "ferry_packets",
         "params": {"state": "delivered", "route": "alpha->beta", "limit": 10, "cursor": "abc"}},
        {"jsonrpc": "2.0", "method": "ferry_retry", "params": {"id": ids[1]}},
        {"jsonrpc": "2.0", "id": 3.5, "method": "ferry_retry",
         "params": {"route": "alpha->beta", "dead": True}},
        {"jsonrpc": "2.0", "id": 4, "method": "ferry_getAttestations",
         "params": {"ids": ids}},
        {"jsonrpc": "1.0", "id": 5, "method": "x"},
        {"jsonrpc": "2.0", "id": [1], "method": "x"},
        {"jsonrpc": "2.0", "id": 6, "method": 7},
        {"jsonrpc": "2.0", "id": 7, "method": "x", "params": "p"},
    ]
    out = [json.dumps(s) for s in seeds]
    out.append(json.dumps(seeds[:4]))
    out += ["[]", "[1,2]", "{", "\"ferry_status\"", "[" * 130 + "]" * 130,
            json.dumps([seeds[0]] * 9)]
    return out


# ---- config ----
def strip_comments(text):
    return "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("//"))


def config_seeds():
    seeds = []
    for name in sorted(os.listdir(os.path.join(ROOT, "configs"))):
        if name.endswith(".json"):
            with open(os.path.join(ROOT, "configs", name)) as f:
                text = f.read()
            seeds.append(text)
            try:
                doc = json.loads(strip_comments(text))
                seeds.append(json.dumps(doc))
            except ValueError:
                pass
    seeds += ["{}", "{\"chains\": []}", "[]", "{\"api\": {\"port\": 70000}}", "/* x */ {"]
    return seeds


# ---- keystore ----
def aes_128_ctr(key, iv, data):
    return subprocess.run(["openssl", "enc", "-aes-128-ctr", "-K", key.hex(), "-iv", iv.hex(),
                           "-nopad"], input=data, capture_output=True, check=True).stdout


def keystore_seeds():
    v = vec("keystore_v3")
    seeds = []
    for i, x in enumerate(v["vectors"] + v["short_key_vectors"]):
        # As published (their KDF costs are lowered by the harness, so these end in a MAC error).
        seeds.append(x["password"] + "\n" + json.dumps(x["keystore"]))
        key = unhex(x["private_key"]) if "private_key" in x else None
        if key is None or len(key) != 32:
            continue
        # The same key re-encrypted with small KDF costs, so decryption succeeds.
        password = x["password"].encode()
        salt = hashlib.sha256(b"ferry-fuzz-salt" + bytes([i])).digest()
        iv = hashlib.sha256(b"ferry-fuzz-iv" + bytes([i])).digest()[:16]
        for kdf in ("scrypt", "pbkdf2"):
            if kdf == "scrypt":
                dk = hashlib.scrypt(password, salt=salt, n=16, r=1, p=1, dklen=32)
                params = {"dklen": 32, "n": 16, "p": 1, "r": 1, "salt": salt.hex()}
            else:
                dk = hashlib.pbkdf2_hmac("sha256", password, salt, 16, 32)
                params = {"c": 16, "dklen": 32, "prf": "hmac-sha256", "salt": salt.hex()}
            ct = aes_128_ctr(dk[:16], iv, key)
            mac = keccak256(dk[16:32] + ct)
            doc = {"address": x.get("address", ""), "crypto": {
                "cipher": "aes-128-ctr", "cipherparams": {"iv": iv.hex()},
                "ciphertext": ct.hex(), "kdf": kdf, "kdfparams": params, "mac": mac.hex()},
                "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6", "version": 3}
            if not doc["address"]:
                del doc["address"]
            seeds.append(x["password"] + "\n" + json.dumps(doc))
    return seeds


def main():
    write("packet_fuzz", packet_seeds())
    write("rlp_fuzz", rlp_seeds())
    write("abi_fuzz", abi_seeds())
    write("rpc_response_fuzz", rpc_seeds())
    write("api_request_fuzz", api_seeds())
    write("config_fuzz", config_seeds())
    write("keystore_fuzz", keystore_seeds())


if __name__ == "__main__":
    sys.exit(main())
