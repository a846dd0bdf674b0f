// Custody console: verifies, in the browser, that each audit entry shown is in the log the server
// signed. For every row it recomputes the Merkle root from the entry's leaf and its inclusion proof
// (RFC 6962 / RFC 9162 §2.1.3.2: leaf = SHA-256(0x00 ‖ leaf), node = SHA-256(0x01 ‖ left ‖ right)),
// compares it with the root of the latest signed checkpoint, and checks the checkpoint's Ed25519
// signature (C2SP signed note) against the log's verifier key, with WebCrypto. It reads only data the
// page carries, writes only text, and makes no request.
(function () {
  'use strict';
  var box = document.getElementById('proofs');
  if (!box) return;
  var subtle = window.crypto && window.crypto.subtle;
  var enc = new TextEncoder();

  function b64(text) {
    var bin = atob(text);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function concat(parts) {
    var n = 0;
    parts.forEach(function (p) { n += p.length; });
    var out = new Uint8Array(n);
    var at = 0;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }
  function sha256(bytes) {
    return subtle.digest('SHA-256', bytes).then(function (d) { return new Uint8Array(d); });
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    var diff = 0;
    for (var i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }
  var ONE = new Uint8Array([1]);
  var ZERO = new Uint8Array([0]);

  // The verifier key: <name>+<8 hex key id>+<base64(0x01 ‖ 32-byte Ed25519 public key)>.
  function parseKey(text) {
    // The base64 key may itself hold '+': the name ends at the first '+', the id is the next 8 characters.
    var m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+=*)$/.exec(text);
    if (!m) throw new Error('unreadable verifier key');
    var parts = [m[1], m[2], m[3]];
    var raw = b64(parts[2]);
    if (raw.length !== 33 || raw[0] !== 1) throw new Error('the verifier key is not an Ed25519 key');
    return { name: parts[0], id: parts[1], raw: raw.slice(1) };
  }

  // The checkpoint note: text (origin, size, root, extensions) ending in "\n", a blank line, signature lines.
  function parseNote(note) {
    var split = note.indexOf('\n\n');
    if (split < 0) throw new Error('the checkpoint is not a signed note');
    var text = note.slice(0, split + 1);
    var lines = text.split('\n');
    var sigs = note.slice(split + 2).split('\n').filter(function (l) { return l !== ''; });
    return { text: text, origin: lines[0], size: Number(lines[1]), root: b64(lines[2] || ''), signatures: sigs };
  }

  var checkpoint = (function () {
    try {
      var key = parseKey(box.getAttribute('data-vkey') || '');
      var note = parseNote(new TextDecoder().decode(b64(box.getAttribute('data-checkpoint') || '')));
      if (note.origin !== key.name) return Promise.reject(new Error('the checkpoint is of another log than the key'));
      var sig;
      note.signatures.forEach(function (line) {
        var m = /^\u2014 (\S+) (\S+)$/.exec(line);
        if (!m || m[1] !== key.name) return;
        var bytes = b64(m[2]);
        var id = Array.prototype.map.call(bytes.slice(0, 4), function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
        if (bytes.length === 68 && id === key.id) sig = bytes.slice(4);
      });
      if (!sig) return Promise.reject(new Error('no signature by the log key on the checkpoint'));
      return subtle.importKey('raw', key.raw, { name: 'Ed25519' }, false, ['verify'])
        .then(function (k) { return subtle.verify({ name: 'Ed25519' }, k, sig, enc.encode(note.text)); })
        .then(function (ok) {
          if (!ok) throw new Error('the checkpoint signature does not verify');
          return note;
        });
    } catch (e) {
      return Promise.reject(e);
    }
  })();

  // RFC 9162 §2.1.3.2: the root from a leaf hash, its index, the tree size and the proof.
  function rootFromProof(index, size, leafHash, proof) {
    if (index >= size) return Promise.reject(new Error('index beyond the tree'));
    var fn = index;
    var sn = size - 1;
    var r = Promise.resolve(leafHash);
    var failed = false;
    proof.forEach(function (p) {
      if (failed) return;
      if (sn === 0) { failed = true; return; }
      if (fn % 2 === 1 || fn === sn) {
        r = r.then(function (h) { return sha256(concat([ONE, p, h])); });
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        r = r.then(function (h) { return sha256(concat([ONE, h, p])); });
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    });
    if (failed || sn !== 0) return Promise.reject(new Error('the proof has the wrong length'));
    return r;
  }

  function show(row, ok, text) {
    var out = row.querySelector('.proof-status');
    if (!out) return;
    out.textContent = text;
    out.className = 'proof-status ' + (ok ? 'verified' : 'failed');
    row.setAttribute('data-verified', ok ? 'yes' : 'no');
  }

  function verifyRow(row) {
    var out = row.querySelector('.proof-status');
    if (out) { out.textContent = 'checking…'; out.className = 'proof-status'; }
    row.removeAttribute('data-verified');
    return checkpoint.then(function (note) {
      var index = Number(row.getAttribute('data-index'));
      var leaf = b64(row.getAttribute('data-leaf') || '');
      var proofText = row.getAttribute('data-proof') || '';
      var proof = proofText === '' ? [] : proofText.split(',').map(b64);
      if (proof.some(function (p) { return p.length !== 32; })) throw new Error('a proof hash is not 32 bytes');
      return sha256(concat([ZERO, leaf]))
        .then(function (leafHash) { return rootFromProof(index, note.size, leafHash, proof); })
        .then(function (root) {
          if (!equal(root, note.root)) throw new Error('the proof leads to another root');
          show(row, true, 'verified: in the signed log of ' + note.size + ' entries');
        });
    }).catch(function (e) {
      show(row, false, 'failed: ' + (e && e.message ? e.message : 'cannot verify'));
    });
  }

  var status = document.getElementById('checkpoint-status');
  if (!subtle) {
    if (status) status.textContent = 'This browser has no WebCrypto here (it needs a secure context: HTTPS or localhost); verify offline with custody audit verify.';
    return;
  }
  checkpoint.then(function () {
    if (status) { status.textContent = 'Checkpoint signature verified.'; status.className = 'verified'; }
  }, function (e) {
    if (status) { status.textContent = 'Checkpoint does not verify: ' + e.message; status.className = 'failed'; }
  });
  var rows = document.querySelectorAll('tr.entry');
  Array.prototype.forEach.call(rows, function (row) {
    verifyRow(row);
    var button = row.querySelector('button.reverify');
    if (button) button.addEventListener('click', function () { verifyRow(row); });
  });
  document.documentElement.setAttribute('data-proofs', 'checked');
})();
