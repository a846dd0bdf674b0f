import { defineRule } from '../../core/rule.js';

/** Rules the containers scanner reports itself; their `check` is unused (reported directly). */

export const archiveUnreadableRule = defineRule<'malformed' | 'limit' | 'timeout', void>({
  id: 'containers/archive-unreadable',
  title: 'Tar archive could not be fully read',
  description:
    'A tar archive (a tarball, an image export, a layer inside one) is malformed — a bad header checksum, a truncated ' +
    'entry, a broken extended header — or exceeds a bound (entry count, metadata size, time). The members after ' +
    'the damage were not scanned, so whatever they hold is unknown; the archive is reported rather than passed.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:703', 'cwe:409'],
  remediation:
    'Re-create the archive from its source and scan it again. If it is legitimately large, unpack it and scan the ' +
    'directory, or raise `limits.fileTimeoutMs` in .custody.yml.',
  messages: {
    malformed: 'The archive is damaged ({{reason}}); {{scanned}} member(s) before the damage were scanned, the rest were not.',
    limit: 'The archive exceeds a bound ({{reason}}); {{scanned}} member(s) were scanned, the rest were not.',
    timeout: 'The time budget ran out after {{scanned}} member(s); the rest of the archive was not scanned.',
  },
  check: () => undefined,
});

export const imageUnreadableRule = defineRule<'manifest' | 'missingBlob' | 'config', void>({
  id: 'containers/image-unreadable',
  title: 'Container image metadata could not be read',
  description:
    'The tarball looks like a container image (`docker save` with manifest.json, or an OCI image layout with ' +
    'index.json and oci-layout), but its manifest, index or image config is malformed or names a file the ' +
    'tarball does not hold. Layers that cannot be located cannot be scanned, so the image is reported.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:703'],
  remediation: 'Export the image again (`docker save IMAGE -o image.tar`, or `skopeo copy docker://IMAGE oci-archive:image.tar`) and scan the new tarball.',
  messages: {
    manifest: '{{file}} could not be read: {{reason}}.',
    missingBlob: '{{file}} names {{blob}}, which the tarball does not hold; it was not scanned.',
    config: 'Image config {{file}} could not be read: {{reason}}.',
  },
  check: () => undefined,
});

export const layerUnreadableRule = defineRule<'missing' | 'compression' | 'damaged' | 'tooLarge' | 'notTar', void>({
  id: 'containers/image-layer-unreadable',
  title: 'Container image layer could not be scanned',
  description:
    'A layer of a container image is missing, compressed with a method this build cannot decode, damaged, larger ' +
    'than the decompression bound, or not a tar stream. Its files — including files that later layers delete, ' +
    'which still ship inside the image — were not (all) scanned, so the layer is reported.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:703', 'cwe:409'],
  remediation:
    'Export the image again and rescan; for very large layers raise `limits.maxMemberBytes` (the decompressed bound ' +
    'is 16 times it) or `limits.fileTimeoutMs` in .custody.yml.',
  messages: {
    missing: 'Layer {{layer}} ({{file}}) is not in the tarball; it was not scanned.',
    compression: 'Layer {{layer}} is compressed with {{method}}, which this build cannot decode; it was not scanned.',
    damaged: 'Layer {{layer}} is damaged ({{reason}}); {{scanned}} of its files were scanned, the rest were not.',
    tooLarge: 'Layer {{layer}} decompresses to more than {{limit}} bytes; only the files before the bound were scanned.',
    notTar: 'Layer {{layer}} is neither a tar stream nor a known compressed tar stream; it was not scanned.',
  },
  check: () => undefined,
});

export const secretInImageConfigRule = defineRule<'env' | 'buildArg', void>({
  id: 'containers/secret-in-image-config',
  title: 'Secret-looking value in an image ENV or build argument',
  description:
    'The image config records every `ENV` value and, in its build history, the `ARG` values each `RUN` step saw ' +
    '(`|1 NPM_TOKEN=… /bin/sh -c …`). Anyone who can pull the image can read them with `docker inspect` or ' +
    '`docker history`, even when no file in any layer holds the value. This rule reports variables whose name says ' +
    'they hold a credential (password, secret, token, API key, private key, credentials) and whose value is set ' +
    'literally (not empty, not a `$VARIABLE` reference).',
  severity: 'high',
  confidence: 'medium',
  tags: ['cwe:798', 'cwe:532', 'owasp-ml:ML06'],
  remediation:
    'Rotate the credential. Pass secrets to builds with BuildKit secret mounts (`RUN --mount=type=secret,id=…`) and ' +
    'to containers at run time (orchestrator secrets, environment injected at start), never with `ENV` or `ARG`.',
  messages: {
    env: 'Image ENV {{name}} holds a literal value in the image config.',
    buildArg: 'Build argument {{name}} is recorded in the image history (step {{step}}).',
  },
  check: () => undefined,
});

export const containersRules = [archiveUnreadableRule, imageUnreadableRule, layerUnreadableRule, secretInImageConfigRule] as const;
