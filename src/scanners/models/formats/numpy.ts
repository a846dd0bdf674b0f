import { SliceSource } from '../../../core/byte-source.js';
import { HEAD_BYTES } from '../../../core/scanner.js';
import type { ModelFormat } from '../format.js';
import { MAX_NPY_HEADER, NPY_MAGIC, NpyError, expectedDataBytes, parseNpyHeader } from '../containers/npy-header.js';
import { startsLikePickle } from '../../containers/pickle-sniff.js';
import { npyMalformedRule, npyObjectArrayRule } from '../containers/rules.js';

/**
 * NumPy `.npy` files (`.npz` archives are zips of them, opened by the container layer). The header is parsed
 * without eval. An object dtype means the data is a pickle (numpy.load runs it with allow_pickle=True):
 * it is reported and handed to every scanner as a member. For other dtypes the data length must be
 * shape × item size; bytes after the array are reported and scanned.
 */
export const numpyFormat: ModelFormat = {
  name: 'numpy',
  rules: [npyMalformedRule, npyObjectArrayRule],
  detect: (target) => target.head.length >= 6 && target.head.subarray(0, 6).equals(NPY_MAGIC),
  async scan(target, context) {
    const { source } = target;
    const malformed = context.reporter(npyMalformedRule, target);
    let headerBytes = target.head;
    const declared = headerBytes.length >= 12 ? (headerBytes[6] === 1 ? headerBytes.readUInt16LE(8) + 10 : headerBytes.readUInt32LE(8) + 12) : 0;
    if (declared > headerBytes.length && headerBytes.length >= HEAD_BYTES && declared <= MAX_NPY_HEADER + 12) headerBytes = await source.read(0, declared);
    let header;
    try {
      header = parseNpyHeader(headerBytes);
    } catch (error) {
      const npy = error instanceof NpyError ? error : undefined;
      if (npy?.kind === 'version') malformed({ message: 'version', data: { version: `${headerBytes[6] ?? '?'}.${headerBytes[7] ?? '?'}` } });
      else malformed({ message: 'header', data: { detail: npy?.message ?? 'unreadable header' } });
      return;
    }
    const dataLength = Math.max(0, source.size - header.dataStart);
    if (header.hasObjects) {
      context.reporter(npyObjectArrayRule, target)({ message: 'object', offset: header.dataStart, data: { descr: header.descrText } });
      await context.scanMember(target, `object data@${header.dataStart}`, new SliceSource(source, header.dataStart, dataLength));
      return;
    }
    const expected = expectedDataBytes(header);
    const shape = `(${header.shape.join(', ')}${header.shape.length === 1 ? ',' : ''})`;
    if (dataLength < expected) {
      malformed({
        message: 'size',
        severity: 'low',
        data: { actual: dataLength, expected: Number.isFinite(expected) ? expected : 'more than 2^53', shape, itemsize: header.itemSize },
      });
    } else if (dataLength > expected) {
      const at = header.dataStart + expected;
      const extra = dataLength - expected;
      const head = await source.read(at, 8);
      const pickle = startsLikePickle(head) && head[0] === 0x80;
      malformed({ message: 'trailing', offset: at, data: { extra, detail: pickle ? 'they start like a pickle; scanned' : 'numpy.load ignores them; scanned' } });
      await context.scanMember(target, `trailing data@${at}`, new SliceSource(source, at, extra));
    }
  },
};
