import type { AnyRule } from '../../core/rule.js';
import type { Scanner } from '../../core/scanner.js';
import { archiveRules } from './archive-rules.js';
import { scanCompressed, sniffWrapper } from './compressed.js';
import { containersRules } from './rules.js';
import { isTarHeader } from './tar.js';
import { scanTarball } from './tarball.js';
import { reportUnopenable } from './unsupported.js';
import { mayHoldZip, scanZip } from './zip.js';

/**
 * The container layer: opens every container Custody reads — compressed streams (gzip, zlib, joblib
 * `ZF`, bzip2, xz, zstd, LZ4 frames, LZMA-alone), tarballs and container images, and zip archives —
 * and hands each member to every selected scanner through `context.scanMember`, whatever `--only`
 * says (it is always on). Members come back here too, so containers nest (`a.tar.gz!a.tar!b.zip!c.env`)
 * up to `limits.maxNesting`.
 *
 * This is the only place that opens a container, so each member is scanned once and each fact about
 * a container (a zip trick, a damaged stream, a limit, an archive that cannot be opened) is reported
 * once. Scanners judge content: the models scanner still sees `archive/data.pkl` of a PyTorch zip, the
 * `.npy` members of an .npz and a joblib dump inside a gzip, as members.
 *
 * Readers are chosen by content, never by name; a target that reads as several containers (a pickle
 * with a zip appended, a gzip whose tail holds a zip end record) is read as each.
 */
export const containersScanner: Scanner = {
  name: 'containers',
  description:
    'Opens compressed streams (gzip, zlib, bzip2, xz, zstd, LZ4, LZMA), tarballs, container images (docker save, OCI layout; every file of every layer, deleted ones included) and zip archives, and feeds every member to the other scanners.',
  alwaysOn: true,
  rules: [...archiveRules, ...containersRules] as AnyRule[],
  async scan(target, context) {
    const members = isTarHeader(target.head) ? await scanTarball(target, context) : undefined;
    const wrapper = sniffWrapper(target.head);
    if (wrapper !== undefined) await scanCompressed(target, context, wrapper);
    reportUnopenable(target, context);
    if (mayHoldZip(target)) await scanZip(target, context, members === undefined ? {} : { members });
  },
};
