#!/usr/bin/env python3
"""A stand-in for model_signing 1.1.1 (sigstore/model-transparency), the OMS reference
implementation, which cannot be installed here. It does what that tool does, as read from its
source (docs/integrity.md lists each behaviour); it shares no code with it nor with Custody, and
needs only Python 3 with `cryptography` (BLAKE3 is implemented below from its specification,
since neither hashlib nor an installable package provides it here).

Usage:
  oms_reference.py hash MODEL [SETTINGS]                    print the manifest as JSON
  oms_reference.py sign MODEL --key PRIVATE.pem --signature OUT [SETTINGS] [--ignore P]...
  oms_reference.py verify MODEL --key PUBLIC.pem --signature SIG [--mode cli|guess|explicit]
                   [SETTINGS] [--ignore P]...
  oms_reference.py batch PLAN.json                          run many jobs, print JSON results

SETTINGS: --method files|shards  --hash-type sha256|blake2|blake3  --shard-size N  --allow-symlinks
          --no-ignore-git-paths (hash and sign: include .git, .github, .gitignore, .gitattributes)

Verification modes, as a user of model_signing meets them:
  cli       `model_signing verify key`: its hashing settings are the defaults (files, SHA-256),
            whatever the signature says; ignore paths recorded in the signature still apply.
  guess     the library's `verifying.Config()` without hashing settings: they are inferred from
            the signature's `serialization`.
  explicit  the library with hashing settings given by the caller (SETTINGS).

verify prints "OK <root digest>" and exits 0, or "FAIL <reason>" on stderr and exits 1. sign
exits 1 with "FAIL ..." where model_signing refuses (e.g. a key that is not ECDSA P-256/384/521).
"""
import argparse
import base64
import hashlib
import json
import os
import pathlib
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
WRITTEN_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
# The bundle reader (sigstore_models) takes these media types; the key verifier then insists on the
# one it writes.
READ_MEDIA_TYPES = {
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    WRITTEN_MEDIA_TYPE,
}
GIT_PATHS = [".git", ".gitattributes", ".github", ".gitignore"]
SUPPORTED_CURVES = {"secp256r1": hashes.SHA256, "secp384r1": hashes.SHA384, "secp521r1": hashes.SHA512}


class Refused(Exception):
    """Where model_signing raises (its CLI prints the error and exits 1)."""


# ---------------------------------------------------------------------------------------------
# BLAKE3 (unkeyed hash, 32-byte output), written from the BLAKE3 specification.

_B3_IV = [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19]
_B3_SCHEDULE = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8]
_CHUNK_START, _CHUNK_END, _PARENT, _ROOT = 1, 2, 4, 8
_M32 = 0xFFFFFFFF


def _rotr(x, n):
    return ((x >> n) | (x << (32 - n))) & _M32


def _mix(v, a, b, c, d, x, y):
    v[a] = (v[a] + v[b] + x) & _M32
    v[d] = _rotr(v[d] ^ v[a], 16)
    v[c] = (v[c] + v[d]) & _M32
    v[b] = _rotr(v[b] ^ v[c], 12)
    v[a] = (v[a] + v[b] + y) & _M32
    v[d] = _rotr(v[d] ^ v[a], 8)
    v[c] = (v[c] + v[d]) & _M32
    v[b] = _rotr(v[b] ^ v[c], 7)


def _b3_compress(cv, words, counter, length, flags):
    v = list(cv) + _B3_IV[:4] + [counter & _M32, (counter >> 32) & _M32, length, flags]
    m = list(words)
    for round_number in range(7):
        _mix(v, 0, 4, 8, 12, m[0], m[1])
        _mix(v, 1, 5, 9, 13, m[2], m[3])
        _mix(v, 2, 6, 10, 14, m[4], m[5])
        _mix(v, 3, 7, 11, 15, m[6], m[7])
        _mix(v, 0, 5, 10, 15, m[8], m[9])
        _mix(v, 1, 6, 11, 12, m[10], m[11])
        _mix(v, 2, 7, 8, 13, m[12], m[13])
        _mix(v, 3, 4, 9, 14, m[14], m[15])
        if round_number < 6:
            m = [m[i] for i in _B3_SCHEDULE]
    return [v[i] ^ v[i + 8] for i in range(8)] + [v[i + 8] ^ cv[i] for i in range(8)]


