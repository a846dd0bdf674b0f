#!/usr/bin/env python3
"""Independent OMS v1.0 verifier (Python `cryptography` + hashlib; shares no code with Custody).
The integrity tests run it on bundles that Custody writes, so "Custody signs, another
implementation verifies" is checked on every run.

Usage: oms_verify.py --key PUBLIC.pem --signature BUNDLE [--ignore PATH]... MODEL_PATH

Checks, in order: bundle layout and media type; the key hint (SHA-256 of the SPKI PEM); the DSSE
signature over PAE(payloadType, payload) (ECDSA with the curve's hash, or Ed25519); the in-toto
statement and OMS predicate; that resources are sorted by Unicode code point (OMS v1.0 §5.2.1);
the subject digest, recomputed as SHA-256 over the resource digests; then every file on disk,
hashed again (files or shards), against the resources. Prints "OK <root digest>" and exits 0,
or prints the reasons and exits 1 (2 for usage errors).
"""
import argparse
import base64
import binascii
import hashlib
import json
import os
import pathlib
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
DEFAULT_IGNORES = [".git", ".gitattributes", ".github", ".gitignore"]


class Failure(Exception):
    pass


def b64(value, what):
    if not isinstance(value, str):
        raise Failure(f"{what} is not a string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise Failure(f"{what} is not valid base64: {error}")


def verify_signature(public_key, data, sig):
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(sig, data)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            digest = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[public_key.curve.key_size]
            public_key.verify(sig, data, ec.ECDSA(digest))
        else:
            raise Failure("unsupported key type")
    except InvalidSignature:
        raise Failure("DSSE signature does not verify")


def list_files(model, ignores):
    """{relative POSIX name: path}; symlinks are refused (allow_symlinks false)."""
    if model.is_symlink():
        raise Failure(f"{model} is a symlink")
    if model.is_file():
        return {model.name: model}
    files = {}
    for dirpath, dirnames, filenames in os.walk(model):
        base = pathlib.Path(dirpath)
        rel_dir = base.relative_to(model).as_posix()
        keep = []
        for d in dirnames:
            rel = d if rel_dir == "." else f"{rel_dir}/{d}"
            if (base / d).is_symlink():
                raise Failure(f"symlink {rel}")
            if not any(rel == p or rel.startswith(p + "/") for p in ignores):
                keep.append(d)
        dirnames[:] = keep
        for f in filenames:
            rel = f if rel_dir == "." else f"{rel_dir}/{f}"
            if any(rel == p or rel.startswith(p + "/") for p in ignores):
                continue
            if (base / f).is_symlink():
                raise Failure(f"symlink {rel}")
            files[rel] = base / f
    return files


def main():
    parser = argparse.ArgumentParser(description="Independent OMS v1.0 verifier")
    parser.add_argument("--key", required=True)
    parser.add_argument("--signature", required=True)
    parser.add_argument("--ignore", action="append", default=[])
    parser.add_argument("model")
    args = parser.parse_args()
    try:
        root = run(args)
    except Failure as failure:
        print(f"FAIL {failure}", file=sys.stderr)
        return 1
    print(f"OK {root}")
    return 0


def run(args):
    public_key = serialization.load_pem_public_key(pathlib.Path(args.key).read_bytes())
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        bundle = json.loads(pathlib.Path(args.signature).read_text(encoding="utf-8"))
    except ValueError as error:
        raise Failure(f"bundle is not JSON: {error}")
    if not isinstance(bundle, dict) or set(bundle) != {"mediaType", "verificationMaterial", "dsseEnvelope"}:
        raise Failure("bundle must have exactly mediaType, verificationMaterial, dsseEnvelope")
    if bundle["mediaType"] != MEDIA_TYPE:
        raise Failure(f"mediaType {bundle['mediaType']!r}")
    hint = (bundle["verificationMaterial"].get("publicKey") or {}).get("hint")
    if hint != hashlib.sha256(pem).hexdigest():
        raise Failure(f"key hint {hint!r} does not name the given key")
    if bundle["verificationMaterial"].get("tlogEntries") not in (None, []):
        raise Failure("unexpected transparency log entries")

    envelope = bundle["dsseEnvelope"]
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        raise Failure(f"payloadType {envelope.get('payloadType')!r}")
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or len(signatures) != 1:
        raise Failure("expected exactly one signature")
    payload = b64(envelope.get("payload"), "payload")
    pae = b"DSSEv1 %d %s %d %s" % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(payload), payload)
    verify_signature(public_key, pae, b64(signatures[0].get("sig"), "sig"))

    statement = json.loads(payload)
    if statement.get("_type") != "https://in-toto.io/Statement/v1":
        raise Failure("not an in-toto Statement v1")
    if statement.get("predicateType") != PREDICATE_TYPE:
        raise Failure(f"predicateType {statement.get('predicateType')!r}")
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1 or not subjects[0].get("name"):
        raise Failure("expected one named subject")
    predicate = statement["predicate"]
    ser = predicate["serialization"]
    resources = predicate["resources"]
    if ser.get("hash_type") != "sha256":
        raise Failure(f"hash_type {ser.get('hash_type')!r} is not checked by this verifier")
    if not isinstance(ser.get("allow_symlinks"), bool) or ser["allow_symlinks"]:
        raise Failure("allow_symlinks must be false here")
    method = ser.get("method")
    if method not in ("files", "shards"):
        raise Failure(f"method {method!r}")
    if not resources:
        raise Failure("no resources")
    names = [r["name"] for r in resources]
    if names != sorted(names, key=lambda n: n.encode("utf-8")):
        raise Failure("resources are not sorted by Unicode code point")
    if len(set(names)) != len(names):
        raise Failure("duplicate resource names")
    for r in resources:
        if r.get("algorithm") != "sha256":
            raise Failure(f"resource {r['name']!r} algorithm {r.get('algorithm')!r}")

    root = hashlib.sha256(b"".join(bytes.fromhex(r["digest"]) for r in resources)).hexdigest()
    if subjects[0].get("digest", {}).get("sha256") != root:
        raise Failure(f"subject digest is not the root digest {root}")

    ignores = DEFAULT_IGNORES + list(ser.get("ignore_paths", [])) + args.ignore
    files = list_files(pathlib.Path(args.model), ignores)
    actual = {}
    for rel, path in files.items():
        data = path.read_bytes()
        if method == "files":
            actual[rel] = hashlib.sha256(data).hexdigest()
        else:
            size = ser["shard_size"]
            if not isinstance(size, int) or size <= 0:
                raise Failure(f"shard_size {size!r}")
            for start in range(0, len(data), size):
                end = min(start + size, len(data))
                actual[f"{rel}:{start}:{end}"] = hashlib.sha256(data[start:end]).hexdigest()
    expected = {r["name"]: r["digest"] for r in resources}
    problems = []
    problems += [f"missing on disk: {n}" for n in sorted(set(expected) - set(actual))]
    problems += [f"not signed: {n}" for n in sorted(set(actual) - set(expected))]
    problems += [f"digest differs: {n}" for n in sorted(set(expected) & set(actual)) if expected[n] != actual[n]]
    if problems:
        raise Failure("; ".join(problems))
    return root


if __name__ == "__main__":
    sys.exit(main())