def _words(block):
    block = block.ljust(64, b"\0")
    return [int.from_bytes(block[i : i + 4], "little") for i in range(0, 64, 4)]


def _chunk_pending(chunk, counter):
    """All blocks of a chunk but the last compressed; returns the last compression's inputs."""
    cv = list(_B3_IV)
    blocks = [chunk[i : i + 64] for i in range(0, len(chunk), 64)] or [b""]
    for index, block in enumerate(blocks):
        flags = (_CHUNK_START if index == 0 else 0) | (_CHUNK_END if index == len(blocks) - 1 else 0)
        pending = (cv, _words(block), counter, len(block), flags)
        if index < len(blocks) - 1:
            cv = _b3_compress(*pending)[:8]
    return pending


def _parent_pending(left, right):
    return (list(_B3_IV), left + right, 0, 64, _PARENT)


def blake3(data):
    chunks = [data[i : i + 1024] for i in range(0, len(data), 1024)] or [b""]
    stack = []
    for counter, chunk in enumerate(chunks[:-1]):
        cv = _b3_compress(*_chunk_pending(chunk, counter))[:8]
        done = counter + 1
        while done % 2 == 0:  # merge completed subtrees: as many as trailing zero bits
            cv = _b3_compress(*_parent_pending(stack.pop(), cv))[:8]
            done //= 2
        stack.append(cv)
    pending = _chunk_pending(chunks[-1], len(chunks) - 1)
    while stack:
        pending = _parent_pending(stack.pop(), _b3_compress(*pending)[:8])
    cv, words, _, length, flags = pending
    out = _b3_compress(cv, words, 0, length, flags | _ROOT)[:8]
    return b"".join(w.to_bytes(4, "little") for w in out)


# ---------------------------------------------------------------------------------------------
# Hashing: names model_signing gives the content hashers, and their digests.

def content_hasher(hash_type):
    """(digest name, function) for a hashing algorithm as model_signing's hashing.Config takes it."""
    if hash_type == "sha256":
        return "sha256", lambda data: hashlib.sha256(data).digest()
    if hash_type == "blake2":
        return "blake2b", lambda data: hashlib.blake2b(data).digest()
    if hash_type == "blake3":
        return "blake3", blake3
    raise Refused(f"Unsupported hashing method {hash_type}")


class Settings:
    """hashing.Config after use_file_serialization / use_shard_serialization."""

    def __init__(self, method="files", hash_type="sha256", shard_size=1_000_000_000, allow_symlinks=False, recorded_ignores=()):
        if method == "shards" and hash_type == "blake3":
            method = "files"  # BLAKE3 is never sharded: use_shard_serialization falls back to files
        self.method = method
        self.digest_name, self.digest = content_hasher(hash_type)
        self.shard_size = shard_size
        self.allow_symlinks = allow_symlinks
        self.recorded_ignores = list(recorded_ignores)  # the serializer's own ignore_paths
        self.ignored = []  # relative paths, as set_ignored_paths / add_ignored_paths keep them
        self.ignore_git = True
        if method == "shards":
            if shard_size <= 0:
                raise Refused(f"Shard size must be strictly positive, got {shard_size}.")
            if 1 > shard_size:
                raise Refused(f"Must not read more than shard_size={shard_size}, got 1.")
            self.algorithm = f"{self.digest_name}-sharded-{shard_size}"
        else:
            self.algorithm = self.digest_name

    def hash(self, model):
        """The manifest: (model name, {key: (algorithm, digest bytes)}, serialization parameters)."""
        model = pathlib.Path(model)
        ignore = [model / p for p in self.ignored if _stays_inside(model, p)]
        if self.ignore_git:
            ignore += [model / p for p in GIT_PATHS]
        items = {}
        for path in _listing(model):
            _check_file_or_directory(path, self.allow_symlinks)
            if not path.is_file() or any(_is_relative_to(path, i) for i in ignore):
                continue
            rel = path.relative_to(model)
            data = path.read_bytes()
            if self.method == "files":
                items[(pathlib.PurePosixPath(rel),)] = (self.algorithm, self.digest(data))
                continue
            size = len(data)
            if size == 0:
                continue
            ends = list(range(self.shard_size, size, self.shard_size)) + [size]
            start = 0
            for end in ends:
                items[(pathlib.PurePosixPath(rel), start, end)] = (self.algorithm, self.digest(data[start:end]))
                start = end
        recorded = set(self.recorded_ignores)
        if ignore:
            recorded |= {os.path.relpath(p, model) for p in ignore if not os.path.relpath(p, model).startswith("../")}
        params = {"method": self.method, "hash_type": self.digest_name}
        if self.method == "shards":
            params["shard_size"] = self.shard_size
        params["allow_symlinks"] = self.allow_symlinks
        if recorded:
            params["ignore_paths"] = sorted(recorded)  # model_signing: a frozenset's order
        name = model.name
        if not name or name == "..":
            name = os.path.basename(model.resolve())
        return name, items, params


def _stays_inside(model, p):
    try:
        (model / p).relative_to(model)
        return True
    except ValueError:
        return False


def _is_relative_to(path, other):
    try:
        path.relative_to(other)
        return True
    except ValueError:
        return False


def _listing(model):
    """What `[model] + model.glob("**/*")` yields: every entry, hidden ones too; linked
    directories are listed but not entered."""
    yield model
    if not model.is_dir() or model.is_symlink():
        return
    pending = [model]
    while pending:
        directory = pending.pop()
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            path = directory / entry.name
            yield path
            if entry.is_dir(follow_symlinks=True) and not entry.is_symlink():
                pending.append(path)


def _check_file_or_directory(path, allow_symlinks):
    if not allow_symlinks and path.is_symlink():
        raise Refused(f"Cannot use '{path}' because it is a symlink.")
    if not (path.is_file() or path.is_dir()):
        raise Refused(f"Cannot use '{path}' as file or directory.")


def key_of_name(name, method):
    if method == "files":
        return (pathlib.PurePosixPath(name),)
    parts = name.split(":")
    if len(parts) != 3:
        raise Refused(f"Invalid resource name: expected 3 components separated by `:`, got {name}")
    return (pathlib.PurePosixPath(parts[0]), int(parts[1]), int(parts[2]))


def name_of_key(key):
    path = str(key[0])
    return path if len(key) == 1 else f"{path}:{key[1]}:{key[2]}"


def resources_of(items):
    """Resource descriptors in model_signing's order: sorted by key (path components, then offsets)."""
    return [{"name": name_of_key(k), "algorithm": items[k][0], "digest": items[k][1].hex()} for k in sorted(items)]


def root_digest(resources):
    return hashlib.sha256(b"".join(bytes.fromhex(r["digest"]) for r in resources)).hexdigest()


# ---------------------------------------------------------------------------------------------
# Signing and verifying with an elliptic-curve key.

def pae(payload):
    return b"DSSEv1 %d %s %d " % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(payload)) + payload


def pae_compat(payload):
    """The encoding of model_signing 0.2, which the verifier still accepts (its bug kept)."""
    return f"DSSEV1 {len(PAYLOAD_TYPE)} {PAYLOAD_TYPE} {len(payload)} {payload}".encode()


def _ec_hash(public_key):
    curve = getattr(public_key, "curve", None)
    if curve is None or curve.name not in SUPPORTED_CURVES:
        raise Refused(f"Unsupported key: {type(public_key).__name__}")
    return SUPPORTED_CURVES[curve.name]()


def _pem(public_key):
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _struct_numbers(value):
    """The statement goes through a protobuf Struct before JSON: every number becomes a double."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: _struct_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_struct_numbers(v) for v in value]
    return value


def sign(model, key_path, signature_path, settings):
    private_key = serialization.load_pem_private_key(pathlib.Path(key_path).read_bytes(), None)
    digest_hash = _ec_hash(private_key.public_key())
    name, items, params = settings.hash(model)
    resources = resources_of(items)
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": root_digest(resources)}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": _struct_numbers({"serialization": params, "resources": resources}),
    }
    payload = json.dumps(statement, indent=2).encode()
    sig = private_key.sign(pae(payload), ec.ECDSA(digest_hash))
    bundle = {
        "mediaType": WRITTEN_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": hashlib.sha256(_pem(private_key.public_key())).hexdigest()}, "tlogEntries": []},
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": base64.b64encode(sig).decode(), "keyid": ""}],
        },
    }
    pathlib.Path(signature_path).write_text(json.dumps(bundle, separators=(",", ":")), encoding="utf-8")
    return root_digest(resources)


def _only_keys(obj, allowed, where):
    if not isinstance(obj, dict):
        raise Refused(f"{where} is not an object")
    extra = set(obj) - set(allowed)
    if extra:
        raise Refused(f"{where}: extra fields not permitted: {sorted(extra)}")


def read_bundle(path):
    """Signature.read: a few fix-ups for older bundles, then a strict model of the bundle."""
    bundle = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    _only_keys(bundle, ["mediaType", "verificationMaterial", "messageSignature", "dsseEnvelope"], "bundle")
    material = bundle.get("verificationMaterial")
    _only_keys(material, ["publicKey", "x509CertificateChain", "certificate", "tlogEntries", "timestampVerificationData"], "verificationMaterial")
    material.setdefault("tlogEntries", [])
    if "publicKey" in material:
        key = material["publicKey"]
        _only_keys(key, ["hint", "rawBytes", "keyDetails"], "publicKey")
        key.setdefault("hint", None)
        key.pop("rawBytes", None)
        key.pop("keyDetails", None)
    if bundle.get("mediaType") not in READ_MEDIA_TYPES:
        raise Refused(f"media type {bundle.get('mediaType')!r}")
    if not isinstance(material["tlogEntries"], list):
        raise Refused("tlogEntries must be a list")
    if sum(bool(material.get(k)) for k in ["publicKey", "x509CertificateChain", "certificate"]) != 1:
        raise Refused("Exactly one of publicKey, x509CertificateChain, or certificate must be set")
    envelope = bundle.get("dsseEnvelope")
    if sum(bool(bundle.get(k)) for k in ["messageSignature", "dsseEnvelope"]) != 1:
        raise Refused("Exactly one of messageSignature or dsseEnvelope must be set")
    _only_keys(envelope, ["payload", "payloadType", "signatures"], "dsseEnvelope")
    for s in envelope.get("signatures", []):
        _only_keys(s, ["sig", "keyid"], "signature")
        if s.get("keyid") is not None and not isinstance(s["keyid"], str):
            raise Refused("keyid must be a string")
    return bundle


def verify(model, key_path, signature_path, mode, explicit=None, extra_ignores=(), allow_symlinks_flag=False):
    public_key = serialization.load_pem_public_key(pathlib.Path(key_path).read_bytes())
    digest_hash = _ec_hash(public_key)
    bundle = read_bundle(signature_path)
    if bundle["mediaType"] != WRITTEN_MEDIA_TYPE:
        raise Refused(f"Invalid sigstore bundle, got media type {bundle['mediaType']}")
    hint = bundle["verificationMaterial"]["publicKey"]["hint"]
    if hint and hint != hashlib.sha256(_pem(public_key)).hexdigest():
        raise Refused("Key mismatch: the key hint does not name the given key")
    envelope = bundle["dsseEnvelope"]
    payload = base64.b64decode(envelope["payload"])
    sig = base64.b64decode(envelope["signatures"][0]["sig"])
    try:
        public_key.verify(sig, pae(payload), ec.ECDSA(digest_hash))
    except InvalidSignature:
        try:
            public_key.verify(sig, pae_compat(payload), ec.ECDSA(digest_hash))
        except InvalidSignature:
            raise Refused("the DSSE signature does not verify")
    if envelope["payloadType"] != PAYLOAD_TYPE:
        raise Refused(f"payload type {envelope['payloadType']}")
    statement = json.loads(payload)
    if statement["_type"] != STATEMENT_TYPE:
        raise Refused(f"statement type {statement['_type']}")
    if statement["predicateType"] != PREDICATE_TYPE:
        raise Refused(f"predicate type {statement['predicateType']} (the v0.1 layout is not emulated)")
    subjects = statement["subject"]
    if len(subjects) != 1:
        raise Refused("Expected only one subject")
    args = statement["predicate"]["serialization"]
    method = args["method"]
    if method not in ("files", "shards"):
        raise Refused(f"Unknown serialization type {method}")
    for field in ["hash_type", "allow_symlinks"] + (["shard_size"] if method == "shards" else []):
        if field not in args:
            raise Refused(f"serialization has no {field}")
    expected = {}
    root = hashlib.sha256()
    for r in statement["predicate"]["resources"]:
        value = bytes.fromhex(r["digest"])
        root.update(value)
        expected[key_of_name(r["name"], method)] = (r["algorithm"], value)
    if root.hexdigest() != subjects[0]["digest"]["sha256"]:
        raise Refused("Manifest is inconsistent: the root digest is not that of the resources")

    if mode == "guess":
        settings = Settings(method, args["hash_type"], args.get("shard_size", 0), args["allow_symlinks"], args.get("ignore_paths", []))
    elif mode == "explicit":
        settings = Settings(**explicit)
    else:
        settings = Settings(allow_symlinks=allow_symlinks_flag)
    # The CLI leaves out the signature file (when it lies in the model) and --ignore-paths; the
    # library only what it is told. Both add the paths the signature records.
    settings.ignored = list(extra_ignores) + list(args.get("ignore_paths", []))
    if mode == "cli" and _relative_signature(model, signature_path) is not None:
        settings.ignored.append(_relative_signature(model, signature_path))
    _, actual, _ = settings.hash(model)
    if actual != expected:
        problems = []
        problems += [f"extra: {name_of_key(k)}" for k in sorted(set(actual) - set(expected))]
        problems += [f"missing: {name_of_key(k)}" for k in sorted(set(expected) - set(actual))]
        problems += [f"hash mismatch: {name_of_key(k)}" for k in sorted(set(actual) & set(expected)) if actual[k] != expected[k]]
        raise Refused("Signature mismatch: " + "; ".join(problems))
    return subjects[0]["digest"]["sha256"]


def _relative_signature(model, signature):
    try:
        return str(pathlib.Path(signature).resolve().relative_to(pathlib.Path(model).resolve()))
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------

def settings_from(job):
    settings = Settings(job.get("method", "files"), job.get("hash_type", "sha256"), job.get("shard_size", 1_000_000_000), job.get("allow_symlinks", False))
    settings.ignored = list(job.get("ignore", []))
    settings.ignore_git = job.get("ignore_git", True)  # --no-ignore-git-paths signs the git files too
    return settings


def run_job(job):
    try:
        if job["op"] == "hash":
            name, items, params = settings_from(job).hash(job["model"])
            resources = resources_of(items)
            return {"ok": True, "root": root_digest(resources), "name": name, "resources": resources, "serialization": params}
        if job["op"] == "digest":  # one content digest, for checking the hashes themselves
            return {"ok": True, "digest": content_hasher(job["hash_type"])[1](bytes.fromhex(job["data"])).hex()}
        if job["op"] == "sign":
            settings = settings_from(job)
            relative = _relative_signature(job["model"], job["signature"])
            if relative is not None:
                settings.ignored.append(relative)
            return {"ok": True, "root": sign(job["model"], job["key"], job["signature"], settings)}
        if job["op"] == "verify":
            explicit = None
            if job.get("mode") == "explicit":
                explicit = {k: job[k] for k in ("method", "hash_type", "shard_size", "allow_symlinks") if k in job}
            root = verify(job["model"], job["key"], job["signature"], job.get("mode", "cli"), explicit, job.get("ignore", []), job.get("allow_symlinks", False))
            return {"ok": True, "root": root}
        raise Refused(f"unknown op {job['op']}")
    except (Refused, ValueError, KeyError, TypeError, AttributeError) as error:
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("op", choices=["hash", "sign", "verify", "batch"])
    parser.add_argument("target")
    parser.add_argument("--key")
    parser.add_argument("--signature")
    parser.add_argument("--mode", choices=["cli", "guess", "explicit"], default="cli")
    parser.add_argument("--method", choices=["files", "shards"], default="files")
    parser.add_argument("--hash-type", choices=["sha256", "blake2", "blake3"], default="sha256")
    parser.add_argument("--shard-size", type=int, default=1_000_000_000)
    parser.add_argument("--allow-symlinks", action="store_true")
    parser.add_argument("--ignore", action="append", default=[])
    parser.add_argument("--no-ignore-git-paths", dest="ignore_git", action="store_false")
    args = parser.parse_args()
    if args.op == "batch":
        jobs = json.loads(pathlib.Path(args.target).read_text(encoding="utf-8"))
        print(json.dumps([run_job(job) for job in jobs]))
        return 0
    job = {"op": args.op, "model": args.target, "key": args.key, "signature": args.signature, "mode": args.mode, "method": args.method,
           "hash_type": args.hash_type, "shard_size": args.shard_size, "allow_symlinks": args.allow_symlinks, "ignore": args.ignore,
           "ignore_git": args.ignore_git}
    result = run_job(job)
    if not result["ok"]:
        print(f"FAIL {result['error']}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if args.op == "hash" else f"OK {result['root']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
